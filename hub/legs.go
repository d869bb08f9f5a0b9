package hub

import "time"

// leg is one call between a caller and a callee: ringing until the callee
// accepts, then active, until either hangs up, rejects, times out or leaves.
// A forking caller has several ringing legs at once; everyone else is in at
// most one leg.
type leg struct {
	caller, callee *client
	timer          *time.Timer // the ring timeout

	// away is the Away call id when the callee was notified (0: none);
	// guarded by Hub.mu. Away hears how the leg ended.
	away uint64

	// Guarded by Hub.mu.
	active bool
	ended  bool
}

func (l *leg) other(c *client) *client {
	if c == l.caller {
		return l.callee
	}
	return l.caller
}

// endLeg removes l from both parties. Called with h.mu held.
func (h *Hub) endLeg(l *leg) {
	h.awayEnded(l, false)
	l.ended = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.caller.legs = removeLeg(l.caller.legs, l)
	l.callee.legs = removeLeg(l.callee.legs, l)
	h.moved(l.caller)
	h.moved(l.callee)
}

func removeLeg(legs []*leg, l *leg) []*leg {
	for i, x := range legs {
		if x == l {
			last := len(legs) - 1
			legs[i] = legs[last]
			legs[last] = nil
			return legs[:last]
		}
	}
	return legs
}

// legWith is c's leg with other, or nil.
func (c *client) legWith(other *client) *leg {
	if other == nil {
		return nil
	}
	for _, l := range c.legs {
		if l.other(c) == other {
			return l
		}
	}
	return nil
}

// ringingFrom is the ringing leg in which c is called by the user named
// caller, or nil.
func (c *client) ringingFrom(caller string) *leg {
	for _, l := range c.legs {
		if l.callee == c && !l.active && l.caller.name == caller {
			return l
		}
	}
	return nil
}

// activeLeg is c's answered call, or nil.
func (c *client) activeLeg() *leg {
	for _, l := range c.legs {
		if l.active {
			return l
		}
	}
	return nil
}

// inCall reports whether c may not place a new call: it is in an answered
// call or is being called. A caller whose only legs are its own ringing
// Invites may add more (forking).
func (c *client) inCall() bool {
	for _, l := range c.legs {
		if l.active || l.callee == c {
			return true
		}
	}
	return false
}
