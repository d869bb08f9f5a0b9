package setpassword

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDepsLeaveOutTheServer: setting a password loads auth and the state
// files, never the HTTP server, the hub, media or the door.
func TestDepsLeaveOutTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	found := map[string]bool{}
	for _, d := range deps {
		found[d] = true
	}
	if !found["github.com/intercomd/intercomd/auth"] {
		t.Fatalf("go list -deps gave %d packages without auth: %v", len(deps), deps)
	}
	for _, d := range deps {
		for _, banned := range []string{
			"github.com/intercomd/intercomd/web",
			"github.com/intercomd/intercomd/hub",
			"github.com/intercomd/intercomd/media",
			"github.com/intercomd/intercomd/device",
			"github.com/intercomd/intercomd/gpio",
			"github.com/intercomd/intercomd/certs",
			"github.com/gorilla/websocket",
			"github.com/pion/",
		} {
			if d == banned || strings.HasPrefix(d, banned+"/") || (strings.HasSuffix(banned, "/") && strings.HasPrefix(d, banned)) {
				t.Errorf("set-password imports %s", d)
			}
		}
	}
}
