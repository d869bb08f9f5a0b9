// Command encode times one of the door's video encoders (-codec h264:
// openh264 through media/openh264 with media/codec.go's settings; -codec vp8:
// libvpx through media/vp8, the door's, at -vp8-speed; -codec vp8-md: libvpx
// through mediadevices' binding, the door's VP8 before media/vp8) on frames
// of the test pattern, one at a time, and prints one JSON line. cmd/bench
// cross-compiles it for arm64 and armhf and runs it under qemu-user for the
// emulated ARM figures; -raw writes the same frames for ffmpeg. -in encodes
// other frames (raw yuv420p, say from ffmpeg) and -out keeps the stream, to
// measure quality against the source with ffmpeg's psnr and ssim filters.
//
//	encode -size 640x480 -frames 60
//	encode -size 640x480 -frames 177 -bitrate 1000000 -in natural.yuv -out o.h264 [-deblocking]
//	encode -codec vp8 -size 640x480 -frames 60
//	encode -codec vp8 -vp8-speed 6 -size 640x480 -frames 60
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
	"syscall"
	"time"

	"github.com/intercomd/intercomd/media/openh264"
	"github.com/intercomd/intercomd/media/vp8"
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
	// CPUMS is the process's CPU time (user and system, all threads) per
	// timed frame: on a loaded machine it strays less than wall time.
	CPUMS float64 `json:"cpu_ms"`
	// VP8Speed is -vp8-speed, with -codec vp8.
	VP8Speed int `json:"vp8_speed,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
}

func run() error {
	codecName := flag.String("codec", "h264", "h264, vp8 or vp8-md")
	flag.IntVar(&vp8Speed, "vp8-speed", vp8.DefaultSpeed, "libvpx realtime speed of -codec vp8 (cpu-used -`N`)")
	size := flag.String("size", "640x480", "frame `WxH`")
	n := flag.Int("frames", 60, "frames to time (after 3 not timed)")
	fps := flag.Int("fps", 30, "frame rate the encoder is told")
	raw := flag.String("raw", "", "only write the test pattern frames as raw yuv420p to `file`")
	bitrate := flag.Int("bitrate", 0, "target in `bit/s` (default: the door's default for the size)")
	in := flag.String("in", "", "encode raw yuv420p frames from `file` (of -size; looped) instead of the test pattern")
	out := flag.String("out", "", "write the encoded stream to `file` (-codec h264: Annex B)")
	flag.BoolVar(&deblocking, "deblocking", false, "-codec h264: with the deblocking filter (the door turns it off)")
	flag.Parse()
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil {
		return fmt.Errorf("-size %q: want WxH", *size)
	}
	const warm = 3
	var frames []*image.YCbCr
	var err error
	if *in != "" {
		frames, err = readRaw(*in, w, h, *n+warm)
	} else {
		frames, err = testPatternFrames(w, h, min(*n+warm, 90))
	}
	if err != nil {
		return err
	}
	if *raw != "" {
		return writeRaw(*raw, frames)
	}
	build, ok := map[string]func(video.Reader, int, int, int, int) (encoder, error){
		"h264": buildH264, "vp8": buildVP8, "vp8-md": buildVP8Mediadevices}[*codecName]
	if !ok {
		return fmt.Errorf("-codec %q: want h264, vp8 or vp8-md", *codecName)
	}
	if *bitrate == 0 {
		*bitrate = doorBitrate(w, h, *fps)
	}
	var current image.Image
	enc, err := build(video.ReaderFunc(func() (image.Image, func(), error) { return current, func() {}, nil }),
		w, h, *fps, *bitrate)
	if err != nil {
		return err
	}
	defer enc.Close()
	var stream *os.File
	if *out != "" {
		if stream, err = os.Create(*out); err != nil {
			return err
		}
		defer stream.Close()
	}
	var times []float64
	bytes := 0
	var cpu0 time.Duration
	for i := range *n + warm {
		if i == warm {
			cpu0 = cpuTime()
		}
		current = frames[i%len(frames)]
		t0 := time.Now()
		data, release, err := enc.Read()
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
		if stream != nil {
			if _, err := stream.Write(data); err != nil {
				return err
			}
		}
		if i >= warm {
			times = append(times, float64(d)/float64(time.Millisecond))
			bytes += len(data)
		}
		release()
	}
	cpu := cpuTime() - cpu0
	slices.Sort(times)
	sum := 0.0
	for _, t := range times {
		sum += t
	}
	arch := runtime.GOARCH
	if arch == "arm" {
		arch = "armhf (GOARM=7)"
	}
	res := result{
		Arch: arch, Codec: *codecName, Size: *size, Frames: len(times),
		MedianMS: times[len(times)/2], P90MS: times[(len(times)*9+9)/10-1], MeanMS: sum / float64(len(times)),
		BytesPerFrame: bytes / len(times),
		CPUMS:         float64(cpu) / float64(time.Millisecond) / float64(len(times)),
	}
	if *codecName == "vp8" {
		res.VP8Speed = vp8Speed
	}
	if stream != nil {
		if err := stream.Close(); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// encoder is what both codecs' builders give.
type encoder interface {
	Read() ([]byte, func(), error)
	Close() error
}

// buildH264 is media/codec.go's encoder: the same parameters (media keeps
// its builder private; keep the two in step).
func buildH264(r video.Reader, width, height, fps, bitrate int) (encoder, error) {
	return openh264.NewReader(r, openh264.Config{Width: width, Height: height, FPS: fps, Bitrate: bitrate, KeyFrameInterval: 3 * fps, NoDeblocking: !deblocking})
}

// deblocking is -deblocking.
var deblocking bool

// vp8Speed is -vp8-speed.
var vp8Speed int

// buildVP8 is media/codec_vp8.go's encoder, the same parameters, at
// vp8Speed.
func buildVP8(r video.Reader, width, height, fps, bitrate int) (encoder, error) {
	return vp8.NewReader(r, vp8.Config{Width: width, Height: height, FPS: fps, Bitrate: bitrate, Speed: vp8Speed})
}

// buildVP8Mediadevices is the door's VP8 before media/vp8: mediadevices'
// binding, which sets no speed (libvpx then runs at cpu-used 0).
func buildVP8Mediadevices(r video.Reader, width, height, fps, bitrate int) (encoder, error) {
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
