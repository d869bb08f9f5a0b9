package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pion/ice/v4"
)

// ErrRefusedCandidate is returned for a remote candidate whose address the
// door will not send connectivity checks to.
var ErrRefusedCandidate = errors.New("media: candidate address refused")

// maxRemoteCandidates bounds the remote candidates one call takes in all: a
// browser sends a handful, and every candidate is checked from every local
// one.
const maxRemoteCandidates = 64

// remoteFilter decides which remote candidate addresses the door's ICE
// agent checks. A resident's offer names any address it likes, and the door
// would send STUN there: to loopback and the Pi's own services, to
// link-local neighbours, to multicast groups. Only when the door itself is
// reachable on loopback alone (tests, a laptop) are loopback and its own
// addresses a real peer's.
type remoteFilter struct {
	loopback  bool
	advertise []netip.Addr // addresses announced for the door (its public one)
	ownAddrs  func() []netip.Addr
}

func newRemoteFilter(loopback bool, advertise []string) *remoteFilter {
	f := &remoteFilter{loopback: loopback, ownAddrs: interfaceAddrs}
	for _, a := range advertise {
		if ip, err := netip.ParseAddr(a); err == nil {
			f.advertise = append(f.advertise, ip.Unmap())
		}
	}
	return f
}

// allowed reports whether the door may check ip, and why not.
func (f *remoteFilter) allowed(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: no address", ErrRefusedCandidate)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: unspecified address %s", ErrRefusedCandidate, ip)
	case ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: multicast or broadcast address %s", ErrRefusedCandidate, ip)
	case ip.IsLinkLocalUnicast():
		return fmt.Errorf("%w: link-local address %s", ErrRefusedCandidate, ip)
	case f.loopback:
		return nil
	case ip.IsLoopback():
		return fmt.Errorf("%w: loopback address %s", ErrRefusedCandidate, ip)
	}
	for _, own := range append(f.ownAddrs(), f.advertise...) {
		if ip == own {
			return fmt.Errorf("%w: the door's own address %s", ErrRefusedCandidate, ip)
		}
	}
	return nil
}

// keep is the filter as pion's SettingEngine.SetRemoteIPFilter takes it:
// it applies to candidates in a session description too.
func (f *remoteFilter) keep(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && f.allowed(a) == nil
}

// check parses a trickled candidate line and refuses what keep would drop
// silently, so the caller gets a clear error.
func (f *remoteFilter) check(line string) error {
	c, err := ice.UnmarshalCandidate(strings.TrimPrefix(line, "a="))
	if err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadDescription, err)
	}
	if c.TCPType() == ice.TCPTypeActive {
		return nil // never checked by the door: the remote dials
	}
	ip, err := netip.ParseAddr(c.Address())
	if err != nil {
		if strings.HasSuffix(c.Address(), ".local") {
			return nil // an mDNS name; pion resolves it (or not) itself
		}
		return fmt.Errorf("%w: candidate address %q", ErrBadDescription, c.Address())
	}
	return f.allowed(ip)
}

// interfaceAddrs are the machine's own addresses, read each time: they
// change as Wi-Fi and DHCP come and go.
func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}
