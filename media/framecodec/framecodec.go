// Package framecodec is what the door's cgo encoders (media/vp8,
// media/openh264) share: a Reader in mediadevices' shape around an encoder
// of single 4:2:0 frames, and the check of a frame's shape.
package framecodec

import (
	"fmt"
	"image"
	"io"
	"sync"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
)

// Encoder compresses single 4:2:0 frames; media/vp8's and media/openh264's
// are.
type Encoder interface {
	SetBitrate(bps int) error
	Encode(img *image.YCbCr, key bool) (frame []byte, isKey bool, err error)
	Close() error
}

// CheckFrame says why img is not a w x h 4:2:0 frame whose planes hold
// what their strides say (name leads the error), or nil.
func CheckFrame(name string, img *image.YCbCr, w, h int) error {
	b := img.Rect
	if b.Dx() != w || b.Dy() != h || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("%s: frame %dx%d %v, want %dx%d 4:2:0", name, b.Dx(), b.Dy(), img.SubsampleRatio, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	if len(img.Y)-img.YOffset(b.Min.X, b.Min.Y) < (h-1)*img.YStride+w ||
		len(img.Cb)-img.COffset(b.Min.X, b.Min.Y) < (ch-1)*img.CStride+cw ||
		len(img.Cr)-img.COffset(b.Min.X, b.Min.Y) < (ch-1)*img.CStride+cw {
		return fmt.Errorf("%s: frame %dx%d: planes shorter than their strides say", name, w, h)
	}
	return nil
}

// reader is an Encoder in mediadevices' shape: each Read encodes the next
// frame of its source, and its Controller takes key frame requests and
// bitrate changes, as media's video pipe drives every encoder.
type reader struct {
	name string
	src  video.Reader

	mu      sync.Mutex // guards the fields below: requests may come from any goroutine
	enc     Encoder
	key     bool // a key frame is requested for the next frame
	bitrate int  // the target asked for, applied before the next frame
}

var (
	_ codec.ReadCloser         = (*reader)(nil)
	_ codec.KeyFrameController = (*reader)(nil)
	_ codec.BitRateController  = (*reader)(nil)
)

// NewReader returns a reader encoding with enc the frames r gives (any
// image, converted to 4:2:0; of enc's size), starting at bitrate; name
// leads its errors. Closing it closes enc.
func NewReader(name string, r video.Reader, enc Encoder, bitrate int) codec.ReadCloser {
	return &reader{name: name, src: video.ToI420(r), enc: enc, bitrate: bitrate}
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
		return nil, func() {}, fmt.Errorf("%s: frame is %T, want *image.YCbCr", r.name, img)
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
		return fmt.Errorf("%s: bitrate %d: want at least 1 kbit/s", r.name, bps)
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
