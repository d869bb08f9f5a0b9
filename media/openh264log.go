package media

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/intercomd/intercomd/media/openh264"
)

// openh264Log receives OpenH264's trace lines. media/openh264 has one
// process-wide trace, so its logger is process-wide too: the last
// media.New's.
var openh264Log atomic.Pointer[slog.Logger]

func setOpenH264Log(log *slog.Logger) {
	openh264Log.Store(log)
	openh264.SetTrace(openh264Trace)
}

// openh264Trace logs one OpenH264 line, "[OpenH264] this = 0x..., Level:text":
// errors as errors; warnings at Debug, since the ones a call makes are
// about parameters chosen on purpose (frame skipping off, the QP range of
// real-time camera video).
func openh264Trace(isErr bool, line string) {
	level, text := openh264Line(line)
	if isErr {
		level = slog.LevelError
	}
	log := openh264Log.Load()
	if log == nil {
		log = slog.Default()
	}
	log.Log(context.Background(), level, text, "codec", "openh264")
}

// openh264Line splits a trace line into its level and text.
func openh264Line(line string) (slog.Level, string) {
	_, rest, ok := strings.Cut(line, ", ")
	if !ok {
		return slog.LevelDebug, line
	}
	kind, text, ok := strings.Cut(rest, ":")
	if !ok {
		return slog.LevelDebug, rest
	}
	if kind == "Error" {
		return slog.LevelError, text
	}
	return slog.LevelDebug, text
}
