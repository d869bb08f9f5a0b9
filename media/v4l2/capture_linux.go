//go:build linux

package v4l2

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

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
	p := Probe{Formats: map[FourCC][]SizeRange{}, Controls: map[uint32]bool{}}
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
	for _, id := range []uint32{CtrlBitrate, CtrlGOPSize, CtrlForceKeyFrame} {
		p.Controls[id] = hasControl(fd, id)
	}
	return p, nil
}

// queryctrl is struct v4l2_queryctrl.
type queryctrl struct {
	id, typ                      uint32
	name                         [32]byte
	min, max, step, defaultValue int32
	flags                        uint32
	reserved                     [2]uint32
}

// vidiocQueryctrl is VIDIOC_QUERYCTRL, _IOWR('V', 36, struct v4l2_queryctrl).
const vidiocQueryctrl = 0xc0000000 | uint(unsafe.Sizeof(queryctrl{}))<<16 | 'V'<<8 | 36

// ctrlFlagDisabled is V4L2_CTRL_FLAG_DISABLED.
const ctrlFlagDisabled = 0x0001

// hasControl asks the driver for one control. webcam's control list
// leaves out buttons, and the key frame control is one.
func hasControl(fd int, id uint32) bool {
	q := queryctrl{id: id}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(vidiocQueryctrl), uintptr(unsafe.Pointer(&q))); e != 0 {
		return false
	}
	return q.flags&ctrlFlagDisabled == 0
}

// Capture is a streaming capture device. Its methods belong to one
// goroutine.
type Capture struct {
	cam      *webcam.Webcam
	path     string
	controls map[uint32]bool
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
	c := &Capture{cam: cam, path: path, controls: p.Controls}
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
	for id, v := range controls {
		if c.controls[id] {
			if err := cam.SetControl(webcam.ControlID(id), v); err != nil {
				cam.Close()
				return nil, fmt.Errorf("%s: set control 0x%x to %d: %w", path, id, v, err)
			}
		}
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

// HasControl reports whether the device has the control id.
func (c *Capture) HasControl(id uint32) bool { return c.controls[id] }

// ForceKeyFrame asks the encoder for a key frame next; ErrNoControl when
// the driver has no control for it (uvcvideo has none).
func (c *Capture) ForceKeyFrame() error {
	if !c.controls[CtrlForceKeyFrame] {
		return ErrNoControl
	}
	if err := c.cam.SetControl(CtrlForceKeyFrame, 1); err != nil {
		return fmt.Errorf("%s: force key frame: %w", c.path, err)
	}
	return nil
}

// Close stops streaming and closes the device.
func (c *Capture) Close() error { return c.cam.Close() }
