package main

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// captureStderr points this process's fd 2 at a pipe until the test ends,
// so what C libraries (OpenH264, ALSA) or the Go runtime write there around
// the log can be checked. The returned func stops the capture and returns
// what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			syscall.Dup3(saved, 2, 0)
			syscall.Close(saved)
			w.Close()
			// A child that inherited fd 2 may keep the pipe open: read
			// what arrived and go on.
			select {
			case <-done:
			case <-time.After(2 * time.Second):
			}
			r.SetReadDeadline(time.Now())
		})
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	t.Cleanup(func() {
		if s := stop(); s != "" {
			io.WriteString(os.Stderr, s)
		}
	})
	return stop
}
