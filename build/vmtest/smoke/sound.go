package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gen2brain/malgo"
)

const (
	sampleRate = 48000
	toneHz     = 1000
	toneAmp    = 8000
)

// checkLoopback plays a tone to play and records it from capture, the two
// ends of snd-aloop, through malgo's ALSA backend, and checks that the
// recording holds that tone.
func checkLoopback(play, capture string) (string, error) {
	ctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return "", fmt.Errorf("alsa: init context: %w", err)
	}
	defer ctx.Free()

	var mu sync.Mutex
	var rec []int16 // guarded by mu
	ccfg := malgo.DefaultDeviceConfig(malgo.Capture)
	ccfg.SampleRate = sampleRate
	ccfg.Capture.Format = malgo.FormatS16
	ccfg.Capture.Channels = 1
	ccfg.Capture.DeviceID = alsaID(capture).Pointer()
	cdev, err := malgo.InitDevice(ctx.Context, ccfg, malgo.DeviceCallbacks{
		Data: func(_, in []byte, frames uint32) {
			mu.Lock()
			defer mu.Unlock()
			for i := 0; i+1 < len(in); i += 2 {
				rec = append(rec, int16(binary.LittleEndian.Uint16(in[i:])))
			}
		},
	})
	if err != nil {
		return "", fmt.Errorf("alsa: open capture %s: %w", capture, err)
	}
	defer cdev.Uninit()

	var n int // samples played; only the playback callback touches it
	pcfg := malgo.DefaultDeviceConfig(malgo.Playback)
	pcfg.SampleRate = sampleRate
	pcfg.Playback.Format = malgo.FormatS16
	pcfg.Playback.Channels = 1
	pcfg.Playback.DeviceID = alsaID(play).Pointer()
	pdev, err := malgo.InitDevice(ctx.Context, pcfg, malgo.DeviceCallbacks{
		Data: func(out, _ []byte, frames uint32) {
			for i := 0; i+1 < len(out); i += 2 {
				v := toneAmp * math.Sin(2*math.Pi*toneHz*float64(n)/sampleRate)
				binary.LittleEndian.PutUint16(out[i:], uint16(int16(v)))
				n++
			}
		},
	})
	if err != nil {
		return "", fmt.Errorf("alsa: open playback %s: %w", play, err)
	}
	defer pdev.Uninit()

	if err := cdev.Start(); err != nil {
		return "", fmt.Errorf("alsa: start capture %s: %w", capture, err)
	}
	if err := pdev.Start(); err != nil {
		return "", fmt.Errorf("alsa: start playback %s: %w", play, err)
	}
	// One second of recording after playback started; the tone is judged
	// on the last half second, well past any start-up silence.
	mu.Lock()
	start := len(rec)
	mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		got := len(rec) - start
		mu.Unlock()
		if got >= sampleRate {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("alsa: only %d of %d samples captured from %s within 15 s", got, sampleRate, capture)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pdev.Stop()
	cdev.Stop()
	mu.Lock()
	tail := append([]int16(nil), rec[len(rec)-sampleRate/2:]...)
	mu.Unlock()

	rms, tone, off := analyse(tail)
	if rms < toneAmp/10 {
		return "", fmt.Errorf("alsa: %s captured near silence (RMS %.0f) while %s played a %d Hz tone", capture, rms, play, toneHz)
	}
	if tone < 10*off {
		return "", fmt.Errorf("alsa: %s captured sound without the %d Hz tone (level %.0f at %d Hz, %.0f at 1500 Hz)", capture, toneHz, tone, toneHz, off)
	}
	return fmt.Sprintf("%d Hz tone played to %s captured from %s (RMS %.0f, tone %.0f, off-tone %.0f)", toneHz, play, capture, rms, tone, off), nil
}

// analyse returns the RMS of s and the amplitudes of its 1 kHz and 1.5 kHz
// components (Goertzel).
func analyse(s []int16) (rms, tone, off float64) {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s))), goertzel(s, toneHz), goertzel(s, 1500)
}

// goertzel returns the amplitude of the freq component of s.
func goertzel(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(power) / float64(len(s))
}

// alsaID makes a miniaudio device ID from an ALSA PCM name; miniaudio opens
// such an ID with snd_pcm_open as it is.
func alsaID(name string) *malgo.DeviceID {
	var id malgo.DeviceID
	copy(id[:len(id)-1], name)
	return &id
}
