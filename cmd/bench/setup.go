package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// setupFlow is one way a call starts.
type setupFlow struct {
	name  string
	run   func() (float64, error) // ms from the click to the first frame shown
	marks []map[string]float64    // ms from the click to each step
}

// firstFrame waits until p has shown the call's first video frame and
// returns the milliseconds since its click, and since it at each step.
func firstFrame(p *page, marks *[]map[string]float64) (float64, error) {
	if err := p.Wait(`window.__bench.first > 0 && window.__bench.t0 > 0`, 20*time.Second); err != nil {
		return 0, err
	}
	if m, err := chromiumtest.Value[map[string]float64](p, `window.__bench.marks`); err == nil {
		*marks = append(*marks, m)
	}
	return chromiumtest.Value[float64](p, `window.__bench.first - window.__bench.t0`)
}

// endCall hangs up from p and waits until the pages and the door are idle.
func endCall(d *daemon, p *page, others ...*page) error {
	if err := p.Eval(`window.__bench.hangup()`); err != nil {
		return err
	}
	for _, q := range append([]*page{p}, others...) {
		if err := q.Wait(`document.body.dataset.state === "idle"`, 10*time.Second); err != nil {
			return err
		}
	}
	return d.waitState("idle", 10*time.Second)
}

// benchSetup: click to first decoded frame in headless Chromium, for the
// three ways a call starts, interleaved.
func benchSetup(ctx context.Context, e *env) (*result, error) {
	n := 20
	if e.quick {
		n = 5
	}
	d, err := startDaemon(ctx, e.intercomd, daemonConfig{RingGroup: []string{"alice"}})
	if err != nil {
		return nil, err
	}
	defer d.stop()
	b, err := startBrowser(ctx, e.chromium)
	if err != nil {
		return nil, err
	}
	defer b.close()
	var pages []*page
	for _, name := range []string{"alice", "bob", "carol"} {
		want := "door"
		if name == "carol" {
			want = "bob"
		}
		p, err := b.openPage(d.url, name, want)
		if err != nil {
			return nil, err
		}
		defer p.Close()
		pages = append(pages, p)
	}
	alice, bob, carol := pages[0], pages[1], pages[2]
	if err := bob.Eval(`window.__bench.autoAnswer = true`); err != nil {
		return nil, err
	}

	var pressToRing []float64
	var flows []setupFlow
	flows = []setupFlow{
		{name: "browser → door (click Call on \"door\")", run: func() (float64, error) {
			if err := alice.Eval(`window.__bench.call("door")`); err != nil {
				return 0, err
			}
			ms, err := firstFrame(alice, &flows[0].marks)
			if err != nil {
				return 0, err
			}
			return ms, endCall(d, alice)
		}},
		{name: "door → browser (panel Call; from the Answer click)", run: func() (float64, error) {
			if err := alice.Eval(`window.__bench.autoAnswer = true; window.__bench.t0 = 0`); err != nil {
				return 0, err
			}
			defer alice.Eval(`window.__bench.autoAnswer = false`)
			pressed := time.Now()
			if err := d.press("call"); err != nil {
				return 0, err
			}
			ms, err := firstFrame(alice, &flows[1].marks)
			if err != nil {
				return 0, err
			}
			if ringAt, err := chromiumtest.Value[float64](alice, `window.__bench.ringAt`); err == nil {
				pressToRing = append(pressToRing, ringAt-float64(pressed.UnixMilli()))
			}
			return ms, endCall(d, alice)
		}},
		{name: "browser → browser through our hub (callee answers at once)", run: func() (float64, error) {
			if err := carol.Eval(`window.__bench.call("bob")`); err != nil {
				return 0, err
			}
			ms, err := firstFrame(carol, &flows[2].marks)
			if err != nil {
				return 0, err
			}
			return ms, endCall(d, carol, bob)
		}},
	}
	times := make([][]float64, len(flows))
	cold := make([]float64, len(flows))
	var failures []string
	for i := range n + 1 {
		for j, fl := range flows {
			ms, err := fl.run()
			if err != nil {
				// A call that fails is reported, the pages are put back to
				// idle, and the run goes on; more than a few end it.
				failures = append(failures, fmt.Sprintf("%s, call %d: %v", fl.name, i, err))
				e.log("setup: %s", failures[len(failures)-1])
				if len(failures) > 3 {
					return nil, fmt.Errorf("%d calls failed: %s", len(failures), strings.Join(failures, "; "))
				}
				for _, p := range pages {
					p.Eval(`window.__bench.autoAnswer = false; window.__bench.hangup()`)
				}
				bob.Eval(`window.__bench.autoAnswer = true`)
				if err := d.waitState("idle", 15*time.Second); err != nil {
					return nil, err
				}
				continue
			}
			if i == 0 {
				cold[j] = ms // the browser's first call warms its codecs
				continue
			}
			times[j] = append(times[j], ms)
		}
		if i%5 == 0 {
			e.log("setup: %d of %d rounds", i, n)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}

	res := &result{command: "bin/bench -sections setup -out /tmp/setup.md"}
	var rows [][]string
	ref := []string{"", "", "seed: 255 ms median (browser to browser, with its ringing round trips; measured earlier on this machine)"}
	for j, fl := range flows {
		s := summarize(times[j])
		rows = append(rows, []string{fl.name, f(s.Median, 0) + " ms", f(s.P90, 0) + " ms", f(s.Min, 0) + "–" + f(s.Max, 0) + " ms", f(cold[j], 0) + " ms", ref[j]})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Headless Chromium (one browser, three tabs of our client: alice, bob, carol) and intercomd (test pattern 640x480@30, ring group: alice) on loopback. "+
		"Each figure is from the click (an element.click() in the page, so no DevTools round trip is counted) to the first video frame the page's remote video presents "+
		"(requestVideoFrameCallback), %d calls per flow, the three flows interleaved; the first call of each flow (cold) is reported apart and left out. "+
		"Door → browser starts with the simulated panel's Call press (POST /api/panel/press) and is timed from the page's Answer click, made as soon as it rings. "+
		"Browser → browser: carol calls bob, who answers as soon as his page rings; the figure is carol's. The client asks for its camera and microphone (Chromium's fake devices) on each call, which is in the figures.\n\n", n)
	sb.WriteString(table([]string{"flow", "median", "p90", "min–max", "cold", "reference"}, rows))
	sb.WriteString("\nWhere the time goes (medians, ms after the click; — where a step is not this page's): the camera and microphone granted (getUserMedia resolved), " +
		"the Invite sent (caller) or Accepted sent (callee), the call accepted (the page shows the call), the offer sent (caller) or the answer sent (callee), " +
		"the media connected (ICE and DTLS up: #call[data-connected]), the first frame shown.\n\n")
	var phases [][]string
	for _, fl := range flows {
		step := func(k string) string {
			var xs []float64
			for _, m := range fl.marks {
				if v, ok := m[k]; ok {
					xs = append(xs, v)
				}
			}
			return f(summarize(xs).Median, 0)
		}
		phases = append(phases, []string{fl.name, step("media"), step("invite") + " / " + step("accept"), step("incall"),
			step("offer") + " / " + step("answer"), step("connected"), step("frame")})
	}
	sb.WriteString(strings.ReplaceAll(table([]string{"flow", "media granted", "Invite / Accepted sent", "in call", "offer / answer sent", "connected", "first frame"}, phases), "n/a", "—"))
	if len(failures) > 0 {
		fmt.Fprintf(&sb, "\n**%d calls failed** and are left out: %s\n", len(failures), strings.Join(failures, "; "))
	}
	if len(pressToRing) > 0 {
		s := summarize(pressToRing)
		fmt.Fprintf(&sb, "\nDoor → browser, from the panel press to the page ringing: median %s ms, p90 %s ms.\n", f(s.Median, 0), f(s.P90, 0))
	}
	b2d := summarize(times[0]).Median
	b2b := summarize(times[2]).Median
	res.goals = []goal{
		{"setup: browser → door, click to first frame", "≤ 150 ms median", f(b2d, 0) + " ms", b2d <= 150},
		{"setup: browser → browser", "seed: 255 ms median", f(b2b, 0) + " ms", b2b <= 255},
	}
	res.body = sb.String() + setupNotes(res.goals, flows)
	return res, nil
}
