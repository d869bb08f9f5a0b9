package web

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
)

// fakeListener hands out the conns pushed into it.
type fakeListener struct{ conns chan net.Conn }

func (l *fakeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// addrConn is a pipe end that claims a remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
	closed bool
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }
func (c *addrConn) Close() error         { c.closed = true; return c.Conn.Close() }

func pipeFrom(ip string) *addrConn {
	a, _ := net.Pipe()
	return &addrConn{Conn: a, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}}
}

func TestPerAddrListener(t *testing.T) {
	fl := &fakeListener{conns: make(chan net.Conn, 100)}
	ln := limitPerAddr(fl, 2, slog.New(slog.DiscardHandler))
	accept := func(c *addrConn) (net.Conn, bool) {
		fl.conns <- c
		fl.conns <- pipeFrom("192.0.2.250") // a sentinel, always admitted
		got, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got.RemoteAddr().String() == "192.0.2.250:1" {
			return nil, false
		}
		if s, _ := ln.Accept(); s != nil {
			s.Close()
		}
		return got, true
	}
	a1, ok1 := accept(pipeFrom("192.0.2.1"))
	_, ok2 := accept(pipeFrom("192.0.2.1"))
	third := pipeFrom("192.0.2.1")
	_, ok3 := accept(third)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("admitted %v %v %v, want the first two from one address and not the third", ok1, ok2, ok3)
	}
	if !third.closed {
		t.Error("the refused connection was left open")
	}
	if _, ok := accept(pipeFrom("192.0.2.2")); !ok {
		t.Error("another address was refused")
	}
	for range 10 {
		if _, ok := accept(pipeFrom("127.0.0.1")); !ok {
			t.Fatal("a loopback connection was refused: loopback is exempt")
		}
	}
	a1.Close()
	a1.Close() // twice: the slot is given back once
	if _, ok := accept(pipeFrom("192.0.2.1")); !ok {
		t.Error("after a close, a new connection from the address was refused")
	}
	if _, ok := accept(pipeFrom("192.0.2.1")); ok {
		t.Error("a double Close gave back two slots")
	}
}

// wsFrames returns one masked client frame per size, as a browser sends
// them, recorded off the wire.
func wsFrames(t *testing.T, sizes ...int) []byte {
	t.Helper()
	var buf bytes.Buffer
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		// Read raw frames off the wire until the client closes.
		io.Copy(&buf, c.NetConn())
	}))
	defer srv.Close()
	// A write buffer larger than any message: one message, one frame.
	d := websocket.Dialer{WriteBufferSize: 1 << 17}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		if err := c.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), n)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	<-done
	return buf.Bytes()
}

func TestFrameCounter(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000, 3}
	raw := wsFrames(t, sizes...)
	for _, chunk := range []int{1, 2, 7, 4096, len(raw)} {
		var f frameCounter
		n := 0
		for p := raw; len(p) > 0; {
			k := min(chunk, len(p))
			n += f.feed(p[:k])
			p = p[k:]
		}
		if n != len(sizes) {
			t.Errorf("chunks of %d: counted %d frames, want %d", chunk, n, len(sizes))
		}
		if f.state != frameHead0 {
			t.Errorf("chunks of %d: ends in state %d, want at a frame boundary", chunk, f.state)
		}
	}
}

func FuzzFrameCounter(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}, 3)
	f.Add([]byte{0x81, 0xfe, 0xff, 0xff}, 1)
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 2)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		var whole, split frameCounter
		want := whole.feed(data)
		got := 0
		for p := data; len(p) > 0; {
			k := min(chunk, len(p))
			got += split.feed(p[:k])
			p = p[k:]
		}
		if got != want || split != whole {
			t.Errorf("in chunks of %d: %d frames, state %+v; whole: %d, %+v", chunk, got, split, want, whole)
		}
		if want > len(data) {
			t.Errorf("%d frames in %d bytes", want, len(data))
		}
	})
}

func TestThrottledConnWaits(t *testing.T) {
	raw := wsFrames(t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		tc := &throttledConn{Conn: server, lim: newFrameLimiter(2), closed: make(chan struct{})}
		go func() {
			client.Write(raw)
			client.Close()
		}()
		start := time.Now()
		io.Copy(io.Discard, tc)
		// 10 frames at 2/s with a burst of 2: the last 8 wait 4 s.
		if got := time.Since(start); got < 4*time.Second {
			t.Errorf("10 frames at 2/s read in %v (fake clock), want at least 4s", got)
		}
		tc.Close()
	})
}

func TestThrottledConnCloseEndsWait(t *testing.T) {
	raw := wsFrames(t, 1, 1, 1, 1)
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		tc := &throttledConn{Conn: server, lim: newFrameLimiter(1), closed: make(chan struct{})}
		go client.Write(raw)
		done := make(chan struct{})
		go func() {
			io.Copy(io.Discard, tc)
			close(done)
		}()
		start := time.Now()
		synctest.Wait() // the reader waits for tokens
		tc.Close()
		<-done
		if d := time.Since(start); d != 0 {
			t.Errorf("Close ended the wait after %v (fake clock), want at once", d)
		}
	})
}

func TestThrottleSocketsOverWebSocket(t *testing.T) {
	got := make(chan int, 1)
	h := throttleSockets(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{ReadBufferSize: 4096}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if _, ok := c.NetConn().(*throttledConn); !ok {
			t.Errorf("upgraded conn is %T, want the throttled one", c.NetConn())
		}
		n := 0
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
			n++
		}
		got <- n
	}), 1000)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"Echo"}`))
	}
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	if n := <-got; n != 50 {
		t.Errorf("server read %d messages through the throttle, want 50", n)
	}
	c.Close()
}
