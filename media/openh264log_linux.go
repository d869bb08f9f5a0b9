package media

import "C"

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
)

// openh264Log receives OpenH264's trace lines. The library has one
// process-wide output (fprintf to stderr, see openh264log_linux.c), so its
// logger is process-wide too: the last media.New's.
var openh264Log atomic.Pointer[slog.Logger]

func setOpenH264Log(log *slog.Logger) { openh264Log.Store(log) }

// openh264Trace logs one OpenH264 line, "[OpenH264] this = 0x..., Level:text":
// errors as errors; warnings and the rest at Debug, since the ones a call
// makes are about parameters chosen on purpose (frame skipping off, the QP
// range of real-time camera video).
//
//export openh264Trace
func openh264Trace(msg *C.char) {
	line := C.GoString(msg)
	level, text := openh264Line(line)
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
