package media

import (
	"sync"

	"github.com/intercomd/intercomd/device"
)

// emitter delivers one call's events in order from its own goroutine, so a
// slow handler never stalls pion. It holds them until the call's local
// description has been handed out: a candidate must not reach the browser
// before the offer or answer it belongs to.
type emitter struct {
	fn func(device.CallEvent)

	mu      sync.Mutex
	queue   []device.CallEvent // guarded by mu
	ready   bool               // guarded by mu; the description is out
	stopped bool               // guarded by mu
	wake    chan struct{}
	done    chan struct{}
}

func newEmitter(fn func(device.CallEvent)) *emitter {
	e := &emitter{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go e.run()
	return e
}

func (e *emitter) emit(ev device.CallEvent) {
	e.mu.Lock()
	if !e.stopped {
		e.queue = append(e.queue, ev)
	}
	e.mu.Unlock()
	e.poke()
}

// release lets held and future events through.
func (e *emitter) release() {
	e.mu.Lock()
	e.ready = true
	e.mu.Unlock()
	e.poke()
}

// stop drops what is queued; no handler starts after it returns (one may
// still be running).
func (e *emitter) stop() {
	e.mu.Lock()
	e.stopped = true
	e.queue = nil
	e.mu.Unlock()
	e.poke()
}

func (e *emitter) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *emitter) run() {
	defer close(e.done)
	for range e.wake {
		for {
			e.mu.Lock()
			if e.stopped {
				e.mu.Unlock()
				return
			}
			if !e.ready || len(e.queue) == 0 {
				e.mu.Unlock()
				break
			}
			ev := e.queue[0]
			e.queue = e.queue[1:]
			e.mu.Unlock()
			e.fn(ev)
		}
	}
}
