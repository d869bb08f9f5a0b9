package poll

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		n := 0
		err := Until(ctx, time.Second, 10*time.Millisecond, func() error {
			if n++; n < 5 {
				return fmt.Errorf("n = %d", n)
			}
			return nil
		})
		if err != nil || n != 5 {
			t.Errorf("Until(holds at the 5th check) = %v after %d checks, want nil after 5", err, n)
		}

		start := time.Now()
		err = Until(ctx, time.Second, 10*time.Millisecond, func() error { return errors.New("not yet") })
		if err == nil || !strings.Contains(err.Error(), "not yet") || !strings.Contains(err.Error(), "1s") {
			t.Errorf("Until(never holds) = %v, want the last reason and the timeout", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Until(never holds) returned after %v of fake time, want 1s", d)
		}

		gone := errors.New("process exited")
		n = 0
		err = Until(ctx, time.Second, 10*time.Millisecond, func() error { n++; return Stop(gone) })
		if err != gone || n != 1 {
			t.Errorf("Until(Stop) = %v after %d checks, want %v after 1", err, n, gone)
		}

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = Until(cctx, time.Hour, time.Minute, func() error { return errors.New("not yet") })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Until(cancelled ctx) = %v, want context canceled", err)
		}
	})
}

// fakeT records a Fatalf instead of ending the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func(cond func() bool) string {
			f := &fakeT{TB: t}
			done := make(chan struct{})
			go func() { defer close(done); For(f, time.Second, 10*time.Millisecond, "the light", cond) }()
			<-done
			return f.failed
		}
		n := 0
		if got := run(func() bool { n++; return n == 3 }); got != "" || n != 3 {
			t.Errorf("For(holds at the 3rd check) failed %q after %d checks, want no failure after 3", got, n)
		}
		if got := run(func() bool { return false }); got != "waited 1s for the light" {
			t.Errorf("For(never holds) failed %q, want %q", got, "waited 1s for the light")
		}
	})
}

// errorT records an Errorf.
type errorT struct {
	testing.TB
	errors []string
}

func (e *errorT) Helper() {}
func (e *errorT) Errorf(format string, args ...any) {
	e.errors = append(e.errors, fmt.Sprintf(format, args...))
}

func TestReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := &errorT{TB: t}
		Returns(e, time.Second, "a quick close", func() { time.Sleep(time.Millisecond) })
		if len(e.errors) != 0 {
			t.Errorf("Returns(f returns at once) failed: %q", e.errors)
		}
		release := make(chan struct{})
		Returns(e, time.Second, "a stuck close", func() { <-release })
		close(release)
		if len(e.errors) != 1 || !strings.HasPrefix(e.errors[0], "a stuck close did not return in 1s; goroutines:\n") ||
			!strings.Contains(e.errors[0], "poll.TestReturns") {
			t.Errorf("Returns(f never returns) failed with %q, want the stuck close and the goroutines' stacks", e.errors)
		}
	})
}
