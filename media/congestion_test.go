package media

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

var congestionTrace = flag.String("media.congestion-trace", "", "file for TestCongestionOverVNet's per-second trace (JSON lines), for cmd/bench; TestChromiumOverConstrainedPath's goes to the same name + .chromium")

// path is the door's and the resident's virtual network: what the door
// sends passes loss, delay and a token bucket on its way to the resident.
type path struct {
	door, resident *vnet.Net
	router         *vnet.Router
	tbf            *vnet.TBFQueue
	delay          *vnet.DelayFilter
	loss           *vnet.LossFilter
}

func newPath(t *testing.T, bps int, delay time.Duration, lossPct int) *path {
	t.Helper()
	p := &path{}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p.router, err = vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.7.0.0/24", LoggerFactory: pionLogs{log: testLogger(t).With("side", "vnet")}})
	must(err)
	p.door, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.7.0.1"}})
	must(err)
	must(p.router.AddNet(p.door))
	p.resident, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.7.0.2"}})
	must(err)
	// A home uplink's queue: about 300 ms at the limit.
	p.tbf = vnet.NewTBFQueue(bps, 3*1500, int64(bps/8*3/10))
	q, err := vnet.NewQueue(p.resident, p.tbf)
	must(err)
	p.delay, err = vnet.NewDelayFilter(q, vnet.WithDelay(delay))
	must(err)
	p.loss, err = vnet.NewLossFilter(p.delay, lossPct)
	must(err)
	must(p.router.AddNet(p.loss))
	must(p.router.Start())
	t.Cleanup(func() {
		p.router.Stop()
		p.delay.Close()
		q.Close()
	})
	return p
}

// lift opens the path: no limit to speak of, no delay, no loss.
func (p *path) lift(t *testing.T) {
	p.tbf.SetRate(50_000_000)
	p.tbf.SetBurst(64 * 1500)
	p.tbf.SetSize(1 << 20)
	p.delay.SetDelay(0)
	if err := p.loss.SetLossRate(0, true); err != nil {
		t.Fatal(err)
	}
}

// viewer is a pion resident with the interceptors a browser has: NACK,
// RTX, transport-cc feedback, receiver reports. It assembles frames and
// follows what a decoder could show: a frame after a gap is shown only
// from the next key frame on, which it asks for with a PLI.
type viewer struct {
	pc *webrtc.PeerConnection

	mu        sync.Mutex
	shown     int    // frames a decoder could show
	lastShow  uint32 // the RTP time of the last one shown
	freeze    time.Duration
	stalled   time.Duration // spans the door sent nothing, left out of freezes
	measure   bool          // freeze counts from measureAt on
	measureAt uint32        // the newest RTP time when measuring began
	newest    uint32        // the newest RTP time received
	rtx       int           // packets that came on the RTX stream
	breaks    int           // frames lost for good: a PLI each
}

func newViewer(t *testing.T, n *vnet.Net) *viewer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: webrtc.TypeRTCPFBTransportCC}}}, PayloadType: 108},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=108"}, PayloadType: 109},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	// NACK a missing packet at most twice, about a round trip apart, as
	// browsers do. pion's default NACKs every 100 ms without end, and its
	// generator never sees a packet that came back on the RTX stream: it
	// asked for each lost packet ten times over and the resends filled the
	// path's queue (131 resends for about 10 losses in 10 s, more than
	// 100 kbit/s of a 400 kbit/s path).
	nacks := webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(150*time.Millisecond), nack.GeneratorMaxNacksPerPacket(2))
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, nacks); err != nil {
		t.Fatal(err)
	}
	var s webrtc.SettingEngine
	s.SetNet(n)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.LoggerFactory = pionLogs{log: testLogger(t).With("side", "viewer")}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc}
	t.Cleanup(func() { poll.Returns(t, closeTimeout, "the viewer's close", func() { pc.GracefulClose() }) })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
		v.watch(tr)
	})
	return v
}

func (v *viewer) watch(tr *webrtc.TrackRemote) {
	// Wait up to half a second for a lost packet's resend before giving
	// the frame up: a browser's jitter buffer waits about as long. (A
	// second was tried: fewer frames given up, but each cost over a
	// second of picture.)
	sb := samplebuilder.New(512, &codecs.H264Packet{}, 90000, samplebuilder.WithMaxTimeDelay(500*time.Millisecond))
	broken := true          // nothing to show before the first key frame
	var asked time.Time     // the last PLI
	var stalled uint32      // RTP time since the last frame shown in which the door sent nothing
	const stall = 90000 / 2 // a gap this long between frames received is the door's
	for {
		p, attr, err := tr.ReadRTP()
		if err != nil {
			return
		}
		v.mu.Lock()
		if d := p.Timestamp - v.newest; v.newest != 0 && int32(d) > 0 {
			if d > stall {
				stalled += d
			}
			v.newest = p.Timestamp
		} else if v.newest == 0 {
			v.newest = p.Timestamp
		}
		if attr != nil && attr.Get(webrtc.AttributeRtxSsrc) != nil {
			v.rtx++
		}
		v.mu.Unlock()
		sb.Push(p)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 && !broken {
				broken = true
				v.mu.Lock()
				v.breaks++
				v.mu.Unlock()
			}
			if nalTypes(s.Data)[5] {
				broken = false
			}
			if broken {
				// What a browser does when it cannot decode: ask for a key
				// frame rather than wait for the periodic one, and ask
				// again while none comes (the one sent may be lost too).
				if time.Since(asked) > pliRepeat {
					asked = time.Now()
					v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
				}
				continue
			}
			// Freezes are measured in the pictures' own time (the door's
			// capture clock), not in when they arrived, less the spans in
			// which the door sent no frame at all (its capture or encoder
			// starved by a loaded test machine): what the network and the
			// door's repairs cost the picture.
			v.mu.Lock()
			if v.measure && v.shown > 0 {
				from := v.lastShow
				if int32(v.measureAt-from) > 0 {
					from = v.measureAt // a freeze that began while settling counts from the start of measuring
				}
				gap := uint32(max(int32(s.PacketTimestamp-from), 0))
				v.stalled += time.Duration(min(stalled, gap)) * time.Second / 90000
				v.freeze = max(v.freeze, time.Duration(gap-min(stalled, gap))*time.Second/90000)
			}
			stalled = 0
			v.shown++
			v.lastShow = s.PacketTimestamp
			v.mu.Unlock()
		}
	}
}

// pliRepeat is how often the viewer asks again for a key frame while it
// cannot decode (Chromium repeats its requests too).
const pliRepeat = 500 * time.Millisecond

// startMeasuring resets the longest freeze: it counts from now on (in RTP
// time, from the newest packet received).
func (v *viewer) startMeasuring() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.measure, v.freeze, v.measureAt = true, 0, v.newest
}

func (v *viewer) stats() (shown int, freeze time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.shown, v.freeze
}

// traceLine is one second of the door's sending, for the bench.
type traceLine struct {
	T         float64 `json:"t"`
	Phase     string  `json:"phase"`
	SentKbps  int     `json:"sent_kbps"`
	TargetKbp int     `json:"target_kbps"`
	Level     int     `json:"level"`
	Shown     int     `json:"shown"`
}

// TestCongestionOverVNet: a resident behind 400 kbit/s, 100 ms and 3 %
// loss (pion's virtual network). The door's sent rate comes under the
// limit, the picture keeps coming with no freeze over a second once it has
// settled, and the rate climbs back when the limit is lifted.
func TestCongestionOverVNet(t *testing.T) {
	const limit = 400_000
	pth := newPath(t, limit, 100*time.Millisecond, 3)
	m := newTestMedia(t, Config{VideoBitrate: 1_000_000})
	m.net.settings.SetNet(pth.door)
	v := newViewer(t, pth.resident)

	c, ev := newCall(t, m)
	o, err := v.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(v.pc)
	if err := v.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(connectTimeout):
		t.Fatalf("the viewer gathered no complete set of candidates in %v", connectTimeout)
	}
	offer, _ := json.Marshal(v.pc.LocalDescription())
	answer, err := c.Answer(context.Background(), offer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if !sdpHas(answer, "rtx") || !sdpHas(answer, "transport-cc") {
		t.Errorf("the door's answer takes no RTX or no transport-cc:\n%s", answer)
	}
	var a webrtc.SessionDescription
	json.Unmarshal(answer, &a)
	if err := v.pc.SetRemoteDescription(a); err != nil {
		t.Fatal(err)
	}
	within(t, connectTimeout, "the call to connect", func() bool {
		for _, cand := range ev.takeCandidates() {
			var ci webrtc.ICECandidateInit
			json.Unmarshal(cand, &ci)
			v.pc.AddICECandidate(ci)
		}
		return ev.has(device.ConnConnected) && v.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	p := newPhases(t, c.currentVideo(), limit, func() int { n, _ := v.stats(); return n })
	defer func() { writeTrace(t, "", p.trace) }()
	p.down()
	p.settle()
	v.startMeasuring()
	shown0, _ := v.stats()
	sent := p.measure()
	shown, freeze := v.stats()
	t.Logf("under the limit: video %d kbit/s sent, %d frames shown in %d s, longest freeze %v, %d RTX packets, picture lost %d times; the door sent nothing for %v in all", sent/1000, shown-shown0, measured, freeze, v.rtx, v.breaks, v.stalled)
	p.check(sent, shown-shown0, freeze)
	if v.rtx == 0 {
		t.Errorf("no packet resent on the RTX stream at 3 %% loss")
	}
	pth.lift(t)
	p.climb()
}

// phases drives a call on a constrained path and checks the door's side
// of it, one line of trace a second: limited until the door's target is
// under the limit, settling, measuring, and lifted until the target is
// back near the ceiling.
type phases struct {
	t     *testing.T
	out   *videoOut
	limit int
	shown func() int // frames the receiver shows (or decodes)
	poll  func()     // if not nil, called four times a second
	start time.Time
	bytes int64
	trace []traceLine
}

func newPhases(t *testing.T, out *videoOut, limit int, shown func() int) *phases {
	return &phases{t: t, out: out, limit: limit, shown: shown, start: time.Now(), bytes: out.bytes.Load()}
}

// measured is how many seconds are measured.
const measured = 10

// second waits a second, polling the receiver, and traces what the door
// sent.
func (p *phases) second(phase string) traceLine {
	for range 4 {
		time.Sleep(time.Second / 4)
		if p.poll != nil {
			p.poll()
		}
	}
	b := p.out.bytes.Load()
	l := traceLine{T: time.Since(p.start).Seconds(), Phase: phase, SentKbps: int(b-p.bytes) * 8 / 1000,
		TargetKbp: int(p.out.target.Load() / 1000), Level: p.out.gov.level, Shown: p.shown()}
	p.bytes = b
	p.trace = append(p.trace, l)
	p.t.Logf("%5.1fs %-8s sent %4d kbit/s, target %4d, size level %d, frames shown %d", l.T, phase, l.SentKbps, l.TargetKbp, l.Level, l.Shown)
	return l
}

// down waits for the door's target (video plus Opus) to come under the limit.
func (p *phases) down() {
	for range 30 {
		if l := p.second("limited"); l.TargetKbp*1000+audioReserve < p.limit {
			return
		}
	}
	p.t.Fatalf("the door's target never came under the %d kbit/s limit in 30 s", p.limit/1000)
}

func (p *phases) settle() {
	for range 10 {
		p.second("settle")
	}
}

// measure returns the mean video bitrate sent over the measured seconds.
func (p *phases) measure() int {
	sum := 0
	for range measured {
		sum += p.second("measured").SentKbps
	}
	return sum * 1000 / measured
}

// check: under the limit, the picture keeps coming, no long freeze.
func (p *phases) check(sent, shown int, freeze time.Duration) {
	if sent+32_000 > p.limit {
		p.t.Errorf("video %d kbit/s + Opus 32 sent into a %d kbit/s path, want under it", sent/1000, p.limit/1000)
	}
	if shown < measured*5 { // 15 frames/s at the governor's lower frame rate, less losses
		p.t.Errorf("%d frames shown in %d s, want the picture to keep coming", shown, measured)
	}
	if freeze > time.Second {
		p.t.Errorf("longest freeze %v after settling, want at most 1 s", freeze)
	}
}

// climb waits, once the path is lifted, for the target to climb back
// towards the ceiling.
func (p *phases) climb() {
	for range 90 { // 14 s measured; before the delay-based estimate counted under loss, 30 to 61 s
		if p.second("lifted").TargetKbp*1000 >= 900_000 {
			return
		}
	}
	p.t.Errorf("the target stayed under 900 kbit/s for 90 s after the limit was lifted")
}

func writeTrace(t *testing.T, suffix string, trace []traceLine) {
	if *congestionTrace == "" {
		return
	}
	var b []byte
	for _, l := range trace {
		j, _ := json.Marshal(l)
		b = append(append(b, j...), '\n')
	}
	if err := os.WriteFile(*congestionTrace+suffix, b, 0o644); err != nil {
		t.Error(fmt.Errorf("trace: %w", err))
	}
}
