package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// parts are the daemon's long-lived parts in the order serve makes them.
// Each runs under a context of its own; they stop in reverse order, each
// waited for and closed before the one made before it, so a part never
// outlives what it uses (the door hangs up through the hub before the hub
// stops, and before the panel and media are closed).
type parts struct {
	log      *slog.Logger
	list     []part
	stopOnce sync.Once
	stopErr  error
}

type part struct {
	name   string
	run    func(context.Context) error // nil: nothing runs, only close
	close  func() error                // nil: nothing to release
	cancel context.CancelFunc
	done   chan struct{}
}

// add appends a part; run or close may be nil.
func (ps *parts) add(name string, run func(context.Context) error, close func() error) {
	ps.list = append(ps.list, part{name: name, run: run, close: close})
}

// closer adapts a Close without an error.
func closer(f func()) func() error { return func() error { f(); return nil } }

// run starts the parts in order and returns when ctx ends (nil) or one of
// them fails (its error), once every part has stopped and been closed.
func (ps *parts) run(ctx context.Context) error {
	errs := make(chan error, len(ps.list))
	for i := range ps.list {
		p := &ps.list[i]
		if p.run == nil {
			continue
		}
		// Not ctx's cancellation: stop ends each part in its turn.
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		p.cancel, p.done = cancel, make(chan struct{})
		go func() {
			defer close(p.done)
			if err := p.run(pctx); err != nil && pctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", p.name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		ps.log.Error("stopping", "err", err)
	}
	if cerr := ps.stop(); cerr != nil {
		ps.log.Warn("stopped with errors", "err", cerr)
	}
	return err
}

// stop stops the running parts and closes every part, in reverse order;
// it returns the errors of the closes. Safe to call more than once (serve
// defers it for the parts made before a later one failed).
func (ps *parts) stop() error {
	ps.stopOnce.Do(func() {
		var errs []error
		for i := len(ps.list) - 1; i >= 0; i-- {
			p := &ps.list[i]
			if p.cancel != nil {
				p.cancel()
				<-p.done
			}
			if p.close != nil {
				if err := p.close(); err != nil {
					errs = append(errs, fmt.Errorf("close %s: %w", p.name, err))
				}
			}
		}
		ps.stopErr = errors.Join(errs...)
	})
	return ps.stopErr
}
