//go:build linux

package v4l2

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

// ProbeDevice opens path and lists its formats, sizes and codec controls.
func ProbeDevice(path string) (Probe, error) {
	cam, err := webcam.Open(path)
	if err != nil {
		return Probe{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer cam.Close()
	p := Probe{Formats: map[FourCC][]SizeRange{}}
	p.Name, _ = cam.GetName()
	for f := range cam.GetSupportedFormats() {
		var sizes []SizeRange
		for _, s := range cam.GetSupportedFrameSizes(f) {
			sizes = append(sizes, SizeRange{
				Min:  Size{int(s.MinWidth), int(s.MinHeight)},
				Max:  Size{int(s.MaxWidth), int(s.MaxHeight)},
				Step: Size{int(s.StepWidth), int(s.StepHeight)},
			})
		}
		p.Formats[FourCC(f)] = sizes
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return Probe{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	p.Controls = queryControls(fd)
	return p, nil
}

// Capture is a streaming capture device. Its methods belong to one
// goroutine.
type Capture struct {
	codecControls // and the device's path
	cam           *webcam.Webcam
}

// captureBuffers is how many buffers the driver fills ahead: enough for a
// reader that is a frame late, few enough that a frame is never old.
const captureBuffers = 4

// OpenCapture opens path, sets format f at w x h and fps (the driver may
// refuse the rate; the format and size it must take) and starts
// streaming. controls are set where the device has them (bitrate, GOP
// size); a control the device lacks is left out, not an error.
func OpenCapture(path string, f FourCC, w, h, fps int, controls map[uint32]int32) (*Capture, error) {
	p, err := ProbeDevice(path)
	if err != nil {
		return nil, err
	}
	cam, err := webcam.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c := &Capture{cam: cam, codecControls: codecControls{
		path: path,
		has:  p.Controls,
		setter: func(id uint32, v int32) error {
			return cam.SetControl(webcam.ControlID(id), v)
		},
	}}
	got, gw, gh, err := cam.SetImageFormat(webcam.PixelFormat(f), uint32(w), uint32(h))
	if err != nil {
		cam.Close()
		return nil, fmt.Errorf("%s: set %v %dx%d: %w", path, f, w, h, err)
	}
	if FourCC(got) != f || int(gw) != w || int(gh) != h {
		cam.Close()
		return nil, fmt.Errorf("%s: asked for %v %dx%d, the driver chose %v %dx%d", path, f, w, h, FourCC(got), gw, gh)
	}
	if fps > 0 {
		cam.SetFramerate(float32(fps)) // a driver without S_PARM runs at its own rate
	}
	if err := c.setPresent(controls); err != nil {
		cam.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := cam.SetBufferCount(captureBuffers); err != nil {
		cam.Close()
		return nil, err
	}
	if err := cam.StartStreaming(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Next waits up to timeout for the next filled buffer and returns a copy
// of the bytes the driver put in it (bytesused).
func (c *Capture) Next(timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("%s: %w (%v)", c.path, ErrTimeout, timeout)
		}
		// webcam waits in whole seconds.
		err := c.cam.WaitForFrame(uint32(math.Ceil(left.Seconds())))
		var to *webcam.Timeout
		if errors.As(err, &to) {
			continue
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("%s: wait for frame: %w", c.path, err)
		}
		b, i, err := c.cam.GetFrame()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: dequeue: %w", c.path, err)
		}
		out := append([]byte(nil), b...)
		if err := c.cam.ReleaseFrame(i); err != nil {
			return nil, fmt.Errorf("%s: queue buffer: %w", c.path, err)
		}
		return out, nil
	}
}

// Close stops streaming and closes the device.
func (c *Capture) Close() error { return c.cam.Close() }
