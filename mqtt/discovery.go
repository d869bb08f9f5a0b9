package mqtt

import (
	"encoding/json"
)

// topics are the door's own MQTT topics, under Config.TopicPrefix.
type topics struct {
	prefix       string
	availability string // "online"/"offline", retained, with the last will
	state        string // stateMessage JSON, retained
	event        string // eventMessage JSON, never retained (HA ignores replays)
	image        string // the latest visitor's JPEG, retained
	ring, open   string // button presses from Home Assistant
	haStatus     string // Home Assistant's birth and will: "online"/"offline"
}

func newTopics(prefix, discovery string) topics {
	return topics{
		prefix:       prefix,
		availability: prefix + "/availability",
		state:        prefix + "/state",
		event:        prefix + "/event",
		image:        prefix + "/snapshot",
		ring:         prefix + "/command/ring",
		open:         prefix + "/command/open",
		haStatus:     discovery + "/status",
	}
}

// Values of the state sensor (an enum sensor: Home Assistant checks them
// against options).
const (
	stateIdle     = "idle"
	stateRinging  = "ringing"       // the door rings its residents
	stateIncoming = "incoming call" // a resident calls the door, which waits for its Answer button
	stateInCall   = "in call"
)

// Event types of the doorbell event entity.
const (
	eventRing     = "ring"
	eventMissed   = "missed"
	eventAnswered = "answered"
	eventOpened   = "door_opened"
)

// message is one MQTT publication.
type message struct {
	topic   string
	payload []byte
	retain  bool
}

// entity is one Home Assistant entity of the door's device.
type entity struct {
	component string // event, sensor, binary_sensor, button, image
	object    string // unique within the device
	config    map[string]any
}

// discovery is what the door announces to Home Assistant.
type discovery struct {
	cfg      Config
	t        topics
	hasImage bool
}

// nodeID is the discovery topic's node id and the prefix of unique ids.
func (d discovery) nodeID() string { return "intercomd_" + d.cfg.Node }

func (d discovery) topic(e entity) string {
	return d.cfg.DiscoveryPrefix + "/" + e.component + "/" + d.nodeID() + "/" + e.object + "/config"
}

// entities lists the door's entities; the open button only when opening is
// allowed, the image only when there is a camera to take it.
func (d discovery) entities() []entity {
	es := []entity{
		{"event", "doorbell", map[string]any{
			"name":         "Doorbell",
			"device_class": "doorbell",
			"event_types":  []string{eventRing, eventMissed, eventAnswered, eventOpened},
			"state_topic":  d.t.event,
		}},
		{"sensor", "state", map[string]any{
			"name":                  "State",
			"device_class":          "enum",
			"options":               []string{stateIdle, stateRinging, stateIncoming, stateInCall},
			"state_topic":           d.t.state,
			"value_template":        "{{ value_json.state }}",
			"json_attributes_topic": d.t.state,
			"icon":                  "mdi:doorbell",
		}},
		{"binary_sensor", "ringing", map[string]any{
			"name":           "Ringing",
			"state_topic":    d.t.state,
			"value_template": "{{ 'ON' if value_json.state == 'ringing' else 'OFF' }}",
			"icon":           "mdi:bell-ring",
		}},
		{"binary_sensor", "in_call", map[string]any{
			"name":           "In call",
			"state_topic":    d.t.state,
			"value_template": "{{ 'ON' if value_json.state == 'in call' else 'OFF' }}",
			"icon":           "mdi:phone-in-talk",
		}},
		{"button", "ring", map[string]any{
			"name":          "Ring residents",
			"command_topic": d.t.ring,
			"payload_press": pressPayload,
			"icon":          "mdi:bell",
		}},
	}
	if d.cfg.AllowOpenDoor {
		es = append(es, entity{"button", "open", map[string]any{
			"name":          "Open door",
			"command_topic": d.t.open,
			"payload_press": pressPayload,
			"icon":          "mdi:door-open",
		}})
	}
	if d.hasImage {
		es = append(es, entity{"image", "snapshot", map[string]any{
			"name":         "Visitor",
			"image_topic":  d.t.image,
			"content_type": "image/jpeg",
		}})
	}
	for _, e := range es {
		e.config["unique_id"] = d.nodeID() + "_" + e.object
		e.config["availability_topic"] = d.t.availability
		e.config["device"] = d.device()
		e.config["origin"] = map[string]any{"name": "intercomd", "sw_version": d.cfg.Version}
	}
	return es
}

func (d discovery) device() map[string]any {
	dev := map[string]any{
		"identifiers":  []string{d.nodeID()},
		"name":         d.cfg.DeviceName,
		"manufacturer": "intercomd",
		"model":        "intercomd door station",
		"sw_version":   d.cfg.Version,
	}
	if d.cfg.ConfigURL != "" {
		dev["configuration_url"] = d.cfg.ConfigURL
	}
	return dev
}

// announce is every discovery config, retained so that Home Assistant finds
// them when it starts; entities left out (the open button when opening is
// not allowed) get an empty config, which removes what an earlier run
// announced.
func (d discovery) announce() []message {
	on := map[string]bool{}
	var ms []message
	for _, e := range d.entities() {
		b, _ := json.Marshal(e.config) // maps of strings and slices always marshal
		ms = append(ms, message{topic: d.topic(e), payload: b, retain: true})
		on[d.topic(e)] = true
	}
	for _, m := range d.remove() {
		if !on[m.topic] {
			ms = append(ms, m)
		}
	}
	return ms
}

// remove is the empty retained config of every entity the door can
// announce: Home Assistant deletes them, and the device with the last one.
func (d discovery) remove() []message {
	all := d
	all.cfg.AllowOpenDoor, all.hasImage = true, true
	var ms []message
	for _, e := range all.entities() {
		ms = append(ms, message{topic: d.topic(e), retain: true})
	}
	return ms
}
