package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// ErrClosed is returned by a call (or Media) used after Close.
var ErrClosed = errors.New("media: closed")

// maxEarlyCandidates bounds the remote candidates held before the remote
// description: a browser sends a handful, a flood is refused.
const maxEarlyCandidates = 64

// ICE timing: a browser that vanishes is reported disconnected after
// iceDisconnected and failed after iceFailed, so the door is free again
// quickly.
const (
	iceDisconnected = 3 * time.Second
	iceFailed       = 8 * time.Second
	iceKeepalive    = time.Second
)

// call is one peer connection of the door (device.Call).
type call struct {
	m    *Media
	log  *slog.Logger
	emit *emitter

	op sync.Mutex // serialises Offer, Answer, SetAnswer and AddCandidate

	mu        sync.Mutex
	pc        *webrtc.PeerConnection    // guarded by mu; nil until Offer or Answer
	remoteSet bool                      // guarded by mu
	early     []webrtc.ICECandidateInit // guarded by mu; remote candidates before the description
	remotes   int                       // guarded by mu; remote candidates taken in all
	closed    bool                      // guarded by mu
	gccBPS    int                       // guarded by mu; the path's estimate by GCC, 0 before the first
	rembBPS   int                       // guarded by mu; the receiver's REMB, 0 if it sends none

	// Set by Offer or Answer under op.
	offered     []videoCodec // the video codecs of the door's offer
	video       *videoOut    // the codec this call sends, nil without video
	videoSender *webrtc.RTPSender

	wg sync.WaitGroup // the call's goroutines: RTCP readers, talk-back
}

var _ device.Call = (*call)(nil)

// NewCall prepares a call to peer; the peer connection is made by Offer or
// Answer. events receives local ICE candidates and connection states from
// another goroutine, in order, and only after Offer or Answer has returned
// the description they belong to (send that first). No event starts after
// Close.
func (m *Media) NewCall(peer string, events func(device.CallEvent)) (device.Call, error) {
	if events == nil {
		events = func(device.CallEvent) {}
	}
	c := &call{m: m, log: m.log.With("peer", peer)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	c.emit = newEmitter(events)
	m.calls[c] = struct{}{}
	return c, nil
}

// newPeerConnection makes the call's peer connection with an API of its
// own: the codecs this call may use, pion's default interceptors (NACK,
// RTCP reports, TWCC) and the shared network settings.
func (c *call) newPeerConnection(video []videoCodec) (*webrtc.PeerConnection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.pc != nil {
		return nil, errors.New("media: call already has a peer connection")
	}
	me := &webrtc.MediaEngine{}
	for i, v := range video {
		// Our own payload types only matter when the door offers; answering,
		// pion takes the browser's.
		pt := webrtc.PayloadType(102 + 2*i)
		err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: v.capability,
			PayloadType: pt}, webrtc.RTPCodecTypeVideo)
		if err != nil {
			return nil, err
		}
		// RTX: where the receiver takes it, pion's NACK responder resends
		// lost packets on a stream of their own, so the receiver's loss
		// and jitter figures (and GCC's) tell resends from originals.
		err = me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", pt),
		}, PayloadType: pt + 1}, webrtc.RTPCodecTypeVideo)
		if err != nil {
			return nil, err
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: 111},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := c.congestionControl(me, ir); err != nil {
		return nil, err
	}
	logs := c.m.net.settings.LoggerFactory
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(logs)); err != nil {
		return nil, err
	}
	s := c.m.net.settings
	s.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: c.m.net.iceServers, ICETransportPolicy: c.m.net.policy})
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return // gathering complete
		}
		b, err := json.Marshal(cand.ToJSON())
		if err == nil {
			c.emit.emit(device.CallEvent{Candidate: b})
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Info("call state", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			// What the encoder sent between negotiation and now was
			// dropped (no keys yet): start the picture with a key frame.
			if out := c.currentVideo(); out != nil {
				out.requestKeyFrame()
			}
		}
		if st := connState(s); st != device.ConnNone {
			c.emit.emit(device.CallEvent{State: st})
		}
	})
	pc.OnTrack(c.onTrack)
	c.pc = pc
	return pc, nil
}

func connState(s webrtc.PeerConnectionState) device.ConnState {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		return device.ConnConnected
	case webrtc.PeerConnectionStateDisconnected:
		return device.ConnDisconnected
	case webrtc.PeerConnectionStateFailed:
		return device.ConnFailed
	case webrtc.PeerConnectionStateClosed:
		return device.ConnClosed
	}
	return device.ConnNone
}

// addTracks puts the door's camera (codec v, if it is to send video) and
// microphone on pc, and makes sure the call receives the remote's audio.
func (c *call) addTracks(pc *webrtc.PeerConnection, v *videoCodec) error {
	if v != nil && c.m.video != nil {
		out, err := c.m.video.out(*v)
		if err != nil {
			return err
		}
		t, err := pc.AddTransceiverFromTrack(out.track,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fmt.Errorf("add video: %w", err)
		}
		c.mu.Lock()
		c.video, c.videoSender = out, t.Sender()
		c.mu.Unlock()
		c.readRTCP(t.Sender(), true)
	}
	if c.m.audio != nil {
		t, err := pc.AddTransceiverFromTrack(c.m.audio.track,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
		if err != nil {
			return fmt.Errorf("add audio: %w", err)
		}
		c.readRTCP(t.Sender(), false)
	} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fmt.Errorf("add audio: %w", err)
	}
	return nil
}

// readRTCP reads a sender's RTCP until the call ends: pion's interceptors
// (NACK, reports) need it read, and a receiver's PLI or FIR asks the
// encoder for a key frame.
func (c *call) readRTCP(s *webrtc.RTPSender, video bool) {
	if !c.goroutine() {
		return
	}
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := s.Read(buf)
			if err != nil {
				return
			}
			if !video {
				continue
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			for _, p := range pkts {
				if bps, ok := remb(p); ok {
					c.estimated(0, bps)
				}
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					if out := c.currentVideo(); out != nil {
						out.pictureLost()
					}
				}
			}
		}
	}()
}

func (c *call) currentVideo() *videoOut {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.video
}

// goroutine counts one more goroutine of the call, unless it is closed.
func (c *call) goroutine() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// Offer creates the door's offer: video send-only (H.264 first, then the
// other codecs of the build), audio both ways.
func (c *call) Offer(ctx context.Context) (json.RawMessage, error) {
	c.op.Lock()
	defer c.op.Unlock()
	codecs := c.m.sendCodecs()
	pc, err := c.newPeerConnection(codecs)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.offered = codecs
	c.mu.Unlock()
	if err := c.addTracks(pc, &codecs[0]); err != nil {
		return nil, err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("create offer: %w", err)
	}
	return c.setLocal(ctx, pc, offer)
}

// Answer answers the browser's offer, whatever it asks for: video is sent
// when its offer receives video, in the first codec of ours it lists, with
// its payload types; its audio is played on the speaker.
func (c *call) Answer(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	c.op.Lock()
	defer c.op.Unlock()
	offer, parsed, err := parseDescription(raw, webrtc.SDPTypeOffer)
	if err != nil {
		return nil, err
	}
	v, receives, common := videoWanted(parsed, c.m.sendCodecs())
	var codecs []videoCodec
	var send *videoCodec
	switch {
	case receives && common:
		codecs, send = []videoCodec{v}, &v
	case receives:
		c.log.Warn("the browser takes none of our video codecs: audio only", "codecs", c.m.sources["codecs"])
	}
	pc, err := c.newPeerConnection(codecs)
	if err != nil {
		return nil, err
	}
	if err := c.addTracks(pc, send); err != nil {
		return nil, err
	}
	if err := c.setRemote(pc, offer); err != nil {
		return nil, err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("create answer: %w", err)
	}
	return c.setLocal(ctx, pc, answer)
}

// setLocal applies the local description and returns it; from then on the
// call's events flow.
func (c *call) setLocal(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := pc.SetLocalDescription(d); err != nil {
		return nil, fmt.Errorf("set local description: %w", err)
	}
	b, err := json.Marshal(pc.LocalDescription())
	if err != nil {
		return nil, err
	}
	c.emit.release()
	return b, nil
}

// SetAnswer applies the browser's answer to the door's offer. When it
// takes another of the offered video codecs than the first, the call
// switches to that codec's encoder before anything is sent.
func (c *call) SetAnswer(raw json.RawMessage) error {
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	pc, offered := c.pc, c.offered
	c.mu.Unlock()
	if pc == nil || offered == nil {
		return errors.New("media: SetAnswer without Offer")
	}
	answer, parsed, err := parseDescription(raw, webrtc.SDPTypeAnswer)
	if err != nil {
		return err
	}
	v, receives, common := videoWanted(parsed, offered)
	if c.video != nil && !(receives && common) {
		// The browser declined the video section (no codec in common, or
		// no video at all): pion would refuse to start the track and the
		// call would fail. It goes on with audio.
		if err := pc.RemoveTrack(c.videoSender); err != nil {
			return fmt.Errorf("drop declined video: %w", err)
		}
		c.mu.Lock()
		old := c.video
		c.video = nil
		c.mu.Unlock()
		old.rate.drop(c)
		c.log.Warn("the browser declined the door's video: audio only", "codecs", c.m.sources["codecs"])
	}
	if common && c.video != nil && v.name != c.video.codec.name {
		out, err := c.m.video.out(v)
		if err != nil {
			return err
		}
		if err := c.videoSender.ReplaceTrack(out.track); err != nil {
			return fmt.Errorf("switch video to %s: %w", v.name, err)
		}
		c.mu.Lock()
		old := c.video
		c.video = out
		c.mu.Unlock()
		old.rate.drop(c)
		c.log.Info("browser chose another video codec", "codec", v.name)
	}
	return c.setRemote(pc, answer)
}

// setRemote applies the remote description and the candidates that came
// before it.
func (c *call) setRemote(pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	if err := pc.SetRemoteDescription(d); err != nil {
		return fmt.Errorf("%w: %v", ErrBadDescription, err)
	}
	c.mu.Lock()
	c.remoteSet = true
	early := c.early
	c.early = nil
	c.mu.Unlock()
	for _, cand := range early {
		if err := pc.AddICECandidate(cand); err != nil {
			c.log.Warn("remote candidate refused", "err", err)
		}
	}
	return nil
}

// AddCandidate adds the browser's candidate, or holds it until the remote
// description is set.
func (c *call) AddCandidate(raw json.RawMessage) error {
	var cand webrtc.ICECandidateInit
	if len(raw) > 4096 {
		return fmt.Errorf("%w: candidate of %d bytes", ErrBadDescription, len(raw))
	}
	if err := json.Unmarshal(raw, &cand); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadDescription, err)
	}
	if cand.Candidate == "" {
		return nil // end of candidates
	}
	if err := c.m.net.filter.check(cand.Candidate); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.remotes >= maxRemoteCandidates {
		c.mu.Unlock()
		return fmt.Errorf("%w: more than %d candidates", ErrBadDescription, maxRemoteCandidates)
	}
	c.remotes++
	if !c.remoteSet {
		defer c.mu.Unlock()
		if len(c.early) >= maxEarlyCandidates {
			return fmt.Errorf("%w: more than %d candidates before the description", ErrBadDescription, maxEarlyCandidates)
		}
		c.early = append(c.early, cand)
		return nil
	}
	pc := c.pc
	c.mu.Unlock()
	if err := pc.AddICECandidate(cand); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadDescription, err)
	}
	return nil
}

// Close ends the peer connection and waits for the call's goroutines.
func (c *call) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pc, out := c.pc, c.video
	c.mu.Unlock()
	if out != nil {
		out.rate.drop(c)
	}
	c.emit.stop()
	closed := make(chan error, 1)
	go func() {
		var err error
		if pc != nil {
			err = pc.GracefulClose()
		}
		c.wg.Wait()
		closed <- err
	}()
	var err error
	select {
	case err = <-closed:
	case <-time.After(callCloseWait):
		c.log.Error("the call's connection did not close in time: left to end on its own", "after", callCloseWait)
		err = errCloseStuck
	}
	c.m.mu.Lock()
	delete(c.m.calls, c)
	c.m.mu.Unlock()
	return err
}

// callCloseWait bounds Close. A peer connection that cannot let go (a CI
// run once saw one close hang for half an hour after a call that never
// connected) must not keep the door busy: the door is free again and the
// stuck goroutines are logged and left behind.
var callCloseWait = 15 * time.Second

var errCloseStuck = errors.New("the call's connection did not close in time")
