package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Message
		err  error
	}{
		{`{"type":"Register","text":"alice","from":"x","id":"1","date":1}`, Message{Type: "Register", Text: raw(`"alice"`)}, nil},
		{` {"type":"ICE Candidate","text":{"candidate":"c"} ,"to":"bob"}`, Message{Type: "ICE Candidate", Text: raw(`{"candidate":"c"}`), To: "bob"}, nil},
		{`{"type":"Register","text":null,"param2":"delta","param1":7}`, Message{Type: "Register", Param1: raw(`7`), Param2: raw(`"delta"`)}, nil},
		{`{"type":"Echo","users":[{"name":"spoof"}],"date":"not a number"}`, Message{Type: "Echo"}, nil},
		{`null`, Message{}, ErrNotObject},
		{`[]`, Message{}, ErrNotObject},
		{`{"type":"Echo"`, Message{}, ErrInvalidJSON},
		{`{"type":""}`, Message{}, ErrNoType},
		{`{"type":true}`, Message{}, ErrInvalidJSON},
		{"{\"type\":\"\xc3\x28\"}", Message{}, ErrInvalidUTF8},
	} {
		got, err := Decode([]byte(tc.in))
		if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%q) = %+v, %v, want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{Message{Type: "Socket Event", Text: raw(`"Connected"`), ID: "1", Date: 5}, `{"type":"Socket Event","text":"Connected","id":"1","date":5}`},
		{Message{Type: "Get Users"}, `{"type":"Get Users","users":[]}`},
		{Message{Type: "Users Delta", Left: []string{"a"}}, `{"type":"Users Delta","joined":[],"left":["a"]}`},
		{Message{Type: "x", Reason: "q\"\\\n\t\x01\u2028é\xff"}, `{"type":"x","reason":"q\"\\\n\t\u0001\u2028é\ufffd"}`},
		{Message{Type: "Get Users", Users: []User{{Name: "d", RegDate: 1, Kind: "door"}}}, `{"type":"Get Users","users":[{"name":"d","regdate":1,"kind":"door"}]}`},
		{Message{Type: "Users Delta", Changed: []User{{Name: "d", Kind: "door", State: PresenceInCall, With: "a"}}},
			`{"type":"Users Delta","joined":[],"left":[],"changed":[{"name":"d","regdate":0,"kind":"door","state":"incall","with":"a"}]}`},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%+v) = %s, %v, want %s", tc.m, b, err, tc.want)
		}
	}
	if _, err := json.Marshal(Message{Type: "x", Text: raw(`{bad`)}); err == nil {
		t.Error("Marshal with invalid Text: no error")
	}
}

// decodeRef is Decode written with encoding/json alone, for FuzzDecode to
// compare against.
func decodeRef(data []byte) (Message, error) {
	if !utf8.Valid(data) || !json.Valid(data) {
		return Message{}, ErrInvalidJSON
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return Message{}, ErrNotObject
	}
	var m Message
	for k, v := range obj {
		var s *string
		switch k {
		case "type":
			s = &m.Type
		case "status":
			s = &m.Status
		case "to":
			s = &m.To
		case "reason":
			s = &m.Reason
		case "text", "param1", "param2":
			if string(v) != "null" {
				*map[string]*json.RawMessage{"text": &m.Text, "param1": &m.Param1, "param2": &m.Param2}[k] = v
			}
		}
		if s != nil {
			if err := json.Unmarshal(v, s); err != nil {
				return Message{}, err
			}
		}
	}
	if m.Type == "" {
		return Message{}, ErrNoType
	}
	return m, nil
}

// FuzzDecode: Decode never panics, agrees with a decoder built on
// encoding/json, and what it accepts survives the hub's encoder unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"Register","text":"alice"}`,
		`{"type":"Caller Session Description","text":{"type":"offer","sdp":"v=0\r\n"},"to":"bob"}`,
		`{"type":"Invite","text":"Start","to":"b\u00e9","reason":"\u2028"}`,
		`null`, `{"type":5}`, "{\"type\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if !reflect.DeepEqual(m, Message{}) {
				t.Fatalf("Decode(%q) = %+v with error %v", data, m, err)
			}
			if _, rerr := decodeRef(data); rerr == nil {
				t.Fatalf("Decode(%q): %v, reference decoder accepts it", data, err)
			}
			return
		}
		if !utf8.Valid(data) || !json.Valid(data) || m.Type == "" {
			t.Fatalf("Decode(%q) accepted %+v", data, m)
		}
		if ref, err := decodeRef(data); err != nil || !reflect.DeepEqual(ref, m) {
			t.Fatalf("Decode(%q) = %+v, reference decoder %+v, %v", data, m, ref, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(Decode(%q)): %v", data, err)
		}
		again, err := Decode(b)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("Decode(Marshal(Decode(%q))) = %+v, %v, want %+v", data, again, err, m)
		}
	})
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }
