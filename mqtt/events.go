package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/eclipse/paho.golang/autopaho"

	"github.com/intercomd/intercomd/device"
)

// eventMessage is the doorbell event entity's JSON: event_type picks the
// type, the other fields become the event's attributes in Home Assistant.
type eventMessage struct {
	Type string `json:"event_type"`
	Call uint64 `json:"call,omitempty"`
	Via  string `json:"via,omitempty"`
	Peer string `json:"peer,omitempty"`
	At   string `json:"at"`
}

// sensorState names a door state (device.State's String) for the state
// sensor.
func sensorState(s string) string {
	switch s {
	case device.StateCalling.String():
		return stateRinging
	case device.StateRinging.String():
		return stateIncoming
	case device.StateInCall.String():
		return stateInCall
	}
	return stateIdle
}

func (c *Client) setState(doorState, peer string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = stateMessage{State: sensorState(doorState), Peer: peer, DoorState: doorState}
}

func (c *Client) stateMessage() message {
	c.mu.Lock()
	b, _ := json.Marshal(c.state) // strings always marshal
	c.mu.Unlock()
	return message{topic: c.t.state, payload: b, retain: true}
}

// onEvent publishes what Home Assistant shows of a door event.
func (c *Client) onEvent(ctx context.Context, cm *autopaho.ConnectionManager, e device.Event) {
	ev := eventMessage{Call: e.Call, At: e.At.UTC().Format(time.RFC3339Nano)}
	switch e.Kind {
	case device.EventState:
		peer := e.Peer
		if e.State == device.StateIdle || e.State == device.StateCalling {
			peer = ""
		}
		c.setState(e.State.String(), peer)
		c.send(ctx, cm, c.stateMessage())
		return
	case device.EventRing:
		ev.Type, ev.Via = eventRing, e.Via
	case device.EventRingAnswered:
		ev.Type, ev.Peer = eventAnswered, e.Peer
	case device.EventRingMissed:
		if e.Peer != "" {
			return // a resident's call nobody took at the door: no doorbell
		}
		ev.Type = eventMissed
	case device.EventDoorOpened:
		ev.Type, ev.Peer, ev.Via = eventOpened, e.Peer, e.Via
	default:
		return
	}
	b, _ := json.Marshal(ev) // strings and numbers always marshal
	c.send(ctx, cm, message{topic: c.t.event, payload: b})
	if e.Kind == device.EventRing {
		c.sendSnapshot(ctx, cm)
	}
}

// sendSnapshot publishes who is at the door, retained so that Home
// Assistant shows the latest visitor after a restart.
func (c *Client) sendSnapshot(ctx context.Context, cm *autopaho.ConnectionManager) {
	if c.snap == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	jpeg, err := c.snap(sctx)
	cancel()
	if err != nil {
		c.log.Warn("mqtt: no snapshot for the ring", "err", err)
		return
	}
	c.send(ctx, cm, message{topic: c.t.image, payload: jpeg, retain: true})
}

// send publishes m; a broker that is away or slow loses it with a log line
// (the state goes again on the next connection).
func (c *Client) send(ctx context.Context, cm *autopaho.ConnectionManager, m message) {
	err := c.publish(ctx, cm, m)
	switch {
	case err == nil:
	case errors.Is(err, autopaho.ConnectionDownError):
		c.log.Info("mqtt: not connected, not sent", "topic", m.topic)
	default:
		c.log.Warn("mqtt: publish failed", "topic", m.topic, "err", err)
	}
}

// onMessage acts on a button press from Home Assistant, or announces the
// door again when Home Assistant comes online. Anything else is logged and
// ignored.
func (c *Client) onMessage(ctx context.Context, cm *autopaho.ConnectionManager, m received) {
	cmd, err := c.t.decode(m.topic, m.payload, m.retained)
	if err != nil {
		c.log.Warn("mqtt: message ignored", "topic", m.topic, "reason", err)
		return
	}
	switch cmd {
	case cmdRing:
		c.log.Info("mqtt: ring button pressed")
		if err := c.door.Ring("mqtt"); err != nil {
			c.log.Info("mqtt: ring ignored", "reason", err)
		}
	case cmdOpen:
		if !c.cfg.AllowOpenDoor {
			c.log.Warn("mqtt: open door refused: mqtt.allow_open_door is off")
			return
		}
		c.log.Warn("mqtt: opening the door for an MQTT open-door press")
		if err := c.door.OpenDoor("", "mqtt"); err != nil {
			c.log.Warn("mqtt: open door failed", "err", err)
		}
	case cmdHAOnline:
		c.log.Info("mqtt: Home Assistant came online, announcing the door again")
		c.announce(ctx, cm)
	case cmdHAOffline:
		c.log.Info("mqtt: Home Assistant went offline")
	}
}
