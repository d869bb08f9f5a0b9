package media

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

const connectTimeout = 20 * time.Second

// doorAnswers runs the flow where the remote calls the door: its offer,
// the door's answer, candidates trickled both ways. It returns once both
// sides are connected.
func doorAnswers(t *testing.T, m *Media, r *remote) (*call, *events) {
	t.Helper()
	c, ev := newCall(t, m)
	offer, cands := r.offer()
	answer, err := c.Answer(context.Background(), offer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	for _, cand := range cands {
		if err := c.AddCandidate(cand); err != nil {
			t.Fatalf("AddCandidate(%s): %v", cand, err)
		}
	}
	r.setAnswer(answer)
	connect(t, c, ev, r)
	return c, ev
}

// connect trickles the door's candidates to the remote until both report
// connected.
func connect(t *testing.T, c *call, ev *events, r *remote) {
	t.Helper()
	trickled := 0
	err := poll.Until(context.Background(), connectTimeout, 20*time.Millisecond, func() error {
		for _, cand := range ev.takeCandidates() {
			r.addCandidate(cand)
			trickled++
		}
		if ev.has(device.ConnConnected) && r.get(func(r *remote) bool { return r.state == webrtc.PeerConnectionStateConnected }) {
			return nil
		}
		return errors.New("not connected")
	})
	if err != nil {
		// Say where it stopped: which side, ICE or DTLS, and what each had.
		t.Fatalf("waited %v for the call to connect: door states %v, %d door candidates trickled; remote: %s, ICE %s, gathering %s, %d candidates of its own",
			connectTimeout, ev.stateList(), trickled, r.pc.ConnectionState(), r.pc.ICEConnectionState(), r.pc.ICEGatheringState(),
			len(r.trickle()))
	}
}

// TestAnswerUsesNegotiatedPayloadTypes: the browser's offer decides the
// payload types. Chromium often puts H.264 at 108; mediadevices would send
// 125 and Chromium would drop every frame without a word.
func TestAnswerUsesNegotiatedPayloadTypes(t *testing.T) {
	tests := []struct {
		name             string
		videoPT, audioPT webrtc.PayloadType
		dir              webrtc.RTPTransceiverDirection
	}{
		{"H264 at 108", 108, 111, webrtc.RTPTransceiverDirectionRecvonly},
		{"H264 at 102, Opus at 109", 102, 109, webrtc.RTPTransceiverDirectionRecvonly},
		{"H264 at 127, Opus at 63, video both ways", 127, 63, webrtc.RTPTransceiverDirectionSendrecv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMedia(t, Config{Width: 320, Height: 240})
			r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(tt.videoPT)}, audioPT: tt.audioPT, videoDir: tt.dir})
			c, _ := doorAnswers(t, m, r)
			within(t, 10*time.Second, "H.264 key frames and audio", func() bool {
				return r.get(func(r *remote) bool {
					return r.frames >= 10 && r.nals[5] > 0 && r.nals[7] > 0 && r.nals[8] > 0 && r.audioPkts >= 10
				})
			})
			r.get(func(r *remote) bool {
				if r.videoPT != uint8(tt.videoPT) || r.videoMime != webrtc.MimeTypeH264 {
					t.Errorf("video arrives as %s payload type %d, want H264 at %d", r.videoMime, r.videoPT, tt.videoPT)
				}
				if r.audioPT != uint8(tt.audioPT) {
					t.Errorf("audio arrives with payload type %d, want %d", r.audioPT, tt.audioPT)
				}
				return true
			})
			if c.video == nil || c.video.empty.Load() != 0 {
				t.Errorf("encoder skipped frames: %d", c.video.empty.Load())
			}
		})
	}
}

// TestOfferSetAnswer: the door calls, the remote answers; video and audio
// arrive at the remote.
func TestOfferSetAnswer(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}})
	c, ev, offer := offerCall(t, m)
	if !sdpHas(offer, "a=sendonly") || !sdpHas(offer, "H264/90000") || !sdpHas(offer, "opus/48000") {
		t.Errorf("offer lacks send-only H.264 video or Opus:\n%s", offer)
	}
	answer, cands := r.answer(offer)
	if err := c.SetAnswer(answer); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	for _, cand := range cands {
		if err := c.AddCandidate(cand); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, c, ev, r)
	within(t, 10*time.Second, "H.264 frames and audio", func() bool {
		return r.get(func(r *remote) bool { return r.frames >= 10 && r.nals[5] > 0 && r.audioPkts >= 10 })
	})
}

// TestTalkBackReachesSpeaker: the remote's Opus is decoded and counted by
// the door's sink, and it is not silence.
func TestTalkBackReachesSpeaker(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none"})
	r := newRemote(t, remoteOpts{sendTone: true})
	doorAnswers(t, m, r)
	within(t, 10*time.Second, "the tone at the door's speaker", func() bool {
		s := m.Speaker()
		return s.Samples >= sampleRate/2 && s.NonSilent >= sampleRate/4
	})
	t.Logf("speaker: %+v", m.Speaker())
}

// TestCandidatesBeforeRemoteDescription: the browser's candidates may
// arrive before its offer. The door's answer reaches the remote without any
// candidate, so only the door can start the checks: the call connects only
// if the early candidates were kept.
func TestCandidatesBeforeRemoteDescription(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none", Mic: "none"})
	r := newRemote(t, remoteOpts{})
	ev := &events{}
	dc, err := m.NewCall("resident", ev.handle)
	if err != nil {
		t.Fatal(err)
	}
	c := dc.(*call)
	defer c.Close()
	offer, cands := r.offer()
	if len(cands) == 0 {
		t.Fatal("the remote gathered no candidates")
	}
	for _, cand := range cands {
		if err := c.AddCandidate(cand); err != nil {
			t.Fatalf("AddCandidate before the offer: %v", err)
		}
	}
	answer, err := c.Answer(context.Background(), withoutCandidates(t, offer))
	if err != nil {
		t.Fatal(err)
	}
	r.setAnswer(withoutCandidates(t, answer))
	within(t, connectTimeout, "the call to connect", func() bool {
		ev.takeCandidates() // never given to the remote
		return ev.has(device.ConnConnected)
	})
}

// TestKeyFrameRequests: a second call gets a key frame at once, and so does
// a receiver that sends a PLI (periodic key frames off, so only these
// count).
func TestKeyFrameRequests(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240, Mic: "none", KeyFrameInterval: -1})
	first := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}, noAudio: true})
	c1, _ := doorAnswers(t, m, first)
	within(t, 10*time.Second, "frames at the first remote", func() bool {
		return first.get(func(r *remote) bool { return r.frames > 45 })
	})
	keys := c1.video.keys.Load()
	second := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(100)}, noAudio: true})
	c2, _ := doorAnswers(t, m, second)
	if c2.video != c1.video {
		t.Fatal("the second call has an encoder of its own: want one encoder per codec")
	}
	within(t, 10*time.Second, "a key frame at the second remote", func() bool {
		return second.get(func(r *remote) bool { return r.nals[5] > 0 })
	})
	if got := second.get(func(r *remote) bool { return r.frames < 60 }); !got {
		t.Error("the second call's first key frame came with the periodic one, not at once")
	}
	if c1.video.keys.Load() <= keys {
		t.Error("no key frame was forced for the new call")
	}

	// A PLI from the first remote.
	keys = c1.video.keys.Load()
	before := 0
	first.get(func(r *remote) bool { before = r.nals[5]; return true })
	var ssrc uint32
	for _, tr := range first.pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Receiver().Track() != nil {
			ssrc = uint32(tr.Receiver().Track().SSRC())
		}
	}
	if err := first.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "a key frame after the PLI", func() bool {
		return c1.video.keys.Load() > keys && first.get(func(r *remote) bool { return r.nals[5] > before })
	})
}

// TestPeriodicKeyFrames: with an interval, key frames (each with its SPS)
// keep coming; without one, only the call's first. The bitrate is one the
// test pattern fits in at this size, so the governor never changes the
// picture size (which starts with a key frame too).
func TestPeriodicKeyFrames(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		min, max int // SPS NAL units in 90 frames after the first key frame
	}{
		{"every 300ms", 300 * time.Millisecond, 4, 1000},
		{"off", -1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMedia(t, Config{Width: 320, Height: 240, Mic: "none", KeyFrameInterval: tt.interval, VideoBitrate: 2_000_000})
			r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}, noAudio: true})
			doorAnswers(t, m, r)
			var first, frames int
			within(t, 10*time.Second, "the first key frame", func() bool {
				return r.get(func(r *remote) bool { return r.nals[7] > 0 })
			})
			// A call starts with up to two key frames: one when it binds to
			// the encoder and one when the door sees it connected (what went
			// before keys existed was lost). Under load the second can come
			// after the first has arrived; count from half a second on.
			within(t, 10*time.Second, "15 frames after the first key frame", func() bool {
				return r.get(func(r *remote) bool { first, frames = r.nals[7], r.frames; return r.frames >= 15 })
			})
			var got int
			within(t, 20*time.Second, "90 more frames", func() bool {
				return r.get(func(r *remote) bool { got = r.nals[7] - first; return r.frames > frames+90 })
			})
			if got < tt.min || got > tt.max {
				t.Errorf("%d key frames (SPS) in 90 frames, want %d to %d", got, tt.min, tt.max)
			}
		})
	}
}

// TestWantKeyFrame: the key frame decision by the clock.
func TestWantKeyFrame(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		newCall, pli  bool
		since         time.Duration // since the last key frame
		interval      time.Duration
		want, pending bool // pending: the PLI waits for a later frame
	}{
		{"nothing asked", false, false, time.Second, 2 * time.Second, false, false},
		{"periodic due", false, false, 2 * time.Second, 2 * time.Second, true, false},
		{"periodic off", false, false, time.Hour, 0, false, false},
		{"new call at once", true, false, 0, 2 * time.Second, true, false},
		{"PLI after the gap", false, true, pliGap, 2 * time.Second, true, true},
		{"PLI inside the gap waits", false, true, pliGap / 2, 2 * time.Second, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &videoOut{lastKey: t0}
			o.keyFrame.Store(tt.newCall)
			o.pli.Store(tt.pli)
			if got := o.wantKeyFrame(t0.Add(tt.since), tt.interval); got != tt.want {
				t.Errorf("wantKeyFrame(+%v, %v) = %v, want %v", tt.since, tt.interval, got, tt.want)
			}
			if o.pli.Load() != tt.pending {
				t.Errorf("PLI pending = %v, want %v", o.pli.Load(), tt.pending)
			}
		})
	}
}

// TestAnswerRejectsBadInput: a broken offer or candidate is an error and
// changes nothing.
func TestAnswerRejectsBadInput(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none", Mic: "none"})
	tests := []struct {
		name  string
		offer string
	}{
		{"not JSON", `{`},
		{"null", `null`},
		{"an answer", `{"type":"answer","sdp":"v=0\r\n"}`},
		{"no SDP", `{"type":"offer","sdp":""}`},
		{"garbage SDP", `{"type":"offer","sdp":"hello"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc, err := m.NewCall("resident", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			if _, err := dc.Answer(context.Background(), json.RawMessage(tt.offer)); err == nil {
				t.Errorf("Answer(%s) = nil error, want one", tt.offer)
			}
			if err := dc.AddCandidate(json.RawMessage(`{"candidate":7}`)); err == nil {
				t.Error("AddCandidate(bad) = nil error, want one")
			}
		})
	}
}

// TestRemoteHangsUp: when the browser goes away the door reports it, so the
// device can end the call. A browser that closes its peer connection sends
// a DTLS close (closed at once); one that vanishes stops answering ICE
// (disconnected after 3 s).
func TestRemoteHangsUp(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none", Mic: "none"})
	r := newRemote(t, remoteOpts{})
	_, ev := doorAnswers(t, m, r)
	r.close()
	within(t, 10*time.Second, "the door to see the remote gone", func() bool {
		return ev.has(device.ConnClosed) || ev.has(device.ConnDisconnected) || ev.has(device.ConnFailed)
	})
	ev.mu.Lock()
	t.Logf("states: %v", ev.states)
	ev.mu.Unlock()
}

// TestMediaCloseEndsCalls: closing Media closes its calls, and no new one
// starts.
func TestMediaCloseEndsCalls(t *testing.T) {
	m := newTestMedia(t, Config{Width: 160, Height: 120})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}})
	c, _ := doorAnswers(t, m, r)
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		t.Error("the call is still open after Media.Close")
	}
	if _, err := m.NewCall("late", nil); err != ErrClosed {
		t.Errorf("NewCall after Close = %v, want ErrClosed", err)
	}
}

// TestCloseStuck: a call whose goroutines never end (a peer connection
// stuck in its close) still lets go of the door: Close returns with an
// error after callCloseWait and Media no longer counts the call.
func TestCloseStuck(t *testing.T) {
	m := newTestMedia(t, Config{Width: 160, Height: 120})
	c, _ := newCall(t, m)
	if !c.goroutine() { // a goroutine of the call that never ends
		t.Fatal("a new call refused a goroutine")
	}
	defer c.wg.Done()
	defer func(d time.Duration) { callCloseWait = d }(callCloseWait)
	callCloseWait = 200 * time.Millisecond
	var err error
	poll.Returns(t, time.Minute, "Close of a stuck call", func() { err = c.Close() })
	if !errors.Is(err, errCloseStuck) {
		t.Errorf("Close of a stuck call = %v, want %v", err, errCloseStuck)
	}
	m.mu.Lock()
	_, tracked := m.calls[c]
	m.mu.Unlock()
	if tracked {
		t.Error("Media still counts the stuck call")
	}
}

// TestDTLSStallFails: a DTLS handshake that cannot finish once ICE is up
// (here both ends take the client's part, as a confused or hostile peer
// might) ends the call as failed instead of holding it, and its Close,
// for good.
func TestDTLSStallFails(t *testing.T) {
	defer func(d time.Duration) { dtlsHandshakeTimeout = d }(dtlsHandshakeTimeout)
	dtlsHandshakeTimeout = time.Second
	m := newTestMedia(t, Config{Width: 160, Height: 120})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}})
	c, ev := newCall(t, m)
	offer, cands := r.offer()
	answer, err := c.Answer(context.Background(), offer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if !strings.Contains(string(answer), "a=setup:active") {
		t.Fatalf("the door's answer takes no DTLS client part:\n%s", answer)
	}
	for _, cand := range cands {
		if err := c.AddCandidate(cand); err != nil {
			t.Fatalf("AddCandidate(%s): %v", cand, err)
		}
	}
	// The remote reads that the door waits for its hello, and sends one too.
	r.setAnswer(json.RawMessage(strings.ReplaceAll(string(answer), "a=setup:active", "a=setup:passive")))
	within(t, 30*time.Second, "the door to give up the call", func() bool {
		for _, cand := range ev.takeCandidates() {
			r.addCandidate(cand)
		}
		// pion reports failed, or closed when its own clean-up wins the race.
		return ev.has(device.ConnFailed) || ev.has(device.ConnClosed)
	})
	if ev.has(device.ConnConnected) {
		t.Error("the door reported the call connected without a DTLS handshake")
	}
	poll.Returns(t, time.Minute, "Close of the failed call", func() {
		if err := c.Close(); err != nil && !errors.Is(err, errCloseStuck) {
			t.Logf("Close of the failed call: %v", err)
		}
	})
}
