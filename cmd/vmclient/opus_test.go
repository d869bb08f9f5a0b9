package main

import (
	"testing"

	"github.com/intercomd/intercomd/internal/sound"
)

// TestOpusRoundTrip encodes tones and decodes them again: the client's
// judgement of the door's audio is only as good as this.
func TestOpusRoundTrip(t *testing.T) {
	for _, freq := range []float64{600, 1000} {
		enc, err := newOpusEncoder()
		if err != nil {
			t.Fatal(err)
		}
		dec, err := newOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		gen := sound.Sine{Freq: freq, Amp: 8000}
		var out []int16
		for i := 0; i < 50; i++ {
			frame := make([]int16, opusFrame)
			for j := range frame {
				frame[j] = gen.Next()
			}
			pkt, err := enc.encode(frame)
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := dec.decode(pkt)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pcm...)
		}
		enc.close()
		dec.close()
		other := 1600 - freq
		if ok, desc := sound.Judge(out[len(out)/2:], freq, other); !ok {
			t.Errorf("%v Hz through Opus: Judge = false (%s), want the tone", freq, desc)
		}
		if ok, desc := sound.Judge(out[len(out)/2:], other, freq); ok {
			t.Errorf("%v Hz through Opus judged as %v Hz (%s)", freq, other, desc)
		}
	}
}
