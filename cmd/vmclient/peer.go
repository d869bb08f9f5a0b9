package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/internal/sound"
)

// call is one call with the door (internal/resident's pion peer, offering
// H.264 at payload type 108 as Chromium often does) and what its packets
// decode to: the picture's size from the stream's SPS, the door's audio.
type call struct {
	*resident.Call
	talk *webrtc.TrackLocalStaticSample // the resident's voice, or nil
	tone [][]byte                       // what talk sends (Opus), looped

	mu       sync.Mutex
	width    int // from the stream's SPS
	height   int
	spsErr   error
	depack   codecs.H264Packet
	lastPLI  time.Time
	dec      *opusDecoder // nil until the first audio packet, and after close
	decDone  bool
	audio    []int16   // decoded door audio
	first    time.Time // when the first of it arrived
	audioErr error
	sent     int // Opus packets sent to the door
}

// newCall prepares a call that sends the packets talk makes (a tone, the
// voice; nil: nothing) to the door, looped; its options go to
// resident.Client.Call or Answer, and the result to start.
func newCall(talk func() ([][]byte, error)) (*call, resident.CallOptions, error) {
	c := &call{}
	opt := resident.CallOptions{OnRTP: c.onRTP}
	if talk != nil {
		track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "resident")
		if err != nil {
			return nil, opt, err
		}
		if c.tone, err = talk(); err != nil {
			return nil, opt, err
		}
		c.talk = track
		opt.Tracks = []webrtc.TrackLocal{track}
	}
	return c, opt, nil
}

// start takes the call once it is set up, and starts talking.
func (c *call) start(rc *resident.Call) {
	c.Call = rc
	if c.talk != nil {
		go c.talking()
	}
}

// talking sends the resident's tone or voice to the door, in real time as
// a microphone: a slow, busy VM wakes this loop late, so each
// wake-up sends every frame that is due by the clock, not just one.
func (c *call) talking() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start, sent := time.Now(), 0
	for {
		select {
		case <-c.Done():
			return
		case <-tick.C:
		}
		for due := int(time.Since(start) / (20 * time.Millisecond)); sent < due; sent++ {
			if c.talk.WriteSample(media.Sample{Data: c.tone[sent%len(c.tone)], Duration: 20 * time.Millisecond}) == nil {
				c.mu.Lock()
				c.sent++
				c.mu.Unlock()
			}
		}
	}
}

// tone returns tonePackets of hz for newCall.
func tone(hz float64) func() ([][]byte, error) {
	return func() ([][]byte, error) { return tonePackets(hz) }
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

// onRTP decodes what the door sends: the picture's size from its SPS, the
// audio to samples.
func (c *call) onRTP(rc *resident.Call, t *webrtc.TrackRemote, pkt *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Kind() == webrtc.RTPCodecTypeAudio {
		c.decodeAudio(pkt)
		return
	}
	// Ask for a key frame as a browser does while it has none.
	if c.width == 0 && time.Since(c.lastPLI) > 2*time.Second {
		c.lastPLI = time.Now()
		rc.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
	}
	annexB, err := c.depack.Unmarshal(pkt.Payload)
	if err != nil {
		return
	}
	for _, nal := range nalUnits(annexB) {
		if len(nal) > 0 && nal[0]&0x1f == 7 {
			c.width, c.height, c.spsErr = spsSize(nal)
		}
	}
}

// decodeAudio decodes one Opus packet; c.mu is held, so close cannot free
// the decoder under it.
func (c *call) decodeAudio(pkt *rtp.Packet) {
	if c.decDone {
		return
	}
	if c.dec == nil {
		dec, err := newOpusDecoder()
		if err != nil {
			c.audioErr, c.decDone = err, true
			return
		}
		c.dec = dec
	}
	pcm, err := c.dec.decode(pkt.Payload)
	if err != nil {
		c.audioErr = err
	}
	if len(c.audio) == 0 && len(pcm) > 0 {
		c.first = time.Now()
	}
	c.audio = append(c.audio, pcm...)
}

// video returns the frames received so far and the coded size.
func (c *call) video() (frames, width, height int, codec string, spsErr error) {
	n := c.Counts()
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(n.VideoFrames), c.width, c.height, n.VideoCodec, c.spsErr
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

// waitAudio waits until n samples of the door's audio arrived.
func (c *call) waitAudio(n int, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 100*time.Millisecond, func() error {
		_, got, err := c.audioSince(0)
		if err != nil {
			return poll.Stop(fmt.Errorf("decoding the door's audio: %w", err))
		}
		if got < n {
			return fmt.Errorf("only %d ms of audio from the door, want %d", got*1000/sound.Rate, n*1000/sound.Rate)
		}
		return nil
	})
}

// pace is how much of the door's audio arrived per second since its first
// packet: about 1 when the door keeps up with its microphone.
func (c *call) pace() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.IsZero() {
		return 0
	}
	return float64(len(c.audio)) / sound.Rate / time.Since(c.first).Seconds()
}

// packetsSent is the number of Opus packets sent to the door so far.
func (c *call) packetsSent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// waitVideo waits for n frames with a known size.
func (c *call) waitVideo(n int, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 100*time.Millisecond, func() error {
		frames, w, h, codec, spsErr := c.video()
		switch {
		case frames >= n && w > 0:
			return nil
		case codec == "":
			return errors.New("no video track from the door")
		}
		why := ""
		if spsErr != nil {
			why = ", " + spsErr.Error()
		}
		return fmt.Errorf("%d %s frames, size %dx%d%s; want %d frames with an SPS", frames, codec, w, h, why, n)
	})
}

// close ends the peer connection and frees the decoder.
func (c *call) close() {
	if c.Call != nil {
		c.Call.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dec != nil {
		c.dec.close()
		c.dec = nil
	}
	c.decDone = true
}
