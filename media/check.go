package media

import (
	"fmt"
	"image"
	"math"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/wave"
)

// CodecTiming is one encoder's cost in CheckCodecs.
type CodecTiming struct {
	// Codec is "H264", "VP8" or "Opus".
	Codec string
	// Frames were encoded and timed (20 ms chunks for Opus); the first,
	// which sets the encoder up, is not among them.
	Frames int
	// Bytes is what the timed frames came to.
	Bytes int
	// PerFrame is the mean wall time per frame.
	PerFrame time.Duration
}

// CheckCodecs encodes frames synthetic frames at width x height with every
// video encoder of this build, set up as a call sets it up, and as many
// 20 ms chunks of a tone with Opus, and reports each one's cost. It is
// intercomd -selfcheck's proof that the cgo codecs run on this CPU. The input
// is generated as fast as asked (no camera clock), so the figures are the
// encoders' own.
func CheckCodecs(width, height, fps, frames int) ([]CodecTiming, error) {
	cfg, err := Config{Width: width, Height: height, FPS: fps}.withDefaults()
	if err != nil {
		return nil, err
	}
	if frames < 1 {
		return nil, fmt.Errorf("check codecs: %d frames", frames)
	}
	var out []CodecTiming
	for _, c := range videoCodecs() {
		enc, err := c.build(syntheticVideo(cfg.Width, cfg.Height), cfg.Width, cfg.Height, cfg.FPS, cfg.VideoBitrate)
		if err != nil {
			return out, fmt.Errorf("%s encoder: %w", c.name, err)
		}
		t, err := timeEncoder(c.name, enc, frames)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	enc, err := buildOpus(syntheticTone())
	if err != nil {
		return out, fmt.Errorf("Opus encoder: %w", err)
	}
	t, err := timeEncoder("Opus", enc, frames)
	if err != nil {
		return out, err
	}
	return append(out, t), nil
}

func timeEncoder(name string, enc codec.ReadCloser, frames int) (CodecTiming, error) {
	defer enc.Close()
	t := CodecTiming{Codec: name, Frames: frames}
	var start time.Time
	for i := 0; i <= frames; i++ {
		if i == 1 {
			start = time.Now()
		}
		b, release, err := enc.Read()
		if err != nil {
			return t, fmt.Errorf("%s encode frame %d: %w", name, i, err)
		}
		if i > 0 {
			t.Bytes += len(b)
		}
		release()
	}
	t.PerFrame = time.Since(start) / time.Duration(frames)
	if t.Bytes == 0 {
		return t, fmt.Errorf("%s: %d frames encoded to nothing", name, frames)
	}
	return t, nil
}

// syntheticVideo paints moving colour ramps and a corner of noise (the input
// that costs an encoder most) into one reused I420 frame.
func syntheticVideo(w, h int) video.Reader {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	n := uint32(1)
	frame := 0
	return video.ReaderFunc(func() (image.Image, func(), error) {
		frame++
		for y := 0; y < h; y++ {
			row := img.Y[y*img.YStride:]
			for x := 0; x < w; x++ {
				if x < w/4 && y < h/4 {
					n ^= n << 13
					n ^= n >> 17
					n ^= n << 5
					row[x] = byte(n)
				} else {
					row[x] = byte(x + y + 4*frame)
				}
			}
		}
		for i := range img.Cb {
			img.Cb[i] = byte(i/img.CStride + frame)
			img.Cr[i] = byte(i%img.CStride - frame)
		}
		return img, func() {}, nil
	})
}

// syntheticTone is a 440 Hz tone in 20 ms mono chunks at 48 kHz.
func syntheticTone() audio.Reader {
	n := int(sampleRate * opusFrame / time.Second)
	pos := 0
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: n, Channels: audioChannel, SamplingRate: sampleRate})
		for i := range chunk.Data {
			chunk.Data[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(pos)/sampleRate))
			pos++
		}
		return chunk, func() {}, nil
	})
}
