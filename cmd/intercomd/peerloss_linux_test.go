package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/internal/netnstest"
)

// Ports of the daemon inside the peer-loss test's own network namespace,
// where nothing else listens.
const (
	lossWebPort   = 18080
	lossMediaPort = 40000
)

// TestChromiumPeerVanishes: a resident in a call with the door whose path vanishes
// without a FIN (the phone leaves the Wi-Fi). Every packet of its WebSocket
// and of the media port is dropped (nftables) once video decodes; the door
// must notice through ICE (disconnected, then the grace) and be idle again,
// not wait for ICE to fail or the hub to time the socket out. It runs in a
// network namespace of its own (a child of this test binary).
func TestChromiumPeerVanishes(t *testing.T) {
	if os.Getenv("INTERCOMD_NETNS") == "" {
		for _, tool := range []string{"nft", "ip"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s not found: install nftables and iproute2 (build/deps.sh test): %v", tool, err)
			}
		}
		netnstest.Rerun(t, "^TestChromiumPeerVanishes$", "INTERCOMD_NETNS=1")
		return
	}

	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v\n%s", err, out)
	}
	for i, doorCalls := range []bool{false, true} {
		name := "resident calls"
		if doorCalls {
			name = "door calls"
		}
		t.Run(name, func(t *testing.T) { vanish(t, lossWebPort+i, lossMediaPort+i, doorCalls) })
	}
}

func vanish(t *testing.T, webPort, mediaPort int, doorCalls bool) {
	d := startDaemon(t, "", "-listen", fmt.Sprintf("127.0.0.1:%d", webPort), "-media-port", fmt.Sprint(mediaPort))
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")
	if doorCalls {
		d.press("call")
		alice.wait(`document.body.dataset.state === "ringing"`)
		alice.click(`#answer`)
	} else {
		alice.click(`button[data-call="door"]`)
	}
	alice.waitVideo(640, 480)
	d.doorState("incall")

	mark := len(d.logs.String())
	rules := fmt.Sprintf(`table inet peerloss {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport { %[1]d, %[2]d } drop
		tcp sport { %[1]d, %[2]d } drop
		udp dport %[2]d drop
		udp sport %[2]d drop
	}
}
`, webPort, mediaPort)
	nft := exec.Command("nft", "-f", "-")
	defer exec.Command("nft", "delete", "table", "inet", "peerloss").Run()
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	start := time.Now()

	// /healthz is behind the dropped port now: read the door's log.
	deadline := start.Add(60 * time.Second)
	for !strings.Contains(d.logs.String()[mark:], "to=idle") {
		if time.Now().After(deadline) {
			t.Fatalf("the door never went idle after the resident vanished; log since:\n%s", d.logs.String()[mark:])
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	since := d.logs.String()[mark:]
	t.Logf("idle %.1f s after the resident vanished; log since:\n%s", took.Seconds(), since)
	if !strings.Contains(since, "connection stayed disconnected") {
		t.Errorf("the door did not end the call on ICE disconnected + grace; log since the drop:\n%s", since)
	}
}
