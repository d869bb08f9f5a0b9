package media

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// levelTrace is below slog's Debug: pion's trace output (every STUN packet)
// is only seen when asked for explicitly.
const levelTrace = slog.LevelDebug - 4

// pionLogs bridges pion's leveled loggers into slog. Pion's Info messages
// (state changes it also reports through callbacks we log ourselves) go to
// Debug so a normal log stays readable.
type pionLogs struct{ log *slog.Logger }

var _ logging.LoggerFactory = pionLogs{}

// NewLogger implements logging.LoggerFactory.
func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

// normalWarnings are pion warnings every healthy call logs, by the start
// and a part of their text; they go to Debug, so a warning in the log is one
// a maker should look at.
var normalWarnings = []struct{ prefix, part string }{
	// ice, on each check until the other side's candidates arrive (they
	// trickle in after the answer). A call that never connects still ends
	// as failed, and the door logs that.
	{"Failed to ping without candidate pairs", ""},
	// webrtc, when a call ends: the loops waiting for new RTP and RTCP
	// streams stop on the closed SRTP session.
	{"Failed to accept RTP stream is already closed", ""},
	{"Failed to accept RTCP stream is already closed", ""},
	// srtp, when an RTCP packet of a new stream races the session's close
	// at hang-up (seen in a CI run of TestBrowserCallsDoor).
	{"Failed to open RTCP stream for", "failed to cast child"},
	// ice, when a call ends: closing a candidate unblocks its reader with
	// a deadline (candidateBase.abortIO).
	{"Failed to read from candidate", "i/o timeout"},
	// webrtc's mux, for a DTLS packet before its endpoint exists or after
	// it closed (the peer's close alert at hang-up): kept in the queue.
	// A full queue (not adding) stays a warning.
	{"Warning: mux: no endpoint for packet", ", adding to queue"},
}

// normalErrors are pion errors a healthy call can log as it ends, by
// their whole text; they go to Debug.
var normalErrors = []string{
	// interceptor's transport-wide congestion control feedback, when its
	// ticker fires between the call's close and the loop's stop (seen in a
	// run of media's Chromium tests): the feedback has nowhere to go.
	"io: read/write on closed pipe",
}

// errorLevel is Error, or Debug for a normal error.
func errorLevel(msg string) slog.Level {
	for _, e := range normalErrors {
		if msg == e {
			return slog.LevelDebug
		}
	}
	return slog.LevelError
}

// warnLevel is Warn, or Debug for a normal warning.
func warnLevel(msg string) slog.Level {
	for _, w := range normalWarnings {
		if strings.HasPrefix(msg, w.prefix) && strings.Contains(msg, w.part) {
			return slog.LevelDebug
		}
	}
	return slog.LevelWarn
}

func (l pionLogger) emit(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l pionLogger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.emit(levelTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.emit(levelTrace, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(levelTrace, format, args...) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.emit(warnLevel(msg), msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.Warn(fmt.Sprintf(format, args...)) }
func (l pionLogger) Error(msg string)                  { l.emit(errorLevel(msg), msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelError, format, args...) }
