package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// oneCall calls the door, waits for its video, keeps the call for hold and
// hangs up, waiting until the door is idle again.
func oneCall(ctx context.Context, d *daemon, r *resident, api *webrtc.API, hold time.Duration, during func()) error {
	c, err := r.callDoor(ctx, api, "door")
	if err != nil {
		return err
	}
	if err := c.waitFrame(20 * time.Second); err != nil {
		c.close()
		return err
	}
	if during != nil {
		during()
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	if err := c.hangup(); err != nil {
		return err
	}
	return d.waitState("idle", 10*time.Second)
}

// settle lets a daemon reach its idle state (timers, GC) before a reading.
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// benchMemory: RSS idle, in a call and over 100 calls, and what a leak
// would grow: goroutines, threads, open files.
func benchMemory(ctx context.Context, e *env) (*result, error) {
	calls, hold, pause := 100, 500*time.Millisecond, 3*time.Second
	if e.quick {
		calls, pause = 10, time.Second
	}
	api, err := newAPI()
	if err != nil {
		return nil, err
	}

	// Goroutines can only be counted from a SIGQUIT dump, which ends the
	// process: a twin daemon, after the same warm-up call, gives "before".
	e.log("memory: twin daemon for the goroutine count before")
	twin, err := startDaemon(ctx, e.intercomd, daemonConfig{})
	if err != nil {
		return nil, err
	}
	defer twin.stop()
	tr, err := dialResident(ctx, twin.wsURL(), "bench")
	if err != nil {
		return nil, err
	}
	if err := oneCall(ctx, twin, tr, api, hold, nil); err != nil {
		return nil, fmt.Errorf("twin warm-up call: %w", err)
	}
	settle(ctx, pause)
	gBefore, err := twin.goroutines()
	tr.close()
	if err != nil {
		return nil, fmt.Errorf("goroutines before: %w", err)
	}

	d, err := startDaemon(ctx, e.intercomd, daemonConfig{})
	if err != nil {
		return nil, err
	}
	defer d.stop()
	settle(ctx, 5*time.Second)
	idle, err := d.status()
	if err != nil {
		return nil, err
	}
	r, err := dialResident(ctx, d.wsURL(), "bench")
	if err != nil {
		return nil, err
	}
	defer r.close()

	// One call held for 10 s: RSS sampled while the encoder runs.
	e.log("memory: one call, 10 s")
	var inCall procStatus
	err = oneCall(ctx, d, r, api, 0, func() {
		for range 20 {
			settle(ctx, 500*time.Millisecond)
			if st, err := d.status(); err == nil && st.RSS > inCall.RSS {
				inCall = st
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("first call: %w", err)
	}
	settle(ctx, pause)
	before, err := d.status()
	if err != nil {
		return nil, err
	}

	e.log("memory: %d calls", calls)
	t0 := time.Now()
	var series []string
	for i := 1; i <= calls; i++ {
		if err := oneCall(ctx, d, r, api, hold, nil); err != nil {
			return nil, fmt.Errorf("call %d of %d: %w", i, calls, err)
		}
		if i == 1 || i%(max(calls/4, 1)) == 0 {
			st, _ := d.status()
			series = append(series, fmt.Sprintf("%d: %s", i, mb(st.RSS)))
		}
	}
	took := time.Since(t0)
	settle(ctx, pause)
	after, err := d.status()
	if err != nil {
		return nil, err
	}
	gAfter, err := d.goroutines()
	if err != nil {
		return nil, fmt.Errorf("goroutines after: %w", err)
	}

	res := &result{command: "bin/bench -sections memory -out /tmp/memory.md"}
	var b strings.Builder
	fmt.Fprintf(&b, "intercomd as `make run` starts it (test pattern 640x480@30, test tone, counting sink), a separate process. "+
		"A Go resident (pion/webrtc, receive only, H.264 at payload type 108 as Chromium offers it) calls the door over the hub; each call waits for the first video frame, "+
		"stays %s, hangs up and waits until /healthz says idle. Readings: /proc/PID/status (VmRSS, VmHWM, Threads) and /proc/PID/fd, "+
		"%s after the last call. Goroutines: the daemon has no debug endpoint (none was added for this), so they are counted from a SIGQUIT dump (GOTRACEBACK=all), "+
		"which ends the process: \"before\" comes from a twin daemon after the same warm-up call. Threads (OS threads) are a coarser signal from the same process.\n\n", hold, pause)
	b.WriteString(table([]string{"", "RSS", "peak RSS (VmHWM)", "threads", "open files", "goroutines"}, [][]string{
		{"idle, 5 s after start", mb(idle.RSS), mb(idle.HWM), fmt.Sprint(idle.Threads), fmt.Sprint(idle.FDs), ""},
		{"in one call (max of 20 samples over 10 s)", mb(inCall.RSS), mb(inCall.HWM), fmt.Sprint(inCall.Threads), fmt.Sprint(inCall.FDs), ""},
		{"after 1 call (before)", mb(before.RSS), mb(before.HWM), fmt.Sprint(before.Threads), fmt.Sprint(before.FDs), fmt.Sprint(gBefore) + " (twin)"},
		{fmt.Sprintf("after %d more calls", calls), mb(after.RSS), mb(after.HWM), fmt.Sprint(after.Threads), fmt.Sprint(after.FDs), fmt.Sprint(gAfter)},
	}))
	fmt.Fprintf(&b, "\nRSS after call n: %s. %d calls took %s (%.0f ms per call, set-up to idle).\n", strings.Join(series, ", "), calls, took.Round(time.Second),
		msOf(took)/float64(calls))

	growth := after.RSS - before.RSS
	noLeak := gAfter <= gBefore && after.FDs <= before.FDs && growth < 5e6
	res.goals = []goal{
		{"memory: RSS idle", "≤ 40 MB", mb(idle.RSS), idle.RSS <= 40e6},
		{"memory: RSS in a call (640x480@30)", "≤ 80 MB", mb(inCall.RSS) + " (peak " + mb(inCall.HWM) + ")", inCall.HWM <= 80e6},
		{fmt.Sprintf("memory: no growth after %d calls", calls), "no growth",
			fmt.Sprintf("RSS %+.1f MB, goroutines %d → %d, open files %d → %d, threads %d → %d", float64(growth)/1e6, gBefore, gAfter, before.FDs, after.FDs, before.Threads, after.Threads),
			noLeak},
	}
	res.body = b.String() + memoryNotes(idle, inCall, res.goals)
	return res, nil
}
