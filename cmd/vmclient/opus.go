package main

/*
#include <stdint.h>
typedef struct OpusDecoder OpusDecoder;
typedef struct OpusEncoder OpusEncoder;
OpusDecoder *opus_decoder_create(int32_t Fs, int channels, int *error);
int opus_decode(OpusDecoder *st, const unsigned char *data, int32_t len, int16_t *pcm, int frame_size, int decode_fec);
void opus_decoder_destroy(OpusDecoder *st);
OpusEncoder *opus_encoder_create(int32_t Fs, int channels, int application, int *error);
int32_t opus_encode(OpusEncoder *st, const int16_t *pcm, int frame_size, unsigned char *data, int32_t max_data_bytes);
void opus_encoder_destroy(OpusEncoder *st);
*/
import "C"

import (
	"fmt"
	"unsafe"

	// The door's Opus encoder: this links libopus statically, which also
	// gives the client its decoder without another library.
	_ "github.com/pion/mediadevices/pkg/codec/opus"
)

const (
	opusRate        = 48000
	opusFrame       = opusRate / 50 // 20 ms
	opusMaxFrame    = opusRate * 120 / 1000
	opusApplication = 2048 // OPUS_APPLICATION_VOIP
)

// opusDecoder decodes an Opus stream to mono 48 kHz samples.
type opusDecoder struct{ d *C.OpusDecoder }

func newOpusDecoder() (*opusDecoder, error) {
	var e C.int
	d := C.opus_decoder_create(opusRate, 1, &e)
	if d == nil || e != 0 {
		return nil, fmt.Errorf("opus: create decoder: error %d", int(e))
	}
	return &opusDecoder{d: d}, nil
}

// decode returns the samples of one packet.
func (o *opusDecoder) decode(packet []byte) ([]int16, error) {
	if len(packet) == 0 {
		return nil, nil
	}
	pcm := make([]int16, opusMaxFrame)
	n := C.opus_decode(o.d, (*C.uchar)(unsafe.Pointer(&packet[0])), C.int32_t(len(packet)),
		(*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), 0)
	if n < 0 {
		return nil, fmt.Errorf("opus: decode: error %d", int(n))
	}
	return pcm[:n], nil
}

func (o *opusDecoder) close() { C.opus_decoder_destroy(o.d) }

// opusEncoder encodes mono 48 kHz 20 ms frames.
type opusEncoder struct{ e *C.OpusEncoder }

func newOpusEncoder() (*opusEncoder, error) {
	var e C.int
	enc := C.opus_encoder_create(opusRate, 1, opusApplication, &e)
	if enc == nil || e != 0 {
		return nil, fmt.Errorf("opus: create encoder: error %d", int(e))
	}
	return &opusEncoder{e: enc}, nil
}

// encode encodes one frame of opusFrame samples.
func (o *opusEncoder) encode(pcm []int16) ([]byte, error) {
	if len(pcm) != opusFrame {
		return nil, fmt.Errorf("opus: encode %d samples, want %d", len(pcm), opusFrame)
	}
	out := make([]byte, 1500)
	n := C.opus_encode(o.e, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.int32_t(len(out)))
	if n < 0 {
		return nil, fmt.Errorf("opus: encode: error %d", int(n))
	}
	return out[:n], nil
}

func (o *opusEncoder) close() { C.opus_encoder_destroy(o.e) }
