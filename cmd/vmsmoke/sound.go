package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gen2brain/malgo"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/sound"
)

// checkLoopback plays a 1 kHz tone to play and records it from capture, the
// two ends of snd-aloop, through malgo's ALSA backend, and checks that the
// recording holds that tone.
func checkLoopback(play, capture string) (string, error) {
	ctx, err := sound.Open()
	if err != nil {
		return "", err
	}
	defer ctx.Close()
	for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
		if list, err := ctx.Devices(kind); err == nil {
			fmt.Printf("vmtest: ALSA %v devices: %s\n", kind, strings.Join(list, ", "))
		}
	}
	rec, err := ctx.Record(capture)
	if err != nil {
		return "", err
	}
	defer rec.Stop()
	tone, err := ctx.Play(play, 1000, 8000)
	if err != nil {
		return "", err
	}
	defer tone.Stop()
	// One second of recording after playback started; the tone is judged
	// on the last half second, well past any start-up silence.
	start := rec.Len()
	if err := poll.Until(context.Background(), 15*time.Second, 20*time.Millisecond, func() error {
		if n := rec.Len() - start; n < sound.Rate {
			return fmt.Errorf("alsa: only %d of %d samples captured from %s", n, sound.Rate, capture)
		}
		return nil
	}); err != nil {
		return "", err
	}
	s := rec.Samples(start + sound.Rate/2)
	ok, desc := sound.Judge(s, 1000, 1500)
	if !ok {
		return "", fmt.Errorf("alsa: %s did not capture the 1000 Hz tone played to %s: %s", capture, play, desc)
	}
	return fmt.Sprintf("1000 Hz tone played to %s captured from %s (%s)", play, capture, desc), nil
}
