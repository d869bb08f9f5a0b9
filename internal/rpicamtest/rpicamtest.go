// Package rpicamtest builds the stand-in rpicam-vid (./rpicam-vid) for tests
// of the Raspberry Pi camera module path on machines without one.
package rpicamtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once  sync.Once
	dir   string
	built error
	out   []byte
)

// Dir builds the stand-in once per test binary and returns the directory
// holding it, to put first on PATH (t.Setenv("PATH", rpicamtest.Dir(t)+...)).
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, built = os.MkdirTemp("", "rpicamtest")
		if built != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "rpicam-vid"), "./rpicam-vid")
		cmd.Dir = filepath.Dir(file)
		out, built = cmd.CombinedOutput()
	})
	if built != nil {
		t.Fatalf("build the stand-in rpicam-vid: %v\n%s", built, out)
	}
	return dir
}

// OnPath puts the stand-in first on PATH for the rest of the test.
func OnPath(t testing.TB) {
	t.Helper()
	t.Setenv("PATH", Dir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Remove deletes the built stand-in; call it from TestMain after m.Run.
func Remove() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
