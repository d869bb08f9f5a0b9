package main

import (
	"log/slog"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/media"
	"github.com/intercomd/intercomd/push"
)

// newPush starts nothing: it loads push's key and devices when push is on
// (nil when it is off).
// A Decline on a notification goes to decline.
func newPush(cfg config, log *slog.Logger, m *media.Media, decline func(call uint64, caller, resident string, everyone bool)) (*push.Service, error) {
	if !cfg.Push {
		return nil, nil
	}
	pc := push.Config{
		StateDir: cfg.StateDir, Contact: cfg.PushContact, AllowLocal: cfg.PushAllowLocal,
		RingGroup: cfg.RingGroup, RingTimeout: cfg.RingTimeout, Decline: decline,
	}
	if cfg.Camera != "none" {
		// The thumbnail (160 px wide) mostly fits the payload as it is.
		pc.Snapshot = func() ([]byte, error) {
			_, thumb, err := m.Snapshot()
			return thumb, err
		}
	}
	return push.New(pc, log)
}

// pushObserver turns the door's rings into notifications: the ring, then
// its replacement when someone answers or nobody did. It runs on the door's
// goroutine; push's methods only queue.
func pushObserver(p *push.Service) func(device.Event) {
	return func(e device.Event) {
		switch e.Kind {
		case device.EventRing:
			p.Ring(e.Call, e.At)
		case device.EventRingAnswered:
			p.Answered(e.Call, "", e.Peer)
		case device.EventRingMissed:
			if e.Peer == "" { // the door's ring, not a resident's call to it
				p.Missed(e.Call, "")
			}
		}
	}
}
