package vp8

import (
	"fmt"
	"image"
	"io"
	"sync"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
)

// reader is an Encoder in mediadevices' shape: each Read encodes the next
// frame of its source, and its Controller takes key frame requests and
// bitrate changes, as media's video pipe drives every encoder.
type reader struct {
	src video.Reader

	mu      sync.Mutex // guards the fields below: requests may come from any goroutine
	enc     *Encoder
	key     bool // a key frame is requested for the next frame
	bitrate int  // the target asked for, applied before the next frame
}

var (
	_ codec.ReadCloser         = (*reader)(nil)
	_ codec.KeyFrameController = (*reader)(nil)
	_ codec.BitRateController  = (*reader)(nil)
)

// NewReader returns an encoder of the frames r gives (any image, converted
// to 4:2:0; of c's size).
func NewReader(r video.Reader, c Config) (codec.ReadCloser, error) {
	enc, err := NewEncoder(c)
	if err != nil {
		return nil, err
	}
	return &reader{src: video.ToI420(r), enc: enc, bitrate: c.Bitrate}, nil
}

// Read encodes the next frame.
func (r *reader) Read() ([]byte, func(), error) {
	img, release, err := r.src.Read()
	if err != nil {
		return nil, func() {}, err
	}
	defer release()
	yuv, ok := img.(*image.YCbCr)
	if !ok {
		return nil, func() {}, fmt.Errorf("vp8: frame is %T, want *image.YCbCr", img)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enc == nil {
		return nil, func() {}, io.EOF
	}
	if err := r.enc.SetBitrate(r.bitrate); err != nil {
		return nil, func() {}, err
	}
	data, _, err := r.enc.Encode(yuv, r.key)
	if err != nil {
		return nil, func() {}, err
	}
	r.key = false
	return data, func() {}, nil
}

// Controller gives the key frame and bitrate controls.
func (r *reader) Controller() codec.EncoderController { return r }

// ForceKeyFrame makes the next frame a key frame.
func (r *reader) ForceKeyFrame() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.key = true
	return nil
}

// SetBitRate sets the target (bits per second) from the next frame on.
func (r *reader) SetBitRate(bps int) error {
	if bps < 1000 {
		return fmt.Errorf("vp8: bitrate %d: want at least 1 kbit/s", bps)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bitrate = bps
	return nil
}

// Close frees the encoder; Read then returns io.EOF.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enc == nil {
		return nil
	}
	err := r.enc.Close()
	r.enc = nil
	return err
}
