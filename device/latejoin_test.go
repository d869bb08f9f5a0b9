package device

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/wire"
)

func start(to string) wire.Message {
	return wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: to}
}

func status(st, from string) wire.Message {
	return wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: st, From: from}
}

func TestLateJoinerIsRung(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{}, wire.User{Name: "door", Kind: "door"}, wire.User{Name: "alice", Kind: "browser"})
		r.press(r.call)
		r.expect(start("alice"))
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "bob", Kind: "browser"}}})
		r.expect(start("bob"))
		// Another join rings only the newcomer, never alice again.
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "carol", Kind: "browser"}}})
		r.expect(start("carol"))
		r.deliver(status("Accepted", "bob"))
		r.state(StateInCall)
		if got := r.c.Status().Peer; got != "bob" {
			t.Fatalf("peer = %q, want the late joiner bob", got)
		}
		// Someone joining during the call is not rung.
		r.sig.take()
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "dave", Kind: "browser"}}})
		r.expect()
	})
}

func TestHoldRingWithNobodyOnline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{HoldRing: true, RingTimeout: 30 * time.Second}, wire.User{Name: "door", Kind: "door"})
		if err := r.c.Call(); err != nil {
			t.Fatalf("Call() with nobody online and HoldRing = %v, want nil (push reaches them)", err)
		}
		r.expect()
		r.state(StateCalling)
		time.Sleep(10 * time.Second)
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "alice", Kind: "browser"}}})
		r.expect(start("alice"))
		r.deliver(status("Accepted", "alice"))
		r.state(StateInCall)
	})
}

func TestHoldRingOutlastsDeclines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{HoldRing: true, RingTimeout: 30 * time.Second}, browsers...)
		r.press(r.call)
		r.expect(start("alice"), start("bob"))
		r.deliver(status("Rejected", "alice"))
		r.deliver(status("Rejected", "bob"))
		r.state(StateCalling) // a phone woken by a notification may still answer
		// bob's page goes away and comes back (he tapped the notification):
		// he is rung again; alice, still online, is not.
		r.deliver(wire.Message{Type: "Users Delta", Left: []string{"bob"}})
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "bob", Kind: "browser"}}})
		r.expect(start("bob"))
		time.Sleep(31 * time.Second)
		synctest.Wait()
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "bob", Reason: "No answer"})
		r.state(StateIdle)
	})
}

func TestNobodyOnlineWithoutHoldRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{}, wire.User{Name: "door", Kind: "door"})
		if err := r.c.Call(); !errors.Is(err, ErrNobody) {
			t.Fatalf("Call() = %v, want ErrNobody", err)
		}
		r.state(StateIdle)
	})
}

// TestDeclineFromNotification: a resident declining on their phone's
// notification stops their page ringing; the ring ends when everyone it
// reached declined and no page rings any more; another ring's decline is
// refused.
func TestDeclineFromNotification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ring uint64
		cfg := Config{HoldRing: true, RingTimeout: 30 * time.Second, Observers: []func(Event){func(e Event) {
			if e.Kind == EventRing {
				ring = e.Call
			}
		}}}
		r := newRig(t, cfg, browsers...)
		r.press(r.call)
		r.expect(start("alice"), start("bob"))
		if err := r.c.Decline(ring+1, "alice", true); !errors.Is(err, ErrNotRinging) {
			t.Errorf("Decline of another ring = %v, want ErrNotRinging", err)
		}
		if err := r.c.Decline(ring, "alice", false); err != nil {
			t.Fatalf("Decline = %v", err)
		}
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "Declined"})
		r.state(StateCalling)
		// Everyone reached by push declined, but bob's page still rings.
		r.c.Decline(ring, "carol", true)
		r.state(StateCalling)
		r.deliver(status("Rejected", "bob"))
		r.state(StateCalling) // held: a phone may still answer
		r.c.Decline(ring, "bob", true)
		r.state(StateIdle)
	})
}
