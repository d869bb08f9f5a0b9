package device

import (
	"context"
	"log/slog"
	"time"
)

// Event is something that happened at the door, for history, push and MQTT.
type Event struct {
	Kind EventKind
	At   time.Time
	// Call is the id of the ring or call the event belongs to (0 when none):
	// a ring, its answer and the call that follows share one id.
	Call uint64
	// Peer is the resident involved, if any.
	Peer string
	// Via is where the event came from: "button", "api", "mqtt", "call"...
	Via string
	// State is the door's state after the event.
	State State
	// Dur is how long the call's media was up (EventCallEnded).
	Dur time.Duration
	// Reason says why a ring was missed or a call ended.
	Reason string
}

// EventKind says what an Event is.
type EventKind int

// The kinds of events.
const (
	// EventRing: the door rings its residents (Peer empty, Via who rang).
	EventRing EventKind = iota + 1
	// EventRingAnswered: a resident (Peer) took the door's ring.
	EventRingAnswered
	// EventRingMissed: a ring ended unanswered (nobody answered, or it was
	// cancelled). Peer is empty for the door's ring and names the resident
	// for a resident's call nobody took at the door.
	EventRingMissed
	// EventIncoming: a resident (Peer) calls the door.
	EventIncoming
	// EventCallStarted: the call's media is up (Peer).
	EventCallStarted
	// EventCallEnded: the call with Peer ended after Dur of media.
	EventCallEnded
	// EventDoorOpened: the relay pulsed, for Peer, through Via.
	EventDoorOpened
	// EventState: the door's state changed to State.
	EventState
	// EventTalk: the resident (Peer) of a silent look tapped Talk: the
	// in-call light is on from now.
	EventTalk
)

func (k EventKind) String() string {
	switch k {
	case EventRing:
		return "ring"
	case EventRingAnswered:
		return "ring_answered"
	case EventRingMissed:
		return "ring_missed"
	case EventIncoming:
		return "incoming"
	case EventCallStarted:
		return "call_started"
	case EventCallEnded:
		return "call_ended"
	case EventDoorOpened:
		return "door_opened"
	case EventState:
		return "state"
	case EventTalk:
		return "talk"
	}
	return "unknown"
}

// emit hands e to every observer, on the door's goroutine.
func (c *Controller) emit(e Event) {
	if len(c.cfg.Observers) == 0 {
		return
	}
	e.At = time.Now()
	e.State = c.state
	if e.Call == 0 {
		e.Call = c.ring
	}
	for _, o := range c.cfg.Observers {
		o(e)
	}
}

// EventQueue lets a slow observer (a network push, a database write) watch
// the door without blocking it: Observe queues, Run hands the events on one
// by one, and a full queue drops the event with a log line.
type EventQueue struct {
	log    *slog.Logger
	handle func(context.Context, Event)
	events chan Event
}

// NewEventQueue makes a queue of size events for handle; pass its Observe
// in Config.Observers and run it with Run.
func NewEventQueue(size int, log *slog.Logger, handle func(context.Context, Event)) *EventQueue {
	return &EventQueue{log: log, handle: handle, events: make(chan Event, size)}
}

// Observe queues e, or drops it when the queue is full; it never blocks.
func (q *EventQueue) Observe(e Event) {
	select {
	case q.events <- e:
	default:
		q.log.Warn("door event dropped: observer too slow", "kind", e.Kind, "call", e.Call)
	}
}

// Run hands queued events to the handler until ctx ends.
func (q *EventQueue) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-q.events:
			q.handle(ctx, e)
		}
	}
}
