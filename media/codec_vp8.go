package media

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"
)

// vp8 is libvpx (linked statically in the Pi packages, build/dist.sh): the
// fallback for browsers without H.264, such as a Firefox that has not
// fetched the OpenH264 plugin. It costs several times H.264's CPU on the
// door (docs/BENCHMARKS.md), so it is only used when the browser offers no
// H.264.
var moreVideoCodecs = []videoCodec{vp8}

var vp8 = videoCodec{
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
	p, err := vpx.NewVP8Params()
	if err != nil {
		return nil, err
	}
	p.BitRate = bitrate
	p.KeyFrameInterval = 3 * fps
	p.RateControlEndUsage = vpx.RateControlCBR
	return p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{
		Width: width, Height: height, FrameRate: float32(fps),
	}})
}
