package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"os"

	"github.com/intercomd/intercomd/internal/testpattern"
)

// testPatternFrames returns n frames of the door's test pattern (what
// -camera test sends: internal/testpattern, in I420 as the door's encoder
// receives it).
func testPatternFrames(w, h, n int) ([]*image.YCbCr, error) {
	p := testpattern.New(w, h)
	var out []*image.YCbCr
	for range n {
		img := p.Next()
		out = append(out, &image.YCbCr{
			Y: bytes.Clone(img.Y), Cb: bytes.Clone(img.Cb), Cr: bytes.Clone(img.Cr),
			YStride: img.YStride, CStride: img.CStride, SubsampleRatio: img.SubsampleRatio, Rect: img.Rect,
		})
	}
	return out, nil
}

// readRaw reads up to n frames of w x h from a raw yuv420p file.
func readRaw(path string, w, h, n int) ([]*image.YCbCr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	size := w*h + 2*((w+1)/2)*((h+1)/2)
	if len(b) < size {
		return nil, fmt.Errorf("%s: %d bytes, less than one %dx%d frame", path, len(b), w, h)
	}
	var out []*image.YCbCr
	for ; len(b) >= size && len(out) < n; b = b[size:] {
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		c := len(img.Cb)
		copy(img.Y, b[:w*h])
		copy(img.Cb, b[w*h:w*h+c])
		copy(img.Cr, b[w*h+c:w*h+2*c])
		out = append(out, img)
	}
	return out, nil
}

// writeRaw writes frames as raw yuv420p, the format ffmpeg's rawvideo
// demuxer reads.
func writeRaw(path string, frames []*image.YCbCr) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, img := range frames {
		b := img.Rect
		for y := range b.Dy() {
			w.Write(img.Y[y*img.YStride : y*img.YStride+b.Dx()])
		}
		cw, ch := (b.Dx()+1)/2, (b.Dy()+1)/2
		for _, plane := range [][]byte{img.Cb, img.Cr} {
			for y := range ch {
				w.Write(plane[y*img.CStride : y*img.CStride+cw])
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
