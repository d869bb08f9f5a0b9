package hub

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/wire"
)

// resetConn ends c's TCP connection with a reset, as a crashed client does.
func resetConn(c *wsClient) {
	if tcp, ok := c.ws.NetConn().(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	c.ws.NetConn().Close()
}

// Each bad frame gets an Error reply and changes nothing: the sender can go
// on, and a call between others is untouched. The seed crashed on several.
func TestBadFrames(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	connect(t, a, b)
	for _, tc := range []struct {
		name, frame, text, reason string
	}{
		{"invalid JSON", `{"type":`, "", "invalid JSON"},
		{"trailing garbage", `{"type":"Echo"} x`, "", "invalid JSON"},
		{"null", `null`, "", "message must be a JSON object"},
		{"array", `[1,2]`, "", "message must be a JSON object"},
		{"string", `"Register"`, "", "message must be a JSON object"},
		{"number", `5`, "", "message must be a JSON object"},
		{"empty", ``, "", "invalid JSON"},
		{"no type", `{}`, "", "message has no type"},
		{"null type", `{"type":null}`, "", "message has no type"},
		{"type not a string", `{"type":5}`, "", `invalid JSON: field "type" has the wrong type`},
		{"to not a string", `{"type":"Invite","text":"Start","to":["bob"]}`, "", `invalid JSON: field "to" has the wrong type`},
		{"invalid UTF-8", "{\"type\":\"Echo\",\"text\":\"\xff\xfe\"}", "", "invalid UTF-8"},
		{"unknown type", `{"type":"Launch Missiles"}`, "Launch Missiles", "unknown message type"},
		{"hub-only type", `{"type":"Users Delta"}`, "Users Delta", "only the hub sends Users Delta"},
		{"deep nesting", `{"type":"Echo","text":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "", "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := th.dial(t)
			c.register("sender")
			c.send(tc.frame)
			want := map[string]any{"type": "Error", "status": "Fail", "reason": tc.reason}
			if tc.text != "" {
				want["text"] = tc.text
			}
			c.expect(want)
			c.send(seedMsg("Echo", "still here", "", nil))
			c.expect(map[string]any{"type": "Echo", "text": "still here", "status": "OK", "from": "Server", "to": "sender", "reason": "Requested"})
			c.ws.Close()
			waitFor(t, "sender to leave", func() bool { return th.Users() == 2 })
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		c := th.dial(t)
		if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"Echo"}`)); err != nil {
			t.Fatal(err)
		}
		c.expect(map[string]any{"type": "Error", "status": "Fail", "reason": "binary frames are not supported"})
		c.send(seedMsg("Echo", "still here", "", nil))
		c.expect(map[string]any{"type": "Echo", "text": "still here", "status": "OK", "from": "Server", "reason": "Requested"})
	})
	a.quiet()
	b.quiet()
	a.send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"bob"}`)
	if f := b.nextNonList(); f.m.Type != wire.TypeICE {
		t.Errorf("call after bad frames: got %s, want ICE", f.raw)
	}
}

// A frame over MaxMessage closes that socket with 1009 and a reason; a frame
// of exactly MaxMessage is fine. The seed crashed on 10 MiB and 100 MiB.
func TestOversizedFrames(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	connect(t, a, b)

	c := th.dial(t)
	echo := []byte(`{"type":"Echo","text":"`)
	exact := append(append(echo, bytes.Repeat([]byte("x"), DefaultMaxMessage-len(echo)-2)...), '"', '}')
	c.send(exact)
	if f := c.nextNonList(); f.m.Type != wire.TypeEcho || len(f.m.Text) != DefaultMaxMessage-len(echo) {
		t.Fatalf("Echo of a %d-byte frame: got %.80s", len(exact), f.raw)
	}

	for _, size := range []int{DefaultMaxMessage + 1, 10 << 20, 100 << 20} {
		c := th.dial(t)
		c.register("big")
		// Write it from another goroutine: the hub stops reading early.
		go c.ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), size))
		ce := c.closedWith()
		if ce.Code != websocket.CloseMessageTooBig || ce.Text != "message exceeds 65536 bytes" {
			t.Errorf("%d-byte frame: closed with %d %q, want 1009 \"message exceeds 65536 bytes\"", size, ce.Code, ce.Text)
		}
		waitFor(t, "big to leave", func() bool { return th.Users() == 2 })
	}
	a.quiet()
	b.quiet()
	a.send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"bob"}`)
	if f := b.nextNonList(); f.m.Type != wire.TypeICE {
		t.Errorf("call after oversized frames: got %s, want ICE", f.raw)
	}
}

// A frame that fragments past the limit is caught too.
func TestFragmentedOversizedFrame(t *testing.T) {
	th := newTestHub(t, Config{MaxMessage: 1000}, true)
	c := th.dial(t)
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range 10 {
			w.Write(bytes.Repeat([]byte("a"), 300))
		}
		w.Close()
	}()
	if ce := c.closedWith(); ce.Code != websocket.CloseMessageTooBig || ce.Text != "message exceeds 1000 bytes" {
		t.Errorf("closed with %d %q, want 1009", ce.Code, ce.Text)
	}
}

// A socket that answers no pings is dropped within two intervals; its call
// ends with Hangup "Connection lost". One that answers stays.
func TestPingDropsSilentSocket(t *testing.T) {
	th := newTestHub(t, Config{PingInterval: 50 * time.Millisecond}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	connect(t, a, b)
	stopReading(t, b)
	a.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "bob", "to": "alice", "reason": "Connection lost"})
	if th.Users() != 1 {
		t.Errorf("Users() = %d, want 1 (alice, who answers pings)", th.Users())
	}
	a.send(seedMsg("Echo", "alive", "", nil))
	a.expect(map[string]any{"type": "Echo", "text": "alive", "status": "OK", "from": "Server", "to": "alice", "reason": "Requested"})
}

// A client that reads nothing while others send to it is dropped once its
// queue is full; the sender is never held up.
func TestSlowClientDropped(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	connect(t, a, b)
	stopReading(t, b)
	big := `{"type":"ICE Candidate","text":{"candidate":"` + strings.Repeat("c", 60000) + `"},"to":"bob"}`
	for i := 0; ; i++ {
		if i == 5000 {
			t.Fatal("bob never dropped")
		}
		a.send(big)
		a.send(seedMsg("Echo", "x", "", nil))
		f := a.nextNonList()
		if f.m.Type == wire.TypeHangup {
			wantWire(t, f.raw, map[string]any{"type": "Hangup", "text": "Remote", "from": "bob", "to": "alice", "reason": "Connection lost", "id": "1", "date": float64(f.m.Date)})
			break
		}
		if f.m.Type != wire.TypeEcho {
			t.Fatalf("got %s", f.raw)
		}
	}
	waitFor(t, "bob to leave", func() bool { return th.Users() == 1 })
}

// When Run ends every socket is closed with 1001 and a reason.
func TestShutdownClosesSockets(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dial(t)
	th.cancel()
	for _, c := range []*wsClient{a, b} {
		if ce := c.closedWith(); ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down" {
			t.Errorf("closed with %d %q, want 1001 server shutting down", ce.Code, ce.Text)
		}
	}
	// New sockets are refused the same way.
	ws, _, err := websocket.DefaultDialer.Dial(th.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, _, err = ws.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway {
		t.Errorf("new socket after shutdown: %v, want close 1001", err)
	}
}
