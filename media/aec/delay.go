package aec

import "math"

// delayFinder estimates the bulk delay from the speaker to the microphone
// (the playback and capture buffers plus the air) by cross-correlating the
// two at 2 kHz, so the canceller's filter only has to follow the room's
// reverberation: a short filter converges in a fraction of the time a
// filter as long as the whole delay takes (speexdsp estimates no delay of
// its own).
type delayFinder struct {
	dec      int       // input samples per decimated sample
	maxLag   int       // decimated samples
	window   int       // decimated samples correlated per estimate
	every    int       // decimated samples between estimates
	settled  int       // the same once a delay is confirmed
	ref, mic []float64 // decimated, pre-emphasised histories
	accR     float64
	accM     float64
	accN     int
	prevR    float64
	prevM    float64
	since    int
	tries    int // estimates made
	last     int // lag of the previous estimate, -1 for none
	// Delay is the last estimate confirmed twice, in input samples; -1
	// until there is one.
	delay int
}

const (
	finderRate = 2000
	// minCorr is the normalised correlation a peak needs to count.
	minCorr = 0.3
	// settledEvery: once a delay is confirmed, or after eagerTries
	// estimates without one (a speaker the microphone does not hear), it
	// is checked this many times less often: the search is most of the
	// processor's CPU.
	settledEvery = 10
	eagerTries   = 20
)

func newDelayFinder(rate int, maxDelay, window, every int) *delayFinder {
	dec := rate / finderRate
	return &delayFinder{dec: dec, maxLag: maxDelay / dec, window: window / dec, every: every / dec,
		settled: settledEvery * every / dec, last: -1, delay: -1}
}

// add takes one frame of both signals; it returns true when the confirmed
// delay changed.
func (d *delayFinder) add(mic, ref []int16) bool {
	changed := false
	for i := range mic {
		d.accR += float64(ref[i])
		d.accM += float64(mic[i])
		d.accN++
		if d.accN < d.dec {
			continue
		}
		r, m := d.accR/float64(d.dec), d.accM/float64(d.dec)
		d.accR, d.accM, d.accN = 0, 0, 0
		// Pre-emphasis whitens speech a little: sharper peaks.
		d.ref = append(d.ref, r-0.9*d.prevR)
		d.mic = append(d.mic, m-0.9*d.prevM)
		d.prevR, d.prevM = r, m
		if keep := d.window + d.maxLag; len(d.ref) > 2*keep {
			d.ref = append(d.ref[:0], d.ref[len(d.ref)-keep:]...)
			d.mic = append(d.mic[:0], d.mic[len(d.mic)-keep:]...)
		}
		d.since++
		every := d.every
		if d.delay >= 0 || d.tries >= eagerTries {
			every = d.settled
		}
		if d.since >= every && len(d.ref) >= d.window+d.maxLag/4 {
			d.since = 0
			if d.estimate() {
				changed = true
			}
		}
	}
	return changed
}

// estimate correlates the last window of the microphone with the speaker
// up to maxLag earlier.
func (d *delayFinder) estimate() bool {
	d.tries++
	n := len(d.mic)
	mic := d.mic[n-d.window:]
	var em float64
	for _, s := range mic {
		em += s * s
	}
	best, bestC := -1, 0.0
	for lag := 0; lag <= min(d.maxLag, n-d.window); lag++ {
		ref := d.ref[n-d.window-lag : n-lag]
		var c, er float64
		for i, s := range ref {
			c += s * mic[i]
			er += s * s
		}
		if er == 0 || em == 0 {
			continue
		}
		if c /= math.Sqrt(er * em); c > bestC {
			best, bestC = lag, c
		}
	}
	if bestC < minCorr {
		return false
	}
	confirmed := d.last >= 0 && abs(best-d.last) <= 1
	d.last = best
	if !confirmed {
		return false
	}
	lag := best * d.dec
	if d.delay >= 0 && abs(lag-d.delay) <= 2*d.dec {
		return false
	}
	d.delay = lag
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
