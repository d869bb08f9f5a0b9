package vp8

import (
	"errors"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// scene draws frame i of a moving picture: a gradient, a bright box that
// moves 4 pixels a frame and, when noisy, grain that costs bits.
func scene(w, h, i int, noisy bool) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	bx, by := (4*i)%(w-48), h/3
	for y := range h {
		for x := range w {
			v := 40 + 120*x/w
			if x >= bx && x < bx+48 && y >= by && y < by+48 {
				v = 225
			}
			if noisy {
				v += rng.IntN(41) - 20
			}
			img.Y[y*img.YStride+x] = uint8(min(max(v, 0), 255))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			img.Cb[y*img.CStride+x] = uint8(90 + 80*y/h)
			img.Cr[y*img.CStride+x] = uint8(160 - 60*x/w)
		}
	}
	return img
}

// lumaPSNR compares two pictures' luma, in dB.
func lumaPSNR(a, b *image.YCbCr) float64 {
	var se float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		for x := range w {
			d := float64(a.Y[y*a.YStride+x]) - float64(b.Y[y*b.YStride+x])
			se += d * d
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(w*h)/se)
}

// frames hands a decoder one encoded frame per Read.
type frames struct{ next []byte }

func (f *frames) Read(p []byte) (int, error) {
	if f.next == nil {
		return 0, io.EOF
	}
	n := copy(p, f.next)
	f.next = nil
	return n, nil
}

// decoder is libvpx's VP8 decoder through mediadevices, one frame at a time.
func decoder(t *testing.T, w, h int) func(frame []byte) *image.YCbCr {
	in := &frames{}
	d, err := vpx.NewDecoder(in, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return func(frame []byte) *image.YCbCr {
		t.Helper()
		in.next = frame
		img, _, err := d.Read()
		if err != nil {
			t.Fatalf("decode %d bytes: %v", len(frame), err)
		}
		return img.(*image.YCbCr)
	}
}

// keyFrame reads VP8's frame tag (RFC 6386 9.1): bit 0 clear is a key frame.
func keyFrame(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

func newEncoder(t *testing.T, c Config) *Encoder {
	t.Helper()
	e, err := NewEncoder(c)
	if err != nil {
		t.Fatalf("NewEncoder(%+v): %v", c, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestEncodeDecode: what the encoder makes decodes to the picture it was
// given, at every speed the door might use, with odd sizes too.
func TestEncodeDecode(t *testing.T) {
	for _, c := range []Config{
		{Width: 320, Height: 240, FPS: 30, Bitrate: 600_000},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 600_000, Speed: 4},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 600_000, Speed: 12, Threads: 2},
		{Width: 161, Height: 121, FPS: 15, Bitrate: 300_000},
	} {
		enc := newEncoder(t, c)
		dec := decoder(t, c.Width, c.Height)
		for i := range 20 {
			in := scene(c.Width, c.Height, i, false)
			frame, isKey, err := enc.Encode(in, false)
			if err != nil {
				t.Fatalf("%+v: Encode(frame %d): %v", c, i, err)
			}
			if want := i == 0; isKey != want || keyFrame(frame) != want {
				t.Errorf("%+v: frame %d: key %v, tag says %v, want %v", c, i, isKey, keyFrame(frame), want)
			}
			out := dec(frame)
			if out.Rect.Dx() != c.Width || out.Rect.Dy() != c.Height {
				t.Fatalf("%+v: frame %d decodes to %v", c, i, out.Rect)
			}
			if p := lumaPSNR(in, out); p < 30 {
				t.Errorf("%+v: frame %d decodes at %.1f dB, want >= 30", c, i, p)
			}
		}
	}
}

// TestKeyFrameOnRequest: key frames come when asked for through the
// controller media's video pipe uses, and only then.
func TestKeyFrameOnRequest(t *testing.T) {
	const w, h = 320, 240
	i := 0
	r, err := NewReader(video.ReaderFunc(func() (image.Image, func(), error) {
		i++
		return scene(w, h, i, false), func() {}, nil
	}), Config{Width: w, Height: h, FPS: 30, Bitrate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	kf, ok := r.Controller().(codec.KeyFrameController)
	if !ok {
		t.Fatal("the controller takes no key frame requests")
	}
	dec := decoder(t, w, h)
	asked := map[int]bool{0: true, 7: true, 8: true, 40: true}
	for n := range 60 {
		if asked[n] && n > 0 {
			kf.ForceKeyFrame()
		}
		frame, release, err := r.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if keyFrame(frame) != asked[n] {
			t.Errorf("frame %d: key frame %v, want %v", n, keyFrame(frame), asked[n])
		}
		dec(frame)
		release()
	}
	r.Close()
	if _, _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want EOF", err)
	}
}

// TestBitrateHeld: over 10 s of grainy picture (300 frames at 30 fps) the
// encoder spends about its target, and about the new one after
// SetBitRate, as the door's rate governor changes it during a call.
func TestBitrateHeld(t *testing.T) {
	const w, h, fps = 320, 240, 30
	i := 0
	r, err := NewReader(video.ReaderFunc(func() (image.Image, func(), error) {
		i++
		return scene(w, h, i, true), func() {}, nil
	}), Config{Width: w, Height: h, FPS: fps, Bitrate: 400_000})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bc := r.Controller().(codec.BitRateController)
	for _, target := range []int{400_000, 150_000, 600_000} {
		if err := bc.SetBitRate(target); err != nil {
			t.Fatal(err)
		}
		// The first second settles from the last target; the next 10 count.
		bits := 0
		for n := range 11 * fps {
			frame, release, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) == 0 {
				t.Fatalf("frame %d at %d bit/s: empty (a dropped frame)", n, target)
			}
			if n >= fps {
				bits += 8 * len(frame)
			}
			release()
		}
		got := bits / 10
		t.Logf("target %d bit/s: spent %d bit/s", target, got)
		if got < target*3/4 || got > target*5/4 {
			t.Errorf("at a target of %d bit/s the encoder spent %d bit/s over 10 s of frames, want within 25 %%", target, got)
		}
	}
	if err := bc.SetBitRate(0); err == nil {
		t.Error("SetBitRate(0) = nil, want an error")
	}
}

// TestBadInput: a bad setting or frame is refused with an error and the
// encoder goes on working.
func TestBadInput(t *testing.T) {
	for _, c := range []Config{
		{Width: 0, Height: 240, FPS: 30, Bitrate: 500_000},
		{Width: 320, Height: 20000, FPS: 30, Bitrate: 500_000},
		{Width: 320, Height: 240, FPS: 0, Bitrate: 500_000},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 10},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000, Speed: 17},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000, KeyFrameInterval: -1},
	} {
		if e, err := NewEncoder(c); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v) = nil error, want one", c)
		}
	}
	enc := newEncoder(t, Config{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000})
	for _, img := range []*image.YCbCr{
		scene(640, 480, 0, false),
		image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio444),
	} {
		if _, _, err := enc.Encode(img, false); err == nil {
			t.Errorf("Encode(%v %v) = nil error, want one", img.Rect, img.SubsampleRatio)
		}
	}
	if err := enc.SetBitrate(999); err == nil {
		t.Error("SetBitrate(999) = nil error, want one")
	}
	dec := decoder(t, 320, 240)
	in := scene(320, 240, 3, false)
	frame, isKey, err := enc.Encode(in, false)
	if err != nil || !isKey {
		t.Fatalf("Encode after bad frames: key %v, %v; want the first key frame", isKey, err)
	}
	if p := lumaPSNR(in, dec(frame)); p < 30 {
		t.Errorf("frame after bad ones decodes at %.1f dB", p)
	}
	enc.Close()
	if _, _, err := enc.Encode(in, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
}
