package media

import (
	"fmt"

	"github.com/intercomd/intercomd/media/vp8"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/webrtc/v4"
)

// vp8Codec is libvpx (linked statically in the Pi packages, build/dist.sh)
// through our own binding (media/vp8), which runs it at a fixed realtime
// speed: the fallback for browsers without H.264, such as a Firefox that
// has not fetched the OpenH264 plugin. It still costs more CPU than H.264
// on the door (docs/BENCHMARKS.md), so it is only used when the browser
// offers no H.264.
var moreVideoCodecs = []videoCodec{vp8Codec}

var vp8Codec = videoCodec{
	name: "VP8",
	capability: webrtc.RTPCodecCapability{
		MimeType:     webrtc.MimeTypeVP8,
		ClockRate:    90000,
		RTCPFeedback: videoFeedback,
	},
	build: buildVP8,
}

func buildVP8(r video.Reader, width, height, fps, bitrate int) (codec.ReadCloser, error) {
	if fps <= 0 || bitrate <= 0 {
		return nil, fmt.Errorf("vp8: frame rate %d and bitrate %d must be set", fps, bitrate)
	}
	// As H.264: no key frames of the encoder's own (the pipe forces them
	// by the clock and on PLI), no skipped frames, constant bitrate.
	return vp8.NewReader(r, vp8.Config{Width: width, Height: height, FPS: fps, Bitrate: bitrate})
}
