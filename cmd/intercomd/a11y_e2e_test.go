package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// axeSource is axe-core's script (build/jstest, installed by
// build/jstest/install.sh).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "build", "jstest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core missing: run build/jstest/install.sh (%v)", err)
	}
	return string(b)
}

// axe checks the page as it is now with axe-core and fails the test for
// every serious or critical violation.
func (p *page) axe(screen, src string) {
	p.t.Helper()
	run := `(async () => {
		if (!window.axe) (0, eval)(` + jsString(src) + `);
		const r = await axe.run(document, { resultTypes: ["violations"] });
		if (r.passes.length === 0) return ["axe ran no check"];
		return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
	})()`
	found, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: axe on the %s screen: %v", p.name, screen, err)
	}
	for _, v := range found {
		p.t.Errorf("%s screen: %s", screen, v)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "${", "\\${")
	return "`" + r.Replace(s) + "`"
}

// key presses a key on the page as a keyboard user would.
func (p *page) key(k string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.KeyEvent(k)); err != nil {
		p.t.Fatalf("%s: key %q: %v", p.name, k, err)
	}
}

// focusStaysIn tabs through the page n times and fails if the focus ever
// leaves the dialog sel.
func (p *page) focusStaysIn(sel string, n int) {
	p.t.Helper()
	for i := range n {
		p.key(kb.Tab)
		js := fmt.Sprintf(`(() => { const a = document.activeElement; return !a || a === document.body || document.querySelector(%q).contains(a) })()`, sel)
		inside, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			p.t.Fatal(err)
		}
		if !inside {
			where, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`))
			p.t.Fatalf("%s: after %d Tabs the focus left %s for %s", p.name, i+1, sel, where)
		}
	}
}

// Every screen of the client passes axe-core (no serious or critical
// violation) and the call screens work by keyboard: they are modal dialogs,
// the focus goes to Answer on a ring and stays in the dialog, Escape closes.
func TestChromiumAccessibility(t *testing.T) {
	d := startDaemon(t, "answer: button\nanswer_timeout: 60s\n")
	src := axeSource(t)
	browser := chromiumtest.Start(t)

	// Sign in.
	tab := chromiumtest.NewTab(t, browser)
	signin := &page{t: t, name: "new", ctx: tab}
	if err := chromedp.Do(tab, chromedp.Navigate(d.url+"/")); err != nil {
		t.Fatal(err)
	}
	signin.wait(`document.body.dataset.state === "signin"`)
	signin.axe("sign-in", src)

	alice := openPage(t, browser, d, "alice")
	alice.eval(`document.querySelector("#settings").open = true`)
	alice.axe("home", src)

	// The door rings: Answer has the focus, Tab stays in the dialog, Escape
	// declines.
	d.press("call")
	alice.wait(`document.body.dataset.state === "ringing" && document.activeElement === document.querySelector("#answer")`)
	alice.axe("ringing", src)
	alice.focusStaysIn("#incoming", 4)
	alice.key(kb.Escape)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")

	// Calling the door, which waits for its Answer button: Escape cancels.
	alice.click(`button[data-call="door"]`)
	alice.wait(`document.body.dataset.state === "calling" && document.activeElement === document.querySelector("#cancel")`)
	alice.axe("calling", src)
	alice.focusStaysIn("#outgoing", 3)
	alice.key(kb.Escape)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")

	// In a call: the picture has a name, Tab stays in the call, Enter on
	// the focused End button hangs up.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	d.press("answer")
	alice.waitVideo(640, 480)
	alice.wait(`/door/i.test(document.querySelector("#remote").getAttribute("aria-label"))`)
	alice.axe("call", src)
	alice.focusStaysIn("#call", 8)
	alice.eval(`document.querySelector("#hangup").focus()`)
	alice.key(kb.Enter)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")
	alice.axe("home after a call", src)

	// Light mode: the system's colour scheme is followed (contrast checked
	// by axe again), and a choice in the settings overrules it.
	light := func(p *page) {
		t.Helper()
		if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	const textIsDark = `getComputedStyle(document.body).color === "rgb(31, 35, 40)"`
	light(signin)
	signin.wait(textIsDark)
	signin.axe("sign-in, light", src)
	light(alice)
	alice.eval(`document.querySelector("#look").open = true`)
	alice.wait(textIsDark)
	alice.axe("home, light", src)
	alice.eval(`(() => { const s = document.querySelector("#theme"); s.value = "dark"; s.dispatchEvent(new Event("change")) })()`)
	alice.wait(`getComputedStyle(document.body).color === "rgb(230, 237, 243)" && localStorage.getItem("intercom.theme") === "dark"`)
	alice.axe("home, dark chosen on a light system", src)
}
