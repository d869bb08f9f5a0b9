package media

import (
	"log/slog"
	"testing"
)

// OpenH264's trace lines are split into level and text: errors stay errors.
func TestOpenH264Line(t *testing.T) {
	for _, tt := range []struct {
		line, text string
		level      slog.Level
	}{
		{"[OpenH264] this = 0x0x37376dc0, Warning:Change QP Range from(0,51) to (12,42)", "Change QP Range from(0,51) to (12,42)", slog.LevelDebug},
		{"[OpenH264] this = 0x0x1, Error:CWelsH264SVCEncoder::Initialize(), invalid", "CWelsH264SVCEncoder::Initialize(), invalid", slog.LevelError},
		{"[OpenH264] this = 0x0x1, Info:ready", "ready", slog.LevelDebug},
		{"[OpenH264] odd", "[OpenH264] odd", slog.LevelDebug},
	} {
		level, text := openh264Line(tt.line)
		if level != tt.level || text != tt.text {
			t.Errorf("openh264Line(%q) = %v, %q; want %v, %q", tt.line, level, text, tt.level, tt.text)
		}
	}
}
