package media

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// refused reports whether the server closed c at once (over the cap),
// rather than holding it open.
func refused(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func dialFrom(t *testing.T, from, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", to, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCapListener(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newCapListener(ln, testLogger(t), 3, 5)
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := ln.Addr().String()
	one, two := netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("127.0.0.2/32")

	var first []net.Conn
	for range 5 {
		first = append(first, dialFrom(t, "127.0.0.1", addr))
	}
	within(t, 10*time.Second, "three connections held", func() bool { return l.count(one) == 3 })
	for i, c := range first[3:] {
		if !refused(c) {
			t.Errorf("connection %d from one address was held, want closed over the cap of 3", i+4)
		}
	}
	var second []net.Conn
	for range 3 {
		second = append(second, dialFrom(t, "127.0.0.2", addr))
	}
	within(t, 10*time.Second, "two more held, five in all", func() bool { return l.count(two) == 2 })
	if !refused(second[2]) {
		t.Error("a sixth connection in all was held, want closed over the total of 5")
	}

	// A closed connection gives its place back.
	(<-accepted).Close()
	within(t, 10*time.Second, "a place freed", func() bool { return l.count(one) == 2 })
	dialFrom(t, "127.0.0.1", addr)
	within(t, 10*time.Second, "the new connection held", func() bool { return l.count(one) == 3 })
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:5000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7/32"},
		{"[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:6000", "2001:db8:1:2::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientKey(a).String(); got != tc.want {
			t.Errorf("clientKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// TestMediaPortTCPCapped: the media port's ICE-TCP side holds no more than
// maxTCPPerAddr connections from one address; the rest are closed at once.
func TestMediaPortTCPCapped(t *testing.T) {
	port := freePort(t)
	m := newTestMedia(t, Config{Camera: "none", Mic: "none", Speaker: "none", UDPPort: port})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const extra = 4
	var conns []net.Conn
	for range maxTCPPerAddr + extra {
		conns = append(conns, dialFrom(t, "127.0.0.1", addr))
	}
	l := m.net.tcpLn.(*capListener)
	within(t, 10*time.Second, "the cap's worth held", func() bool {
		return l.count(netip.MustParsePrefix("127.0.0.1/32")) == maxTCPPerAddr
	})
	n := 0
	for _, c := range conns[maxTCPPerAddr:] {
		if refused(c) {
			n++
		}
	}
	if n != extra {
		t.Errorf("%d of the %d connections over the cap were closed, want all", n, extra)
	}
}
