package main

import (
	"fmt"
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
	src, err := chromiumtest.AxeSource()
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// axe checks the page as it is now with axe-core and fails the test for
// every serious or critical violation.
func (p *page) axe(screen, src string) {
	p.t.Helper()
	found, err := chromiumtest.Axe(p.ctx, src)
	if err != nil {
		p.t.Fatalf("%s: axe on the %s screen: %v", p.name, screen, err)
	}
	for _, v := range found {
		p.t.Errorf("%s screen: %s", screen, v)
	}
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
// violation) and works by keyboard: the call screens are modal dialogs, the
// focus goes to Answer on a ring and stays in the dialog, Escape closes;
// Talk and the hold-to-open door button (pressed twice) work from the
// keyboard; the history's entries open their full picture in a dialog that
// Escape closes; the notification settings, and the door panel page. The
// login page and the tokens card are web's TestChromiumLoginAccessibility.
func TestChromiumAccessibility(t *testing.T) {
	d := startDaemon(t, "answer: button\nanswer_timeout: 60s\n"+pushConfig+"gpio:\n  relay:\n    pin: GPIO18\n    pulse: 1s\n")
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
	alice.wait(`!document.querySelector("#notifications").hidden`)
	alice.eval(`document.querySelector("#notifications").open = true`)
	alice.axe("notification settings", src)

	// The door rings: Answer has the focus, Tab stays in the dialog, Escape
	// declines.
	d.press("call")
	alice.wait(`document.body.dataset.state === "ringing" && document.activeElement === document.querySelector("#answer")`)
	alice.wait(`getComputedStyle(document.querySelector("#ring-open-action")).display !== "none"`)
	alice.axe("ringing", src)
	alice.focusStaysIn("#incoming", 4)
	alice.key(kb.Escape)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")

	// Calling the door, which waits for its Answer button: Escape cancels.
	alice.eval(`window.doorButton = document.querySelector('button[data-call="door"]')`)
	alice.click(`button[data-call="door"]`)
	alice.wait(`document.body.dataset.state === "calling" && document.activeElement === document.querySelector("#cancel")`)
	alice.axe("calling", src)
	alice.focusStaysIn("#outgoing", 3)
	alice.key(kb.Escape)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")
	// The list said the door was ringing, then ready again, and its button
	// was disabled during the call: the row was updated, not redrawn, so
	// a finger or the keyboard on its way to the button still meets it.
	alice.wait(`document.querySelector('#users li[data-user="door"]').dataset.state === "available" && window.doorButton.isConnected && !window.doorButton.disabled`)

	// A look at the door: the picture has a name, Tab stays in the call.
	// Talk by keyboard turns the microphone on; the door opener by
	// keyboard takes two presses (the first arms it). Enter on the focused
	// End button hangs up.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	d.press("answer")
	alice.waitVideo(640, 480)
	alice.wait(`/door/i.test(document.querySelector("#remote").getAttribute("aria-label"))`)
	alice.wait(`document.body.dataset.looking === "true" && getComputedStyle(document.querySelector("#talk-action")).display !== "none"`)
	alice.axe("look", src)
	alice.focusStaysIn("#call", 8)
	alice.eval(`document.querySelector("#talk").focus()`)
	alice.key(kb.Enter)
	alice.wait(`document.body.dataset.looking === "false" && window.intercom.looking === false`)
	alice.axe("call, talking", src)
	alice.eval(`document.querySelector("#open-door").focus()`)
	alice.key(kb.Enter)
	alice.wait(`document.querySelector("#open-door").dataset.armed === "true"`)
	if p := d.panel(); p.Relay != "open" {
		t.Fatalf("one key press on Open door opened the door (relay %q)", p.Relay)
	}
	alice.key(kb.Enter)
	d.waitPanel(func(p panelState) bool { return p.Relay == "closed" }, "the relay powered by two key presses")
	alice.eval(`document.querySelector("#hangup").focus()`)
	alice.key(kb.Enter)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")
	alice.axe("home after a call", src)

	// The history by keyboard: its summary opens it, an entry opens its
	// full picture in a modal dialog, Escape closes it and the focus goes
	// back to the entry.
	alice.wait(`!document.querySelector("#history").hidden`)
	alice.eval(`document.querySelector("#history summary").focus()`)
	alice.key(kb.Enter)
	alice.wait(`document.querySelector("#history").open && document.querySelector("#history-list [data-entry]") !== null`)
	alice.axe("history", src)
	alice.eval(`(() => { const b = document.querySelector("#history-list [data-entry]"); window.shownEntry = b.dataset.entry; b.focus() })()`)
	alice.key(kb.Enter)
	alice.wait(`document.querySelector("#entry").open && document.querySelector("#entry").contains(document.activeElement)`)
	alice.wait(`document.querySelector("#entry-picture").complete && document.querySelector("#entry-picture").naturalWidth > 0`)
	alice.axe("full picture", src)
	alice.focusStaysIn("#entry", 3)
	// The list is redrawn while the dialog is open (as it is 2 s after a
	// call, or on /healthz): the button that opened it is gone.
	alice.eval(`(() => { const b = document.querySelector("#history-list [data-entry=\"" + window.shownEntry + "\"]"); b.replaceWith(b.cloneNode(true)) })()`)
	alice.key(kb.Escape)
	alice.wait(`!document.querySelector("#entry").open && document.activeElement.dataset.entry === window.shownEntry`)

	// The door panel page (dark only, as the door's own panel): a button
	// pressed by keyboard.
	panel := &page{t: t, name: "panel", ctx: chromiumtest.NewTab(t, browser)}
	if err := chromedp.Do(panel.ctx, chromedp.Navigate(d.url+"/panel")); err != nil {
		t.Fatal(err)
	}
	panel.wait(`document.body.dataset.panel === "live"`)
	panel.axe("panel", src)
	panel.eval(`document.querySelector("#press-hangup").focus()`)
	panel.key(kb.Enter)
	panel.wait(`document.body.dataset.lastPress === "hangup:204"`)

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
	alice.eval(`document.querySelector("#history-list [data-entry]").click()`)
	alice.wait(`document.querySelector("#entry").open`)
	alice.axe("full picture, light", src)
	alice.key(kb.Escape)
	light(panel)
	panel.axe("panel, light system", src)
	alice.eval(`(() => { const s = document.querySelector("#theme"); s.value = "dark"; s.dispatchEvent(new Event("change")) })()`)
	alice.wait(`getComputedStyle(document.body).color === "rgb(230, 237, 243)" && localStorage.getItem("intercom.theme") === "dark"`)
	alice.axe("home, dark chosen on a light system", src)
}
