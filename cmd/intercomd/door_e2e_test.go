package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/internal/chromiumtest"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/history"
)

// A resident calls the door from our client: the door answers by itself, the
// page decodes its 640x480 video and its audio. The call starts as a silent
// look: the door's speaker plays only silence from the page and its in-call
// light stays off until the resident taps Talk; then the page's (fake)
// microphone reaches the speaker and the light is on. Hanging up leaves the
// door idle, and the history records the look as talked.
//
// The call is a normal one, so it logs no warning and nothing appears on
// the raw stderr (fd 2) beside the log.
func TestChromiumCallsDoor(t *testing.T) {
	stderr := captureStderr(t)
	d := startDaemon(t, "")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")

	alice.click(`button[data-call="door"]`)
	alice.wait(`document.body.dataset.state === "incall"`)
	d.waitHealth(func(h health.Report) bool { return h.Device.State == "incall" && h.Device.Peer == "alice" }, "the door in a call with alice")
	alice.waitVideo(640, 480)
	alice.waitAudio()
	// The page sends audio (silence) for a good while: 2 s of samples at
	// 48 kHz reach the speaker, none of them sound.
	look := d.waitHealth(func(h health.Report) bool { return h.Media.Speaker.Samples > 96000 }, "the look's audio at the door's speaker")
	if look.Media.Speaker.NonSilent != 0 {
		t.Fatalf("during the silent look the door's speaker played %d non-silent samples, want 0", look.Media.Speaker.NonSilent)
	}
	if p := d.panel(); p.LEDs["incall"] != "off" {
		t.Fatalf("during the silent look the in-call light is %q, want off", p.LEDs["incall"])
	}
	alice.wait(`window.intercom.looking && window.intercom.mic === false && /does not hear/.test(document.querySelector("#call-status").textContent)`)

	alice.click(`#talk`)
	alice.wait(`!window.intercom.looking && window.intercom.mic === true`)
	d.waitHealth(func(h health.Report) bool { return h.Media.Speaker.NonSilent > 0 }, "the resident's voice at the door's speaker")
	d.waitPanel(func(p panelState) bool { return p.LEDs["incall"] == "on" && p.LEDs["ringing"] == "off" }, "the in-call light on")

	alice.click(`#hangup`)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")
	d.waitPanel(func(p panelState) bool { return p.LEDs["incall"] == "off" && p.LEDs["ready"] == "on" }, "ready again")
	if e := d.events().Events; len(e) != 1 || e[0].Kind != history.KindLook || e[0].Outcome != history.OutcomeTalked || e[0].Peer != "alice" {
		t.Errorf("history = %+v, want alice's look, talked", e)
	}
	d.quiet(stderr)
}

// The door calls (its Call button): every page rings and shows the door's
// picture, opening neither camera, microphone nor peer connection before
// Answer; the first to answer gets the door's video, the other stops
// ringing; the door's Hangup ends it. The other resident's history then
// lists the ring, answered by bob, with its picture.
func TestChromiumDoorCallsBrowsers(t *testing.T) {
	d := startDaemon(t, "")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")
	bob := openPage(t, browser, d, "bob")
	// Count bob's page asking for its camera or microphone and making peer
	// connections: nothing of his may reach the door before Answer.
	bob.eval(`(() => { window.opened = 0; window.peers = 0;
		const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
		navigator.mediaDevices.getUserMedia = (c) => { window.opened++; return gum(c) };
		const PC = window.RTCPeerConnection;
		window.RTCPeerConnection = function (...a) { window.peers++; return new PC(...a) };
		window.RTCPeerConnection.prototype = PC.prototype })()`)

	d.press("call")
	alice.wait(`document.body.dataset.state === "ringing" && /door/i.test(document.querySelector("#caller").textContent)`)
	bob.wait(`document.body.dataset.state === "ringing"`)
	d.waitPanel(func(p panelState) bool { return p.LEDs["ringing"] == "blink" }, "the ringing light blinking")
	// Before answering, the ringing screen shows the door's picture.
	bob.wait(`(() => { const v = document.querySelector("#visitor"); return !v.hidden && v.complete && v.naturalWidth === 640 })()`)

	if h, err := d.health(); err != nil || h.Media.Speaker.Samples != 0 {
		t.Fatalf("before Answer the door's speaker played %d samples (err %v), want 0", h.Media.Speaker.Samples, err)
	}
	bob.wait(`window.opened === 0 && window.peers === 0`)
	bob.click(`#answer`)
	bob.wait(`window.opened === 1 && window.peers === 1`)
	bob.wait(`document.body.dataset.state === "incall"`)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.waitHealth(func(h health.Report) bool { return h.Device.State == "incall" && h.Device.Peer == "bob" }, "the door in a call with bob")
	bob.waitVideo(640, 480)
	bob.waitAudio()
	d.waitHealth(func(h health.Report) bool { return h.Media.Speaker.NonSilent > 0 }, "bob's voice at the door's speaker")

	d.press("hangup")
	bob.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")

	alice.click(`#history summary`)
	alice.wait(`(() => { const li = document.querySelector('#history-list li.entry[data-kind="ring"][data-outcome="answered"]');
		const img = li && li.querySelector("img.thumb");
		return li && li.textContent.includes("Ring · answered by bob") && img && img.complete && img.naturalWidth === 160 })()`)
}

// A second resident sees, live in the list, whom the door talks to and that
// alice is in a call, and both free again after her hang-up; calling the
// door meanwhile, they hear Busy, in words.
func TestChromiumDoorBusy(t *testing.T) {
	d := startDaemon(t, "")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")
	bob := openPage(t, browser, d, "bob")

	alice.click(`button[data-call="door"]`)
	d.waitHealth(func(h health.Report) bool { return h.Device.Peer == "alice" }, "the door in a call with alice")
	bob.wait(`document.querySelector('#users li[data-user="door"] .sub').textContent === "Door · In a call with alice"`)
	bob.wait(`document.querySelector('#users li[data-user="alice"] .sub').textContent === "In a call"`)
	bob.click(`button[data-call="door"]`)
	bob.wait(`document.body.dataset.state === "idle" && /busy/i.test(window.intercom.notice)`)
	alice.wait(`document.body.dataset.state === "incall"`)
	alice.waitVideo(640, 480)
	alice.click("#hangup")
	bob.wait(`document.querySelector('#users li[data-user="door"] .sub').textContent === "Door · Ready"`)
	bob.wait(`document.querySelector('#users li[data-user="alice"] .sub').textContent === "Available"`)
}

// With `answer: button` the door rings until someone at the door answers,
// rejects, or nobody does; the resident may also give up first.
func TestChromiumDoorAnswerButton(t *testing.T) {
	d := startDaemon(t, "answer: button\nanswer_timeout: 3s\n")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")

	// Rejected at the door.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	d.waitPanel(func(p panelState) bool { return p.LEDs["ringing"] == "blink" }, "the ringing light blinking")
	d.press("hangup")
	alice.wait(`document.body.dataset.state === "idle" && /declined|rejected/i.test(window.intercom.notice)`)
	d.doorState("idle")

	// Nobody at the door answers.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	alice.wait(`document.body.dataset.state === "idle" && /no answer|declined/i.test(window.intercom.notice)`)
	d.doorState("idle")

	// The resident cancels while it rings.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	alice.click(`#cancel`)
	alice.wait(`document.body.dataset.state === "idle"`)
	d.doorState("idle")

	// Answered at the door.
	alice.click(`button[data-call="door"]`)
	d.doorState("ringing")
	d.press("answer")
	alice.wait(`document.body.dataset.state === "incall"`)
	alice.waitVideo(640, 480)
	d.doorState("incall")
}

// A resident whose browser vanishes mid-call leaves the door idle.
func TestChromiumClosedMidCall(t *testing.T) {
	d := startDaemon(t, "")
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")
	alice.click(`button[data-call="door"]`)
	alice.waitVideo(640, 480)
	d.doorState("incall")

	if err := chromedp.Cancel(alice.ctx); err != nil {
		t.Fatalf("close alice's tab: %v", err)
	}
	d.doorState("idle")
	d.waitPanel(func(p panelState) bool { return p.LEDs["incall"] == "off" && p.LEDs["ready"] == "on" }, "ready again")
}
