package openh264

import (
	"errors"
	"image"
	"io"
	"slices"
	"testing"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
)

// scene is frame i of a moving picture: a gradient that drifts, and on
// noisy frames a patch of noise that needs many bits.
func scene(w, h, i int, noisy bool) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Y[y*img.YStride+x] = byte(x + y + 2*i)
		}
	}
	for j := range img.Cb {
		img.Cb[j], img.Cr[j] = byte(96+j%64), byte(160-j%32)
	}
	if noisy {
		s := uint32(i*7919 + 1)
		for y := 0; y < h/8; y++ {
			for x := 0; x < w/8; x++ {
				s = s*1664525 + 1013904223
				img.Y[y*img.YStride+x] = byte(s >> 24)
			}
		}
	}
	return img
}

// nalTypes lists the NAL unit types of an Annex B frame.
func nalTypes(frame []byte) []int {
	var types []int
	for i := 0; i+3 < len(frame); i++ {
		if frame[i] == 0 && frame[i+1] == 0 && frame[i+2] == 1 {
			types = append(types, int(frame[i+3]&0x1f))
			i += 3
		}
	}
	return types
}

func newEncoder(t *testing.T, c Config) *Encoder {
	t.Helper()
	e, err := NewEncoder(c)
	if err != nil {
		t.Fatalf("NewEncoder(%+v): %v", c, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// The first frame and asked-for ones are IDR frames with SPS and PPS in
// front; the rest are not, and none is dropped.
func TestKeyFrameOnRequest(t *testing.T) {
	const w, h = 320, 240
	i := 0
	r, err := NewReader(video.ReaderFunc(func() (image.Image, func(), error) {
		i++
		return scene(w, h, i, false), func() {}, nil
	}), Config{Width: w, Height: h, FPS: 30, Bitrate: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	kc, ok := r.Controller().(codec.KeyFrameController)
	if !ok {
		t.Fatal("the controller takes no key frame requests")
	}
	asked := map[int]bool{0: true, 7: true, 20: true}
	for n := range 30 {
		if asked[n] && n > 0 {
			kc.ForceKeyFrame()
		}
		frame, _, err := r.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		types := nalTypes(frame)
		key := slices.Contains(types, 5)
		if key != asked[n] || (key && !(slices.Contains(types, 7) && slices.Contains(types, 8))) {
			t.Errorf("frame %d: NAL types %v, want a key frame (SPS, PPS, IDR): %v", n, types, asked[n])
		}
		if !key && !slices.Contains(types, 1) {
			t.Errorf("frame %d: NAL types %v, want a coded slice", n, types)
		}
	}
	r.Close()
	if _, _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want EOF", err)
	}
}

// rate encodes seconds of the noisy scene from frame *n on and returns
// the bits per second sent; no frame may be dropped.
func rate(t *testing.T, e *Encoder, fps, seconds int, n *int) int {
	t.Helper()
	bytes := 0
	for range seconds * fps {
		frame, _, err := e.Encode(scene(e.w, e.h, *n, true), *n == 0)
		*n++
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) == 0 {
			t.Fatalf("frame %d: empty (a dropped frame)", *n)
		}
		bytes += len(frame)
	}
	return bytes * 8 / seconds
}

// The encoder spends what it is told on a picture that can be squeezed
// into it, and less when told less.
func TestBitrateHeld(t *testing.T) {
	const w, h, fps = 640, 480, 30
	for _, target := range []int{1_500_000, 600_000} {
		e := newEncoder(t, Config{Width: w, Height: h, FPS: fps, Bitrate: target})
		n := 0
		rate(t, e, fps, 1, &n) // rate control settles
		got := rate(t, e, fps, 3, &n)
		t.Logf("target %d bit/s: sent %d", target, got)
		if got < target*3/4 || got > target*5/4 {
			t.Errorf("at a target of %d bit/s the encoder spent %d bit/s, want within 25 %%", target, got)
		}
	}
	e := newEncoder(t, Config{Width: w, Height: h, FPS: fps, Bitrate: 1_500_000})
	n := 0
	before := rate(t, e, fps, 2, &n)
	if err := e.SetBitrate(600_000); err != nil {
		t.Fatal(err)
	}
	rate(t, e, fps, 1, &n)
	after := rate(t, e, fps, 2, &n)
	t.Logf("1.5 Mbit/s: sent %d; then 600 kbit/s: %d", before, after)
	if after > before*3/4 {
		t.Errorf("told 600 kbit/s after 1.5 Mbit/s, the encoder sent %d bit/s after %d, want under 3/4 of it", after, before)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []Config{
		{Width: 0, Height: 480, FPS: 30, Bitrate: 1e6},
		{Width: 641, Height: 480, FPS: 30, Bitrate: 1e6},
		{Width: 8192, Height: 480, FPS: 30, Bitrate: 1e6},
		{Width: 640, Height: 480, FPS: 0, Bitrate: 1e6},
		{Width: 640, Height: 480, FPS: 30, Bitrate: 10},
		{Width: 640, Height: 480, FPS: 30, Bitrate: 1e6, KeyFrameInterval: -1},
		{Width: 640, Height: 480, FPS: 30, Bitrate: 1e6, Threads: -2},
	} {
		if e, err := NewEncoder(c); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v) = nil error, want one", c)
		}
	}
	e := newEncoder(t, Config{Width: 320, Height: 240, FPS: 30, Bitrate: 300_000})
	for _, img := range []*image.YCbCr{
		image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420),
		image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio422),
		{Y: make([]byte, 10), Cb: make([]byte, 10), Cr: make([]byte, 10), YStride: 320, CStride: 160,
			SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, 320, 240)},
	} {
		if _, _, err := e.Encode(img, false); err == nil {
			t.Errorf("Encode(%v %v, %d luma bytes) = nil error, want one", img.Rect, img.SubsampleRatio, len(img.Y))
		}
	}
	if err := e.SetBitrate(5); err == nil {
		t.Error("SetBitrate(5) = nil error, want one")
	}
	frame, isKey, err := e.Encode(scene(320, 240, 0, false), false)
	if err != nil || !isKey || !slices.Contains(nalTypes(frame), 5) {
		t.Fatalf("Encode after bad input: key %v, %v; want the first key frame", isKey, err)
	}
	e.Close()
	if _, _, err := e.Encode(scene(320, 240, 1, false), false); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
	if err := e.SetBitrate(300_000); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after Close: %v, want ErrClosed", err)
	}
}
