package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// clockSample is what bench.js read from the clock code of one call.
type clockSample struct {
	Frames  int       `json:"frames"` // frames presented
	Unread  int       `json:"unread"` // presented frames whose code did not read
	Total   []float64 `json:"total"`  // ms from capture to the frame callback (Date.now())
	Display []float64 `json:"display"`
	Size    string    `json:"size"`
}

// benchGlass: the door's -camera clock source paints the capture time into
// each frame; the page reads it back when the frame is presented.
func benchGlass(ctx context.Context, e *env) (*result, error) {
	window, rounds := 20*time.Second, 2
	if e.quick {
		window, rounds = 5*time.Second, 1
	}
	type size struct {
		w, h int
		d    *daemon
		p    *page
		all  clockSample
	}
	sizes := []*size{{w: 640, h: 480}, {w: 1280, h: 720}}
	b, err := startBrowser(ctx, e.chromium)
	if err != nil {
		return nil, err
	}
	defer b.close()
	for _, s := range sizes {
		d, err := startDaemon(ctx, e.intercomd, daemonConfig{Camera: "clock", Width: s.w, Height: s.h})
		if err != nil {
			return nil, err
		}
		defer d.stop()
		p, err := b.openPage(d.url, "alice", "door")
		if err != nil {
			return nil, err
		}
		defer p.Close()
		s.d, s.p = d, p
	}
	for round := range rounds {
		for _, s := range sizes {
			e.log("glass: %dx%d, round %d/%d (%s)", s.w, s.h, round+1, rounds, window)
			if err := s.p.Eval(`window.__bench.call("door")`); err != nil {
				return nil, err
			}
			if err := s.p.Wait(`window.__bench.first > 0`, 20*time.Second); err != nil {
				return nil, err
			}
			settle(ctx, 2*time.Second) // past the start of the call
			if err := s.p.Eval(`window.__bench.startClock()`); err != nil {
				return nil, err
			}
			settle(ctx, window)
			c, err := chromiumtest.Value[clockSample](s.p, `window.__bench.stopClock()`)
			if err != nil {
				return nil, err
			}
			if err := endCall(s.d, s.p); err != nil {
				return nil, err
			}
			if c.Size != fmt.Sprintf("%dx%d", s.w, s.h) {
				return nil, fmt.Errorf("the page got %s video, want %dx%d", c.Size, s.w, s.h)
			}
			if len(c.Total) == 0 {
				return nil, fmt.Errorf("%dx%d: no frame's clock code could be read (%d frames presented)", s.w, s.h, c.Frames)
			}
			s.all.Frames += c.Frames
			s.all.Unread += c.Unread
			s.all.Total = append(s.all.Total, c.Total...)
			s.all.Display = append(s.all.Display, c.Display...)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}

	res := &result{command: "bin/bench -sections glass -out /tmp/glass.md"}
	var rows [][]string
	for _, s := range sizes {
		t, disp := summarize(s.all.Total), summarize(s.all.Display)
		secs := float64(rounds) * window.Seconds()
		rows = append(rows, []string{fmt.Sprintf("%dx%d@30, %d kbit/s", s.w, s.h, doorBitrate(s.w, s.h)/1000),
			f(t.Median, 0) + " ms", f(t.P90, 0) + " ms", f(t.Min, 0) + "–" + f(t.Max, 0) + " ms",
			f(disp.Median, 0) + " ms",
			fmt.Sprintf("%d (%.1f/s)", len(s.all.Total), float64(len(s.all.Total))/secs), fmt.Sprint(s.all.Unread)})
		if s.w == 640 {
			res.goals = append(res.goals, goal{"glass-to-glass at 640x480@30", "≤ 100 ms median", f(t.Median, 0) + " ms (p90 " + f(t.P90, 0) + " ms)", t.Median <= 100})
		} else {
			res.goals = append(res.goals, goal{fmt.Sprintf("glass-to-glass at %dx%d@30", s.w, s.h), noGoal, f(t.Median, 0) + " ms (p90 " + f(t.P90, 0) + " ms)", true})
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "intercomd with `-camera clock` (media/clock.go: each frame carries its capture time, CLOCK_REALTIME in ms, as a CRC-checked code of 16x16 blocks) "+
		"in a call with our client in headless Chromium on the same machine. For every frame the page presents (requestVideoFrameCallback), bench.js draws the code's corner of the video to a canvas, "+
		"reads the time back and compares it with Date.now() (the same clock). %s per size of %s each, alternating sizes, sampled after 2 s of call. "+
		"Columns: glass-to-glass = callback time − capture time; "+
		"display = the frame's expected display time (rVFC expectedDisplayTime) − capture time (rVFC's receiveTime is not used: on this Chromium it was at times earlier than the capture). Frames: distinct capture times read (the source runs at 30/s); unread: presented frames whose code failed its CRC or contrast check.\n\n", plural(rounds, "call"), window)
	sb.WriteString(table([]string{"door video", "glass-to-glass median", "p90", "min–max", "display (median)", "frames read", "unread"}, rows))
	sb.WriteString("\nA user sees the same on any browser: `intercomd -camera clock` paints the code and the time in digits; a photo of the screen beside a clock, or a page that reads the code as bench.js does, shows the pipeline's delay.\n")
	res.body = sb.String() + glassNotes(res.goals)
	return res, nil
}
