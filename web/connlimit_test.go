package web

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
)

// fakeListener hands out the conns pushed into it.
type fakeListener struct{ conns chan net.Conn }

func (l *fakeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// addrConn is a pipe end that claims a remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
	closed bool
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }
func (c *addrConn) Close() error         { c.closed = true; return c.Conn.Close() }

func pipeFrom(ip string) *addrConn {
	a, _ := net.Pipe()
	return &addrConn{Conn: a, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}}
}

// limiterEnv pushes connections through a connLimiter one at a time.
type limiterEnv struct {
	t  *testing.T
	fl *fakeListener
	ln *connLimiter
}

func newLimiterEnv(t *testing.T, lim connLimits) *limiterEnv {
	fl := &fakeListener{conns: make(chan net.Conn, 4)}
	return &limiterEnv{t: t, fl: fl, ln: limitConns(fl, lim, slog.New(slog.DiscardHandler)).(*connLimiter)}
}

// accept offers c and reports whether the limiter admitted it.
func (e *limiterEnv) accept(c *addrConn) (*limitedConn, bool) {
	e.t.Helper()
	e.fl.conns <- c
	e.fl.conns <- pipeFrom("127.0.0.2") // a sentinel, always admitted (loopback)
	got, err := e.ln.Accept()
	if err != nil {
		e.t.Fatal(err)
	}
	if got.RemoteAddr().String() == "127.0.0.2:1" {
		return nil, false
	}
	if s, _ := e.ln.Accept(); s != nil {
		s.Close()
	}
	lc, _ := got.(*limitedConn) // nil for loopback
	return lc, true
}

func TestConnLimiterPerAddr(t *testing.T) {
	e := newLimiterEnv(t, connLimits{perAddr: 2})
	a1, ok1 := e.accept(pipeFrom("192.0.2.1"))
	_, ok2 := e.accept(pipeFrom("192.0.2.1"))
	third := pipeFrom("192.0.2.1")
	_, ok3 := e.accept(third)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("admitted %v %v %v, want the first two from one address and not the third", ok1, ok2, ok3)
	}
	if !third.closed {
		t.Error("the refused connection was left open")
	}
	if _, ok := e.accept(pipeFrom("192.0.2.2")); !ok {
		t.Error("another address was refused")
	}
	for range 10 {
		if _, ok := e.accept(pipeFrom("127.0.0.1")); !ok {
			t.Fatal("a loopback connection was refused: loopback is exempt")
		}
	}
	a1.Close()
	a1.Close() // twice: the slot is given back once
	if _, ok := e.accept(pipeFrom("192.0.2.1")); !ok {
		t.Error("after a close, a new connection from the address was refused")
	}
	if _, ok := e.accept(pipeFrom("192.0.2.1")); ok {
		t.Error("a double Close gave back two slots")
	}
}

// TestConnLimiterHouseholdNet is issue 17 item 4: one device of the
// household's /64 holding its whole budget of idle connections does not
// keep another phone of that /64 out; the device that holds the most makes
// room, and a phone with a session is never the one that goes.
func TestConnLimiterHouseholdNet(t *testing.T) {
	e := newLimiterEnv(t, connLimits{perAddr: 3, perNet: 4})
	var hog []*addrConn
	for range 3 {
		c := pipeFrom("2001:db8:1:1::bad")
		hog = append(hog, c)
		if _, ok := e.accept(c); !ok {
			t.Fatal("the first 3 from one address were refused")
		}
	}
	phone, ok := e.accept(pipeFrom("2001:db8:1:1::10"))
	if !ok {
		t.Fatal("a phone on the /64 with room was refused")
	}
	phone.trusted.Store(true)
	// The /64 is full (4): the next phone gets in, the hog's oldest goes.
	if _, ok := e.accept(pipeFrom("2001:db8:1:1::11")); !ok {
		t.Fatal("a phone on the full /64 was refused while another address held 3")
	}
	if !hog[0].closed || hog[1].closed {
		t.Errorf("closed %v %v of the hog's, want its oldest only", hog[0].closed, hog[1].closed)
	}
	// The hog cannot take its room back from a smaller holder.
	if _, ok := e.accept(pipeFrom("2001:db8:1:1::bad")); ok {
		t.Error("the biggest holder made room for itself")
	}
	if phone.Conn.(*addrConn).closed {
		t.Error("the phone with a session was closed")
	}
	if n := e.ln.open(); n != 4 {
		t.Errorf("%d open, want the /64's cap, 4", n)
	}
}

// TestConnLimiterFlood is issue 17 item 1: 200 addresses opening 64
// connections each meet the overall cap; the number open never passes it,
// and a resident's connection opened before (with a session) or during the
// flood is kept.
func TestConnLimiterFlood(t *testing.T) {
	e := newLimiterEnv(t, connLimits{perAddr: 64, perNet: 128, total: 100})
	resident, ok := e.accept(pipeFrom("192.0.2.10"))
	if !ok {
		t.Fatal("resident refused on an empty server")
	}
	resident.trusted.Store(true)
	maxOpen := 0
	for i := range 200 * 64 {
		e.accept(pipeFrom(fmt.Sprintf("198.51.%d.%d", i%200/100, i%200)))
		maxOpen = max(maxOpen, e.ln.open())
	}
	if maxOpen > 100 {
		t.Errorf("%d open at most, want the cap, 100", maxOpen)
	}
	if resident.Conn.(*addrConn).closed {
		t.Error("the resident's connection was closed by the flood")
	}
	if _, ok := e.accept(pipeFrom("192.0.2.11")); !ok {
		t.Error("a new phone was refused while the flood held the server")
	}
}
