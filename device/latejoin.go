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
