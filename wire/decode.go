package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Decode parses one frame from a client. It accepts only a JSON object in
// valid UTF-8 with a string type. Keys match exactly (the seed's are
// lowercase); a repeated key's last value wins. from, id, date and user lists
// are dropped because the hub sets them; a null text or param counts as
// absent.
//
// It checks the frame with json.Valid and then walks the top-level object
// itself, which costs a fraction of json.Unmarshal: this is the hub's
// per-message hot path.
func Decode(data []byte) (Message, error) {
	if !utf8.Valid(data) {
		return Message{}, ErrInvalidUTF8
	}
	i := skipSpace(data, 0)
	if !json.Valid(data) {
		return Message{}, ErrInvalidJSON
	}
	if data[i] != '{' {
		return Message{}, ErrNotObject
	}
	var m Message
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		end := skipString(data, i)
		key := data[i:end]
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // ':'
		end = skipValue(data, i)
		v := data[i:end]
		i = skipSpace(data, end)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		name := string(key[1 : len(key)-1])
		if bytes.IndexByte(key, '\\') >= 0 {
			json.Unmarshal(key, &name)
		}
		var err error
		switch name {
		case "type":
			m.Type, err = stringField(name, v)
		case "status":
			m.Status, err = stringField(name, v)
		case "to":
			m.To, err = stringField(name, v)
		case "reason":
			m.Reason, err = stringField(name, v)
		case "text":
			m.Text = rawField(v)
		case "param1":
			m.Param1 = rawField(v)
		case "param2":
			m.Param2 = rawField(v)
		}
		if err != nil {
			return Message{}, err
		}
	}
	if m.Type == "" {
		return Message{}, ErrNoType
	}
	return m, nil
}

// stringField unquotes a string value; null is "".
func stringField(name string, v []byte) (string, error) {
	if v[0] == 'n' {
		return "", nil
	}
	s, ok := Unquote(v)
	if !ok {
		return "", fmt.Errorf("%w: field %q has the wrong type", ErrInvalidJSON, name)
	}
	return s, nil
}

// rawField copies a raw value (the frame's buffer is reused); null is nil.
func rawField(v []byte) json.RawMessage {
	if v[0] == 'n' {
		return nil
	}
	return append(json.RawMessage(nil), v...)
}

// The skip functions walk JSON that json.Valid has accepted.

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at d[i].
func skipString(d []byte, i int) int {
	for i++; d[i] != '"'; i++ {
		if d[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// skipValue returns the index after the value that starts at d[i].
func skipValue(d []byte, i int) int {
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch d[i] {
			case '"':
				i = skipString(d, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for ; i < len(d); i++ {
		switch d[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}
