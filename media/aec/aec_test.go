package aec

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/sound"
	"github.com/intercomd/intercomd/media/aec/aectest"
)

const rate = 48000

// process runs mic through p frame by frame, with ref as the speaker.
func process(t testing.TB, p *Processor, mic, ref []int16) []int16 {
	out := slices.Clone(mic)
	n := p.FrameSize()
	for i := 0; i+n <= len(out); i += n {
		if err := p.Process(out[i:i+n], ref[i:i+n]); err != nil {
			t.Fatal(err)
		}
	}
	return out[:len(out)/n*n]
}

func newProcessor(t *testing.T, cfg Config) *Processor {
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// at is a sample index.
func at(d time.Duration) int { return int(d.Seconds() * rate) }

// scene is the door during a call: the resident talks alone for the first
// four seconds, then the visitor talks too.
type scene struct {
	ref, mic []int16
	echo     []float64 // what the mic hears of the speaker
	visitor  []float64 // what the mic hears of the visitor
}

func newScene(delay time.Duration) scene {
	n := at(7 * time.Second)
	resident := aectest.Voice(1, 190, rate, n)
	visitor := aectest.Float(aectest.Voice(2, 115, rate, n))
	clear(visitor[:at(4*time.Second)])
	echo := aectest.NewRoom(3, rate, delay, 0.7).Echo(resident)
	noise := aectest.Noise(4, n, 30) // about -60 dBFS
	return scene{ref: resident, mic: aectest.Mic(echo, visitor, noise), echo: echo, visitor: visitor}
}

// TestCancel: through a simulated echo path of 20 to 150 ms and a room, the
// canceller takes at least 25 dB of echo out within two seconds, and the
// visitor's voice keeps its energy within 3 dB while both talk.
// Without Denoise the residual echo suppression still works.
func TestCancel(t *testing.T) {
	for _, c := range []struct {
		delay   time.Duration
		denoise bool
		cancel  int // CancelRate: 0 for the default (16 kHz)
	}{
		{20 * time.Millisecond, true, 0}, {80 * time.Millisecond, true, 0}, {150 * time.Millisecond, true, 0},
		{80 * time.Millisecond, false, 0}, {80 * time.Millisecond, true, rate},
	} {
		t.Run(fmt.Sprintf("%v,denoise=%v,rate=%d", c.delay, c.denoise, c.cancel), func(t *testing.T) {
			s := newScene(c.delay)
			p := newProcessor(t, Config{Mode: On, Denoise: c.denoise, CancelRate: c.cancel})
			out := process(t, p, s.mic, s.ref)
			conv, talk := at(2*time.Second), at(4*time.Second)
			erle := aectest.DB(aectest.Energy(s.echo[conv:talk]), aectest.Energy(out[conv:talk]))
			t.Logf("ERLE after 2 s: %.1f dB; per 0.5 s: %.1f", erle, aectest.ERLE(s.echo, out, at(500*time.Millisecond)))
			if erle < 25 {
				t.Errorf("ERLE from 2 s to 4 s = %.1f dB, want >= 25", erle)
			}
			// Double talk: leave the visitor's first half second to the
			// canceller's double-talk detection.
			dt := talk + at(500*time.Millisecond)
			kept := aectest.DB(aectest.Energy(out[dt:]), aectest.Energy(s.visitor[dt:len(out)]))
			t.Logf("double talk: output %.1f dB against the visitor alone", kept)
			if kept < -3 || kept > 3 {
				t.Errorf("double talk: output energy %.1f dB from the visitor's, want within 3 dB", kept)
			}
		})
	}
}

// TestHalfDuplex: the microphone is ducked while the resident talks and for
// the echo's longest delay after, and left alone otherwise.
func TestHalfDuplex(t *testing.T) {
	s := newScene(150 * time.Millisecond)
	p := newProcessor(t, Config{Mode: HalfDuplex})
	out := process(t, p, s.mic, s.ref)
	talk := at(4 * time.Second)
	if d := aectest.DB(aectest.Energy(s.echo[:talk]), aectest.Energy(out[:talk])); d < 25 {
		t.Errorf("half-duplex: echo only %.1f dB down while the resident talks, want >= 25", d)
	}
	// The visitor alone: the same scene without the resident.
	quiet := make([]int16, len(s.ref))
	visitor := aectest.Mic(s.visitor)
	p2 := newProcessor(t, Config{Mode: HalfDuplex})
	out = process(t, p2, slices.Clone(visitor), quiet)
	if d := aectest.DB(aectest.Energy(out), aectest.Energy(visitor[:len(out)])); d < -0.5 || d > 0.5 {
		t.Errorf("half-duplex, visitor alone: output %.1f dB from the input, want within 0.5 dB", d)
	}
}

// TestOff: Off changes nothing.
func TestOff(t *testing.T) {
	s := newScene(20 * time.Millisecond)
	p := newProcessor(t, Config{Mode: Off})
	out := process(t, p, slices.Clone(s.mic), s.ref)
	if !slices.Equal(out, s.mic[:len(out)]) {
		t.Error("mode off changed the microphone's samples")
	}
}

// TestAGC: a quiet visitor is raised, by no more than MaxGainDB; a voice
// at a normal level is left within a few dB.
func TestAGC(t *testing.T) {
	n := at(6 * time.Second)
	for _, c := range []struct {
		scale    float64
		min, max float64
	}{{0.1, 3, MaxGainDB + 1}, {1, -6, 3}} {
		voice := aectest.Float(aectest.Voice(2, 115, rate, n))
		for i := range voice {
			voice[i] *= c.scale // -40 or -20 dBFS while talking
		}
		mic := aectest.Mic(voice, aectest.Noise(4, n, 3))
		p := newProcessor(t, Config{Mode: Off, AGC: true})
		out := process(t, p, slices.Clone(mic), make([]int16, n))
		late := at(3 * time.Second)
		gain := aectest.DB(aectest.Energy(out[late:]), aectest.Energy(mic[late:len(out)]))
		t.Logf("AGC on a voice at %.0f dBFS: %.1f dB", -20+20*math.Log10(c.scale), gain)
		if gain < c.min || gain > c.max {
			t.Errorf("AGC changed a voice scaled by %g by %.1f dB, want %g to %g", c.scale, gain, c.min, c.max)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Mode
		err  bool
	}{{"on", On, false}, {"off", Off, false}, {"half-duplex", HalfDuplex, false}, {"yes", Off, true}, {"", Off, true}} {
		m, err := ParseMode(c.in)
		if m != c.want || (err != nil) != c.err {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, error %v", c.in, m, err, c.want, c.err)
		}
		if err == nil && m.String() != c.in {
			t.Errorf("%v.String() = %q, want %q", m, m.String(), c.in)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, cfg := range []Config{{Rate: 44100 + 1}, {Tail: time.Millisecond}, {Tail: 2 * time.Second}, {Mode: Mode(7)},
		{CancelRate: 7000}, {CancelRate: 32000}, {Rate: 16000, CancelRate: 48000}} {
		if p, err := New(cfg); err == nil {
			p.Close()
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
	p := newProcessor(t, Config{Mode: On})
	if err := p.Process(make([]int16, 10), make([]int16, 10)); err == nil {
		t.Error("Process of a short frame: nil error, want one")
	}
}

// TestCancelTones: the VM test's scene (build/vmtest, cmd/vmclient): the
// resident's voice a steady 600 Hz tone, its echo as loud as played after
// a bulk delay, the visitor a steady 1 kHz tone from 4 s on. A pure tone
// makes the delay finder's correlation periodic; whichever period it
// picks, the canceller must take the tone out, and leave the visitor.
// (With the visitor talking from the first moment and noise suppression
// off, speexdsp never learns the path alone and takes out only 24 dB: a
// conversation starts with one voice.)
func TestCancelTones(t *testing.T) {
	n := at(8 * time.Second)
	resident, visitor := sound.Sine{Freq: 600, Amp: 8000}, sound.Sine{Freq: 1000, Amp: 8000}
	ref, mic := make([]int16, n), make([]int16, n)
	delay := at(130 * time.Millisecond)
	for i := range ref {
		ref[i] = resident.Next()
		if i >= at(4*time.Second) {
			mic[i] = visitor.Next()
		}
		if i >= delay {
			mic[i] += ref[i-delay]
		}
	}
	p := newProcessor(t, Config{Mode: On})
	out := process(t, p, mic, ref)
	late := out[at(5*time.Second):]
	in, _ := sound.TonePowers(mic[at(5*time.Second):len(out)], 600, 1000)
	got, _ := sound.TonePowers(late, 600, 1000)
	db := func(a, b float64) float64 { return 10 * math.Log10(a/b) }
	taken, kept := db(in[0], got[0]), db(got[1], in[1])
	t.Logf("600 Hz echo %.1f dB down, 1 kHz visitor %.1f dB", taken, kept)
	if taken < 25 {
		t.Errorf("the echo of a steady tone is %.1f dB down, want >= 25", taken)
	}
	if kept < -3 || kept > 3 {
		t.Errorf("the visitor's steady tone changed by %.1f dB, want within 3", kept)
	}
}

// TestAlignShortEcho: the first estimate moves the reference even when a
// filter starting at 0 would hold the echo: a 20 ms echo left there lost
// the room's last 20 ms of reflections (ERLE 26.6 dB instead of 48.6 in
// cmd/bench/echo).
func TestAlignShortEcho(t *testing.T) {
	s := newScene(20 * time.Millisecond)
	p := newProcessor(t, Config{Mode: On})
	learnt := at(3 * time.Second)
	process(t, p, s.mic[:learnt], s.ref[:learnt])
	ms := func(d int) int { return p.cfg.CancelRate * d / 1000 }
	if want := ms(20 - delayMarginMS); p.shift < want-ms(2) || p.shift > want+ms(2) {
		t.Fatalf("after 3 s of a 20 ms echo the reference is taken %d samples earlier, want about %d", p.shift, want)
	}
}

// TestAlign: an estimate the filter already covers (a few milliseconds
// off, as the finder's estimates of one path wobble) leaves the canceller
// as it learnt, taking the echo out on; one the filter does not cover moves
// the reference.
func TestAlign(t *testing.T) {
	s := newScene(80 * time.Millisecond)
	p := newProcessor(t, Config{Mode: On})
	learnt, more := at(3*time.Second), at(3500*time.Millisecond)
	process(t, p, s.mic[:learnt], s.ref[:learnt])
	ms := func(d int) int { return p.cfg.CancelRate * d / 1000 }
	shift := p.shift
	if want := ms(80 - delayMarginMS); shift < want-ms(2) || shift > want+ms(2) {
		t.Fatalf("after 3 s of an 80 ms echo the reference is taken %d samples earlier, want about %d", shift, want)
	}
	for _, d := range []int{shift, shift + ms(3), shift + ms(30)} {
		if p.align(d) || p.shift != shift {
			t.Errorf("align(%d) with the reference %d earlier moved it to %d: the filter covers that delay", d, shift, p.shift)
		}
	}
	// A restart would leave the echo a few dB down for a second.
	out := process(t, p, slices.Clone(s.mic[learnt:more]), s.ref[learnt:more])
	if erle := aectest.DB(aectest.Energy(s.echo[learnt:learnt+len(out)]), aectest.Energy(out)); erle < 25 {
		t.Errorf("after estimates the filter covers, ERLE %.1f dB, want >= 25 (the canceller kept)", erle)
	}
	for _, d := range []int{shift - ms(1), shift + ms(60)} {
		p.shift = shift
		if !p.align(d) || p.shift != d-ms(delayMarginMS) {
			t.Errorf("align(%d) with the reference %d earlier left it at %d, want %d", d, shift, p.shift, d-ms(delayMarginMS))
		}
	}
}
