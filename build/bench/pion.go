package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/intercomd/intercomd/wire"
)

// resident is a Go client on the hub, as a resident's browser would be: it
// registers, calls the door and receives its media with a real pion peer.
// Memory and encoder runs use it where a browser would cost the shared
// CPU more than the daemon under test.
type resident struct {
	name string
	ws   *websocket.Conn
	wmu  sync.Mutex

	invites chan wire.Message // Invite replies and Hangups
	mu      sync.Mutex
	call    *pionCall // the current call: gets SDP and ICE
	closed  chan struct{}
}

// dialResident connects to the hub and registers as name.
func dialResident(ctx context.Context, wsURL, name string) (*resident, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", wsURL, err)
	}
	r := &resident{name: name, ws: ws, invites: make(chan wire.Message, 16), closed: make(chan struct{})}
	registered := make(chan wire.Message, 1)
	go r.read(registered)
	if err := r.send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote(name)}); err != nil {
		ws.Close()
		return nil, err
	}
	select {
	case m := <-registered:
		if m.Status != "OK" {
			ws.Close()
			return nil, fmt.Errorf("register %s: %s %s", name, m.Status, m.Reason)
		}
	case <-r.closed:
		return nil, errors.New("hub closed the socket before Register was answered")
	case <-time.After(10 * time.Second):
		ws.Close()
		return nil, errors.New("no Register reply within 10 s")
	}
	return r, nil
}

func (r *resident) read(registered chan wire.Message) {
	defer close(r.closed)
	for {
		var m wire.Message
		if err := r.ws.ReadJSON(&m); err != nil {
			return
		}
		r.mu.Lock()
		c := r.call
		r.mu.Unlock()
		switch m.Type {
		case wire.TypeRegister:
			select {
			case registered <- m:
			default:
			}
		case wire.TypeInvite, wire.TypeHangup:
			select {
			case r.invites <- m:
			default:
			}
		case wire.TypeCalleeSDP, wire.TypeCallerSDP, wire.TypeICE:
			if c != nil {
				c.signal(m)
			}
		}
	}
}

func (r *resident) send(m wire.Message) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return r.ws.WriteJSON(m)
}

func (r *resident) close() {
	r.ws.Close()
	<-r.closed
}

// pionCall is one call with the door, receiving its video and audio.
type pionCall struct {
	r    *resident
	peer string
	pc   *webrtc.PeerConnection

	videoPackets, videoBytes, videoFrames atomic.Int64
	audioPackets                          atomic.Int64
	firstFrame                            chan struct{}
	firstOnce                             sync.Once

	mu        sync.Mutex
	remoteSet bool
	early     []webrtc.ICECandidateInit
	errs      chan error
}

// newAPI is a pion API that offers H.264 at payload type 108 (as Chromium
// often does) and Opus, on loopback without mDNS.
func newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: 108,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// callDoor invites door, waits for Accepted, then makes the offer (the
// caller offers, after Accepted) and receives until hangup.
func (r *resident) callDoor(ctx context.Context, api *webrtc.API, door string) (*pionCall, error) {
	// What the last call left behind (the door's own Hangup crossing ours)
	// is not about this one.
	for drained := false; !drained; {
		select {
		case <-r.invites:
		default:
			drained = true
		}
	}
	if err := r.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: door}); err != nil {
		return nil, err
	}
	for accepted := false; !accepted; {
		select {
		case m := <-r.invites:
			switch {
			case m.Type == wire.TypeInvite && m.Status == "Accepted":
				accepted = true
			case m.Type == wire.TypeInvite && (m.Status == "Attempting" || m.Status == "Ringing"):
			case m.Type == wire.TypeHangup:
				// The door's Hangup of the last call: it may see that call's
				// peer connection close (DTLS close_notify over UDP) before
				// our Hangup reaches it through the hub, and say so after
				// it is idle again. A callee answers an Invite with
				// Rejected or Busy, never with a Hangup.
			default:
				return nil, fmt.Errorf("call %s: %s %s %s", door, m.Type, m.Status, m.Reason)
			}
		case <-r.closed:
			return nil, errors.New("hub closed the socket")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return nil, fmt.Errorf("call %s: not accepted within 30 s", door)
		}
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &pionCall{r: r, peer: door, pc: pc, firstFrame: make(chan struct{}), errs: make(chan error, 4)}
	r.mu.Lock()
	r.call = c
	r.mu.Unlock()
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		r.send(wire.Message{Type: wire.TypeICE, To: door, Text: b})
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { c.receive(t) })
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			c.close()
			return nil, err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("offer: %w", err)
	}
	b, _ := json.Marshal(offer)
	if err := r.send(wire.Message{Type: wire.TypeCallerSDP, To: door, Text: b}); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// signal applies the door's answer and candidates.
func (c *pionCall) signal(m wire.Message) {
	fail := func(err error) {
		select {
		case c.errs <- err:
		default:
		}
	}
	switch m.Type {
	case wire.TypeCalleeSDP:
		var sd webrtc.SessionDescription
		if err := json.Unmarshal(m.Text, &sd); err != nil {
			fail(fmt.Errorf("answer: %w", err))
			return
		}
		if err := c.pc.SetRemoteDescription(sd); err != nil {
			fail(fmt.Errorf("set answer: %w", err))
			return
		}
		c.mu.Lock()
		c.remoteSet = true
		early := c.early
		c.early = nil
		c.mu.Unlock()
		for _, cand := range early {
			c.pc.AddICECandidate(cand)
		}
	case wire.TypeICE:
		var cand webrtc.ICECandidateInit
		if err := json.Unmarshal(m.Text, &cand); err != nil || cand.Candidate == "" {
			return
		}
		c.mu.Lock()
		if !c.remoteSet {
			c.early = append(c.early, cand)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.pc.AddICECandidate(cand)
	}
}

// receive reads a track until the call ends, counting what arrives. A
// video frame ends with an RTP marker bit.
func (c *pionCall) receive(t *webrtc.TrackRemote) {
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if !video {
			c.audioPackets.Add(1)
			continue
		}
		c.videoPackets.Add(1)
		c.videoBytes.Add(int64(len(p.Payload)))
		if p.Marker {
			c.videoFrames.Add(1)
			c.firstOnce.Do(func() { close(c.firstFrame) })
		}
	}
}

// waitFrame waits for the first whole video frame.
func (c *pionCall) waitFrame(timeout time.Duration) error {
	select {
	case <-c.firstFrame:
		return nil
	case err := <-c.errs:
		return err
	case m := <-c.r.invites:
		return fmt.Errorf("door sent %s %s %s before any video", m.Type, m.Status, m.Reason)
	case <-time.After(timeout):
		return fmt.Errorf("no video frame from the door within %v (connection %s)", timeout, c.pc.ConnectionState())
	}
}

// hangup ends the call as a resident would.
func (c *pionCall) hangup() error {
	err := c.r.send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: c.peer})
	c.close()
	return err
}

func (c *pionCall) close() {
	c.r.mu.Lock()
	if c.r.call == c {
		c.r.call = nil
	}
	c.r.mu.Unlock()
	c.pc.Close()
}
