//go:build linux

package v4l2

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A memory-to-memory encoder (the V4L2 stateful encoder interface, as
// the Raspberry Pi's bcm2835-codec offers at /dev/video11): raw frames
// go into its OUTPUT queue, encoded frames come out of its CAPTURE queue.
// Multiplanar queues, one plane, MMAP buffers; one frame in flight.

// Buffer types and memory (linux/videodev2.h).
const (
	bufTypeCaptureMPlane = 9
	bufTypeOutputMPlane  = 10
	memoryMMAP           = 1
	capM2MMPlane         = 0x00004000
	capDeviceCaps        = 0x80000000
)

type capability struct {
	driver                 [16]byte
	card, busInfo          [32]byte
	version, caps, devCaps uint32
	reserved               [3]uint32
}

type planePixFormat struct {
	sizeimage, bytesperline uint32
	reserved                [6]uint16
}

type pixFormatMPlane struct {
	width, height, pixelformat, field, colorspace uint32
	planes                                        [8]planePixFormat
	numPlanes, flags, ycbcrEnc, quantization      uint8
	xferFunc                                      uint8
	reserved                                      [7]uint8
}

// format is struct v4l2_format: its union holds pointers (v4l2_window),
// so it starts at pointer alignment.
type format struct {
	typ uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
	raw [200]byte
}

type requestBuffers struct {
	count, typ, memory, capabilities uint32
	flags                            uint8
	reserved                         [3]uint8
}

type timecode struct {
	typ, flags                     uint32
	frames, seconds, minutes, hour uint8
	userbits                       [4]uint8
}

type plane struct {
	bytesused, length uint32
	m                 uintptr // mem_offset for MMAP
	dataOffset        uint32
	reserved          [11]uint32
}

type buffer struct {
	index, typ, bytesused, flags, field uint32
	timestamp                           unix.Timeval
	timecode                            timecode
	sequence, memory                    uint32
	m                                   uintptr // planes pointer for multiplanar
	length                              uint32
	reserved2                           uint32
	requestFD                           int32
}

type control struct {
	id    uint32
	value int32
}

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

var (
	vidiocQuerycap  = ioc(2, 0, unsafe.Sizeof(capability{}))
	vidiocSFmt      = ioc(3, 5, unsafe.Sizeof(format{}))
	vidiocReqbufs   = ioc(3, 8, unsafe.Sizeof(requestBuffers{}))
	vidiocQuerybuf  = ioc(3, 9, unsafe.Sizeof(buffer{}))
	vidiocQbuf      = ioc(3, 15, unsafe.Sizeof(buffer{}))
	vidiocDqbuf     = ioc(3, 17, unsafe.Sizeof(buffer{}))
	vidiocStreamon  = ioc(1, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamoff = ioc(1, 19, unsafe.Sizeof(int32(0)))
	vidiocSCtrl     = ioc(3, 28, unsafe.Sizeof(control{}))
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Encoder is an open memory-to-memory encoder. Its methods belong to one
// goroutine.
type Encoder struct {
	codecControls // and the device's path
	fd            int
	in, out       [][]byte // mmapped OUTPUT (raw) and CAPTURE (coded) buffers
	frame         int      // bytes of one raw frame
}

// encoderBuffers is how many coded buffers the driver may fill ahead.
const encoderBuffers = 2

// OpenEncoder opens the m2m encoder at path for w x h frames of raw
// format in, coded as out, and sets the controls the device has (bitrate,
// GOP size); others are left out.
func OpenEncoder(path string, in, out FourCC, w, h int, controls map[uint32]int32) (*Encoder, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e := &Encoder{fd: fd}
	e.codecControls = codecControls{path: path, setter: e.setControl}
	if err := e.setup(in, out, w, h, controls); err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func (e *Encoder) setup(in, out FourCC, w, h int, controls map[uint32]int32) error {
	var c capability
	if err := ioctl(e.fd, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		return fmt.Errorf("query capabilities: %w", err)
	}
	caps := c.caps
	if caps&capDeviceCaps != 0 {
		caps = c.devCaps
	}
	if caps&capM2MMPlane == 0 {
		return errors.New("not a multiplanar memory-to-memory device")
	}
	// The coded format first: the encoder interface derives the raw
	// side's choices from it.
	if err := e.setFormat(bufTypeCaptureMPlane, out, w, h); err != nil {
		return fmt.Errorf("coded format %v: %w", out, err)
	}
	if err := e.setFormat(bufTypeOutputMPlane, in, w, h); err != nil {
		return fmt.Errorf("raw format %v %dx%d: %w", in, w, h, err)
	}
	e.has = queryControls(e.fd)
	if err := e.setPresent(controls); err != nil {
		return err
	}
	var err error
	if e.in, err = e.mapBuffers(bufTypeOutputMPlane, 1); err != nil {
		return err
	}
	if e.out, err = e.mapBuffers(bufTypeCaptureMPlane, encoderBuffers); err != nil {
		return err
	}
	for i := range e.out {
		if err := e.queue(bufTypeCaptureMPlane, i, 0); err != nil {
			return err
		}
	}
	for _, t := range []int32{bufTypeOutputMPlane, bufTypeCaptureMPlane} {
		if err := ioctl(e.fd, vidiocStreamon, unsafe.Pointer(&t)); err != nil {
			return fmt.Errorf("stream on: %w", err)
		}
	}
	return nil
}

func (e *Encoder) setFormat(typ uint32, f FourCC, w, h int) error {
	fm := format{typ: typ}
	p := (*pixFormatMPlane)(unsafe.Pointer(&fm.raw[0]))
	p.width, p.height, p.pixelformat, p.numPlanes = uint32(w), uint32(h), uint32(f), 1
	if err := ioctl(e.fd, vidiocSFmt, unsafe.Pointer(&fm)); err != nil {
		return err
	}
	if FourCC(p.pixelformat) != f {
		return fmt.Errorf("the driver chose %v", FourCC(p.pixelformat))
	}
	if typ == bufTypeOutputMPlane {
		if p.numPlanes != 1 || int(p.width) != w || int(p.height) != h {
			return fmt.Errorf("the driver chose %dx%d in %d planes", p.width, p.height, p.numPlanes)
		}
		e.frame = int(p.planes[0].sizeimage)
	}
	return nil
}

func (e *Encoder) setControl(id uint32, v int32) error {
	c := control{id: id, value: v}
	return ioctl(e.fd, vidiocSCtrl, unsafe.Pointer(&c))
}

func (e *Encoder) mapBuffers(typ uint32, n int) ([][]byte, error) {
	rb := requestBuffers{count: uint32(n), typ: typ, memory: memoryMMAP}
	if err := ioctl(e.fd, vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return nil, fmt.Errorf("request buffers: %w", err)
	}
	var bufs [][]byte
	for i := 0; i < int(rb.count); i++ {
		var pl plane
		b := buffer{index: uint32(i), typ: typ, memory: memoryMMAP, m: uintptr(unsafe.Pointer(&pl)), length: 1}
		if err := ioctl(e.fd, vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
			return bufs, fmt.Errorf("query buffer %d: %w", i, err)
		}
		m, err := unix.Mmap(e.fd, int64(pl.m), int(pl.length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return bufs, fmt.Errorf("map buffer %d: %w", i, err)
		}
		bufs = append(bufs, m)
	}
	return bufs, nil
}

func (e *Encoder) queue(typ uint32, i, used int) error {
	pl := plane{bytesused: uint32(used)}
	if typ == bufTypeOutputMPlane {
		pl.length = uint32(len(e.in[i]))
	} else {
		pl.length = uint32(len(e.out[i]))
	}
	b := buffer{index: uint32(i), typ: typ, memory: memoryMMAP, m: uintptr(unsafe.Pointer(&pl)), length: 1}
	if err := ioctl(e.fd, vidiocQbuf, unsafe.Pointer(&b)); err != nil {
		return fmt.Errorf("queue buffer: %w", err)
	}
	return nil
}

// dequeue waits up to timeout for a buffer of queue typ; it returns its
// index and the bytes used.
func (e *Encoder) dequeue(typ uint32, timeout time.Duration) (int, int, error) {
	deadline := time.Now().Add(timeout)
	for {
		var pl plane
		b := buffer{typ: typ, memory: memoryMMAP, m: uintptr(unsafe.Pointer(&pl)), length: 1}
		err := ioctl(e.fd, vidiocDqbuf, unsafe.Pointer(&b))
		if err == nil {
			return int(b.index), int(pl.bytesused), nil
		}
		if err != unix.EAGAIN {
			return 0, 0, fmt.Errorf("dequeue: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, ErrTimeout
		}
		ev := int16(unix.POLLIN)
		if typ == bufTypeOutputMPlane {
			ev = unix.POLLOUT
		}
		fds := []unix.PollFd{{Fd: int32(e.fd), Events: ev}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return 0, 0, fmt.Errorf("poll: %w", err)
		}
	}
}

// FrameSize is the bytes of one raw frame the encoder takes.
func (e *Encoder) FrameSize() int { return e.frame }

// Encode encodes one raw frame and returns a copy of the coded one.
func (e *Encoder) Encode(raw []byte, timeout time.Duration) ([]byte, error) {
	if len(raw) != e.frame {
		return nil, fmt.Errorf("%s: a raw frame of %d bytes, want %d", e.path, len(raw), e.frame)
	}
	copy(e.in[0], raw)
	if err := e.queue(bufTypeOutputMPlane, 0, len(raw)); err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	i, n, err := e.dequeue(bufTypeCaptureMPlane, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: coded frame: %w", e.path, err)
	}
	coded := append([]byte(nil), e.out[i][:n]...)
	if err := e.queue(bufTypeCaptureMPlane, i, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	if _, _, err := e.dequeue(bufTypeOutputMPlane, timeout); err != nil {
		return nil, fmt.Errorf("%s: raw buffer back: %w", e.path, err)
	}
	return coded, nil
}

// SetBitrate changes the bitrate while encoding; ErrNoControl without one.
func (e *Encoder) SetBitrate(bps int) error { return e.set(CtrlBitrate, int32(bps)) }

// Close stops both queues, unmaps the buffers and closes the device.
func (e *Encoder) Close() error {
	for _, t := range []int32{bufTypeOutputMPlane, bufTypeCaptureMPlane} {
		ioctl(e.fd, vidiocStreamoff, unsafe.Pointer(&t))
	}
	for _, b := range append(e.in, e.out...) {
		unix.Munmap(b)
	}
	e.in, e.out = nil, nil
	return unix.Close(e.fd)
}
