package device

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyStdlib keeps the state machine free of hardware and network
// packages: everything it drives comes through its own interfaces. Its one
// import of this module is the signalling envelope, itself stdlib-only.
func TestOnlyStdlib(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/intercomd/intercomd/device" && p != "github.com/intercomd/intercomd/wire" {
			t.Errorf("device imports %s; it may import only the standard library and wire", p)
		}
	}
	std, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(std)) {
		if p == "net/http" || p == "net" {
			t.Errorf("device imports %s; it must not reach the network", p)
		}
	}
}
