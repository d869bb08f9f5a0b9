package web

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/wire"
)

// TestChromiumPhoneScreenshots walks a phone (390x844) through the main screens in
// English on a dark system and in German on a light one: sign-in, home, the
// door ringing, a call with a picture. Each screen is checked to be in its
// language and colours; `make screenshots` keeps the pictures (WebP, the
// phone's screen) in docs/screenshots ($INTERCOM_SCREENSHOTS).
func TestChromiumPhoneScreenshots(t *testing.T) {
	srv, h := newTestServer(t, Config{Version: "e2e", Status: func() health.Report {
		return health.Report{Device: device.Status{Name: "door", State: "idle"}, DisplayName: "Front door"}
	}})
	door := h.Local("door")
	t.Cleanup(func() { door.Close() })
	if err := door.Send(wire.Message{Type: wire.TypeRegister, Text: json.RawMessage(`"door"`)}); err != nil {
		t.Fatal(err)
	}
	browser := chromiumtest.Start(t)
	kitchen := openPage(t, browser, srv.URL, "Kitchen", false)

	for _, v := range []struct {
		lang, accept, scheme, name, welcome, ring string
		text                                      string // body's text colour in this scheme
	}{
		{"en", "en-GB,en", "dark", "Anna", "Welcome", "Someone is at the door", "rgb(230, 237, 243)"},
		{"de", "de-DE,de", "light", "Jonas", "Willkommen", "Jemand ist an der Tür", "rgb(31, 35, 40)"},
	} {
		shot := func(p *page, screen string) {
			t.Helper()
			if !p.Bool(`document.documentElement.scrollWidth <= innerWidth`) {
				t.Errorf("%s %s screen is wider than the phone (it scrolls sideways)", v.lang, screen)
			}
			// The phone's screen as WebP (a tenth of a full-page PNG's bytes).
			shotRes, err := chromedp.Call(p.Ctx, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{Format: cdppage.CaptureScreenshotFormatWebp, Quality: new(int64(80))})
			img := shotRes.Data
			if err != nil || len(img) < 1000 {
				t.Fatalf("%s %s screenshot: %d bytes, %v", v.lang, screen, len(img), err)
			}
			if dir := os.Getenv("INTERCOM_SCREENSHOTS"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, v.lang+"-"+v.scheme+"-"+screen+".webp"), img, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		p := openIn(t, browser, v.accept, v.name, true, "about:blank")
		p.Allow("/api/snapshot.jpg") // the ringing screen asks for the door's picture; this server has no camera
		if _, err := chromedp.Call(p.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v.scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/?name=")); err != nil {
			t.Fatal(err)
		}
		p.Wait(`intercom.state === 'signin' && document.documentElement.lang === '` + v.lang + `' && getComputedStyle(document.body).color === '` + v.text + `'`)
		if got := p.Text("#signin h1"); got != v.welcome {
			t.Errorf("%s sign-in says %q, want %q", v.lang, got, v.welcome)
		}
		shot(p, "signin")
		if err := chromedp.Do(p.Ctx, chromedp.SendKeys(chromedp.CSS("#name"), v.name)); err != nil {
			t.Fatal(err)
		}
		p.Click("#connect")
		p.Wait(`intercom.state === 'idle' && intercom.users.some(u => u.name === 'door') && intercom.users.some(u => u.name === 'Kitchen') && intercom.health`)
		p.Wait(`document.querySelector('#users li[data-user="door"] .uname').textContent === 'Front door'`)
		shot(p, "home")
		// The smallest phone, 320x568: nothing scrolls sideways, the
		// resident's and the door's names and the door's state show whole.
		small(t, p, v.lang, func() {
			for _, sel := range []string{"#me-name", `#users li[data-user="door"] .uname`, `#users li[data-user="door"] .sub`} {
				if !p.Bool(`(() => { const e = document.querySelector('` + sel + `'); return e.offsetWidth > 0 && e.scrollWidth <= e.clientWidth && e.getClientRects().length === 1 })()`) {
					t.Errorf("%s home at 320 px: %s is cut or wraps (%q)", v.lang, sel, p.Text(sel))
				}
			}
		})

		// The door rings.
		if err := door.Send(wire.Message{Type: wire.TypeInvite, Text: json.RawMessage(`"Start"`), To: v.name}); err != nil {
			t.Fatal(err)
		}
		p.Wait(`intercom.state === 'ringing'`)
		if got := p.Text("#incoming-label"); got != v.ring {
			t.Errorf("%s ringing screen says %q, want %q", v.lang, got, v.ring)
		}
		shot(p, "ringing")
		// A landscape phone: the ringing screen shows its avatar and its
		// buttons whole.
		landscape(t, p, v.lang, func() {
			for _, sel := range []string{"#incoming .avatar", "#answer", "#reject"} {
				if !p.Bool(`(() => { const r = document.querySelector('` + sel + `').getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight })()`) {
					t.Errorf("%s ringing screen, landscape: %s is clipped", v.lang, sel)
				}
			}
		})
		p.Click("#reject")
		p.Wait(`intercom.state === 'idle'`)

		// A call with a picture (the kitchen's camera).
		kitchen.Wait(`intercom.state === 'idle' && intercom.users.some(u => u.name === '` + v.name + `')`)
		kitchen.Click(`#users button[data-call="` + v.name + `"]`)
		p.Wait(`intercom.state === 'ringing'`)
		p.Click("#answer")
		p.Wait(`intercom.state === 'incall' && document.getElementById('remote').videoWidth > 0 && document.getElementById('call').dataset.remoteVideo === 'true' && intercom.lastStats && intercom.lastStats.video.framesDecoded > 30`)
		shot(p, "call")
		p.Click("#hangup")
		p.Wait(`intercom.state === 'idle'`)
		kitchen.Wait(`intercom.state === 'idle'`)
		p.Click("#change-name")
		p.Wait(`intercom.state === 'signin'`)
	}
}

// small runs check with p on a 320x568 phone, then turns it back into the
// 390x844 one.
func small(t *testing.T, p *page, lang string, check func()) {
	t.Helper()
	resized(t, p, lang, 320, 568, emulation.ScreenOrientationTypePortraitPrimary, check)
}

// landscape runs check with p on an 844x390 phone held sideways.
func landscape(t *testing.T, p *page, lang string, check func()) {
	t.Helper()
	resized(t, p, lang, 844, 390, emulation.ScreenOrientationTypeLandscapePrimary, check)
}

func resized(t *testing.T, p *page, lang string, w, h int64, o emulation.ScreenOrientationType, check func()) {
	t.Helper()
	size := func(w, h int64, o emulation.ScreenOrientationType) {
		t.Helper()
		if err := chromedp.Do(p.Ctx, chromedp.EmulateViewport(w, h, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateOrientation(o, 0))); err != nil {
			t.Fatal(err)
		}
		p.Wait(fmt.Sprintf(`innerWidth === %d`, w))
	}
	size(w, h, o)
	if !p.Bool(`document.documentElement.scrollWidth <= innerWidth`) {
		t.Errorf("%s at %dx%d: the page is wider than the phone (it scrolls sideways)", lang, w, h)
	}
	check()
	size(390, 844, emulation.ScreenOrientationTypePortraitPrimary)
}
