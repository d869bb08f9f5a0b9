package hub

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/wire"
)

// Limits of one socket's outbound queue; a client that falls further
// behind is dropped with close code 1008.
const (
	maxQueue      = 1024     // frames
	maxQueueBytes = 1 << 20  // bytes of frames only this client gets
	maxQueueTotal = 16 << 20 // bytes with the shared lists (a client asking for lists it does not read)
	writeWait     = 10 * time.Second
	closeWait     = 2 * time.Second // for the peer's close frame after ours
)

// ServeConn runs one WebSocket client (already upgraded by the web server)
// until it leaves, breaks the protocol's limits, stops answering pings, ctx
// ends or Run ends. It always closes conn.
func (h *Hub) ServeConn(ctx context.Context, conn *websocket.Conn) {
	s := &socket{ws: conn, h: h, ping: h.cfg.PingInterval, listAt: -1, wake: make(chan struct{}, 1)}
	c := h.addClient(s, wire.KindBrowser, nil)
	if c == nil {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeGoingAway, "server shutting down"),
			time.Now().Add(time.Second))
		conn.Close()
		return
	}
	s.c = c
	defer conn.Close()
	conn.EnableWriteCompression(false) // lists are shared bytes; compressing per client would undo that
	conn.SetReadLimit(0)               // the hub enforces MaxMessage itself, to close with a reason
	conn.SetPongHandler(s.pong)
	conn.SetReadDeadline(time.Now().Add(2 * s.ping))
	stop := context.AfterFunc(ctx, func() { s.close(closeGoingAway, "server shutting down") })
	defer stop()
	go s.writeLoop()

	h.mu.Lock()
	h.send(c, &wire.Message{Type: wire.TypeSocketEvent, Text: textConn})
	h.mu.Unlock()

	err := h.readLoop(c, s)
	h.log.Debug("socket closed", "name", c.name, "err", err)
	h.leave(c)
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.signal()
}

var errTooBig = errors.New("message too big")

// readLoop reads frames until the socket fails or closes.
func (h *Hub) readLoop(c *client, s *socket) error {
	var buf []byte
	for {
		typ, r, err := s.ws.NextReader()
		if err != nil {
			return err
		}
		if s.closing.Load() {
			// Wait for the peer's close frame; drop what comes before it.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			continue
		}
		buf, err = readAtMost(r, buf[:0], h.cfg.MaxMessage)
		if errors.Is(err, errTooBig) {
			h.log.Info("closing socket: frame too big", "name", c.name)
			s.close(closeTooBig, "message exceeds "+strconv.FormatInt(h.cfg.MaxMessage, 10)+" bytes")
			continue
		}
		if err != nil {
			return err
		}
		if typ != websocket.TextMessage {
			h.mu.Lock()
			h.refuse(c, "", "binary frames are not supported")
			h.mu.Unlock()
			continue
		}
		h.handleFrame(c, buf)
		if cap(buf) > 16<<10 {
			buf = nil // do not keep a big buffer per idle client
		}
	}
}

// readAtMost reads r to its end into buf, or stops with errTooBig after
// limit bytes.
func readAtMost(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(512, len(buf)), 64<<10))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errTooBig
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// socket is the outbox of a WebSocket client: a bounded queue drained by
// one writer goroutine, which also sends the pings.
type socket struct {
	ws   *websocket.Conn
	h    *Hub
	c    *client
	ping time.Duration
	wake chan struct{} // the writer has work: frames, a ping, or the end

	closing   atomic.Bool // our close frame is out: no more data, no deadline extensions
	probed    atomic.Bool // a probe waits for a pong
	closeOnce sync.Once

	mu       sync.Mutex // guards the fields below
	q, spare []outFrame
	listAt   int  // index in q of a full list a newer one replaces, or -1
	unshared int  // bytes in q that only this client holds
	total    int  // bytes in q
	overflow bool // the queue overflowed once: the client is being dropped
	pingDue  bool // a ping is to be sent
	ended    bool // the reader has finished: the writer stops
}

// outFrame is one queued frame. buf is set for a frame encoded for this
// client alone; it goes back to framePool once written.
type outFrame struct {
	b   []byte
	buf *[]byte
}

// framePool recycles the buffers of relayed messages, the hub's most
// frequent allocation.
var framePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFrame is the largest buffer kept in framePool.
const maxPooledFrame = 16 << 10

func (s *socket) push(m *wire.Message, b []byte, list bool) bool {
	f := outFrame{b: b}
	if b == nil {
		f.buf = framePool.Get().(*[]byte)
		f.b = m.AppendJSON((*f.buf)[:0])
	}
	s.mu.Lock()
	switch {
	case s.overflow || s.closing.Load():
		s.mu.Unlock()
		return true // going away; the drop is under way
	case list && s.listAt >= 0:
		s.total += len(f.b) - len(s.q[s.listAt].b)
		s.q[s.listAt] = f
		s.mu.Unlock()
		return true
	case len(s.q) >= maxQueue || f.buf != nil && s.unshared+len(f.b) > maxQueueBytes || s.total+len(f.b) > maxQueueTotal:
		s.overflow = true
		s.mu.Unlock()
		return false
	}
	if list {
		s.listAt = len(s.q)
	}
	if f.buf != nil {
		s.unshared += len(f.b)
	}
	s.total += len(f.b)
	s.q = append(s.q, f)
	s.mu.Unlock()
	s.signal()
	return true
}

func (s *socket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the socket's writer: it sends what is queued and the pings.
// One channel wakes it for everything, so each wake-up is a plain receive.
func (s *socket) writeLoop() {
	ping := time.AfterFunc(s.ping, func() {
		s.mu.Lock()
		s.pingDue = true
		s.mu.Unlock()
		s.signal()
	})
	defer ping.Stop()
	var deadline time.Time // of writes; renewed at most once a second
	for range s.wake {
		s.mu.Lock()
		batch, pingDue, ended := s.q, s.pingDue, s.ended
		s.q, s.spare, s.pingDue = s.spare[:0], nil, false
		s.listAt, s.unshared, s.total = -1, 0, 0
		s.mu.Unlock()
		if ended {
			return
		}
		if now := time.Now(); deadline.Sub(now) < writeWait-time.Second {
			deadline = now.Add(writeWait)
			s.ws.SetWriteDeadline(deadline)
		}
		err := s.write(batch)
		if err == nil && pingDue {
			err = s.ws.WriteControl(websocket.PingMessage, nil, deadline)
			ping.Reset(s.ping)
		}
		if err != nil {
			if !errors.Is(err, websocket.ErrCloseSent) {
				s.ws.NetConn().Close() // a broken or stalled peer: end the reader too
			}
			return
		}
	}
}

// write sends a batch of frames and recycles it.
func (s *socket) write(batch []outFrame) error {
	for i, f := range batch {
		if err := s.ws.WriteMessage(websocket.TextMessage, f.b); err != nil {
			return err
		}
		if f.buf != nil && cap(f.b) <= maxPooledFrame {
			*f.buf = f.b[:0]
			framePool.Put(f.buf)
		}
		batch[i] = outFrame{}
	}
	if cap(batch) <= 64 {
		s.mu.Lock()
		s.spare = batch[:0]
		s.mu.Unlock()
	}
	return nil
}

// pong runs on the reader goroutine for every pong.
func (s *socket) pong(string) error {
	if !s.closing.Load() {
		s.ws.SetReadDeadline(time.Now().Add(2 * s.ping))
		if s.closing.Load() { // close ran meanwhile: keep its short wait
			s.ws.SetReadDeadline(time.Now().Add(closeWait))
		}
	}
	if s.probed.CompareAndSwap(true, false) {
		s.h.answeredProbe(s.c)
	}
	return nil
}

// probe runs on any goroutine: it sets the deadline on the net.Conn, whose
// deadlines (unlike gorilla's setters) are safe to change concurrently.
func (s *socket) probe(d time.Duration) {
	s.probed.Store(true)
	if !s.closing.Load() {
		s.ws.NetConn().SetReadDeadline(time.Now().Add(d))
	}
	s.mu.Lock()
	s.pingDue = true
	s.mu.Unlock()
	s.signal()
}

// close sends a close frame with code and reason and gives the peer
// closeWait to answer with its own before the reader gives up.
func (s *socket) close(code int, reason string) {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.mu.Lock()
		clear(s.q)
		s.q, s.listAt, s.unshared, s.total = s.q[:0], -1, 0, 0
		s.mu.Unlock()
		err := s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
			time.Now().Add(time.Second))
		s.ws.NetConn().SetReadDeadline(time.Now().Add(closeWait))
		if err != nil {
			s.ws.NetConn().Close()
		}
	})
}
