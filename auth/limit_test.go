package auth

import (
	"testing"
	"time"
)

func TestClientOf(t *testing.T) {
	for _, tt := range []struct {
		addr, ip, net string
		loopback      bool
	}{
		{"192.0.2.1:5000", "192.0.2.1", "192.0.2.1/32", false},
		{"127.0.0.1:5000", "127.0.0.1", "127.0.0.1/32", true},
		{"127.9.9.9:1", "127.9.9.9", "127.9.9.9/32", true},
		{"[::1]:5000", "::1", "::/64", true},
		{"[::ffff:192.0.2.1]:5000", "192.0.2.1", "192.0.2.1/32", false},
		{"[::ffff:127.0.0.1]:5000", "127.0.0.1", "127.0.0.1/32", true},
		{"[2001:db8:1:2:3:4:5:6]:5000", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", false},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2:ffff::1", "2001:db8:1:2::/64", false},
		{"[fe80::1%eth0]:1", "fe80::1", "fe80::/64", false},
		{"garbage", "invalid IP", "invalid Prefix", false},
	} {
		c := ClientOf(tt.addr)
		if c.Addr.String() != tt.ip || c.Net.String() != tt.net || c.Loopback != tt.loopback {
			t.Errorf("ClientOf(%q) = %v %v %v; want %s %s %v", tt.addr, c.Addr, c.Net, c.Loopback, tt.ip, tt.net, tt.loopback)
		}
	}
}

func TestAttemptLimiter(t *testing.T) {
	clock := time.Now()
	l := newAttemptLimiter(5, time.Minute, func() time.Time { return clock })
	for i := range 5 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("attempt %d refused, want the first 5 allowed", i+1)
		}
		clock = clock.Add(10 * time.Second)
	}
	// 50 s after the first: the sixth within a minute.
	ok, wait := l.allow("a")
	if ok || wait != 10*time.Second {
		t.Errorf("6th attempt within a minute: allowed=%v wait=%v, want refused, 10s", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another address was refused")
	}
	clock = clock.Add(10 * time.Second) // the first attempt leaves the window
	if ok, _ := l.allow("a"); !ok {
		t.Error("attempt a minute after the first refused")
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("a second attempt in the same second allowed: the window is sliding")
	}
}

// TestAttemptLimiterBoundsMemory: a flood of addresses (10,000 IPv6 /64s
// each trying once) fills the table; the next client is still allowed (no
// global cap answers a resident 429) and the table stays bounded.
func TestAttemptLimiterBoundsMemory(t *testing.T) {
	clock := time.Now()
	l := newAttemptLimiter(5, time.Minute, func() time.Time { return clock })
	for i := range maxTrackedClients {
		l.allow(string(rune(i)))
		clock = clock.Add(time.Microsecond)
	}
	if ok, _ := l.allow("resident"); !ok {
		t.Error("a new client was refused because the table was full")
	}
	if len(l.recent) > maxTrackedClients {
		t.Errorf("%d clients tracked, want at most %d", len(l.recent), maxTrackedClients)
	}
	if _, ok := l.recent[string(rune(0))]; ok {
		t.Error("the client whose last attempt is oldest was kept, want it forgotten")
	}
	clock = clock.Add(time.Minute)
	l.allow("late")
	if len(l.recent) != 1 {
		t.Errorf("%d clients tracked after the window, want 1", len(l.recent))
	}
}
