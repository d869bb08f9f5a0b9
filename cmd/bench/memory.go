package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intercomd/intercomd/internal/resident"
)

// oneCall calls the door, waits for its video, keeps the call for hold and
// hangs up, waiting until the door is idle again.
func oneCall(ctx context.Context, d *daemon, r *resident.Client, hold time.Duration, during func()) error {
	c, err := r.Call(ctx, "door", resident.CallOptions{})
	if err != nil {
		return err
	}
	if err := c.WaitFrames(ctx, 1, 20*time.Second); err != nil {
		c.Close()
		return err
	}
	if during != nil {
		during()
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	if err := c.Hangup(); err != nil {
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

// callSeries is a daemon through many calls.
type callSeries struct {
	idle, inCall, before, after procStatus
	rss                         []int64 // after each call
	took                        time.Duration
}

// runCalls starts a daemon, reads it idle, in one 10 s call, after that
// call, then after each of n more calls. gAfter, if not nil, gets the
// goroutine count after the last call, from a SIGQUIT dump that ends the
// daemon.
func runCalls(ctx context.Context, e *env, cfg daemonConfig, n int, hold, pause time.Duration, gAfter *int) (*callSeries, error) {
	d, err := startDaemon(ctx, e.intercomd, cfg)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	s := &callSeries{}
	settle(ctx, 5*time.Second)
	if s.idle, err = d.status(); err != nil {
		return nil, err
	}
	r, err := resident.Dial(ctx, d.wsURL(), resident.Options{Name: "bench"})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// One call held for 10 s: RSS sampled while the encoder runs.
	err = oneCall(ctx, d, r, 0, func() {
		for range 20 {
			settle(ctx, 500*time.Millisecond)
			if st, err := d.status(); err == nil && st.RSS > s.inCall.RSS {
				s.inCall = st
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("first call: %w", err)
	}
	settle(ctx, pause)
	if s.before, err = d.status(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	for i := 1; i <= n; i++ {
		if err := oneCall(ctx, d, r, hold, nil); err != nil {
			return nil, fmt.Errorf("call %d of %d: %w", i, n, err)
		}
		st, err := d.status()
		if err != nil {
			return nil, err
		}
		s.rss = append(s.rss, st.RSS)
	}
	s.took = time.Since(t0)
	settle(ctx, pause)
	if s.after, err = d.status(); err != nil {
		return nil, err
	}
	if gAfter != nil {
		if *gAfter, err = d.goroutines(); err != nil {
			return nil, fmt.Errorf("goroutines after: %w", err)
		}
	}
	return s, nil
}

// rssAt lists RSS after some of the calls, in call order.
func (s *callSeries) rssAt() string {
	n := len(s.rss)
	at := []int{1, s.warmCalls(), n / 4, n / 2, 3 * n / 4, n}
	slices.Sort(at)
	var out []string
	for _, i := range slices.Compact(at) {
		if i >= 1 {
			out = append(out, fmt.Sprintf("%d: %s", i, mb(s.rss[i-1])))
		}
	}
	return strings.Join(out, ", ")
}

// tailGrowth is how much RSS grew over the second half of the calls: a
// leak keeps growing, an allocator that has warmed up does not.
func (s *callSeries) tailGrowth() int64 {
	n := len(s.rss)
	return s.rss[n-1] - s.rss[n/2-1]
}

// warmCalls is how many calls the allocators get to settle: RSS after
// them is the baseline growth is measured from.
//
// A third of the calls: over 400 calls (2026-12-01, GODEBUG=gctrace=1 in
// the daemon) RSS rose from 47.5 MB after call 10 to 50.6 MB after call
// 100 and then stayed between 50.0 and 51.9 MB up to call 400, with the Go
// heap at 4 MB live throughout. A warm-up of 10 calls read that settling
// as growth, on some runs over 3 MB and on others under 0.
func (s *callSeries) warmCalls() int { return max(len(s.rss)/3, 1) }

// growth is how much RSS grew from the end of the warm-up to the last call.
func (s *callSeries) growth() int64 { return s.rss[len(s.rss)-1] - s.rss[s.warmCalls()-1] }

// benchMemory: RSS idle, in a call and over 300 calls, and what a leak
// would grow: goroutines, threads, open files.
func benchMemory(ctx context.Context, e *env) (*result, error) {
	calls, hold, pause := 300, 500*time.Millisecond, 3*time.Second
	if e.quick {
		calls, pause = 10, time.Second
	}

	// Goroutines can only be counted from a SIGQUIT dump, which ends the
	// process: a twin daemon, after the same warm-up call, gives "before".
	e.log("memory: twin daemon for the goroutine count before")
	twin, err := startDaemon(ctx, e.intercomd, daemonConfig{})
	if err != nil {
		return nil, err
	}
	defer twin.stop()
	tr, err := resident.Dial(ctx, twin.wsURL(), resident.Options{Name: "bench"})
	if err != nil {
		return nil, err
	}
	if err := oneCall(ctx, twin, tr, hold, nil); err != nil {
		return nil, fmt.Errorf("twin warm-up call: %w", err)
	}
	settle(ctx, pause)
	gBefore, err := twin.goroutines()
	tr.Close()
	if err != nil {
		return nil, fmt.Errorf("goroutines before: %w", err)
	}

	e.log("memory: idle, one call, %d calls", calls)
	var gAfter int
	s, err := runCalls(ctx, e, daemonConfig{}, calls, hold, pause, &gAfter)
	if err != nil {
		return nil, err
	}
	// The same with glibc's malloc held to one arena: if RSS then stops
	// growing, the growth is the C allocator's (openh264 is created and
	// freed on each call, on whichever thread runs it), not a leak.
	e.log("memory: %d calls with MALLOC_ARENA_MAX=1", calls)
	arena, err := runCalls(ctx, e, daemonConfig{Env: []string{"MALLOC_ARENA_MAX=1"}}, calls, hold, pause, nil)
	if err != nil {
		return nil, fmt.Errorf("MALLOC_ARENA_MAX=1: %w", err)
	}

	res := &result{command: "bin/bench -sections memory -out /tmp/memory.md"}
	var b strings.Builder
	fmt.Fprintf(&b, "intercomd as `make run` starts it (test pattern 640x480@30, test tone, counting sink), a separate process. "+
		"A Go resident (pion/webrtc, receive only, H.264 at payload type 108 as Chromium offers it) calls the door over the hub; each call waits for the first video frame, "+
		"stays %s, hangs up and waits until /healthz says idle. Readings: /proc/PID/status (VmRSS, VmHWM, Threads) and /proc/PID/fd, "+
		"%s after the last call. Goroutines: the daemon has no debug endpoint (none was added for this), so they are counted from a SIGQUIT dump, "+
		"which ends the process: \"before\" comes from a twin daemon after the same warm-up call. Threads (OS threads, from the same process) are a coarser signal. "+
		"\"No growth\": goroutines and open files not up, and RSS after the last call less than 3 MB above RSS after call %d (the allocators settle over the first hundred calls, then RSS stays level: 400 calls measured while writing this benchmark), and the same over the second half (after call %d against after call %d): a leak keeps growing.\n\n",
		hold, pause, s.warmCalls(), calls, calls/2)
	b.WriteString(table([]string{"", "RSS", "peak RSS (VmHWM)", "threads", "open files", "goroutines"}, [][]string{
		{"idle, 5 s after start", mb(s.idle.RSS), mb(s.idle.HWM), fmt.Sprint(s.idle.Threads), fmt.Sprint(s.idle.FDs), ""},
		{"in one call (max of 20 samples over 10 s)", mb(s.inCall.RSS), mb(s.inCall.HWM), fmt.Sprint(s.inCall.Threads), fmt.Sprint(s.inCall.FDs), ""},
		{"after that call (before)", mb(s.before.RSS), mb(s.before.HWM), fmt.Sprint(s.before.Threads), fmt.Sprint(s.before.FDs), fmt.Sprint(gBefore) + " (twin)"},
		{fmt.Sprintf("after %d more calls", calls), mb(s.after.RSS), mb(s.after.HWM), fmt.Sprint(s.after.Threads), fmt.Sprint(s.after.FDs), fmt.Sprint(gAfter)},
		{fmt.Sprintf("the same %d calls, MALLOC_ARENA_MAX=1", calls), mb(arena.after.RSS), mb(arena.after.HWM), fmt.Sprint(arena.after.Threads), fmt.Sprint(arena.after.FDs), ""},
	}))
	fmt.Fprintf(&b, "\nRSS after call n: %s; with MALLOC_ARENA_MAX=1: %s. Growth from call %d to call %d: %+.1f MB (%+.1f MB with one arena); over the second half: %+.1f MB (%+.1f MB). %d calls took %s (%.0f ms per call, set-up to idle).\n",
		s.rssAt(), arena.rssAt(), s.warmCalls(), calls, float64(s.growth())/1e6, float64(arena.growth())/1e6,
		float64(s.tailGrowth())/1e6, float64(arena.tailGrowth())/1e6, calls, s.took.Round(time.Second), msOf(s.took)/float64(calls))

	growth, tailGrowth := s.growth(), s.tailGrowth()
	noLeak := gAfter <= gBefore && s.after.FDs <= s.before.FDs && growth < 3e6 && tailGrowth < 3e6
	res.goals = []goal{
		{"memory: RSS idle", "≤ 40 MB", mb(s.idle.RSS), s.idle.RSS <= 40e6},
		{"memory: RSS in a call (640x480@30)", "≤ 80 MB", mb(s.inCall.RSS) + " (peak " + mb(s.inCall.HWM) + ")", s.inCall.HWM <= 80e6},
		{fmt.Sprintf("memory: no growth after %d calls", calls), "no growth",
			fmt.Sprintf("RSS %s after call %d, %s after call %d (%+.1f MB), goroutines %d → %d, open files %d → %d, threads %d → %d",
				mb(s.rss[s.warmCalls()-1]), s.warmCalls(), mb(s.rss[calls-1]), calls, float64(growth)/1e6, gBefore, gAfter, s.before.FDs, s.after.FDs, s.before.Threads, s.after.Threads),
			noLeak},
	}
	res.body = b.String() + memoryNotes(s, arena, noLeak)
	return res, nil
}
