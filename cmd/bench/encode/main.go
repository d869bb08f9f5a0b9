// Command encode times one of the door's video encoders (-codec h264:
// openh264 through mediadevices with media/codec.go's settings; -codec vp8:
// libvpx with media/codec_vp8.go's) on frames of the test pattern, one at
// a time, and prints one JSON line. cmd/bench
// cross-compiles it for arm64 and armhf and runs it under qemu-user for the
// emulated ARM figures; -raw writes the same frames for ffmpeg.
//
//	encode -size 640x480 -frames 60
//	encode -codec vp8 -size 640x480 -frames 60
//	encode -size 1280x720 -frames 90 -raw frames.yuv   # only write the frames
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// result is encode's output.
type result struct {
	Arch          string  `json:"arch"`
	Codec         string  `json:"codec"`
	Size          string  `json:"size"`
	Frames        int     `json:"frames"`
	MedianMS      float64 `json:"median_ms"`
	P90MS         float64 `json:"p90_ms"`
	MeanMS        float64 `json:"mean_ms"`
	BytesPerFrame int     `json:"bytes_per_frame"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
}

func run() error {
	codecName := flag.String("codec", "h264", "h264 or vp8")
	size := flag.String("size", "640x480", "frame `WxH`")
	n := flag.Int("frames", 60, "frames to time (after 3 not timed)")
	fps := flag.Int("fps", 30, "frame rate the encoder is told")
	raw := flag.String("raw", "", "only write the test pattern frames as raw yuv420p to `file`")
	flag.Parse()
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil {
		return fmt.Errorf("-size %q: want WxH", *size)
	}
	const warm = 3
	frames, err := testPatternFrames(w, h, min(*n+warm, 90))
	if err != nil {
		return err
	}
	if *raw != "" {
		return writeRaw(*raw, frames)
	}
	build, ok := map[string]func(video.Reader, int, int, int, int) (encoder, error){"h264": buildH264, "vp8": buildVP8}[*codecName]
	if !ok {
		return fmt.Errorf("-codec %q: want h264 or vp8", *codecName)
	}
	var current image.Image
	enc, err := build(video.ReaderFunc(func() (image.Image, func(), error) { return current, func() {}, nil }),
		w, h, *fps, doorBitrate(w, h, *fps))
	if err != nil {
		return err
	}
	defer enc.Close()
	var times []float64
	bytes := 0
	for i := range *n + warm {
		current = frames[i%len(frames)]
		t0 := time.Now()
		data, release, err := enc.Read()
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
		if i >= warm {
			times = append(times, float64(d)/float64(time.Millisecond))
			bytes += len(data)
		}
		release()
	}
	slices.Sort(times)
	sum := 0.0
	for _, t := range times {
		sum += t
	}
	arch := runtime.GOARCH
	if arch == "arm" {
		arch = "armhf (GOARM=7)"
	}
	return json.NewEncoder(os.Stdout).Encode(result{
		Arch: arch, Codec: *codecName, Size: *size, Frames: len(times),
		MedianMS: times[len(times)/2], P90MS: times[(len(times)*9+9)/10-1], MeanMS: sum / float64(len(times)),
		BytesPerFrame: bytes / len(times),
	})
}

// encoder is what both codecs' builders give.
type encoder interface {
	Read() ([]byte, func(), error)
	Close() error
}

// buildH264 is media/codec.go's encoder: the same parameters (media keeps
// its builder private; keep the two in step).
func buildH264(r video.Reader, width, height, fps, bitrate int) (encoder, error) {
	p, err := openh264.NewParams()
	if err != nil {
		return nil, err
	}
	p.BitRate = bitrate
	p.EnableFrameSkip = false
	p.IntraPeriod = uint(3 * fps)
	p.UsageType = openh264.CameraVideoRealTime
	p.RCMode = openh264.RCBitrateMode
	return p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: width, Height: height, FrameRate: float32(fps)}})
}

// buildVP8 is media/codec_vp8.go's encoder, the same parameters.
func buildVP8(r video.Reader, width, height, fps, bitrate int) (encoder, error) {
	p, err := vpx.NewVP8Params()
	if err != nil {
		return nil, err
	}
	p.BitRate = bitrate
	p.KeyFrameInterval = 3 * fps
	p.RateControlEndUsage = vpx.RateControlCBR
	return p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: width, Height: height, FrameRate: float32(fps)}})
}

// doorBitrate is media's default: 1 Mbit/s at 640x480@30, scaled by pixels
// per second.
func doorBitrate(w, h, fps int) int {
	return min(max(1_000_000*w*h/(640*480)*fps/30, 150_000), 6_000_000)
}
