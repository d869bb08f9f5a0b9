package aec

/*
// speexdsp comes from Debian's libspeexdsp-dev. The Pi packages link its
// static library (build/dist.sh lists it in static_dev_packages: no
// libspeexdsp soname in their Depends); a build on the host links whatever
// pkg-config finds.
#cgo pkg-config: speexdsp
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

static int echo_set_rate(SpeexEchoState *st, int rate) {
	return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
}
static int pre_set_int(SpeexPreprocessState *st, int req, int v) {
	return speex_preprocess_ctl(st, req, &v);
}
static int pre_set_echo(SpeexPreprocessState *st, SpeexEchoState *echo) {
	return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// speexEcho is speexdsp's multidelay-block-frequency echo canceller.
type speexEcho struct{ st *C.SpeexEchoState }

func newSpeexEcho(frame, tail, rate int) (*speexEcho, error) {
	st := C.speex_echo_state_init(C.int(frame), C.int(tail))
	if st == nil {
		return nil, fmt.Errorf("speex_echo_state_init(%d, %d) failed", frame, tail)
	}
	if r := C.echo_set_rate(st, C.int(rate)); r != 0 {
		C.speex_echo_state_destroy(st)
		return nil, fmt.Errorf("speex echo: sampling rate %d refused (%d)", rate, int(r))
	}
	return &speexEcho{st: st}, nil
}

// cancel writes mic less the echo of ref into out; all three hold one frame.
func (e *speexEcho) cancel(mic, ref, out []int16) {
	C.speex_echo_cancellation(e.st, (*C.spx_int16_t)(unsafe.Pointer(&mic[0])),
		(*C.spx_int16_t)(unsafe.Pointer(&ref[0])), (*C.spx_int16_t)(unsafe.Pointer(&out[0])))
}

// reset forgets the learned echo path: after the delay moved, it is wrong.
func (e *speexEcho) reset() { C.speex_echo_state_reset(e.st) }

func (e *speexEcho) close() {
	if e.st != nil {
		C.speex_echo_state_destroy(e.st)
		e.st = nil
	}
}

// speexPre is speexdsp's preprocessor: noise suppression, gain control and,
// given the echo canceller's state, suppression of the echo it left.
type speexPre struct{ st *C.SpeexPreprocessState }

// preSettings are the preprocessor's knobs, in speexdsp's units.
type preSettings struct {
	denoise      bool
	noiseDB      int // noise attenuation, dB (negative)
	agc          bool
	agcLevel     float32 // target RMS-ish level, in samples
	agcMaxGainDB int
	echo         *speexEcho // nil: no residual echo suppression
	echoDB       int        // residual echo attenuation, dB (negative)
	echoActiveDB int        // the same while the visitor talks
}

func newSpeexPre(frame, rate int, s preSettings) (*speexPre, error) {
	st := C.speex_preprocess_state_init(C.int(frame), C.int(rate))
	if st == nil {
		return nil, fmt.Errorf("speex_preprocess_state_init(%d, %d) failed", frame, rate)
	}
	p := &speexPre{st: st}
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	sets := []struct {
		name string
		req  C.int
		v    int
	}{
		{"denoise", C.SPEEX_PREPROCESS_SET_DENOISE, b(s.denoise)},
		{"noise suppress", C.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, s.noiseDB},
		{"agc", C.SPEEX_PREPROCESS_SET_AGC, b(s.agc)},
		{"dereverb", C.SPEEX_PREPROCESS_SET_DEREVERB, 0},
	}
	if s.agc {
		sets = append(sets, struct {
			name string
			req  C.int
			v    int
		}{"agc max gain", C.SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, s.agcMaxGainDB})
	}
	for _, x := range sets {
		if r := C.pre_set_int(st, x.req, C.int(x.v)); r != 0 {
			p.close()
			return nil, fmt.Errorf("speex preprocessor: %s %d refused (%d)", x.name, x.v, int(r))
		}
	}
	if s.agc {
		lvl := C.float(s.agcLevel)
		if r := C.speex_preprocess_ctl(st, C.SPEEX_PREPROCESS_SET_AGC_LEVEL, unsafe.Pointer(&lvl)); r != 0 {
			p.close()
			return nil, fmt.Errorf("speex preprocessor: agc level %g refused (%d)", s.agcLevel, int(r))
		}
	}
	if s.echo != nil {
		for _, x := range []struct {
			name string
			req  C.int
			v    int
		}{
			{"echo suppress", C.SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, s.echoDB},
			{"echo suppress active", C.SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, s.echoActiveDB},
		} {
			if r := C.pre_set_int(st, x.req, C.int(x.v)); r != 0 {
				p.close()
				return nil, fmt.Errorf("speex preprocessor: %s %d refused (%d)", x.name, x.v, int(r))
			}
		}
		if r := C.pre_set_echo(st, s.echo.st); r != 0 {
			p.close()
			return nil, fmt.Errorf("speex preprocessor: echo state refused (%d)", int(r))
		}
	}
	return p, nil
}

// run processes one frame in place.
func (p *speexPre) run(frame []int16) {
	C.speex_preprocess_run(p.st, (*C.spx_int16_t)(unsafe.Pointer(&frame[0])))
}

func (p *speexPre) close() {
	if p.st != nil {
		C.speex_preprocess_state_destroy(p.st)
		p.st = nil
	}
}
