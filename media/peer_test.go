package media

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/pion/ice/v4"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

var logLevel = flag.String("media.log", "error", "log level of the media package in tests (debug, info, warn, error)")

func testLogger(t testing.TB) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(*logLevel)); err != nil {
		t.Fatalf("-media.log %q: %v", *logLevel, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// newTestMedia opens Media with the test sources and the counting sink on
// loopback, closed when the test ends.
func newTestMedia(t testing.TB, cfg Config) *Media {
	t.Helper()
	for _, f := range []*string{&cfg.Camera, &cfg.Mic, &cfg.Speaker} {
		if *f == "" {
			*f = "test"
		}
	}
	cfg.Loopback = true
	m, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		poll.Returns(t, closeTimeout, "Media.Close", func() {
			if err := m.Close(); err != nil {
				t.Errorf("Media.Close: %v", err)
			}
		})
	})
	return m
}

// closeTimeout bounds a peer's or Media's Close in the tests: a hang
// fails with every goroutine's stack instead of stalling the package.
const closeTimeout = time.Minute

// within polls cond until it holds or d passes.
func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.For(t, d, 20*time.Millisecond, what, cond)
}

// remote is a pion peer in the test, standing in for the browser.
type remote struct {
	t  testing.TB
	pc *webrtc.PeerConnection

	mu         sync.Mutex
	videoPT    uint8
	videoMime  string
	nals       map[int]int // H.264 NAL unit type -> count
	frames     int         // video frames (RTP marker bits)
	vp8Key     bool        // a VP8 key frame arrived
	audioPT    uint8
	audioPkts  int
	candidates []webrtc.ICECandidateInit
	gathered   chan struct{}
	state      webrtc.PeerConnectionState

	stopTone  func()
	closeOnce sync.Once
}

// close ends the remote's peer connection and its tone.
func (r *remote) close() {
	r.closeOnce.Do(func() {
		if r.stopTone != nil {
			r.stopTone()
		}
		r.pc.GracefulClose()
	})
}

type remoteOpts struct {
	video    []webrtc.RTPCodecParameters // video codecs the remote takes; none: no video
	videoDir webrtc.RTPTransceiverDirection
	audioPT  webrtc.PayloadType // default 111
	sendTone bool               // send a 440 Hz Opus tone
	noAudio  bool
}

// h264At is the browser's usual H.264 at payload type pt.
func h264At(pt webrtc.PayloadType) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack", Parameter: "pli"}},
	}, PayloadType: pt}
}

func vp8At(pt webrtc.PayloadType) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack", Parameter: "pli"}},
	}, PayloadType: pt}
}

func newRemote(t testing.TB, o remoteOpts) *remote {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range o.video {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	if o.audioPT == 0 {
		o.audioPT = 111
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: o.audioPT},
		webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.LoggerFactory = pionLogs{log: testLogger(t).With("side", "remote")}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	r := &remote{t: t, pc: pc, nals: map[int]int{}, gathered: make(chan struct{})}
	t.Cleanup(func() { poll.Returns(t, closeTimeout, "the remote's close", r.close) })
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(r.gathered)
			return
		}
		r.mu.Lock()
		r.candidates = append(r.candidates, c.ToJSON())
		r.mu.Unlock()
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		r.mu.Lock()
		r.state = s
		r.mu.Unlock()
	})
	pc.OnTrack(r.onTrack)
	if len(o.video) > 0 {
		dir := o.videoDir
		if dir == 0 {
			dir = webrtc.RTPTransceiverDirectionRecvonly
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case o.noAudio:
	case o.sendTone:
		tr, err := webrtc.NewTrackLocalStaticSample(opusCapability, "mic", "resident")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		r.stopTone = func() { cancel(); <-done }
		go sendTone(ctx, t, tr, done)
	default:
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// sendTone encodes a 440 Hz tone with the same Opus encoder the door uses
// and sends it every 20 ms, as a resident's browser would.
func sendTone(ctx context.Context, t testing.TB, tr *webrtc.TrackLocalStaticSample, done chan struct{}) {
	defer close(done)
	phase := 0
	tone := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		a := wave.NewInt16Interleaved(wave.ChunkInfo{Channels: 1, Len: 960, SamplingRate: sampleRate})
		for i := range 960 {
			a.SetInt16(i, 0, wave.Int16Sample(8000*math.Sin(2*math.Pi*440*float64(phase)/sampleRate)))
			phase++
		}
		return a, func() {}, nil
	})
	enc, err := buildOpus(tone)
	if err != nil {
		t.Errorf("opus encoder: %v", err)
		return
	}
	defer enc.Close()
	tick := time.NewTicker(opusFrame)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b, _, err := enc.Read()
		if err != nil {
			t.Errorf("opus encode: %v", err)
			return
		}
		tr.WriteSample(pionmedia.Sample{Data: b, Duration: opusFrame})
	}
}

func (r *remote) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	var h264 codecs.H264Packet
	var vp8 codecs.VP8Packet
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		r.mu.Lock()
		switch tr.Kind() {
		case webrtc.RTPCodecTypeVideo:
			r.videoPT, r.videoMime = p.PayloadType, tr.Codec().MimeType
			if p.Marker {
				r.frames++
			}
			switch tr.Codec().MimeType {
			case webrtc.MimeTypeH264:
				if b, err := h264.Unmarshal(p.Payload); err == nil {
					for typ := range nalTypes(b) {
						r.nals[typ]++
					}
				}
			case webrtc.MimeTypeVP8:
				if b, err := vp8.Unmarshal(p.Payload); err == nil && vp8.S == 1 && len(b) > 0 && b[0]&1 == 0 {
					r.vp8Key = true // start of a frame whose P bit is 0
				}
			}
		case webrtc.RTPCodecTypeAudio:
			r.audioPT = p.PayloadType
			r.audioPkts++
		}
		r.mu.Unlock()
	}
}

func (r *remote) get(f func(r *remote) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f(r)
}

// offer makes the remote's offer. It returns the offer without candidates
// and, once gathering is done, the candidates to trickle.
func (r *remote) offer() (json.RawMessage, []json.RawMessage) {
	r.t.Helper()
	o, err := r.pc.CreateOffer(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.pc.SetLocalDescription(o); err != nil {
		r.t.Fatal(err)
	}
	r.waitGathered()
	b, _ := json.Marshal(o)
	return b, r.trickle()
}

// waitGathered waits for the remote's candidates: on loopback, at once.
func (r *remote) waitGathered() {
	r.t.Helper()
	select {
	case <-r.gathered:
	case <-time.After(connectTimeout):
		r.t.Fatalf("the remote gathered no complete set of candidates in %v (state %s)", connectTimeout, r.pc.ICEGatheringState())
	}
}

func (r *remote) trickle() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []json.RawMessage
	for _, c := range r.candidates {
		b, _ := json.Marshal(c)
		out = append(out, b)
	}
	return out
}

// answer answers the door's offer and returns the answer without
// candidates plus its candidates.
func (r *remote) answer(offer json.RawMessage) (json.RawMessage, []json.RawMessage) {
	r.t.Helper()
	var o webrtc.SessionDescription
	if err := json.Unmarshal(offer, &o); err != nil {
		r.t.Fatal(err)
	}
	if err := r.pc.SetRemoteDescription(o); err != nil {
		r.t.Fatal(err)
	}
	a, err := r.pc.CreateAnswer(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.pc.SetLocalDescription(a); err != nil {
		r.t.Fatal(err)
	}
	r.waitGathered()
	b, _ := json.Marshal(a)
	return b, r.trickle()
}

func (r *remote) setAnswer(raw json.RawMessage) {
	r.t.Helper()
	var a webrtc.SessionDescription
	if err := json.Unmarshal(raw, &a); err != nil {
		r.t.Fatal(err)
	}
	if err := r.pc.SetRemoteDescription(a); err != nil {
		r.t.Fatal(err)
	}
}

func (r *remote) addCandidate(raw json.RawMessage) {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		r.t.Errorf("door candidate %s: %v", raw, err)
		return
	}
	if err := r.pc.AddICECandidate(c); err != nil {
		r.t.Errorf("AddICECandidate(%s): %v", raw, err)
	}
}

var candidateLine = regexp.MustCompile(`(?m)^a=candidate:.*\r?\n`)

// withoutCandidates strips the candidates from a session description, so
// only trickled ones count.
func withoutCandidates(t testing.TB, raw json.RawMessage) json.RawMessage {
	var d webrtc.SessionDescription
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	d.SDP = candidateLine.ReplaceAllString(d.SDP, "")
	b, _ := json.Marshal(d)
	return b
}

// events records a call's events.
type events struct {
	mu         sync.Mutex
	candidates []json.RawMessage
	states     []device.ConnState
}

func (e *events) handle(ev device.CallEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.Candidate != nil {
		e.candidates = append(e.candidates, ev.Candidate)
	}
	if ev.State != device.ConnNone {
		e.states = append(e.states, ev.State)
	}
}

func (e *events) has(s device.ConnState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, got := range e.states {
		if got == s {
			return true
		}
	}
	return false
}

func (e *events) stateList() []device.ConnState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.states)
}

func (e *events) takeCandidates() []json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.candidates
	e.candidates = nil
	return c
}

// sdpHas reports whether a session description's SDP contains s.
func sdpHas(raw json.RawMessage, s string) bool {
	var d webrtc.SessionDescription
	json.Unmarshal(raw, &d)
	return strings.Contains(d.SDP, s)
}

// newCall makes a call to "resident" on m, closed at the end of the test.
func newCall(t testing.TB, m *Media) (*call, *events) {
	t.Helper()
	ev := &events{}
	dc, err := m.NewCall("resident", ev.handle)
	if err != nil {
		t.Fatal(err)
	}
	c := dc.(*call)
	t.Cleanup(func() { poll.Returns(t, closeTimeout, "the call's Close", func() { c.Close() }) })
	return c, ev
}

// offerCall makes a call to "resident" on m, the door as the caller, and
// returns it with its events and its offer; the call is closed at the end
// of the test.
func offerCall(t testing.TB, m *Media) (*call, *events, json.RawMessage) {
	t.Helper()
	c, ev := newCall(t, m)
	offer, err := c.Offer(context.Background())
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	return c, ev, offer
}
