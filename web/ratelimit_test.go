package web

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
)

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
