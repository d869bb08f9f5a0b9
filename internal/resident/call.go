package resident

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/intercomd/intercomd/wire"
)

// How long a call's steps wait for the peer: the door answers an Invite at
// once, but a slow VM or a loaded machine takes seconds.
const (
	acceptTimeout = 30 * time.Second
	sdpTimeout    = 20 * time.Second
)

// CallOptions shape one call.
type CallOptions struct {
	// Tracks are sent to the peer (a resident's voice, a picture); a kind
	// (audio, video) with no track here is receive-only.
	Tracks []webrtc.TrackLocal
	// OnRTP, if not nil, gets every packet received, after it is counted,
	// from the reading goroutine of its track (one per track): decode it,
	// or ask for a key frame with c.PC.WriteRTCP.
	OnRTP func(c *Call, t *webrtc.TrackRemote, p *rtp.Packet)
	// AudioOnly leaves video out of the offer altogether, so the door
	// encodes none: a call to hear the door, on a machine too slow for both.
	AudioOnly bool
}

// Call is one peer connection with another user (the door) and what
// arrived over it.
type Call struct {
	// PC is the call's pion peer connection: stats, RTCP, its state.
	PC *webrtc.PeerConnection

	client  *Client
	peer    string
	onRTP   func(*Call, *webrtc.TrackRemote, *rtp.Packet)
	noVideo bool // CallOptions.AudioOnly

	videoPackets, videoBytes, videoFrames, audioPackets atomic.Int64

	mu         sync.Mutex // guards the fields below
	changed    chan struct{}
	remoteSet  bool
	early      []webrtc.ICECandidateInit // candidates before the remote description
	videoCodec string
	state      webrtc.PeerConnectionState
	ended      bool // the peer hung up
	done       chan struct{}
	closeOnce  sync.Once
}

// Counts is what a call received so far.
type Counts struct {
	VideoPackets, VideoBytes, VideoFrames int64 // a frame ends with an RTP marker bit
	AudioPackets                          int64
	VideoCodec                            string // the video track's MIME type, once it arrived
}

// Call invites peer (the door), waits until it accepts, then makes the
// offer (the caller offers, after Accepted) and applies the answer.
func (c *Client) Call(ctx context.Context, peer string, opt CallOptions) (*Call, error) {
	c.dropCallMessages()
	if err := c.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: peer}); err != nil {
		return nil, err
	}
	m, err := c.expect(ctx, fmt.Sprintf("%s accepting the call", peer), acceptTimeout, func(m wire.Message) bool {
		s, _ := m.TextString()
		return m.Type == wire.TypeInvite && s == "Start" && m.Status != wire.StatusAttempting && m.Status != wire.StatusRinging
	}, callMessage)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", peer, err)
	}
	if m.Status != wire.StatusAccepted {
		return nil, fmt.Errorf("call %s: answered %s %s", peer, m.Status, m.Reason)
	}
	call, err := c.newCall(peer, opt)
	if err != nil {
		return nil, err
	}
	if err := call.offer(ctx); err != nil {
		call.Close()
		return nil, fmt.Errorf("call %s: %w", peer, err)
	}
	return call, nil
}

// WaitRing waits for an Invite from another user (the door's Call button).
// What an earlier call left before it (the door's Hangup crossing ours) is
// forgotten: Answer must not take it for this call's.
func (c *Client) WaitRing(ctx context.Context, timeout time.Duration) (wire.Message, error) {
	return c.expect(ctx, "an incoming Invite", timeout, func(m wire.Message) bool {
		s, _ := m.TextString()
		return m.Type == wire.TypeInvite && s == "Incoming"
	}, callMessage)
}

// Answer takes the call that inv (from WaitRing) announced: it accepts,
// waits for the caller's offer and answers it.
func (c *Client) Answer(ctx context.Context, inv wire.Message, opt CallOptions) (*Call, error) {
	call, err := c.newCall(inv.From, opt)
	if err != nil {
		return nil, err
	}
	if err := call.answer(ctx); err != nil {
		call.Close()
		return nil, fmt.Errorf("answer %s: %w", inv.From, err)
	}
	return call, nil
}

func (c *Client) newCall(peer string, opt CallOptions) (*Call, error) {
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	call := &Call{PC: pc, client: c, peer: peer, onRTP: opt.OnRTP, noVideo: opt.AudioOnly, changed: make(chan struct{}), done: make(chan struct{})}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		c.Send(wire.Message{Type: wire.TypeICE, To: peer, Text: b})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		call.update(func() { call.state = s })
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { call.receive(t) })
	for _, t := range opt.Tracks {
		if _, err := pc.AddTrack(t); err != nil {
			pc.Close()
			return nil, fmt.Errorf("add track %s: %w", t.ID(), err)
		}
	}
	c.mu.Lock()
	c.call = call
	c.mu.Unlock()
	return call, nil
}

// offer makes the offer: the tracks given, and receive-only audio and video
// (unless AudioOnly) where none was.
func (c *Call) offer(ctx context.Context) error {
	have := map[webrtc.RTPCodecType]bool{}
	for _, t := range c.PC.GetTransceivers() {
		have[t.Kind()] = true
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if have[kind] || (kind == webrtc.RTPCodecTypeVideo && c.noVideo) {
			continue
		}
		if _, err := c.PC.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	offer, err := c.PC.CreateOffer(nil)
	if err == nil {
		err = c.PC.SetLocalDescription(offer)
	}
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	b, _ := json.Marshal(offer)
	if err := c.client.Send(wire.Message{Type: wire.TypeCallerSDP, To: c.peer, Text: b}); err != nil {
		return err
	}
	m, err := c.expectSDP(ctx, wire.TypeCalleeSDP, "the answer (Callee Session Description)")
	if err != nil {
		return err
	}
	return c.setRemote(m.Text)
}

// answer accepts, and answers the caller's offer.
func (c *Call) answer(ctx context.Context) error {
	if err := c.client.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote(wire.StatusAccepted), To: c.peer}); err != nil {
		return err
	}
	m, err := c.expectSDP(ctx, wire.TypeCallerSDP, "the offer after Accepted (Caller Session Description)")
	if err != nil {
		return err
	}
	if err := c.setRemote(m.Text); err != nil {
		return err
	}
	ans, err := c.PC.CreateAnswer(nil)
	if err == nil {
		err = c.PC.SetLocalDescription(ans)
	}
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	b, _ := json.Marshal(ans)
	return c.client.Send(wire.Message{Type: wire.TypeCalleeSDP, To: c.peer, Text: b})
}

// expectSDP waits for the peer's description of type typ, or its Hangup.
func (c *Call) expectSDP(ctx context.Context, typ, what string) (wire.Message, error) {
	m, err := c.client.Expect(ctx, what, sdpTimeout, func(m wire.Message) bool {
		return m.From == c.peer && (m.Type == typ || m.Type == wire.TypeHangup)
	})
	if err != nil {
		return m, err
	}
	if m.Type == wire.TypeHangup {
		return m, fmt.Errorf("%s hung up instead of sending %s: %s", c.peer, what, Brief(m))
	}
	return m, nil
}

func (c *Call) setRemote(raw json.RawMessage) error {
	var sd webrtc.SessionDescription
	if err := json.Unmarshal(raw, &sd); err != nil {
		return fmt.Errorf("remote description: %w", err)
	}
	if err := c.PC.SetRemoteDescription(sd); err != nil {
		return fmt.Errorf("set remote %s: %w", sd.Type, err)
	}
	c.mu.Lock()
	c.remoteSet = true
	early := c.early
	c.early = nil
	c.mu.Unlock()
	for _, cand := range early {
		c.PC.AddICECandidate(cand)
	}
	return nil
}

// addCandidate applies the peer's candidate, or keeps it until the remote
// description is set.
func (c *Call) addCandidate(raw json.RawMessage) {
	var cand webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &cand); err != nil || cand.Candidate == "" {
		return
	}
	c.mu.Lock()
	if !c.remoteSet {
		c.early = append(c.early, cand)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.PC.AddICECandidate(cand)
}

// receive reads a track until the call ends, counting what arrives.
func (c *Call) receive(t *webrtc.TrackRemote) {
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		c.update(func() { c.videoCodec = t.Codec().MimeType })
	}
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			c.audioPackets.Add(1)
		} else {
			c.videoPackets.Add(1)
			c.videoBytes.Add(int64(len(p.Payload)))
			if p.Marker {
				c.videoFrames.Add(1)
				c.update(nil)
			}
		}
		if c.onRTP != nil {
			c.onRTP(c, t, p)
		}
	}
}

// update changes the call's state with f (under its lock) and wakes its
// waiters.
func (c *Call) update(f func()) {
	c.mu.Lock()
	if f != nil {
		f()
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *Call) hungUp() { c.update(func() { c.ended = true }) }

// Peer is the user at the other end.
func (c *Call) Peer() string { return c.peer }

// Done is closed when the call is closed.
func (c *Call) Done() <-chan struct{} { return c.done }

// Counts returns what arrived so far.
func (c *Call) Counts() Counts {
	c.mu.Lock()
	codec := c.videoCodec
	c.mu.Unlock()
	return Counts{
		VideoPackets: c.videoPackets.Load(), VideoBytes: c.videoBytes.Load(), VideoFrames: c.videoFrames.Load(),
		AudioPackets: c.audioPackets.Load(), VideoCodec: codec,
	}
}

// State is the peer connection's state.
func (c *Call) State() webrtc.PeerConnectionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// wait waits until ok (called under the call's lock) holds; it fails when
// the peer hangs up, the connection fails or closes, or timeout passes.
func (c *Call) wait(ctx context.Context, what string, timeout time.Duration, ok func() bool) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		done, ended, state, changed := ok(), c.ended, c.state, c.changed
		c.mu.Unlock()
		switch {
		case done:
			return nil
		case ended:
			return fmt.Errorf("%s hung up before %s", c.peer, what)
		case state == webrtc.PeerConnectionStateFailed || state == webrtc.PeerConnectionStateClosed:
			return fmt.Errorf("peer connection %s before %s", state, what)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("no %s within %v (connection %s)", what, timeout, state)
		}
	}
}

// WaitConnected waits for ICE and DTLS to connect.
func (c *Call) WaitConnected(ctx context.Context, timeout time.Duration) error {
	return c.wait(ctx, "connection", timeout, func() bool { return c.state == webrtc.PeerConnectionStateConnected })
}

// WaitFrames waits until n whole video frames have arrived.
func (c *Call) WaitFrames(ctx context.Context, n int, timeout time.Duration) error {
	what := "video frame"
	if n > 1 {
		what = fmt.Sprintf("%d video frames", n)
	}
	return c.wait(ctx, what, timeout, func() bool { return c.videoFrames.Load() >= int64(n) })
}

// Hangup ends the call as a resident would, and closes it.
func (c *Call) Hangup() error {
	err := c.client.Send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: c.peer})
	c.Close()
	return err
}

// Close closes the peer connection without telling the peer (a lost
// resident); Close after Hangup does nothing.
func (c *Call) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.client.mu.Lock()
		if c.client.call == c {
			c.client.call = nil
		}
		c.client.mu.Unlock()
		c.PC.Close()
	})
}
