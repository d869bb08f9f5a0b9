// Package testpattern paints the door's stand-in camera picture, for
// media's test camera and for the benchmarks that feed ffmpeg the same
// frames.
package testpattern

import (
	"encoding/binary"
	"image"
	"math/rand/v2"
)

// Pattern is the door's stand-in camera picture: the look of
// mediadevices' VideoTest (colour bars, a grey ramp and a patch of black and
// white noise that changes every frame, so the encoder has work to do), but
// painted in I420 once, with only the noise repainted per frame. VideoTest
// copies the whole 4:2:2 frame, draws a random number per noise pixel and
// is converted to I420 afterwards: about a tenth of the door's CPU in a call
// (docs/BENCHMARKS.md, encoder cost), none of which a real camera costs.
type Pattern struct {
	img   *image.YCbCr
	noise image.Rectangle
	rng   *rand.PCG
	bits  uint64 // unused random bits of the last draw
	left  int    // how many
}

// New paints the fixed part of a w x h pattern. Its noise is
// the same sequence for every pattern, so two runs show the same frames.
func New(w, h int) *Pattern {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	colors := [7][3]byte{ // Y, Cb, Cr of VideoTest's bars
		{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
		{107, 202, 222}, {82, 90, 240}, {41, 240, 110},
	}
	barsEnd, rampEnd := h*3/4, w*5/7
	for y := range h {
		for x := range w {
			var v byte
			switch {
			case y < barsEnd:
				v = byte(int(colors[x*7/w][0]) * 75 / 100)
			case x < rampEnd:
				v = byte(x * 255 / rampEnd)
			}
			img.Y[y*img.YStride+x] = v
		}
	}
	for cy := range (h + 1) / 2 {
		for cx := range (w + 1) / 2 {
			cb, cr := byte(128), byte(128)
			if 2*cy < barsEnd {
				// VideoTest's chroma sample is the right pixel's of the pair.
				c := colors[min(2*cx+1, w-1)*7/w]
				cb, cr = c[1], c[2]
			}
			i := cy*img.CStride + cx
			img.Cb[i], img.Cr[i] = cb, cr
		}
	}
	return &Pattern{img: img, noise: image.Rect(rampEnd, barsEnd, w, h), rng: rand.NewPCG(0, 0)}
}

// Next repaints the noise and returns the frame. It is the same image
// every time: a reader must be done with a frame before it asks for the
// next, as with a camera's buffer.
//
// Each random bit is one pixel, black or white, taken lowest bit first;
// eight at a time through a table where a row and the draw allow, as the
// pixel-by-pixel loop was a tenth of the door's CPU outside the encoder.
func (p *Pattern) Next() *image.YCbCr {
	for y := p.noise.Min.Y; y < p.noise.Max.Y; y++ {
		row := p.img.Y[y*p.img.YStride+p.noise.Min.X : y*p.img.YStride+p.noise.Max.X]
		for i := 0; i < len(row); {
			if p.left == 0 {
				p.bits, p.left = p.rng.Uint64(), 64
			}
			if p.left >= 8 && len(row)-i >= 8 {
				binary.LittleEndian.PutUint64(row[i:], noiseBytes[p.bits&0xff])
				p.bits >>= 8
				p.left -= 8
				i += 8
				continue
			}
			row[i] = byte(p.bits&1) * 255
			p.bits >>= 1
			p.left--
			i++
		}
	}
	return p.img
}

// noiseBytes[b] is the eight pixels of the random bits b, lowest bit
// first, as a little-endian word: 255 for a set bit, 0 for a clear one.
var noiseBytes = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			if b&(1<<i) != 0 {
				t[b] |= 0xff << (8 * i)
			}
		}
	}
	return t
}()
