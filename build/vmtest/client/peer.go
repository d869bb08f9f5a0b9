package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/intercomd/intercomd/build/vmtest/internal/sound"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/intercomd/intercomd/wire"
)

// The client offers H.264 with payload type 108, as Chromium often does, not
// mediadevices' fixed 125: a door that sends with its own fixed type instead
// of the negotiated one loses every frame, and this client notices.
const (
	h264PayloadType = 108
	opusPayloadType = 111
)

// call is one peer connection with the door and what arrived over it.
type call struct {
	pc   *webrtc.PeerConnection
	sig  *signaller
	peer string
	stop chan struct{}

	mu         sync.Mutex
	frames     int // video frames (RTP marker bits)
	width      int // from the stream's SPS
	height     int
	videoCodec string
	spsErr     error
	audio      []int16 // decoded door audio
	audioErr   error
	sent       int // Opus packets sent to the door
	remoteSet  bool
	early      []webrtc.ICECandidateInit // candidates before the remote description
	state      webrtc.PeerConnectionState
}

func newCall(sig *signaller, peer string, talkHz float64) (*call, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: h264PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        opusPayloadType,
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
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &call{pc: pc, sig: sig, peer: peer, stop: make(chan struct{})}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		sig.send(wire.Message{Type: wire.TypeICE, To: peer, Text: b})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.mu.Lock()
		c.state = s
		c.mu.Unlock()
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			c.readVideo(t)
		case webrtc.RTPCodecTypeAudio:
			c.readAudio(t)
		}
	})
	sig.setICE(c.addCandidate)
	if talkHz > 0 {
		if err := c.talk(talkHz); err != nil {
			pc.Close()
			return nil, err
		}
	}
	return c, nil
}

// talk sends a tone of hz to the door as the resident's voice.
func (c *call) talk(hz float64) error {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "resident")
	if err != nil {
		return err
	}
	if _, err := c.pc.AddTrack(track); err != nil {
		return err
	}
	pkts, err := tonePackets(hz)
	if err != nil {
		return err
	}
	go func() {
		// Real time, as a microphone: a slow, busy VM wakes this loop late,
		// so each wake-up sends every frame that is due by the clock, not
		// just one.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		start, sent := time.Now(), 0
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			for due := int(time.Since(start) / (20 * time.Millisecond)); sent < due; sent++ {
				if track.WriteSample(media.Sample{Data: pkts[sent%len(pkts)], Duration: 20 * time.Millisecond}) == nil {
					c.mu.Lock()
					c.sent++
					c.mu.Unlock()
				}
			}
		}
	}()
	return nil
}

// tonePackets returns one second of a hz tone as Opus packets, encoded
// once: encoding in real time is more than a busy TCG guest keeps up with.
// hz must divide 50 (whole cycles per 20 ms frame), so the packets loop
// without a seam.
func tonePackets(hz float64) ([][]byte, error) {
	toneMu.Lock()
	defer toneMu.Unlock()
	if p, ok := toneCache[hz]; ok {
		return p, nil
	}
	if int(hz)%50 != 0 {
		return nil, fmt.Errorf("tone %v Hz: not a whole number of cycles per 20 ms", hz)
	}
	enc, err := newOpusEncoder()
	if err != nil {
		return nil, err
	}
	defer enc.close()
	gen := sound.Sine{Freq: hz, Amp: 8000}
	frame := make([]int16, opusFrame)
	var pkts [][]byte
	for i := 0; i < 50; i++ {
		for j := range frame {
			frame[j] = gen.Next()
		}
		pkt, err := enc.encode(frame)
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, pkt)
	}
	toneCache[hz] = pkts
	return pkts, nil
}

var (
	toneMu    sync.Mutex
	toneCache = map[float64][][]byte{}
)

func (c *call) addCandidate(raw json.RawMessage) {
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
	c.pc.AddICECandidate(cand)
}

func (c *call) setRemote(sd webrtc.SessionDescription) error {
	if err := c.pc.SetRemoteDescription(sd); err != nil {
		return fmt.Errorf("set remote %s: %w", sd.Type, err)
	}
	c.mu.Lock()
	c.remoteSet = true
	early := c.early
	c.early = nil
	c.mu.Unlock()
	for _, cand := range early {
		c.pc.AddICECandidate(cand)
	}
	return nil
}

// offer makes the client's offer (the client is the caller) and applies the
// door's answer.
func (c *call) offer() error {
	if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return err
	}
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	b, _ := json.Marshal(offer)
	if err := c.sig.send(wire.Message{Type: wire.TypeCallerSDP, To: c.peer, Text: b}); err != nil {
		return err
	}
	m, err := c.sig.expect("the door's answer (Callee Session Description)", 20*time.Second, func(m wire.Message) bool {
		return m.Type == wire.TypeCalleeSDP || m.Type == wire.TypeHangup
	})
	if err != nil {
		return err
	}
	if m.Type == wire.TypeHangup {
		return fmt.Errorf("the door hung up instead of answering the offer: %v", m)
	}
	var sd webrtc.SessionDescription
	if err := json.Unmarshal(m.Text, &sd); err != nil {
		return fmt.Errorf("the door's answer: %w", err)
	}
	return c.setRemote(sd)
}

// answer takes the door's offer (the door is the caller) and answers it.
func (c *call) answer(offer wire.Message) error {
	var sd webrtc.SessionDescription
	if err := json.Unmarshal(offer.Text, &sd); err != nil {
		return fmt.Errorf("the door's offer: %w", err)
	}
	if err := c.setRemote(sd); err != nil {
		return err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	b, _ := json.Marshal(ans)
	return c.sig.send(wire.Message{Type: wire.TypeCalleeSDP, To: c.peer, Text: b})
}

func (c *call) readVideo(t *webrtc.TrackRemote) {
	c.mu.Lock()
	c.videoCodec = t.Codec().MimeType
	c.mu.Unlock()
	var depack codecs.H264Packet
	lastPLI := time.Time{}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		haveSize := c.width > 0
		c.mu.Unlock()
		// Ask for a key frame as a browser does while it has none.
		if !haveSize && time.Since(lastPLI) > 2*time.Second {
			lastPLI = time.Now()
			c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
		annexB, err := depack.Unmarshal(pkt.Payload)
		c.mu.Lock()
		if err == nil {
			for _, nal := range nalUnits(annexB) {
				if len(nal) > 0 && nal[0]&0x1f == 7 {
					c.width, c.height, c.spsErr = spsSize(nal)
				}
			}
		}
		if pkt.Marker {
			c.frames++
		}
		c.mu.Unlock()
	}
}

func (c *call) readAudio(t *webrtc.TrackRemote) {
	dec, err := newOpusDecoder()
	if err != nil {
		c.mu.Lock()
		c.audioErr = err
		c.mu.Unlock()
		return
	}
	defer dec.close()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		pcm, err := dec.decode(pkt.Payload)
		c.mu.Lock()
		if err != nil {
			c.audioErr = err
		}
		c.audio = append(c.audio, pcm...)
		c.mu.Unlock()
	}
}

// video returns the frames received so far and the coded size.
func (c *call) video() (frames, width, height int, codec string, spsErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.width, c.height, c.videoCodec, c.spsErr
}

// audioSince returns the decoded door audio from sample index from on, and
// the total length.
func (c *call) audioSince(from int) ([]int16, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from > len(c.audio) {
		from = len(c.audio)
	}
	return append([]int16(nil), c.audio[from:]...), len(c.audio), c.audioErr
}

// packetsSent is the number of Opus packets sent to the door so far.
func (c *call) packetsSent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

func (c *call) connState() webrtc.PeerConnectionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// waitConnected waits for ICE and DTLS to connect.
func (c *call) waitConnected(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s := c.connState()
		switch s {
		case webrtc.PeerConnectionStateConnected:
			return nil
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			return fmt.Errorf("peer connection %s", s)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peer connection still %s after %v", s, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitVideo waits for n frames with a known size.
func (c *call) waitVideo(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		frames, w, h, codec, spsErr := c.video()
		if frames >= n && w > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			why := ""
			if spsErr != nil {
				why = ", " + spsErr.Error()
			}
			if codec == "" {
				return fmt.Errorf("no video track from the door within %v", timeout)
			}
			return fmt.Errorf("%d %s frames within %v, size %dx%d%s; want %d frames with an SPS", frames, codec, timeout, w, h, why, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *call) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.sig.setICE(nil)
	c.pc.Close()
}
