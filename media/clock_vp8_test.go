package media

import (
	"image"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// frameReader hands a decoder one encoded frame per Read.
type frameReader struct{ frames [][]byte }

func (r *frameReader) Read(p []byte) (int, error) {
	f := r.frames[0]
	r.frames = r.frames[1:]
	return copy(p, f), nil
}

// TestClockThroughVP8: the clock code survives a real lossy codec at the
// door's bitrate (VP8 here: the only decoder this build has; the browser's
// H.264 decoder is the benchmark's, cmd/bench).
func TestClockThroughVP8(t *testing.T) {
	const w, h, fps = 640, 480, 30
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	enc, err := buildVP8(video.ReaderFunc(func() (image.Image, func(), error) { return img, func() {}, nil }),
		w, h, fps, defaultVideoBitrate(w, h, fps))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	src := &frameReader{}
	dec, err := vpx.NewDecoder(src, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	start := time.Date(2026, 11, 24, 4, 18, 45, 0, time.UTC)
	for i := range 60 {
		tm := start.Add(time.Duration(i) * 33 * time.Millisecond)
		PaintClock(img, tm)
		data, release, err := enc.Read()
		if err != nil {
			t.Fatalf("encode frame %d: %v", i, err)
		}
		src.frames = append(src.frames, append([]byte(nil), data...))
		release()
		out, _, err := dec.Read()
		if err != nil {
			t.Fatalf("decode frame %d: %v", i, err)
		}
		if got, err := ReadClock(out); err != nil || !got.Equal(tm) {
			t.Errorf("frame %d: ReadClock(VP8 of %d ms) = %d ms, %v", i, tm.UnixMilli(), got.UnixMilli(), err)
		}
	}
}
