package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// "Open door" in the page of the resident in a call with the door pulses the
// relay; the same request from anyone else does nothing.
func TestChromiumOpenDoor(t *testing.T) {
	d := startDaemon(t, "gpio:\n  relay:\n    pin: GPIO18\n    pulse: 2s\n")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")

	// A stranger on the hub, not in a call with the door, asks it to open.
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(d.url, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial the hub: %v", err)
	}
	defer ws.Close()
	for _, m := range []string{`{"type":"Register","text":"mallory"}`, `{"type":"Open Door","to":"door"}`, `{"type":"Echo","text":"sync"}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatalf("send %s: %v", m, err)
		}
	}
	var refused bool
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		s := string(data)
		if strings.Contains(s, `"Error"`) && strings.Contains(s, "Open Door") {
			refused = true
		}
		if strings.Contains(s, `"Echo"`) && strings.Contains(s, "sync") {
			break // the hub has handled the Open Door by now
		}
	}
	if !refused {
		t.Error("the hub did not refuse Open Door from a user not in a call with the door")
	}
	if p := d.panel(); p.Relay != "open" {
		t.Fatalf("relay = %q after a stranger's request, want open (not powered)", p.Relay)
	}
	if strings.Contains(d.logs.String(), "door opened") {
		t.Fatal("the door logged an opening for a stranger")
	}

	// The resident in the call opens it from the page.
	alice.click(`button[data-call="door"]`)
	alice.waitVideo(640, 480)
	// A tap (press and release at once) does not open: it says to hold.
	alice.click(`#open-door`)
	alice.wait(`document.querySelector("#open-door-label").textContent === "Hold 1 s to open"`)
	if p := d.panel(); p.Relay != "open" || strings.Contains(d.logs.String(), "door opened") {
		t.Fatalf("a tap on Open door opened the door (relay %q)", p.Relay)
	}
	// Held for a second, it opens (before the finger is lifted).
	alice.press(`#open-door`)
	d.waitPanel(func(p panelState) bool { return p.Relay == "closed" }, "the relay powered")
	alice.release(`#open-door`)
	alice.wait(`document.querySelector("#door-result").dataset.result === "ok"`)
	d.waitPanel(func(p panelState) bool { return p.Relay == "open" }, "the relay released after its pulse")
	if !strings.Contains(d.logs.String(), "door opened") || !strings.Contains(d.logs.String(), "by=alice") {
		t.Fatal("the opening was not logged with who opened it")
	}
	// The history has alice's look, with who opened, and the opening, each
	// with its picture; the stranger's request left nothing.
	var page struct {
		Events []struct {
			ID                      int64
			Kind, Peer, Via, Opened string
			Picture                 bool
			Ref                     int64
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.getJSON("/api/events", &page); len(page.Events) < 2 && time.Now().Before(deadline); d.getJSON("/api/events", &page) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(page.Events) != 2 {
		t.Fatalf("history = %+v, want the opening and alice's look", page.Events)
	}
	open, look := page.Events[0], page.Events[1]
	if open.Kind != "open" || open.Peer != "alice" || open.Via != "call" || open.Ref != look.ID || !open.Picture ||
		look.Kind != "look" || look.Peer != "alice" || look.Opened != "alice" || !look.Picture {
		t.Errorf("history = %+v, want alice's look in which she opened, and the opening", page.Events)
	}
	res, err := http.Get(fmt.Sprintf("%s/api/events/%d/picture.jpg", d.url, open.ID))
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("opening's picture: %v %v", res, err)
	}

	// The door rings: from the ringing screen a tap does not open, a hold
	// does, without answering (the ring goes on).
	alice.click(`#hangup`)
	d.doorState("idle")
	d.press("call")
	alice.wait(`document.body.dataset.state === "ringing" && getComputedStyle(document.querySelector("#ring-open-action")).display !== "none"`)
	alice.click(`#ring-open`)
	alice.wait(`document.querySelector("#ring-open-label").textContent === "Hold 1 s to open"`)
	if p := d.panel(); p.Relay != "open" {
		t.Fatalf("a tap on the ringing screen's Open door opened the door (relay %q)", p.Relay)
	}
	alice.press(`#ring-open`)
	d.waitPanel(func(p panelState) bool { return p.Relay == "closed" }, "the relay powered from the ringing screen")
	alice.release(`#ring-open`)
	alice.wait(`window.intercom.doorResult === "ok" && document.body.dataset.state === "ringing" && /opened/.test(document.querySelector("#incoming-label").textContent)`)
	alice.click(`#reject`)
}

// The simulated panel exists in sim mode only, and refuses unknown buttons
// with a reason.
func TestPanelAPI(t *testing.T) {
	d := startDaemon(t, "")
	resp, err := http.Post(d.url+"/api/panel/press", "application/json", strings.NewReader(`{"button":"doorbell"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("press an unknown button: %s, want 400", resp.Status)
	}
	if p := d.panel(); len(p.Buttons) != 3 || p.LEDs["ready"] != "on" {
		t.Fatalf("panel = %+v, want three buttons and the ready light on", p)
	}

	// A second daemon in this process cannot share the test camera and microphone.
	off := startDaemon(t, "", "-gpio", "none", "-camera", "none", "-mic", "none")
	resp, err = http.Get(off.url + "/api/panel")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /api/panel without a simulated panel: %s, want 404", resp.Status)
	}
}
