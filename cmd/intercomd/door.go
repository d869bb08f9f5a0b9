package main

import (
	"context"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/hub"
)

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
			door.Deliver(m)
		}
	}
}
