package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/gpio/panel"
	"github.com/intercomd/intercomd/internal/rpicamtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rpicamtest.Remove() // the stand-in rpicam-vid, if a test built it
	os.Exit(code)
}

func TestSelfcheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr bool
		want    []string // regexps, each must match a line
		path    string   // "empty": no rpicam-vid; "stand-in": the stand-in first on PATH
		encoder string   // camera_encoder
	}{
		{
			name: "test devices",
			args: []string{"-camera", "test", "-mic", "test", "-speaker", "test", "-gpio", "none"},
			want: []string{
				`^codec H264 +ok: [0-9.]+ ms/frame at 640x480 \(20 frames`,
				`^codec VP8 +ok: [0-9.]+ ms/frame at 640x480 \(20 frames`,
				`^codec Opus +ok: [0-9.]+ ms per 20 ms chunk`,
				`^camera +ok: test pattern$`,
				`^microphone +ok: test tone$`,
				`^speaker +ok: counting sink$`,
				`^gpio +ok: off \(gpio.mode none\)$`,
				`^video +ok: software H.264 \(openh264\) from the camera's frames$`,
				`^self-check: all 8 items ok$`,
			},
		},
		{
			name: "devices off, simulated panel",
			args: []string{"-camera", "none", "-mic", "none", "-speaker", "none", "-gpio", "sim"},
			want: []string{`^camera +ok: off`, `^microphone +ok: off`, `^speaker +ok: off`, `^gpio +ok: simulated panel`},
		},
		{
			name:    "missing camera and microphone",
			args:    []string{"-camera", "/dev/video-none", "-mic", "no-such-card", "-speaker", "none", "-gpio", "none"},
			wantErr: true,
			want: []string{
				`^camera +FAIL: camera "/dev/video-none": device not found`,
				`^microphone +FAIL: microphone "no-such-card": device not found`,
				`^self-check: 2 of 7 items failed$`,
			},
		},
		{
			name:    "camera module without rpicam-vid",
			args:    []string{"-camera", "picam", "-mic", "none", "-speaker", "none", "-gpio", "none"},
			path:    "empty",
			wantErr: true,
			want: []string{
				`^camera +FAIL: camera picam: rpicam-vid not found on PATH \(install it: sudo apt install rpicam-apps\)$`,
				`^self-check: 1 of 7 items failed$`,
			},
		},
		{
			name:    "camera module, hardware H.264",
			args:    []string{"-camera", "auto", "-mic", "none", "-speaker", "none", "-gpio", "none"},
			path:    "stand-in",
			encoder: "hardware",
			want: []string{
				`^camera +ok: camera module imx708 \(/base/soc/i2c0mux/i2c@1/imx708@1a\) 640x480@30 via rpicam-vid$`,
				`^video +ok: hardware H.264, passed through without re-encoding \(camera_encoder: hardware; a key frame every 30 frames\)$`,
				`^self-check: all 8 items ok$`,
			},
		},
		{
			name: "camera module on a board without the encoder",
			args: []string{"-camera", "picam", "-mic", "none", "-speaker", "none", "-gpio", "none"},
			path: "stand-in",
			want: []string{
				`^video +ok: software H.264 \(openh264\) from rpicam-vid's YUV420 \(.* has no H.264 encoder\)$`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(flag.NewFlagSet("test", flag.ContinueOnError), tc.args)
			if err != nil {
				t.Fatalf("loadConfig(%q): %v", tc.args, err)
			}
			switch tc.path {
			case "empty":
				t.Setenv("PATH", t.TempDir())
			case "stand-in":
				rpicamtest.OnPath(t)
			}
			cfg.CameraEncoder = tc.encoder
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			err = selfcheck(ctx, cfg, &out)
			if (err != nil) != tc.wantErr {
				t.Errorf("selfcheck(%q) error = %v, want error: %v\n%s", tc.args, err, tc.wantErr, out.String())
			}
			lines := strings.Split(out.String(), "\n")
			for _, w := range tc.want {
				re := regexp.MustCompile(w)
				found := false
				for _, l := range lines {
					found = found || re.MatchString(l)
				}
				if !found {
					t.Errorf("selfcheck(%q) printed no line matching %q:\n%s", tc.args, w, out.String())
				}
			}
		})
	}
}

// TestPackagedConfig loads the config the .deb installs as
// /etc/intercomd/intercomd.yaml: every key must be one the loader knows
// (KnownFields), and its values must be the Pi defaults the package promises.
func TestPackagedConfig(t *testing.T) {
	const path = "../../build/debian/intercomd.yaml"
	cfg, err := loadConfig(flag.NewFlagSet("test", flag.ContinueOnError), []string{"-config", path})
	if err != nil {
		t.Fatalf("loadConfig(-config %s): %v", path, err)
	}
	if err := cfg.GPIO.Validate(); err != nil {
		t.Errorf("%s gpio section: %v", path, err)
	}
	def := panel.Default()
	for _, c := range []struct{ key, got, want string }{
		{"listen", cfg.Listen, ":443"},
		{"http_redirect", cfg.HTTPRedirect, ":80"},
		{"camera", cfg.Camera, "auto"},
		{"mic", cfg.Mic, "auto"},
		{"speaker", cfg.Speaker, "auto"},
		{"gpio.mode", cfg.GPIO.Mode, "auto"},
		{"gpio pins", cfg.GPIO.Pins(), def.Pins()},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s = %q, want %q", path, c.key, c.got, c.want)
		}
	}
	if cfg.GPIO.Relay.Pulse != 3*time.Second || cfg.GPIO.Debounce != 30*time.Millisecond {
		t.Errorf("%s: relay pulse %v, debounce %v; want 3s and 30ms", path, cfg.GPIO.Relay.Pulse, cfg.GPIO.Debounce)
	}
	if !cfg.GPIO.Buttons.Call.ActiveLow || cfg.GPIO.LEDs.Ready.ActiveLow {
		t.Errorf("%s: buttons must be active low and LEDs active high: %+v", path, cfg.GPIO)
	}
}
