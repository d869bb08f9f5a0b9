package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/intercomd/intercomd/media/v4l2"
)

// checkEncoder drives vicodec, a memory-to-memory encoder with
// multiplanar queues like the Pi's bcm2835-codec at /dev/video11, through
// media/v4l2's Encoder: raw I420 in, coded frames out, a GOP size set
// through its control. vicodec codes FWHT, not H.264: this proves the
// queue plumbing and the controls, not the Pi's encoder.
func checkEncoder() (string, error) {
	dev, err := findNode("stateful-encoder")
	if err != nil {
		return "", err
	}
	// vicodec takes 640x360 and up.
	const w, h = 640, 480
	// GOP size 1: every frame a key frame.
	flags, err := encodeFrames(dev, w, h, 1, 3)
	if err != nil {
		return "", err
	}
	for i, f := range flags {
		if f&fwhtIFrame == 0 {
			return "", fmt.Errorf("%s: GOP size 1, frame %d is not a key frame (flags %#x)", dev, i+1, f)
		}
	}
	// GOP size 30: the same picture again is a P frame.
	flags, err = encodeFrames(dev, w, h, 30, 2)
	if err != nil {
		return "", err
	}
	if flags[0]&fwhtIFrame == 0 || flags[1]&fwhtIFrame != 0 {
		return "", fmt.Errorf("%s: GOP size 30, frames' flags %#x %#x, want a key frame then a P frame", dev, flags[0], flags[1])
	}
	return fmt.Sprintf("%s (vicodec): %dx%d I420 encoded to FWHT through media/v4l2's m2m queues; GOP size 1 and 30 followed", dev, w, h), nil
}

// FWHT frame header (drivers/media/test-drivers/vicodec/codec-fwht.h).
const (
	fwhtMagic1 = 0x4f4f4f4f
	fwhtIFrame = 1 << 10 // V4L2_FWHT_FL_I_FRAME
)

// encodeFrames encodes n frames of one still picture with the GOP size
// gop and returns each coded frame's header flags.
func encodeFrames(dev string, w, h, gop, n int) ([]uint32, error) {
	enc, err := v4l2.OpenEncoder(dev, v4l2.YU12, v4l2.FWHT, w, h, map[uint32]int32{v4l2.CtrlGOPSize: int32(gop)})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	if !enc.HasControl(v4l2.CtrlGOPSize) {
		return nil, fmt.Errorf("%s: no GOP size control", dev)
	}
	if err := enc.ForceKeyFrame(); !errors.Is(err, v4l2.ErrNoControl) {
		return nil, fmt.Errorf("%s: ForceKeyFrame = %v, want ErrNoControl (vicodec has none)", dev, err)
	}
	raw := make([]byte, enc.FrameSize())
	for i := range raw[:w*h] {
		raw[i] = byte(i%w + i/w) // a diagonal gradient
	}
	for i := w * h; i < len(raw); i++ {
		raw[i] = 128
	}
	var flags []uint32
	for i := 0; i < n; i++ {
		coded, err := enc.Encode(raw, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", i+1, err)
		}
		if len(coded) < 44 || binary.LittleEndian.Uint32(coded) != fwhtMagic1 {
			return nil, fmt.Errorf("%s: frame %d: %d bytes without an FWHT header", dev, i+1, len(coded))
		}
		if got := int(binary.BigEndian.Uint32(coded[12:])); got != w {
			return nil, fmt.Errorf("%s: frame %d: FWHT width %d, want %d", dev, i+1, got, w)
		}
		flags = append(flags, binary.BigEndian.Uint32(coded[20:]))
	}
	return flags, nil
}

// findNode finds the /dev/video node whose name ends in suffix.
func findNode(suffix string) (string, error) {
	names, _ := filepath.Glob("/sys/class/video4linux/video*/name")
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasSuffix(strings.TrimSpace(string(b)), suffix) {
			return "/dev/" + filepath.Base(filepath.Dir(p)), nil
		}
	}
	return "", fmt.Errorf("no video node named *%s (vicodec not loaded?)", suffix)
}
