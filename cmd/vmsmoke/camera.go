package main

import (
	"errors"
	"fmt"

	"github.com/blackjack/webcam"
)

// v4l2PixFmtYUYV is V4L2_PIX_FMT_YUYV, the format vivid and most USB
// cameras offer and mediadevices prefers.
const v4l2PixFmtYUYV = webcam.PixelFormat('Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24)

// checkCamera opens path, asks for width x height YUYV and reads three
// frames, each of which must hold a full picture that is not blank.
func checkCamera(path string, width, height int) (string, error) {
	cam, err := webcam.Open(path)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer cam.Close()
	name, _ := cam.GetName()
	formats := cam.GetSupportedFormats()
	if _, ok := formats[v4l2PixFmtYUYV]; !ok {
		return "", fmt.Errorf("%s (%s) offers no YUYV, only %v", path, name, formats)
	}
	f, w, h, err := cam.SetImageFormat(v4l2PixFmtYUYV, uint32(width), uint32(height))
	if err != nil {
		return "", fmt.Errorf("%s: set YUYV %dx%d: %w", path, width, height, err)
	}
	if f != v4l2PixFmtYUYV || int(w) != width || int(h) != height {
		return "", fmt.Errorf("%s: asked for YUYV %dx%d, driver chose %v %dx%d", path, width, height, f, w, h)
	}
	if err := cam.StartStreaming(); err != nil {
		return "", fmt.Errorf("%s: start streaming: %w", path, err)
	}
	defer cam.StopStreaming()
	want := width * height * 2
	for i := 0; i < 3; i++ {
		err := cam.WaitForFrame(10)
		var timeout *webcam.Timeout
		if errors.As(err, &timeout) {
			return "", fmt.Errorf("%s: no frame within 10 s (frame %d)", path, i+1)
		}
		if err != nil {
			return "", fmt.Errorf("%s: wait for frame %d: %w", path, i+1, err)
		}
		frame, err := cam.ReadFrame()
		if err != nil {
			return "", fmt.Errorf("%s: read frame %d: %w", path, i+1, err)
		}
		if len(frame) != want {
			return "", fmt.Errorf("%s: frame %d has %d bytes, want %d (%dx%d YUYV)", path, i+1, len(frame), want, width, height)
		}
		if blank(frame) {
			return "", fmt.Errorf("%s: frame %d is blank", path, i+1)
		}
	}
	return fmt.Sprintf("%s (%s): 3 frames of %dx%d YUYV", path, name, width, height), nil
}

// blank reports whether every byte of frame has the same value.
func blank(frame []byte) bool {
	for _, b := range frame {
		if b != frame[0] {
			return false
		}
	}
	return true
}
