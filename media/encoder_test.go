package media

import (
	"bytes"
	"testing"

	"github.com/pion/mediadevices/pkg/codec"

	"github.com/intercomd/intercomd/media/openh264"
)

// testFrames opens the test pattern (colour bars, a grey ramp and
// a corner of binary noise, the input that makes openh264 skip frames) at
// 1000 frames per second, so encoder tests do not wait for a clock.
func testFrames(t *testing.T, w, h int) *camera {
	t.Helper()
	cam, err := openTestCamera(w, h, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cam.driver.Close() })
	return cam
}

// trapEncoder builds openh264 as the door must not: told a frame rate of
// fps (mediadevices' GetUserMedia path told it 0, which openh264 took as
// a few frames a second) and with frame skipping as asked (openh264's and
// mediadevices' default is on). It is here to show that the tests below
// catch the traps they guard against.
func trapEncoder(cam *camera, fps, bitrate int, skip bool) (codec.ReadCloser, error) {
	return openh264.NewReader(cam.reader, openh264.Config{
		Width: cam.width, Height: cam.height, FPS: fps, Bitrate: bitrate, KeyFrameInterval: 30, FrameSkip: skip,
	})
}

// encodeN encodes n frames and returns the bytes of the last measured ones
// (after a warm-up of a second's worth, while rate control settles) and how
// many reads gave no frame.
func encodeN(t *testing.T, enc codec.ReadCloser, warmup, n int) (bytes, empty int) {
	t.Helper()
	defer enc.Close()
	for i := 0; i < warmup+n; i++ {
		b, _, err := enc.Read()
		if err != nil {
			t.Fatalf("Read frame %d: %v", i, err)
		}
		if len(b) == 0 {
			empty++
		}
		if i >= warmup {
			bytes += len(b)
		}
	}
	return bytes, empty
}

// TestH264BytesPerFrame guards the frame rate trap: openh264 budgets bits
// per frame from the frame rate it is given (mediadevices' path gave it 0,
// which sent about 7x the target); told 10 frames a second and fed 30, it
// sends about 3x. Measured in encoded bytes over frames,
// not in time. The rows that must hit the target use bitrates the test
// pattern can be squeezed into: at 640x480 and 1 Mbit/s its corner of
// binary noise needs more than openh264's largest quantiser (42, which the
// library sets itself when rate control is on) allows, and with frame
// skipping off it then sends about 2.2x rather than drop frames.
func TestH264BytesPerFrame(t *testing.T) {
	tests := []struct {
		name          string
		w, h, fps, br int
		trap          bool // told the wrong frame rate
		lo, hi        float64
	}{
		{"640x480@30 3Mbit/s", 640, 480, 30, 3_000_000, false, 0.75, 1.3},
		{"320x240@30 1Mbit/s", 320, 240, 30, 1_000_000, false, 0.75, 1.3},
		{"640x480@15 1.5Mbit/s", 640, 480, 15, 1_500_000, false, 0.75, 1.3},
		{"trap: told 10 frames/s, 640x480 3Mbit/s", 640, 480, 30, 3_000_000, true, 1.8, 100},
		{"trap: told 10 frames/s, 320x240 1Mbit/s", 320, 240, 30, 1_000_000, true, 1.8, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam := testFrames(t, tt.w, tt.h)
			var enc codec.ReadCloser
			var err error
			if tt.trap {
				enc, err = trapEncoder(cam, 10, tt.br, false)
			} else {
				enc, err = buildH264(cam.reader, tt.w, tt.h, tt.fps, tt.br)
			}
			if err != nil {
				t.Fatal(err)
			}
			const n = 90
			got, _ := encodeN(t, enc, tt.fps, n)
			perFrame := float64(got) / n
			target := float64(tt.br) / 8 / float64(tt.fps)
			ratio := perFrame / target
			t.Logf("%.0f bytes per frame, target %.0f: %.2fx", perFrame, target, ratio)
			if ratio < tt.lo || ratio > tt.hi {
				t.Errorf("bytes per frame = %.2fx the target, want %.2f to %.2f", ratio, tt.lo, tt.hi)
			}
		})
	}
}

// TestH264NoFrameSkipping: every captured frame gives an encoded frame,
// even on the test pattern's noise at a bitrate it cannot meet, where
// openh264's default frame skipping drops about half of them.
func TestH264NoFrameSkipping(t *testing.T) {
	tests := []struct {
		name      string
		trap      bool
		wantEmpty bool
	}{
		{"intercomd's encoder", false, false},
		{"trap: frame skipping on (openh264's default)", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam := testFrames(t, 640, 480)
			var enc codec.ReadCloser
			var err error
			if tt.trap {
				enc, err = trapEncoder(cam, 30, 1_000_000, true)
			} else {
				enc, err = buildH264(cam.reader, 640, 480, 30, 1_000_000)
			}
			if err != nil {
				t.Fatal(err)
			}
			const n = 120
			_, empty := encodeN(t, enc, 0, n)
			t.Logf("%d of %d frames skipped", empty, n)
			if (empty > 0) != tt.wantEmpty {
				t.Errorf("%d of %d frames skipped, want skipped: %v", empty, n, tt.wantEmpty)
			}
		})
	}
}

// TestH264ForceKeyFrame: a key frame request (a new call, a PLI) makes the
// next frame an IDR with its parameter sets.
func TestH264ForceKeyFrame(t *testing.T) {
	cam := testFrames(t, 320, 240)
	enc, err := buildH264(cam.reader, 320, 240, 30, 500_000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	kf := enc.Controller().(codec.KeyFrameController)
	for i := 0; i < 10; i++ {
		b, _, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got := nalTypes(b); i > 0 && got[5] {
			t.Fatalf("frame %d is an IDR before any request (NAL types %v)", i, got)
		}
	}
	if err := kf.ForceKeyFrame(); err != nil {
		t.Fatal(err)
	}
	b, _, err := enc.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := nalTypes(b); !got[5] || !got[7] || !got[8] {
		t.Errorf("frame after ForceKeyFrame has NAL types %v, want IDR (5), SPS (7), PPS (8)", got)
	}
}

// nalTypes lists the NAL unit types in an Annex B stream.
func nalTypes(b []byte) map[int]bool {
	types := map[int]bool{}
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 || i+3 >= len(b) {
			return types
		}
		types[int(b[i+3]&0x1f)] = true
		b = b[i+3:]
	}
}
