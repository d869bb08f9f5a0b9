package aec

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// resampleQuality is speexdsp's quality for VoIP: a passband to about 90 %
// of the lower rate's Nyquist, far more than the canceller needs.
const resampleQuality = C.SPEEX_RESAMPLER_QUALITY_VOIP

// resampler is speexdsp's resampler for one mono stream. Two made alike
// delay their streams alike: the microphone and the speaker's reference go
// through one each, so the canceller sees them as aligned as they were.
type resampler struct {
	st      *C.SpeexResamplerState
	in, out int // samples per frame on each side
}

func newResampler(from, to, in, out int) (*resampler, error) {
	var e C.int
	st := C.speex_resampler_init(1, C.spx_uint32_t(from), C.spx_uint32_t(to), resampleQuality, &e)
	if st == nil || e != 0 {
		return nil, fmt.Errorf("speex_resampler_init(%d to %d Hz) failed (%d)", from, to, int(e))
	}
	return &resampler{st: st, in: in, out: out}, nil
}

// run resamples one frame of in into out. The rates are whole multiples of
// each other, so every frame maps onto exactly one frame.
func (r *resampler) run(in, out []int16) error {
	inLen, outLen := C.spx_uint32_t(r.in), C.spx_uint32_t(r.out)
	C.speex_resampler_process_int(r.st, 0, (*C.spx_int16_t)(unsafe.Pointer(&in[0])), &inLen,
		(*C.spx_int16_t)(unsafe.Pointer(&out[0])), &outLen)
	if int(inLen) != r.in || int(outLen) != r.out {
		return fmt.Errorf("resampler took %d of %d samples and gave %d of %d", inLen, r.in, outLen, r.out)
	}
	return nil
}

func (r *resampler) close() {
	if r.st != nil {
		C.speex_resampler_destroy(r.st)
		r.st = nil
	}
}
