package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/poll"
)

// The Pi's pins in docs/WIRING.md, named the same on the gpio-sim chip.
const (
	pinCall    = 17
	pinAnswer  = 27
	pinHangup  = 22
	pinRinging = 23
	pinInCall  = 24
	pinReady   = 25
	pinRelay   = 18
)

// panel drives and reads the gpio-sim lines through sysfs, as a visitor's
// finger and an eye on the LEDs would.
type panel struct{ sysfs string }

func (p panel) path(pin int, attr string) string {
	return filepath.Join(p.sysfs, fmt.Sprintf("sim_gpio%d", pin), attr)
}

// value reads the level a line shows (an output's driven value, an input's
// pull).
func (p panel) value(pin int) (int, error) {
	b, err := os.ReadFile(p.path(pin, "value"))
	if err != nil {
		return 0, fmt.Errorf("gpio-sim: %w", err)
	}
	switch strings.TrimSpace(string(b)) {
	case "0":
		return 0, nil
	case "1":
		return 1, nil
	}
	return 0, fmt.Errorf("gpio-sim: GPIO%d value %q", pin, b)
}

// press pulls a button line low (active low, like a button to ground
// against the Pi's pull-up), holds it well past the debounce time and
// lets go.
func (p panel) press(pin int) error {
	if err := os.WriteFile(p.path(pin, "pull"), []byte("pull-down"), 0); err != nil {
		return fmt.Errorf("gpio-sim: press GPIO%d: %w", pin, err)
	}
	// A firm press. The door reads the level once the edges settle; in
	// the VM (an emulated CPU that also encodes the call's video) that
	// read came more than 200 ms late once and a press was lost (CI,
	// stop 24's first run).
	time.Sleep(500 * time.Millisecond)
	if err := os.WriteFile(p.path(pin, "pull"), []byte("pull-up"), 0); err != nil {
		return fmt.Errorf("gpio-sim: release GPIO%d: %w", pin, err)
	}
	return nil
}

// waitValue waits until pin shows want.
func (p panel) waitValue(pin, want int, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 10*time.Millisecond, func() error {
		v, err := p.value(pin)
		if err != nil {
			return poll.Stop(err)
		}
		if v != want {
			return fmt.Errorf("GPIO%d stayed %d, want %d", pin, v, want)
		}
		return nil
	})
}

// transitions watches pin until it changed level n times or timeout passed,
// and returns how many changes it saw.
func (p panel) transitions(pin, n int, timeout time.Duration) (int, error) {
	last, err := p.value(pin)
	if err != nil {
		return 0, err
	}
	seen := 0
	deadline := time.Now().Add(timeout)
	for seen < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		v, err := p.value(pin)
		if err != nil {
			return seen, err
		}
		if v != last {
			seen++
			last = v
		}
	}
	return seen, nil
}

// levelLog is what a watch saw: the levels of a pin in order of change.
type levelLog struct {
	mu     sync.Mutex
	levels []int
	stop   chan struct{}
}

// watch records pin's level every few milliseconds until the log is
// stopped; the first entry is the level when watching began.
func (p panel) watch(pin int) *levelLog {
	l := &levelLog{stop: make(chan struct{})}
	// The first level is read before watch returns, so a change that
	// follows at once is not taken for the resting level.
	if v, err := p.value(pin); err == nil {
		l.levels = append(l.levels, v)
	}
	go func() {
		for {
			if v, err := p.value(pin); err == nil {
				l.mu.Lock()
				if len(l.levels) == 0 || l.levels[len(l.levels)-1] != v {
					l.levels = append(l.levels, v)
				}
				l.mu.Unlock()
			}
			select {
			case <-l.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return l
}

// seen returns the levels so far.
func (l *levelLog) seen() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.levels...)
}

func (l *levelLog) close() { close(l.stop) }
