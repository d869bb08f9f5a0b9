package main

import (
	"testing"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/internal/firefoxtest"
)

// The Firefox of these tests has no H.264 (internal/firefoxtest), as a new
// user's Firefox without the OpenH264 plugin: the door must send VP8 and the
// browsers use what they share.

// Firefox calls the door and decodes its picture (VP8) and its sound; its
// microphone reaches the door's speaker.
func TestFirefoxCallsDoor(t *testing.T) {
	d := startDaemon(t, "")
	fred := openFirefox(t, firefoxtest.Start(t), d, "fred")

	fred.click(`button[data-call="door"]`)
	fred.wait(`document.body.dataset.state === "incall"`)
	fred.waitVideo(640, 480)
	fred.waitAudio()
	fred.click(`#talk`) // the call starts as a silent look
	d.waitHealth(func(h health.Report) bool { return h.Media.Speaker.NonSilent > 0 }, "fred's voice at the door's speaker")
	fred.click(`#hangup`)
	d.doorState("idle")
}

// The door calls Firefox (its Call button); Firefox answers and decodes the
// door's picture.
func TestFirefoxDoorCalls(t *testing.T) {
	d := startDaemon(t, "")
	fred := openFirefox(t, firefoxtest.Start(t), d, "fred")

	d.press("call")
	fred.wait(`document.body.dataset.state === "ringing"`)
	fred.click(`#answer`)
	fred.wait(`document.body.dataset.state === "incall"`)
	fred.waitVideo(640, 480)
	fred.waitAudio()
	d.press("hangup")
	fred.wait(`document.body.dataset.state === "idle"`)
}

// Firefox and Chromium call each other, each way, and each decodes the
// other's (fake) camera.
func TestFirefoxAndChromium(t *testing.T) {
	d := startDaemon(t, "")
	fred := openFirefox(t, firefoxtest.Start(t), d, "fred")
	carol := openPage(t, chromiumtest.Start(t), d, "carol")
	fred.wait(`document.querySelector('#users li[data-user="carol"]')`)
	carol.wait(`document.querySelector('#users li[data-user="fred"]')`)

	decodes := `(() => { const s = window.intercom.lastStats; return s && s.video.framesDecoded > 5 })()`
	for _, c := range []struct{ caller, callee *page }{{fred, carol}, {carol, fred}} {
		c.caller.click(`button[data-call="` + c.callee.name + `"]`)
		c.callee.wait(`document.body.dataset.state === "ringing"`)
		c.callee.click(`#answer`)
		c.caller.wait(decodes)
		c.callee.wait(decodes)
		c.caller.click(`#hangup`)
		c.caller.wait(`document.body.dataset.state === "idle"`)
		c.callee.wait(`document.body.dataset.state === "idle"`)
	}
}

// A browser that shares no video codec with the door (Chromium told to
// offer VP9 only) still gets the call, with sound, and the page says why
// there is no picture.
func TestFirefoxNoCommonVideoCodec(t *testing.T) {
	d := startDaemon(t, "")
	alice := openPage(t, chromiumtest.Start(t), d, "alice")
	alice.eval(`(() => {
		const offer = RTCPeerConnection.prototype.createOffer;
		RTCPeerConnection.prototype.createOffer = function (...args) {
			const vp9 = RTCRtpReceiver.getCapabilities("video").codecs.filter((c) => c.mimeType === "video/VP9");
			for (const tr of this.getTransceivers()) if (tr.receiver.track.kind === "video") tr.setCodecPreferences(vp9);
			return offer.apply(this, args);
		};
	})()`)

	alice.click(`button[data-call="door"]`)
	alice.wait(`document.body.dataset.state === "incall"`)
	alice.waitAudio()
	alice.wait(`document.querySelector("#call").dataset.audioOnly === "true" && /no video format in common/.test(document.querySelector("#video-note").textContent)`)
	d.doorState("incall")
}
