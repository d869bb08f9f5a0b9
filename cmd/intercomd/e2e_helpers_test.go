package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/internal/firefoxtest"
	"github.com/intercomd/intercomd/internal/poll"

	"github.com/intercomd/intercomd/gpio/sim"
	"github.com/intercomd/intercomd/health"
)

// intercom is a whole intercomd started in-process on a loopback port, with
// test devices and the simulated panel, as `make run` starts it.
type intercom struct {
	t        testing.TB
	url      string
	logs     *syncBuffer
	stateDir string
	client   *http.Client // trusts the daemon's CA under https: true
}

// testVideoBitrate is the ceiling the e2e tests give the door (bits/s).
const testVideoBitrate = "4000000"

// startDaemon runs intercomd with args (after the test defaults) until the
// test ends. yaml is written to a config file passed first.
func startDaemon(t testing.TB, yaml string, args ...string) *intercom {
	t.Helper()
	stateDir := t.TempDir()
	base := []string{"-listen", "127.0.0.1:0", "-no-auth", "-camera", "test", "-mic", "test", "-speaker", "test",
		"-gpio", "sim", "-state-dir", stateDir}
	// The test pattern's noise needs about 2.2 Mbit/s at 640x480, so at the
	// default 1 Mbit/s the rate governor shrinks the picture within seconds.
	// Tests that check the door's picture size run with room for it; rate
	// control has its own tests in media.
	if !strings.Contains(yaml, "video_bitrate:") {
		yaml = "video_bitrate: " + testVideoBitrate + "\n" + yaml
	}
	{
		p := filepath.Join(t.TempDir(), "intercomd.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		base = append([]string{"-config", p}, base...)
	}
	d := &intercom{t: t, logs: &syncBuffer{}, stateDir: stateDir, client: http.DefaultClient}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(base, args...), io.Discard, d.logs, func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		d.url = "http://" + a
		if strings.Contains(yaml, "\nhttps: true\n") {
			d.url, d.client = "https://"+a, caClient(t, filepath.Join(stateDir, "ca-cert.pem"))
		}
	case err := <-done:
		t.Fatalf("intercomd exited at start: %v\n%s", err, d.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("intercomd did not listen within a minute\n%s", d.logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("intercomd stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("intercomd did not stop within 30 s")
		}
		if t.Failed() {
			t.Logf("intercomd log:\n%s", d.logs)
		}
	})
	d.waitHealth(func(h health.Report) bool { return h.Device.Registered }, "the door registered")
	return d
}

// health reads the daemon's /healthz.
func (d *intercom) health() (health.Report, error) {
	return health.Get(context.Background(), d.client, d.url)
}

// quiet fails the test if the daemon logged a warning or an error, or if
// anything was written to the raw stderr (stderr is captureStderr's stop).
func (d *intercom) quiet(stderr func() string) {
	d.t.Helper()
	for _, line := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			d.t.Errorf("a normal call logged: %s", line)
		}
	}
	if raw := stderr(); raw != "" {
		d.t.Errorf("a normal call wrote to stderr beside the log:\n%s", raw)
	}
}

// waitHealth polls /healthz until ok holds; what names the condition.
func (d *intercom) waitHealth(ok func(health.Report) bool, what string) health.Report {
	d.t.Helper()
	var last health.Report
	err := poll.Until(context.Background(), 60*time.Second, 50*time.Millisecond, func() error {
		var err error
		if last, err = d.health(); err == nil && !ok(last) {
			err = fmt.Errorf("last /healthz %+v", last)
		}
		return err
	})
	if err != nil {
		d.t.Fatalf("waiting for %s: %v", what, err)
	}
	return last
}

func (d *intercom) doorState(want string) {
	d.t.Helper()
	d.waitHealth(func(h health.Report) bool { return h.Device.State == want }, "door state "+want)
}

type panelState struct {
	Buttons []string          `json:"buttons"`
	LEDs    map[string]string `json:"leds"`
	Relay   string            `json:"relay"`
}

func (d *intercom) panel() panelState {
	d.t.Helper()
	var p panelState
	resp, err := d.client.Get(d.url + "/api/panel")
	if err != nil {
		d.t.Fatalf("GET /api/panel: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		d.t.Fatalf("decode /api/panel: %v", err)
	}
	return p
}

// waitPanel polls /api/panel until ok holds.
func (d *intercom) waitPanel(ok func(panelState) bool, what string) {
	d.t.Helper()
	err := poll.Until(context.Background(), 30*time.Second, 20*time.Millisecond, func() error {
		if last := d.panel(); !ok(last) {
			return fmt.Errorf("last %+v", last)
		}
		return nil
	})
	if err != nil {
		d.t.Fatalf("waiting for the panel to show %s: %v", what, err)
	}
}

// press presses a simulated panel button as a visitor would.
func (d *intercom) press(button string) {
	d.t.Helper()
	if err := sim.PressAt(context.Background(), d.client, d.url, button); err != nil {
		d.t.Fatal(err)
	}
}

// page is one resident's browser tab running our client: a Chromium tab
// (ctx) or a Firefox one (ff).
type page struct {
	t    testing.TB
	name string
	ctx  context.Context
	ff   *firefoxtest.Page
}

// openFirefox opens the client as name in a new tab of a Firefox and waits
// until it is online and sees the door.
func openFirefox(t *testing.T, b *firefoxtest.Browser, d *intercom, name string) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), firefoxtest.Timeout)
	t.Cleanup(cancel)
	ff, err := b.Open(ctx, d.url+"/?name="+name)
	if err != nil {
		t.Fatalf("open the client in Firefox as %s: %v", name, err)
	}
	p := &page{t: t, name: name, ctx: ctx, ff: ff}
	p.wait(`document.body.dataset.state === "idle" && document.querySelector('#users li[data-user="door"]')`)
	return p
}

// openPage opens the client as name in a new tab of browser and waits until
// it is online and sees the door.
func openPage(t testing.TB, browser context.Context, d *intercom, name string) *page {
	t.Helper()
	cp, err := chromiumtest.OpenPage(browser, d.url+"/?name="+name, name, chromiumtest.PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Close)
	p := &page{t: t, name: name, ctx: cp.Ctx}
	p.wait(`document.body.dataset.state === "idle" && document.querySelector('#users li[data-user="door"]')`)
	return p
}

// pageWait bounds a page's waits and clicks.
const pageWait = 60 * time.Second

// chromium is the page's tab as internal/chromiumtest drives it.
func (p *page) chromium() *chromiumtest.Page { return &chromiumtest.Page{Ctx: p.ctx, Name: p.name} }

// wait polls a JavaScript condition on the page.
func (p *page) wait(expr string) {
	p.t.Helper()
	if p.ff != nil {
		ctx, cancel := context.WithTimeout(p.ctx, pageWait)
		defer cancel()
		if err := p.ff.WaitJS(ctx, expr); err != nil {
			var state string
			p.ff.Eval(p.ctx, `document.body.dataset.state + " log=" + JSON.stringify(window.intercom && window.intercom.log)`, &state)
			p.t.Fatalf("%s (Firefox): %v (page: %s)", p.name, err, state)
		}
		return
	}
	if err := p.chromium().Wait(expr, pageWait); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) click(sel string) {
	p.t.Helper()
	if p.ff != nil {
		if err := p.ff.Eval(p.ctx, fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil); err != nil {
			p.t.Fatalf("%s (Firefox): click %s: %v", p.name, sel, err)
		}
		return
	}
	if err := p.chromium().Click(sel, pageWait); err != nil {
		p.t.Fatal(err)
	}
}

// press puts the mouse's left button down on sel and keeps it there;
// release lets it go.
func (p *page) press(sel string) { p.mouse(sel, input.DispatchMouseEventTypeMousePressed) }

func (p *page) release(sel string) { p.mouse(sel, input.DispatchMouseEventTypeMouseReleased) }

func (p *page) mouse(sel string, typ input.DispatchMouseEventType) {
	p.t.Helper()
	xy, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] })()`, sel)))
	if err != nil || len(xy) != 2 {
		p.t.Fatalf("%s: where is %s: %v", p.name, sel, err)
	}
	ev := chromedp.MouseEvent(typ, xy[0], xy[1], chromedp.ButtonLeft, chromedp.ClickCount(1))
	if err := chromedp.Do(p.ctx, ev); err != nil {
		p.t.Fatalf("%s: %s on %s: %v", p.name, typ, sel, err)
	}
}

func (p *page) eval(js string) {
	p.t.Helper()
	if p.ff != nil {
		if err := p.ff.Eval(p.ctx, js, nil); err != nil {
			p.t.Fatalf("%s (Firefox): %s: %v", p.name, js, err)
		}
		return
	}
	if err := p.chromium().Eval(js); err != nil {
		p.t.Fatal(err)
	}
}

// waitVideo waits until the page decodes the call's video at w x h.
func (p *page) waitVideo(w, h int) {
	p.t.Helper()
	p.wait(fmt.Sprintf(`(() => { const s = window.intercom.lastStats; return s && s.video.framesDecoded > 0 && s.video.frameWidth === %d && s.video.frameHeight === %d })()`, w, h))
}

// waitAudio waits until the page receives and decodes the call's audio.
func (p *page) waitAudio() {
	p.t.Helper()
	p.wait(`(() => { const s = window.intercom.lastStats; return s && s.audio.totalSamplesReceived > 0 })()`)
}

// syncBuffer is a bytes.Buffer one goroutine writes while another reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// getJSON decodes the answer to GET path into v.
func (d *intercom) getJSON(path string, v any) {
	d.t.Helper()
	res, err := http.Get(d.url + path)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}
