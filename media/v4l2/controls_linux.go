//go:build linux

package v4l2

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// codecControls are the codec controls a device has (CtrlBitrate,
// CtrlGOPSize, CtrlForceKeyFrame) and how to set one. Capture and Encoder
// both embed it: they reach their device differently (webcam's handle, a
// plain fd) but answer HasControl and ForceKeyFrame alike.
type codecControls struct {
	path   string
	has    map[uint32]bool
	setter func(id uint32, v int32) error // the driver's VIDIOC_S_CTRL
}

// queryControls asks the device at fd which codec controls it has.
func queryControls(fd int) map[uint32]bool {
	has := map[uint32]bool{}
	for _, id := range []uint32{CtrlBitrate, CtrlGOPSize, CtrlForceKeyFrame} {
		has[id] = hasControl(fd, id)
	}
	return has
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

// HasControl reports whether the device has the control id.
func (c codecControls) HasControl(id uint32) bool { return c.has[id] }

// ForceKeyFrame asks the encoder for a key frame next; ErrNoControl when
// the driver has no control for it (uvcvideo and vicodec have none).
func (c codecControls) ForceKeyFrame() error {
	if !c.has[CtrlForceKeyFrame] {
		return ErrNoControl
	}
	if err := c.setter(CtrlForceKeyFrame, 1); err != nil {
		return fmt.Errorf("%s: force key frame: %w", c.path, err)
	}
	return nil
}

// set sets control id to v; ErrNoControl when the device lacks it.
func (c codecControls) set(id uint32, v int32) error {
	if !c.has[id] {
		return ErrNoControl
	}
	if err := c.setter(id, v); err != nil {
		return fmt.Errorf("set control 0x%x to %d: %w", id, v, err)
	}
	return nil
}

// setPresent sets each of values the device has; the ones it lacks are
// left out, not an error.
func (c codecControls) setPresent(values map[uint32]int32) error {
	for id, v := range values {
		if c.has[id] {
			if err := c.set(id, v); err != nil {
				return err
			}
		}
	}
	return nil
}
