package device

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// setupTimeout bounds making an offer or an answer.
const setupTimeout = 10 * time.Second

func (c *Controller) onMessage(m wire.Message) {
	switch m.Type {
	case wire.TypeRegister:
		c.onRegister(m)
	case wire.TypeGetUsers:
		clear(c.users)
		for _, u := range m.Users {
			c.users[u.Name] = u
		}
		c.ringLateJoiners()
	case wire.TypeUsersDelta:
		for _, name := range m.Left {
			delete(c.users, name)
			delete(c.rung, name) // coming back (from a notification) rings again
		}
		for _, u := range m.Joined {
			c.users[u.Name] = u
		}
		c.ringLateJoiners()
	case wire.TypeInvite:
		c.onInvite(m)
	case wire.TypeCallerSDP:
		c.onOffer(m)
	case wire.TypeCalleeSDP:
		c.onAnswer(m)
	case wire.TypeICE:
		if m.From == c.peer && c.call != nil {
			if err := c.call.AddCandidate(m.Text); err != nil {
				c.log.Warn("remote candidate refused", "peer", m.From, "err", err)
			}
		}
	case wire.TypeHangup:
		c.onHangup(m)
	case wire.TypeOpenDoor:
		c.onOpenDoor(m)
	case wire.TypeTalk:
		c.onTalk(m)
	case wire.TypeError:
		c.log.Warn("hub refused a message", "type", text(m), "reason", m.Reason)
	}
}

func (c *Controller) onRegister(m wire.Message) {
	if m.Status == "OK" {
		c.registered = true
		c.log.Info("registered on the hub", "name", c.cfg.Name)
		return
	}
	c.registered = false
	c.log.Error("the hub refused the door's name; retrying", "name", c.cfg.Name, "reason", m.Reason, "retry", c.cfg.RegisterRetry)
	stop(&c.retry)
	c.retry = time.NewTimer(c.cfg.RegisterRetry)
}

// party names the other user of a status reply to the door's Invite.
func (c *Controller) party(m wire.Message) string {
	if m.From != "" && m.From != c.cfg.Name {
		return m.From
	}
	return m.To
}

func (c *Controller) onInvite(m wire.Message) {
	switch text(m) {
	case "Incoming":
		c.onIncoming(m.From, string(m.Param2) == `"`+wire.ParamLook+`"`)
	case "Start":
		c.onInviteStatus(c.party(m), m.Status, m.Reason)
	}
}

// onIncoming: a resident calls the door; look asks for a silent look (the
// in-call light off until Talk).
func (c *Controller) onIncoming(from string, look bool) {
	if c.state != StateIdle {
		// The hub answers Busy for a door in a call; this is a race with the
		// door's own ring group, so say no the protocol's way.
		c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Rejected"), To: from, Reason: "Busy"})
		return
	}
	c.peer, c.caller, c.look = from, false, look
	c.newRing()
	c.emit(Event{Kind: EventIncoming, Peer: from})
	c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Ringing"), To: from})
	if c.cfg.Answer == AnswerAuto {
		c.accept()
		return
	}
	c.setState(StateRinging)
	c.deadline = time.NewTimer(c.cfg.AnswerTimeout)
}

func (c *Controller) answer() error {
	if c.state != StateRinging {
		return errNotRinging
	}
	c.accept()
	return nil
}

// accept takes the ringing call: the resident, being the caller, then sends
// its offer.
func (c *Controller) accept() {
	stop(&c.deadline)
	if err := c.newCall(); err != nil {
		c.log.Error("cannot answer: media", "peer", c.peer, "err", err)
		c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Rejected"), To: c.peer, Reason: "Door media failed"})
		c.toIdle("Door media failed")
		return
	}
	c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Accepted"), To: c.peer})
	c.setState(StateInCall)
	c.deadline = time.NewTimer(c.cfg.MediaTimeout)
}

func (c *Controller) onOffer(m wire.Message) {
	if c.state != StateInCall || c.caller || m.From != c.peer || c.call == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, setupTimeout)
	defer cancel()
	answer, err := c.call.Answer(ctx, m.Text)
	if err != nil {
		c.log.Warn("cannot answer the offer", "peer", m.From, "err", err)
		c.endCall("Media negotiation failed")
		return
	}
	c.send(wire.Message{Type: wire.TypeCalleeSDP, Text: answer, To: c.peer})
}

func (c *Controller) onAnswer(m wire.Message) {
	if c.state != StateInCall || !c.caller || m.From != c.peer || c.call == nil {
		return
	}
	if err := c.call.SetAnswer(m.Text); err != nil {
		c.log.Warn("cannot apply the answer", "peer", m.From, "err", err)
		c.endCall("Media negotiation failed")
	}
}

// startCall rings the ring group (the Call button, or via).
func (c *Controller) startCall(via string) error {
	if !c.registered {
		return ErrNotRegistered
	}
	if c.state == StateRinging {
		// A visitor pressing Call while a resident's call rings answers it.
		c.accept()
		return nil
	}
	if c.state != StateIdle {
		return ErrBusy
	}
	targets := c.ringGroup()
	if len(targets) == 0 && !c.cfg.HoldRing {
		c.log.Warn("call button: nobody to ring", "ring_group", c.cfg.RingGroup)
		return ErrNobody
	}
	c.log.Info("ringing", "who", targets)
	clear(c.rung)
	for _, t := range targets {
		c.ringMember(t)
	}
	c.caller, c.peer = true, ""
	c.newRing()
	c.setState(StateCalling)
	c.emit(Event{Kind: EventRing, Via: via})
	c.deadline = time.NewTimer(c.cfg.RingTimeout)
	return nil
}

// ringGroup is who the door rings now: the configured names that are online,
// or every browser online.
func (c *Controller) ringGroup() []string {
	var out []string
	if len(c.cfg.RingGroup) > 0 {
		for _, n := range c.cfg.RingGroup {
			if _, ok := c.users[n]; ok && n != c.cfg.Name {
				out = append(out, n)
			}
		}
		return out
	}
	for n, u := range c.users {
		if n != c.cfg.Name && u.Kind != "door" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (c *Controller) onInviteStatus(from, status, reason string) {
	if c.state != StateCalling || !c.pending[from] {
		return
	}
	switch status {
	case "Accepted":
		delete(c.pending, from)
		c.cancelPending("Answered elsewhere")
		stop(&c.deadline)
		c.peer = from
		c.setState(StateInCall)
		c.deadline = time.NewTimer(c.cfg.MediaTimeout)
		c.emit(Event{Kind: EventRingAnswered, Peer: from})
		if err := c.newCall(); err != nil {
			c.log.Error("cannot call: media", "peer", from, "err", err)
			c.endCall("Door media failed")
			return
		}
		ctx, cancel := context.WithTimeout(c.ctx, setupTimeout)
		defer cancel()
		offer, err := c.call.Offer(ctx)
		if err != nil {
			c.log.Error("cannot make an offer", "peer", from, "err", err)
			c.endCall("Door media failed")
			return
		}
		c.send(wire.Message{Type: wire.TypeCallerSDP, Text: offer, To: from})
	case "Rejected", "Busy", "Fail":
		c.log.Info("ring group member declined", "who", from, "status", status, "reason", reason)
		delete(c.pending, from)
		if len(c.pending) == 0 && !c.cfg.HoldRing {
			c.log.Warn("missed call: nobody answered the door", "last", status)
			c.toIdle(or(reason, status))
		}
	}
}

// cancelPending stops every ring group member still ringing.
func (c *Controller) cancelPending(reason string) {
	for _, p := range sortedKeys(c.pending) {
		c.send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: p, Reason: reason})
	}
	clear(c.pending)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (c *Controller) onHangup(m wire.Message) {
	switch {
	case c.state == StateCalling && c.pending[m.From]:
		delete(c.pending, m.From)
		if len(c.pending) == 0 && !c.cfg.HoldRing {
			c.log.Warn("missed call: nobody answered the door", "last", "hangup "+m.Reason)
			c.toIdle(or(m.Reason, "Hangup"))
		}
	case (c.state == StateInCall || c.state == StateRinging) && m.From == c.peer:
		c.log.Info("the resident hung up", "peer", m.From, "reason", m.Reason)
		c.closeCall()
		c.toIdle(or(m.Reason, "Hangup"))
	}
}

// onDeadline: the door's ring or the resident's ring at the door timed out.
func (c *Controller) onDeadline() {
	switch c.state {
	case StateCalling:
		c.log.Warn("missed call: nobody answered the door", "after", c.cfg.RingTimeout)
		c.cancelPending("No answer")
		c.toIdle("No answer")
	case StateRinging:
		c.log.Info("nobody answered at the door", "caller", c.peer, "after", c.cfg.AnswerTimeout)
		c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Rejected"), To: c.peer, Reason: "No answer"})
		c.toIdle("No answer")
	case StateInCall:
		if !c.connected {
			c.log.Warn("call ended: media did not connect", "peer", c.peer, "after", c.cfg.MediaTimeout)
			c.endCall("No media")
		}
	}
}

func (c *Controller) hangup() error {
	switch c.state {
	case StateInCall:
		c.endCall("Requested")
	case StateRinging:
		c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Rejected"), To: c.peer, Reason: "Rejected at the door"})
		c.toIdle("Rejected at the door")
	case StateCalling:
		c.log.Info("the door cancelled its call")
		c.cancelPending("Cancelled")
		c.toIdle("Cancelled")
	default:
		return errNoCall
	}
	return nil
}

// endCall hangs up the current call with a reason the resident sees.
func (c *Controller) endCall(reason string) {
	if c.peer != "" {
		c.send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: c.peer, Reason: reason})
	}
	c.closeCall()
	c.toIdle(reason)
}

func (c *Controller) newCall() error {
	c.closeCall()
	c.callID++
	id := c.callID
	call, err := c.media.NewCall(c.peer, func(ev CallEvent) {
		c.post(event{callID: id, callEv: &ev})
	})
	if err != nil {
		return err
	}
	c.call, c.connected = call, false
	return nil
}

// closeCall lets go of the current call and tears it down on a goroutine of
// its own: a peer connection's close can hang (pion's DTLS and SRTP have
// deadlocked on it) and must never freeze the door or delay its next call.
func (c *Controller) closeCall() {
	stop(&c.grace)
	if c.call == nil {
		return
	}
	call, peer := c.call, c.peer
	c.call, c.connected = nil, false
	c.callID++
	c.closing.Add(1)
	go func() {
		defer c.closing.Done()
		done := make(chan error, 1)
		go func() { done <- call.Close() }()
		t := time.NewTimer(c.cfg.CloseTimeout)
		defer t.Stop()
		select {
		case err := <-done:
			if err != nil {
				c.log.Debug("close call", "peer", peer, "err", err)
			}
		case <-t.C:
			// Left to finish (or not) on its own; the door has moved on.
			c.log.Error("call teardown stuck: abandoned", "peer", peer, "after", c.cfg.CloseTimeout)
		}
	}()
}

// toIdle ends the ring or call, for reason.
func (c *Controller) toIdle(reason string) {
	stop(&c.deadline)
	clear(c.pending)
	clear(c.rung)
	peer := c.peer
	switch {
	case c.state == StateInCall:
		var dur time.Duration
		if !c.mediaUp.IsZero() {
			dur = time.Since(c.mediaUp)
		}
		c.emit(Event{Kind: EventCallEnded, Peer: peer, Dur: dur, Reason: reason})
	case c.ring != 0:
		c.emit(Event{Kind: EventRingMissed, Peer: peer, Reason: reason})
	}
	c.setState(StateIdle)
	c.peer, c.caller, c.look = "", false, false
	c.ring, c.mediaUp = 0, time.Time{}
}

// newRing gives the ring that starts now its id.
func (c *Controller) newRing() {
	c.rings++
	c.ring = c.rings
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func (c *Controller) onCallEvent(ev CallEvent) {
	if ev.Candidate != nil {
		c.send(wire.Message{Type: wire.TypeICE, Text: ev.Candidate, To: c.peer})
	}
	switch ev.State {
	case ConnConnected:
		stop(&c.grace)
		if !c.connected && c.state == StateInCall {
			c.connected = true
			stop(&c.deadline) // the media timeout
		}
		c.log.Info("media connected", "peer", c.peer)
		if c.mediaUp.IsZero() {
			c.mediaUp = time.Now()
			c.emit(Event{Kind: EventCallStarted, Peer: c.peer})
		}
	case ConnDisconnected:
		if c.grace == nil {
			c.grace = time.NewTimer(c.cfg.DisconnectGrace)
		}
	case ConnFailed, ConnClosed:
		// Closed is how a hang-up often arrives: the browser's DTLS close
		// can beat its Hangup through the hub. Failed is worth a look.
		level := slog.LevelWarn
		if ev.State == ConnClosed {
			level = slog.LevelInfo
		}
		c.log.Log(c.ctx, level, "media connection ended", "peer", c.peer, "state", ev.State)
		c.endCall("Connection lost")
	}
}

// onOpenDoor pulses the relay for the resident in a call with the door, and
// for nobody else.
func (c *Controller) onOpenDoor(m wire.Message) {
	if m.Status != "" {
		return // a reply, not a request
	}
	reply := wire.Message{Type: wire.TypeOpenDoor, To: m.From}
	switch {
	case c.state != StateInCall || m.From != c.peer:
		c.log.Warn("door opening refused: not in a call with the door", "by", m.From)
		reply.Status, reply.Reason = "Fail", "Only the resident in a call with the door can open it"
	case c.openDoor(m.From, "call") != nil:
		reply.Status, reply.Reason = "Fail", "This door has no door opener"
	default:
		reply.Status = "OK"
	}
	c.send(reply)
}

// onTalk: the resident of a silent look starts to talk; the in-call light
// says so to whoever is at the door from now on.
func (c *Controller) onTalk(m wire.Message) {
	if c.state != StateInCall || m.From != c.peer || !c.look || text(m) != "On" {
		return
	}
	c.look = false
	c.log.Info("the resident talks", "peer", c.peer)
	c.emit(Event{Kind: EventTalk, Peer: c.peer})
}

// openDoor pulses the relay for by; whether by may is the caller's call.
func (c *Controller) openDoor(by, via string) error {
	if c.panel.Relay == nil {
		return ErrNoRelay
	}
	c.panel.Relay.Pulse()
	// security=true: never held back by the log's flood limit (lograte).
	c.log.Info("door opened", "by", by, "via", via, "at", time.Now().Format(time.RFC3339), "security", true)
	c.emit(Event{Kind: EventDoorOpened, Peer: by, Via: via})
	return nil
}
