package web

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// axe fails the test for every serious or critical axe-core violation on
// p's screen as it is now, in the dark and in the light colour scheme.
func (p *page) axe(screen, src string) {
	p.T.Helper()
	for _, scheme := range []string{"dark", "light"} {
		if _, err := chromedp.Call(p.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			p.T.Fatal(err)
		}
		// The page's text colour follows the scheme before axe looks.
		p.Wait(`getComputedStyle(document.body).color === "` + map[string]string{"dark": "rgb(230, 237, 243)", "light": "rgb(31, 35, 40)"}[scheme] + `"`)
		found, err := chromiumtest.Axe(p.Ctx, src)
		if err != nil {
			p.T.Fatalf("%s: axe on the %s screen (%s): %v", p.Name, screen, scheme, err)
		}
		for _, v := range found {
			p.T.Errorf("%s screen (%s): %s", screen, scheme, v)
		}
	}
}

// keys types s, then presses the keys after it, into whatever has the
// focus, as a keyboard user does.
func (p *page) keys(s string, then ...string) {
	p.T.Helper()
	acts := []chromedp.Action[chromedp.Void]{chromedp.KeyEvent(s)}
	for _, k := range then {
		acts = append(acts, chromedp.KeyEvent(k))
	}
	if err := chromedp.Do(p.Ctx, acts...); err != nil {
		p.T.Fatalf("page %s: keys: %v", p.Name, err)
	}
}

// TestChromiumLoginAccessibility: the login page (first password, log in)
// and the API tokens card pass axe-core in dark and light, and a resident
// gets through them by keyboard alone: the focus starts in the first field,
// Tab and Enter do the rest.
func TestChromiumLoginAccessibility(t *testing.T) {
	src, err := chromiumtest.AxeSource()
	if err != nil {
		t.Fatal(err)
	}
	ss := startSecure(t, "", nil)
	browser := chromiumtest.Start(t, chromiumtest.IgnoreCertErrors)

	p := newPage(t, browser, "alice", true, ss.base+"/?name=alice")
	p.Wait(`document.body.dataset.mode === 'setup' && document.activeElement === document.getElementById('new-password')`)
	p.Eval(`document.getElementById('cert').open = true`)
	p.axe("set a password", src)
	p.keys(testPassword, kb.Tab)
	p.keys(testPassword, kb.Enter)
	p.Wait(`location.pathname === '/' && window.intercom && intercom.state === 'idle' && intercom.conn === 'online'`)

	// The tokens card, by keyboard: its summary opens it, the form makes a
	// token on Enter.
	p.Wait(`!document.getElementById('tokens').hidden`)
	p.Eval(`document.querySelector('#tokens summary').focus()`)
	p.keys(kb.Enter)
	p.Wait(`document.getElementById('tokens').open`)
	p.Eval(`document.getElementById('token-name').focus()`)
	p.keys("gate phone", kb.Enter)
	p.Wait(`document.querySelector('#token-list li[data-token]') && !document.getElementById('token-new').hidden`)
	p.axe("API tokens", src)

	// Logged out, the login form: focus in the password, Enter logs in.
	p.Click("#logout")
	p.Wait(`location.pathname === '/login' && document.body.dataset.mode === 'login' && document.activeElement === document.getElementById('password')`)
	p.axe("log in", src)
	p.keys(testPassword, kb.Enter)
	p.Wait(`location.pathname === '/' && window.intercom && intercom.state === 'idle'`)
}
