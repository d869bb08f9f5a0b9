package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/intercomd/intercomd/gpio/panel"
	"github.com/intercomd/intercomd/media"
)

// checkFrames is how many frames (and 20 ms audio chunks) each codec encodes
// in the self-check: enough for a steady figure, a few seconds under qemu.
const checkFrames = 20

// What media.Sources reports for its stand-ins (documented there): with
// "auto", one of these means the real device is missing.
// selfcheck is intercomd -selfcheck, what a maker runs first on the Pi: it
// encodes test frames with every codec of this build, then opens the camera,
// the microphone, the speaker and the GPIO pins the config names, one line
// each, "ok" or "FAIL: reason". Stop the service first: a camera opens once.
func selfcheck(ctx context.Context, cfg config, w io.Writer) error {
	fmt.Fprintf(w, "intercomd %s self-check\n", version)
	items, failed := 0, 0
	report := func(item, detail string, err error) {
		items++
		if err != nil {
			failed++
			fmt.Fprintf(w, "%-12s FAIL: %v\n", item, err)
			return
		}
		fmt.Fprintf(w, "%-12s ok: %s\n", item, detail)
	}
	quiet := slog.New(slog.DiscardHandler)

	timings, err := media.CheckCodecs(cfg.Width, cfg.Height, cfg.FPS, checkFrames)
	for _, t := range timings {
		ms := float64(t.PerFrame) / float64(time.Millisecond)
		if t.Codec == "Opus" {
			report("codec Opus", fmt.Sprintf("%.2f ms per 20 ms chunk (%d chunks)", ms, t.Frames), nil)
		} else {
			report("codec "+t.Codec, fmt.Sprintf("%.1f ms/frame at %dx%d (%d frames, %d kB)",
				ms, cfg.Width, cfg.Height, t.Frames, t.Bytes/1000), nil)
		}
	}
	if err != nil {
		report("codecs", "", err)
	}

	devices := []struct {
		item, want string
		mc         media.Config
	}{
		{"camera", cfg.Camera, media.Config{Camera: cfg.Camera, Mic: "none", Speaker: "none"}},
		{"microphone", cfg.Mic, media.Config{Camera: "none", Mic: cfg.Mic, Speaker: "none"}},
		{"speaker", cfg.Speaker, media.Config{Camera: "none", Mic: "none", Speaker: cfg.Speaker}},
	}
	for _, d := range devices {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.mc.Width, d.mc.Height, d.mc.FPS = cfg.Width, cfg.Height, cfg.FPS
		d.mc.VideoBitrate, d.mc.KeyFrameInterval = cfg.VideoBitrate, cfg.KeyFrameInterval
		d.mc.PicamEncoder, d.mc.Rotation, d.mc.HFlip, d.mc.VFlip, d.mc.Exposure =
			cfg.CameraEncoder, cfg.CameraRotation, cfg.CameraHFlip, cfg.CameraVFlip, cfg.CameraExposure
		d.mc.Loopback = true // no mDNS socket for a check
		detail, video, err := checkDevice(d.item, d.want, d.mc, quiet)
		report(d.item, detail, err)
		if d.item == "camera" && err == nil {
			report("video", video, nil)
		}
	}

	p, err := panel.Open(cfg.GPIO, quiet)
	switch {
	case err != nil:
		report("gpio", "", err)
	case p.Mode == "real":
		report("gpio", "lines "+cfg.GPIO.Pins(), nil)
	case p.Mode == "sim":
		report("gpio", "simulated panel: no GPIO line named as configured on this machine", nil)
	default:
		report("gpio", "off (gpio.mode "+cfg.GPIO.Mode+")", nil)
	}
	if p != nil {
		p.Close()
	}

	if failed > 0 {
		fmt.Fprintf(w, "self-check: %d of %d items failed\n", failed, items)
		return fmt.Errorf("self-check: %d of %d items failed", failed, items)
	}
	fmt.Fprintf(w, "self-check: all %d items ok\n", items)
	return nil
}

// checkDevice opens one device as the daemon would and says what stands
// behind it. With "auto", a test stand-in means no real device was found.
// For the camera it also says how its picture is encoded, and why
// (hardware H.264 passed through, or software), after reading a frame
// from a camera that runs as a child program (the camera module).
func checkDevice(item, want string, mc media.Config, log *slog.Logger) (detail, video string, err error) {
	if want == "none" {
		return "off (" + item + ": none)", "off (no camera)", nil
	}
	m, err := media.New(mc, log)
	if err != nil {
		return "", "", err
	}
	defer m.Close()
	key := item
	if item == "microphone" {
		key = "mic"
	}
	desc := m.Sources()[key]
	if item == "camera" {
		if err := m.ProbeCamera(cameraProbe); err != nil {
			return "", "", fmt.Errorf("%s: %w", desc, err)
		}
	}
	if err := m.Err(); err != nil {
		return "", "", fmt.Errorf("%w (the door would use the %s)", err, desc)
	}
	if want == "auto" && m.StandIn(key) {
		return "", "", fmt.Errorf("no %s found (the door would use the %s)", item, desc)
	}
	return desc, m.Sources()["video"], nil
}

// cameraProbe is how long the self-check waits for the camera module's
// first frame: it starts in one to two seconds on a Pi.
const cameraProbe = 15 * time.Second
