package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/wire"
)

func TestRegisterReplyAndList(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dial(t)
	a.send(seedMsg("Register", "alice", "", nil))
	a.expect(map[string]any{"type": "Register", "text": "alice", "status": "OK", "from": "Server",
		"to": "alice", "reason": "Requested", "param1": float64(1)})
	f := a.next()
	if f.m.Type != wire.TypeGetUsers {
		t.Fatalf("after Register got %s, want a Get Users list", f.raw)
	}
	var list map[string]any
	wantWireList(t, f.raw, &list)
	users := list["users"].([]any)
	if len(users) != 1 {
		t.Fatalf("list %s: want one user", f.raw)
	}
	u := users[0].(map[string]any)
	if u["name"] != "alice" || u["kind"] != "browser" || u["regdate"] == nil || len(u) != 3 {
		t.Errorf("list entry %v, want name alice, regdate, kind browser", u)
	}

	b := th.dial(t)
	b.send(seedMsg("Register", "bob", "", nil))
	b.expect(map[string]any{"type": "Register", "text": "bob", "status": "OK", "from": "Server",
		"to": "bob", "reason": "Requested", "param1": float64(2)})
	for _, c := range []*wsClient{a, b} {
		c.waitUsers("alice and bob", func(u map[string]wire.User) bool { return len(u) == 2 && u["alice"].Name != "" && u["bob"].Name != "" })
	}
	if th.Users() != 2 {
		t.Errorf("Users() = %d, want 2", th.Users())
	}
}

// wantWireList checks the fixed fields of a full list as the seed sends it.
func wantWireList(t *testing.T, raw []byte, into *map[string]any) {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"type": "Get Users", "text": "OK", "status": "OK", "from": "Server", "reason": "Requested", "id": "1"} {
		if m[k] != v {
			t.Errorf("list %s: %s = %v, want %v", raw, k, m[k], v)
		}
	}
	*into = m
}

func TestEcho(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	c := th.dial(t)
	// Before registering: allowed, no to.
	c.send(seedMsg("Echo", "Echo from client", "", nil))
	c.expect(map[string]any{"type": "Echo", "text": "Echo from client", "status": "OK", "from": "Server", "reason": "Requested"})
	c.register("carol")
	c.send(`{"type":"Echo","text":{"any": [1, 2]}}`)
	f := c.expect(map[string]any{"type": "Echo", "text": map[string]any{"any": []any{float64(1), float64(2)}},
		"status": "OK", "from": "Server", "to": "carol", "reason": "Requested"})
	if !strings.Contains(string(f.raw), `"text":{"any": [1, 2]}`) {
		t.Errorf("Echo %s: text not returned byte for byte", f.raw)
	}
}

func TestRegisterNames(t *testing.T) {
	th := newTestHub(t, Config{Reserved: []string{"door"}}, true)
	th.dialAs(t, "taken")
	for _, tc := range []struct {
		name   string
		msg    string
		reason string
	}{
		{"missing", `{"type":"Register"}`, "name must be a string"},
		{"number", `{"type":"Register","text":42}`, "name must be a string"},
		{"object", `{"type":"Register","text":{"name":"x"}}`, "name must be a string"},
		{"empty", `{"type":"Register","text":""}`, "name is empty"},
		{"spaces", `{"type":"Register","text":"   "}`, "name is empty"},
		{"long", `{"type":"Register","text":"` + strings.Repeat("é", 33) + `"}`, "name is longer than 32 characters"},
		{"control", `{"type":"Register","text":"a\u0007b"}`, "name contains control characters"},
		{"newline", `{"type":"Register","text":"a\nb"}`, "name contains control characters"},
		{"bidi", `{"type":"Register","text":"a\u202eb"}`, "name contains control characters"},
		{"server", `{"type":"Register","text":"server"}`, "name is reserved"},
		{"duplicate", `{"type":"Register","text":"taken"}`, "name already in use"},
		{"fullwidth server", `{"type":"Register","text":"ｓｅｒｖｅｒ"}`, "name is reserved"},
		// Look-alikes of a registered name and of the door's (reserved,
		// refused even while the door is offline).
		{"case", `{"type":"Register","text":"Taken"}`, "name looks like taken"},
		{"cyrillic a", `{"type":"Register","text":"t\u0430ken"}`, "name looks like taken"},
		{"cyrillic o", `{"type":"Register","text":"d\u043e\u043er"}`, "name looks like door"},
		{"capital door", `{"type":"Register","text":"Door"}`, "name looks like door"},
		{"fullwidth door", `{"type":"Register","text":"ｄｏｏｒ"}`, "name looks like door"},
		{"greek omicron", `{"type":"Register","text":"d\u03bf\u03bfr"}`, "name looks like door"},
		{"hangul filler", `{"type":"Register","text":"door\u3164"}`, "name contains invisible characters"},
		{"halfwidth filler", `{"type":"Register","text":"\uffa0door"}`, "name contains invisible characters"},
		{"zero width", `{"type":"Register","text":"do\u200bor"}`, "name contains control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := th.dial(t)
			c.send(tc.msg)
			f := c.nextNonList()
			if f.m.Type != wire.TypeRegister || f.m.Status != wire.StatusFail || f.m.Reason != tc.reason {
				t.Errorf("Register %s: got %s, want status Fail, reason %q", tc.msg, f.raw, tc.reason)
			}
			// Refused means unregistered: it may not call, but may try again.
			c.send(seedMsg("Invite", "Start", "taken", nil))
			if f := c.nextNonList(); f.m.Type != wire.TypeError || f.m.Reason != "register first" {
				t.Errorf("Invite after refused Register: got %s, want Error register first", f.raw)
			}
			c.register("ok-" + tc.name)
		})
	}
	// 32 characters after trimming is fine, and the reply names the trimmed name.
	c := th.dial(t)
	name := strings.Repeat("ü", 32)
	c.send(seedMsg("Register", "  "+name+" ", "", nil))
	if f := c.nextNonList(); f.m.Status != wire.StatusOK || string(f.m.Text) != `"`+name+`"` {
		t.Errorf("Register 32 characters: got %s", f.raw)
	}
}

// The seed let two sockets hold one name, and messages reached both.
func TestDuplicateNameNoMisrouting(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	first := th.dialAs(t, "dup")
	second := th.dial(t)
	second.send(seedMsg("Register", "dup", "", nil))
	second.expect(map[string]any{"type": "Register", "text": "dup", "status": "Fail", "reason": "name already in use"})

	caller := th.dialAs(t, "caller")
	caller.send(seedMsg("Invite", "Start", "dup", nil))
	first.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "caller", "to": "dup"})
	second.quiet()
	if th.Users() != 2 {
		t.Errorf("Users() = %d, want 2", th.Users())
	}
}

// A name is free again once its holder has gone.
func TestNameFreedWhenHolderLeaves(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "phone")
	a.ws.Close()
	waitFor(t, "phone to leave", func() bool { return th.Users() == 0 })
	th.dialAs(t, "phone")
}

// A phone that lost its network leaves a socket that looks open until pings
// time out; when it reconnects, the hub probes the old socket and hands the
// name over as soon as the probe fails.
func TestNameTakeoverFromDeadHolder(t *testing.T) {
	th := newTestHub(t, Config{PingInterval: time.Hour}, true)
	th.probeWait = 100 * time.Millisecond
	watcher := th.dialAs(t, "watcher")

	old := th.dial(t)
	old.register("phone")
	stopReading(t, old) // a client that reads nothing answers no pings

	renewed := th.dial(t)
	renewed.send(seedMsg("Register", "phone", "", nil))
	renewed.expect(map[string]any{"type": "Register", "text": "phone", "status": "OK", "from": "Server",
		"to": "phone", "reason": "Requested", "param1": float64(2)})
	watcher.waitUsers("phone listed once", func(u map[string]wire.User) bool { return len(u) == 2 && u["phone"].Name == "phone" })

	// And the new holder gets the calls.
	watcher.send(seedMsg("Invite", "Start", "phone", nil))
	renewed.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "watcher", "to": "phone"})
}

// stopReading makes c's reader stop at its next frame; pings then go
// unanswered. It sends a frame to c itself to be sure the reader stopped.
func stopReading(t *testing.T, c *wsClient) {
	t.Helper()
	c.ws.SetReadDeadline(time.Now()) // the reader goroutine exits with a timeout
	waitFor(t, "reader to stop", func() bool {
		select {
		case f, ok := <-c.in:
			return !ok || f.err != nil
		default:
			return false
		}
	})
}

func TestRegisterTwiceOnOneSocket(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	c := th.dialAs(t, "once")
	c.register("once") // same name: OK again
	c.send(seedMsg("Register", "other", "", nil))
	c.expect(map[string]any{"type": "Register", "text": "other", "status": "Fail", "reason": "already registered as once"})
	if th.Users() != 1 {
		t.Errorf("Users() = %d, want 1", th.Users())
	}
}

func TestGetUsers(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	c := th.dial(t)
	c.send(seedMsg("Get Users", nil, "", nil))
	c.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Get Users", "reason": "register first"})
	c.register("asker")
	waitFor(t, "first list", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.lists == 1 })
	c.send(seedMsg("Get Users", nil, "", nil))
	f := c.next()
	if f.m.Type != wire.TypeGetUsers || len(f.m.Users) != 1 || f.m.Users[0].Name != "asker" {
		t.Errorf("Get Users: got %s", f.raw)
	}
}

func TestDeltaLists(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	d := th.dial(t)
	d.send(seedMsg("Register", "delta", "", map[string]any{"param2": "delta"}))
	d.nextNonList()
	// A delta client's entries are short: the name, and the kind only when
	// it is not a browser; a crowd of N costs N short names per client.
	if f := d.next(); f.m.Type != wire.TypeGetUsers || len(f.m.Users) != 1 || !strings.Contains(string(f.raw), `"users":[{"name":"delta"}]`) {
		t.Fatalf("first list of a delta client: got %s, want a full Get Users of short entries", f.raw)
	}
	seed := th.dialAs(t, "seed")
	f := d.next()
	wantWire(t, f.raw, map[string]any{"type": "Users Delta", "id": "1",
		"joined": []any{map[string]any{"name": "seed"}},
		"left":   []any{}})
	door := th.Local("door")
	door.Send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote("door")})
	f = d.next()
	wantWire(t, f.raw, map[string]any{"type": "Users Delta", "id": "1",
		"joined": []any{map[string]any{"name": "door", "kind": "door"}},
		"left":   []any{}})
	door.Close()
	f = d.next()
	wantWire(t, f.raw, map[string]any{"type": "Users Delta", "id": "1", "joined": []any{}, "left": []any{"door"}})
	seed.ws.Close()
	f = d.next()
	wantWire(t, f.raw, map[string]any{"type": "Users Delta", "id": "1", "joined": []any{}, "left": []any{"seed"}})

	// Many joins and leaves: the client that applies deltas ends with the
	// same list as one that gets full lists.
	full := th.dialAs(t, "full")
	var cs []*wsClient
	for i := range 20 {
		cs = append(cs, th.dialAs(t, fmt.Sprintf("u%d", i)))
	}
	for _, c := range cs[:10] {
		c.ws.Close()
	}
	want := func(u map[string]wire.User) bool {
		if len(u) != 12 {
			return false
		}
		for i := 10; i < 20; i++ {
			if _, ok := u[fmt.Sprintf("u%d", i)]; !ok {
				return false
			}
		}
		return u["delta"].Name != "" && u["full"].Name != ""
	}
	full.waitUsers("12 users", want)
	d.waitUsers("12 users", want)
}

// A burst of registrations costs each client far fewer than one list per
// registration: lists are only sent by Run, at most one per ListInterval.
// Here Run starts after the burst, so each client gets exactly one list.
func TestListsCoalesce(t *testing.T) {
	th := newTestHub(t, Config{}, false)
	const n = 100
	var cs []*wsClient
	for i := range n {
		c := th.dial(t)
		if i%2 == 0 {
			c.send(seedMsg("Register", fmt.Sprintf("c%d", i), "", map[string]any{"param2": "delta"}))
		} else {
			c.send(seedMsg("Register", fmt.Sprintf("c%d", i), "", nil))
		}
		if f := c.next(); f.m.Status != wire.StatusOK {
			t.Fatalf("Register: got %s", f.raw)
		}
		cs = append(cs, c)
	}
	th.start(t.Context())
	for _, c := range cs {
		f := c.next()
		if f.m.Type != wire.TypeGetUsers || len(f.m.Users) != n {
			t.Fatalf("list: got %d users in a %s, want %d in a Get Users", len(f.m.Users), f.m.Type, n)
		}
	}
	for _, c := range cs {
		c.quiet() // no second list
		c.mu.Lock()
		if c.lists != 1 {
			t.Errorf("%d lists, want 1", c.lists)
		}
		c.mu.Unlock()
	}
}

// A look-alike is free again once the name it imitated has left; the name
// itself stays free for whoever registers it first (the door, at start).
func TestLookalikeFreedWhenHolderLeaves(t *testing.T) {
	th := newTestHub(t, Config{Reserved: []string{"door"}}, true)
	alice := th.dialAs(t, "alice")
	c := th.dial(t)
	c.send(seedMsg("Register", "ALICE", "", nil))
	if f := c.nextNonList(); f.m.Status != wire.StatusFail || f.m.Reason != "name looks like alice" {
		t.Fatalf("Register ALICE beside alice: got %s, want Fail, name looks like alice", f.raw)
	}
	alice.ws.Close()
	waitFor(t, "alice to leave", func() bool { return th.Users() == 0 })
	c.register("ALICE")
	th.dialAs(t, "door") // the reserved name itself
}
