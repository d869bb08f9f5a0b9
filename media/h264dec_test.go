package media

import (
	"bytes"
	"errors"
	"image"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
)

// TestDecodeLast: H.264 encoded from clock pictures decodes to the last
// picture, whose clock reads the time painted into it.
func TestDecodeLast(t *testing.T) {
	const w, h = 320, 240
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	start := time.UnixMilli(1_800_000_000_000)
	n := 0
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		PaintClock(img, start.Add(time.Duration(n)*100*time.Millisecond))
		n++
		return img, func() {}, nil
	})
	enc, err := buildH264(src, w, h, 10, 500_000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var aus [][]byte
	for range 8 {
		b, release, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, bytes.Clone(b))
		release()
	}
	got, err := decodeLast(aus, w, h)
	if err != nil {
		t.Fatalf("decodeLast: %v", err)
	}
	if b := got.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("decodeLast gave %v, want %dx%d", b, w, h)
	}
	at, err := ReadClock(got)
	if want := start.Add(700 * time.Millisecond); err != nil || !at.Equal(want) {
		t.Errorf("the decoded picture's clock = %v, %v; want %v (the 8th frame)", at, err, want)
	}
	if _, err := decodeLast([][]byte{{0, 0, 0, 1, 0x41, 0x9a, 0x22}}, w, h); !errors.Is(err, errNoDecodedPicture) {
		t.Errorf("decodeLast(a P frame alone) = %v, want errNoDecodedPicture", err)
	}
}
