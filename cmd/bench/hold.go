package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/intercomd/intercomd/internal/resident"
)

// holdCall starts intercomd, puts a pion resident in a call with it and
// keeps the call for d, printing the daemon's pid: a window to profile the
// door in a call (perf record -g -p PID, or /proc), as the encoder section
// measures it.
func holdCall(ctx context.Context, e *env, camera string, w, h, bitrate int, d time.Duration) error {
	var yaml string
	if bitrate > 0 {
		yaml = fmt.Sprintf("video_bitrate: %d\n", bitrate)
	}
	dm, err := startDaemon(ctx, e.intercomd, daemonConfig{Camera: camera, Width: w, Height: h, LogLevel: "info", YAML: yaml})
	if err != nil {
		return err
	}
	defer dm.stop()
	r, err := resident.Dial(ctx, dm.wsURL(), resident.Options{Name: "bench"})
	if err != nil {
		return err
	}
	defer r.Close()
	c, err := r.Call(ctx, "door", resident.CallOptions{})
	if err != nil {
		return err
	}
	defer c.Hangup()
	if err := c.WaitFrames(ctx, 1, 20*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: intercomd pid %d (%s) in a call at %dx%d for %s\n", dm.pid, dm.url, w, h, d)
	m, _ := startCPU(dm.pid)
	b0, f0 := c.Counts().VideoBytes, c.Counts().VideoFrames
	settle(ctx, d)
	cpu, _ := m.stop()
	secs := time.Since(m.t0).Seconds()
	fmt.Fprintf(os.Stderr, "bench: %.3f CPU s/s, %.0f kbit/s, %.1f frames/s, encoded at %s\n", cpu,
		float64(c.Counts().VideoBytes-b0)*8/1000/secs, float64(c.Counts().VideoFrames-f0)/secs, encodedSize(dm.logs.String(), w, h))
	return nil
}
