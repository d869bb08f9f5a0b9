package hub

import (
	"errors"
	"sync"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// ErrClosed is what Local.Send returns after Close or once the hub stopped.
var ErrClosed = errors.New("hub: local user closed")

// maxLocalQueue bounds what waits for a Local that does not read; beyond it
// messages are dropped (and logged) rather than blocking the hub.
const maxLocalQueue = 4096

// Local is an in-process user (the door itself). It follows exactly the
// rules a WebSocket client follows: it must send Register itself, the hub
// sets From, and errors come back as messages.
type Local struct {
	h    *Hub
	c    *client // nil when made after the hub stopped
	ch   chan wire.Message
	wake chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex // guards the fields below
	q       []wire.Message
	listAt  int // index in q of a full list a newer one replaces, or -1
	dropped int
}

// Local adds an in-process user whose list entries show kind (for example
// "door"). It receives {"type":"Socket Event","text":"Connected"} first, like
// a socket.
func (h *Hub) Local(kind string) *Local {
	l := &Local{h: h, ch: make(chan wire.Message, 16), wake: make(chan struct{}, 1), done: make(chan struct{}), listAt: -1}
	go l.pump()
	c := h.addClient(localOut{l}, kind, l)
	if c == nil {
		l.Close()
		return l
	}
	l.c = c
	h.mu.Lock()
	h.send(c, &wire.Message{Type: wire.TypeSocketEvent, Text: textConn})
	h.mu.Unlock()
	return l
}

// Send hands m to the hub as if it had arrived on a socket: encoded, then
// decoded and checked the same way. Refusals come back on Messages. The
// error is ErrClosed after Close, nil otherwise.
func (l *Local) Send(m wire.Message) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	if l.c == nil {
		return ErrClosed
	}
	l.h.handleFrame(l.c, m.AppendJSON(make([]byte, 0, 128+len(m.Text))))
	return nil
}

// Messages delivers what the hub sends this user, in order. A full user
// list still waiting here is replaced by a newer one. Users slices are
// shared: do not modify them. The channel is closed after Close.
func (l *Local) Messages() <-chan wire.Message { return l.ch }

// Close leaves the hub like a socket closing: calls in progress end with
// Hangup "Connection lost" to the other party.
func (l *Local) Close() {
	l.once.Do(func() {
		if l.c != nil {
			l.h.leave(l.c)
		}
		close(l.done)
	})
}

// pump moves queued messages to the channel, so the hub never waits for
// the reader.
func (l *Local) pump() {
	defer close(l.ch)
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		l.mu.Lock()
		batch := l.q
		l.q, l.listAt = nil, -1
		l.mu.Unlock()
		for _, m := range batch {
			select {
			case l.ch <- m:
			case <-l.done:
				return
			}
		}
	}
}

// localOut is a Local's outbox.
type localOut struct{ l *Local }

func (o localOut) push(m *wire.Message, _ []byte, list bool) bool {
	l := o.l
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case list && l.listAt >= 0:
		l.q[l.listAt] = *m
		return true
	case len(l.q) >= maxLocalQueue:
		l.dropped++
		if l.dropped&(l.dropped-1) == 0 { // log at 1, 2, 4, 8, ...
			l.h.log.Error("local user not reading its messages: dropping", "dropped", l.dropped, "type", m.Type)
		}
		return true
	}
	if list {
		l.listAt = len(l.q)
	}
	l.q = append(l.q, *m)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

func (o localOut) close(int, string) { o.l.Close() }

func (o localOut) probe(time.Duration) {}
