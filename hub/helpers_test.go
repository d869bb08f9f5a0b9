package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/wire"
)

// wait is how long a test waits for something that should happen at once.
const wait = 10 * time.Second

// testHub is a hub behind a real HTTP server that upgrades every request,
// as web/ does.
type testHub struct {
	*Hub
	url     string
	cancel  context.CancelFunc
	runErr  chan error
	started atomic.Bool
}

// newTestHub starts a hub and its server; run says whether Run starts now
// (a test of coalescing starts it later with start).
func newTestHub(t testing.TB, cfg Config, run bool) *testHub {
	t.Helper()
	h := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	up := websocket.Upgrader{} // nil CheckOrigin: same-origin or no Origin, as web/ does
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.ServeConn(r.Context(), conn)
	}))
	th := &testHub{Hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/", runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	th.cancel = cancel
	if run {
		th.start(ctx)
	}
	t.Cleanup(func() {
		cancel()
		if run || th.started.Load() {
			if err := <-th.runErr; err != nil {
				t.Errorf("Run() = %v, want nil", err)
			}
		} else {
			h.shutdown()
		}
		srv.Close()
	})
	return th
}

func (th *testHub) start(ctx context.Context) {
	th.started.Store(true)
	go func() { th.runErr <- th.Run(ctx) }()
}

// testWriter sends the hub's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// wsClient is a test client on a real WebSocket. A reader goroutine decodes
// every frame and keeps the user list up to date, as a client would.
type wsClient struct {
	t    testing.TB
	ws   *websocket.Conn
	name string
	in   chan frame

	mu     sync.Mutex // guards the fields below
	users  map[string]wire.User
	lists  int // list messages received
	closed *websocket.CloseError
}

// frame is one message the client received, raw and decoded, or the error
// that ended the connection.
type frame struct {
	raw []byte
	m   wire.Message
	err error
}

func (th *testHub) dial(t testing.TB) *wsClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(th.url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", th.url, err)
	}
	c := &wsClient{t: t, ws: ws, in: make(chan frame, 1<<14), users: map[string]wire.User{}}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	f := c.next()
	wantWire(t, f.raw, map[string]any{"type": "Socket Event", "text": "Connected", "id": "1"})
	return c
}

// dialAs dials and registers name.
func (th *testHub) dialAs(t testing.TB, name string) *wsClient {
	t.Helper()
	c := th.dial(t)
	c.register(name)
	return c
}

func (c *wsClient) read() {
	defer close(c.in)
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.closed = ce
				c.mu.Unlock()
			}
			c.in <- frame{err: err}
			return
		}
		var m wire.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			c.in <- frame{raw: raw, err: fmt.Errorf("hub sent invalid JSON %q: %w", raw, err)}
			return
		}
		c.mu.Lock()
		switch m.Type {
		case wire.TypeGetUsers:
			c.lists++
			c.users = map[string]wire.User{}
			for _, u := range m.Users {
				c.users[u.Name] = u
			}
		case wire.TypeUsersDelta:
			c.lists++
			for _, n := range m.Left {
				delete(c.users, n)
			}
			for _, u := range m.Joined {
				c.users[u.Name] = u
			}
			for _, u := range m.Changed {
				if _, ok := c.users[u.Name]; !ok {
					c.in <- frame{raw: raw, err: fmt.Errorf("hub changed %q, who is not listed", u.Name)}
				}
				c.users[u.Name] = u
			}
		}
		c.mu.Unlock()
		c.in <- frame{raw: raw, m: m}
	}
}

// next returns the next frame, lists included.
func (c *wsClient) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if !ok {
			c.t.Fatalf("%s: connection already ended", c.name)
		}
		if f.err != nil {
			c.t.Fatalf("%s: connection ended: %v", c.name, f.err)
		}
		return f
	case <-time.After(wait):
		c.t.Fatalf("%s: nothing received within %v", c.name, wait)
	}
	return frame{}
}

// expect returns the next message that is not a user list and checks its
// wire form: exactly the fields of want, plus id "1" and a date.
func (c *wsClient) expect(want map[string]any) frame {
	c.t.Helper()
	f := c.nextNonList()
	want["id"] = "1"
	wantWire(c.t, f.raw, want)
	return f
}

// nextNonList returns the next message that is not a user list.
func (c *wsClient) nextNonList() frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.m.Type != wire.TypeGetUsers && f.m.Type != wire.TypeUsersDelta {
			return f
		}
	}
}

// send encodes v (a map or a string of raw JSON) and sends it.
func (c *wsClient) send(v any) {
	c.t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// register sends Register the way the seed client does and waits for OK.
func (c *wsClient) register(name string) {
	c.t.Helper()
	c.send(seedMsg("Register", name, "", nil))
	f := c.nextNonList()
	if f.m.Type != wire.TypeRegister || f.m.Status != wire.StatusOK {
		c.t.Fatalf("Register %q: got %s", name, f.raw)
	}
	c.name = name
}

// seedMsg builds a message as the seed client's sendAsJson does, with a
// from that the hub must ignore.
func seedMsg(typ string, text any, to string, extra map[string]any) map[string]any {
	m := map[string]any{"type": typ, "from": "spoofed", "id": "1", "date": time.Now().UnixMilli()}
	if text != nil {
		m["text"] = text
	}
	if to != "" {
		m["to"] = to
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// sync sends an Echo and returns every non-list message received before its
// reply: after it, anything the hub routed to c before the call has arrived.
func (c *wsClient) sync() []frame {
	c.t.Helper()
	token := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	c.send(map[string]any{"type": "Echo", "text": token})
	var got []frame
	for {
		f := c.nextNonList()
		if s, _ := f.m.TextString(); f.m.Type == wire.TypeEcho && s == token {
			return got
		}
		got = append(got, f)
	}
}

// quiet checks that nothing but lists reached c.
func (c *wsClient) quiet() {
	c.t.Helper()
	for _, f := range c.sync() {
		c.t.Errorf("%s got unexpected %s", c.name, f.raw)
	}
}

// closedWith waits until the hub closes the connection and returns the close
// frame it sent.
func (c *wsClient) closedWith() *websocket.CloseError {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f, ok := <-c.in:
			if !ok || f.err != nil {
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.closed == nil {
					c.t.Fatalf("%s: connection ended without a close frame: %v", c.name, f.err)
				}
				return c.closed
			}
		case <-deadline:
			c.t.Fatalf("%s: not closed within %v", c.name, wait)
		}
	}
}

// waitUsers waits until c's user list satisfies ok.
func (c *wsClient) waitUsers(desc string, ok func(map[string]wire.User) bool) {
	c.t.Helper()
	waitFor(c.t, desc, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return ok(c.users)
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, desc string, cond func() bool) {
	t.Helper()
	poll.For(t, wait, 2*time.Millisecond, desc, cond)
}

// wantWire checks that raw is a JSON object with exactly the fields of want
// (numbers as float64), plus a date in ms near now unless want has one.
func wantWire(t testing.TB, raw []byte, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("wire %s: %v", raw, err)
	}
	if _, ok := want["date"]; !ok {
		d, ok := got["date"].(float64)
		if now := float64(time.Now().UnixMilli()); !ok || d < now-60e3 || d > now+60e3 {
			t.Errorf("wire %s: date %v, want ms since the epoch", raw, got["date"])
		}
		delete(got, "date")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wire %s\n got %v\nwant %v", raw, got, want)
	}
}
