package web

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// openIn opens our client as a browser set to the languages accept (an
// Accept-Language list, as a phone's settings give it) would.
func openIn(t *testing.T, browser context.Context, accept, name string, phone bool, url string) *page {
	t.Helper()
	p := newPage(t, browser, name, phone, "about:blank")
	ua, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(p.Ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: accept}); err != nil {
		t.Fatalf("%s: set languages %s: %v", name, accept, err)
	}
	if err := chromedp.Do(p.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return p
}

// TestChromiumLanguages: the client speaks the browser's language (German
// and French here, in the page and in the words the calls make), follows a
// language chosen in the settings across a reload, and goes back to the
// browser's when the choice is cleared. The door reads as its display name.
func TestChromiumLanguages(t *testing.T) {
	srv, _ := newTestServer(t, Config{Version: "e2e", Status: func() health.Report {
		return health.Report{Device: device.Status{Name: "door", State: "idle"}, DisplayName: "Haustür"}
	}})
	browser := chromiumtest.Start(t)

	anna := openIn(t, browser, "de-DE,de;q=0.9,en;q=0.8", "anna", true, srv.URL+"/?name=")
	anna.Wait(`intercom.state === 'signin' && document.documentElement.lang === 'de'`)
	for sel, want := range map[string]string{"#signin h1": "Willkommen", "#connect": "Verbinden", "label[for=name]": "Dein Name"} {
		if got := anna.Text(sel); got != want {
			t.Errorf("German page: %s = %q, want %q", sel, got, want)
		}
	}
	if !anna.Bool(`document.getElementById('name').placeholder.startsWith('z. B.')`) {
		t.Error("German page: the name's placeholder is not German")
	}
	// A wrong name gets its error in German, from script.
	anna.Click("#connect")
	if got := anna.Text("#signin-error"); got != "Bitte gib einen Namen ein." {
		t.Errorf("German page, empty name: error %q", got)
	}
	// Dates and times in the language: German clocks run to 24.
	clock, err := chromedp.Run(anna.Ctx, chromedp.Evaluate[string](`import('/i18n.js').then(m => m.time(new Date(2026, 0, 2, 15, 4)))`, chromedp.EvalAwaitPromise))
	if err != nil || clock != "15:04" {
		t.Errorf("German page: i18n.time(15:04) = %q, %v; want 15:04", clock, err)
	}
	if err := chromedp.Do(anna.Ctx, chromedp.SendKeys(chromedp.CSS("#name"), "anna")); err != nil {
		t.Fatal(err)
	}
	anna.Click("#connect")
	anna.Wait(`intercom.state === 'idle' && intercom.conn === 'online'`)
	anna.Eval(`document.querySelectorAll('details:not([hidden])').forEach(d => d.open = true)`)
	if left, err := chromiumtest.Untranslated(anna.Ctx); err != nil || len(left) > 0 {
		t.Errorf("German page: text outside the words: %q %v", left, err)
	}

	// The door reads as its display name in words (it is "door" on the hub).
	anna.Wait(`intercom.health && intercom.health.display_name === 'Haustür'`)
	names, err := chromedp.Run(anna.Ctx, chromedp.Evaluate[string](`import('/state.js').then(m => m.label('door') + ',' + m.label('bob'))`, chromedp.EvalAwaitPromise))
	if err != nil || names != "Haustür,bob" {
		t.Errorf("label(door), label(bob) = %q, %v; want Haustür,bob", names, err)
	}

	bob := openIn(t, browser, "fr-FR,fr", "bob", false, srv.URL+"/?name=bob")
	bob.Wait(`intercom.state === 'idle' && intercom.conn === 'online' && document.documentElement.lang === 'fr'`)
	bob.Wait(`intercom.users.some(u => u.name === 'anna')`)
	if got := bob.Text(`#users li[data-user="anna"] .sub`); got != "Disponible" {
		t.Errorf("French list: anna's line says %q, want Disponible", got)
	}

	// bob calls, anna's ringing screen is German, she declines: bob reads
	// why in French, with her name in it.
	bob.Click(`#users button[data-call="anna"]`)
	anna.Wait(`intercom.state === 'ringing'`)
	if got := anna.Text("#incoming-label"); got != "Eingehender Anruf" {
		t.Errorf("German ringing screen: %q, want Eingehender Anruf", got)
	}
	if !anna.Bool(`document.getElementById('answer').getAttribute('aria-label') === 'Annehmen' && document.title === 'bob ruft an · Intercom'`) {
		t.Error("German ringing screen: Answer's label or the title is not German")
	}
	anna.Click("#reject")
	bob.Wait(`intercom.state === 'idle' && intercom.notice === "anna a refusé l'appel."`)

	// Chosen in the settings: Dutch, at once and after a reload.
	choose := func(p *page, lang string) {
		t.Helper()
		p.Click("#look summary")
		if err := chromedp.Do(p.Ctx, chromedp.SetValue(chromedp.CSS("#lang"), lang)); err != nil {
			t.Fatal(err)
		}
		p.Bool(`document.getElementById('lang').dispatchEvent(new Event('change', { bubbles: true }))`)
	}
	choose(anna, "nl")
	anna.Wait(`document.documentElement.lang === 'nl' && document.querySelector('#settings summary').textContent === 'Belinstellingen'`)
	anna.Wait(`document.querySelector('#users li[data-user="bob"] .sub').textContent === 'Beschikbaar'`)
	anna.Click("#change-name") // signs out, so the page after the reload may take the name again
	anna.Wait(`intercom.state === 'signin'`)
	if err := chromedp.Do(anna.Ctx, chromedp.Navigate(srv.URL+"/?name=anna")); err != nil {
		t.Fatal(err)
	}
	anna.Wait(`intercom.state === 'idle' && document.documentElement.lang === 'nl' && document.getElementById('lang').value === 'nl'`)
	if got := anna.Text("#change-name"); got != "Wijzigen" {
		t.Errorf("Dutch after reload: Change reads %q", got)
	}
	choose(anna, "")
	anna.Wait(`document.documentElement.lang === 'de' && localStorage.getItem('intercom.lang') === null`)
}

// untranslated lists the elements of p that ask for words (data-i18n) and
// do not show words' text for them, or still show English where words
// differs from it.
func untranslated(t *testing.T, p *page, words, en map[string]string) []string {
	t.Helper()
	shown, err := chromedp.Run(p.Ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-i18n]')].map(e => [e.dataset.i18n, e.textContent.replace(/\s+/g, ' ').trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) == 0 {
		t.Fatal("the page asks for no words")
	}
	var bad []string
	for k, got := range shown {
		if got != words[k] || (words[k] != en[k] && got == en[k]) {
			bad = append(bad, k+": "+got)
		}
	}
	return bad
}

// TestChromiumLoginLanguage: the login page, its long paragraphs and the
// certificate's steps included, speaks the browser's language before
// anyone has logged in: French on an intercom with no password yet (set
// one), Italian on one with a password (log in), with the errors made by
// script and the intercom's answer to a wrong password.
func TestChromiumLoginLanguage(t *testing.T) {
	browser := chromiumtest.Start(t, chromiumtest.IgnoreCertErrors)
	en := readWords(t, "en")
	for _, c := range []struct{ accept, lang, password, mode string }{
		{"fr-FR,fr;q=0.9,en;q=0.5", "fr", "", "setup"},
		{"it-IT,it", "it", testPassword, "login"},
	} {
		ss := startSecure(t, c.password, nil)
		words := readWords(t, c.lang)
		p := openIn(t, browser, c.accept, c.lang, true, ss.base+"/")
		p.Wait(`location.pathname === '/login' && document.body.dataset.mode === '` + c.mode + `' && document.documentElement.lang === '` + c.lang + `'`)
		p.Wait(`!document.getElementById('cert').hidden`)
		if bad := untranslated(t, p, words, en); len(bad) > 0 {
			t.Errorf("%s login page: not in %s: %q", c.lang, c.lang, bad)
		}
		if left, err := chromiumtest.Untranslated(p.Ctx); err != nil || len(left) > 0 {
			t.Errorf("%s login page: text outside the words: %q %v", c.lang, left, err)
		}
		if got := p.evalString(`Promise.resolve(document.title)`); got != words["login.doctitle"] {
			t.Errorf("%s login page: title %q, want %q", c.lang, got, words["login.doctitle"])
		}
		if c.mode == "setup" {
			// An error made by script, in the language too.
			p.Click("#setup-form button[type=submit]")
			if got := p.Text("#setup-error"); got != words["login.short"] {
				t.Errorf("%s login page: short password says %q, want %q", c.lang, got, words["login.short"])
			}
			continue
		}
		p.Allow("status of 401 (Unauthorized)")
		p.typeInto("#password", "not it")
		p.Click("#login-form button[type=submit]")
		p.Wait(`document.getElementById('login-error').textContent !== ''`)
		if got := p.Text("#login-error"); got != words["login.wrong"] {
			t.Errorf("%s login page: wrong password says %q, want %q", c.lang, got, words["login.wrong"])
		}
	}
}
