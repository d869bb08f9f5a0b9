package main

import (
	"fmt"
	"time"

	"github.com/intercomd/intercomd/media/v4l2"
)

// checkCamera reads the camera through media/v4l2, the code that carries
// a USB camera's own H.264 to the door's calls (usbh264.go): it probes
// path (vivid offers YUYV and no H.264, so intercomd would encode its
// frames itself), opens it for width x height YUYV, and reads three
// frames, each of which must hold a full picture that is not blank. vivid
// has no H.264: only a real H.264 camera proves that format's last step.
func checkCamera(path string, width, height int) (string, error) {
	p, err := v4l2.ProbeDevice(path)
	if err != nil {
		return "", err
	}
	if !p.Offers(v4l2.YUYV, width, height) {
		return "", fmt.Errorf("%s (%s) offers no YUYV at %dx%d, only %v", path, p.Name, width, height, p.FormatNames())
	}
	if len(p.Formats[v4l2.H264]) > 0 {
		return "", fmt.Errorf("%s (%s) offers H.264: vivid never did, so the probe misreads formats", path, p.Name)
	}
	cam, err := v4l2.OpenCapture(path, v4l2.YUYV, width, height, 30, map[uint32]int32{v4l2.CtrlBitrate: 1_000_000})
	if err != nil {
		return "", err
	}
	defer cam.Close()
	if cam.HasControl(v4l2.CtrlForceKeyFrame) {
		return "", fmt.Errorf("%s (%s) claims a key frame control: a webcam simulator has none", path, p.Name)
	}
	if err := cam.ForceKeyFrame(); err != v4l2.ErrNoControl {
		return "", fmt.Errorf("%s: ForceKeyFrame = %v, want ErrNoControl", path, err)
	}
	want := width * height * 2
	for i := 0; i < 3; i++ {
		frame, err := cam.Next(10 * time.Second)
		if err != nil {
			return "", fmt.Errorf("frame %d: %w", i+1, err)
		}
		if len(frame) != want {
			return "", fmt.Errorf("%s: frame %d has %d bytes, want %d (%dx%d YUYV)", path, i+1, len(frame), want, width, height)
		}
		if blank(frame) {
			return "", fmt.Errorf("%s: frame %d is blank", path, i+1)
		}
	}
	return fmt.Sprintf("%s (%s): %d formats, YUYV at %dx%d, no H.264; 3 frames of YUYV through media/v4l2", path, p.Name, len(p.Formats), width, height), nil
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
