//go:build !linux

package v4l2

import "time"

// ProbeDevice fails: V4L2 is Linux's.
func ProbeDevice(path string) (Probe, error) { return Probe{}, ErrUnsupported }

// codecControls is the Linux side's: no device, no controls.
type codecControls struct{}

func (codecControls) HasControl(id uint32) bool { return false }
func (codecControls) ForceKeyFrame() error      { return ErrNoControl }

// Capture is a streaming capture device (Linux only).
type Capture struct{ codecControls }

// OpenCapture fails: V4L2 is Linux's.
func OpenCapture(path string, f FourCC, w, h, fps int, controls map[uint32]int32) (*Capture, error) {
	return nil, ErrUnsupported
}

func (c *Capture) Next(timeout time.Duration) ([]byte, error) { return nil, ErrUnsupported }
func (c *Capture) Close() error                               { return nil }

// Encoder is a memory-to-memory encoder (Linux only).
type Encoder struct{ codecControls }

// OpenEncoder fails: V4L2 is Linux's.
func OpenEncoder(path string, in, out FourCC, w, h int, controls map[uint32]int32) (*Encoder, error) {
	return nil, ErrUnsupported
}

func (e *Encoder) FrameSize() int { return 0 }
func (e *Encoder) Encode(raw []byte, timeout time.Duration) ([]byte, error) {
	return nil, ErrUnsupported
}
func (e *Encoder) SetBitrate(bps int) error { return ErrNoControl }
func (e *Encoder) Close() error             { return nil }
