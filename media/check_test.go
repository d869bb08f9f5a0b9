package media

import (
	"slices"
	"testing"
)

func TestCheckCodecs(t *testing.T) {
	got, err := CheckCodecs(160, 120, 15, 5)
	if err != nil {
		t.Fatalf("CheckCodecs(160, 120, 15, 5) error: %v", err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Codec)
		if c.Frames != 5 || c.Bytes == 0 || c.PerFrame <= 0 {
			t.Errorf("CheckCodecs %s = %+v, want 5 frames, some bytes and a time", c.Codec, c)
		}
	}
	for _, want := range []string{"H264", "Opus"} {
		if !slices.Contains(names, want) {
			t.Errorf("CheckCodecs codecs = %v, want %s among them", names, want)
		}
	}
}

func TestCheckCodecsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name              string
		w, h, fps, frames int
	}{
		{"odd width", 161, 120, 15, 5},
		{"no frames", 160, 120, 15, 0},
		{"fps too high", 160, 120, 1000, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckCodecs(tc.w, tc.h, tc.fps, tc.frames); err == nil {
				t.Errorf("CheckCodecs(%d, %d, %d, %d) = nil error, want one", tc.w, tc.h, tc.fps, tc.frames)
			}
		})
	}
}
