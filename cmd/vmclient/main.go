// Command client is the resident in the vmtest VM: a Go pion peer that logs
// in to intercomd, calls the door and is called by it, and checks what a
// Pi's user would notice: the camera's picture (vivid, at its size), the
// door's microphone (a tone played into the loopback card), the door's
// speaker (a tone sent to the door, recorded back from the loopback card),
// its echo canceller (the speaker relayed back into the microphone must not
// reach the resident), and the panel (gpio-sim lines with the Pi's names: Call rings the client,
// the ringing light blinks, the in-call light follows the call, Hangup ends
// it, Open Door pulses the relay).
//
// It prints one "VMTEST PASS|FAIL <device>: <what>" line per check and exits
// non-zero when any failed.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "https://127.0.0.1:8080", "intercomd's base URL")
	flag.StringVar(&cfg.password, "password", "", "resident password (set on first use)")
	flag.StringVar(&cfg.name, "name", "resident", "the client's user name")
	flag.StringVar(&cfg.door, "door", "door", "the door's user name")
	flag.IntVar(&cfg.width, "width", 640, "expected video width")
	flag.IntVar(&cfg.height, "height", 480, "expected video height")
	flag.StringVar(&cfg.alsa, "alsa", "hw:Loopback,1", "the loopback card's far end: the door's speaker is recorded here and played back with the tone for the door's microphone")
	flag.StringVar(&cfg.sysfs, "gpio-sysfs", os.Getenv("VMTEST_GPIO_SYSFS"), "gpio-sim chip directory in sysfs")
	flag.IntVar(&cfg.pid, "pid", 0, "intercomd's process id: stop waiting for it when it exits")
	flag.StringVar(&cfg.calls, "calls", "all", "which calls: door (the resident's and the visitor's), echo (the audio-only echo call), or all")
	setupOnly := flag.Bool("setup-only", false, "only wait for intercomd and set the password")
	flag.Parse()
	if cfg.password == "" {
		fmt.Println("VMTEST FAIL client: -password is required")
		os.Exit(2)
	}
	if cfg.calls != "all" && cfg.calls != "door" && cfg.calls != "echo" {
		fmt.Printf("VMTEST FAIL client: -calls %q: want door, echo or all\n", cfg.calls)
		os.Exit(2)
	}
	r := &results{start: time.Now()}
	if *setupOnly {
		hc := newHTTPClient()
		err := waitHTTP(hc, cfg.url, cfg.pid, 90*time.Second)
		if err == nil {
			err = login(hc, cfg.url, cfg.password)
		}
		r.check("intercomd", "up, password set", err)
	} else {
		runAll(cfg, r)
	}
	if r.failed > 0 {
		os.Exit(1)
	}
}

// config is what the client was told on the command line.
type config struct {
	url, password, name, door string
	width, height             int
	alsa, sysfs               string
	pid                       int
	calls                     string
}

// results prints check outcomes, with the time since the client started,
// and counts failures.
type results struct {
	start time.Time

	mu     sync.Mutex
	failed int // guarded by mu
}

func (r *results) pass(device, format string, args ...any) {
	fmt.Printf("VMTEST PASS %s: %s [%.1fs]\n", device, fmt.Sprintf(format, args...), time.Since(r.start).Seconds())
}

func (r *results) fail(device, format string, args ...any) {
	r.mu.Lock()
	r.failed++
	r.mu.Unlock()
	fmt.Printf("VMTEST FAIL %s: %s [%.1fs]\n", device, fmt.Sprintf(format, args...), time.Since(r.start).Seconds())
}

// skip reports a check that could not be judged on this machine, and why.
func (r *results) skip(device, format string, args ...any) {
	fmt.Printf("VMTEST SKIP %s: %s [%.1fs]\n", device, fmt.Sprintf(format, args...), time.Since(r.start).Seconds())
}

// check records err as device's failure, or passes with what.
func (r *results) check(device string, what string, err error) bool {
	if err != nil {
		r.fail(device, "%v", err)
		return false
	}
	r.pass(device, "%s", what)
	return true
}
