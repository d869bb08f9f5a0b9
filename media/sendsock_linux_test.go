package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/transport/v5/stdnet"
)

func listenSendTest(t *testing.T, network, ip string) *sendConn {
	t.Helper()
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sendNetOf(std).ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("ListenUDP(%s, %s): %v", network, ip, err)
	}
	s, ok := c.(*sendConn)
	if !ok {
		c.Close()
		t.Fatalf("ListenUDP(%s, %s) = %T, want *sendConn", network, ip, c)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Every datagram sent to the port reaches the socket pion reads, whatever
// its source port (the reuseport group would otherwise hash some of them to
// the twin, which nobody reads), and what the door writes leaves from the
// port its candidate announced.
func TestSendConn(t *testing.T) {
	for _, tc := range []struct{ network, ip string }{{"udp4", "127.0.0.1"}, {"udp6", "::1"}} {
		t.Run(tc.network, func(t *testing.T) {
			if tc.network == "udp6" {
				if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
					t.Skip("this kernel has no IPv6")
				}
			}
			s := listenSendTest(t, tc.network, tc.ip)
			const peers = 64
			for i := range peers {
				p, err := net.ListenUDP(tc.network, &net.UDPAddr{IP: net.ParseIP(tc.ip)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.WriteTo([]byte{byte(i)}, s.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				p.Close()
			}
			seen := map[byte]bool{}
			buf := make([]byte, 64)
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(seen) < peers {
				n, _, err := s.ReadFrom(buf)
				if err != nil {
					t.Fatalf("after %d of %d datagrams: ReadFrom: %v", len(seen), peers, err)
				}
				if n != 1 {
					t.Fatalf("ReadFrom = %d bytes, want 1", n)
				}
				seen[buf[0]] = true
			}

			peer, err := net.ListenUDP(tc.network, &net.UDPAddr{IP: net.ParseIP(tc.ip)})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			pa := peer.LocalAddr().(*net.UDPAddr)
			writes := []func() (int, error){
				func() (int, error) { return s.WriteTo([]byte("to"), pa) },
				func() (int, error) { return s.WriteToUDP([]byte("udp"), pa) },
				func() (int, error) { return s.WriteToAddrPort([]byte("addrport"), pa.AddrPort()) },
			}
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			for i, w := range writes {
				n, err := w()
				if err != nil || n == 0 {
					t.Fatalf("write %d = %d, %v", i, n, err)
				}
				m, from, err := peer.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("write %d: peer read: %v", i, err)
				}
				if m != n || from.Port() != uint16(s.LocalAddr().(*net.UDPAddr).Port) {
					t.Fatalf("write %d: peer got %d bytes from %v, want %d from %v", i, m, from, n, s.LocalAddr())
				}
			}
		})
	}
}

// After Close, writes fail as on a closed net.UDPConn and the port is free.
func TestSendConnClose(t *testing.T) {
	s := listenSendTest(t, "udp4", "127.0.0.1")
	addr := s.LocalAddr().(*net.UDPAddr)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := s.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9"))
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteToAddrPort after Close = %v, want net.ErrClosed", err)
	}
	c, err := net.ListenUDP("udp4", addr)
	if err != nil {
		t.Fatalf("port %d after Close: %v", addr.Port, err)
	}
	c.Close()
}
