package web

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/intercomd/intercomd/auth"
)

// Limits that keep one client on the LAN from hurting the others. Their
// defaults admit the hub benchmark (10,000 WebSockets from 127.0.0.1; 20,000
// relayed messages/s over 50 pairs, so at most about 400/s on any one
// socket): loopback is exempt from the connection cap, and the message rate
// is well above what any one socket of the benchmark sends.
const (
	// DefaultMaxConnsPerAddr caps open TCP connections per client address
	// (IPv6: per /64). A phone needs a handful; loopback is not capped.
	DefaultMaxConnsPerAddr = 64
	// DefaultMsgsPerSecond is each WebSocket's sustained rate of incoming
	// frames; a burst of as many is allowed. Browsers send a few per
	// second at most (a call's ICE candidates come in tens). A faster
	// client is slowed down, not cut off: its frames wait.
	DefaultMsgsPerSecond = 1000
)

// perAddrListener closes connections from a client address that already
// holds max open ones. Loopback clients are not capped: the local machine can
// exhaust the daemon in other ways anyway, and the hub benchmark runs there.
type perAddrListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu         sync.Mutex // guards the fields below
	open       map[string]int
	lastWarned time.Time
}

func limitPerAddr(ln net.Listener, max int, log *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	return &perAddrListener{Listener: ln, max: max, log: log, open: map[string]int{}}
}

// Accept returns the next connection whose address is under the cap.
func (l *perAddrListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := auth.ClientOf(c.RemoteAddr().String())
		key, loopback := client.Net.String(), client.Loopback
		if loopback {
			return c, nil
		}
		l.mu.Lock()
		if l.open[key] >= l.max {
			warn := time.Since(l.lastWarned) > time.Minute
			if warn {
				l.lastWarned = time.Now()
			}
			l.mu.Unlock()
			c.Close()
			if warn {
				l.log.Warn("refusing connections: too many open from one address", "client", key, "max", l.max)
			}
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *perAddrListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

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
