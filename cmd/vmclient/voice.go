package main

import (
	"fmt"
	"math"

	"github.com/intercomd/intercomd/internal/sound"
	"github.com/intercomd/intercomd/media/aec/aectest"
)

// The resident's voice in the echo call: speech, not a tone. A steady
// tone correlates alike at every lag a period apart, so the door's delay
// finder cannot tell its echo's delay and hops between periods (each hop
// restarts the canceller); a voice has one delay. It is media/aec's
// synthetic talker kept below the visitor's 1 kHz tone (voiceCutHz), so
// the check still tells the two apart: the voice is measured in the
// 10 ms windows' bins voiceBins, the visitor at micHz.
const (
	voiceF0    = 130  // Hz, the talker's pitch
	voiceCutHz = 650  // the low-pass's corner
	voiceLoop  = 1500 // ms: the packets loop; the judged 3 s hold two loops
	voicePeak  = 16000
)

// voiceBins are the DFT bins of a 10 ms window (100 Hz apart, so a tone
// at one leaks nothing into the others) that carry the voice.
var voiceBins = []float64{200, 300, 400, 500, 600, 700}

// voicePackets returns voiceLoop ms of the voice as Opus packets, encoded
// once (encoding in real time is more than a TCG guest keeps up with).
// The voice, its filter and its encoder run three loops and the last is
// kept: its end runs into its start as the loop's seam, so every window of
// whole loops carries the same voice.
func voicePackets() ([][]byte, error) {
	n := opusRate * voiceLoop / 1000
	one := aectest.Float(aectest.Voice(7, voiceF0, opusRate, n))
	fade := opusRate / 100 // 10 ms: the loop's end meets its start at 0
	for i := range fade {
		one[n-1-i] *= float64(i) / float64(fade)
	}
	lp := newLowPass(voiceCutHz, opusRate)
	loops := make([]float64, 3*n)
	for i := range loops {
		loops[i] = lp.step(one[i%n])
	}
	var peak float64
	for _, v := range loops[2*n:] {
		peak = max(peak, math.Abs(v))
	}
	if peak == 0 {
		return nil, fmt.Errorf("voice: silent")
	}
	pcm := make([]int16, len(loops))
	for i, v := range loops {
		pcm[i] = int16(math.Round(v * voicePeak / peak))
	}
	enc, err := newOpusEncoder()
	if err != nil {
		return nil, err
	}
	defer enc.close()
	var pkts [][]byte
	for i := 0; i+opusFrame <= len(pcm); i += opusFrame {
		pkt, err := enc.encode(pcm[i : i+opusFrame])
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, pkt)
	}
	return pkts[2*len(pkts)/3:], nil
}

// voicePowers returns the mean power of the voice (voiceBins) and of the
// visitor's tone (micHz) over the windows of s that are not silent
// (sound.TonePowers), and how many windows that was.
func voicePowers(s []int16) (voice, visitor float64, n int) {
	p, n := sound.TonePowers(s, append(voiceBins[:len(voiceBins):len(voiceBins)], micHz)...)
	for _, v := range p[:len(voiceBins)] {
		voice += v
	}
	return voice, p[len(voiceBins)], n
}

// lowPass is an 8th order Butterworth low-pass: four biquads (RBJ's
// cookbook), 48 dB an octave, so the voice is 25 dB down at 1 kHz.
type lowPass struct{ s [4]biquad }

type biquad struct{ b0, b1, b2, a1, a2, x1, x2, y1, y2 float64 }

func newLowPass(hz float64, rate int) *lowPass {
	var lp lowPass
	w := 2 * math.Pi * hz / float64(rate)
	for k := range lp.s {
		q := 1 / (2 * math.Cos(float64(2*k+1)*math.Pi/16))
		alpha := math.Sin(w) / (2 * q)
		a0 := 1 + alpha
		c := (1 - math.Cos(w)) / 2
		lp.s[k] = biquad{b0: c / a0, b1: 2 * c / a0, b2: c / a0, a1: -2 * math.Cos(w) / a0, a2: (1 - alpha) / a0}
	}
	return &lp
}

func (lp *lowPass) step(x float64) float64 {
	for k := range lp.s {
		b := &lp.s[k]
		y := b.b0*x + b.b1*b.x1 + b.b2*b.x2 - b.a1*b.y1 - b.a2*b.y2
		b.x2, b.x1, b.y2, b.y1 = b.x1, x, b.y1, y
		x = y
	}
	return x
}
