// Package aectest is the hardware edge of the echo tests: a synthetic
// voice, a room that carries the door's speaker into its microphone, and
// the measures (echo return loss enhancement, energy) the tests and make
// bench report.
package aectest

import (
	"math"
	"math/rand/v2"
	"time"
)

// Voice returns n samples at rate of a synthetic talker, a small formant
// synthesiser: syllables of a glottal pulse train at a gliding pitch around
// f0 through the resonances of a vowel, some opened by a hissed consonant,
// separated by pauses, at about -20 dBFS RMS while talking. seed picks the
// talker's syllables.
func Voice(seed uint64, f0 float64, rate, n int) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float64, n)
	vowels := [][4]float64{{730, 1090, 2440, 3400}, {270, 2290, 3010, 3700}, {530, 1840, 2480, 3500},
		{570, 840, 2410, 3300}, {300, 870, 2240, 3300}, {660, 1720, 2410, 3500}}
	fs := float64(rate)
	var glottal float64
	// A voice's pitch wobbles from one period to the next (jitter) and air
	// hisses through the glottis (breath): both spread its harmonics.
	const jitter, breath = 0.01, 0.05
	for i := 0; i < n; {
		if rng.IntN(3) == 0 { // a consonant: hiss around 4 to 6 kHz
			hiss := newResonator(4000+2000*rng.Float64(), 1500, fs)
			m := int((0.04 + 0.04*rng.Float64()) * fs)
			prev := 0.0
			for j := 0; j < m && i < n; j, i = j+1, i+1 {
				w := rng.NormFloat64()
				out[i] = 0.4 * math.Sin(math.Pi*float64(j)/float64(m)) * hiss.step(w-prev)
				prev = w
			}
		}
		syl := int((0.12 + 0.18*rng.Float64()) * fs)
		v := vowels[rng.IntN(len(vowels))]
		var tract []*resonator
		for k, f := range v {
			tract = append(tract, newResonator(f*(0.95+0.1*rng.Float64()), 60+30*float64(k), fs))
		}
		pitch := f0 * (0.85 + 0.3*rng.Float64())
		glide := (rng.Float64() - 0.5) * 0.3 * pitch
		next := 0.0 // samples to the next glottal pulse
		for j := 0; j < syl && i < n; j, i = j+1, i+1 {
			x := float64(j) / float64(syl)
			pulse := 0.0
			if next <= 0 {
				pulse = 1
				next += fs / (pitch + glide*x) * (1 + jitter*rng.NormFloat64())
			}
			next--
			// The glottal pulse's tilt, then breath, then the vowel's
			// resonances in cascade.
			glottal = 0.9*glottal + pulse
			s := glottal + breath*rng.NormFloat64()
			for _, r := range tract {
				s = r.step(s)
			}
			out[i] = math.Sin(math.Pi*x) * s
		}
		i += int((0.04 + 0.2*rng.Float64()) * fs)
	}
	// Scale to -20 dBFS RMS over the talking samples.
	var e float64
	var talking int
	for _, s := range out {
		if s != 0 {
			e += s * s
			talking++
		}
	}
	scale := 0.0
	if e > 0 {
		scale = 0.1 * 32768 / math.Sqrt(e/float64(talking))
	}
	pcm := make([]int16, n)
	for i, s := range out {
		pcm[i] = clip(s * scale)
	}
	return pcm
}

// resonator is a formant: a two-pole filter at f with bandwidth bw, unit
// gain at 0 Hz (Klatt's).
type resonator struct{ a, b, c, y1, y2 float64 }

func newResonator(f, bw, fs float64) *resonator {
	c := -math.Exp(-2 * math.Pi * bw / fs)
	b := 2 * math.Exp(-math.Pi*bw/fs) * math.Cos(2*math.Pi*f/fs)
	return &resonator{a: 1 - b - c, b: b, c: c}
}

func (r *resonator) step(x float64) float64 {
	y := r.a*x + r.b*r.y1 + r.c*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}

// Room is the acoustic path from the door's speaker to its microphone.
type Room struct {
	taps []tap
	// Len is the path's length in samples: its delay plus its reverberation.
	Len int
}

type tap struct {
	at   int
	gain float64
}

// NewRoom makes a room whose echo starts delay after the speaker plays it
// (the playback and capture buffers plus the air) with a direct path of
// gain, followed by reflections that decay over about 80 ms and carry a
// quarter of its energy (a door's speaker and microphone sit a few
// centimetres apart: the direct path dominates).
func NewRoom(seed uint64, rate int, delay time.Duration, gain float64) *Room {
	rng := rand.New(rand.NewPCG(seed, 0x700f))
	d := int(delay.Seconds() * float64(rate))
	r := &Room{taps: []tap{{d, gain}}}
	const taps, decay = 300, 0.020 // seconds to fall by 1/e
	reverb := rate * 80 / 1000
	// Each tap's mean square is gain²·c²·e^(-2t/decay); over taps spread
	// evenly on reverb that sums to gain²/4 with c below.
	mean := (1 - math.Exp(-2*0.080/decay)) * decay / (2 * 0.080)
	c := math.Sqrt(0.25 / (taps * mean))
	for range taps {
		t := 1 + rng.IntN(reverb)
		g := gain * c * math.Exp(-float64(t)/(float64(rate)*decay)) * rng.NormFloat64()
		r.taps = append(r.taps, tap{d + t, g})
	}
	r.Len = d + reverb + 1
	return r
}

// Echo is what the microphone hears of speaker.
func (r *Room) Echo(speaker []int16) []float64 {
	out := make([]float64, len(speaker))
	for _, t := range r.taps {
		for i := t.at; i < len(out); i++ {
			out[i] += t.gain * float64(speaker[i-t.at])
		}
	}
	return out
}

// EchoAt is what the microphone hears of the speaker at sample i, given
// everything the speaker played up to then: for a speaker fed as it plays.
func (r *Room) EchoAt(played []int16, i int) float64 {
	var s float64
	for _, t := range r.taps {
		if j := i - t.at; j >= 0 && j < len(played) {
			s += t.gain * float64(played[j])
		}
	}
	return s
}

// Mic is the microphone's signal: the sum of its parts, clipped to 16 bit.
func Mic(parts ...[]float64) []int16 {
	out := make([]int16, len(parts[0]))
	for i := range out {
		s := 0.0
		for _, p := range parts {
			s += p[i]
		}
		out[i] = clip(s)
	}
	return out
}

// Float is pcm as float64 samples.
func Float(pcm []int16) []float64 {
	out := make([]float64, len(pcm))
	for i, s := range pcm {
		out[i] = float64(s)
	}
	return out
}

// Noise is n samples of white background noise at rms.
func Noise(seed uint64, n int, rms float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0xa015e))
	out := make([]float64, n)
	for i := range out {
		out[i] = rms * rng.NormFloat64()
	}
	return out
}

// Energy is the mean square of x.
func Energy[T int16 | float64](x []T) float64 {
	if len(x) == 0 {
		return 0
	}
	var e float64
	for _, s := range x {
		e += float64(s) * float64(s)
	}
	return e / float64(len(x))
}

// DB is 10·log10(a/b), the ratio of two energies in decibels.
func DB(a, b float64) float64 {
	return 10 * math.Log10(a/b)
}

func clip(s float64) int16 {
	return int16(min(max(math.Round(s), -32768), 32767))
}

// ERLE is the echo return loss enhancement of each window of out: how far
// below the echo the microphone heard (echo alone, without the visitor or
// noise) the cleaned signal is, in dB.
func ERLE(echo []float64, out []int16, window int) []float64 {
	var r []float64
	for i := 0; i+window <= len(out) && i+window <= len(echo); i += window {
		r = append(r, DB(Energy(echo[i:i+window]), Energy(out[i:i+window])+1e-9))
	}
	return r
}
