package web

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// TestChromiumCallPicture: on a phone's screen the other side's picture fills the
// screen; a double tap zooms in at that point and out again, a pinch zooms
// and, pinched in, shows the whole picture; the controls fade out by
// themselves and a tap brings them back.
func TestChromiumCallPicture(t *testing.T) {
	srv, _ := newTestServer(t, Config{Version: "e2e"})
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, srv.URL, "alice", false)
	bob := openPage(t, browser, srv.URL, "bob", true)
	alice.Wait(`intercom.users.some(u => u.name === 'bob')`)
	alice.Click(`#users button[data-call="bob"]`)
	bob.Wait(`intercom.state === 'ringing'`)
	bob.Click("#answer")
	bob.Wait(`intercom.state === 'incall' && document.getElementById('remote').videoWidth > 0 && document.getElementById('call').dataset.remoteVideo === 'true'`)

	// Fills the screen.
	if !bob.Bool(`(() => { const v = document.getElementById('remote'), r = v.getBoundingClientRect();
		return getComputedStyle(v).objectFit === 'cover' && r.width === innerWidth && r.height === innerHeight })()`) {
		t.Error("the picture does not fill the phone's screen (object-fit cover, whole viewport)")
	}

	// Gestures, as the touch screen's pointer events arrive (dispatched in
	// one go: a double tap must not depend on this machine's speed).
	const gestures = `
		const v = document.getElementById('remote');
		const ev = (type, id, x, y) => v.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch', clientX: x, clientY: y, bubbles: true, isPrimary: id === 1 }));
		const tap = (x, y) => { ev('pointerdown', 1, x, y); ev('pointerup', 1, x, y); };
		const pinch = (from, to) => {
			ev('pointerdown', 1, 195 - from, 400); ev('pointerdown', 2, 195 + from, 400);
			ev('pointermove', 1, 195 - to, 400); ev('pointermove', 2, 195 + to, 400);
			ev('pointerup', 1, 195 - to, 400); ev('pointerup', 2, 195 + to, 400);
		};
		const call = document.getElementById('call');
		const scale = () => new DOMMatrix(getComputedStyle(v).transform).a;`
	for _, c := range []struct{ name, do, want string }{
		{"double tap", `tap(100, 300); tap(100, 300)`, `call.dataset.zoom === 'in' && v.style.transform === 'scale(2.5)' && v.style.transformOrigin !== '50% 50%'`},
		{"double tap again", `tap(100, 300); tap(100, 300)`, `call.dataset.zoom === 'out' && v.style.transform === ''`},
		{"pinch out", `pinch(50, 150)`, `call.dataset.zoom === 'in' && Math.abs(parseFloat(v.style.transform.slice(6)) - 3) < 0.01`},
		{"double tap out", `tap(200, 200); tap(200, 200)`, `call.dataset.zoom === 'out' && call.dataset.fit === 'cover'`},
		{"pinch in", `pinch(150, 50)`, `call.dataset.fit === 'contain' && getComputedStyle(v).objectFit === 'contain' && call.dataset.zoom === 'out'`},
		{"pinch out of the whole picture", `pinch(50, 150)`, `call.dataset.fit === 'cover'`},
	} {
		if !bob.Bool(`(() => {` + gestures + c.do + `; return ` + c.want + ` })()`) {
			st, _ := chromedp.Run(bob.Ctx, chromedp.Evaluate[string](`JSON.stringify({fit: document.getElementById('call').dataset.fit, zoom: document.getElementById('call').dataset.zoom, t: document.getElementById('remote').style.transform})`))
			t.Errorf("%s: want %s, have %s", c.name, c.want, st)
		}
	}

	// The controls fade out by themselves, a tap on the picture brings them
	// back, and they still work.
	bob.Wait(`document.getElementById('call').dataset.controls === 'hidden' && getComputedStyle(document.querySelector('#call .controls')).opacity === '0'`)
	if err := chromedp.Do(bob.Ctx, chromedp.MouseClickXY(195, 300)); err != nil {
		t.Fatal(err)
	}
	bob.Wait(`document.getElementById('call').dataset.controls === 'shown'`)
	bob.Click("#hangup")
	bob.Wait(`intercom.state === 'idle'`)
	alice.Wait(`intercom.state === 'idle'`)
}
