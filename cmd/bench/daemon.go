package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/intercomd/intercomd/gpio/sim"
	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/poll"
)

// daemonConfig is how a benchmark runs intercomd: always on loopback with
// login off (as `make run` does), the simulated panel, and test devices
// unless a camera is named.
type daemonConfig struct {
	Camera        string // test (default), clock, none
	Mic           string // test (default), none
	Width, Height int    // default 640x480
	FPS           int    // default 30
	RingGroup     []string
	Env           []string // added to the daemon's environment
	YAML          string   // more lines for the config file
	LogLevel      string   // default warn
}

// daemon is one intercomd process.
type daemon struct {
	cfg  daemonConfig
	cmd  *exec.Cmd
	pid  int
	url  string // http://127.0.0.1:PORT
	dir  string
	logs *lockedBuffer
	done chan struct{}
	err  error // the process's exit, after done
}

// startDaemon starts bin and waits until the door is registered on its hub.
func startDaemon(ctx context.Context, bin string, cfg daemonConfig) (*daemon, error) {
	if cfg.Camera == "" {
		cfg.Camera = "test"
	}
	if cfg.Mic == "" {
		cfg.Mic = "test"
	}
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = 640, 480
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	dir, err := os.MkdirTemp("", "intercomd-bench-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf("width: %d\nheight: %d\nfps: %d\n", cfg.Width, cfg.Height, cfg.FPS) + cfg.YAML
	if len(cfg.RingGroup) > 0 {
		yaml += "ring_group: [" + strings.Join(cfg.RingGroup, ", ") + "]\n"
	}
	conf := filepath.Join(dir, "intercomd.yaml")
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	d := &daemon{cfg: cfg, dir: dir, url: "http://" + listen, logs: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, "-config", conf, "-listen", listen, "-no-auth", "-state-dir", dir,
		"-camera", cfg.Camera, "-mic", cfg.Mic, "-speaker", "test", "-gpio", "sim", "-log-level", cfg.LogLevel)
	// GOTRACEBACK=all: a SIGQUIT dumps every goroutine (goroutines()).
	d.cmd.Env = append(append(os.Environ(), "GOTRACEBACK=all"), cfg.Env...)
	d.cmd.Stdout = d.logs
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	d.pid = d.cmd.Process.Pid
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	err = poll.Until(ctx, 60*time.Second, 50*time.Millisecond, func() error {
		select {
		case <-d.done:
			return poll.Stop(fmt.Errorf("intercomd exited at start (%v)", d.err))
		default:
		}
		h, err := d.health()
		if err == nil && !h.Device.Registered {
			err = errors.New("the door is not registered")
		}
		if err != nil {
			return fmt.Errorf("intercomd not ready (last %v)", err)
		}
		return nil
	})
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("%w: %s", err, d.logs.tail(2000))
	}
	return d, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// wsURL is the hub's WebSocket.
func (d *daemon) wsURL() string { return "ws" + strings.TrimPrefix(d.url, "http") + "/ws" }

func (d *daemon) health() (health.Report, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	return health.Get(context.Background(), c, d.url)
}

// waitState polls /healthz until the door is in state.
func (d *daemon) waitState(state string, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 20*time.Millisecond, func() error {
		h, err := d.health()
		if err != nil || h.Device.State != state {
			return fmt.Errorf("door state %q (err %v), want %q", h.Device.State, err, state)
		}
		return nil
	})
}

// press presses a simulated panel button.
func (d *daemon) press(button string) error {
	return sim.PressAt(context.Background(), http.DefaultClient, d.url, button)
}

func (d *daemon) status() (procStatus, error) { return readStatus(d.pid) }

// goroutineHeader starts each goroutine of a Go traceback ("goroutine 7
// [select]:", or "goroutine 7 gp=0x... m=nil [select]:"); goroutine 0 is
// a thread's scheduler, not a goroutine.
var goroutineHeader = regexp.MustCompile(`(?m)^goroutine [1-9]\d* [^\n]*\[`)

// goroutines ends the daemon with SIGQUIT and counts the goroutines of its
// dump. The daemon has no debug endpoint, and none is added for this.
func (d *daemon) goroutines() (int, error) {
	before := d.logs.Len()
	if err := d.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return 0, err
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		return 0, errors.New("no exit within 30 s of SIGQUIT")
	}
	dump := d.logs.String()[before:]
	n := len(goroutineHeader.FindAllStringIndex(dump, -1))
	if n == 0 {
		return 0, fmt.Errorf("no goroutine dump after SIGQUIT: %s", tail(dump, 500))
	}
	d.saveLog()
	os.RemoveAll(d.dir)
	return n, nil
}

// stop ends the daemon with SIGTERM (SIGKILL after 20 s) and removes its
// state directory.
func (d *daemon) stop() {
	select {
	case <-d.done:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	d.saveLog()
	os.RemoveAll(d.dir)
}

// saveLog keeps the daemon's output in $BENCH_LOGS, when set, for looking
// into a failure or a figure.
func (d *daemon) saveLog() {
	if dir := os.Getenv("BENCH_LOGS"); dir != "" {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("intercomd-%d.log", d.pid)), []byte(d.logs.String()), 0o644)
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

func (b *lockedBuffer) tail(n int) string { return tail(b.String(), n) }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
