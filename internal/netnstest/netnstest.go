// Package netnstest runs a test again in a network namespace of its own, so
// it may add addresses, routes and firewall rules without touching the
// machine's network (tests may use only loopback or such a namespace).
package netnstest

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Rerun runs this test binary again with -test.run=run and env added, in a
// new network namespace (and a user namespace mapping the caller to root
// when it is not root), logs its output and fails t if it fails. The rerun
// tells itself apart by env.
func Rerun(t testing.TB, run string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if os.Getuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	t.Logf("in its own network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("%s in a network namespace: %v", run, err)
	}
}
