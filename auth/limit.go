package auth

import (
	"net/netip"
	"sync"
	"time"
)

const (
	// loginAttempts per loginWindow per client address: the next one is
	// refused with 429 until the oldest leaves the window.
	loginAttempts = 5
	loginWindow   = time.Minute
	// maxTrackedClients bounds the login limiter's memory.
	maxTrackedClients = 10000
)

// ClientKey names the client behind addr (host:port) for rate limits: its
// IP, or for IPv6 its /64, since one machine commonly holds a whole /64.
func ClientKey(addr string) (key string, loopback bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr, false
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() && !ip.IsLoopback() {
		p, _ := ip.Prefix(64)
		return p.String(), false
	}
	return ip.String(), ip.IsLoopback()
}

// attemptLimiter allows at most max attempts per client in any window
// (a sliding window: the sixth attempt within a minute is refused, whatever
// their spacing).
type attemptLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex             // guards recent
	recent map[string][]time.Time // per client, oldest first, at most max
}

func newAttemptLimiter(max int, window time.Duration, now func() time.Time) *attemptLimiter {
	return &attemptLimiter{max: max, window: window, now: now, recent: map[string][]time.Time{}}
}

// allow records an attempt by key, or refuses it and says how long until the
// next one is allowed.
func (l *attemptLimiter) allow(key string) (ok bool, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.fresh(l.recent[key], now)
	if len(ts) >= l.max {
		l.recent[key] = ts
		return false, ts[0].Add(l.window).Sub(now)
	}
	if len(ts) == 0 && len(l.recent) >= maxTrackedClients {
		for k, v := range l.recent {
			if len(l.fresh(v, now)) == 0 {
				delete(l.recent, k)
			}
		}
		if len(l.recent) >= maxTrackedClients {
			return false, l.window // a flood of addresses: everyone waits
		}
	}
	l.recent[key] = append(ts, now)
	return true, 0
}

// fresh drops the attempts that left the window.
func (l *attemptLimiter) fresh(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	return ts[i:]
}
