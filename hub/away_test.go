package hub

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// awayLog records what the hub asks of Away (push, in intercomd); reach
// names who has devices.
type awayLog struct {
	reach []string

	mu  sync.Mutex
	got []string
}

func (a *awayLog) add(s string) {
	a.mu.Lock()
	a.got = append(a.got, s)
	a.mu.Unlock()
}

func (a *awayLog) Call(id uint64, from, to string, at time.Time) bool {
	if !slices.Contains(a.reach, to) {
		return false
	}
	a.add(fmt.Sprintf("call %d %s->%s", id, from, to))
	return true
}
func (a *awayLog) Answered(id uint64, from, by string) {
	a.add(fmt.Sprintf("answered %d %s by %s", id, from, by))
}
func (a *awayLog) Missed(id uint64, from string) { a.add(fmt.Sprintf("missed %d %s", id, from)) }

func (a *awayLog) want(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("Away to hear %q", want), func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return slices.Equal(a.got, want)
	})
}

// TestCallWaitsForAwayResident: alice calls bob, who has no page open but
// a phone: his phone is notified, the call waits, and when his page
// connects (opened from the notification) it rings there; the answer
// replaces the notification. Without a phone, "not online" as before.
func TestCallWaitsForAwayResident(t *testing.T) {
	away := &awayLog{reach: []string{"bob", "carol"}}
	th := newTestHub(t, Config{Away: away}, true)
	a := th.dialAs(t, "alice")

	a.send(seedMsg("Invite", "Start", "dave", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "dave", "reason": `"dave" is not online`})
	a.send(seedMsg("Invite", "Start", "bob", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Attempting", "from": "alice", "to": "bob"})
	away.want(t, "call 1 alice->bob")
	a.send(seedMsg("Invite", "Start", "carol", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "carol", "reason": "already calling bob"})

	b := th.dial(t)
	b.register("bob")
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "alice", "to": "bob"})
	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Accepted", "from": "bob", "to": "alice"})
	away.want(t, "call 1 alice->bob", "answered 1 alice by bob")
	a.send(seedMsg("Hangup", "Local", "bob", nil))
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "Natural Hangup"})
	away.want(t, "call 1 alice->bob", "answered 1 alice by bob") // nothing more
}

// TestAwayCallEnds: the caller cancels, the ring times out, the caller
// leaves, the callee declines from the notification, or rejects on the
// page it opened: each ends the wait once, and the notification is replaced
// (except after a decline, which the notification already shows).
func TestAwayCallEnds(t *testing.T) {
	away := &awayLog{reach: []string{"bob"}}
	th := newTestHub(t, Config{Away: away, RingTimeout: 300 * time.Millisecond}, true)
	a := th.dialAs(t, "alice")
	start := func() {
		t.Helper()
		a.send(seedMsg("Invite", "Start", "bob", nil))
		a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Attempting", "from": "alice", "to": "bob"})
	}

	start()
	a.send(seedMsg("Hangup", "Local", "bob", nil))
	away.want(t, "call 1 alice->bob", "missed 1 alice")

	start()
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "bob", "reason": "No answer"})
	away.want(t, "call 1 alice->bob", "missed 1 alice", "call 2 alice->bob", "missed 2 alice")

	start()
	th.Decline(3, "carol") // not carol's call: nothing
	th.Decline(3, "bob")
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Rejected", "from": "bob", "to": "alice", "reason": "Declined"})
	away.want(t, "call 1 alice->bob", "missed 1 alice", "call 2 alice->bob", "missed 2 alice", "call 3 alice->bob")

	// Declined on the phone after the page opened and rings: it stops.
	start()
	b := th.dial(t)
	b.register("bob")
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "alice", "to": "bob"})
	th.Decline(4, "bob")
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Rejected", "from": "bob", "to": "alice", "reason": "Declined"})
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "Declined"})
	b.ws.Close()

	// The caller leaves while the call waits.
	waitFor(t, "bob to leave", func() bool { return th.Users() == 1 })
	start()
	a.ws.Close()
	away.want(t, "call 1 alice->bob", "missed 1 alice", "call 2 alice->bob", "missed 2 alice", "call 3 alice->bob",
		"call 4 alice->bob", "call 5 alice->bob", "missed 5 alice")
}
