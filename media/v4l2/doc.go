// Package v4l2 is the part of Video4Linux2 that intercomd drives itself,
// beside mediadevices' camera driver (which decodes raw and MJPEG frames
// only): a capture device's stream in any pixel format, handed over as
// the driver filled each buffer (a USB camera's own H.264 access units),
// with the codec controls such a camera may have (a key frame on request,
// bitrate, key frame period); and a memory-to-memory encoder (Encoder:
// the Pi's bcm2835-codec at /dev/video11, vicodec in the VM test).
//
// It is built on blackjack/webcam (the library mediadevices' camera
// driver uses) for the buffer queue, and on a few ioctls of its own where
// webcam has none (a single control's query). Linux only; elsewhere Open
// fails with ErrUnsupported.
package v4l2

import (
	"errors"
	"fmt"
	"slices"
)

// FourCC is a V4L2 pixel format code (V4L2_PIX_FMT_*).
type FourCC uint32

// Pixel formats intercomd asks for.
const (
	H264 FourCC = 'H' | '2'<<8 | '6'<<16 | '4'<<24 // V4L2_PIX_FMT_H264: one access unit per buffer, Annex B
	YUYV FourCC = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24 // V4L2_PIX_FMT_YUYV: what most USB cameras and vivid give
	YU12 FourCC = 'Y' | 'U'<<8 | '1'<<16 | '2'<<24 // V4L2_PIX_FMT_YUV420: I420, an encoder's input
	FWHT FourCC = 'F' | 'W'<<8 | 'H'<<16 | 'T'<<24 // V4L2_PIX_FMT_FWHT: vicodec's codec (the VM's m2m encoder)
)

func (f FourCC) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	return string(b)
}

// Codec controls (V4L2_CID_CODEC_BASE = 0x990900 plus the offsets of
// linux/v4l2-controls.h).
const (
	ctrlCodecBase     = 0x00990900
	CtrlBitrate       = ctrlCodecBase + 207 // V4L2_CID_MPEG_VIDEO_BITRATE, bits/s
	CtrlGOPSize       = ctrlCodecBase + 203 // V4L2_CID_MPEG_VIDEO_GOP_SIZE, frames
	CtrlForceKeyFrame = ctrlCodecBase + 229 // V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, a button
)

// Errors.
var (
	ErrUnsupported = errors.New("v4l2: not supported on this system")
	ErrNoControl   = errors.New("v4l2: the driver has no such control")
	ErrTimeout     = errors.New("v4l2: no frame in time")
)

// Size is a frame size.
type Size struct{ Width, Height int }

// Probe is what a capture device offers, read without streaming.
type Probe struct {
	Name    string
	Formats map[FourCC][]SizeRange // every pixel format with its frame sizes
	// Controls present on the device, by id (only the codec ones above).
	Controls map[uint32]bool
}

// SizeRange is one frame size entry: discrete (Min == Max) or stepwise.
type SizeRange struct {
	Min, Max, Step Size
}

// Has reports whether the range includes w x h.
func (r SizeRange) Has(w, h int) bool {
	in := func(v, lo, hi, step int) bool {
		if v < lo || v > hi {
			return false
		}
		return step <= 0 || (v-lo)%step == 0
	}
	return in(w, r.Min.Width, r.Max.Width, r.Step.Width) && in(h, r.Min.Height, r.Max.Height, r.Step.Height)
}

// Offers reports whether the device gives format f at exactly w x h.
func (p Probe) Offers(f FourCC, w, h int) bool {
	for _, r := range p.Formats[f] {
		if r.Has(w, h) {
			return true
		}
	}
	return false
}

// FormatNames lists the pixel formats offered, for messages.
func (p Probe) FormatNames() []string {
	var s []string
	for f := range p.Formats {
		s = append(s, f.String())
	}
	slices.Sort(s)
	return s
}
