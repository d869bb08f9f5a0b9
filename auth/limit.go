package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Login limits. Each budget is separate, so running out of one does not
// spend another: a guest guessing from one address of the household's IPv6
// /64 uses up that address, not the phones beside it; a phone that logged in
// before has its own budget (device.go) that no stranger can touch.
const (
	// loginPerAddr attempts per loginWindow from one address.
	loginPerAddr = 5
	// loginPerNet attempts per loginWindow from one IPv6 /64 (SLAAC gives
	// every phone of a household an address in the same /64): enough for
	// a few phones logging in at once, few enough that one machine
	// rotating through its /64 guesses slowly.
	loginPerNet = 30
	// loginPerDevice attempts per loginWindow with one trusted-device
	// cookie.
	loginPerDevice = 5
	loginWindow    = time.Minute
	// maxTrackedClients bounds each limiter's memory. When it is full the
	// client whose last attempt is oldest is forgotten: nobody is refused
	// because of how many others tried.
	maxTrackedClients = 10000
)

// Client is the network origin of a request, as the limits see it.
type Client struct {
	// Addr is the client's address (IPv4-mapped addresses unmapped).
	Addr netip.Addr
	// Net is the network a machine commonly holds whole: the /64 of an
	// IPv6 address; for IPv4, the address itself.
	Net netip.Prefix
	// Loopback: the request comes from this machine.
	Loopback bool
}

// ClientOf names the client behind a remote address (host:port). An
// address that does not parse gives the zero Client, which is not loopback.
func ClientOf(remoteAddr string) Client {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return Client{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	c := Client{Addr: ip, Loopback: ip.IsLoopback()}
	if ip.Is6() {
		c.Net, _ = ip.Prefix(64)
	} else {
		c.Net, _ = ip.Prefix(32)
	}
	return c
}

// IsIPv6Net reports whether c's Net is wider than its address (an IPv6 /64),
// so it needs a budget of its own besides the address's.
func (c Client) IsIPv6Net() bool { return c.Net.Bits() == 64 }

// attemptLimiter allows at most max attempts per key in any window
// (a sliding window: the sixth attempt within a minute is refused, whatever
// their spacing).
type attemptLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex             // guards recent
	recent map[string][]time.Time // per key, oldest first, at most max
}

func newAttemptLimiter(max int, window time.Duration, now func() time.Time) *attemptLimiter {
	return &attemptLimiter{max: max, window: window, now: now, recent: map[string][]time.Time{}}
}

// allow records an attempt by key, or refuses it and says how long until the
// next one is allowed.
func (l *attemptLimiter) allow(key string) (ok bool, wait time.Duration) {
	if wait := l.wait(key); wait > 0 {
		return false, wait
	}
	l.add(key)
	return true, 0
}

// wait is how long until key may try again: 0 when it may now.
func (l *attemptLimiter) wait(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.fresh(l.recent[key], now)
	if len(ts) < l.max {
		return 0
	}
	return max(ts[0].Add(l.window).Sub(now), time.Nanosecond)
}

// add records an attempt by key.
func (l *attemptLimiter) add(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.fresh(l.recent[key], now)
	if len(ts) == 0 && len(l.recent) >= maxTrackedClients {
		l.forgetLocked(now)
	}
	if len(ts) >= l.max {
		ts = ts[1:]
	}
	l.recent[key] = append(ts, now)
}

// forgetLocked makes room: it drops every key whose attempts left the
// window, and if none did, the key whose last attempt is oldest.
func (l *attemptLimiter) forgetLocked(now time.Time) {
	var oldest string
	var at time.Time
	found := false
	for k, v := range l.recent {
		if len(l.fresh(v, now)) == 0 {
			delete(l.recent, k)
			continue
		}
		if last := v[len(v)-1]; !found || last.Before(at) {
			oldest, at, found = k, last, true
		}
	}
	if len(l.recent) >= maxTrackedClients {
		delete(l.recent, oldest)
	}
}

// fresh drops the attempts that left the window.
func (l *attemptLimiter) fresh(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	return ts[i:]
}
