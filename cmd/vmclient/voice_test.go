package main

import (
	"math"
	"testing"
)

// decodeLoop decodes pkts looped three times, as the door hears them.
func decodeLoop(t *testing.T, pkts [][]byte) []int16 {
	t.Helper()
	dec, err := newOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	var out []int16
	for range 3 {
		for _, p := range pkts {
			pcm, err := dec.decode(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pcm...)
		}
	}
	return out
}

// maxEcho is the highest normalised correlation of s (its middle second)
// with itself 1 to 300 ms earlier: how alike another delay looks to the
// door's delay finder.
func maxEcho(s []int16) (best float64, at int) {
	const ms = opusRate / 1000
	mid := s[len(s)/2-opusRate/2 : len(s)/2+opusRate/2]
	from := len(s)/2 - opusRate/2
	energy := func(x []int16) (e float64) {
		for _, v := range x {
			e += float64(v) * float64(v)
		}
		return e
	}
	em := energy(mid)
	for lag := ms; lag <= 300*ms; lag += ms / 4 {
		prev := s[from-lag : from-lag+len(mid)]
		var c float64
		for i, v := range mid {
			c += float64(v) * float64(prev[i])
		}
		if c /= math.Sqrt(em * energy(prev)); c > best {
			best, at = c, lag
		}
	}
	return best, at
}

// TestVoice: the echo call's voice, through Opus and across its loop's
// seam, is speech the visitor's tone is told apart from (its power at
// voiceBins 20 dB above its power at micHz), and it looks like itself at one
// delay only, where a steady tone looks alike a period later.
func TestVoice(t *testing.T) {
	pkts, err := voicePackets()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pkts)*20, voiceLoop; got != want {
		t.Fatalf("voice loop of %d ms, want %d", got, want)
	}
	s := decodeLoop(t, pkts)
	voice, visitor, n := voicePowers(s)
	sep := 10 * math.Log10(voice/max(visitor, 1e-9))
	t.Logf("voice %.0f, at %d Hz %.2f (%.1f dB apart) over %d windows", voice, micHz, visitor, sep, n)
	// The echo comes about as loud as the visitor's tone: 20 dB apart, the
	// voice moves the visitor's measured power by under 0.05 dB (and only
	// toward failing: the canceller takes it out with the echo).
	if sep < 20 {
		t.Errorf("the voice is only %.1f dB above its own power at %d Hz, want 20 dB apart from the visitor's tone", sep, micHz)
	}
	if n < len(s)/opusRate*100/2 {
		t.Errorf("the voice is silent in %d of %d windows of 10 ms, want it talking most of the time", len(s)/(opusRate/100)-n, len(s)/(opusRate/100))
	}
	c, lag := maxEcho(s)
	t.Logf("voice: most alike itself %.2f, %d ms earlier", c, lag*1000/opusRate)
	if c > 0.7 {
		t.Errorf("the voice correlates %.2f with itself %d ms earlier, want below 0.7: its echo's delay is ambiguous", c, lag*1000/opusRate)
	}
	tone, err := tonePackets(talkHz)
	if err != nil {
		t.Fatal(err)
	}
	if c, lag := maxEcho(decodeLoop(t, tone)); c < 0.9 {
		t.Errorf("the %d Hz tone correlates only %.2f with itself (best %d ms earlier): maxEcho does not see a tone's periods", talkHz, c, lag*1000/opusRate)
	}
}
