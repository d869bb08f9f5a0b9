//go:build !linux || nohw

package media

import (
	"fmt"
	"log/slog"

	"github.com/pion/mediadevices/pkg/driver"
)

// This build has no capture or playback drivers: the test pattern, the test
// tone and the counting sink stand in for every device.

func openSpeaker(want string, log *slog.Logger) (sink, string, error) {
	switch want {
	case none:
		return nil, none, nil
	case "test":
		return &countingSink{}, descCountingSink, nil
	case "auto":
		log.Info("no speaker support in this build: using counting sink")
		return &countingSink{}, descCountingSink, nil
	}
	return nil, "", fmt.Errorf("speaker %q: %w (built without sound support)", want, ErrNotFound)
}

// openRealMic opens a listed microphone through its driver (this build
// lists none).
func openRealMic(d driver.Driver, desc string, _ *slog.Logger) (*microphone, error) {
	return openMic(d, desc)
}
