package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/hub"
	"github.com/intercomd/intercomd/internal/chromiumtest"

	"github.com/intercomd/intercomd/wire"

	"github.com/intercomd/intercomd/health"

	"github.com/intercomd/intercomd/device"
)

// tapHub is the real hub, plus a record of the sockets handed to it, so a
// test can cut one as a network failure would.
type tapHub struct {
	*hub.Hub
	mu    sync.Mutex
	conns []*websocket.Conn
}

func (h *tapHub) ServeConn(ctx context.Context, c *websocket.Conn) {
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	h.Hub.ServeConn(ctx, c)
}

func (h *tapHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// cut closes the i-th socket's TCP connection without a close frame.
func (h *tapHub) cut(i int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[i].NetConn().Close()
}

// page is one tab of our client (internal/chromiumtest's page: a failed
// step fails the test, and so does an error the page throws or logs that
// the test did not allow).
type page struct{ *chromiumtest.TestPage }

const waitFor = 45 * time.Second

// openPage opens a tab on base as name and waits until it is registered.
func openPage(t *testing.T, browser context.Context, base, name string, phone bool) *page {
	t.Helper()
	p := newPage(t, browser, name, phone, base+"/?name="+url.QueryEscape(name))
	p.Wait(`intercom.state === 'idle' && intercom.conn === 'online'`)
	return p
}

// newPage opens a tab on url (as a phone's screen or a laptop's).
func newPage(t *testing.T, browser context.Context, name string, phone bool, url string) *page {
	t.Helper()
	return &page{chromiumtest.NewPage(t, browser, url, name, chromiumtest.PageOptions{Phone: phone}, waitFor, true)}
}

// TestChromiumCall runs our client in headless Chromium against the real hub:
// two pages call each other and decode each other's video, a third gets
// Busy, hang up, and a page whose socket is cut mid-call says so, reconnects
// and registers again. The steps share one browser (Chromium is costly on
// these machines), so they run in order.
func TestChromiumCall(t *testing.T) {
	tap := &tapHub{Hub: startHub(t)}
	s, err := New(Config{Version: "e2e", NoAuth: true, Status: func() health.Report {
		return health.Report{Device: device.Status{Name: "door", State: "idle"}}
	}}, testLog(t), tap)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	browser := chromiumtest.Start(t)

	alice := openPage(t, browser, srv.URL, "alice", false)
	bob := openPage(t, browser, srv.URL, "bob", true)
	if n := tap.count(); n != 2 {
		t.Fatalf("%d sockets after two pages, want 2", n)
	}
	aliceConn := 0

	// alice sees bob and calls him with one tap.
	alice.Wait(`intercom.users.some(u => u.name === 'bob')`)
	alice.Click(`#users button[data-call="bob"]`)
	bob.Wait(`intercom.state === 'ringing' && intercom.ringing === 'ring' && intercom.audio === 'running'`)
	if got := bob.Text("#caller"); got != "alice" {
		t.Fatalf("bob's ringing screen shows caller %q, want alice", got)
	}
	alice.Wait(`intercom.state === 'calling'`)
	screenshot(t, bob, "ringing-phone.png")
	bob.Click("#answer")

	// Both decode the other's video (getStats inbound-rtp framesDecoded).
	for _, p := range []*page{alice, bob} {
		p.Wait(`intercom.state === 'incall' && intercom.ringing === ''`)
		p.Wait(`intercom.lastStats && intercom.lastStats.video.framesDecoded > 0`)
		p.Wait(`document.getElementById('remote').videoWidth > 0`)
	}
	screenshot(t, alice, "call-desktop.png")
	screenshot(t, bob, "call-phone.png")

	// Mute and camera off stop what alice sends, and come back.
	alice.Wait(`intercom.mic === true && intercom.camera === true`)
	alice.Click("#mute")
	alice.Click("#camera")
	alice.Wait(`intercom.mic === false && intercom.camera === false`)
	alice.Click("#mute")
	alice.Click("#camera")
	alice.Wait(`intercom.mic === true && intercom.camera === true`)

	// A third user signs in with the form and, calling alice, hears she is
	// busy, in words.
	carol := signIn(t, browser, srv.URL, "carol")
	carol.Wait(`intercom.users.some(u => u.name === 'alice')`)
	carol.Click(`#users button[data-call="alice"]`)
	carol.Wait(`intercom.state === 'idle' && /busy/i.test(intercom.notice)`)
	if got := carol.Text("#notice-text"); !strings.Contains(got, "alice is busy") {
		t.Errorf("carol's notice = %q, want it to say alice is busy", got)
	}
	alice.Wait(`intercom.state === 'incall'`) // undisturbed
	screenshot(t, carol, "busy.png")

	// alice hangs up: both idle, bob is told.
	alice.Click("#hangup")
	alice.Wait(`intercom.state === 'idle'`)
	bob.Wait(`intercom.state === 'idle' && intercom.notice === 'alice hung up.'`)
	for _, p := range []*page{alice, bob} {
		if !p.Bool(`document.getElementById('remote').srcObject === null`) {
			t.Errorf("page %s still shows remote media after hangup", p.Name)
		}
	}

	doorCall(t, tap.Hub, browser, srv.URL)
	noAnswer(t, browser)

	// bob declines carol; then carol gives up while bob's page rings.
	carol.Click(`#users button[data-call="bob"]`)
	bob.Wait(`intercom.state === 'ringing'`)
	bob.Click("#reject")
	carol.Wait(`intercom.state === 'idle' && intercom.notice === 'bob declined the call.'`)
	bob.Wait(`intercom.state === 'idle' && intercom.ringing === ''`)
	carol.Click(`#users button[data-call="bob"]`)
	bob.Wait(`intercom.state === 'ringing'`)
	carol.Wait(`intercom.state === 'calling' && intercom.ringing === 'ringback'`)
	carol.Click("#cancel")
	bob.Wait(`intercom.state === 'idle' && intercom.notice === 'Missed call from carol.'`)
	carol.Wait(`intercom.state === 'idle' && intercom.ringing === ''`)

	// bob calls alice; mid-call alice's network drops (the server side of
	// her socket is cut). Both end the call and say why; alice reconnects
	// and registers again, and bob sees her online again. carol's list
	// says all along what each of them does (the hub's presence).
	presence := func(name, state, text string) {
		t.Helper()
		carol.Wait(`(() => { const li = document.querySelector('#users li[data-user="` + name + `"]');
			return !!li && li.dataset.state === '` + state + `' && li.querySelector('.sub').textContent === '` + text + `'; })()`)
	}
	presence("alice", "available", "Available")
	presence("bob", "available", "Available")
	bob.Click(`#users button[data-call="alice"]`)
	alice.Wait(`intercom.state === 'ringing'`)
	presence("alice", "ringing", "Ringing")
	presence("bob", "ringing", "Ringing")
	alice.Click("#answer")
	alice.Wait(`intercom.state === 'incall'`)
	bob.Wait(`intercom.state === 'incall'`)
	presence("alice", "incall", "In a call")
	presence("bob", "incall", "In a call")
	tap.cut(aliceConn)
	alice.Wait(`intercom.log.some(s => /network connection was lost/.test(s))`)
	alice.Wait(`intercom.state === 'idle' && intercom.conn === 'online' && intercom.registrations === 2`)
	bob.Wait(`intercom.state === 'idle' && /connection to alice was lost/i.test(intercom.notice)`)
	bob.Wait(`intercom.users.some(u => u.name === 'alice')`)
	presence("alice", "available", "Available")
	presence("bob", "available", "Available")
	if n := tap.count(); n != 5 {
		t.Errorf("%d sockets after the reconnect, want 5 (four pages and alice's new one)", n)
	}
	if !alice.Bool(`document.getElementById('banner').hidden`) {
		t.Error("alice's offline banner still shows after reconnecting")
	}
}

// signIn opens the client without a name and signs in through the form,
// as a person does.
func signIn(t *testing.T, browser context.Context, base, name string) *page {
	t.Helper()
	p := newPage(t, browser, name, false, base+"/?name=")
	p.Wait(`intercom.state === 'signin'`)
	screenshot(t, p, "signin.png")
	if err := chromedp.Do(p.Ctx, chromedp.SendKeys(chromedp.CSS("#name"), name)); err != nil {
		t.Fatalf("type name: %v", err)
	}
	p.Click("#connect")
	p.Wait(`intercom.state === 'idle' && intercom.conn === 'online' && intercom.name === ` + strconv.Quote(name))
	p.Wait(`localStorage.getItem('intercom.name') === ` + strconv.Quote(name))
	return p
}

// doorCall drives the client's door features against a scripted door: an
// in-process hub user of kind "door" that rings, accepts, answers Open Door
// and hangs up (it has no media: the door's own tests bring real media).
func doorCall(t *testing.T, h *hub.Hub, browser context.Context, base string) {
	door := h.Local("door")
	defer door.Close()
	if err := door.Send(wire.Message{Type: wire.TypeRegister, Text: json.RawMessage(`"door"`)}); err != nil {
		t.Fatal(err)
	}
	opened := make(chan string, 1)
	hangup := make(chan string, 1)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		for {
			select {
			case <-door.Ready():
			case <-stopped:
				return
			}
			m, ok := door.Receive()
			if !ok {
				continue
			}
			text, _ := m.TextString()
			switch {
			case m.Type == wire.TypeInvite && text == "Incoming":
				door.Send(wire.Message{Type: wire.TypeInvite, Text: json.RawMessage(`"Ringing"`), To: m.From})
				door.Send(wire.Message{Type: wire.TypeInvite, Text: json.RawMessage(`"Accepted"`), To: m.From})
			case m.Type == wire.TypeOpenDoor:
				door.Send(wire.Message{Type: wire.TypeOpenDoor, Status: wire.StatusOK, To: m.From})
				opened <- m.From
			case m.Type == wire.TypeHangup:
				hangup <- m.From
			}
		}
	}()

	dave := openPage(t, browser, base, "dave", true)
	// dave prefers push-to-talk (an echoing door).
	dave.Click("#settings summary")
	dave.Click("#ptt-enabled")
	dave.Wait(`localStorage.getItem('intercom.ptt') === 'on'`)
	// The door comes first in the list, with its state from /healthz.
	dave.Wait(`intercom.users.length >= 4 && intercom.users[0].name === 'door' && intercom.users[0].kind === 'door'`)
	dave.Wait(`document.querySelector('#users li').dataset.user === 'door' && /Ready/.test(document.querySelector('#users li').textContent)`)
	screenshot(t, dave, "door-list-phone.png")
	dave.Click(`#users button[data-call="door"]`)
	dave.Wait(`intercom.state === 'incall' && intercom.peerKind === 'door'`)
	// A door has no screen: the page sends it no video.
	if !dave.Bool(`document.body.dataset.localVideo !== 'true'`) {
		t.Error("dave's page sends its camera to the door")
	}
	// The call starts as a silent look: no microphone, whatever is held,
	// until Talk.
	dave.Wait(`intercom.looking && intercom.mic === false && getComputedStyle(document.getElementById('ptt-action')).display === 'none'`)
	dave.Click("#talk")
	// Push-to-talk: the microphone is live only while #ptt is held.
	dave.Wait(`!intercom.looking && document.body.dataset.ptt === 'true' && intercom.mic === false`)
	hold := func(ev string) {
		if !dave.Bool(`document.getElementById('ptt').dispatchEvent(new PointerEvent('` + ev + `', {pointerId: 1, bubbles: true}))`) {
			t.Fatalf("dispatch %s on #ptt was cancelled", ev)
		}
	}
	hold("pointerdown")
	dave.Wait(`intercom.mic === true`)
	hold("pointerup")
	dave.Wait(`intercom.mic === false`)
	// From the keyboard (a click without a pointer) the first press only
	// arms the opener; the second opens.
	dave.Eval(`document.getElementById('open-door').click()`)
	dave.Wait(`document.getElementById('open-door').dataset.armed === 'true' && intercom.doorResult === ''`)
	dave.Eval(`document.getElementById('open-door').click()`)
	select {
	case from := <-opened:
		if from != "dave" {
			t.Errorf("Open Door from %q, want dave", from)
		}
	case <-time.After(waitFor):
		t.Fatal("the door never got Open Door")
	}
	dave.Wait(`intercom.doorResult === 'ok' && document.getElementById('door-result').textContent === 'Door opened.'`)
	screenshot(t, dave, "door-call-phone.png")

	if err := door.Send(wire.Message{Type: wire.TypeHangup, Text: json.RawMessage(`"Local"`), To: "dave"}); err != nil {
		t.Fatal(err)
	}
	dave.Wait(`intercom.state === 'idle' && intercom.notice === 'door hung up.'`)
}

// noAnswer lets a call ring out on a hub with a short ring timeout: both
// sides say so in words.
func noAnswer(t *testing.T, browser context.Context) {
	s, err := New(Config{NoAuth: true}, testLog(t), startHubConfig(t, hub.Config{RingTimeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	erin := openPage(t, browser, srv.URL, "erin", false)
	frank := openPage(t, browser, srv.URL, "frank", false)
	// Close the tabs before the server: a page whose server is gone logs
	// its failed reconnects, which are no fault of this step.
	defer frank.Close()
	defer erin.Close()
	erin.Wait(`intercom.users.some(u => u.name === 'frank')`)
	erin.Click(`#users button[data-call="frank"]`)
	frank.Wait(`intercom.state === 'idle' && intercom.notice === 'Missed call from erin.'`)
	erin.Wait(`intercom.state === 'idle' && intercom.notice === 'frank did not answer.'`)
}

// screenshot takes a full-page PNG, checks it decodes, and keeps it in
// $INTERCOM_SCREENSHOTS (a directory) when that is set, for a person to look
// at. Screenshots are never committed.
func screenshot(t *testing.T, p *page, name string) {
	t.Helper()
	buf, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", p.Name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", p.Name, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
		t.Fatalf("screenshot of %s is %v, want a whole page", p.Name, b)
	}
	if dir := os.Getenv("INTERCOM_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
