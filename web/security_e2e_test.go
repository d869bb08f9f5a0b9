package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// newProfile opens an isolated browser context (its own cookies, like
// another person's browser) in the browser of ctx.
func newProfile(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return ctx
}

// typeInto types s into the input sel as a person does.
func (p *page) typeInto(sel, s string) {
	p.T.Helper()
	if err := chromedp.Do(p.Ctx, chromedp.SendKeys(chromedp.CSS(sel), s)); err != nil {
		p.T.Fatalf("page %s: type into %s: %v", p.Name, sel, err)
	}
}

// evalString evaluates JavaScript, awaiting a promise, to a string.
func (p *page) evalString(expr string) string {
	p.T.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.T.Fatalf("page %s: %s: %v", p.Name, expr, err)
	}
	return v
}

// TestChromiumLoginAndCall is the story in headless Chromium over
// HTTPS (the test's browser accepts the self-signed certificate): the first
// resident, on the machine itself, sets the password; a second one logs in
// from another browser; they call each other and decode each other's
// video. A third browser without the password sees only the login page, and
// its WebSocket is refused. Logging out sends a page back to the login.
func TestChromiumLoginAndCall(t *testing.T) {
	ss := startSecure(t, "", nil)
	browser := chromiumtest.Start(t, chromiumtest.IgnoreCertErrors)
	fp := strconv.Quote(ss.s.Fingerprint())

	// alice opens the intercom: no password yet, and she is on loopback, so
	// the page offers to set one without a setup code.
	alice := newPage(t, browser, "alice", false, ss.base+"/?name=alice")
	alice.Wait(`location.pathname === '/login' && document.body.dataset.mode === 'setup'`)
	if !alice.Bool(`document.getElementById('code-field').hidden`) {
		t.Error("setup on loopback asks for a setup code")
	}
	alice.Wait(`document.getElementById('fingerprint').dataset.value === ` + fp)
	screenshot(t, alice, "setup-password.png")
	alice.typeInto("#new-password", testPassword)
	alice.typeInto("#new-password2", testPassword)
	alice.Click("#setup-form button[type=submit]")
	// Back on the page she asked for, as alice, registered.
	alice.Wait(`location.pathname === '/' && window.intercom && intercom.state === 'idle' && intercom.conn === 'online' && intercom.name === 'alice'`)
	alice.Wait(`!!document.getElementById('logout')`)
	screenshot(t, alice, "logged-in.png")

	// bob, in his own browser, logs in with the password.
	bob := newPage(t, newProfile(t, browser), "bob", true, ss.base+"/?name=bob")
	bob.Wait(`document.body.dataset.mode === 'login'`)
	bob.Allow("status of 401 (Unauthorized) " + ss.base + "/api/login") // the wrong password below
	bob.typeInto("#password", "not it")
	bob.Click("#login-form button[type=submit]")
	bob.Wait(`document.getElementById('login-error').textContent === 'Wrong password.'`)
	screenshot(t, bob, "login-phone.png")
	bob.Bool(`(document.getElementById('password').value = '', true)`)
	bob.typeInto("#password", testPassword)
	bob.Click("#login-form button[type=submit]")
	bob.Wait(`location.pathname === '/' && window.intercom && intercom.state === 'idle' && intercom.conn === 'online' && intercom.name === 'bob'`)
	bob.Wait(`!!document.getElementById('logout')`)
	screenshot(t, bob, "logged-in-phone.png")

	// A call between them goes through, video decoded on both sides.
	alice.Wait(`intercom.users.some(u => u.name === 'bob')`)
	alice.Click(`#users button[data-call="bob"]`)
	bob.Wait(`intercom.state === 'ringing'`)
	bob.Click("#answer")
	for _, p := range []*page{alice, bob} {
		p.Wait(`intercom.state === 'incall'`)
		p.Wait(`intercom.lastStats && intercom.lastStats.video.framesDecoded > 0`)
	}
	alice.Click("#hangup")
	bob.Wait(`intercom.state === 'idle'`)

	// eve has no password: she sees the login page and nothing else.
	eve := newPage(t, newProfile(t, browser), "eve", false, ss.base+"/?name=eve")
	eve.Wait(`document.body.dataset.mode === 'login'`)
	// What eve tries below is refused, and the console says so.
	eve.Allow("status of 401 (Unauthorized)", "/ws' failed")
	if eve.Bool(`'intercom' in window`) {
		t.Error("a browser without the password runs the client")
	}
	ws := eve.evalString(`new Promise(done => {
		const ws = new WebSocket('wss://' + location.host + '/ws');
		ws.onopen = () => done('open');
		ws.onclose = () => done('refused');
	})`)
	if ws != "refused" {
		t.Errorf("eve's WebSocket: %s, want refused", ws)
	}
	for _, path := range []string{"/app.js", "/api/panel", "/index.html"} {
		got := eve.evalString(`fetch('` + path + `', {redirect: 'manual'}).then(r => r.type === 'opaqueredirect' ? 'redirect' : String(r.status))`)
		if got != "401" && got != "redirect" {
			t.Errorf("eve fetches %s: %s, want 401 or a redirect to the login", path, got)
		}
	}
	if n := ss.s.hub.Users(); n != 2 {
		t.Errorf("%d users registered, want 2 (alice and bob, not eve)", n)
	}

	// alice makes an API token in the app; with it eve's fetch of the
	// history passes the login (404: web alone has no history), until
	// alice revokes it (401).
	alice.Click("#tokens summary")
	alice.typeInto("#token-name", "gate phone")
	alice.Click("#token-create")
	alice.Wait(`/^icd_[A-Za-z0-9_-]{43}$/.test(document.getElementById('token-secret').textContent) && document.querySelector('#token-list li[data-token]')`)
	secret := alice.evalString(`document.getElementById('token-secret').textContent`)
	eve.Allow("status of 404 (Not Found)")
	withToken := `fetch('/api/events', {headers: {Authorization: 'Bearer ` + secret + `'}}).then(r => String(r.status))`
	if got := eve.evalString(withToken); got != "404" {
		t.Errorf("eve's fetch with alice's token: %s, want 404 (let in, no history here)", got)
	}
	alice.Click("#token-list button[data-revoke]")
	alice.Wait(`!document.querySelector('#token-list li[data-token]')`)
	if got := eve.evalString(withToken); got != "401" {
		t.Errorf("eve's fetch with the revoked token: %s, want 401", got)
	}

	// bob logs out: his page goes to the login, his socket closes.
	bob.Click("#logout")
	bob.Wait(`location.pathname === '/login' && document.body.dataset.mode === 'login'`)
	alice.Wait(`!intercom.users.some(u => u.name === 'bob')`)
}

// TestChromiumSafeMode: with a damaged password file the login page says
// that login is off and shows the command that fixes it (issue 17 item 13).
func TestChromiumSafeMode(t *testing.T) {
	ss := startSecure(t, "", func(c *Config) {
		if err := os.WriteFile(filepath.Join(c.StateDir, "password"), []byte("damaged\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	browser := chromiumtest.Start(t, chromiumtest.IgnoreCertErrors)
	p := newPage(t, browser, "resident", true, ss.base+"/")
	p.Wait(`location.pathname === '/login' && document.body.dataset.mode === 'safemode'`)
	if fix := p.evalString(`Promise.resolve(document.getElementById('safemode-fix').textContent)`); fix != "sudo intercomd set-password" {
		t.Errorf("safe-mode page shows the fix %q, want sudo intercomd set-password", fix)
	}
	if p.Bool(`!document.getElementById('login').hidden`) {
		t.Error("the login form shows in safe mode")
	}
	screenshot(t, p, "safe-mode.png")
}
