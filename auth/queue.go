package auth

import (
	"context"
	"runtime"
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

// Hash slots: argon2id takes 19 MiB and most of a small Pi's core per hash,
// so at most two run at once. Strangers share one slot; the other is kept
// for trusted devices (and the Pi itself), so a resident's login never
// waits for a stranger's hash to finish: during a storm of guesses that
// wait was one whole hash on a loaded core (issue 17). A trusted login
// takes the strangers' slot too when it is free, and goes before every
// stranger waiting for it.
const (
	slotStrangers = iota
	slotTrusted
	slots
)

// hashQueue admits argon2id hashes to the slots above.
type hashQueue struct {
	mu        sync.Mutex // guards the fields below
	busy      [slots]bool
	trusted   []chan int // waiters; handed the number of the slot they got
	strangers []chan int
}

// acquire waits for a hash slot. ok is false when the stranger line is
// full or ctx ended first; otherwise release must be called once.
func (q *hashQueue) acquire(ctx context.Context, trusted bool) (release func(), ok bool) {
	q.mu.Lock()
	if trusted {
		for _, s := range []int{slotTrusted, slotStrangers} {
			if !q.busy[s] {
				q.busy[s] = true
				q.mu.Unlock()
				return q.releaser(s), true
			}
		}
	} else if !q.busy[slotStrangers] && len(q.trusted) == 0 {
		q.busy[slotStrangers] = true
		q.mu.Unlock()
		return q.releaser(slotStrangers), true
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
	ch := make(chan int, 1)
	*line = append(*line, ch)
	q.mu.Unlock()
	select {
	case s := <-ch:
		return q.releaser(s), true
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
	// Handed a slot just as ctx ended: pass it on.
	q.releaseLocked(<-ch)
	return nil, false
}

func (q *hashQueue) releaser(slot int) func() {
	return func() {
		// Each hash leaves 19 MiB of garbage, and the GC lets the heap
		// grow to twice what is live before it collects: with two slots
		// busy that was 36 MB more peak RSS during a login storm. Collect
		// before the next hash allocates its own (a few ms; the blocks
		// hold no pointers, so there is little to mark).
		runtime.GC()
		q.mu.Lock()
		defer q.mu.Unlock()
		q.releaseLocked(slot)
	}
}

// releaseLocked hands slot to the first trusted waiter, else (the
// strangers' slot only) to the first stranger, else frees it.
func (q *hashQueue) releaseLocked(slot int) {
	lines := []*[]chan int{&q.trusted}
	if slot == slotStrangers {
		lines = append(lines, &q.strangers)
	}
	for _, line := range lines {
		if len(*line) > 0 {
			ch := (*line)[0]
			*line = (*line)[1:]
			ch <- slot
			return
		}
	}
	q.busy[slot] = false
}

// waiting is how many wait in each line (for tests).
func (q *hashQueue) waiting() (trusted, strangers int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.trusted), len(q.strangers)
}
