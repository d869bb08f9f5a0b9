package media

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// freePort finds a port free for both UDP and TCP on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// candidateAddr returns a candidate's transport, address, port and TCP type.
func candidateAddr(t *testing.T, raw json.RawMessage) (proto, addr string, port int, tcpType string) {
	t.Helper()
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.TrimPrefix(c.Candidate, "candidate:"))
	if len(f) < 8 {
		t.Fatalf("candidate %q: too short", c.Candidate)
	}
	port, _ = strconv.Atoi(f[5])
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "tcptype" {
			tcpType = f[i+1]
		}
	}
	return strings.ToLower(f[2]), f[4], port, tcpType
}

// TestSinglePort: with UDPPort set, every candidate the door announces
// (UDP, and passive ICE-TCP) is on that port, advertised addresses are
// among them, and calls connect through it, two at once.
func TestSinglePort(t *testing.T) {
	port := freePort(t)
	m := newTestMedia(t, Config{Width: 160, Height: 120, UDPPort: port, Advertise: []string{"127.0.0.2"}})
	var all []json.RawMessage
	for range 2 {
		r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}})
		c, ev := doorAnswers(t, m, r)
		within(t, 10*time.Second, "video", func() bool { return r.get(func(r *remote) bool { return r.frames > 0 }) })
		// Gathering is over once the call is connected on loopback; collect
		// what was trickled, and what arrives late.
		all = append(all, ev.takeCandidates()...)
		c.mu.Lock()
		ld := c.pc.LocalDescription()
		c.mu.Unlock()
		for _, line := range strings.Split(ld.SDP, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="); ok && strings.HasPrefix(v, "candidate:") {
				b, _ := json.Marshal(webrtc.ICECandidateInit{Candidate: v})
				all = append(all, b)
			}
		}
	}
	if len(all) == 0 {
		t.Fatal("no candidates")
	}
	var sawTCP, sawAdvertised bool
	for _, raw := range all {
		proto, addr, p, tcpType := candidateAddr(t, raw)
		if p != port {
			t.Errorf("candidate %s on port %d, want %d", raw, p, port)
		}
		if proto == "tcp" {
			sawTCP = true
			if tcpType != "passive" {
				t.Errorf("candidate %s: TCP type %q, want passive", raw, tcpType)
			}
		}
		if addr == "127.0.0.2" {
			sawAdvertised = true
		}
	}
	if !sawTCP {
		t.Error("no ICE-TCP candidate on the media port")
	}
	if !sawAdvertised {
		t.Error("the advertised address 127.0.0.2 is not among the candidates")
	}
}
