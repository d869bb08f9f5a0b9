package media

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// Caps of the ICE-TCP side of the media port, the one port a router may
// forward and that needs no login: one address held 9,000 connections,
// two held 19,600 (565 MB, nearly every file descriptor). A browser opens
// a handful per call; the door takes one call at a time.
const (
	maxTCPPerAddr = 16
	maxTCPTotal   = 128
)

// capListener accepts at most perAddr connections from one address (one
// /64 for IPv6: a household's phones share one, and so does an attacker's
// every address) and total in all; it closes the others at once.
type capListener struct {
	net.Listener
	log            *slog.Logger
	perAddr, total int

	mu     sync.Mutex
	open   map[netip.Prefix]int // guarded by mu; connections per address or /64
	all    int                  // guarded by mu
	closed bool                 // guarded by mu
}

func newCapListener(ln net.Listener, log *slog.Logger, perAddr, total int) *capListener {
	return &capListener{Listener: ln, log: log, perAddr: perAddr, total: total, open: map[netip.Prefix]int{}}
}

// Accept returns the next connection within the caps.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		if l.take(key) {
			return &capConn{Conn: c, l: l, key: key}, nil
		}
		c.Close()
		l.log.Warn("media port: connection refused over the cap", "client", key, "per_address", l.perAddr, "total", l.total)
	}
}

func (l *capListener) take(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all >= l.total || l.open[key] >= l.perAddr {
		return false
	}
	l.open[key]++
	l.all++
	return true
}

func (l *capListener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all--
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// count is how many connections key holds (for tests and the log).
func (l *capListener) count(key netip.Prefix) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[key]
}

// clientKey is the address a cap counts against: the address for IPv4,
// its /64 for IPv6.
func clientKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// capConn gives its place back when closed, once.
type capConn struct {
	net.Conn
	l    *capListener
	key  netip.Prefix
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
