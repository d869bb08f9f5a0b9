package hub

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/wire"
)

// checkInvariants checks the hub's routing state: every registered user is
// listed once under its name, and call legs are consistent: both parties
// live, registered and holding the leg, at most one answered call each, and
// a callee in no other leg (so nobody is rung twice).
func checkInvariants(t testing.TB, h *Hub) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.order) != len(h.users) {
		t.Fatalf("%d users by name, %d in order", len(h.users), len(h.order))
	}
	for i, c := range h.order {
		if c.idx != i || h.users[c.name] != c || c.gone || !h.clients[c] {
			t.Fatalf("user %q at %d: idx %d, gone %v, by name %p, client %v", c.name, i, c.idx, c.gone, h.users[c.name], h.clients[c])
		}
	}
	for c := range h.clients {
		if c.gone {
			t.Fatalf("client %q gone but still listed", c.name)
		}
		if c.name == "" && len(c.legs) > 0 {
			t.Fatalf("unregistered client in %d legs", len(c.legs))
		}
		callee, active := 0, 0
		for _, l := range c.legs {
			o := l.other(c)
			switch {
			case l.ended:
				t.Fatalf("%q holds an ended leg", c.name)
			case l.caller != c && l.callee != c:
				t.Fatalf("%q holds a leg of %q and %q", c.name, l.caller.name, l.callee.name)
			case o.gone || !h.clients[o] || h.users[o.name] != o || o.legWith(c) != l:
				t.Fatalf("leg %q-%q: other party gone or not holding it", c.name, o.name)
			}
			if l.callee == c {
				callee++
			}
			if l.active {
				active++
			}
		}
		if active > 1 || callee > 0 && len(c.legs) != 1 {
			t.Fatalf("%q: %d answered calls, called in %d of %d legs", c.name, active, callee, len(c.legs))
		}
	}
}

// Vocabulary for template frames, so that the fuzzer reaches deep call
// states quickly.
var (
	fuzzTypes = []string{wire.TypeRegister, wire.TypeEcho, wire.TypeGetUsers, wire.TypeInvite, wire.TypeCallerSDP, wire.TypeCalleeSDP, wire.TypeICE,
		wire.TypeHangup, wire.TypeOpenDoor, wire.TypeSocketEvent, wire.TypeUsersDelta, "Bogus"}
	fuzzTexts = []string{`"Start"`, `"Ringing"`, `"Accepted"`, `"Rejected"`, `"Busy"`, `"Local"`, `"Remote"`,
		`{"candidate":"x"}`, `null`, `"a"`, `"b"`, `"c"`, `"Incoming"`, `"z"`}
	fuzzTos = []string{"a", "b", "c", "", "Server", "z"}
)

// fuzzClient is one socket in FuzzHub and what it sent.
type fuzzClient struct {
	*wsClient
	sent []wire.Message // decoded frames it sent
}

// FuzzHub plays arbitrary frame sequences from three clients against a live
// hub over real WebSockets. Each op is one byte (client = op%3, kind =
// op>>2%4) and its arguments: 0 a raw text frame (length byte, bytes), 1 a
// frame made of vocabulary (type, text, to bytes), 2 a binary frame (length
// byte, bytes), 3 closing the client (a fresh unregistered one takes its
// place). Afterwards: the hub's invariants hold, every client still gets its
// Echo, and every relayed message came from the party named in from, which
// had sent it to the receiver.
func FuzzHub(f *testing.F) {
	f.Add([]byte{0x04, 3, 0, 1, 0x05, 3, 2, 0, 0x04, 6, 7, 1, 0x00, 2, '{', '}'})
	f.Add([]byte{0x04, 3, 0, 1, 0x05, 3, 2, 0, 0x04, 7, 5, 1, 0x0c})
	f.Add([]byte{0x06, 0, 2, 0x06, 3, 0, 0, 0x04, 3, 0, 2, 0x00, 4, 'n', 'u', 'l', 'l', 0x09, 3, 0xff, 0xfe, 0})
	th := newTestHub(f, Config{MaxMessage: 200}, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		names := map[string][]*fuzzClient{} // every socket that held the name
		var all []*fuzzClient
		dial := func(name string) *fuzzClient {
			c := &fuzzClient{wsClient: th.dial(t)}
			if name != "" {
				c.register(name)
				names[name] = append(names[name], c)
			}
			all = append(all, c)
			return c
		}
		cs := []*fuzzClient{dial("a"), dial("b"), dial("")}
		for len(data) > 0 {
			op := data[0]
			data = data[1:]
			c := cs[int(op)%3]
			arg := func() int {
				if len(data) == 0 {
					return 0
				}
				b := data[0]
				data = data[1:]
				return int(b)
			}
			switch op >> 2 % 4 {
			case 0, 2:
				n := min(arg(), len(data))
				frame := data[:n]
				data = data[n:]
				kind := websocket.TextMessage
				if op>>2%4 == 2 {
					kind = websocket.BinaryMessage
				} else if m, err := wire.Decode(frame); err == nil {
					c.sent = append(c.sent, m)
				}
				c.ws.WriteMessage(kind, frame)
			case 1:
				m := wire.Message{Type: fuzzTypes[arg()%len(fuzzTypes)], Text: json.RawMessage(fuzzTexts[arg()%len(fuzzTexts)]),
					To: fuzzTos[arg()%len(fuzzTos)]}
				b, _ := json.Marshal(m)
				c.sent = append(c.sent, m)
				c.ws.WriteMessage(websocket.TextMessage, b)
			case 3:
				c.ws.Close()
				cs[int(op)%3] = dial("")
			}
		}
		// Every live client gets its Echo back; collect what each received.
		got := map[*fuzzClient][]frame{}
		for _, c := range cs {
			got[c] = c.fuzzSync(t)
		}
		checkInvariants(t, th.Hub)
		for c, frames := range got {
			for _, f := range frames {
				if f.m.Type == wire.TypeRegister && f.m.Status == wire.StatusOK {
					n, _ := f.m.TextString()
					names[n] = append(names[n], c)
				}
			}
		}
		for c, frames := range got {
			for _, f := range frames {
				checkRelayed(t, c, f, names)
			}
		}
		for _, c := range all {
			c.ws.Close()
		}
		waitFor(t, "all clients to leave", func() bool {
			th.mu.Lock()
			defer th.mu.Unlock()
			return len(th.clients) == 0
		})
	})
}

// fuzzSync is sync for a client that the hub may have closed for a frame
// over MaxMessage, the only reason it may close one here.
func (c *fuzzClient) fuzzSync(t *testing.T) []frame {
	t.Helper()
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"Echo","text":"fuzz-sync"}`))
	var got []frame
	timeout := time.After(wait)
	for {
		select {
		case f, ok := <-c.in:
			if !ok || f.err != nil {
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.closed == nil || c.closed.Code != websocket.CloseMessageTooBig {
					t.Fatalf("connection ended: %v (close frame %v)", f.err, c.closed)
				}
				return got
			}
			if f.m.Type == wire.TypeGetUsers || f.m.Type == wire.TypeUsersDelta {
				continue
			}
			if s, _ := f.m.TextString(); f.m.Type == wire.TypeEcho && s == "fuzz-sync" {
				return got
			}
			got = append(got, f)
		case <-timeout:
			t.Fatalf("no Echo within %v", wait)
		}
	}
}

// checkRelayed checks that a message the hub relayed to c came from a socket
// that held the name in from and sent that type to c.
func checkRelayed(t *testing.T, c *fuzzClient, f frame, names map[string][]*fuzzClient) {
	t.Helper()
	var sentType string
	switch {
	case f.m.Type == wire.TypeCallerSDP || f.m.Type == wire.TypeCalleeSDP || f.m.Type == wire.TypeICE || f.m.Type == wire.TypeOpenDoor:
		sentType = f.m.Type
	case f.m.Type == wire.TypeInvite && !slices.Contains(names[f.m.From], c):
		sentType = wire.TypeInvite // Incoming, or a callee's answer
	case f.m.Type == wire.TypeHangup && f.m.Reason != wire.ReasonNoAnswer && f.m.Reason != wire.ReasonConnectionLost &&
		f.m.Reason != wire.ReasonAnsweredElsewhere:
		sentType = wire.TypeHangup
	default:
		return
	}
	if f.m.To == "" || !slices.Contains(names[f.m.To], c) {
		t.Fatalf("%s addressed to %q reached a socket that never held that name", f.raw, f.m.To)
	}
	for _, s := range names[f.m.From] {
		for _, m := range s.sent {
			if m.Type == sentType && m.To == f.m.To {
				return
			}
		}
	}
	t.Fatalf("%s: no socket named %q sent a %s to %q", f.raw, f.m.From, sentType, f.m.To)
}

// FuzzLookalike: any requested name is checked without a crash, and an
// accepted ASCII name has the look-alike key of its capitals and of its
// fullwidth form.
func FuzzLookalike(f *testing.F) {
	for _, s := range []string{"door", "dооr", "ｄｏｏｒ", "Door", "door\u3164", "alice", "rn", "m", "ǅ", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		name, err := checkName(raw)
		if err != nil {
			return
		}
		key := lookalike(name)
		if key != lookalike(name) {
			t.Fatalf("lookalike(%q) is not stable", name)
		}
		ascii := true
		for _, r := range name {
			if r >= 0x7f {
				ascii = false
			}
		}
		if !ascii {
			return
		}
		var full strings.Builder
		for _, r := range name {
			if r > ' ' && r < 0x7f {
				r += 0xFF01 - '!'
			}
			full.WriteRune(r)
		}
		if got := lookalike(full.String()); got != key {
			t.Errorf("lookalike(%q) = %q, want %q as for %q", full.String(), got, key, name)
		}
		if got := lookalike(strings.ToUpper(name)); got != key {
			t.Errorf("lookalike(%q) = %q, want %q as for %q", strings.ToUpper(name), got, key, name)
		}
	})
}
