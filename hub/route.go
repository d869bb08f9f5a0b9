package hub

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// handleFrame decodes one text frame from c and acts on it. Every refusal is
// answered to c alone; nothing else changes.
func (h *Hub) handleFrame(c *client, data []byte) {
	if int64(len(data)) > h.cfg.MaxMessage {
		h.mu.Lock()
		h.refuse(c, "", "message exceeds "+strconv.FormatInt(h.cfg.MaxMessage, 10)+" bytes")
		h.mu.Unlock()
		return
	}
	m, err := wire.Decode(data)
	h.handleMessage(c, &m, err)
}

// handleMessage acts on one message from c, or refuses it with err (its
// decoding or checking failed).
func (h *Hub) handleMessage(c *client, m *wire.Message, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.gone {
		return
	}
	if err != nil {
		h.refuse(c, "", err.Error())
		return
	}
	h.route(c, m)
}

// route acts on one decoded message. Called with h.mu held.
func (h *Hub) route(c *client, m *wire.Message) {
	switch m.Type {
	case wire.TypeRegister:
		h.register(c, m)
		return
	case wire.TypeEcho:
		h.send(c, &wire.Message{Type: wire.TypeEcho, Text: m.Text, Status: wire.StatusOK, From: wire.ServerName, To: c.name, Reason: "Requested"})
		return
	case wire.TypeSocketEvent:
		return // the seed server ignores these too
	}
	if !knownType(m.Type) {
		h.refuse(c, m.Type, "unknown message type")
		return
	}
	if c.name == "" {
		h.refuse(c, m.Type, "register first")
		return
	}
	switch m.Type {
	case wire.TypeGetUsers:
		c.needFull = true
		h.listChanged()
	case wire.TypeInvite:
		h.invite(c, m)
	case wire.TypeCallerSDP, wire.TypeCalleeSDP, wire.TypeICE, wire.TypeOpenDoor, wire.TypeTalk:
		h.relay(c, m)
	case wire.TypeHangup:
		h.hangup(c, m)
	default:
		h.refuse(c, m.Type, "only the hub sends "+m.Type)
	}
}

func knownType(t string) bool {
	switch t {
	case wire.TypeGetUsers, wire.TypeInvite, wire.TypeCallerSDP, wire.TypeCalleeSDP, wire.TypeICE, wire.TypeHangup, wire.TypeOpenDoor, wire.TypeTalk,
		wire.TypeUsersDelta, wire.TypeError:
		return true
	}
	return false
}

// invite handles the Invite verbs. Called with h.mu held.
func (h *Hub) invite(c *client, m *wire.Message) {
	sub, _ := m.TextString()
	switch sub {
	case "Start":
		h.inviteStart(c, m.To, string(m.Param2) == `"`+wire.ParamLook+`"`)
	case wire.StatusRinging, wire.StatusAccepted, wire.StatusRejected, wire.StatusBusy:
		h.inviteAnswer(c, sub, m)
	default:
		h.refuse(c, wire.TypeInvite, fmt.Sprintf("unknown Invite text %s", clip(m.Text)))
	}
}

// inviteStart rings callee `to` for caller c, or tells c why not, in the
// shape the seed client understands (Invite / Start / status). look asks
// the callee for a silent look (Param2 "look"), passed on with the ring.
func (h *Hub) inviteStart(c *client, to string, look bool) {
	reply := func(status, reason string) {
		h.send(c, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: status, From: c.name, To: to, Reason: reason})
	}
	e := h.users[to]
	switch {
	case to == c.name:
		reply(wire.StatusFail, "Cannot call self!")
	case c.park != nil:
		reply(wire.StatusFail, "already calling "+c.park.callee)
	case e == nil && h.park(c, to):
		// to has no page open; their phones ring and the call waits.
		reply(wire.StatusAttempting, "")
	case e == nil:
		reply(wire.StatusFail, strconv.Quote(to)+" is not online")
	case c.inCall():
		reply(wire.StatusFail, "you are already in a call")
	case c.legWith(e) != nil:
		reply(wire.StatusFail, "already calling "+to)
	case len(e.legs) > 0 || e.park != nil:
		reply(wire.StatusBusy, to+" is busy")
	default:
		h.ring(c, e, look)
		reply(wire.StatusAttempting, "")
	}
}

// ring starts a leg from c to e and rings e, for a silent look if look.
// Called with h.mu held.
func (h *Hub) ring(c, e *client, look bool) *leg {
	l := &leg{caller: c, callee: e}
	c.legs = append(c.legs, l)
	e.legs = append(e.legs, l)
	l.timer = time.AfterFunc(h.cfg.RingTimeout, func() { h.ringTimeout(l) })
	h.moved(c)
	h.moved(e)
	m := &wire.Message{Type: wire.TypeInvite, Text: textIncoming, From: c.name, To: e.name}
	if look {
		m.Param2 = paramLook
	}
	h.send(e, m)
	return l
}

// inviteAnswer relays a callee's Ringing, Accepted, Rejected or Busy to its
// caller as Invite / Start / status. Called with h.mu held.
func (h *Hub) inviteAnswer(e *client, sub string, m *wire.Message) {
	l := e.ringingFrom(m.To)
	if l == nil {
		h.refuse(e, wire.TypeInvite, "no incoming call from "+strconv.Quote(m.To))
		return
	}
	c := l.caller
	switch sub {
	case wire.StatusAccepted:
		if c.activeLeg() != nil {
			// Forking: another callee of this caller was first.
			h.endLeg(l)
			h.send(e, &wire.Message{Type: wire.TypeHangup, Text: textRemote, From: c.name, To: e.name, Reason: wire.ReasonAnsweredElsewhere})
			return
		}
		l.active = true
		l.timer.Stop()
		h.moved(c)
		h.moved(e)
		h.awayEnded(l, true)
	case wire.StatusRejected, wire.StatusBusy:
		h.endLeg(l)
	}
	h.send(c, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: sub, From: e.name, To: c.name, Reason: m.Reason})
}

// relay passes SDP, ICE, Open Door and Talk messages between the two parties of
// an active call, and nowhere else. Called with h.mu held.
func (h *Hub) relay(c *client, m *wire.Message) {
	l := c.legWith(h.users[m.To])
	if l == nil || !l.active {
		h.refuse(c, m.Type, "no call with "+strconv.Quote(m.To))
		return
	}
	switch {
	case m.Type == wire.TypeCallerSDP && c != l.caller:
		h.refuse(c, m.Type, "only the caller sends the offer")
		return
	case m.Type == wire.TypeCalleeSDP && c != l.callee:
		h.refuse(c, m.Type, "only the callee sends the answer")
		return
	case m.Type != wire.TypeOpenDoor && m.Type != wire.TypeTalk && !isObject(m.Text):
		h.refuse(c, m.Type, "text must be a JSON object")
		return
	}
	out := &wire.Message{Type: m.Type, Text: m.Text, From: c.name, To: m.To}
	if m.Type == wire.TypeOpenDoor {
		out.Status, out.Reason = m.Status, m.Reason
	}
	h.send(l.other(c), out)
}

// hangup ends a call leg, ringing or active, at either party's request;
// the other party gets Hangup / Remote. Called with h.mu held.
func (h *Hub) hangup(c *client, m *wire.Message) {
	if sub, _ := m.TextString(); sub != "Local" {
		h.refuse(c, wire.TypeHangup, fmt.Sprintf("unknown Hangup text %s", clip(m.Text)))
		return
	}
	l := c.legWith(h.users[m.To])
	if l == nil && h.cancelPark(c, m.To) {
		return
	}
	if l == nil {
		h.refuse(c, wire.TypeHangup, "no call with "+strconv.Quote(m.To))
		return
	}
	h.endLeg(l)
	reason := m.Reason
	if reason == "" {
		reason = wire.ReasonNaturalHangup
	}
	other := l.other(c)
	h.send(other, &wire.Message{Type: wire.TypeHangup, Text: textRemote, From: c.name, To: other.name, Reason: reason})
}

// ringTimeout ends a leg nobody answered: the caller gets a Fail its client
// understands, the callee stops ringing.
func (h *Hub) ringTimeout(l *leg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.ended || l.active {
		return
	}
	h.endLeg(l)
	c, e := l.caller, l.callee
	h.send(c, &wire.Message{Type: wire.TypeInvite, Text: textStart, Status: wire.StatusFail, From: c.name, To: e.name, Reason: wire.ReasonNoAnswer})
	h.send(e, &wire.Message{Type: wire.TypeHangup, Text: textRemote, From: c.name, To: e.name, Reason: wire.ReasonNoAnswer})
}

func isObject(r []byte) bool {
	r = bytes.TrimLeft(r, " \t\r\n")
	return len(r) > 0 && r[0] == '{'
}

// clip shortens a client's value for an error reason.
func clip(r []byte) string {
	if len(r) > 40 {
		return string(r[:40]) + "..."
	}
	if len(r) == 0 {
		return "(none)"
	}
	return string(r)
}
