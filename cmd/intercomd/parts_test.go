package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
)

// recorder notes what the parts did, in order.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// runner is a part that runs until its ctx ends (noting when), or fails
// with fail at once.
func (r *recorder) runner(name string, fail error) func(context.Context) error {
	return func(ctx context.Context) error {
		if fail != nil {
			return fail
		}
		<-ctx.Done()
		r.note("stop " + name)
		return nil
	}
}

func (r *recorder) closer(name string, err error) func() error {
	return func() error { r.note("close " + name); return err }
}

func TestPartsStopInReverse(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	want := []string{"stop web", "stop door", "close hub user", "stop panel", "close panel", "close media"}
	add := func(ps *parts, r *recorder, webErr error) {
		ps.add("media", nil, r.closer("media", nil))
		ps.add("panel", r.runner("panel", nil), r.closer("panel", nil))
		ps.add("hub user", nil, r.closer("hub user", nil))
		ps.add("door", r.runner("door", nil), nil)
		ps.add("web", r.runner("web", webErr), nil)
	}

	t.Run("ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &recorder{}
			ps := &parts{log: quiet}
			add(ps, r, nil)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- ps.run(ctx) }()
			synctest.Wait()
			if got := r.got(); len(got) != 0 {
				t.Fatalf("before ctx ended: %v, want nothing stopped", got)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run = %v, want nil", err)
			}
			if got := r.got(); !reflect.DeepEqual(got, want) {
				t.Errorf("stopped %v, want %v", got, want)
			}
			if err := ps.stop(); err != nil || len(r.got()) != len(want) {
				t.Errorf("second stop = %v and did %v, want nil and nothing more", err, r.got()[len(want):])
			}
		})
	})

	t.Run("a part fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &recorder{}
			ps := &parts{log: quiet}
			boom := errors.New("address in use")
			add(ps, r, boom)
			err := ps.run(t.Context())
			if !errors.Is(err, boom) || err.Error() != "web: address in use" {
				t.Errorf("run = %v, want web: %v", err, boom)
			}
			// web returned by itself: it is not stopped again.
			if got := r.got(); !reflect.DeepEqual(got, want[1:]) {
				t.Errorf("stopped %v, want %v", got, want[1:])
			}
		})
	})

	t.Run("made before a later part failed", func(t *testing.T) {
		r := &recorder{}
		ps := &parts{log: quiet}
		ps.add("media", nil, r.closer("media", nil))
		ps.add("panel", r.runner("panel", nil), r.closer("panel", errors.New("line busy")))
		// serve returns here (a later part failed to be made): its
		// deferred stop closes what was made, none of it running.
		err := ps.stop()
		if got := r.got(); !reflect.DeepEqual(got, []string{"close panel", "close media"}) {
			t.Errorf("closed %v, want panel then media", got)
		}
		if err == nil || err.Error() != "close panel: line busy" {
			t.Errorf("stop = %v, want the panel's close error", err)
		}
	})
}
