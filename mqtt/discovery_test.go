package mqtt

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// haKeys are the keys Home Assistant's MQTT discovery schema knows for each
// component (homeassistant/components/mqtt: schemas.py's common entity keys,
// then event.py, sensor.py, binary_sensor.py, button.py, image.py), with the
// ones it requires. Its discovery schema silently drops unknown keys, so a
// misspelt key here would do nothing: the test rejects it.
var (
	haCommon = []string{"availability_topic", "availability_template", "payload_available", "payload_not_available",
		"availability_mode", "availability", "device", "origin", "enabled_by_default", "entity_category", "icon",
		"json_attributes_topic", "json_attributes_template", "object_id", "unique_id", "name", "qos", "encoding"}
	haKeys = map[string][]string{
		"event":         {"state_topic", "value_template", "device_class", "event_types"},
		"sensor":        {"state_topic", "value_template", "device_class", "expire_after", "force_update", "last_reset_value_template", "options", "suggested_display_precision", "state_class", "unit_of_measurement"},
		"binary_sensor": {"state_topic", "value_template", "device_class", "expire_after", "force_update", "off_delay", "payload_on", "payload_off"},
		"button":        {"command_topic", "command_template", "device_class", "payload_press", "retain"},
		"image":         {"content_type", "image_topic", "url_topic", "image_encoding", "url_template"},
	}
	haRequired = map[string][]string{
		"event":         {"state_topic", "event_types"},
		"sensor":        {"state_topic"},
		"binary_sensor": {"state_topic"},
		"button":        {"command_topic"},
		"image":         {"image_topic"},
	}
	haDeviceKeys = []string{"identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version",
		"serial_number", "sw_version", "via_device", "suggested_area", "configuration_url"}
	// discovery.py's TOPIC_MATCHER, after the discovery prefix.
	haTopic = regexp.MustCompile(`^(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config$`)
)

func testDiscovery(allowOpen, image bool) discovery {
	cfg := Config{Broker: "mqtt://broker", Node: NodeID("Front door!"), Version: "1.2.3", ConfigURL: "https://door.local/", AllowOpenDoor: allowOpen}
	cfg.setDefaults()
	return discovery{cfg: cfg, t: newTopics(cfg.TopicPrefix, cfg.DiscoveryPrefix), hasImage: image}
}

// Every announced config is one Home Assistant accepts: its required keys,
// no key it does not know, a device with an identifier, a discovery topic it
// parses.
func TestDiscoverySchema(t *testing.T) {
	for _, tc := range []struct {
		open, image bool
		want        []string
	}{
		{false, false, []string{"event/doorbell", "sensor/state", "binary_sensor/ringing", "binary_sensor/in_call", "button/ring"}},
		{true, true, []string{"event/doorbell", "sensor/state", "binary_sensor/ringing", "binary_sensor/in_call", "button/ring", "button/open", "image/snapshot"}},
	} {
		d := testDiscovery(tc.open, tc.image)
		var got []string
		ids := map[string]bool{}
		for _, m := range d.announce() {
			rest, ok := strings.CutPrefix(m.topic, "homeassistant/")
			match := haTopic.FindStringSubmatch(rest)
			if !ok || match == nil {
				t.Fatalf("discovery topic %q: Home Assistant would not parse it", m.topic)
			}
			if !m.retain {
				t.Errorf("%s: not retained", m.topic)
			}
			if len(m.payload) == 0 {
				continue // a removal
			}
			component, object := match[1], match[3]
			got = append(got, component+"/"+object)
			var cfg map[string]any
			if err := json.Unmarshal(m.payload, &cfg); err != nil {
				t.Fatalf("%s: %v", m.topic, err)
			}
			known := append(slices.Clone(haCommon), haKeys[component]...)
			if haKeys[component] == nil {
				t.Fatalf("%s: component %q is not one this test knows", m.topic, component)
			}
			for k := range cfg {
				if !slices.Contains(known, k) {
					t.Errorf("%s: key %q is not in Home Assistant's %s schema", m.topic, k, component)
				}
			}
			for _, k := range haRequired[component] {
				if _, ok := cfg[k]; !ok {
					t.Errorf("%s: required key %q missing", m.topic, k)
				}
			}
			id, _ := cfg["unique_id"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s: unique_id %q empty or used twice", m.topic, id)
			}
			ids[id] = true
			if cfg["availability_topic"] != "intercomd/Front_door/availability" {
				t.Errorf("%s: availability_topic = %v", m.topic, cfg["availability_topic"])
			}
			dev, _ := cfg["device"].(map[string]any)
			for k := range dev {
				if !slices.Contains(haDeviceKeys, k) {
					t.Errorf("%s: device key %q unknown to Home Assistant", m.topic, k)
				}
			}
			if idents, _ := dev["identifiers"].([]any); len(idents) == 0 || dev["name"] == "" || dev["sw_version"] != "1.2.3" || dev["configuration_url"] != "https://door.local/" || dev["model"] == nil {
				t.Errorf("%s: device = %v, want identifiers, name, model, sw_version and configuration_url", m.topic, dev)
			}
			if o, _ := cfg["origin"].(map[string]any); o["name"] == "" {
				t.Errorf("%s: origin without the name Home Assistant requires", m.topic)
			}
			switch component {
			case "event":
				if cfg["device_class"] != "doorbell" || !equalAny(cfg["event_types"], []string{"ring", "missed", "answered", "door_opened"}) {
					t.Errorf("event = %v, want a doorbell with ring, missed, answered, door_opened", cfg)
				}
			case "sensor":
				// sensor.py: options only with device class enum, never
				// with a unit or state class.
				if cfg["device_class"] != "enum" || cfg["unit_of_measurement"] != nil || cfg["state_class"] != nil ||
					!equalAny(cfg["options"], []string{"idle", "ringing", "incoming call", "in call"}) {
					t.Errorf("state sensor = %v, want an enum of the door's states", cfg)
				}
			case "button":
				if cfg["payload_press"] != pressPayload {
					t.Errorf("%s: payload_press = %v", m.topic, cfg["payload_press"])
				}
			case "image":
				if cfg["content_type"] != "image/jpeg" {
					t.Errorf("image content_type = %v", cfg["content_type"])
				}
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("open=%v image=%v: announced %v, want %v", tc.open, tc.image, got, tc.want)
		}
		// What is not announced is removed, so turning a feature off
		// takes its entity away.
		if n := len(d.announce()); n != len(d.remove()) {
			t.Errorf("open=%v image=%v: %d announce messages for %d entities", tc.open, tc.image, n, len(d.remove()))
		}
	}
}

func equalAny(v any, want []string) bool {
	l, _ := v.([]any)
	if len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

// The state sensor's value template reads what the door publishes, and each
// value is one of the sensor's options.
func TestStateValues(t *testing.T) {
	for _, tc := range []struct{ door, want string }{
		{"idle", "idle"}, {"calling", "ringing"}, {"ringing", "incoming call"}, {"incall", "in call"}, {"bogus", "idle"},
	} {
		if got := sensorState(tc.door); got != tc.want {
			t.Errorf("sensorState(%q) = %q, want %q", tc.door, got, tc.want)
		}
	}
}

func TestNodeID(t *testing.T) {
	for in, want := range map[string]string{"door": "door", "Front door!": "Front_door", "ü": "door", "a/b+c#": "a_b_c"} {
		if got := NodeID(in); got != want {
			t.Errorf("NodeID(%q) = %q, want %q", in, got, want)
		}
	}
}
