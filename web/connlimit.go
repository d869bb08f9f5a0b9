package web

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/intercomd/intercomd/auth"
)

// Connection limits. Each open connection costs memory (a TLS connection
// that sits idle about 60 KB: buffers, the handshake state, a goroutine), and
// a Pi Zero 2 W has 512 MB, so the total is capped; so is each address and
// each IPv6 /64, with separate budgets, so one machine cannot take all of
// them and a household sharing a /64 is not judged as one machine. Loopback
// is not capped (the hub benchmark runs there; the Pi itself can exhaust the
// daemon in other ways anyway).
const (
	// DefaultMaxConnsPerAddr caps open connections per client address.
	// A phone needs a handful.
	DefaultMaxConnsPerAddr = 64
	// DefaultMaxConnsPerNet caps open connections per IPv6 /64 (IPv4:
	// per address, the same as DefaultMaxConnsPerAddr).
	DefaultMaxConnsPerNet = 128
	// DefaultMaxConns caps open connections from all clients but
	// loopback: about 30 MB of idle TLS connections.
	DefaultMaxConns = 512
)

// connLimits are the caps; 0 means none.
type connLimits struct {
	perAddr, perNet, total int
}

// connLimiter admits connections under the caps. When a cap of a network or
// of the whole server is reached, it makes room rather than refuse the
// newcomer, as long as someone holds more than the newcomer does: it closes
// the oldest connection of the biggest holder, never one that carried a
// resident's session (trusted). So a flood from many addresses cannot keep a
// resident out, and a resident's open socket is never the one that goes.
type connLimiter struct {
	net.Listener
	lim connLimits
	log *slog.Logger

	mu         sync.Mutex // guards the fields below
	seq        uint64
	conns      map[*limitedConn]struct{}
	perAddr    map[netip.Addr]int
	perNet     map[netip.Prefix]int
	lastWarned time.Time
}

func limitConns(ln net.Listener, lim connLimits, log *slog.Logger) net.Listener {
	if lim == (connLimits{}) {
		return ln
	}
	return &connLimiter{
		Listener: ln,
		lim:      lim,
		log:      log,
		conns:    map[*limitedConn]struct{}{},
		perAddr:  map[netip.Addr]int{},
		perNet:   map[netip.Prefix]int{},
	}
}

// limitedConn is an admitted connection. It gives its slot back once, on
// the first Close.
type limitedConn struct {
	net.Conn
	l       *connLimiter
	client  auth.Client
	seq     uint64      // order of admission: lower is older
	trusted atomic.Bool // a request on it had a valid session
	once    sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

// Accept returns the next connection under the caps.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := auth.ClientOf(c.RemoteAddr().String())
		if client.Loopback {
			return c, nil
		}
		lc, victim, why := l.admit(c, client)
		if victim != nil {
			victim.Conn.Close() // its slot is already free
		}
		if lc != nil {
			return lc, nil
		}
		c.Close()
		l.warn(why, client)
	}
}

// admit takes a slot for c, making room if it can. It returns the admitted
// connection (nil when refused, with the reason), and a connection it
// evicted for room, to close outside the lock.
func (l *connLimiter) admit(c net.Conn, client auth.Client) (lc *limitedConn, victim *limitedConn, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.perAddr > 0 && l.perAddr[client.Addr] >= l.lim.perAddr {
		return nil, nil, "too many open from one address"
	}
	netFull := l.lim.perNet > 0 && client.IsIPv6Net() && l.perNet[client.Net] >= l.lim.perNet
	if netFull {
		victim = l.victimLocked(func(v *limitedConn) (bool, int) {
			return v.client.Net == client.Net, l.perAddr[v.client.Addr]
		}, l.perAddr[client.Addr])
		if victim == nil {
			return nil, nil, "too many open from one IPv6 /64"
		}
	} else if l.lim.total > 0 && len(l.conns) >= l.lim.total {
		victim = l.victimLocked(func(v *limitedConn) (bool, int) {
			return true, l.perNet[v.client.Net]
		}, l.perNet[client.Net])
		if victim == nil {
			return nil, nil, "too many open in all"
		}
	}
	if victim != nil {
		l.forgetLocked(victim)
		victim.once.Do(func() {}) // its Close gives nothing back twice
	}
	l.seq++
	lc = &limitedConn{Conn: c, l: l, client: client, seq: l.seq}
	l.conns[lc] = struct{}{}
	l.perAddr[client.Addr]++
	l.perNet[client.Net]++
	return lc, victim, ""
}

// victimLocked picks the connection to close for room: among those in scope
// that never carried a session, the oldest of the biggest holder (weight).
// None when the biggest holds no more than the newcomer's own (mine).
func (l *connLimiter) victimLocked(scope func(*limitedConn) (in bool, weight int), mine int) *limitedConn {
	var best *limitedConn
	bestW := 0
	for c := range l.conns {
		in, w := scope(c)
		if !in || c.trusted.Load() {
			continue
		}
		if w > bestW || w == bestW && best != nil && c.seq < best.seq {
			best, bestW = c, w
		}
	}
	if best == nil || bestW <= mine {
		return nil
	}
	return best
}

func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(c)
}

func (l *connLimiter) forgetLocked(c *limitedConn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.perAddr[c.client.Addr]--; l.perAddr[c.client.Addr] <= 0 {
		delete(l.perAddr, c.client.Addr)
	}
	if l.perNet[c.client.Net]--; l.perNet[c.client.Net] <= 0 {
		delete(l.perNet, c.client.Net)
	}
}

// open is the number of capped connections open now.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// warn logs a refusal, at most once a minute.
func (l *connLimiter) warn(why string, client auth.Client) {
	l.mu.Lock()
	warn := time.Since(l.lastWarned) > time.Minute
	if warn {
		l.lastWarned = time.Now()
	}
	l.mu.Unlock()
	if warn {
		l.log.Warn("refusing connections: "+why, "client", client.Addr, "max_per_addr", l.lim.perAddr, "max_per_net", l.lim.perNet, "max", l.lim.total)
	}
}

// connKey holds a request's connection in its context (http.Server's
// ConnContext), so the handler chain can mark it trusted.
type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// markResidents marks the connection of every request that passed the login
// with a valid session: the limiter never closes it to make room.
func markResidents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.Resident(r.Context()) {
			c, _ := r.Context().Value(connKey{}).(net.Conn)
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn()
			}
			if lc, ok := c.(*limitedConn); ok {
				lc.trusted.Store(true)
			}
		}
		next.ServeHTTP(w, r)
	})
}
