package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestRemoteFilter(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("2001:db8::20")}
	tests := []struct {
		ip       string
		loopback bool
		refused  bool
	}{
		{"192.168.1.30", false, false},
		{"2001:db8::30", false, false},
		{"198.51.100.7", false, false},
		{"127.0.0.1", false, true},
		{"127.0.0.2", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.10.1", false, true},
		{"fe80::1", false, true},
		{"224.0.0.251", false, true},
		{"239.255.255.250", false, true},
		{"ff02::1", false, true},
		{"255.255.255.255", false, true},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"192.168.1.20", false, true},        // the Pi's own address
		{"::ffff:192.168.1.20", false, true}, // the same, mapped
		{"2001:db8::20", false, true},
		{"203.0.113.5", false, true}, // advertised for the door
		// A door that listens on loopback only (tests, a laptop): its peer
		// is on the same machine.
		{"127.0.0.1", true, false},
		{"192.168.1.20", true, false},
		{"169.254.10.1", true, true},
		{"224.0.0.251", true, true},
		{"0.0.0.0", true, true},
	}
	for _, tt := range tests {
		f := newRemoteFilter(tt.loopback, []string{"203.0.113.5"})
		f.ownAddrs = func() []netip.Addr { return own }
		err := f.allowed(netip.MustParseAddr(tt.ip))
		if got := err != nil; got != tt.refused {
			t.Errorf("allowed(%s) with loopback=%v = %v, want refused=%v", tt.ip, tt.loopback, err, tt.refused)
		}
		if err != nil && !errors.Is(err, ErrRefusedCandidate) {
			t.Errorf("allowed(%s) = %v, want ErrRefusedCandidate", tt.ip, err)
		}
		if keep := f.keep(net.ParseIP(tt.ip)); keep == tt.refused {
			t.Errorf("keep(%s) with loopback=%v = %v, want %v", tt.ip, tt.loopback, keep, !tt.refused)
		}
	}
}

func candidateJSON(addr string, port int) json.RawMessage {
	b, _ := json.Marshal(webrtc.ICECandidateInit{Candidate: fmt.Sprintf("candidate:1 1 udp 2130706431 %s %d typ host", addr, port)})
	return b
}

// TestAddCandidateRefusesAddresses: a trickled candidate for an address the
// door will not check is refused with a clear error and changes nothing.
func TestAddCandidateRefusesAddresses(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none", Mic: "none", Speaker: "none"})
	c, err := m.NewCall("resident", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, addr := range []string{"169.254.1.1", "fe80::1", "224.0.0.251", "ff02::fb", "0.0.0.0", "255.255.255.255"} {
		if err := c.AddCandidate(candidateJSON(addr, 5000)); !errors.Is(err, ErrRefusedCandidate) {
			t.Errorf("AddCandidate(%s) = %v, want ErrRefusedCandidate", addr, err)
		}
	}
	if err := c.AddCandidate(candidateJSON("127.0.0.1", 5000)); err != nil {
		t.Errorf("AddCandidate(127.0.0.1) on a loopback door = %v, want nil", err)
	}
	if n := len(c.(*call).early); n != 1 {
		t.Errorf("the call holds %d early candidates, want 1 (the refused ones not)", n)
	}
	// Past the bound, every candidate is refused.
	for i := range maxRemoteCandidates + 1 {
		err = c.AddCandidate(candidateJSON("192.0.2.1", 6000+i))
	}
	if !errors.Is(err, ErrBadDescription) {
		t.Errorf("candidate %d = %v, want ErrBadDescription", maxRemoteCandidates+2, err)
	}
}

// TestNoChecksToRefusedAddresses: an offer naming the door's loopback (a
// service on the Pi) gets no STUN there from a door that is not on loopback
// only; the same offer to a loopback door does (so the listener would see
// them).
func TestNoChecksToRefusedAddresses(t *testing.T) {
	for _, loopback := range []bool{true, false} {
		t.Run(fmt.Sprintf("loopback=%v", loopback), func(t *testing.T) {
			target, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer target.Close()
			var stun atomic.Int32
			go func() {
				buf := make([]byte, 1500)
				for {
					n, _, err := target.ReadFrom(buf)
					if err != nil {
						return
					}
					if n >= 20 && buf[0] < 2 { // a STUN message
						stun.Add(1)
					}
				}
			}()
			m, err := New(Config{Camera: "none", Mic: "none", Speaker: "test", Loopback: loopback}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			r := newRemote(t, remoteOpts{})
			offer, _ := r.offer()
			var d webrtc.SessionDescription
			if err := json.Unmarshal(withoutCandidates(t, offer), &d); err != nil {
				t.Fatal(err)
			}
			port := target.LocalAddr().(*net.UDPAddr).Port
			line := fmt.Sprintf("a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host\r\n", port)
			i := strings.Index(d.SDP, "a=mid:")
			d.SDP = d.SDP[:i] + line + d.SDP[i:]
			raw, _ := json.Marshal(d)
			c, err := m.NewCall("resident", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Answer(context.Background(), raw); err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if loopback {
				within(t, connectTimeout, "STUN at the loopback listener", func() bool { return stun.Load() > 0 })
				return
			}
			// pion checks every 200 ms: two seconds is ten rounds.
			time.Sleep(2 * time.Second)
			if n := stun.Load(); n != 0 {
				t.Fatalf("the door sent %d STUN packets to its own loopback", n)
			}
		})
	}
}
