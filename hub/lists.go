package hub

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// flushLists sends every client that needs one its user list: a full list
// to clients that just registered or asked, and, when users came or went, the
// full list to seed clients and a Users Delta to clients that asked for
// deltas. Each kind of list is encoded once and its bytes shared, so a flush
// costs O(N) however many users changed. It returns the number of users.
func (h *Hub) flushLists() int {
	h.mu.Lock()
	defer h.mu.Unlock()

	now := time.Now().UnixMilli()
	moved := h.presenceChanges()
	var joined []*client
	for _, c := range h.joined {
		if !c.gone {
			joined = append(joined, c)
		}
		c.listed = true
	}
	// Seed clients get a new list when users came or went; delta clients
	// also when someone's presence changed.
	changed := len(joined) > 0 || len(h.left) > 0
	deltaChanged := changed || len(moved) > 0

	var (
		full, short, delta []byte
		fullMsg, deltaMsg  *wire.Message
	)
	// fullList is the whole list: seed entries, or the short entries of
	// delta clients (their list is N names for each of N users, so the
	// bytes per entry decide what a crowd costs).
	fullList := func(local, compact bool) (*wire.Message, []byte) {
		buf := &full
		if compact {
			buf = &short
		}
		if *buf == nil {
			size := 128
			for _, c := range h.order {
				size += len(c.entry) + 1
			}
			b := make([]byte, 0, size)
			b = append(b, `{"type":"Get Users","text":"OK","status":"OK","from":"Server","reason":"Requested","id":"1","date":`...)
			b = strconv.AppendInt(b, now, 10)
			b = append(b, `,"users":[`...)
			for i, c := range h.order {
				if i > 0 {
					b = append(b, ',')
				}
				if compact {
					b = append(b, c.short...)
				} else {
					b = append(b, c.entry...)
				}
			}
			*buf = append(b, ']', '}')
		}
		if local && fullMsg == nil {
			fullMsg = &wire.Message{Type: wire.TypeGetUsers, Text: textOK, Status: wire.StatusOK, From: wire.ServerName,
				Reason: "Requested", ID: "1", Date: now, Users: users(h.order)}
		}
		return fullMsg, *buf
	}
	deltaList := func(local bool) (*wire.Message, []byte) {
		if delta == nil {
			b := append(make([]byte, 0, 64+len(joined)*32), `{"type":"Users Delta","id":"1","date":`...)
			b = strconv.AppendInt(b, now, 10)
			b = append(b, `,"joined":[`...)
			for i, c := range joined {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, c.short...)
			}
			b = append(b, `],"left":[`...)
			for i, n := range h.left {
				if i > 0 {
					b = append(b, ',')
				}
				b = wire.AppendString(b, n)
			}
			b = append(b, ']')
			if len(moved) > 0 {
				b = append(b, `,"changed":[`...)
				for i, c := range moved {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, c.short...)
				}
				b = append(b, ']')
			}
			delta = append(b, '}')
		}
		if local && deltaMsg == nil {
			deltaMsg = &wire.Message{Type: wire.TypeUsersDelta, ID: "1", Date: now, Joined: users(joined),
				Left: append([]string{}, h.left...)}
			if len(moved) > 0 {
				deltaMsg.Changed = users(moved)
			}
		}
		return deltaMsg, delta
	}

	for _, c := range h.order {
		var (
			m    *wire.Message
			b    []byte
			list bool
		)
		switch {
		case c.needFull:
			c.needFull = false
			m, b = fullList(c.local != nil, c.delta)
			list = !c.delta
		case c.delta && deltaChanged:
			m, b = deltaList(c.local != nil)
		case c.delta || !changed:
			continue
		default:
			m, b = fullList(c.local != nil, false)
			list = true
		}
		if !c.out.push(m, b, list) {
			h.drop(c, "too slow: outbound queue full")
		}
	}
	clear(h.joined)
	h.joined = h.joined[:0]
	h.left = nil
	return len(h.order)
}

// users are the list entries of cs, presence included, for in-process users.
func users(cs []*client) []wire.User {
	us := make([]wire.User, len(cs))
	for i, c := range cs {
		us[i] = c.user()
	}
	return us
}

// Raw texts the hub sends often.
var (
	textOK       = json.RawMessage(`"OK"`)
	textStart    = json.RawMessage(`"Start"`)
	textIncoming = json.RawMessage(`"Incoming"`)
	paramLook    = json.RawMessage(`"` + wire.ParamLook + `"`)
	textRemote   = json.RawMessage(`"Remote"`)
	textConn     = json.RawMessage(`"Connected"`)
)
