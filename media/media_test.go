package media

import (
	"errors"
	"image"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
)

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      Config
		want    Config
		wantErr string
	}{
		{"empty", Config{}, Config{Camera: "auto", Mic: "auto", Speaker: "auto", Width: 640, Height: 480, FPS: 30, VideoBitrate: 1_000_000, KeyFrameInterval: 2 * time.Second}, ""},
		{"720p scales the bitrate", Config{Width: 1280, Height: 720}, Config{Camera: "auto", Mic: "auto", Speaker: "auto", Width: 1280, Height: 720, FPS: 30, VideoBitrate: 3_000_000, KeyFrameInterval: 2 * time.Second}, ""},
		{"key frames off", Config{KeyFrameInterval: -1}, Config{Camera: "auto", Mic: "auto", Speaker: "auto", Width: 640, Height: 480, FPS: 30, VideoBitrate: 1_000_000, KeyFrameInterval: -1}, ""},
		{"key frame interval", Config{KeyFrameInterval: time.Hour}, Config{}, "key frame interval"},
		{"odd size", Config{Width: 641, Height: 480}, Config{}, "video size"},
		{"fps", Config{FPS: 500}, Config{}, "frame rate"},
		{"port", Config{UDPPort: 70000}, Config{}, "udp port"},
		{"advertise", Config{Advertise: []string{"door.example"}}, Config{}, "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("withDefaults(%+v) = %v, want error with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("withDefaults(%+v): %v", tt.in, err)
			}
			if got.Camera != tt.want.Camera || got.Mic != tt.want.Mic || got.Speaker != tt.want.Speaker ||
				got.Width != tt.want.Width || got.Height != tt.want.Height || got.FPS != tt.want.FPS ||
				got.VideoBitrate != tt.want.VideoBitrate || got.KeyFrameInterval != tt.want.KeyFrameInterval {
				t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseICEServers(t *testing.T) {
	tests := []struct {
		in             string
		url, user, err string
	}{
		{"stun:stun.example.org:3478", "stun:stun.example.org:3478", "", ""},
		{"turn:door:s3cret@turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=udp", "door", ""},
		{"turn:turn.example.org", "", "", "credentials"},
		{"http://example.org", "", "", "ice server"},
	}
	for _, tt := range tests {
		got, err := parseICEServers([]string{tt.in})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseICEServers(%q) = %v, want error with %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].URLs[0] != tt.url || got[0].Username != tt.user {
			t.Errorf("parseICEServers(%q) = %+v, %v, want %s user %q", tt.in, got, err, tt.url, tt.user)
		}
	}
	if got := redact("turn:door:s3cret@turn.example.org"); strings.Contains(got, "s3cret") {
		t.Errorf("redact = %q, shows the password", got)
	}
}

// TestCameraFailureReported: a camera that fails is reported (Err, the
// ready light) without a busy loop, and reported well again once it reads.
func TestCameraFailureReported(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	frame := image.NewYCbCr(image.Rect(0, 0, 64, 64), image.YCbCrSubsampleRatio420)
	var reads atomic.Int64
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		reads.Add(1)
		if broken.Load() {
			return nil, func() {}, errors.New("unplugged")
		}
		return frame, func() {}, nil
	})
	var mu sync.Mutex
	var reports []error
	p := newVideoPipe(src, 64, 64, 30, 100_000, testLogger(t), func(err error) {
		mu.Lock()
		reports = append(reports, err)
		mu.Unlock()
	})
	defer p.close()
	o, err := p.out(h264)
	if err != nil {
		t.Fatal(err)
	}
	p.bind(o)
	defer p.unbind(o)
	last := func() (error, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(reports) == 0 {
			return nil, 0
		}
		return reports[len(reports)-1], len(reports)
	}
	within(t, 5*time.Second, "the failure to be reported", func() bool {
		err, n := last()
		return n > 0 && err != nil && strings.Contains(err.Error(), "unplugged")
	})
	if n := reads.Load(); n > 100 {
		t.Errorf("a failing camera was read %d times at once: want a pause between tries", n)
	}
	broken.Store(false)
	within(t, 5*time.Second, "the camera to be reported well and frames encoded", func() bool {
		err, n := last()
		return n >= 2 && err == nil && o.frames.Load() > 0
	})
}

func TestALSAMatches(t *testing.T) {
	tests := []struct {
		id, name, want string
		match          bool
	}{
		{":1,0", "Loopback, Loopback PCM", "hw:1,0", true},
		{":1,0", "Loopback, Loopback PCM", "plughw:1,0", true},
		{":1,0", "Loopback, Loopback PCM", "hw:1,1", false},
		{":1,0", "Loopback, Loopback PCM", "loopback", true},
		{"default", "Default Audio Device", "default", true},
		{"null", "Discard all samples (playback) or generate zero samples (capture)", "hw:0,0", false},
		{":0,0", "bcm2835 Headphones", "USB", false},
	}
	for _, tt := range tests {
		if got := alsaMatches(tt.id, tt.name, tt.want); got != tt.match {
			t.Errorf("alsaMatches(%q, %q, %q) = %v, want %v", tt.id, tt.name, tt.want, got, tt.match)
		}
	}
}
