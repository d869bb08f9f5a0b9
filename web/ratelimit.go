package web

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMsgsPerSecond is each WebSocket's sustained rate of incoming
// frames; a burst of as many is allowed. Browsers send a few per second at
// most (a call's ICE candidates come in tens); the hub benchmark's busiest
// socket sends about 400. A faster client is slowed down, not cut off: its
// frames wait.
const DefaultMsgsPerSecond = 1000

// throttleSockets slows each WebSocket to perSecond incoming frames. It
// works below the WebSocket library: the upgrade's hijacked connection is
// wrapped, and a read that brings frames over the rate waits for them, so a
// flooding client fills only its own TCP window.
func throttleSockets(next http.Handler, perSecond int) http.Handler {
	if perSecond <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&throttledWriter{ResponseWriter: w, perSecond: perSecond}, r)
	})
}

// throttledWriter hands out a throttled connection when hijacked.
type throttledWriter struct {
	http.ResponseWriter
	perSecond int
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *throttledWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is http.Hijacker.
func (w *throttledWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		// Data before the handshake finished: the WebSocket library
		// refuses such a client, so there is nothing to throttle.
		return c, brw, err
	}
	tc := &throttledConn{Conn: c, lim: newFrameLimiter(w.perSecond), closed: make(chan struct{})}
	// The WebSocket library reads through its own buffer (ReadBufferSize),
	// so this reader stays tiny.
	return tc, bufio.NewReadWriter(bufio.NewReaderSize(tc, 16), brw.Writer), nil
}

// newFrameLimiter allows perSecond frames a second with a burst of as many.
func newFrameLimiter(perSecond int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), perSecond)
}

// throttledConn counts the WebSocket frames it reads and waits when they
// come faster than its limiter allows.
type throttledConn struct {
	net.Conn
	lim       *rate.Limiter
	frames    frameCounter
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *throttledConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if k := c.frames.feed(p[:n]); k > 0 {
		c.wait(k)
	}
	return n, err
}

// wait blocks until k frames fit the rate, or the connection is closed.
func (c *throttledConn) wait(k int) {
	for k > 0 {
		n := min(k, c.lim.Burst())
		k -= n
		d := c.lim.ReserveN(time.Now(), n).Delay()
		if d <= 0 {
			continue
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return
		}
	}
}

func (c *throttledConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// frameCounter follows the framing of a client's WebSocket byte stream
// (RFC 6455 section 5.2) just far enough to count frame starts. It never
// fails: malformed input is the WebSocket library's to refuse.
type frameCounter struct {
	state  frameState
	masked bool
	need   int    // bytes left of the extended length or the mask
	length uint64 // payload bytes left, or the extended length so far
}

type frameState uint8

const (
	frameHead0  frameState = iota // FIN, opcode
	frameHead1                    // MASK, 7-bit length
	frameExtLen                   // 16- or 64-bit length
	frameMask                     // 4-byte masking key
	framePayload
)

// feed consumes p and returns how many frames began in it.
func (f *frameCounter) feed(p []byte) (frames int) {
	for len(p) > 0 {
		switch f.state {
		case frameHead0:
			frames++
			p = p[1:]
			f.state = frameHead1
		case frameHead1:
			b := p[0]
			p = p[1:]
			f.masked = b&0x80 != 0
			switch l := b & 0x7f; l {
			case 126:
				f.state, f.need, f.length = frameExtLen, 2, 0
			case 127:
				f.state, f.need, f.length = frameExtLen, 8, 0
			default:
				f.length = uint64(l)
				f.afterLength()
			}
		case frameExtLen:
			f.length = f.length<<8 | uint64(p[0])
			p = p[1:]
			if f.need--; f.need == 0 {
				f.afterLength()
			}
		case frameMask:
			n := min(f.need, len(p))
			p = p[n:]
			if f.need -= n; f.need == 0 {
				f.afterMask()
			}
		case framePayload:
			n := min(f.length, uint64(len(p)))
			p = p[n:]
			if f.length -= n; f.length == 0 {
				f.state = frameHead0
			}
		}
	}
	return frames
}

func (f *frameCounter) afterLength() {
	if f.masked {
		f.state, f.need = frameMask, 4
		return
	}
	f.afterMask()
}

func (f *frameCounter) afterMask() {
	if f.length > 0 {
		f.state = framePayload
	} else {
		f.state = frameHead0
	}
}
