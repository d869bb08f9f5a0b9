package media

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/intercomd/intercomd/media/v4l2"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	// The test tone stands in where the machine has no microphone (and
	// for -mic test); the test pattern is ours (testpattern.go).
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
)

// audioTestLabel is the label the test tone's driver registers under.
const audioTestLabel = "AudioTest"

// Descriptions of the stand-ins, as /healthz and the log show them.
const (
	descTestPattern  = "test pattern"
	descTestTone     = "test tone"
	descCountingSink = "counting sink"
	none             = "none"
)

// ErrNotFound is returned by New when a configured device does not exist.
var ErrNotFound = errors.New("device not found")

// camera is an opened video source.
type camera struct {
	driver             driver.Driver
	reader             video.Reader
	desc               string
	width, height, fps int
	path               string   // how its picture is encoded, and why (-selfcheck)
	picam              *rpicam  // the camera module's child, nil for other cameras
	usb                *usbH264 // a V4L2 camera's own H.264, nil for other cameras
}

// microphone is an opened audio source, always mono 48 kHz.
type microphone struct {
	reader audio.Reader
	desc   string
	close  func() error // stops the device
}

// realCameras lists the V4L2 cameras this build can see, best first.
func realCameras() []driver.Driver {
	ds := driver.GetManager().Query(func(d driver.Driver) bool {
		return driver.FilterVideoRecorder()(d) && d.Info().DeviceType == driver.Camera
	})
	sortDrivers(ds)
	return ds
}

// realMicrophones lists the capture devices this build can see, best first,
// without ALSA's "null" device, which only ever gives silence.
func realMicrophones() []driver.Driver {
	ds := driver.GetManager().Query(func(d driver.Driver) bool {
		i := d.Info()
		return driver.FilterAudioRecorder()(d) && i.DeviceType == driver.Microphone &&
			i.Label != audioTestLabel && !nullAudio(alsaID(i.Label), i.Name)
	})
	sortDrivers(ds)
	return ds
}

func sortDrivers(ds []driver.Driver) {
	slices.SortStableFunc(ds, func(a, b driver.Driver) int {
		if a.Info().Priority != b.Info().Priority {
			return int(b.Info().Priority) - int(a.Info().Priority)
		}
		return strings.Compare(a.Info().Label, b.Info().Label)
	})
}

func testDriver(label string) (driver.Driver, error) {
	ds := driver.GetManager().Query(func(d driver.Driver) bool { return d.Info().Label == label })
	if len(ds) == 0 {
		return nil, fmt.Errorf("%s driver: %w", label, ErrNotFound)
	}
	return ds[0], nil
}

// alsaID is the device name behind the microphone driver's label, which is
// miniaudio's device id in hex ("hw:1,0", "default", "null").
func alsaID(label string) string {
	b, err := hex.DecodeString(label)
	if err != nil {
		return label
	}
	return string(b)
}

// nullAudio recognises ALSA's null device: present on machines without a
// sound card, it discards playback and captures silence.
func nullAudio(id, name string) bool {
	return id == "null" || strings.HasPrefix(name, "Discard all samples")
}

// cameraMatches reports whether a camera is the one configured: a device
// path (/dev/video0, /dev/v4l/by-id/...), its base name, or part of its name.
func cameraMatches(i driver.Info, want string) bool {
	base := filepath.Base(want)
	for _, part := range strings.Split(i.Label, ";") {
		if part == want || part == base {
			return true
		}
	}
	return strings.Contains(strings.ToLower(i.Name), strings.ToLower(want))
}

// micMatches reports whether a capture device is the one configured.
func micMatches(i driver.Info, want string) bool {
	return alsaMatches(alsaID(i.Label), i.Name, want)
}

// alsaMatches reports whether the sound device miniaudio lists as id, with
// description name, is the one configured as want: its ALSA name ("hw:1,0",
// "plughw:CARD=Device,DEV=0") or part of its description. miniaudio lists
// a card's devices as ":1,0" and opens them through hw, plughw or dmix;
// makers write "hw:1,0" (found by the VM test on snd-aloop).
func alsaMatches(id, name, want string) bool {
	if strings.HasPrefix(id, ":") {
		for _, plugin := range []string{"hw", "plughw", "dmix", "dsnoop"} {
			if plugin+id == want {
				return true
			}
		}
	}
	return id == want || strings.Contains(strings.ToLower(name), strings.ToLower(want))
}

// openCamera opens a V4L2 camera in the mode closest to the configured one.
func openCamera(d driver.Driver, width, height, fps int) (*camera, error) {
	name := d.Info().Name
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("open camera %s: %w", name, err)
	}
	p, ok := chooseVideoProp(d.Properties(), width, height, fps)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("camera %s: no mode in a format intercomd decodes", name)
	}
	r, err := d.(driver.VideoRecorder).VideoRecord(p)
	if err != nil {
		return nil, fmt.Errorf("start camera %s %dx%d %s: %w", name, p.Width, p.Height, p.FrameFormat, err)
	}
	desc := fmt.Sprintf("%s (%s) %dx%d %s@%g", name, strings.Split(d.Info().Label, ";")[0],
		p.Width, p.Height, p.FrameFormat, p.FrameRate)
	return &camera{driver: d, reader: r, desc: desc, width: p.Width, height: p.Height, fps: int(p.FrameRate)}, nil
}

// formatRank orders the pixel formats intercomd decodes: raw YUV first
// (nothing to decompress), MJPEG last. Others (depth maps) are not used.
var formatRank = map[frame.Format]int{
	frame.FormatI420: 0, frame.FormatNV12: 1, frame.FormatNV21: 2,
	frame.FormatYUYV: 3, frame.FormatYUY2: 3, frame.FormatUYVY: 4, frame.FormatMJPEG: 5,
}

// chooseVideoProp picks the camera mode closest to width x height at fps:
// size first, then format, then a frame rate at least fps. The frame rate
// is always set in the result, so the camera and the encoder agree on it.
func chooseVideoProp(props []prop.Media, width, height, fps int) (prop.Media, bool) {
	best, bestCost := prop.Media{}, -1
	for _, p := range props {
		rank, ok := formatRank[p.FrameFormat]
		if !ok || p.Width <= 0 || p.Height <= 0 {
			continue
		}
		cost := (abs(p.Width-width) + abs(p.Height-height)) * 1000
		cost += rank * 100
		if p.FrameRate > 0 && int(p.FrameRate) < fps {
			cost += fps - int(p.FrameRate)
		} else if p.FrameRate > 0 {
			cost += int(p.FrameRate) - fps // a rate too high wastes less than one too low
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost = p, cost
		}
	}
	if bestCost < 0 {
		return prop.Media{}, false
	}
	if best.FrameRate == 0 || int(best.FrameRate) >= fps {
		best.FrameRate = float32(fps)
	}
	// After an idle spell the camera's queued frames are stale: drop them
	// rather than start a call with a picture of the past.
	best.DiscardFramesOlderThan = 500 * time.Millisecond
	return best, true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// micProp is how the microphone is always opened: mono, 48 kHz, 16 bit,
// 20 ms chunks. The channel count must be set: mediadevices' microphone
// driver panics on its first Read ("unsupported format") without one, and
// the ALSA driver reports 0 channels for devices that take any count.
func micProp() prop.Media {
	return prop.Media{Audio: prop.Audio{
		ChannelCount:  audioChannel,
		SampleRate:    sampleRate,
		SampleSize:    2,
		IsFloat:       false,
		IsInterleaved: true,
		Latency:       opusFrame,
	}}
}

func openTestMic() (*microphone, error) {
	d, err := testDriver(audioTestLabel)
	if err != nil {
		return nil, err
	}
	return openMic(d, descTestTone)
}

func openMic(d driver.Driver, desc string) (*microphone, error) {
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("open microphone %s: %w", desc, err)
	}
	r, err := d.(driver.AudioRecorder).AudioRecord(micProp())
	if err != nil {
		return nil, fmt.Errorf("start microphone %s: %w", desc, err)
	}
	return &microphone{reader: r, desc: desc, close: d.Close}, nil
}

func micDesc(d driver.Driver) string {
	return fmt.Sprintf("%s (%s)", d.Info().Name, alsaID(d.Info().Label))
}

// h264First puts the cameras that offer H.264 at the configured size
// first (camera_encoder software aside): a UVC camera often has its
// H.264 on a node of its own, after the one with raw frames.
func h264First(ds []driver.Driver, offersH264 func(driver.Driver) bool) []driver.Driver {
	offers := map[driver.Driver]bool{}
	for _, d := range ds {
		offers[d] = offersH264(d)
	}
	slices.SortStableFunc(ds, func(a, b driver.Driver) int {
		switch {
		case offers[a] == offers[b]:
			return 0
		case offers[a]:
			return -1
		}
		return 1
	})
	return ds
}

// offersH264 reports whether the camera's own H.264 would be used.
func (m *Media) offersH264(d driver.Driver) bool {
	p, err := v4l2.ProbeDevice(usbDevice(d.Info()))
	if err != nil {
		return false
	}
	h264, _ := usbPath(p, m.cfg.PicamEncoder, m.cfg.Width, m.cfg.Height)
	return h264
}

// openV4L2Camera opens a V4L2 camera: its own H.264 when it offers that
// at the configured size (passed through, usbh264.go), else its raw or
// MJPEG frames for our encoders.
func (m *Media) openV4L2Camera(d driver.Driver) (*camera, error) {
	cfg := m.cfg
	dev := usbDevice(d.Info())
	var h264 bool
	var why string
	p, err := v4l2.ProbeDevice(dev)
	if err != nil {
		why = fmt.Sprintf("its formats could not be listed: %v", err)
	} else {
		h264, why = usbPath(p, cfg.PicamEncoder, cfg.Width, cfg.Height)
	}
	if !h264 {
		cam, err := openCamera(d, cfg.Width, cfg.Height, cfg.FPS)
		if err != nil {
			return nil, err
		}
		cam.path = fmt.Sprintf("software H.264 (openh264) from the camera's frames (%s)", why)
		return cam, nil
	}
	gop := keyEvery(cfg.FPS, cfg.KeyFrameInterval)
	controls := map[uint32]int32{v4l2.CtrlBitrate: int32(cfg.VideoBitrate), v4l2.CtrlGOPSize: int32(gop)}
	w, h, fps := cfg.Width, cfg.Height, cfg.FPS
	u := newUSBH264(func() (h264Camera, error) {
		c, err := v4l2.OpenCapture(dev, v4l2.H264, w, h, fps, controls)
		if err != nil {
			return nil, err
		}
		return c, nil
	}, m.log.With("camera", dev))
	name := d.Info().Name
	cam := &camera{driver: usbH264Driver{u: u, info: d.Info()}, usb: u, width: w, height: h, fps: fps,
		desc: fmt.Sprintf("%s (%s) %dx%d H264@%d", name, dev, w, h, fps),
		path: fmt.Sprintf("H.264 from the USB camera, passed through without re-encoding (%s; %s)", why, keyFrameWords(p))}
	m.log.Info("USB camera's own H.264", "camera", name, "video", cam.path)
	return cam, nil
}
