package hub

import (
	"encoding/json"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/intercomd/intercomd/wire"
)

// ErrClosed is what Local.Send returns after Close or once the hub stopped.
var ErrClosed = errors.New("hub: local user closed")

// maxLocalQueue bounds what waits for a Local that does not read; beyond it
// messages are dropped (and logged) rather than blocking the hub.
const maxLocalQueue = 4096

// Local is an in-process user (the door itself). It follows exactly the
// rules a WebSocket client follows: it must send Register itself, the hub
// sets From, and errors come back as messages. It has no goroutine: the
// hub queues what it sends the user, and the user takes it with Receive
// when Ready says something waits.
type Local struct {
	h     *Hub
	c     *client // nil when made after the hub stopped
	ready chan struct{}
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex // guards the fields below
	q       []wire.Message
	listAt  int // index in q of a full list a newer one replaces, or -1
	dropped int
}

// Local adds an in-process user whose list entries show kind (for example
// "door"). It receives {"type":"Socket Event","text":"Connected"} first, like
// a socket.
func (h *Hub) Local(kind string) *Local {
	l := &Local{h: h, ready: make(chan struct{}, 1), done: make(chan struct{}), listAt: -1}
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

// Send hands m to the hub, checked as a socket's frame is: From, id, date
// and user lists are the hub's to set, and a message a socket could not
// have sent is refused. Refusals come back as messages. The error is
// ErrClosed after Close, nil otherwise.
func (l *Local) Send(m wire.Message) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	if l.c == nil {
		return ErrClosed
	}
	m.From, m.ID, m.Date, m.Users, m.Joined, m.Left, m.Changed = "", "", 0, nil, nil, nil, nil
	l.h.handleMessage(l.c, &m, check(&m))
	return nil
}

// check refuses what wire.Decode would refuse in a frame.
func check(m *wire.Message) error {
	for _, r := range []*json.RawMessage{&m.Text, &m.Param1, &m.Param2} {
		if string(*r) == "null" {
			*r = nil
		}
		if *r != nil && !json.Valid(*r) {
			return wire.ErrInvalidJSON
		}
	}
	for _, s := range []string{m.Type, m.Status, m.To, m.Reason} {
		if !utf8.ValidString(s) {
			return wire.ErrInvalidUTF8
		}
	}
	if m.Type == "" {
		return wire.ErrNoType
	}
	return nil
}

// Ready is signalled while messages wait for Receive.
func (l *Local) Ready() <-chan struct{} { return l.ready }

// Receive takes the oldest message the hub sent this user (false when none
// waits). A full user list still waiting is replaced by a newer one. Users
// slices are shared: do not modify them.
func (l *Local) Receive() (wire.Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.q) == 0 {
		return wire.Message{}, false
	}
	m := l.q[0]
	l.q[0] = wire.Message{}
	l.q = l.q[1:]
	if l.listAt >= 0 {
		l.listAt--
	}
	if len(l.q) > 0 {
		l.wake()
	}
	return m, true
}

// Close leaves the hub like a socket closing: calls in progress end with
// Hangup "Connection lost" to the other party.
func (l *Local) Close() {
	l.once.Do(func() {
		if l.c != nil {
			l.h.leave(l.c)
		}
		close(l.done)
		l.mu.Lock()
		l.q, l.listAt = nil, -1
		l.mu.Unlock()
	})
}

// wake signals Ready. Called with l.mu held.
func (l *Local) wake() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// localOut is a Local's outbox.
type localOut struct{ l *Local }

func (o localOut) push(m *wire.Message, _ []byte, list bool) bool {
	l := o.l
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return true
	default:
	}
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
	l.wake()
	return true
}

func (o localOut) close(int, string) { o.l.Close() }

func (o localOut) probe(time.Duration) {}
