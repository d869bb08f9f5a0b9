package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// echoResult is cmd/bench/echo's output line.
type echoResult struct {
	Arch       string    `json:"arch"`
	Delay      string    `json:"delay"`
	CancelRate int       `json:"cancel_rate"`
	ERLE       []float64 `json:"erle_db"`
	After2s    float64   `json:"erle_after_2s_db"`
	DoubleTalk float64   `json:"double_talk_db"`
	CPUMSPerS  float64   `json:"cpu_ms_per_s"`
}

// benchEcho: the echo canceller on the simulated echo path of its tests,
// natively and, for arm64 and armhf (linked as the Pi packages are), under
// qemu-user.
func benchEcho(ctx context.Context, e *env) (*result, error) {
	delays := []string{"20ms", "80ms", "150ms"}
	if e.quick {
		delays = []string{"80ms"}
	}
	dir, err := os.MkdirTemp("", "bench-echo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var rows, curve [][]string
	for ti, t := range armTargets {
		e.log("echo: building cmd/bench/echo for %s", t.label)
		bin := filepath.Join(dir, fmt.Sprintf("echo-%d", ti))
		if err := goBuildFor(ctx, e, t, "./cmd/bench/echo", bin); err != nil {
			return nil, err
		}
		for _, rate := range []string{"16000", "48000"} {
			for _, d := range delays {
				if rate == "48000" && d != "80ms" {
					continue // 48 kHz, for comparison: one delay is enough
				}
				e.log("echo: %s, canceller at %s Hz, delay %s", t.label, rate, d)
				var r echoResult
				if err := runJSON(ctx, t, &r, bin, "-delay", d, "-cancel-rate", rate); err != nil {
					return nil, err
				}
				rows = append(rows, []string{t.label, rate[:2] + " kHz", d, f(r.After2s, 1) + " dB", f(r.DoubleTalk, 1) + " dB",
					f(r.CPUMSPerS, 1) + " ms", fmt.Sprintf("%.1f %%", r.CPUMSPerS/10)})
				if ti != 0 {
					continue
				}
				row := []string{rate[:2] + " kHz, " + d}
				for _, x := range r.ERLE {
					row = append(row, f(x, 0))
				}
				curve = append(curve, row)
			}
		}
	}
	var b strings.Builder
	b.WriteString("cmd/bench/echo runs media/aec (speexdsp's canceller and preprocessor, intercomd's defaults: echo_cancel on, " +
		"noise_suppression on, auto_gain off; the canceller at 16 kHz, the default, or at the microphone's 48 kHz) on the simulated echo path of media/aec's tests: a synthetic voice (formants, pitch jitter) " +
		"played by the speaker, reaching the microphone after the delay below through a room (direct path 0.7, reflections over 80 ms), " +
		"-60 dBFS noise; the resident talks alone for 4 s, then the visitor talks too. ERLE: how far below the echo the cleaned " +
		"microphone is; double talk: the output's energy against the visitor's alone (0 dB: the visitor kept whole). " +
		"CPU: the process's user+system time per second of audio, one core. " +
		"**ARM rows are EMULATED (qemu-user on this x86 machine) and say nothing about a Pi's speed.**\n\n")
	b.WriteString(table([]string{"build", "canceller", "delay", "ERLE 2 s to 4 s", "double talk", "CPU per s of audio", "of one core"}, rows))
	if len(curve) > 0 {
		head := []string{"canceller, delay (native)"}
		for i := range curve[0][1:] {
			head = append(head, fmt.Sprintf("%.1f-%.1f s", float64(i)/2, float64(i+1)/2))
		}
		b.WriteString("\nERLE over time (dB per half second, resident alone; the canceller finds the delay, resets and converges):\n\n")
		b.WriteString(table(head, curve))
	}
	return &result{command: "bin/bench -sections echo -out /tmp/echo.md", body: b.String()}, nil
}
