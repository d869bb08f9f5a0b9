package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/internal/sound"
	"github.com/intercomd/intercomd/wire"
)

// The tones: micHz is played into the loopback card for the door's
// microphone; talkHz is the resident's voice sent to the door's speaker.
// Different frequencies prove each path carries its own sound.
const (
	micHz  = 1000
	talkHz = 600
)

// runAll runs every check in the order a day at the door has them: the
// resident checks who is at the door, opens it; later a visitor presses
// Call, the resident answers, the visitor presses Hangup.
func runAll(cfg config, r *results) {
	hc := newHTTPClient()
	p := panel{sysfs: cfg.sysfs}
	if err := waitHTTP(hc, cfg.url, cfg.pid, 90*time.Second); err != nil {
		r.fail("intercomd", "%v", err)
		return
	}
	if err := login(hc, cfg.url, cfg.password); err != nil {
		r.fail("intercomd", "%v", err)
		return
	}
	if err := waitState(hc, cfg.url, "idle", 30*time.Second); err != nil {
		r.fail("intercomd", "%v", err)
		return
	}
	_, sources, _ := healthz(hc, cfg.url)
	r.pass("intercomd", "up, logged in, door idle; sources %v", sources)
	// The real drivers, not the stand-ins intercomd uses where a device is
	// missing.
	for _, d := range []struct{ dev, key string }{{"camera", "camera"}, {"microphone", "mic"}, {"speaker", "speaker"}} {
		dev, src := d.dev, sources[d.key]
		if src == "" || strings.Contains(src, "test") || strings.Contains(src, "counting") || src == "none" {
			r.fail(dev, "intercomd uses %q, not the VM's device (sources %v)", src, sources)
		}
	}
	r.check("gpio ready", "GPIO25 (ready LED) on while registered and idle",
		p.waitValue(pinReady, 1, 10*time.Second))

	snd, err := sound.Open()
	if err != nil {
		r.fail("microphone", "%v", err)
		return
	}
	defer snd.Close()
	tone, err := snd.Play(cfg.alsa, micHz, 8000)
	if err != nil {
		r.fail("microphone", "cannot play the test tone into the loopback card: %v", err)
		return
	}
	defer tone.Stop()

	sig, err := dial(hc, cfg.url, cfg.name)
	if err != nil {
		r.fail("intercomd", "%v", err)
		return
	}
	defer sig.Close()

	residentCalls(cfg, r, hc, sig, snd, p)
	doorCalls(cfg, r, hc, sig, p)
}

// residentCalls: the client calls the door, which answers by itself.
func residentCalls(cfg config, r *results, hc *http.Client, sig *resident.Client, snd *sound.Context, p panel) {
	c, opt, err := newCall(talkHz)
	if err != nil {
		r.fail("call", "%v", err)
		return
	}
	defer c.close()
	rc, err := sig.Call(context.Background(), cfg.door, opt)
	if err != nil {
		r.fail("call", "resident calls the door: %v", err)
		return
	}
	c.start(rc)
	if err := c.WaitConnected(context.Background(), 30*time.Second); err != nil {
		r.fail("call", "resident calls the door: %v", err)
		return
	}
	r.pass("call", "resident called the door: auto-answered, peer connection up")
	r.check("gpio incall", "GPIO24 (in-call LED) on in the resident's call", p.waitValue(pinInCall, 1, 10*time.Second))

	// The picture, the door's microphone and its speaker at once: each
	// waits seconds of real time for the slow VM.
	var wg sync.WaitGroup
	for _, check := range []func(){
		func() { checkVideo(cfg, r, c, "resident's call") },
		func() { checkMicrophone(r, c) },
		func() { checkSpeaker(cfg, r, hc, snd, c) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			check()
		}()
	}
	wg.Wait()
	checkRelay(r, sig, p, cfg.door)

	if err := c.Hangup(); err != nil {
		r.fail("call", "hang up: %v", err)
		return
	}
	c.close()
	err = waitState(hc, cfg.url, "idle", 10*time.Second)
	if err == nil {
		err = p.waitValue(pinInCall, 0, 10*time.Second)
	}
	r.check("call", "resident hung up: door idle, in-call LED off", err)
}

// checkVideo waits for vivid's picture at its size.
func checkVideo(cfg config, r *results, c *call, when string) {
	// vivid delivers about 5 frames a second under TCG.
	if err := c.waitVideo(10, 40*time.Second); err != nil {
		r.fail("camera", "%s: %v", when, err)
		return
	}
	frames, w, h, codec, _ := c.video()
	if w != cfg.width || h != cfg.height {
		r.fail("camera", "%s: %s video is %dx%d, want vivid's %dx%d", when, codec, w, h, cfg.width, cfg.height)
		return
	}
	r.pass("camera", "%s: %d %s frames of %dx%d from vivid", when, frames, codec, w, h)
}

// checkMicrophone listens to the door's audio for the tone played into the
// loopback card.
func checkMicrophone(r *results, c *call) {
	// Skip the first second (encoder start, jitter), judge the next one.
	err := poll.Until(context.Background(), 30*time.Second, 100*time.Millisecond, func() error {
		_, n, err := c.audioSince(0)
		if err != nil {
			return poll.Stop(fmt.Errorf("decoding the door's audio: %w", err))
		}
		if n < 3*sound.Rate {
			return fmt.Errorf("only %d ms of audio from the door", n*1000/sound.Rate)
		}
		return nil
	})
	if err != nil {
		r.fail("microphone", "%v", err)
		return
	}
	s, _, _ := c.audioSince(sound.Rate)
	ok, desc := sound.JudgeWindows(s, micHz, talkHz)
	if !ok {
		r.fail("microphone", "the door's audio lacks the %d Hz tone played into the loopback card: %s", micHz, desc)
		return
	}
	r.pass("microphone", "the door's audio carries the %d Hz tone played into the loopback card (%s)", micHz, desc)
}

// checkSpeaker records the loopback card's far end while the client talks
// to the door.
func checkSpeaker(cfg config, r *results, hc *http.Client, snd *sound.Context, c *call) {
	before, _ := speaker(hc, cfg.url)
	sentBefore, start := c.packetsSent(), time.Now()
	rec, err := snd.Record(cfg.alsa)
	if err != nil {
		r.fail("speaker", "cannot record the loopback card: %v", err)
		return
	}
	defer rec.Stop()
	err = poll.Until(context.Background(), 30*time.Second, 100*time.Millisecond, func() error {
		if n := rec.Len(); n < 3*sound.Rate {
			return fmt.Errorf("only %d ms recorded from %s", n*1000/sound.Rate, cfg.alsa)
		}
		return nil
	})
	if err != nil {
		r.fail("speaker", "%v", err)
		return
	}
	s := rec.Samples(sound.Rate)
	ok, desc := sound.JudgeWindows(s, talkHz, micHz)
	after, _ := speaker(hc, cfg.url)
	secs := time.Since(start).Seconds()
	desc += fmt.Sprintf("; in %.1f s the client sent %d Opus packets of 20 ms, intercomd's speaker counted %d samples (%d loud)",
		secs, c.packetsSent()-sentBefore, after.Samples-before.Samples, after.NonSilent-before.NonSilent)
	if !ok {
		r.fail("speaker", "the %d Hz tone sent to the door did not come out of its speaker (recorded from %s: %s)", talkHz, cfg.alsa, desc)
		return
	}
	r.pass("speaker", "the %d Hz tone sent to the door came out of its speaker (%s)", talkHz, desc)
}

// checkRelay opens the door from the call and watches the relay line pulse:
// it must leave its resting level and come back.
func checkRelay(r *results, sig *resident.Client, p panel, door string) {
	w := p.watch(pinRelay)
	defer w.close()
	if err := sig.Send(wire.Message{Type: wire.TypeOpenDoor, To: door}); err != nil {
		r.fail("relay", "%v", err)
		return
	}
	m, err := sig.Expect(context.Background(), "the door's Open Door reply", 10*time.Second, func(m wire.Message) bool {
		return m.Type == wire.TypeOpenDoor || (m.Type == wire.TypeError && text(m) == "Open Door")
	})
	if err == nil && m.Status != "OK" {
		err = fmt.Errorf("Open Door answered %s %s: %s", m.Type, m.Status, m.Reason)
	}
	if err != nil {
		r.fail("relay", "%v", err)
		return
	}
	// The pulse lasts the configured time (3 s in the Pi's config).
	var l []int
	err = poll.Until(context.Background(), 20*time.Second, 20*time.Millisecond, func() error {
		if l = w.seen(); len(l) < 3 || l[len(l)-1] != l[0] {
			return fmt.Errorf("GPIO18 (relay) went through levels %v after Open Door, want a pulse from its resting level and back", l)
		}
		return nil
	})
	r.check("relay", fmt.Sprintf("Open Door pulsed GPIO18 (relay): levels %v", l), err)
}

// doorCalls: a visitor presses Call, the client rings, answers, sees the
// door, and the visitor presses Hangup.
func doorCalls(cfg config, r *results, hc *http.Client, sig *resident.Client, p panel) {
	if err := p.press(pinCall); err != nil {
		r.fail("gpio call", "%v", err)
		return
	}
	inv, err := sig.WaitRing(context.Background(), 15*time.Second)
	if err != nil {
		r.fail("gpio call", "%v", err)
		return
	}
	r.pass("gpio call", "pressing GPIO17 (Call) rang the client (Invite from %q)", inv.From)
	if err := sig.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Ringing"), To: inv.From}); err != nil {
		r.fail("gpio call", "%v", err)
		return
	}
	n, err := p.transitions(pinRinging, 3, 10*time.Second)
	if err == nil && n < 3 {
		err = fmt.Errorf("GPIO23 (ringing LED) changed %d times in 10 s while ringing, want it blinking", n)
	}
	r.check("gpio ringing", "GPIO23 (ringing LED) blinks while the door rings", err)

	c, opt, err := newCall(talkHz)
	if err != nil {
		r.fail("gpio call", "%v", err)
		return
	}
	defer c.close()
	rc, err := sig.Answer(context.Background(), inv, opt)
	if err == nil {
		c.start(rc)
		err = c.WaitConnected(context.Background(), 30*time.Second)
	}
	if err != nil {
		r.fail("gpio call", "answering the door's call: %v", err)
		return
	}
	err = p.waitValue(pinInCall, 1, 10*time.Second)
	if err == nil {
		if v, _ := p.value(pinRinging); v != 0 {
			err = errors.New("GPIO23 (ringing LED) still on in the call")
		}
	}
	r.check("gpio incall", "GPIO24 (in-call LED) on once the client answered, ringing LED off", err)
	checkVideo(cfg, r, c, "door's call")

	if err := p.press(pinHangup); err != nil {
		r.fail("gpio hangup", "%v", err)
		return
	}
	_, err = sig.Expect(context.Background(), "Hangup after pressing Hangup (GPIO22)", 15*time.Second, func(m wire.Message) bool {
		return m.Type == wire.TypeHangup
	})
	if err == nil {
		err = waitState(hc, cfg.url, "idle", 10*time.Second)
	}
	if err == nil {
		err = p.waitValue(pinInCall, 0, 10*time.Second)
	}
	if err == nil {
		err = p.waitValue(pinReady, 1, 10*time.Second)
	}
	r.check("gpio hangup", "pressing GPIO22 (Hangup) ended the call: client got Hangup, door idle, in-call LED off, ready LED on", err)
}
