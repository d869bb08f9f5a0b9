//go:build linux && !nohw

package media

// #include <stdlib.h>
import "C"

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// alsaSpeaker plays the mix of the calls' voices on a playback device
// through miniaudio (malgo): 48 kHz mono, 16 bit; miniaudio converts to what
// the device takes.
type alsaSpeaker struct {
	*mixer
	ctx *malgo.AllocatedContext
	dev *malgo.Device
}

// deviceName is the device's id as text: for ALSA, the PCM name.
func deviceName(id malgo.DeviceID) string {
	b := id[:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// openALSASpeaker opens want ("auto", a PCM name such as "hw:1,0" or
// "plughw:CARD=Device", or part of a device's description). "auto" without
// any real playback device gives the counting sink.
func openALSASpeaker(want string, log *slog.Logger) (sink, string, error) {
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, func(msg string) {
		log.Log(context.Background(), levelTrace, strings.TrimSpace(msg), "pion", "malgo")
	})
	if err != nil {
		if want == "auto" {
			log.Info("no sound system: using counting sink", "err", err)
			return &countingSink{}, descCountingSink, nil
		}
		return nil, "", fmt.Errorf("speaker %q: sound system: %w", want, err)
	}
	devs, err := ctx.Devices(malgo.Playback)
	if err != nil {
		ctx.Uninit()
		ctx.Free()
		return nil, "", fmt.Errorf("speaker: list playback devices: %w", err)
	}
	var id []byte // nil: the system's default device
	desc := ""
	switch want {
	case "auto":
		real := false
		for _, d := range devs {
			if !nullAudio(deviceName(d.ID), d.Name()) {
				real = true
				if d.IsDefault != 0 || desc == "" {
					desc = fmt.Sprintf("%s (%s)", d.Name(), deviceName(d.ID))
				}
			}
		}
		if !real {
			ctx.Uninit()
			ctx.Free()
			log.Info("no speaker found: using counting sink")
			return &countingSink{}, descCountingSink, nil
		}
	default:
		for _, d := range devs {
			if alsaMatches(deviceName(d.ID), d.Name(), want) {
				id = append([]byte(nil), d.ID[:]...)
				desc = fmt.Sprintf("%s (%s)", d.Name(), deviceName(d.ID))
				break
			}
		}
		if id == nil && len(want) < len(malgo.DeviceID{}) {
			// Not listed, but ALSA opens any PCM by name ("plughw:1,0").
			id = make([]byte, len(malgo.DeviceID{}))
			copy(id, want)
			desc = want
		}
	}
	s := &alsaSpeaker{mixer: newMixer(), ctx: ctx}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = audioChannel
	cfg.SampleRate = sampleRate
	cfg.PerformanceProfile = malgo.LowLatency
	if id != nil {
		p := C.CBytes(id)
		defer C.free(p)
		cfg.Playback.DeviceID = p
	}
	s.dev, err = malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: s.play})
	if err == nil {
		err = s.dev.Start()
	}
	if err != nil {
		s.close()
		return nil, "", fmt.Errorf("open speaker %q: %w", want, err)
	}
	return s, desc, nil
}

// play is miniaudio's callback: fill out with the next samples.
func (s *alsaSpeaker) play(out, _ []byte, frames uint32) {
	if len(out) < 2 {
		return
	}
	s.fill(unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), len(out)/2))
}

func (s *alsaSpeaker) close() error {
	if s.dev != nil {
		s.dev.Uninit()
		s.dev = nil
	}
	if s.ctx != nil {
		err := s.ctx.Uninit()
		s.ctx.Free()
		s.ctx = nil
		return err
	}
	return nil
}
