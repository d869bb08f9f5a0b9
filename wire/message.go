// Package wire is intercomd's signalling envelope: the one message type the
// hub, the door and every client share, its type constants, and its encoder
// and decoder (docs/PROTOCOL.md). It imports only the standard library.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Message types. The seed's verbs keep their spaces; "Error", "Users Delta",
// "Open Door" and "Talk" are intercomd's extensions (docs/PROTOCOL.md).
const (
	TypeSocketEvent = "Socket Event"
	TypeRegister    = "Register"
	TypeGetUsers    = "Get Users"
	TypeUsersDelta  = "Users Delta"
	TypeEcho        = "Echo"
	TypeInvite      = "Invite"
	TypeCallerSDP   = "Caller Session Description"
	TypeCalleeSDP   = "Callee Session Description"
	TypeICE         = "ICE Candidate"
	TypeHangup      = "Hangup"
	TypeOpenDoor    = "Open Door"
	TypeTalk        = "Talk"
	TypeError       = "Error"
)

// Statuses the hub sends.
const (
	StatusOK         = "OK"
	StatusAttempting = "Attempting"
	StatusRinging    = "Ringing"
	StatusAccepted   = "Accepted"
	StatusRejected   = "Rejected"
	StatusBusy       = "Busy"
	StatusFail       = "Fail"
)

// Reasons the hub itself gives when it ends a call leg.
const (
	ReasonNoAnswer          = "No answer"
	ReasonConnectionLost    = "Connection lost"
	ReasonAnsweredElsewhere = "Answered elsewhere"
	ReasonNaturalHangup     = "Natural Hangup"
)

// ParamLook is Param2 of an Invite that starts a silent look at a door.
const ParamLook = "look"

// Kinds of users in the user list.
const (
	// KindBrowser is the kind of every socket client.
	KindBrowser = "browser"
	// KindDoor is the kind the door registers with.
	KindDoor = "door"
)

// ServerName is the from of messages the hub itself originates (Echo,
// Register and list replies), as in the seed. No user may take it.
const ServerName = "Server"

// Message is one signalling message: the seed's JSON envelope plus
// intercomd's list fields. Text holds the raw JSON value: a quoted string for
// names and sub-verbs, an object for SDP and ICE; the hub relays SDP and ICE
// text byte for byte. json.Marshal(m) gives exactly what the hub puts on the
// wire.
type Message struct {
	Type   string          `json:"type"`
	Text   json.RawMessage `json:"text,omitempty"`
	Status string          `json:"status,omitempty"`
	// From is set by the hub to the sender's registered name; a From that
	// a client sends is ignored.
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Param1 is the user count in a Register reply (a JSON number).
	Param1 json.RawMessage `json:"param1,omitempty"`
	// Param2 "delta" in a Register asks for Users Delta messages; "look"
	// in an Invite Start (passed on in the callee's Invite Incoming) asks a
	// door for a silent look: its in-call light stays off until Talk.
	Param2 json.RawMessage `json:"param2,omitempty"`
	// ID is always "1" and Date the time in ms since the epoch, as in the
	// seed; the hub sets both on what it sends and ignores them on input.
	ID   string `json:"id,omitempty"`
	Date int64  `json:"date,omitempty"`
	// Users is the whole list of a "Get Users" message (always present
	// there, possibly empty).
	Users []User `json:"users,omitempty"`
	// Joined and Left are the changes of a "Users Delta" message: apply
	// Left first, then Joined.
	Joined []User   `json:"joined,omitempty"`
	Left   []string `json:"left,omitempty"`
	// Changed, in a "Users Delta" message, holds the new entries of listed
	// users whose presence changed (only when there are any).
	Changed []User `json:"changed,omitempty"`
}

// User is one entry of a user list.
type User struct {
	Name string `json:"name"`
	// RegDate is when the user registered, in ms since the epoch.
	RegDate int64 `json:"regdate"`
	// Kind is "browser" for socket clients; in-process users give their
	// own (the door registers as "door").
	Kind string `json:"kind,omitempty"`
	// State is the user's presence, which the hub derives from its calls:
	// "" (available), PresenceRinging or PresenceInCall. Only clients that
	// asked for deltas get it; the seed client's entries never carry it.
	State string `json:"state,omitempty"`
	// With is whom a door talks to while State is PresenceInCall.
	With string `json:"with,omitempty"`
}

// Presence states of a list entry (User.State); available is "".
const (
	// PresenceRinging: the user rings someone or is being rung.
	PresenceRinging = "ringing"
	// PresenceInCall: the user is in an answered call.
	PresenceInCall = "incall"
)

// Errors of Decode; the hub puts their text in the Error reply's reason.
var (
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	ErrInvalidJSON = errors.New("invalid JSON")
	ErrNotObject   = errors.New("message must be a JSON object")
	ErrNoType      = errors.New("message has no type")
)

// TextString returns Text as a string when it is a JSON string.
func (m *Message) TextString() (string, bool) {
	return Unquote(m.Text)
}

// Unquote unquotes a raw JSON string value without allocating when it
// holds no escapes.
func Unquote(r json.RawMessage) (string, bool) {
	if len(r) < 2 || r[0] != '"' || r[len(r)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(r, '\\') < 0 && bytes.IndexByte(r[1:len(r)-1], '"') < 0 {
		return string(r[1 : len(r)-1]), true
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		return "", false
	}
	return s, true
}

// Quote returns s as a raw JSON string, for Text.
func Quote(s string) json.RawMessage {
	return AppendString(make([]byte, 0, len(s)+2), s)
}

// MarshalJSON encodes m exactly as the hub sends it: empty fields are
// left out, except that a "Get Users" message always has a users array and
// a "Users Delta" message always has joined and left arrays.
func (m Message) MarshalJSON() ([]byte, error) {
	b := m.AppendJSON(make([]byte, 0, 128+len(m.Text)))
	if !json.Valid(b) {
		return nil, fmt.Errorf("marshal %q message: %w", m.Type, ErrInvalidJSON)
	}
	return b, nil
}

// AppendJSON is the hub's encoder: one pass, no reflection. Raw fields are
// copied as they are, so the result is valid only if they are.
func (m *Message) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = AppendString(b, m.Type)
	if len(m.Text) > 0 {
		b = append(b, `,"text":`...)
		b = append(b, m.Text...)
	}
	b = appendField(b, "status", m.Status)
	b = appendField(b, "from", m.From)
	b = appendField(b, "to", m.To)
	b = appendField(b, "reason", m.Reason)
	if len(m.Param1) > 0 {
		b = append(b, `,"param1":`...)
		b = append(b, m.Param1...)
	}
	if len(m.Param2) > 0 {
		b = append(b, `,"param2":`...)
		b = append(b, m.Param2...)
	}
	b = appendField(b, "id", m.ID)
	if m.Date != 0 {
		b = append(b, `,"date":`...)
		b = strconv.AppendInt(b, m.Date, 10)
	}
	b = appendUsers(b, "users", m.Users, m.Type == TypeGetUsers)
	b = appendUsers(b, "joined", m.Joined, m.Type == TypeUsersDelta)
	if len(m.Left) > 0 || m.Type == TypeUsersDelta {
		b = append(b, `,"left":[`...)
		for i, n := range m.Left {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, n)
		}
		b = append(b, ']')
	}
	b = appendUsers(b, "changed", m.Changed, false)
	return append(b, '}')
}

// AppendJSON appends u as the seed's list entry (with state and with when
// set; the hub never sets them in the seed client's entries).
func (u *User) AppendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = AppendString(b, u.Name)
	b = append(b, `,"regdate":`...)
	b = strconv.AppendInt(b, u.RegDate, 10)
	b = appendField(b, "kind", u.Kind)
	b = appendField(b, "state", u.State)
	b = appendField(b, "with", u.With)
	return append(b, '}')
}

// AppendShort encodes u for clients that asked for deltas: the name, the
// kind unless it is a browser (their client's default), and the presence
// when it is not available. The seed's
// client, which needs regdate, never gets these.
func (u *User) AppendShort(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = AppendString(b, u.Name)
	if u.Kind != KindBrowser {
		b = appendField(b, "kind", u.Kind)
	}
	b = appendField(b, "state", u.State)
	b = appendField(b, "with", u.With)
	return append(b, '}')
}

// appendUsers appends the list us as key, when it has entries or always.
func appendUsers(b []byte, key string, us []User, always bool) []byte {
	if len(us) == 0 && !always {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '[')
	for i := range us {
		if i > 0 {
			b = append(b, ',')
		}
		b = us[i].AppendJSON(b)
	}
	return append(b, ']')
}

func appendField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return AppendString(b, v)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so the output is also valid JavaScript.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
