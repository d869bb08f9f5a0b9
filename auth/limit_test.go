package auth

import (
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for _, tt := range []struct {
		addr, key string
		loopback  bool
	}{
		{"192.0.2.1:5000", "192.0.2.1", false},
		{"127.0.0.1:5000", "127.0.0.1", true},
		{"127.9.9.9:1", "127.9.9.9", true},
		{"[::1]:5000", "::1", true},
		{"[::ffff:192.0.2.1]:5000", "192.0.2.1", false},
		{"[::ffff:127.0.0.1]:5000", "127.0.0.1", true},
		{"[2001:db8:1:2:3:4:5:6]:5000", "2001:db8:1:2::/64", false},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64", false},
		{"[fe80::1%eth0]:1", "fe80::/64", false},
		{"garbage", "garbage", false},
	} {
		key, loop := ClientKey(tt.addr)
		if key != tt.key || loop != tt.loopback {
			t.Errorf("ClientKey(%q) = %q, %v; want %q, %v", tt.addr, key, loop, tt.key, tt.loopback)
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

func TestAttemptLimiterBoundsMemory(t *testing.T) {
	clock := time.Now()
	l := newAttemptLimiter(5, time.Minute, func() time.Time { return clock })
	for i := range maxTrackedClients {
		l.allow(string(rune(i)))
	}
	if ok, _ := l.allow("new"); ok {
		t.Error("a new client was tracked beyond the bound")
	}
	clock = clock.Add(time.Minute)
	if ok, _ := l.allow("new"); !ok {
		t.Error("after the window, old clients were not swept")
	}
	if len(l.recent) != 1 {
		t.Errorf("%d clients tracked after the sweep, want 1", len(l.recent))
	}
}
