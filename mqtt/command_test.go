package mqtt

import (
	"errors"
	"testing"
)

var testTopics = newTopics("intercomd/door", "homeassistant")

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		topic    string
		payload  string
		retained bool
		want     command
		err      error
	}{
		{"intercomd/door/command/ring", "PRESS", false, cmdRing, nil},
		{"intercomd/door/command/open", "PRESS", false, cmdOpen, nil},
		{"homeassistant/status", "online", false, cmdHAOnline, nil},
		{"homeassistant/status", "offline", false, cmdHAOffline, nil},
		{"intercomd/door/command/open", "PRESS", true, 0, errRetained},
		{"intercomd/door/command/open", "press", false, 0, errBadPayload},
		{"intercomd/door/command/open", "PRESS ", false, 0, errBadPayload},
		{"intercomd/door/command/ring", "", false, 0, errBadPayload},
		{"intercomd/door/command/ring", `{"event":"PRESS"}`, false, 0, errBadPayload},
		{"homeassistant/status", "ONLINE", false, 0, errBadPayload},
		{"intercomd/door/command/unlock", "PRESS", false, 0, errUnknownTopic},
		{"intercomd/door/command/open/x", "PRESS", false, 0, errUnknownTopic},
		{"intercomd/other/command/open", "PRESS", false, 0, errUnknownTopic},
		{"", "PRESS", false, 0, errUnknownTopic},
	} {
		got, err := testTopics.decode(tc.topic, []byte(tc.payload), tc.retained)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("decode(%q, %q, retained=%v) = %v, %v; want %v, %v", tc.topic, tc.payload, tc.retained, got, err, tc.want, tc.err)
		}
	}
}

// Whatever arrives, decode does not panic, and it accepts only an exact,
// fresh press on a command topic or Home Assistant's status.
func FuzzDecode(f *testing.F) {
	f.Add("intercomd/door/command/open", []byte("PRESS"), false)
	f.Add("intercomd/door/command/ring", []byte("PRESS"), true)
	f.Add("homeassistant/status", []byte("online"), false)
	f.Add("intercomd/door/command/#", []byte("\x00\xff"), false)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, retained bool) {
		cmd, err := testTopics.decode(topic, payload, retained)
		if err != nil {
			if cmd != 0 {
				t.Fatalf("decode(%q, %q) = %v with error %v", topic, payload, cmd, err)
			}
			return
		}
		switch cmd {
		case cmdRing, cmdOpen:
			if retained || string(payload) != pressPayload || (topic != testTopics.ring && topic != testTopics.open) {
				t.Fatalf("decode(%q, %q, retained=%v) accepted %v", topic, payload, retained, cmd)
			}
		case cmdHAOnline, cmdHAOffline:
			if topic != testTopics.haStatus {
				t.Fatalf("decode(%q, %q) = %v", topic, payload, cmd)
			}
		default:
			t.Fatalf("decode(%q, %q) = unknown command %d without error", topic, payload, cmd)
		}
	})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Broker: "mqtt://192.168.1.2"}, true},
		{Config{Broker: "mqtts://ha.local:8883", CAFile: "/etc/ca.pem"}, true},
		{Config{Broker: ""}, false},
		{Config{Broker: "tcp://ha.local"}, false},
		{Config{Broker: "http://ha.local"}, false},
		{Config{Broker: "mqtt://user:pw@ha.local"}, false},
		{Config{Broker: "mqtt://"}, false},
		{Config{Broker: "mqtt://ha.local/x"}, false},
		{Config{Broker: "mqtt://ha.local", CertFile: "c.pem"}, false},
		{Config{Broker: "mqtt://ha.local", Password: "x"}, false},
		{Config{Broker: "mqtt://ha.local", TopicPrefix: "intercomd/+"}, false},
		{Config{Broker: "mqtt://ha.local", TopicPrefix: "/intercomd"}, false},
		{Config{Broker: "mqtt://ha.local", DiscoveryPrefix: "ha/#"}, false},
		{Config{Broker: "mqtt://ha.local", ConfigURL: "door.local"}, false},
		{Config{Broker: "mqtt://ha.local", ConfigURL: "https://door.local/"}, true},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
	u, err := brokerURL("mqtts://ha.local")
	if err != nil || u.Host != "ha.local:8883" {
		t.Errorf("brokerURL(mqtts://ha.local) = %v, %v; want port 8883 added", u, err)
	}
}
