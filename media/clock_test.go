package media

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func clockFrame(w, h int, t time.Time) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	PaintClock(img, t)
	return img
}

// Frame damage a codec could do: blur, noise, lossy DCT coding.
var damages = []struct {
	name string
	do   func(t *testing.T, img *image.YCbCr) image.Image
}{
	{"none", func(t *testing.T, img *image.YCbCr) image.Image { return img }},
	{"box blur 5x5", func(t *testing.T, img *image.YCbCr) image.Image { return boxBlur(img, 2) }},
	{"noise ±40", func(t *testing.T, img *image.YCbCr) image.Image {
		r := rand.New(rand.NewPCG(1, 2))
		out := *img
		out.Y = append([]byte(nil), img.Y...)
		for i, v := range out.Y {
			out.Y[i] = byte(min(max(int(v)+r.IntN(81)-40, 0), 255))
		}
		return &out
	}},
	{"JPEG quality 20", func(t *testing.T, img *image.YCbCr) image.Image {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 20}); err != nil {
			t.Fatal(err)
		}
		out, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}},
	{"RGBA, as a canvas holds it", func(t *testing.T, img *image.YCbCr) image.Image {
		out := image.NewRGBA(img.Rect)
		draw.Draw(out, out.Rect, img, image.Point{}, draw.Src)
		return out
	}},
}

func boxBlur(img *image.YCbCr, r int) *image.YCbCr {
	out := *img
	out.Y = make([]byte, len(img.Y))
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := range h {
		for x := range w {
			sum, n := 0, 0
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					if xx, yy := x+dx, y+dy; xx >= 0 && yy >= 0 && xx < w && yy < h {
						sum += int(img.Y[yy*img.YStride+xx])
						n++
					}
				}
			}
			out.Y[y*out.YStride+x] = byte(sum / n)
		}
	}
	return &out
}

// TestClockRoundTrip paints times into frames of several sizes, damages
// them as a codec might, and reads the same millisecond back.
func TestClockRoundTrip(t *testing.T) {
	times := []time.Time{
		time.UnixMilli(0),
		time.UnixMilli(1),
		time.Date(2026, 11, 24, 4, 18, 45, 296e6, time.UTC),
		time.UnixMilli(1<<48 - 1), // the largest the code holds (year 10889)
	}
	sizes := []image.Point{{ClockMinWidth, ClockMinHeight}, {320, 240}, {640, 480}, {1280, 720}}
	for _, d := range damages {
		for _, sz := range sizes {
			for _, tm := range times {
				img := clockFrame(sz.X, sz.Y, tm)
				got, err := ReadClock(d.do(t, img))
				if err != nil || !got.Equal(tm) {
					t.Errorf("%s, %dx%d: ReadClock(PaintClock(%d ms)) = %d ms, %v; want %d ms", d.name, sz.X, sz.Y,
						tm.UnixMilli(), got.UnixMilli(), err, tm.UnixMilli())
				}
			}
		}
	}
}

// TestClockRejects: frames without a valid code are refused, never misread.
func TestClockRejects(t *testing.T) {
	tm := time.UnixMilli(1_764_000_000_123)
	flipped := clockFrame(640, 480, tm)
	paintBlock(flipped, 3, 5, 255-flipped.Y[flipped.YOffset(6*ClockBlock+8, 4*ClockBlock+8)]) // one data bit
	gray := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420)
	for i := range gray.Y {
		gray.Y[i] = 128
	}
	noise := image.NewGray(image.Rect(0, 0, 640, 480))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.IntN(256))
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		want string
	}{
		{"one bit flipped", flipped, "checksum"},
		{"plain gray", gray, "contrast"},
		{"noise", noise, ""},
		{"too small", image.NewGray(image.Rect(0, 0, ClockMinWidth-1, 480)), "smaller"},
	} {
		got, err := ReadClock(tc.img)
		if !errors.Is(err, ErrNoClock) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadClock(%s) = %v, %v; want ErrNoClock (%q)", tc.name, got, err, tc.want)
		}
	}
}

// TestClockSource: -camera clock opens, says what it is, and hands out
// frames stamped with their capture time at the configured rate.
func TestClockSource(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "clock", Mic: "none", Width: 320, Height: 240, FPS: 50})
	if got := m.Sources()["camera"]; got != descClock {
		t.Errorf("Sources()[camera] = %q, want %q", got, descClock)
	}
	if m.StandIn("camera") {
		t.Error("StandIn(camera) = true for the clock, want false: it is asked for by name, never a fallback")
	}
	var last time.Time
	for i := range 5 {
		before := time.Now()
		img, release, err := m.camera.reader.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got, err := ReadClock(img)
		release()
		if err != nil {
			t.Fatalf("frame %d: ReadClock: %v", i, err)
		}
		// The stamp is the frame's tick: not after it was handed out, not
		// before the previous frame.
		if got.After(time.Now()) || got.Before(last) || before.Sub(got) > time.Second {
			t.Errorf("frame %d stamped %v, read between %v and %v, previous %v", i, got, before, time.Now(), last)
		}
		last = got
	}
}

// TestClockTooSmall: a size the code does not fit in is refused at start.
func TestClockTooSmall(t *testing.T) {
	m, err := New(Config{Camera: "clock", Mic: "none", Speaker: "none", Width: 160, Height: 120, Loopback: true}, testLogger(t))
	if err == nil {
		m.Close()
		t.Fatal("New(clock at 160x120) succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "too small") {
		t.Errorf("New(clock at 160x120) = %v, want it to say the size is too small", err)
	}
}
