package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/wire"
)

type eventRecorder struct {
	mu     sync.Mutex
	events []Event // state changes aside
	state  []State // the states of the EventState events
}

func (e *eventRecorder) observe(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.Kind == EventState {
		e.state = append(e.state, ev.State)
		return
	}
	e.events = append(e.events, ev)
}

// take returns and forgets the events so far, without the state changes.
func (e *eventRecorder) take() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.events
	e.events = nil
	return out
}

// states returns the states of the EventState events so far.
func (e *eventRecorder) states() []State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

func briefEvents(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "{%s call=%d peer=%q via=%q state=%s dur=%s reason=%q} ", e.Kind, e.Call, e.Peer, e.Via, e.State, e.Dur, e.Reason)
	}
	return b.String()
}

// expectEvents checks the events (state changes aside) match want in kind,
// call, peer, via, state, dur and reason.
func expectEvents(t *testing.T, rec *eventRecorder, want ...Event) {
	t.Helper()
	got := rec.take()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		g, w := got[i], want[i]
		ok = g.Kind == w.Kind && g.Call == w.Call && g.Peer == w.Peer && g.Via == w.Via &&
			g.State == w.State && g.Dur == w.Dur && g.Reason == w.Reason && !g.At.IsZero()
	}
	if !ok {
		t.Fatalf("door events %s, want %s", briefEvents(got), briefEvents(want))
	}
}

func TestEventsDoorRingAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventRecorder{}
		r := newRig(t, Config{Observers: []func(Event){rec.observe}}, browsers...)
		r.press(r.call)
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Accepted", From: "bob"})
		expectEvents(t, rec,
			Event{Kind: EventRing, Call: 1, Via: "button", State: StateCalling},
			Event{Kind: EventRingAnswered, Call: 1, Peer: "bob", State: StateInCall})

		r.media.last().events(CallEvent{State: ConnConnected})
		synctest.Wait()
		time.Sleep(90 * time.Second)
		r.media.last().events(CallEvent{State: ConnDisconnected}) // a blip
		r.media.last().events(CallEvent{State: ConnConnected})    // is no new call
		synctest.Wait()
		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), From: "bob", Reason: "Requested"})
		expectEvents(t, rec,
			Event{Kind: EventCallStarted, Call: 1, Peer: "bob", State: StateInCall},
			Event{Kind: EventCallEnded, Call: 1, Peer: "bob", State: StateInCall, Dur: 90 * time.Second, Reason: "Requested"})
		if got, want := fmt.Sprint(rec.states()), fmt.Sprint([]State{StateCalling, StateInCall, StateIdle}); got != want {
			t.Fatalf("state events %s, want %s", got, want)
		}
	})
}

func TestEventsRingMissed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventRecorder{}
		r := newRig(t, Config{Observers: []func(Event){rec.observe}, RingTimeout: 30 * time.Second}, browsers...)
		if err := r.c.Ring("api"); err != nil {
			t.Fatalf("Ring(api) = %v, want nil", err)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		r.press(r.call)
		r.press(r.hangup)
		r.press(r.call)
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Rejected", From: "alice"})
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Busy", From: "bob"})
		expectEvents(t, rec,
			Event{Kind: EventRing, Call: 1, Via: "api", State: StateCalling},
			Event{Kind: EventRingMissed, Call: 1, State: StateCalling, Reason: "No answer"},
			Event{Kind: EventRing, Call: 2, Via: "button", State: StateCalling},
			Event{Kind: EventRingMissed, Call: 2, State: StateCalling, Reason: "Cancelled"},
			Event{Kind: EventRing, Call: 3, Via: "button", State: StateCalling},
			Event{Kind: EventRingMissed, Call: 3, State: StateCalling, Reason: "Busy"})
		if err := r.c.Ring("api"); err != nil {
			t.Fatalf("Ring(api) = %v, want nil", err)
		}
		r.cancel()
		synctest.Wait()
		expectEvents(t, rec,
			Event{Kind: EventRing, Call: 4, Via: "api", State: StateCalling},
			Event{Kind: EventRingMissed, Call: 4, State: StateCalling, Reason: "Door shutting down"})
	})
}

func TestEventsResidentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventRecorder{}
		r := newRig(t, Config{Observers: []func(Event){rec.observe}, Answer: AnswerButton, AnswerTimeout: 20 * time.Second})
		r.deliver(invite("Incoming", "alice"))
		time.Sleep(21 * time.Second)
		synctest.Wait()
		r.deliver(invite("Incoming", "bob"))
		r.press(r.answer)
		r.press(r.hangup)
		expectEvents(t, rec,
			Event{Kind: EventIncoming, Call: 1, Peer: "alice", State: StateIdle},
			Event{Kind: EventRingMissed, Call: 1, Peer: "alice", State: StateRinging, Reason: "No answer"},
			Event{Kind: EventIncoming, Call: 2, Peer: "bob", State: StateIdle},
			Event{Kind: EventCallEnded, Call: 2, Peer: "bob", State: StateInCall, Reason: "Requested"})
	})
}

func TestOpenDoorCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventRecorder{}
		r := newRig(t, Config{Observers: []func(Event){rec.observe}})
		if err := r.c.OpenDoor("alice", "api"); err != nil {
			t.Fatalf("OpenDoor(alice, api) = %v, want nil", err)
		}
		if n := r.relay.count(); n != 1 {
			t.Fatalf("relay pulsed %d times, want 1", n)
		}
		r.deliver(invite("Incoming", "bob"))
		r.deliver(wire.Message{Type: "Open Door", To: "door", From: "bob"})
		expectEvents(t, rec,
			Event{Kind: EventDoorOpened, Peer: "alice", Via: "api", State: StateIdle},
			Event{Kind: EventIncoming, Call: 1, Peer: "bob", State: StateIdle},
			Event{Kind: EventDoorOpened, Call: 1, Peer: "bob", Via: "call", State: StateInCall})

		bare := New(Config{Name: "door"}, slog.New(slog.NewTextHandler(io.Discard, nil)), newSig(), &mediaStub{}, Panel{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go bare.Run(ctx)
		if err := bare.OpenDoor("alice", "mqtt"); !errors.Is(err, ErrNoRelay) {
			t.Fatalf("OpenDoor without a relay = %v, want ErrNoRelay", err)
		}
	})
}

func TestEventQueueDropsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var handled []uint64
		q := NewEventQueue(1, slog.New(slog.NewTextHandler(io.Discard, nil)), func(_ context.Context, e Event) {
			<-release
			mu.Lock()
			handled = append(handled, e.Call)
			mu.Unlock()
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go q.Run(ctx)
		q.Observe(Event{Kind: EventRing, Call: 1})
		synctest.Wait() // the handler holds call 1
		q.Observe(Event{Kind: EventRing, Call: 2})
		q.Observe(Event{Kind: EventRing, Call: 3}) // full: dropped, without blocking
		close(release)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(handled) != "[1 2]" {
			t.Fatalf("handled calls %v, want [1 2] (3 dropped)", handled)
		}
	})
}

func TestEventKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := EventRing; k <= EventState; k++ {
		s := k.String()
		if s == "unknown" || seen[s] {
			t.Fatalf("EventKind(%d).String() = %q, want a name of its own", k, s)
		}
		seen[s] = true
	}
	if s := EventKind(0).String(); s != "unknown" {
		t.Fatalf("EventKind(0).String() = %q, want unknown", s)
	}
}
