package mqtt

import (
	"errors"
	"fmt"
	"strconv"
)

// pressPayload is what Home Assistant's MQTT button sends (its default
// payload_press).
const pressPayload = "PRESS"

// command is what an incoming message asks for.
type command int

const (
	cmdRing     command = iota + 1 // ring the residents
	cmdOpen                        // open the door
	cmdHAOnline                    // Home Assistant (re)started: announce again
	cmdHAOffline
)

func (c command) String() string {
	switch c {
	case cmdRing:
		return "ring"
	case cmdOpen:
		return "open door"
	case cmdHAOnline:
		return "home assistant online"
	case cmdHAOffline:
		return "home assistant offline"
	}
	return "unknown"
}

var (
	errUnknownTopic = errors.New("unknown topic")
	errBadPayload   = errors.New("bad payload")
	errRetained     = errors.New("retained command (stale, maybe planted)")
)

// decode reads one message on a topic the door subscribed to. Anything but
// an exact button press on a command topic, or Home Assistant's status, is
// an error: the caller logs it and does nothing.
func (t topics) decode(topic string, payload []byte, retained bool) (command, error) {
	switch topic {
	case t.ring, t.open:
		if retained {
			// A retained press would act again at every reconnect.
			return 0, errRetained
		}
		if string(payload) != pressPayload {
			return 0, fmt.Errorf("%w %s: want %s", errBadPayload, short(payload), pressPayload)
		}
		if topic == t.ring {
			return cmdRing, nil
		}
		return cmdOpen, nil
	case t.haStatus:
		switch string(payload) {
		case "online":
			return cmdHAOnline, nil
		case "offline":
			return cmdHAOffline, nil
		}
		return 0, fmt.Errorf("%w %s: want online or offline", errBadPayload, short(payload))
	}
	return 0, errUnknownTopic
}

// short quotes the start of a payload for a log line.
func short(b []byte) string {
	const max = 32
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}
