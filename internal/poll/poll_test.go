package poll

import (
	"context"
	"errors"
	"fmt"
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
