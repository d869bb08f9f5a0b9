package media

import (
	"bytes"
	"errors"
	"image/jpeg"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/rpicamtest"
	"github.com/pion/webrtc/v4"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rpicamtest.Remove()
	os.Exit(code)
}

func TestParseCameraList(t *testing.T) {
	list := `Available cameras
-----------------
0 : imx708_wide_noir [4608x2592 10-bit RGGB] (/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a)
    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768,432)/3072x1728 crop]

1 : uvcvideo [1280x720 ] (/base/scb/pcie@7d500000/pci@0,0/usb@0,0-1:1.0-046d:0825)
`
	got := parseCameraList([]byte(list))
	want := []cameraModule{{index: 0, sensor: "imx708_wide_noir", id: "/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a"}}
	if !slices.Equal(got, want) {
		t.Errorf("parseCameraList = %+v, want %+v (the USB camera is not a camera module)", got, want)
	}
	if got := parseCameraList([]byte("No cameras available!\n")); len(got) != 0 {
		t.Errorf("parseCameraList(none) = %+v, want none", got)
	}
}

func TestPicamPath(t *testing.T) {
	tests := []struct {
		choice, model string
		hardware      bool
	}{
		{"auto", "Raspberry Pi Zero 2 W Rev 1.0", true},
		{"auto", "Raspberry Pi 3 Model B Plus Rev 1.3", true},
		{"auto", "Raspberry Pi 4 Model B Rev 1.4", true},
		{"auto", "Raspberry Pi Compute Module 4 Rev 1.0", true},
		{"auto", "Raspberry Pi 5 Model B Rev 1.0", false},
		{"auto", "Raspberry Pi 500 Rev 1.0", false},
		{"auto", "Raspberry Pi Compute Module 5 Rev 1.0", false},
		{"auto", "", false},
		{"auto", "Radxa ROCK 5B", false},
		{"hardware", "", true},
		{"software", "Raspberry Pi 4 Model B Rev 1.4", false},
	}
	for _, tt := range tests {
		hw, why := picamPath(tt.choice, tt.model)
		if hw != tt.hardware || why == "" {
			t.Errorf("picamPath(%q, %q) = %v, %q; want %v and a reason", tt.choice, tt.model, hw, why, tt.hardware)
		}
	}
}

func TestPicamArgs(t *testing.T) {
	o := picamOptions{width: 1280, height: 720, fps: 30, bitrate: 2_000_000, keyEvery: keyEvery(30, 2*time.Second),
		rotation: 180, exposure: "long", hardware: true}
	got := strings.Join(o.args(), " ")
	for _, want := range []string{"-t 0", "--nopreview", "-o -", "--flush", "--codec h264", "--profile baseline",
		"--level 4", "--inline", "--intra 30", "--bitrate 2000000", "--width 1280", "--height 720",
		"--framerate 30", "--rotation 180", "--exposure long"} {
		if !strings.Contains(got+" ", want+" ") {
			t.Errorf("args = %q, want %q in it", got, want)
		}
	}
	o.hardware = false
	if got := strings.Join(o.args(), " "); !strings.Contains(got, "--codec yuv420") || strings.Contains(got, "--bitrate") {
		t.Errorf("software args = %q, want --codec yuv420 and no encoder options", got)
	}
	if l := h264Level(1920, 1080, 60); l != "4.2" {
		t.Errorf("h264Level(1080p60) = %q, want 4.2", l)
	}
}

// TestPicamMissing: without rpicam-vid, "picam" fails with the reason and
// "auto" goes on to the other cameras.
func TestPicamMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := New(Config{Camera: "picam", Mic: "none", Speaker: "none", Loopback: true}, testLogger(t))
	if !errors.Is(err, ErrNoRpicam) || !strings.Contains(err.Error(), "apt install rpicam-apps") {
		t.Errorf("New(picam) without rpicam-vid = %v, want ErrNoRpicam saying what to install", err)
	}
	m := newTestMedia(t, Config{Camera: "auto", Mic: "none", Speaker: "none"})
	if strings.Contains(m.Sources()["camera"], "camera module") {
		t.Errorf("auto without rpicam-vid chose %q", m.Sources()["camera"])
	}
}

// TestPicamNoCamera: rpicam-vid present, no camera module detected.
func TestPicamNoCamera(t *testing.T) {
	rpicamtest.OnPath(t)
	t.Setenv("RPICAM_STANDIN_CAMERAS", "none")
	_, err := New(Config{Camera: "picam", Mic: "none", Speaker: "none", Loopback: true}, testLogger(t))
	if !errors.Is(err, ErrNoCameraModule) || !strings.Contains(err.Error(), "No cameras available!") {
		t.Errorf("New(picam) with no camera = %v, want ErrNoCameraModule quoting rpicam-vid", err)
	}
}

// picamMedia opens the camera module through the stand-in rpicam-vid.
func picamMedia(t *testing.T, encoder string) *Media {
	t.Helper()
	rpicamtest.OnPath(t)
	m := newTestMedia(t, Config{Camera: "auto", PicamEncoder: encoder, Mic: "test", Speaker: "test",
		Width: 640, Height: 480, FPS: 30, HFlip: true, Exposure: "long"})
	if !strings.Contains(m.Sources()["camera"], "camera module imx708") {
		t.Fatalf("auto with a camera module chose %q", m.Sources()["camera"])
	}
	return m
}

// TestPicamHardwarePassthrough: on a board with the H.264 encoder the
// camera's stream reaches the call as it came (inline SPS and PPS before
// each key frame, no encoder of ours), only H.264 is offered, and a
// snapshot decodes the stream. When rpicam-vid dies mid-call it is
// started again and the picture comes back.
func TestPicamHardwarePassthrough(t *testing.T) {
	m := picamMedia(t, "hardware")
	if v := m.Sources()["video"]; !strings.Contains(v, "hardware H.264, passed through") {
		t.Errorf("Sources()[video] = %q, want the passthrough path", v)
	}
	if c := m.Sources()["codecs"]; c != "H264,Opus" {
		t.Errorf("codecs = %q, want H264,Opus: passthrough has no other codec", c)
	}
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
	doorAnswers(t, m, r)
	within(t, 20*time.Second, "key frames with inline headers", func() bool {
		return r.get(func(r *remote) bool { return r.frames > 40 && r.nals[nalSPS] >= 2 && r.nals[nalIDR] >= 2 })
	})
	if full, _, err := m.Snapshot(); err != nil || len(full) == 0 {
		t.Errorf("Snapshot on passthrough = %d bytes, %v; want the decoded picture", len(full), err)
	}
	if outs, _ := m.video.snapshot(nil); len(outs) != 1 || outs[0].frames.Load() == 0 {
		t.Error("the H.264 output counted no frames")
	}

	rp := m.camera.picam
	pid := rp.pid()
	if pid == 0 {
		t.Fatal("no rpicam-vid running during the call")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "rpicam-vid restarted", func() bool { p := rp.pid(); return p != 0 && p != pid })
	var before int
	r.get(func(r *remote) bool { before = r.frames; return true })
	within(t, 20*time.Second, "the picture after the restart", func() bool {
		return r.get(func(r *remote) bool { return r.frames > before+30 })
	})
	if rp.starts.Load() < 2 {
		t.Errorf("rpicam-vid started %d times, want a restart", rp.starts.Load())
	}
}

// TestPicamSoftware: on a Pi 5 rpicam-vid hands over YUV420, which the
// door encodes itself: every codec, and snapshots.
func TestPicamSoftware(t *testing.T) {
	m := picamMedia(t, "software")
	if v := m.Sources()["video"]; !strings.Contains(v, "software H.264 (openh264) from rpicam-vid's YUV420") {
		t.Errorf("Sources()[video] = %q, want the software path", v)
	}
	full, _, err := m.Snapshot()
	if err != nil || len(full) == 0 {
		t.Fatalf("Snapshot = %d bytes, %v", len(full), err)
	}
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
	doorAnswers(t, m, r)
	within(t, 20*time.Second, "video from the camera module", func() bool {
		return r.get(func(r *remote) bool { return r.frames > 30 && r.nals[nalIDR] >= 1 })
	})
}

// snapshotShowsNow takes a snapshot and reads the stand-in's clock
// picture back from its JPEG: it must show a moment ago.
func snapshotShowsNow(t *testing.T, m *Media, when string) {
	t.Helper()
	full, _, err := m.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot %s: %v", when, err)
	}
	pic, err := jpeg.Decode(bytes.NewReader(full))
	if err != nil {
		t.Fatalf("Snapshot %s is no JPEG: %v", when, err)
	}
	if at, err := ReadClock(pic); err != nil || time.Since(at) > 10*time.Second || time.Since(at) < 0 {
		t.Errorf("the snapshot's clock %s = %v, %v; want a moment ago", when, at, err)
	}
}

// TestPicamIdleStop: rpicam-vid runs only while frames are wanted: a
// snapshot, a probe.
func TestPicamIdleStop(t *testing.T) {
	rpicamtest.OnPath(t)
	m := newTestMedia(t, Config{Camera: "picam", PicamEncoder: "hardware", Mic: "none", Speaker: "none"})
	rp := m.camera.picam
	rp.idleStop = 300 * time.Millisecond
	if rp.pid() != 0 {
		t.Fatal("rpicam-vid runs before anyone wants frames")
	}
	// A snapshot with no call starts the camera and decodes its first key
	// frame: the stand-in's clock picture, read back from the JPEG.
	snapshotShowsNow(t, m, "with no call")
	if err := m.ProbeCamera(10 * time.Second); err != nil {
		t.Fatalf("ProbeCamera: %v", err)
	}
	within(t, 10*time.Second, "rpicam-vid stopped while idle", func() bool { return rp.pid() == 0 })
	if err := m.ProbeCamera(10 * time.Second); err != nil {
		t.Fatalf("ProbeCamera after idle: %v", err)
	}
}
