// Package netnstest runs a test again in namespaces of its own: a network
// namespace, so it may add addresses, routes and firewall rules without
// touching the machine's network (tests may use only loopback or such a
// namespace), or a mount namespace, so it may mount a small file system
// that nobody else sees.
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
	rerun(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}, "a network namespace", run, env...)
}

// RerunMounts is Rerun in a new mount namespace instead, whose mounts are
// private: what the rerun mounts (a small tmpfs) stays out of the machine's
// view and goes away with it.
func RerunMounts(t testing.TB, run string, env ...string) {
	t.Helper()
	// Unshareflags, unlike Cloneflags, also makes / private in the child.
	rerun(t, &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}, "a mount namespace", run, env...)
}

func rerun(t testing.TB, attr *syscall.SysProcAttr, where, run string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = attr
	if os.Getuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	t.Logf("in %s:\n%s", where, out)
	if err != nil {
		t.Fatalf("%s in %s: %v", run, where, err)
	}
}
