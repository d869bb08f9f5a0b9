package testpattern

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

func TestPattern(t *testing.T) {
	for _, sz := range []image.Point{{640, 480}, {1280, 720}, {321, 241}} {
		p := New(sz.X, sz.Y)
		a := p.Next()
		if a.SubsampleRatio != image.YCbCrSubsampleRatio420 || a.Rect.Size() != sz {
			t.Fatalf("New(%v).Next() = %v %v, want 4:2:0 at %v", sz, a.SubsampleRatio, a.Rect, sz)
		}
		first := bytes.Clone(a.Y)
		b := p.Next()
		noise := image.Rect(sz.X*5/7, sz.Y*3/4, sz.X, sz.Y)
		changed, white := 0, 0
		for y := range sz.Y {
			for x := range sz.X {
				i := y*b.YStride + x
				in := image.Pt(x, y).In(noise)
				if !in && b.Y[i] != first[i] {
					t.Fatalf("%v: pixel (%d,%d) outside the noise changed: %d -> %d", sz, x, y, first[i], b.Y[i])
				}
				if in {
					if v := b.Y[i]; v != 0 && v != 255 {
						t.Fatalf("%v: noise pixel (%d,%d) = %d, want 0 or 255", sz, x, y, v)
					}
					if b.Y[i] != first[i] {
						changed++
					}
					if b.Y[i] == 255 {
						white++
					}
				}
			}
		}
		n := noise.Dx() * noise.Dy()
		// Independent coin flips: about half change and half are white.
		if changed < n*4/10 || changed > n*6/10 || white < n*4/10 || white > n*6/10 {
			t.Errorf("%v: %d of %d noise pixels changed, %d white; want about half each", sz, changed, n, white)
		}
		// The bars: the first is white at 75 % (235*0.75), the last green
		// (Cb 240, Cr 110 as VideoTest has them).
		if y, cb, cr := b.YCbCrAt(0, 0).Y, b.YCbCrAt(sz.X-1, 0).Cb, b.YCbCrAt(sz.X-1, 0).Cr; y != 176 || cb != 240 || cr != 110 {
			t.Errorf("%v: bars Y %d, last Cb %d Cr %d; want 176, 240, 110", sz, y, cb, cr)
		}
	}
}

// TestNoiseIsOneBitPerPixel holds Next to its definition, one random bit
// per noise pixel, lowest bit first, the draw's leftover bits carried to
// the next row and frame: the fast path must paint exactly these frames
// (runs and the benchmarks' ffmpeg input are compared by them).
func TestNoiseIsOneBitPerPixel(t *testing.T) {
	for _, sz := range []image.Point{{640, 480}, {1280, 720}, {321, 241}, {30, 20}} {
		p := New(sz.X, sz.Y)
		rng := rand.NewPCG(0, 0)
		var bits uint64
		left := 0
		noise := image.Rect(sz.X*5/7, sz.Y*3/4, sz.X, sz.Y)
		for frame := range 5 {
			img := p.Next()
			for y := noise.Min.Y; y < noise.Max.Y; y++ {
				for x := noise.Min.X; x < noise.Max.X; x++ {
					if left == 0 {
						bits, left = rng.Uint64(), 64
					}
					want := byte(bits&1) * 255
					bits >>= 1
					left--
					if got := img.Y[y*img.YStride+x]; got != want {
						t.Fatalf("%v frame %d: pixel (%d,%d) = %d, want %d", sz, frame, x, y, got, want)
					}
				}
			}
		}
	}
}
