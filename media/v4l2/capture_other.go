//go:build !linux

package v4l2

import "time"

// ProbeDevice fails: V4L2 is Linux's.
func ProbeDevice(path string) (Probe, error) { return Probe{}, ErrUnsupported }

// Capture is a streaming capture device (Linux only).
type Capture struct{}

// OpenCapture fails: V4L2 is Linux's.
func OpenCapture(path string, f FourCC, w, h, fps int, controls map[uint32]int32) (*Capture, error) {
	return nil, ErrUnsupported
}

func (c *Capture) Next(timeout time.Duration) ([]byte, error) { return nil, ErrUnsupported }
func (c *Capture) HasControl(id uint32) bool                  { return false }
func (c *Capture) ForceKeyFrame() error                       { return ErrNoControl }
func (c *Capture) Close() error                               { return nil }
