// Package poll waits for a condition that nothing signals (a door's state
// behind /healthz, a GPIO line in sysfs, a page's DOM) by checking it
// again and again until it holds or time runs out. The tests, the bench and
// the VM's client share it instead of each writing its own deadline loop.
//
// Where something can signal (a channel, a callback), wait on that instead.
package poll

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Until calls check every interval until it returns nil, and returns nil.
// check's error says why the condition does not hold yet; Until returns
// the last one, with how long it waited, when timeout passes or ctx ends,
// or at once when check returns an error made with Stop (the condition can
// no longer come true: the process it waits for exited).
func Until(ctx context.Context, timeout, interval time.Duration, check func() error) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		var s stopped
		if errors.As(err, &s) {
			return s.err
		}
		select {
		case <-t.C:
			return fmt.Errorf("%w (after %v)", err, timeout)
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop makes check's err end Until at once; Until returns err itself.
func Stop(err error) error { return stopped{err} }

type stopped struct{ err error }

func (s stopped) Error() string { return s.err.Error() }
func (s stopped) Unwrap() error { return s.err }

// For fails t at once unless cond holds within timeout, checking it every
// interval: the tests' form of Until, for a condition that is a plain
// true or false. what names the condition in the failure.
func For(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	err := Until(context.Background(), timeout, interval, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
	if err != nil {
		t.Fatalf("waited %v for %s", timeout, what)
	}
}

var errNotYet = errors.New("not yet")

// Returns runs f and waits up to timeout for it to return. If it does not,
// Returns reports what hangs with every goroutine's stack (the test's -timeout
// would name only the test, half an hour later) and returns, leaving f
// running: t has failed and its other clean-ups still run.
func Returns(t testing.TB, timeout time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		buf := make([]byte, 4<<20)
		t.Errorf("%s did not return in %v; goroutines:\n%s", what, timeout, buf[:runtime.Stack(buf, true)])
	}
}
