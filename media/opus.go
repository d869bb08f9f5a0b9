package media

/*
// Talk-back decodes Opus with the libopus that mediadevices' pkg/codec/opus
// already links statically for the encoder: its archive holds the decoder
// too. These three prototypes (from opus.h) are all this package needs, so
// it neither adds link flags nor a second copy of the library or its
// headers: the symbols resolve against that one archive at the final link.
typedef struct OpusDecoder OpusDecoder;
OpusDecoder *opus_decoder_create(int fs, int channels, int *error);
int opus_decode(OpusDecoder *st, const unsigned char *data, int len, short *pcm, int frame_size, int decode_fec);
void opus_decoder_destroy(OpusDecoder *st);
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	// Links libopus (encoder and decoder) into the binary.
	_ "github.com/pion/mediadevices/pkg/codec/opus"
)

// maxOpusFrame is the longest Opus packet: 120 ms at 48 kHz.
const maxOpusFrame = sampleRate * 120 / 1000

// opusDecoder decodes one call's Opus packets to 48 kHz mono. It is not safe
// for concurrent use.
type opusDecoder struct {
	d   *C.OpusDecoder
	pcm []int16
}

func newOpusDecoder() (*opusDecoder, error) {
	var e C.int
	d := C.opus_decoder_create(sampleRate, audioChannel, &e)
	if e != 0 || d == nil {
		return nil, fmt.Errorf("opus_decoder_create: error %d", int(e))
	}
	return &opusDecoder{d: d, pcm: make([]int16, maxOpusFrame)}, nil
}

var errOpus = errors.New("opus decode failed")

// decode returns the samples of one packet; the slice is reused by the next
// call. An empty packet asks the decoder to conceal one lost packet of
// lostSamples.
func (o *opusDecoder) decode(packet []byte, lostSamples int) ([]int16, error) {
	var data *C.uchar
	frame := maxOpusFrame
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	} else {
		frame = min(max(lostSamples, sampleRate/400), maxOpusFrame) // 2.5 ms steps
		frame -= frame % (sampleRate / 400)
	}
	n := C.opus_decode(o.d, data, C.int(len(packet)), (*C.short)(unsafe.Pointer(&o.pcm[0])), C.int(frame), 0)
	if n < 0 {
		return nil, fmt.Errorf("%w: error %d", errOpus, int(n))
	}
	return o.pcm[:n], nil
}

func (o *opusDecoder) close() {
	if o.d != nil {
		C.opus_decoder_destroy(o.d)
		o.d = nil
	}
}
