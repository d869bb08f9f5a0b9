package setpassword

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's controller and its terminal end.
func openPTY(t *testing.T) (ctrl, tty *os.File) {
	t.Helper()
	ctrl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ctrl.Close() })
	fd := int(ctrl.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctrl, tty
}

// TestSetPasswordTerminal types the password twice on a real terminal: it
// is asked for twice and never echoed.
func TestSetPasswordTerminal(t *testing.T) {
	for _, tt := range []struct {
		name, second, want string
	}{
		{"same twice", "door secret 42", ""},
		{"differ", "door secret 43", "differ"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctrl, tty := openPTY(t)
			dir := t.TempDir()
			// Everything the terminal shows (echo included) comes out of ctrl.
			var shown atomic.Value // string: the screen so far
			screen := func() string { s, _ := shown.Load().(string); return s }
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				var all []byte
				buf := make([]byte, 1024)
				for {
					n, err := ctrl.Read(buf)
					all = append(all, buf[:n]...)
					shown.Store(string(all))
					if err != nil {
						return
					}
				}
			}()
			// Type like a person: each line once its prompt waits with
			// echo off (typing earlier would echo, on any program).
			fd := int(tty.Fd())
			typed := make(chan struct{})
			go func() {
				defer close(typed)
				for i, line := range []string{"door secret 42", tt.second} {
					prompt := []string{"New password:", "Repeat it:"}[i]
					if !waitFor(10*time.Second, func() bool { return strings.Contains(screen(), prompt) && !echoOn(fd) }) {
						return
					}
					ctrl.Write([]byte(line + "\n"))
				}
			}()
			err := Run(dir, tty, tty)
			<-typed
			tty.Close()
			select {
			case <-copied:
			case <-time.After(10 * time.Second):
				t.Fatal("terminal output never ended")
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("setPassword on a terminal = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("setPassword on a terminal = %v, want an error containing %q", err, tt.want)
			}
			s := screen()
			if !strings.Contains(s, "New password:") || !strings.Contains(s, "Repeat it:") {
				t.Errorf("terminal showed %q, want both prompts", s)
			}
			if strings.Contains(s, "door secret") {
				t.Errorf("terminal echoed the password: %q", s)
			}
			_, statErr := os.Stat(filepath.Join(dir, "password"))
			if (statErr == nil) != (tt.want == "") {
				t.Errorf("password file written = %v, want %v", statErr == nil, tt.want == "")
			}
		})
	}
}

func echoOn(fd int) bool {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err != nil || tio.Lflag&unix.ECHO != 0
}

// waitFor polls cond until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
