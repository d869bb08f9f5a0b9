package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestListenAddressTaken runs intercomd on an address another program holds:
// it must fail at once, name the address and the way to choose another, and
// start nothing else (no devices, no door on the hub, no media port).
func TestListenAddressTaken(t *testing.T) {
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	addr := holder.Addr().String()
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = run(ctx, []string{"-listen", addr, "-no-auth", "-log-level", "debug", "-camera", "test", "-mic", "test",
		"-speaker", "test", "-gpio", "sim", "-state-dir", t.TempDir()}, io.Discard, &logs, nil)
	if err == nil {
		t.Fatalf("run on the taken %s = nil error, want one\n%s", addr, &logs)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("run on the taken %s = %v, want EADDRINUSE", addr, err)
	}
	for _, want := range []string{addr, "in use", "-listen", "make run LISTEN="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run on the taken %s = %q, want it to say %q", addr, err, want)
		}
	}
	// The one record before the failure is "starting"; anything else means
	// a part started before the listener was tried.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, "msg=starting") {
			t.Errorf("logged before failing on the taken port: %s", line)
		}
	}
	// The holder still has the port: intercomd did not take it over.
	holder.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s after the failed start: %v", addr, err)
	}
	c.Close()
	if a, err := holder.Accept(); err != nil {
		t.Errorf("the holder of %s got no connection: %v", addr, err)
	} else {
		a.Close()
	}
}
