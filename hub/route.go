package hub

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
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
	m, err := Decode(data)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.gone {
		return
	}
	if err != nil {
		h.refuse(c, "", err.Error())
		return
	}
	h.route(c, &m)
}

// route acts on one decoded message. Called with h.mu held.
func (h *Hub) route(c *client, m *Message) {
	switch m.Type {
	case TypeRegister:
		h.register(c, m)
		return
	case TypeEcho:
		h.send(c, &Message{Type: TypeEcho, Text: m.Text, Status: StatusOK, From: ServerName, To: c.name, Reason: "Requested"})
		return
	case TypeSocketEvent:
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
	case TypeGetUsers:
		c.needFull = true
		h.listChanged()
	case TypeInvite:
		h.invite(c, m)
	case TypeCallerSDP, TypeCalleeSDP, TypeICE, TypeOpenDoor:
		h.relay(c, m)
	case TypeHangup:
		h.hangup(c, m)
	default:
		h.refuse(c, m.Type, "only the hub sends "+m.Type)
	}
}

func knownType(t string) bool {
	switch t {
	case TypeGetUsers, TypeInvite, TypeCallerSDP, TypeCalleeSDP, TypeICE, TypeHangup, TypeOpenDoor,
		TypeUsersDelta, TypeError:
		return true
	}
	return false
}

// invite handles the Invite verbs. Called with h.mu held.
func (h *Hub) invite(c *client, m *Message) {
	sub, _ := m.TextString()
	switch sub {
	case "Start":
		h.inviteStart(c, m.To)
	case StatusRinging, StatusAccepted, StatusRejected, StatusBusy:
		h.inviteAnswer(c, sub, m)
	default:
		h.refuse(c, TypeInvite, fmt.Sprintf("unknown Invite text %s", clip(m.Text)))
	}
}

// inviteStart rings callee `to` for caller c, or tells c why not, in the
// shape the seed client understands (Invite / Start / status).
func (h *Hub) inviteStart(c *client, to string) {
	reply := func(status, reason string) {
		h.send(c, &Message{Type: TypeInvite, Text: textStart, Status: status, From: c.name, To: to, Reason: reason})
	}
	e := h.users[to]
	switch {
	case to == c.name:
		reply(StatusFail, "Cannot call self!")
	case e == nil:
		reply(StatusFail, strconv.Quote(to)+" is not online")
	case c.inCall():
		reply(StatusFail, "you are already in a call")
	case c.legWith(e) != nil:
		reply(StatusFail, "already calling "+to)
	case len(e.legs) > 0:
		reply(StatusBusy, to+" is busy")
	default:
		l := &leg{caller: c, callee: e}
		c.legs = append(c.legs, l)
		e.legs = append(e.legs, l)
		l.timer = time.AfterFunc(h.cfg.RingTimeout, func() { h.ringTimeout(l) })
		h.send(e, &Message{Type: TypeInvite, Text: textIncoming, From: c.name, To: e.name})
		reply(StatusAttempting, "")
	}
}

// inviteAnswer relays a callee's Ringing, Accepted, Rejected or Busy to its
// caller as Invite / Start / status. Called with h.mu held.
func (h *Hub) inviteAnswer(e *client, sub string, m *Message) {
	l := e.ringingFrom(m.To)
	if l == nil {
		h.refuse(e, TypeInvite, "no incoming call from "+strconv.Quote(m.To))
		return
	}
	c := l.caller
	switch sub {
	case StatusAccepted:
		if c.activeLeg() != nil {
			// Forking: another callee of this caller was first.
			h.endLeg(l)
			h.send(e, &Message{Type: TypeHangup, Text: textRemote, From: c.name, To: e.name, Reason: ReasonAnsweredElsewhere})
			return
		}
		l.active = true
		l.timer.Stop()
	case StatusRejected, StatusBusy:
		h.endLeg(l)
	}
	h.send(c, &Message{Type: TypeInvite, Text: textStart, Status: sub, From: e.name, To: c.name, Reason: m.Reason})
}

// relay passes SDP, ICE and Open Door messages between the two parties of
// an active call, and nowhere else. Called with h.mu held.
func (h *Hub) relay(c *client, m *Message) {
	l := c.legWith(h.users[m.To])
	if l == nil || !l.active {
		h.refuse(c, m.Type, "no call with "+strconv.Quote(m.To))
		return
	}
	switch {
	case m.Type == TypeCallerSDP && c != l.caller:
		h.refuse(c, m.Type, "only the caller sends the offer")
		return
	case m.Type == TypeCalleeSDP && c != l.callee:
		h.refuse(c, m.Type, "only the callee sends the answer")
		return
	case m.Type != TypeOpenDoor && !isObject(m.Text):
		h.refuse(c, m.Type, "text must be a JSON object")
		return
	}
	out := &Message{Type: m.Type, Text: m.Text, From: c.name, To: m.To}
	if m.Type == TypeOpenDoor {
		out.Status, out.Reason = m.Status, m.Reason
	}
	h.send(l.other(c), out)
}

// hangup ends a call leg, ringing or active, at either party's request;
// the other party gets Hangup / Remote. Called with h.mu held.
func (h *Hub) hangup(c *client, m *Message) {
	if sub, _ := m.TextString(); sub != "Local" {
		h.refuse(c, TypeHangup, fmt.Sprintf("unknown Hangup text %s", clip(m.Text)))
		return
	}
	l := c.legWith(h.users[m.To])
	if l == nil {
		h.refuse(c, TypeHangup, "no call with "+strconv.Quote(m.To))
		return
	}
	h.endLeg(l)
	reason := m.Reason
	if reason == "" {
		reason = ReasonNaturalHangup
	}
	other := l.other(c)
	h.send(other, &Message{Type: TypeHangup, Text: textRemote, From: c.name, To: other.name, Reason: reason})
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
	h.send(c, &Message{Type: TypeInvite, Text: textStart, Status: StatusFail, From: c.name, To: e.name, Reason: ReasonNoAnswer})
	h.send(e, &Message{Type: TypeHangup, Text: textRemote, From: c.name, To: e.name, Reason: ReasonNoAnswer})
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
