package hub

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// register gives c the name in m, or says why not. Called with h.mu held.
func (h *Hub) register(c *client, m *wire.Message) {
	fail := func(reason string) {
		r := wire.Message{Type: wire.TypeRegister, Status: wire.StatusFail, Reason: reason}
		if _, ok := wire.Unquote(m.Text); ok {
			r.Text = m.Text
		}
		h.send(c, &r)
	}
	name, err := checkName(m.Text)
	if err != nil {
		fail(err.Error())
		return
	}
	if c.name != "" {
		if c.name == name {
			h.registered(c) // idempotent: say OK again
			return
		}
		fail("already registered as " + c.name)
		return
	}
	if c.waiting != "" {
		fail("registration of " + c.waiting + " is pending")
		return
	}
	if other := h.looksLike(name); other != "" {
		fail("name looks like " + other)
		return
	}
	c.delta = string(m.Param2) == `"delta"`
	holder := h.users[name]
	if holder == nil {
		h.take(c, name)
		return
	}
	if holder.local != nil {
		fail("name already in use")
		return
	}
	// The holder may be a dead socket that has not timed out yet (a phone
	// that lost its network and reconnects): probe it, and answer when it
	// answers or is gone.
	c.waiting = name
	holder.waiters = append(holder.waiters, c)
	if !holder.probing {
		holder.probing = true
		holder.out.probe(h.probeWait)
	}
}

// take registers c as name. Called with h.mu held.
func (h *Hub) take(c *client, name string) {
	c.name = name
	c.waiting = ""
	c.regdate = time.Now().UnixMilli()
	u := wire.User{Name: name, RegDate: c.regdate, Kind: c.kind}
	c.entry = u.AppendJSON(nil)
	c.short = u.AppendShort(nil)
	h.users[name] = c
	h.looks[lookalike(name)] = name
	c.idx = len(h.order)
	h.order = append(h.order, c)
	h.joined = append(h.joined, c)
	h.registered(c)
	h.log.Debug("registered", "name", name, "kind", c.kind, "users", len(h.users))
	h.ringParked(c)
}

// registered sends the Register reply and schedules c's first list.
func (h *Hub) registered(c *client) {
	h.send(c, &wire.Message{
		Type: wire.TypeRegister, Text: wire.Quote(c.name), Status: wire.StatusOK, From: wire.ServerName,
		To: c.name, Reason: "Requested", Param1: json.RawMessage(strconv.Itoa(len(h.users))),
	})
	c.needFull = true
	h.listChanged()
}

// answeredProbe is called when a probed holder proves alive: whoever wanted
// its name is refused.
func (h *Hub) answeredProbe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.gone || !c.probing {
		return
	}
	c.probing = false
	waiters := c.waiters
	c.waiters = nil
	for _, w := range waiters {
		if w.gone || w.waiting != c.name {
			continue
		}
		w.waiting = ""
		h.send(w, &wire.Message{Type: wire.TypeRegister, Text: wire.Quote(c.name), Status: wire.StatusFail, Reason: "name already in use"})
	}
}

// looksLike names a registered or reserved name that name could be taken
// for ("" when none). The same name is no look-alike of itself. Called with
// h.mu held.
func (h *Hub) looksLike(name string) string {
	key := lookalike(name)
	if other, ok := h.looks[key]; ok && other != name {
		return other
	}
	for _, r := range h.cfg.Reserved {
		if r != name && lookalike(r) == key {
			return r
		}
	}
	return ""
}
