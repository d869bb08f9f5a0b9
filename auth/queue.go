package auth

import (
	"context"
	"sync"
)

// maxWaitingStrangers is how many logins without a trusted-device cookie
// may wait for the hash at once. The next is refused at once (503), before
// any hashing: a storm of guesses costs the Pi one hash at a time and a
// short line, never a queue that a resident waits behind.
const maxWaitingStrangers = 4

// maxWaitingTrusted bounds the trusted line too (each device is limited to
// loginPerDevice attempts a minute, but the cookies are many).
const maxWaitingTrusted = 16

// hashQueue lets one argon2id hash run at a time (19 MiB and most of a
// small Pi's core each). Logins from a trusted device go before every
// stranger that waits.
type hashQueue struct {
	mu        sync.Mutex // guards the fields below
	busy      bool
	trusted   []chan struct{}
	strangers []chan struct{}
}

// acquire waits for the hash slot. ok is false when the stranger line is
// full or ctx ended first; otherwise release must be called once.
func (q *hashQueue) acquire(ctx context.Context, trusted bool) (release func(), ok bool) {
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		return q.release, true
	}
	line := &q.strangers
	limit := maxWaitingStrangers
	if trusted {
		line, limit = &q.trusted, maxWaitingTrusted
	}
	if len(*line) >= limit {
		q.mu.Unlock()
		return nil, false
	}
	ch := make(chan struct{})
	*line = append(*line, ch)
	q.mu.Unlock()
	select {
	case <-ch:
		return q.release, true
	case <-ctx.Done():
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, c := range *line {
		if c == ch {
			*line = append((*line)[:i:i], (*line)[i+1:]...)
			return nil, false
		}
	}
	// Handed the slot just as ctx ended: pass it on.
	q.releaseLocked()
	return nil, false
}

func (q *hashQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked()
}

// releaseLocked hands the slot to the first trusted waiter, else the first
// stranger, else frees it.
func (q *hashQueue) releaseLocked() {
	for _, line := range []*[]chan struct{}{&q.trusted, &q.strangers} {
		if len(*line) > 0 {
			ch := (*line)[0]
			*line = (*line)[1:]
			close(ch)
			return
		}
	}
	q.busy = false
}

// waiting is how many wait in each line (for tests).
func (q *hashQueue) waiting() (trusted, strangers int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.trusted), len(q.strangers)
}
