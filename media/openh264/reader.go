package openh264

import (
	"github.com/intercomd/intercomd/media/framecodec"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
)

// NewReader returns an encoder of the frames r gives (any image, converted
// to 4:2:0; of c's size) in mediadevices' shape, as media's video pipe
// drives every encoder.
func NewReader(r video.Reader, c Config) (codec.ReadCloser, error) {
	enc, err := NewEncoder(c)
	if err != nil {
		return nil, err
	}
	return framecodec.NewReader("openh264", r, enc, c.Bitrate), nil
}
