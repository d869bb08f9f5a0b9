package device

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// A call whose teardown never returns (pion's GracefulClose has deadlocked)
// leaves the door ready, and the next call works.
func TestStuckTeardownDoesNotStopNextCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := make(chan struct{})
		defer close(hang) // lets the stuck Close return when the test ends
		r := newRig(t, Config{CloseTimeout: 5 * time.Second})
		r.media.hang = hang
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		stuck := r.media.last()
		r.media.hang = nil

		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Remote"), From: "alice"})
		r.state(StateIdle)
		r.lightsAre(LightOff, LightOff, LightOn)

		// The next call, while the first one's Close still hangs.
		r.deliver(invite("Incoming", "bob"))
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Ringing"), To: "bob"}, wire.Message{Type: "Invite", Text: wire.Quote("Accepted"), To: "bob"})
		r.state(StateInCall)
		next := r.media.last()
		if next == stuck {
			t.Fatal("the second call reused the stuck one")
		}
		offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
		r.deliver(wire.Message{Type: "Caller Session Description", Text: offer, From: "bob"})
		r.expect(wire.Message{Type: "Callee Session Description", To: "bob"})
		next.events(CallEvent{State: ConnConnected})
		synctest.Wait()

		// Long after the teardown deadline the door still answers.
		time.Sleep(time.Minute)
		synctest.Wait()
		r.state(StateInCall)
		r.press(r.hangup)
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "bob"})
		r.state(StateIdle)
		if !next.closed {
			t.Fatal("the second call was not closed")
		}
		if stuck.closed {
			t.Fatal("the stuck call's Close returned, want it still blocked")
		}
	})
}

// Shutdown does not wait forever for a stuck teardown either.
func TestShutdownWithStuckTeardown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := make(chan struct{})
		defer close(hang)
		r := newRig(t, Config{CloseTimeout: 5 * time.Second})
		r.media.hang = hang
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		r.cancel()
		time.Sleep(6 * time.Second)
		synctest.Wait()
		select {
		case <-r.c.done:
		default:
			t.Fatal("Run did not return after the teardown deadline")
		}
	})
}

// An accepted call that never reaches media ends after MediaTimeout and the
// door is ready again: the resident never sends an offer, or sends one and
// ICE never connects; the door's own call whose answer never comes too.
func TestCallWithoutMediaEnds(t *testing.T) {
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
	tests := []struct {
		name  string
		start func(r *rig)
	}{
		{"no offer", func(r *rig) {
			r.deliver(invite("Incoming", "alice"))
		}},
		{"ice never connects", func(r *rig) {
			r.deliver(invite("Incoming", "alice"))
			r.deliver(wire.Message{Type: "Caller Session Description", Text: offer, From: "alice"})
		}},
		{"disconnected, never connected", func(r *rig) {
			r.deliver(invite("Incoming", "alice"))
			r.deliver(wire.Message{Type: "Caller Session Description", Text: offer, From: "alice"})
			r.media.last().events(CallEvent{State: ConnDisconnected})
		}},
		{"door calls, no answer sdp", func(r *rig) {
			r.press(r.call)
			r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), From: "alice", Status: "Accepted"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, Config{MediaTimeout: 20 * time.Second, DisconnectGrace: time.Hour, RingGroup: []string{"alice"}},
					wire.User{Name: "alice", Kind: "browser"})
				tt.start(r)
				r.state(StateInCall)
				r.sig.take()
				time.Sleep(19 * time.Second)
				synctest.Wait()
				r.state(StateInCall)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				r.state(StateIdle)
				r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "No media"})
				if !r.media.last().closed {
					t.Fatal("call not closed")
				}
				// And the door rings again.
				if err := r.c.Call(); err != nil {
					t.Fatalf("Call() after the timeout = %v, want nil", err)
				}
			})
		})
	}
}

// A call whose media connected is not ended by the media timeout.
func TestConnectedCallOutlivesMediaTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MediaTimeout: 20 * time.Second})
		r.deliver(invite("Incoming", "alice"))
		r.media.last().events(CallEvent{State: ConnConnected})
		synctest.Wait()
		r.sig.take()
		time.Sleep(time.Hour)
		synctest.Wait()
		r.state(StateInCall)
		r.expect()
	})
}
