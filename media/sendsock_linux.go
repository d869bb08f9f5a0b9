package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/pion/transport/v5"
	"golang.org/x/sys/unix"
)

// The door sends about 1,000 RTP packets a second at 1280x720 and every one
// of them, once the kernel frees it, marks its UDP socket writable again.
// Go's netpoller watches every socket for writability (EPOLLOUT, edge
// triggered), so each packet woke the thread parked in epoll_wait, which
// found no goroutine waiting to write and slept again: perf counted 237
// such wake-ups a second, about a third of the daemon's context switches.
// So the media sockets send through a twin: a second socket bound to the
// same address and port (SO_REUSEPORT, same user only) that Go's poller
// never sees. Every packet that arrives still goes to the first socket: a
// classic BPF program on the port's reuseport group picks its socket 0.

// sendNetOf gives pion's network n the sockets described above.
func sendNetOf(n transport.Net) transport.Net { return sendNet{n} }

// sendNet is pion's network with the media sockets swapped for sendConns.
type sendNet struct {
	transport.Net
}

// ListenUDP opens a sendConn for ICE's ephemeral ports and the fixed media
// port; other ports (mDNS's 5353, shared with other programs) stay plain.
func (n sendNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	return listenSendConn(network, laddr, n.Net.ListenUDP)
}

// reuseportFirst is the classic BPF program "return 0": the reuseport group
// delivers every datagram to its first socket.
var reuseportFirst = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// sendConn is a UDP socket that Go's poller reads (packets, deadlines,
// Close) and a twin outside the poller that writes.
type sendConn struct {
	*net.UDPConn
	fd     int // the twin: non-blocking, never polled
	family int // the twin's: an IPv6 socket sends to IPv4 as ::ffff:a.b.c.d

	mu     sync.Mutex // guards closed and the twin's use against Close
	closed bool
}

func listenSendConn(network string, laddr *net.UDPAddr, plain func(string, *net.UDPAddr) (transport.UDPConn, error)) (transport.UDPConn, error) {
	c, err := plain(network, laddr)
	if err != nil {
		return nil, err
	}
	udp, ok := c.(*net.UDPConn)
	if !ok || laddr == nil || laddr.Port == mdnsPort {
		return c, nil
	}
	s, err := newSendConn(udp)
	if err != nil {
		// A kernel without reuseport BPF (before 4.5) still sends, as before.
		return c, nil //nolint:nilerr
	}
	return s, nil
}

const mdnsPort = 5353

// newSendConn gives udp its twin. On failure udp is as it was: it allows
// no reuse.
func newSendConn(udp *net.UDPConn) (_ *sendConn, err error) {
	raw, err := udp.SyscallConn()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 0) })
		}
	}()
	var sa unix.Sockaddr
	var family, v6only int
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		// SO_REUSEPORT after bind: the socket joins no group yet and the
		// kernel's port search (port 0) never hands its port to another
		// socket; the twin's bind below makes the group, this socket first.
		if cerr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); cerr != nil {
			return
		}
		if sa, cerr = unix.Getsockname(int(fd)); cerr != nil {
			return
		}
		family, cerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		if cerr == nil && family == unix.AF_INET6 {
			v6only, cerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		}
	}); err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, err
	}
	twin := func() error {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return err
		}
		if family == unix.AF_INET6 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
				return err
			}
		}
		if err := unix.Bind(fd, sa); err != nil {
			return err
		}
		// Nobody reads the twin: if a datagram reached it anyway, a small
		// buffer bounds what waits there.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1)
		return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(reuseportFirst)), Filter: &reuseportFirst[0]})
	}
	if err := twin(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("send socket for %s: %w", udp.LocalAddr(), err)
	}
	return &sendConn{UDPConn: udp, fd: fd, family: family}, nil
}

// WriteTo sends through the twin.
func (c *sendConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("write to %v: not a UDP address", addr)
	}
	return c.WriteToAddrPort(b, a.AddrPort())
}

// WriteToUDP sends through the twin.
func (c *sendConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteToAddrPort(b, addr.AddrPort())
}

// ReadFromAddrPort is pion's allocation-free read (ice.AddrPortReaderWriter).
func (c *sendConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

// WriteToAddrPort sends b from the twin. When the twin's send buffer is full
// it sends from the polled socket, which waits for room as Go's sockets do.
func (c *sendConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	sa := c.sockaddr(addr)
	if sa == nil {
		// A link-local IPv6 peer names its interface by zone: Go's
		// socket knows how to send there.
		return c.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	var err error
	for {
		err = unix.Sendto(c.fd, b, 0, sa)
		if err != unix.EINTR {
			break
		}
	}
	c.mu.Unlock()
	if err == nil {
		return len(b), nil
	}
	if errors.Is(err, unix.EAGAIN) {
		return c.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: os.NewSyscallError("sendto", err)}
}

// Close closes both sockets.
func (c *sendConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		unix.Close(c.fd)
	}
	c.mu.Unlock()
	return c.UDPConn.Close()
}

// sockaddr is a's address for the twin's family, or nil where Go's socket
// must send (an IPv6 zone, an address of the other family, none at all).
func (c *sendConn) sockaddr(a netip.AddrPort) unix.Sockaddr {
	ip := a.Addr()
	switch {
	case ip.Zone() != "" || !ip.IsValid():
		return nil
	case c.family == unix.AF_INET && ip.Unmap().Is4():
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: ip.Unmap().As4()}
	case c.family == unix.AF_INET6:
		return &unix.SockaddrInet6{Port: int(a.Port()), Addr: ip.As16()}
	}
	return nil
}
