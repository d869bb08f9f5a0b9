// Command echo measures the door's echo canceller (media/aec, speexdsp) on
// the simulated echo path of its tests: the resident's synthetic voice
// through a speaker-to-mic delay and a room, alone for four seconds, then
// with the visitor talking too. It prints one JSON line: the echo return
// loss enhancement over time, the visitor's energy kept during double talk
// and the CPU time per second of audio. cmd/bench cross-compiles it for
// arm64 and armhf and runs it under qemu-user for the emulated figures.
//
//	echo -delay 80ms -seconds 7 -cancel-rate 16000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/intercomd/intercomd/media/aec"
	"github.com/intercomd/intercomd/media/aec/aectest"
)

// result is echo's output.
type result struct {
	Arch  string `json:"arch"`
	Delay string `json:"delay"`
	// CancelRate is the rate the canceller ran at.
	CancelRate int `json:"cancel_rate"`
	// ERLE is the echo return loss enhancement of each half second in dB,
	// while only the resident talks.
	ERLE []float64 `json:"erle_db"`
	// After2s is the ERLE from 2 s to the visitor's first word.
	After2s float64 `json:"erle_after_2s_db"`
	// DoubleTalk is the output's energy against the visitor's alone, in dB,
	// while both talk.
	DoubleTalk float64 `json:"double_talk_db"`
	// CPUMSPerS is the process's CPU time per second of audio, processing
	// only (the scene is made first).
	CPUMSPerS float64 `json:"cpu_ms_per_s"`
}

const rate = 48000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run() error {
	delay := flag.Duration("delay", 80*time.Millisecond, "the speaker-to-mic delay")
	secs := flag.Int("seconds", 7, "length of the scene; the visitor talks from 4 s on")
	tail := flag.Duration("tail", 0, "the canceller's filter length (0: its default)")
	agc := flag.Bool("agc", false, "gain control on (off by intercomd's default)")
	cancelRate := flag.Int("cancel-rate", 16000, "the rate the canceller runs at: intercomd's 16000, or the microphone's own 48000")
	flag.Parse()
	if *secs < 5 {
		return fmt.Errorf("-seconds %d: want at least 5", *secs)
	}
	n, talk := *secs*rate, 4*rate
	resident := aectest.Voice(1, 190, rate, n)
	visitor := aectest.Float(aectest.Voice(2, 115, rate, n))
	clear(visitor[:talk])
	echo := aectest.NewRoom(3, rate, *delay, 0.7).Echo(resident)
	mic := aectest.Mic(echo, visitor, aectest.Noise(4, n, 30))

	p, err := aec.New(aec.Config{Mode: aec.On, Denoise: true, AGC: *agc, Tail: *tail, CancelRate: *cancelRate})
	if err != nil {
		return err
	}
	defer p.Close()
	fs := p.FrameSize()
	out := append([]int16(nil), mic...)
	before := cpu()
	for i := 0; i+fs <= n; i += fs {
		if err := p.Process(out[i:i+fs], resident[i:i+fs]); err != nil {
			return err
		}
	}
	used := cpu() - before
	r := result{Arch: runtime.GOARCH, Delay: delay.String(), CancelRate: *cancelRate,
		ERLE:      aectest.ERLE(echo[:talk], out[:talk], rate/2),
		After2s:   aectest.DB(aectest.Energy(echo[2*rate:talk]), aectest.Energy(out[2*rate:talk])),
		CPUMSPerS: float64(used.Microseconds()) / 1000 / float64(*secs)}
	dt := talk + rate/2
	r.DoubleTalk = aectest.DB(aectest.Energy(out[dt:]), aectest.Energy(visitor[dt:]))
	return json.NewEncoder(os.Stdout).Encode(r)
}

// cpu is the process's user and system time so far.
func cpu() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
