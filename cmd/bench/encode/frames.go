package main

import (
	"bufio"
	"fmt"
	"image"
	"os"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/prop"

	// The door's test pattern, for frames that ffmpeg encodes too.
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
)

// testPatternFrames returns n frames of mediadevices' test pattern (what
// -camera test sends: colour bars, a grey ramp and a patch of noise that
// changes every frame) at w x h, converted to I420 as the door's encoder
// receives them.
func testPatternFrames(w, h, n int) ([]*image.YCbCr, error) {
	ds := driver.GetManager().Query(func(d driver.Driver) bool { return d.Info().Label == "VideoTest" })
	if len(ds) == 0 {
		return nil, fmt.Errorf("mediadevices' VideoTest driver is not registered")
	}
	d := ds[0]
	if err := d.Open(); err != nil {
		return nil, err
	}
	defer d.Close()
	// A high rate: the driver paces its frames, and these are not played.
	r, err := d.(driver.VideoRecorder).VideoRecord(prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: 1000}})
	if err != nil {
		return nil, err
	}
	var out []*image.YCbCr
	for range n {
		img, release, err := r.Read()
		if err != nil {
			return nil, err
		}
		out = append(out, toI420(img))
		release()
	}
	return out, nil
}

// toI420 copies a frame into a new 4:2:0 image (the test pattern is 4:2:2:
// chroma rows are averaged in pairs).
func toI420(img image.Image) *image.YCbCr {
	b := img.Bounds()
	dst := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	src, ok := img.(*image.YCbCr)
	if !ok {
		panic(fmt.Sprintf("test pattern frame is %T, want *image.YCbCr", img))
	}
	for y := range b.Dy() {
		copy(dst.Y[y*dst.YStride:y*dst.YStride+b.Dx()], src.Y[y*src.YStride:])
	}
	cw, ch := (b.Dx()+1)/2, (b.Dy()+1)/2
	for y := range ch {
		for x := range cw {
			switch src.SubsampleRatio {
			case image.YCbCrSubsampleRatio420:
				dst.Cb[y*dst.CStride+x] = src.Cb[y*src.CStride+x]
				dst.Cr[y*dst.CStride+x] = src.Cr[y*src.CStride+x]
			default: // 4:2:2: two chroma rows per output row
				i0, i1 := 2*y*src.CStride+x, min(2*y+1, b.Dy()-1)*src.CStride+x
				dst.Cb[y*dst.CStride+x] = byte((int(src.Cb[i0]) + int(src.Cb[i1]) + 1) / 2)
				dst.Cr[y*dst.CStride+x] = byte((int(src.Cr[i0]) + int(src.Cr[i1]) + 1) / 2)
			}
		}
	}
	return dst
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
