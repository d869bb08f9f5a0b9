package device

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/intercomd/intercomd/wire"
)

// A resident's silent look (Invite Incoming with Param2 "look") keeps the
// in-call light off until the resident's Talk; a Talk from anyone else, or
// one that is not "On", changes nothing. The next call lights as before.
func TestSilentLook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var talks []Event
		r := newRig(t, Config{Observers: []func(Event){func(e Event) {
			if e.Kind == EventTalk {
				mu.Lock()
				talks = append(talks, e)
				mu.Unlock()
			}
		}}})
		look := invite("Incoming", "alice")
		look.Param2 = wire.Quote(wire.ParamLook)
		r.deliver(look)
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Ringing"), To: "alice"}, wire.Message{Type: "Invite", Text: wire.Quote("Accepted"), To: "alice"})
		r.state(StateInCall)
		r.lightsAre(LightOff, LightOff, LightOff)

		r.deliver(wire.Message{Type: wire.TypeTalk, Text: wire.Quote("On"), From: "mallory"})
		r.deliver(wire.Message{Type: wire.TypeTalk, Text: wire.Quote("Off"), From: "alice"})
		r.lightsAre(LightOff, LightOff, LightOff)

		r.deliver(wire.Message{Type: wire.TypeTalk, Text: wire.Quote("On"), From: "alice"})
		r.lightsAre(LightOff, LightOn, LightOff)
		mu.Lock()
		if len(talks) != 1 || talks[0].Peer != "alice" {
			t.Errorf("talk events = %+v, want one for alice", talks)
		}
		mu.Unlock()

		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Remote"), From: "alice"})
		r.state(StateIdle)
		r.deliver(invite("Incoming", "bob")) // no look: lit at once, as the seed client expects
		r.sig.take()
		r.state(StateInCall)
		r.lightsAre(LightOff, LightOn, LightOff)
	})
}
