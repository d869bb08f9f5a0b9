package hub

import (
	"slices"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// Away reaches residents who have no page open, by push notification
// (package push satisfies it). The hub calls it with its lock held: its
// methods must queue and return, never block or call back into the hub.
type Away interface {
	// Call notifies to that from calls (id names the call); false when
	// to has no device to notify.
	Call(id uint64, from, to string, at time.Time) bool
	// Answered and Missed replace that notification when the call is
	// answered (by the callee) or ends unanswered.
	Answered(id uint64, from, by string)
	Missed(id uint64, from string)
}

// parked is a call to a resident who is not online but was notified: it
// waits, as long as a ring lasts, for them to connect (the app opened from
// the notification), and then rings them like any call.
type parked struct {
	id     uint64
	caller *client
	callee string
	timer  *time.Timer

	// Guarded by Hub.mu.
	done bool
}

// park notifies callee that c calls and keeps the call for them, or
// reports false when they cannot be reached. Called with h.mu held.
func (h *Hub) park(c *client, callee string) bool {
	if h.cfg.Away == nil || c.local != nil || c.park != nil || len(c.legs) > 0 {
		return false
	}
	p := &parked{id: h.lastCall + 1, caller: c, callee: callee}
	if !h.cfg.Away.Call(p.id, c.name, callee, time.Now()) {
		return false
	}
	h.lastCall = p.id
	p.timer = time.AfterFunc(h.cfg.RingTimeout, func() { h.parkTimeout(p) })
	c.park = p
	h.moved(c)
	h.parked[callee] = append(h.parked[callee], p)
	h.log.Info("calling a resident who has no page open: notified", "from", c.name, "to", callee, "call", p.id)
	return true
}

// unpark forgets p. Called with h.mu held.
func (h *Hub) unpark(p *parked) {
	p.done = true
	p.timer.Stop()
	p.caller.park = nil
	h.moved(p.caller)
	h.parked[p.callee] = slices.DeleteFunc(h.parked[p.callee], func(x *parked) bool { return x == p })
	if len(h.parked[p.callee]) == 0 {
		delete(h.parked, p.callee)
	}
}

// parkTimeout: nobody came; the caller gets the ring timeout's Fail.
func (h *Hub) parkTimeout(p *parked) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.done {
		return
	}
	h.unpark(p)
	h.cfg.Away.Missed(p.id, p.caller.name)
	h.send(p.caller, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: wire.StatusFail, From: p.caller.name, To: p.callee, Reason: wire.ReasonNoAnswer})
}

// cancelPark ends c's parked call to callee ("" any): the caller hung up or
// left. Called with h.mu held.
func (h *Hub) cancelPark(c *client, callee string) bool {
	p := c.park
	if p == nil || (callee != "" && p.callee != callee) {
		return false
	}
	h.unpark(p)
	h.cfg.Away.Missed(p.id, c.name)
	return true
}

// ringParked rings e, just registered, for the calls parked for its name:
// the first rings, later callers hear busy. Called with h.mu held.
func (h *Hub) ringParked(e *client) {
	for _, p := range slices.Clone(h.parked[e.name]) {
		h.unpark(p)
		c := p.caller
		if len(e.legs) > 0 {
			h.cfg.Away.Missed(p.id, c.name)
			h.send(c, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: wire.StatusBusy, From: e.name, To: c.name, Reason: e.name + " is busy"})
			continue
		}
		h.log.Info("ringing a resident who came online for a call", "from", c.name, "to", e.name, "call", p.id)
		l := h.ring(c, e, false) // a look is at a door, which never waits for a page
		l.away = p.id
	}
}

// awayEnded tells Away how l ended, once. Called with h.mu held.
func (h *Hub) awayEnded(l *leg, answered bool) {
	if l.away == 0 {
		return
	}
	if answered {
		h.cfg.Away.Answered(l.away, l.caller.name, l.callee.name)
	} else {
		h.cfg.Away.Missed(l.away, l.caller.name)
	}
	l.away = 0
}

// Decline is the callee declining call id from a notification: the caller
// hears Rejected, a page of the callee's that rings stops. A call that is
// over, answered or someone else's is left alone.
func (h *Hub) Decline(id uint64, callee string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.parked[callee] {
		if p.id == id {
			h.unpark(p)
			h.send(p.caller, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: wire.StatusRejected, From: callee, To: p.caller.name, Reason: "Declined"})
			return
		}
	}
	e := h.users[callee]
	if e == nil {
		return
	}
	for _, l := range e.legs {
		if l.away == id && l.callee == e && !l.active {
			l.away = 0 // the notification says "declined" already
			h.endLeg(l)
			h.send(l.caller, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: wire.StatusRejected, From: e.name, To: l.caller.name, Reason: "Declined"})
			h.send(e, &wire.Message{Type: wire.TypeHangup, Text: textRemote, From: l.caller.name, To: e.name, Reason: "Declined"})
			return
		}
	}
}
