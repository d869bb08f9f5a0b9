package hub

import "github.com/intercomd/intercomd/wire"

// Presence: every list entry of a delta client says whether its user is
// available, ringing or in a call (and, for a door, with whom). The hub
// derives it from the calls it routes; nothing a client sends sets it.

// moved notes that c's calls changed, so its presence may have. The next
// list flush compares and sends what changed. Called with h.mu held.
func (h *Hub) moved(c *client) {
	if c.moved || c.gone || c.name == "" {
		return
	}
	c.moved = true
	h.movedList = append(h.movedList, c)
	h.listChanged()
}

// presence is c's state as the hub sees it: in an answered call, ringing
// (ringing someone, being rung, or waiting for an away resident's phone),
// or available (""). with names the other party of a door's call. Called
// with h.mu held.
func (c *client) presence() (state, with string) {
	if l := c.activeLeg(); l != nil {
		if c.kind != wire.KindBrowser {
			with = l.other(c).name
		}
		return wire.PresenceInCall, with
	}
	if len(c.legs) > 0 || c.park != nil {
		return wire.PresenceRinging, ""
	}
	return "", ""
}

// presenceChanges re-encodes the entries of users whose presence changed
// since the last flush and returns those that delta clients have listed
// already (the others go out as joined, with their new entry). Called by
// flushLists, with h.mu held, before it marks the joined as listed.
func (h *Hub) presenceChanges() []*client {
	var changed []*client
	for _, c := range h.movedList {
		c.moved = false
		if c.gone {
			continue
		}
		state, with := c.presence()
		if state == c.state && with == c.with {
			continue
		}
		c.state, c.with = state, with
		u := c.user()
		c.short = u.AppendShort(nil)
		if c.listed {
			changed = append(changed, c)
		}
	}
	clear(h.movedList)
	h.movedList = h.movedList[:0]
	return changed
}

// user is c's list entry with its presence.
func (c *client) user() wire.User {
	return wire.User{Name: c.name, RegDate: c.regdate, Kind: c.kind, State: c.state, With: c.with}
}
