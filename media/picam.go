package media

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The Raspberry Pi camera module (CSI ribbon) is driven by libcamera; its
// /dev/video nodes are not a plain V4L2 camera. intercomd takes its frames
// from the system's own camera program, rpicam-vid, run as a child (see
// rpicam.go). On boards with the VideoCore H.264 encoder (Zero 2 W, 3, 4)
// rpicam-vid hands over hardware-encoded H.264 that goes out without
// re-encoding (passthrough.go); on a Pi 5, which has no encoder, it hands
// over YUV420 frames that openh264 encodes like any camera's.

// rpicamVid is the camera program, looked up on PATH.
const rpicamVid = "rpicam-vid"

// ErrNoRpicam is returned when camera "picam" is configured and rpicam-vid
// is not installed.
var ErrNoRpicam = errors.New("rpicam-vid not found on PATH (install it: sudo apt install rpicam-apps)")

// ErrNoCameraModule is returned when camera "picam" is configured and
// libcamera sees no camera module.
var ErrNoCameraModule = errors.New("no camera module detected")

// Encoder choices for the camera module (Config.PicamEncoder).
const (
	picamAuto     = "auto"
	picamHardware = "hardware"
	picamSoftware = "software"
)

// boardModelFile names the board on a Raspberry Pi (and most ARM boards).
const boardModelFile = "/proc/device-tree/model"

// boardModel is the board's name, "" where the kernel gives none.
func boardModel() string {
	b, err := os.ReadFile(boardModelFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
}

// hasH264Encoder reports whether a board has the VideoCore H.264 encoder
// that rpicam-vid uses: every Raspberry Pi before the 5 (Zero, Zero 2 W, 1
// to 4, 400, Compute Modules 1 to 4). The Pi 5 family (5, 500, CM5)
// dropped it. Other boards are not known to rpicam-vid's encoder.
func hasH264Encoder(model string) bool {
	if !strings.HasPrefix(model, "Raspberry Pi") {
		return false
	}
	for _, p := range []string{"Raspberry Pi 5", "Raspberry Pi 500", "Raspberry Pi Compute Module 5"} {
		if strings.HasPrefix(model, p) {
			return false
		}
	}
	return true
}

// picamPath decides how the camera module's frames are encoded, and says
// why, for the log and the self-check.
func picamPath(choice, model string) (hardware bool, why string) {
	board := model
	if board == "" {
		board = "this machine (no " + boardModelFile + ")"
	}
	switch choice {
	case picamHardware:
		return true, "camera_encoder: hardware"
	case picamSoftware:
		return false, "camera_encoder: software"
	}
	if hasH264Encoder(model) {
		return true, board + " has the H.264 encoder"
	}
	return false, board + " has no H.264 encoder"
}

// picamOptions are the camera module's settings from Config.
type picamOptions struct {
	width, height, fps int
	bitrate            int
	keyEvery           int // frames between key frames
	rotation           int
	hflip, vflip       bool
	exposure           string
	hardware           bool
}

// picamKeyInterval is the longest gap between rpicam-vid's key frames.
// Its encoder cannot be asked for a key frame while it runs, so a new call
// or a receiver that lost the picture waits for the next one: at most
// this long.
const picamKeyInterval = time.Second

// keyEvery is the key frame period in frames for rpicam-vid's --intra:
// the configured key frame interval, at most picamKeyInterval.
func keyEvery(fps int, interval time.Duration) int {
	if interval <= 0 || interval > picamKeyInterval {
		interval = picamKeyInterval
	}
	return max(1, int(time.Duration(fps)*interval/time.Second))
}

// h264Level is the H.264 level for rpicam-vid's --level, which takes 4,
// 4.1 and 4.2 only: 4 carries up to 1080p at 30 fps (245,760 macroblocks
// a second, table A-1), 4.2 up to 1080p at 60. Browsers decode either
// whatever the SDP's profile-level-id says.
func h264Level(w, h, fps int) string {
	if ((w+15)/16)*((h+15)/16)*fps <= 245760 {
		return "4"
	}
	return "4.2"
}

// args is rpicam-vid's command line: endless, no preview window, the
// stream on stdout, written as soon as each frame is ready.
func (o picamOptions) args() []string {
	a := []string{
		"-t", "0", "--nopreview", "-o", "-", "--flush",
		"--width", strconv.Itoa(o.width), "--height", strconv.Itoa(o.height),
		"--framerate", strconv.Itoa(o.fps),
	}
	if o.hardware {
		// Baseline and inline headers: every key frame carries SPS and PPS,
		// so a browser joining mid-stream decodes from the next one.
		a = append(a, "--codec", "h264", "--profile", "baseline", "--level", h264Level(o.width, o.height, o.fps),
			"--inline", "--intra", strconv.Itoa(o.keyEvery), "--bitrate", strconv.Itoa(o.bitrate))
	} else {
		a = append(a, "--codec", "yuv420")
	}
	if o.rotation != 0 {
		a = append(a, "--rotation", strconv.Itoa(o.rotation))
	}
	if o.hflip {
		a = append(a, "--hflip")
	}
	if o.vflip {
		a = append(a, "--vflip")
	}
	if o.exposure != "" && o.exposure != "normal" {
		a = append(a, "--exposure", o.exposure)
	}
	return a
}

// cameraModule is one camera libcamera lists.
type cameraModule struct {
	index  int
	sensor string // imx708
	id     string // /base/soc/i2c0mux/i2c@1/imx708@1a
}

// listLine is one camera in rpicam-vid --list-cameras:
// "0 : imx708 [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)".
var listLine = regexp.MustCompile(`^\s*(\d+) : (\S+) \[[^\]]*\] \((.*)\)\s*$`)

// parseCameraList reads rpicam-vid --list-cameras. Only cameras on an I2C
// bus are camera modules: libcamera also lists USB cameras (UVC), which
// intercomd opens as plain V4L2 cameras.
func parseCameraList(out []byte) []cameraModule {
	var mods []cameraModule
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := listLine.FindStringSubmatch(sc.Text())
		if m == nil || !strings.Contains(m[3], "/i2c@") {
			continue
		}
		i, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		mods = append(mods, cameraModule{index: i, sensor: m[2], id: m[3]})
	}
	return mods
}

// listTimeout bounds rpicam-vid --list-cameras, which opens every sensor.
const listTimeout = 15 * time.Second

// findCameraModule asks rpicam-vid for the camera modules. It returns
// ErrNoRpicam when the program is missing and ErrNoCameraModule when it
// lists none.
func findCameraModule() (string, cameraModule, error) {
	bin, err := exec.LookPath(rpicamVid)
	if err != nil {
		return "", cameraModule{}, ErrNoRpicam
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--list-cameras").CombinedOutput()
	mods := parseCameraList(out)
	if len(mods) == 0 {
		said := strings.TrimSpace(lastLine(out))
		if err != nil {
			said = fmt.Sprintf("%s: %v", said, err)
		}
		return bin, cameraModule{}, fmt.Errorf("%w (rpicam-vid --list-cameras: %s): check the ribbon cable, and camera_auto_detect=1 in /boot/firmware/config.txt", ErrNoCameraModule, said)
	}
	return bin, mods[0], nil
}

// lastLine is the last non-empty line of a program's output, for errors.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// autoPicam opens the camera module for Camera "auto" when rpicam-vid is
// installed and lists one; nil (and no error) otherwise.
func (m *Media) autoPicam() (*camera, error) {
	bin, mod, err := findCameraModule()
	switch {
	case errors.Is(err, ErrNoRpicam):
		m.log.Debug("no rpicam-vid: not looking for a camera module")
		return nil, nil
	case errors.Is(err, ErrNoCameraModule):
		m.log.Info("no camera module", "why", err)
		return nil, nil
	}
	return m.openPicam(bin, mod, err)
}

// openPicam sets up rpicam-vid for the camera module found; it starts when
// a call or a snapshot first reads.
func (m *Media) openPicam(bin string, mod cameraModule, err error) (*camera, error) {
	if err != nil {
		return nil, fmt.Errorf("camera picam: %w", err)
	}
	cfg := m.cfg
	model := boardModel()
	hw, why := picamPath(cfg.PicamEncoder, model)
	if !hw && cfg.Width%64 != 0 {
		// rpicam-vid's raw frames are read as width x height x 1.5 bytes;
		// the ISPs pad rows to a multiple of 64 bytes.
		return nil, fmt.Errorf("camera picam: width %d: the camera module's raw frames need a width divisible by 64 (640, 1280, 1920)", cfg.Width)
	}
	o := picamOptions{
		width: cfg.Width, height: cfg.Height, fps: cfg.FPS, bitrate: cfg.VideoBitrate,
		keyEvery: keyEvery(cfg.FPS, cfg.KeyFrameInterval),
		rotation: cfg.Rotation, hflip: cfg.HFlip, vflip: cfg.VFlip, exposure: cfg.Exposure,
		hardware: hw,
	}
	r := newRpicam(bin, o, m.log)
	cam := &camera{driver: rpicamDriver{r}, picam: r, width: o.width, height: o.height, fps: o.fps,
		desc: fmt.Sprintf("camera module %s (%s) %dx%d@%d via rpicam-vid", mod.sensor, mod.id, o.width, o.height, o.fps)}
	if hw {
		cam.path = fmt.Sprintf("hardware H.264, passed through without re-encoding (%s; a key frame every %d frames)", why, o.keyEvery)
	} else {
		cam.path = fmt.Sprintf("software H.264 (openh264) from rpicam-vid's YUV420 (%s)", why)
	}
	m.log.Info("camera module", "sensor", mod.sensor, "board", model, "video", cam.path)
	return cam, nil
}

// sendCodecs are the video codecs the door offers: H.264 alone when the
// camera hands over H.264, else every encoder of this build.
func (m *Media) sendCodecs() []videoCodec {
	if m.video != nil && m.video.au != nil {
		return []videoCodec{h264}
	}
	return videoCodecs()
}

// ProbeCamera reads one frame from a camera that runs as a child program
// (the camera module), so that the self-check proves it delivers; other
// cameras proved themselves when they opened.
func (m *Media) ProbeCamera(wait time.Duration) error {
	var src auSource
	switch {
	case m.camera == nil:
		return nil
	case m.camera.picam != nil:
		src = m.camera.picam
	case m.camera.usb != nil:
		src = m.camera.usb // its stream opens only when read
	default:
		return nil
	}
	_, err := src.next(nil, wait)
	return err
}
