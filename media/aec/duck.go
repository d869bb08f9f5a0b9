package aec

import "math"

// ducker is the half-duplex fallback: while the speaker plays a voice, and
// for a hangover that covers the longest echo, the microphone is turned
// down by duckDB. The gain glides (a few ms down, tens of ms up) so the
// switch does not click.
type ducker struct {
	hold     int // samples the duck lasts after the speaker falls silent
	left     int // samples of duck left
	gain     float64
	down, up float64 // per-sample glide coefficients
}

const (
	// DuckDB is how far half-duplex turns the microphone down.
	DuckDB = -40
	// duckHold covers the echo's delay (up to 150 ms) and its reverberation.
	duckHoldMS = 300
	// duckLevel is the speaker's peak that counts as the resident talking:
	// about -40 dBFS, above the comfort noise a muted browser sends.
	duckLevel = 328
)

func newDucker(rate int) *ducker {
	glide := func(ms float64) float64 { return 1 - math.Exp(-1000/(ms*float64(rate))) }
	return &ducker{hold: rate * duckHoldMS / 1000, gain: 1, down: glide(2), up: glide(30)}
}

func (d *ducker) process(mic, ref []int16) {
	for _, s := range ref {
		if s > duckLevel || s < -duckLevel {
			d.left = d.hold + len(ref)
			break
		}
	}
	low := math.Pow(10, DuckDB/20.0)
	for i, s := range mic {
		target, k := 1.0, d.up
		if d.left > 0 {
			target, k = low, d.down
			d.left--
		}
		d.gain += (target - d.gain) * k
		mic[i] = int16(math.Round(float64(s) * d.gain))
	}
}
