package main

import (
	"context"
	"encoding/json"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/hub"
)

// signaller gives the door the hub as a device.Signaller: an in-process user
// under the same rules as every socket.
type signaller struct{ l *hub.Local }

func (s signaller) Send(m device.Message) error {
	hm := hub.Message{Type: m.Type, Text: m.Text, Status: m.Status, To: m.To, Reason: m.Reason}
	if m.Param2 != "" {
		hm.Param2, _ = json.Marshal(m.Param2) // a string always marshals
	}
	return s.l.Send(hm)
}

// pump delivers what the hub sends the door until the hub lets go of it.
func pump(ctx context.Context, l *hub.Local, door *device.Controller) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-l.Messages():
			if !ok {
				return nil
			}
			door.Deliver(toDevice(m))
		}
	}
}

func toDevice(m hub.Message) device.Message {
	return device.Message{
		Type: m.Type, Text: m.Text, Status: m.Status, From: m.From, To: m.To, Reason: m.Reason,
		Users: users(m.Users), Joined: users(m.Joined), Left: m.Left,
	}
}

func users(us []hub.User) []device.User {
	if us == nil {
		return nil
	}
	out := make([]device.User, len(us))
	for i, u := range us {
		out[i] = device.User{Name: u.Name, Kind: u.Kind}
	}
	return out
}
