// Package hub is intercomd's signalling hub: the seed softphone's JSON
// protocol (docs/PROTOCOL.md), checked message by message, and the routing
// between registered users, whether browsers on WebSockets (ServeConn) or
// in-process users such as the door (Local).
//
// All routing state lives under one mutex (Hub.mu). Each socket has a reader
// goroutine, which decodes and routes, and a writer goroutine fed by a
// bounded queue, so a slow client is dropped instead of stalling anyone.
// User lists are coalesced by Run and encoded once per tick for everyone.
package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// Config tunes the hub; zero values take the defaults.
type Config struct {
	RingTimeout  time.Duration // unanswered Invite ends after this; 0 = 45s
	PingInterval time.Duration // 0 = 30s; a socket that does not answer a ping within the next interval is dropped
	MaxMessage   int64         // bytes per frame; 0 = 64 KiB
	ListInterval time.Duration // user-list coalescing; 0 = 100ms
	// Reserved names (the door's) may be registered as they are, but no
	// look-alike of them ever, even while they are offline.
	Reserved []string
	// Away, if set, reaches a resident called while they have no page
	// open (push): the call then waits for them as long as a ring lasts.
	Away Away
}

// Defaults of Config.
const (
	DefaultRingTimeout  = 45 * time.Second
	DefaultPingInterval = 30 * time.Second
	DefaultMaxMessage   = 64 << 10
	DefaultListInterval = 100 * time.Millisecond
)

// probeWait is how long the holder of a name that someone else asks for has
// to answer a ping before it is taken for dead and the name is handed over.
const probeWait = 5 * time.Second

// Hub routes messages between registered users. Create it with New, run its
// background work with Run, and hand it sockets with ServeConn.
type Hub struct {
	cfg       Config
	log       *slog.Logger
	probeWait time.Duration
	kick      chan struct{} // wakes Run: a list is due

	mu        sync.Mutex           // guards the fields below and every client's and leg's "guarded by Hub.mu" fields
	clients   map[*client]bool     // every live client, registered or not
	users     map[string]*client   // registered clients by name
	looks     map[string]string    // lookalike key of every registered name -> the name
	order     []*client            // registered clients, for lists; client.idx is the position
	joined    []*client            // registered since the last list flush
	movedList []*client            // whose presence may have changed since the last flush
	left      []string             // names that left since the last flush and had been listed
	closed    bool                 // Run has ended: no new clients
	parked    map[string][]*parked // calls waiting for their callee to connect, by callee
	lastCall  uint64               // the last parked call's id
}

// New returns a hub; it serves sockets right away and sends user lists once
// Run runs.
func New(cfg Config, log *slog.Logger) *Hub {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.ListInterval <= 0 {
		cfg.ListInterval = DefaultListInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		cfg:       cfg,
		log:       log.With("component", "hub"),
		probeWait: min(probeWait, cfg.PingInterval),
		kick:      make(chan struct{}, 1),
		clients:   make(map[*client]bool),
		users:     make(map[string]*client),
		looks:     make(map[string]string),
		parked:    make(map[string][]*parked),
	}
}

// listCostPerUser stretches the list interval with thousands of users, so
// that list writes stay under about 20,000 a second: each is a syscall, and
// during a burst of registrations they would otherwise crowd out the
// registrations themselves.
const listCostPerUser = 50 * time.Microsecond

// Run sends the coalesced user lists: at most one list message per client
// per ListInterval (per 50 µs times the number of users when that is
// longer), none while nothing changes. When ctx ends it closes every client
// (sockets with 1001 "server shutting down") and returns nil.
func (h *Hub) Run(ctx context.Context) error {
	var (
		last     time.Time
		interval = h.cfg.ListInterval
	)
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case <-h.kick:
		}
		if wait := interval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				h.shutdown()
				return nil
			case <-timer.C:
			}
		}
		last = time.Now()
		n := h.flushLists()
		interval = max(h.cfg.ListInterval, time.Duration(n)*listCostPerUser)
	}
}

// Users is the number of registered users.
func (h *Hub) Users() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users)
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	all := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	// In parallel: a close frame to a stalled socket waits up to a second.
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() { c.out.close(closeGoingAway, "server shutting down") })
	}
	wg.Wait()
}

// client is one user, registered or not: a socket or a Local.
type client struct {
	out   outbox
	kind  string
	local *Local // nil for sockets

	// Guarded by Hub.mu.
	name     string // "" until registered
	regdate  int64
	entry    []byte  // this user's encoded list entry
	short    []byte  // the same for delta clients: name, kind unless browser, presence
	state    string  // presence in short: "", wire.PresenceRinging or wire.PresenceInCall
	with     string  // whom a door talks to, in short
	moved    bool    // is in Hub.moved
	delta    bool    // wants Users Delta instead of full lists
	needFull bool    // gets a full list at the next flush
	listed   bool    // has appeared in a flushed list
	gone     bool    // has left; ignore it
	idx      int     // position in Hub.order
	legs     []*leg  // call legs this client is part of, either side
	park     *parked // this client's call to a resident who is away
	// Name takeover: waiting is the name this client asked for while its
	// holder is probed; waiters are the clients waiting for this one's name.
	waiting string
	waiters []*client
	probing bool
}

// outbox is where the hub puts what it sends to a client. push never blocks
// and reports false when the client cannot keep up. b is m already encoded
// (shared, read-only) or nil; list marks a full user list that a newer one
// may replace while it is still queued.
type outbox interface {
	push(m *wire.Message, b []byte, list bool) bool
	// close ends the client with a WebSocket close code and reason.
	close(code int, reason string)
	// probe asks the client to prove it is alive within d.
	probe(d time.Duration)
}

// WebSocket close codes the hub uses.
const (
	closeGoingAway = 1001
	closePolicy    = 1008
	closeTooBig    = 1009
)

// addClient makes a client for out, or returns nil once the hub is closed.
func (h *Hub) addClient(out outbox, kind string, l *Local) *client {
	c := &client{out: out, kind: kind, local: l, idx: -1}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.clients[c] = true
	return c
}

// send stamps m and hands it to c. Called with h.mu held.
func (h *Hub) send(c *client, m *wire.Message) {
	if c.gone {
		return
	}
	m.ID = "1"
	m.Date = time.Now().UnixMilli()
	if !c.out.push(m, nil, false) {
		h.drop(c, "too slow: outbound queue full")
	}
}

// drop closes a client that broke the rules of the road; its reader then
// leaves. Called with h.mu held.
func (h *Hub) drop(c *client, reason string) {
	h.log.Warn("dropping client", "name", c.name, "reason", reason)
	go c.out.close(closePolicy, reason)
}

// refuse answers a message the hub will not act on with an Error reply.
// Called with h.mu held.
func (h *Hub) refuse(c *client, typ, reason string) {
	m := wire.Message{Type: wire.TypeError, Status: wire.StatusFail, Reason: reason}
	if typ != "" {
		m.Text = wire.Quote(typ)
	}
	h.send(c, &m)
}

// leave removes c: its name, its list entry and its calls, whose other
// parties get Hangup "Connection lost". Safe to call more than once.
func (h *Hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.gone {
		return
	}
	h.cancelPark(c, "")
	for len(c.legs) > 0 {
		l := c.legs[0]
		h.endLeg(l)
		other := l.other(c)
		h.send(other, &wire.Message{Type: wire.TypeHangup, Text: textRemote, From: c.name, To: other.name, Reason: wire.ReasonConnectionLost})
	}
	c.gone = true
	delete(h.clients, c)
	if c.name == "" {
		return
	}
	delete(h.users, c.name)
	delete(h.looks, lookalike(c.name))
	last := h.order[len(h.order)-1]
	h.order[c.idx] = last
	last.idx = c.idx
	h.order[len(h.order)-1] = nil
	h.order = h.order[:len(h.order)-1]
	if c.listed {
		h.left = append(h.left, c.name)
	}
	h.listChanged()
	h.log.Debug("left", "name", c.name, "users", len(h.users))
	// Hand the name to the first client that waited for it.
	for _, w := range c.waiters {
		if w.gone || w.waiting != c.name {
			continue
		}
		if h.users[c.name] == nil {
			h.take(w, c.name)
		} else {
			w.waiting = ""
			h.send(w, &wire.Message{Type: wire.TypeRegister, Text: wire.Quote(c.name), Status: wire.StatusFail, Reason: "name already in use"})
		}
	}
	c.waiters = nil
}

// listChanged asks Run for a list flush. Called with h.mu held.
func (h *Hub) listChanged() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}
