package media

import (
	"log/slog"
	"testing"
)

// The pion warnings of every normal call go to Debug; the same kind of
// message with a real problem in it stays a warning.
func TestWarnLevel(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want slog.Level
	}{
		{"Failed to ping without candidate pairs. Connection is not possible yet.", slog.LevelDebug},
		{"Failed to accept RTP stream is already closed", slog.LevelDebug},
		{"Failed to accept RTCP stream is already closed", slog.LevelDebug},
		{"Failed to read from candidate udp4 host 127.0.0.1:5000: read udp 127.0.0.1:5000: i/o timeout", slog.LevelDebug},
		{"Warning: mux: no endpoint for packet starting with 21, adding to queue size(0)", slog.LevelDebug},
		{"Warning: mux: no endpoint for packet starting with 23, not adding to queue size(100)", slog.LevelWarn},
		{"Failed to read from candidate udp4 host 127.0.0.1:5000: read udp: connection refused", slog.LevelWarn},
		{"Failed to accept RTP srtp: session closed unexpectedly", slog.LevelWarn},
		{"Failed to handshake DTLS", slog.LevelWarn},
	} {
		if got := warnLevel(tt.msg); got != tt.want {
			t.Errorf("warnLevel(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestErrorLevel(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want slog.Level
	}{
		{"io: read/write on closed pipe", slog.LevelDebug},
		{"io: read/write on closed pipe: and more", slog.LevelError},
		{"interceptor is closed", slog.LevelError},
	} {
		if got := errorLevel(tt.msg); got != tt.want {
			t.Errorf("errorLevel(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}
