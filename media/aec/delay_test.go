package aec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDelayTone: a steady tone correlates as well one period off as at its
// delay; once found, the delay must stay (each change resets the
// canceller), and a delay that really moves (here with noise, which
// correlates at one lag only) must still be followed.
func TestDelayTone(t *testing.T) {
	const rate = 16000
	ms := func(n int) int { return rate * n / 1000 }
	d := newDelayFinder(rate, ms(maxDelayMS), ms(300), ms(100))
	rng := rand.New(rand.NewPCG(1, 2))
	var hist []int16
	phase := 0.0
	play := func(delay, seconds int, noise bool) (changes int) {
		for f := 0; f < seconds*50; f++ {
			ref, mic := make([]int16, ms(20)), make([]int16, ms(20))
			for i := range ref {
				n := len(hist)
				if n%rate == 0 { // a looped recording's seam
					phase = rng.Float64() * 2 * math.Pi
				}
				// A tone whose level wavers, as a decoded tone's does.
				a := 6000 * (1 + 0.2*math.Sin(2*math.Pi*float64(n)/rate*1.7))
				v := a * math.Sin(2*math.Pi*600*float64(n)/rate+phase)
				if noise {
					v = rng.NormFloat64() * 4000
				}
				hist = append(hist, int16(v))
				ref[i] = hist[n]
				if n >= delay {
					mic[i] = hist[n-delay]/2 + int16(rng.NormFloat64()*200)
				}
			}
			if d.add(mic, ref) {
				changes++
			}
		}
		return changes
	}
	if c := play(ms(130), 20, false); c != 1 || abs(d.delay-ms(130)) > ms(2) {
		t.Fatalf("steady 600 Hz tone 130 ms late: the delay changed %d times in 20 s, now %d samples; want found once, 130 ms (%d)", c, d.delay, ms(130))
	}
	hist = hist[:0]
	if c := play(ms(40), 20, true); c < 1 || abs(d.delay-ms(40)) > ms(2) {
		t.Fatalf("noise 40 ms late after the tone: %d changes, delay now %d samples, want %d", c, d.delay, ms(40))
	}
}
