package media

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/media/v4l2"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/prop"
)

// USB cameras that encode H.264 themselves (V4L2_PIX_FMT_H264; UVC 1.1
// and 1.5 cameras) go out through the passthrough path like the camera
// module's hardware encoder: the camera's access units, as they came, one
// per buffer. Key frames come at the camera's own period (its GOP), which
// intercomd sets only where the driver has the control; a new call or a
// lost picture asks for one at once only where the driver has
// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME (uvcvideo has none: such a call
// waits for the camera's next key frame).

// h264Camera is a V4L2 camera's H.264 stream: v4l2.Capture, or a
// stand-in in tests.
type h264Camera interface {
	Next(timeout time.Duration) ([]byte, error)
	ForceKeyFrame() error
	Close() error
}

// usbH264 reads a USB camera's own H.264 while frames are wanted: it
// opens the stream on the first read and closes it once nobody has read
// for idleStop, as rpicam does with rpicam-vid. It is an auSource.
type usbH264 struct {
	open     func() (h264Camera, error) // opens and starts the stream
	log      *slog.Logger
	idleStop time.Duration

	mu       sync.Mutex
	cam      h264Camera  // guarded by mu; nil while stopped
	idle     *time.Timer // guarded by mu; closes cam once nobody reads
	sps, pps []byte      // guarded by mu; the stream's last parameter sets
	noKeyCtl bool        // guarded by mu; the driver said it has no key frame control
	opens    int         // guarded by mu; streams opened (for tests)
}

// usbRetry is how long a failed open waits before the caller hears of it,
// so a camera that is gone does not make the pipe spin.
const usbRetry = time.Second

func newUSBH264(open func() (h264Camera, error), log *slog.Logger) *usbH264 {
	return &usbH264{open: open, log: log, idleStop: rpicamIdleStop}
}

var _ auSource = (*usbH264)(nil)

// next returns the camera's next access unit, opening the stream if it is
// stopped. A failed read closes the stream: the next read opens it
// again, so a camera unplugged and plugged back in comes back.
func (u *usbH264) next(quit <-chan struct{}, wait time.Duration) (rpicamFrame, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	select {
	case <-quit:
		return rpicamFrame{}, errClosed
	default:
	}
	if u.idle != nil {
		u.idle.Stop()
	}
	defer func() { u.idle = time.AfterFunc(u.idleStop, u.stopIdle) }()
	if u.cam == nil {
		cam, err := u.open()
		if err != nil {
			u.mu.Unlock()
			select {
			case <-quit:
			case <-time.After(min(wait, usbRetry)):
			}
			u.mu.Lock()
			return rpicamFrame{}, err
		}
		u.cam, u.sps, u.pps = cam, nil, nil
		u.opens++
		u.log.Info("USB camera's H.264 stream started")
	}
	for {
		b, err := u.cam.Next(wait)
		if err != nil {
			u.cam.Close()
			u.cam = nil
			return rpicamFrame{}, err
		}
		au, err := u.accessUnit(b)
		if err != nil {
			return rpicamFrame{}, err
		}
		if au != nil {
			return rpicamFrame{data: au, at: time.Now()}, nil
		}
	}
}

var errNotAnnexB = errors.New("H.264 buffer without a start code (not Annex B)")

// accessUnit checks one buffer of the camera and remembers its parameter
// sets. A key frame without them gets the last ones put in front: some
// cameras send SPS and PPS only when the stream starts, and a browser
// that joins later decodes nothing without them. An empty buffer gives
// nil.
func (u *usbH264) accessUnit(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if start, _ := findStartCode(b, 0); start != 0 {
		return nil, errNotAnnexB
	}
	var hasSPS, hasPPS, idr bool
	for i := 0; ; {
		_, n := findStartCode(b, i)
		if n < 0 || n >= len(b) {
			break
		}
		end, _ := findStartCode(b, n)
		if end < 0 {
			end = len(b)
		}
		nal := trimZeros(b[n:end])
		i = n
		if len(nal) == 0 {
			continue
		}
		switch nal[0] & 0x1f {
		case nalSPS:
			hasSPS, u.sps = true, append(u.sps[:0], nal...)
		case nalPPS:
			hasPPS, u.pps = true, append(u.pps[:0], nal...)
		case nalIDR:
			idr = true
		}
	}
	if !idr || (hasSPS && hasPPS) || u.sps == nil || u.pps == nil {
		return b, nil
	}
	var au bytes.Buffer
	if !hasSPS {
		au.Write(startCode)
		au.Write(u.sps)
	}
	if !hasPPS {
		au.Write(startCode)
		au.Write(u.pps)
	}
	au.Write(b)
	return au.Bytes(), nil
}

// requestKeyFrame asks the camera for a key frame, where its driver has
// the control; once it says it has none, it is not asked again.
func (u *usbH264) requestKeyFrame() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cam == nil || u.noKeyCtl {
		return
	}
	err := u.cam.ForceKeyFrame()
	switch {
	case errors.Is(err, v4l2.ErrNoControl):
		u.noKeyCtl = true
		u.log.Info("the USB camera has no key frame control: a new call waits for the camera's next key frame")
	case err != nil:
		u.log.Warn("USB camera key frame request failed", "err", err)
	}
}

// stopIdle closes the stream when nobody read for idleStop.
func (u *usbH264) stopIdle() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cam != nil {
		u.cam.Close()
		u.cam = nil
		u.log.Info("USB camera's H.264 stream stopped: no call needs the camera")
	}
}

func (u *usbH264) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.idle != nil {
		u.idle.Stop()
	}
	if u.cam != nil {
		u.cam.Close()
		u.cam = nil
	}
}

// usbH264Driver puts the stream behind the driver interface media closes
// cameras with.
type usbH264Driver struct {
	u    *usbH264
	info driver.Info
}

var _ driver.Driver = usbH264Driver{}

func (d usbH264Driver) Open() error              { return nil }
func (d usbH264Driver) Close() error             { d.u.close(); return nil }
func (d usbH264Driver) Properties() []prop.Media { return nil }
func (d usbH264Driver) ID() string               { return d.info.Label }
func (d usbH264Driver) Status() driver.State     { return driver.StateOpened }
func (d usbH264Driver) Info() driver.Info        { return d.info }

// usbDevice is the /dev node behind a V4L2 camera driver's label
// ("usb-Vendor_Cam-video-index0;video0": by-id name, then the node).
func usbDevice(i driver.Info) string {
	parts := strings.Split(i.Label, ";")
	return "/dev/" + parts[len(parts)-1]
}

// usbPath decides whether a V4L2 camera's own H.264 is used, and says
// why, for the log and the self-check: the camera must offer H.264 at
// exactly the configured size (its H.264 cannot be scaled without
// re-encoding), and camera_encoder must not be "software".
func usbPath(p v4l2.Probe, choice string, w, h int) (h264 bool, why string) {
	switch {
	case choice == picamSoftware:
		return false, "camera_encoder: software"
	case p.Offers(v4l2.H264, w, h):
		return true, fmt.Sprintf("the camera offers H.264 at %dx%d", w, h)
	case len(p.Formats[v4l2.H264]) > 0:
		return false, fmt.Sprintf("the camera offers H.264, but not at %dx%d", w, h)
	}
	names := p.FormatNames()
	if len(names) > maxFormatNames { // vivid offers 83
		names = append(names[:maxFormatNames], fmt.Sprintf("%d more", len(names)-maxFormatNames))
	}
	return false, fmt.Sprintf("the camera offers no H.264 (%s)", strings.Join(names, ", "))
}

// maxFormatNames bounds the formats the self-check line names.
const maxFormatNames = 6

// keyFrameWords says how key frames come, for the self-check.
func keyFrameWords(p v4l2.Probe) string {
	if p.Controls[v4l2.CtrlForceKeyFrame] {
		return "key frames at the camera's own period, and at once on request (its driver has the control)"
	}
	return "key frames at the camera's own period only (its driver has no key frame control: a new call waits for the next)"
}
