package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio"
	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// csp is the policy web serves the client with (web/headers.go): the page
// must work under it, with no inline script or style.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src 'self' ws: wss:; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pageServer serves web/static as web does ("/panel" is panel.html) and, if
// api is not nil, the panel's API.
func pageServer(t *testing.T, api http.Handler) *httptest.Server {
	static := http.FileServer(http.Dir(filepath.Join("..", "..", "web", "static")))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		if r.URL.Path == "/panel" {
			r.URL.Path = "/panel.html"
		}
		static.ServeHTTP(w, r)
	})
	if api != nil {
		mux.Handle("/api/panel", api)
		mux.Handle("/api/panel/", api)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// The /panel page in a real Chromium: it shows the lights and relay live
// and its buttons press the very gpio.Button device reads, all in the
// browser's language (German here). Set PANEL_SCREENSHOT=file.png to keep
// a picture of it.
func TestChromiumPanelPage(t *testing.T) {
	cfg := door()
	cfg.Relay = &gpio.RelayConfig{Pulse: 2 * time.Second}
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := pageServer(t, p)
	stop := start(p)
	t.Cleanup(func() { stop() }) // before srv.Close: it ends the feed
	tab := chromiumtest.Start(t)
	wait := func(expr string) {
		t.Helper()
		if err := chromiumtest.WaitJS(tab, expr); err != nil {
			html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.outerHTML`))
			t.Fatalf("%v\npage: %.2000s", err, html)
		}
	}
	german(t, tab)
	// The smallest phone we design for, 320x568: the buttons are on the
	// first screen, nothing scrolls sideways.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(320, 568, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/panel")); err != nil {
		t.Fatalf("open /panel: %v", err)
	}
	wait(`document.body.dataset.panel === 'live' && document.body.dataset.conn === 'online' && document.documentElement.lang === 'de'`)
	fit, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => {
		const b = document.getElementById('press-hangup').getBoundingClientRect();
		return Math.round(b.bottom) + ' of ' + innerHeight + ', width ' + document.documentElement.scrollWidth + ' of ' + innerWidth;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	var bottom, height, width, inner int
	fmt.Sscanf(fit, "%d of %d, width %d of %d", &bottom, &height, &width, &inner)
	if height != 568 || bottom > height || width > 320 || inner != 320 {
		t.Errorf("panel at 320x568: buttons end at %s: want them on the first screen, nothing sideways", fit)
	}
	if left, err := chromiumtest.Untranslated(tab); err != nil || len(left) > 0 {
		t.Errorf("German panel: text outside the words: %q %v", left, err)
	}
	// The stylesheet applied under the CSP: LEDs are round.
	wait(`getComputedStyle(document.getElementById('led-ready')).borderRadius === '50%'`)
	wait(`document.getElementById('led-ringing').dataset.state === 'off' && document.getElementById('relay').dataset.state === 'open'`)

	p.Light("ready").Set(device.LightOn)
	wait(`document.getElementById('led-ready').dataset.state === 'on' && document.getElementById('led-ready-text').textContent === 'An'`)
	p.Light("ringing").Set(device.LightBlink)
	wait(`document.getElementById('led-ringing').dataset.state === 'blink' && document.getElementById('led-ringing-text').textContent === 'Blinkt'`)
	wait(`getComputedStyle(document.getElementById('led-ringing')).animationName === 'blink'`)
	p.Relay().Pulse()
	wait(`document.getElementById('relay').dataset.state === 'closed' && document.getElementById('relay-text').textContent === 'Offen · summt'`)
	for sel, want := range map[string]string{"#buttons-title": "Tasten", "#wrap-call span": "Klingeln", "#live-text": "Live", "title": "Türpanel · Intercom"} {
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("`+sel+`").textContent`))
		if err != nil || got != want {
			t.Errorf("German panel: %s = %q, %v; want %q", sel, got, err, want)
		}
	}
	if path := os.Getenv("PANEL_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wait(`document.getElementById('relay').dataset.state === 'open'`) // after the 2 s pulse

	for _, name := range []string{"call", "answer", "hangup"} {
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("press-"+name))); err != nil {
			t.Fatalf("click %s: %v", name, err)
		}
		wait(`document.body.dataset.lastPress === '` + name + `:204'`)
		select {
		case <-p.Button(name).Pressed():
		case <-time.After(10 * time.Second):
			t.Fatalf("clicking %s on the page: 204, but no press reached the button", name)
		}
	}
	if msg, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('error').textContent`)); strings.TrimSpace(msg) != "" {
		t.Errorf("page shows an error after the presses: %q", msg)
	}
}

// Without a simulated panel the page says so instead of showing dead
// buttons.
func TestChromiumPanelPageAbsent(t *testing.T) {
	srv := pageServer(t, nil)
	tab := chromiumtest.Start(t)
	german(t, tab)
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/panel")); err != nil {
		t.Fatalf("open /panel: %v", err)
	}
	if err := chromiumtest.WaitJS(tab, `document.body.dataset.panel === 'absent' && !document.getElementById('absent').hidden && document.getElementById('buttons-card').offsetParent === null`); err != nil {
		t.Fatal(err)
	}
	if left, err := chromiumtest.Untranslated(tab); err != nil || len(left) > 0 {
		t.Errorf("German panel without a panel: text outside the words: %q %v", left, err)
	}
}

// german makes the browser of tab ask for German first, as a phone set to
// German does (navigator.languages and Accept-Language).
func german(t *testing.T, tab context.Context) {
	t.Helper()
	ua, err := chromedp.Run(tab, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "de-DE,de;q=0.9"}); err != nil {
		t.Fatal(err)
	}
}
