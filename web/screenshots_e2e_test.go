package web

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/wire"
)

// TestChromiumPhoneScreenshots walks a phone (390x844) through the main screens in
// English on a dark system and in German on a light one: sign-in, home, the
// door ringing, a call with a picture. Each screen is checked to be in its
// language and colours; `make screenshots` keeps the pictures in
// docs/screenshots ($INTERCOM_SCREENSHOTS).
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
			screenshot(t, p, v.lang+"-"+v.scheme+"-"+screen+".png")
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

		// The door rings.
		if err := door.Send(wire.Message{Type: wire.TypeInvite, Text: json.RawMessage(`"Start"`), To: v.name}); err != nil {
			t.Fatal(err)
		}
		p.Wait(`intercom.state === 'ringing'`)
		if got := p.Text("#incoming-label"); got != v.ring {
			t.Errorf("%s ringing screen says %q, want %q", v.lang, got, v.ring)
		}
		shot(p, "ringing")
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
