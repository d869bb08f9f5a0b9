// Package aec cleans the door's microphone of the door's own speaker before
// the visitor's voice is encoded: speexdsp's echo canceller and
// preprocessor (noise suppression, gain control, residual echo
// suppression) through a thin cgo binding, or a half-duplex ducker for
// doors whose hardware defeats the canceller.
//
// speexdsp rather than WebRTC's audio processing module: it is small (one
// C library, no C++ runtime), proven in VoIP phones for two decades,
// packaged by Debian for every architecture the Pi runs, and ships a static
// archive, so the Pi packages link it as they link the codecs.
package aec

import (
	"errors"
	"fmt"
	"time"
)

// Mode says how the door keeps its speaker out of its microphone.
type Mode int

const (
	// Off leaves the microphone as it is.
	Off Mode = iota
	// On cancels the echo adaptively: both sides can talk at once.
	On
	// HalfDuplex ducks the microphone while the resident talks.
	HalfDuplex
)

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case On:
		return "on"
	case HalfDuplex:
		return "half-duplex"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ErrMode is returned by ParseMode for an unknown mode.
var ErrMode = errors.New("unknown echo cancel mode")

// ParseMode reads a mode as the config writes it: on, off or half-duplex.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Off, On, HalfDuplex} {
		if s == m.String() {
			return m, nil
		}
	}
	return Off, fmt.Errorf("%w %q: want on, off or half-duplex", ErrMode, s)
}

// Config sets up a Processor.
type Config struct {
	Mode Mode
	// Denoise suppresses steady background noise (traffic, fans).
	Denoise bool
	// AGC evens out the visitor's level: a gentle gain control that
	// raises a quiet voice by at most MaxGainDB.
	AGC bool
	// Rate is the sample rate of the microphone and the speaker (48000
	// when 0).
	Rate int
	// CancelRate is the rate speexdsp's canceller and preprocessor run at
	// (16000 when 0): the microphone and the reference are resampled down
	// to it alike and the cleaned microphone back up to Rate. A voice
	// needs no more than 8 kHz of bandwidth, and the canceller costs about
	// a third of what it costs at 48 kHz: a Pi's core, and a VM without
	// KVM, keep up with it. Rate must be a whole multiple of it.
	CancelRate int
	// Tail is the longest echo the canceller follows: the speaker-to-mic
	// delay left after alignment plus the room's reverberation (250 ms when
	// 0).
	Tail time.Duration
}

// Frame is the duration of the frames Process takes.
const Frame = 20 * time.Millisecond

const (
	defaultRate       = 48000
	defaultCancelRate = 16000
	defaultTail       = 80 * time.Millisecond
	// maxDelayMS is the longest speaker-to-mic delay the processor finds.
	maxDelayMS = 300
	// delayMarginMS takes the reference this much earlier than the found
	// delay, so an estimate a little long still leaves the echo causal,
	// and later estimates a little shorter still fall in the filter.
	delayMarginMS = 10
	noiseDB       = -25 // noise attenuation of the preprocessor
	// The residual echo's attenuation, alone and while the visitor talks
	// (speexdsp's defaults): the second keeps the visitor's voice whole.
	echoDB, echoActiveDB = -40, -15
	// agcLevel is speexdsp's loudness target: a voice at -20 dBFS RMS
	// comes out about 2.3 dB louder at 16 kHz (measured by TestAGC).
	agcLevel = 24000
	// MaxGainDB is the most the gain control raises a quiet voice.
	MaxGainDB = 12
)

// Processor cleans a microphone frame by frame. It is not safe for
// concurrent use.
type Processor struct {
	cfg   Config
	frame int        // samples per frame at Rate
	work  int        // the same at CancelRate
	echo  *speexEcho // nil unless Mode is On
	pre   *speexPre  // nil when nothing needs it
	duck  *ducker    // nil unless Mode is HalfDuplex
	buf   []int16    // a reference frame assembled at the start
	out   []int16    // the canceller's output

	// With CancelRate below Rate: the microphone and the reference at
	// CancelRate, and the resamplers between (nil at the same rate).
	wmic, wref     []int16
	micDown, refDn *resampler
	up             *resampler

	// With Mode On: the speaker's recent samples, and how far back the
	// canceller's reference is taken from them.
	finder  *delayFinder
	line    []int16
	shift   int
	aligned bool // shift comes from an estimate (not the start's 0)
}

// New makes a processor.
func New(cfg Config) (*Processor, error) {
	if cfg.Rate == 0 {
		cfg.Rate = defaultRate
	}
	if cfg.Tail == 0 {
		cfg.Tail = defaultTail
	}
	if cfg.CancelRate == 0 {
		cfg.CancelRate = defaultCancelRate
		if cfg.Rate%defaultCancelRate != 0 {
			cfg.CancelRate = cfg.Rate
		}
	}
	switch {
	case cfg.Rate < 8000 || cfg.Rate > 48000 || cfg.Rate%100 != 0:
		return nil, fmt.Errorf("aec: sample rate %d: want 8000 to 48000, a multiple of 100", cfg.Rate)
	case cfg.CancelRate < 8000 || cfg.CancelRate%100 != 0 || cfg.Rate%cfg.CancelRate != 0:
		return nil, fmt.Errorf("aec: cancel rate %d: want 8000 or more, a multiple of 100 that divides %d", cfg.CancelRate, cfg.Rate)
	case cfg.Tail < Frame || cfg.Tail > time.Second:
		return nil, fmt.Errorf("aec: tail %v: want %v to 1s", cfg.Tail, Frame)
	case cfg.Mode < Off || cfg.Mode > HalfDuplex:
		return nil, fmt.Errorf("aec: %w %v", ErrMode, cfg.Mode)
	}
	perFrame := func(rate int) int { return rate * int(Frame/time.Millisecond) / 1000 }
	p := &Processor{cfg: cfg, frame: perFrame(cfg.Rate), work: perFrame(cfg.CancelRate)}
	p.buf, p.out = make([]int16, p.work), make([]int16, p.work)
	var err error
	switch cfg.Mode {
	case On:
		wr := cfg.CancelRate
		tail := wr * int(cfg.Tail/time.Millisecond) / 1000
		if p.echo, err = newSpeexEcho(p.work, tail, wr); err != nil {
			return nil, err
		}
		ms := func(d int) int { return wr * d / 1000 }
		p.finder = newDelayFinder(wr, ms(maxDelayMS), ms(300), ms(100))
		p.line = make([]int16, 0, 2*(ms(maxDelayMS)+p.work))
	case HalfDuplex:
		p.duck = newDucker(cfg.Rate)
	}
	if p.echo != nil || cfg.Denoise || cfg.AGC {
		// The preprocessor applies its residual echo suppression only with
		// its noise suppression on; without Denoise that runs with a floor
		// of 0 dB, which leaves the noise as it is.
		nd := 0
		if cfg.Denoise {
			nd = noiseDB
		}
		p.pre, err = newSpeexPre(p.work, cfg.CancelRate, preSettings{
			denoise: cfg.Denoise || p.echo != nil, noiseDB: nd,
			agc: cfg.AGC, agcLevel: agcLevel, agcMaxGainDB: MaxGainDB,
			echo: p.echo, echoDB: echoDB, echoActiveDB: echoActiveDB,
		})
		if err != nil {
			p.Close()
			return nil, err
		}
	}
	if p.pre != nil && p.work != p.frame {
		if err := p.resamplers(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// resamplers makes the resamplers between Rate and CancelRate.
func (p *Processor) resamplers() error {
	r, w := p.cfg.Rate, p.cfg.CancelRate
	p.wmic, p.wref = make([]int16, p.work), make([]int16, p.work)
	var err error
	if p.micDown, err = newResampler(r, w, p.frame, p.work); err != nil {
		return err
	}
	if p.up, err = newResampler(w, r, p.work, p.frame); err != nil {
		return err
	}
	if p.echo != nil {
		p.refDn, err = newResampler(r, w, p.frame, p.work)
	}
	return err
}

// FrameSize is the number of samples Process takes at a time.
func (p *Processor) FrameSize() int { return p.frame }

// Mode is the processor's mode.
func (p *Processor) Mode() Mode { return p.cfg.Mode }

// Process cleans one frame of the microphone in place. ref is what the
// speaker played over the same frame's time, aligned so that its echo
// reaches mic no earlier than ref itself (and within Tail). Both hold
// FrameSize samples.
func (p *Processor) Process(mic, ref []int16) error {
	if len(mic) != p.frame || len(ref) != p.frame {
		return fmt.Errorf("aec: frame of %d and %d samples, want %d", len(mic), len(ref), p.frame)
	}
	if p.duck != nil {
		p.duck.process(mic, ref)
	}
	if p.pre == nil {
		return nil
	}
	// From here on at CancelRate.
	out := mic
	if p.micDown != nil {
		if err := p.micDown.run(mic, p.wmic); err != nil {
			return fmt.Errorf("aec: microphone: %w", err)
		}
		mic = p.wmic
		if p.refDn != nil {
			if err := p.refDn.run(ref, p.wref); err != nil {
				return fmt.Errorf("aec: reference: %w", err)
			}
			ref = p.wref
		}
	}
	if p.echo != nil {
		if p.finder.add(mic, ref) {
			p.align(p.finder.delay)
		}
		if keep := cap(p.line) / 2; len(p.line)+len(ref) > cap(p.line) {
			p.line = append(p.line[:0], p.line[len(p.line)-keep:]...)
		}
		p.line = append(p.line, ref...)
		n := len(p.line)
		if n < p.work+p.shift { // the first frames: silence before
			clear(p.buf)
			copy(p.buf[p.work+p.shift-n:], p.line[:max(0, n-p.shift)])
			ref = p.buf
		} else {
			ref = p.line[n-p.work-p.shift : n-p.shift]
		}
		p.echo.cancel(mic, ref, p.out)
		copy(mic, p.out)
	}
	p.pre.run(mic)
	if p.up != nil {
		if err := p.up.run(mic, out); err != nil {
			return fmt.Errorf("aec: back to %d Hz: %w", p.cfg.Rate, err)
		}
	}
	return nil
}

// align takes the reference delay samples (at CancelRate) earlier, less
// the margin, and restarts the canceller: unless the filter already covers
// an echo delay samples late, in its first half (the second holds the
// room's reverberation). The finder's estimates of one path wobble by a
// few milliseconds (a voice's correlation peak is that wide); restarting on
// each undid the filter's learning every second. The first estimate always
// moves it: from the start's 0 a short echo is "covered" too, but with the
// room's reflections cut off at the end of the filter. It reports whether
// it moved.
func (p *Processor) align(delay int) bool {
	tail := p.cfg.CancelRate * int(p.cfg.Tail/time.Millisecond) / 1000
	if p.aligned && delay >= p.shift && delay <= p.shift+tail/2 {
		return false
	}
	p.aligned = true
	p.shift = max(0, delay-p.cfg.CancelRate*delayMarginMS/1000)
	p.echo.reset()
	return true
}

// Close frees the C state.
func (p *Processor) Close() {
	for _, r := range []*resampler{p.micDown, p.refDn, p.up} {
		if r != nil {
			r.close()
		}
	}
	if p.pre != nil {
		p.pre.close()
	}
	if p.echo != nil {
		p.echo.close()
	}
}
