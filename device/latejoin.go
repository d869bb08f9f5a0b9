package device

import "github.com/intercomd/intercomd/wire"

// ringMember sends one ring group member the door's Invite.
func (c *Controller) ringMember(name string) {
	c.pending[name] = true
	c.rung[name] = true
	c.send(wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: name})
}

// ringLateJoiners rings the ring group members who came online while the
// door rings and were not rung yet in this ring (or left and came back):
// the resident who opens the app from a ring notification is rung at once.
func (c *Controller) ringLateJoiners() {
	if c.state != StateCalling {
		return
	}
	for _, name := range c.ringGroup() {
		if !c.rung[name] {
			c.log.Info("ringing a resident who came online during the ring", "who", name)
			c.ringMember(name)
		}
	}
}

// decline: by declined the ring call from a notification (see Decline).
func (c *Controller) decline(call uint64, by string, everyone bool) error {
	if c.state != StateCalling || c.ring != call {
		return ErrNotRinging
	}
	c.log.Info("ring group member declined from a notification", "who", by, "everyone", everyone)
	c.rung[by] = true // no late-join ring for who said no
	if c.pending[by] {
		delete(c.pending, by)
		c.send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: by, Reason: "Declined"})
	}
	if everyone && len(c.pending) == 0 {
		c.log.Warn("missed call: every resident declined")
		c.toIdle("Declined")
	}
	return nil
}
