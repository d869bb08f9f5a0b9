//go:build linux && !nohw

package media

// This file is the build's choice of capture drivers: on Linux, the V4L2
// camera and the ALSA microphone (malgo) of mediadevices, and ALSA playback
// through malgo. Build with -tags nohw for a binary that only knows the test
// sources. The microphone driver's init enumerates devices through
// miniaudio; on a machine without a sound card it finds ALSA's "null"
// device (which intercomd ignores) and does not panic.
import (
	"log/slog"

	_ "github.com/pion/mediadevices/pkg/driver/camera"
	_ "github.com/pion/mediadevices/pkg/driver/microphone"
)

// openSpeaker opens the configured playback device, or the counting sink.
func openSpeaker(want string, log *slog.Logger) (sink, string, error) {
	switch want {
	case none:
		return nil, none, nil
	case "test":
		return &countingSink{}, descCountingSink, nil
	}
	return openALSASpeaker(want, log)
}
