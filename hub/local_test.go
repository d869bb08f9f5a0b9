package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// localNext returns the next message for l that is not a user list, waiting
// up to the test deadline.
func localNext(t *testing.T, l *Local) wire.Message {
	t.Helper()
	for {
		m, ok := recv(l, wait)
		if !ok {
			t.Fatalf("Local: nothing within %v", wait)
		}
		if m.Type != wire.TypeGetUsers && m.Type != wire.TypeUsersDelta {
			return m
		}
	}
}

// recv returns l's next message, waiting up to timeout.
func recv(l *Local, timeout time.Duration) (wire.Message, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		if m, ok := l.Receive(); ok {
			return m, true
		}
		select {
		case <-l.Ready():
		case <-t.C:
			return wire.Message{}, false
		}
	}
}

func localExpect(t *testing.T, l *Local, want wire.Message) wire.Message {
	t.Helper()
	m := localNext(t, l)
	if m.ID != "1" || m.Date == 0 {
		t.Errorf("Local got %+v: want id 1 and a date", m)
	}
	got := m
	got.ID, got.Date = "", 0
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("Local got %s, want %s", g, w)
	}
	return m
}

func mustJSON(t *testing.T, m wire.Message) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// The door is an in-process user that follows the socket rules exactly.
func TestLocalDoor(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.Local("door")
	if m, _ := recv(door, wait); m.Type != wire.TypeSocketEvent || string(m.Text) != `"Connected"` {
		t.Fatalf("first message %+v, want Socket Event Connected", m)
	}
	// Before Register it may not call.
	door.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Start"`), To: "alice"})
	localExpect(t, door, wire.Message{Type: wire.TypeError, Text: raw(`"Invite"`), Status: wire.StatusFail, Reason: "register first"})
	door.Send(wire.Message{Type: wire.TypeRegister, Text: raw(`"door"`), From: "spoof"})
	localExpect(t, door, wire.Message{Type: wire.TypeRegister, Text: raw(`"door"`), Status: wire.StatusOK, From: wire.ServerName,
		To: "door", Reason: "Requested", Param1: raw("1")})

	a := th.dialAs(t, "alice")
	a.waitUsers("the door, kind door", func(u map[string]wire.User) bool { return u["door"].Kind == "door" })
	waitFor(t, "door's list with alice", func() bool {
		for m, ok := door.Receive(); ok; m, ok = door.Receive() {
			if m.Type == wire.TypeGetUsers && len(m.Users) == 2 {
				return true
			}
		}
		return false
	})

	// alice calls the door; the door answers.
	a.send(seedMsg("Invite", "Start", "door", nil))
	localExpect(t, door, wire.Message{Type: wire.TypeInvite, Text: raw(`"Incoming"`), From: "alice", To: "door"})
	a.nextNonList()
	door.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Accepted"`), To: "alice", From: "bob"})
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Accepted", "from": "door", "to": "alice"})
	a.send(`{"type":"Caller Session Description","text":` + offer + `,"to":"door"}`)
	m := localExpect(t, door, wire.Message{Type: wire.TypeCallerSDP, Text: raw(offer), From: "alice", To: "door"})
	if string(m.Text) != offer {
		t.Errorf("offer %s, want byte for byte %s", m.Text, offer)
	}
	door.Send(wire.Message{Type: wire.TypeCalleeSDP, Text: raw(answer), To: "alice"})
	a.expect(map[string]any{"type": "Callee Session Description", "from": "door", "to": "alice",
		"text": map[string]any{"type": "answer", "sdp": "v=0\r\n"}})
	a.send(`{"type":"Open Door","to":"door"}`)
	localExpect(t, door, wire.Message{Type: wire.TypeOpenDoor, From: "alice", To: "door"})
	door.Send(wire.Message{Type: wire.TypeOpenDoor, Status: wire.StatusOK, To: "alice"})
	a.expect(map[string]any{"type": "Open Door", "status": "OK", "from": "door", "to": "alice"})

	// Errors come back as messages.
	door.Send(wire.Message{Type: wire.TypeICE, Text: raw(candidate), To: "nobody"})
	localExpect(t, door, wire.Message{Type: wire.TypeError, Text: raw(`"ICE Candidate"`), Status: wire.StatusFail, Reason: `no call with "nobody"`})
	door.Send(wire.Message{Type: wire.TypeICE, Text: raw(`{broken`), To: "alice"})
	localExpect(t, door, wire.Message{Type: wire.TypeError, Status: wire.StatusFail, Reason: "invalid JSON"})
	door.Send(wire.Message{Type: wire.TypeHangup, Reason: "\xff", To: "alice"})
	localExpect(t, door, wire.Message{Type: wire.TypeError, Status: wire.StatusFail, Reason: "invalid UTF-8"})
	door.Send(wire.Message{To: "alice"})
	localExpect(t, door, wire.Message{Type: wire.TypeError, Status: wire.StatusFail, Reason: "message has no type"})

	// Close is a socket closing.
	door.Close()
	a.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "door", "to": "alice", "reason": "Connection lost"})
	a.waitUsers("the door gone", func(u map[string]wire.User) bool { return len(u) == 1 })
	if err := door.Send(wire.Message{Type: wire.TypeEcho}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if m, ok := door.Receive(); ok {
		t.Errorf("Receive after Close = %+v, want nothing", m)
	}
}

// The door's ring group: it rings several browsers, the first to answer
// gets it, and it hangs up the rest.
func TestLocalForking(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.Local("door")
	door.Send(wire.Message{Type: wire.TypeRegister, Text: raw(`"door"`)})
	b := th.dialAs(t, "bob")
	c := th.dialAs(t, "carol")
	for _, callee := range []*wsClient{b, c} {
		door.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Start"`), To: callee.name})
		callee.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "door", "to": callee.name})
	}
	b.send(seedMsg("Invite", "Accepted", "door", nil))
	var statuses []string
	for len(statuses) < 3 {
		m := localNext(t, door)
		if m.Type == wire.TypeInvite {
			statuses = append(statuses, m.Status+" "+m.From+">"+m.To)
		}
	}
	want := []string{"Attempting door>bob", "Attempting door>carol", "Accepted bob>door"}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("door got %v, want %v", statuses, want)
	}
	c.send(seedMsg("Invite", "Accepted", "door", nil))
	c.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "door", "to": "carol", "reason": "Answered elsewhere"})
	door.Send(wire.Message{Type: wire.TypeEcho, Text: raw(`"sync"`)})
	if m := localNext(t, door); m.Type != wire.TypeEcho {
		t.Errorf("door got %+v after carol's late Accepted, want only its Echo", m)
	}
	door.Close()
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "door", "to": "bob", "reason": "Connection lost"})
}

// A Local that never reads does not hold up the hub.
func TestLocalNotReading(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.Local("door")
	defer door.Close()
	for range 2 * maxLocalQueue {
		door.Send(wire.Message{Type: wire.TypeEcho})
	}
	a := th.dialAs(t, "alice")
	a.send(seedMsg("Echo", "x", "", nil))
	a.nextNonList()
}

// With fake time: at most one list per ListInterval however fast users
// come, and the last list is complete.
func TestListPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := New(Config{}, nil)
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		obs := h.Local("browser")
		obs.Send(wire.Message{Type: wire.TypeRegister, Text: raw(`"observer"`)})
		var (
			mu    sync.Mutex
			times []time.Time
			last  wire.Message
		)
		go func() {
			for {
				select {
				case <-obs.Ready():
				case <-ctx.Done():
					return
				}
				for m, ok := obs.Receive(); ok; m, ok = obs.Receive() {
					if m.Type == wire.TypeGetUsers {
						mu.Lock()
						times = append(times, time.Now())
						last = m
						mu.Unlock()
					}
				}
			}
		}()
		const n, every = 200, 5 * time.Millisecond // 1 s of registrations
		start := time.Now()
		for i := range n {
			l := h.Local("browser")
			l.Send(wire.Message{Type: wire.TypeRegister, Text: raw(fmt.Sprintf(`"u%d"`, i)), Param2: raw(`"delta"`)})
			time.Sleep(every)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		for i := 1; i < len(times); i++ {
			if d := times[i].Sub(times[i-1]); d < DefaultListInterval {
				t.Errorf("lists %d and %d only %v apart, want at least %v", i-1, i, d, DefaultListInterval)
			}
		}
		if max := int(time.Since(start)/DefaultListInterval) + 1; len(times) > max {
			t.Errorf("%d lists in %v, want at most %d", len(times), time.Since(start), max)
		}
		if len(last.Users) != n+1 {
			t.Errorf("final list has %d users, want %d", len(last.Users), n+1)
		}
		mu.Unlock()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
}

// With fake time: the default ring timeout is 45 s, and an answered call
// never times out.
func TestRingTimeoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := New(Config{}, nil)
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		a, b := h.Local("browser"), h.Local("browser")
		a.Send(wire.Message{Type: wire.TypeRegister, Text: raw(`"a"`)})
		b.Send(wire.Message{Type: wire.TypeRegister, Text: raw(`"b"`)})
		drain := func(l *Local) []wire.Message {
			synctest.Wait()
			var got []wire.Message
			for m, ok := l.Receive(); ok; m, ok = l.Receive() {
				if m.Type != wire.TypeGetUsers && m.Type != wire.TypeSocketEvent && m.Type != wire.TypeRegister {
					got = append(got, m)
				}
			}
			return got
		}
		start := time.Now()
		a.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Start"`), To: "b"})
		drain(a)
		drain(b)
		time.Sleep(DefaultRingTimeout - time.Millisecond)
		if got := append(drain(a), drain(b)...); len(got) != 0 {
			t.Fatalf("before 45 s: %+v", got)
		}
		time.Sleep(time.Millisecond)
		got := drain(a)
		if len(got) != 1 || got[0].Status != wire.StatusFail || got[0].Reason != wire.ReasonNoAnswer {
			t.Errorf("caller after %v: %+v, want Fail No answer", time.Since(start), got)
		}
		got = drain(b)
		if len(got) != 1 || got[0].Type != wire.TypeHangup || got[0].Reason != wire.ReasonNoAnswer {
			t.Errorf("callee after %v: %+v, want Hangup No answer", time.Since(start), got)
		}

		a.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Start"`), To: "b"})
		b.Send(wire.Message{Type: wire.TypeInvite, Text: raw(`"Accepted"`), To: "a"})
		drain(a)
		drain(b)
		time.Sleep(10 * DefaultRingTimeout)
		if got := append(drain(a), drain(b)...); len(got) != 0 {
			t.Errorf("answered call after 450 s: %+v, want nothing", got)
		}
		cancel()
		<-done
	})
}
