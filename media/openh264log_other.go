//go:build !linux

package media

import "log/slog"

// setOpenH264Log does nothing here: OpenH264's trace goes to stderr as it
// comes (openh264log_linux.c takes it over on Linux only).
func setOpenH264Log(*slog.Logger) {}
