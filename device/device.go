// Package device is the intercom's brain: the door's call state machine, its
// ring group, and what its buttons, lights and door relay mean.
//
// It imports only the standard library. Everything it drives (the signalling
// hub, the media pipeline, the GPIO panel) is reached through the small
// interfaces declared here, which main wires to the real adapters and tests
// wire to fakes.
package device

import (
	"context"
	"encoding/json"

	"github.com/intercomd/intercomd/wire"
)

// Signaller is the door's connection to the hub. It follows exactly the rules
// every WebSocket client follows: the hub sets From, checks every message and
// answers errors with messages of its own.
type Signaller interface {
	// Send hands one message to the hub as if it came over a socket.
	Send(m wire.Message) error
	// Ready is signalled while messages from the hub wait for Receive.
	Ready() <-chan struct{}
	// Receive takes the oldest message from the hub (false when none waits).
	Receive() (wire.Message, bool)
}

// Media makes the peer connections of calls. Capture devices are opened once,
// before the first call, and shared by every call.
type Media interface {
	// NewCall prepares a peer connection to peer. events is called from other
	// goroutines with local ICE candidates to trickle and with connection
	// state changes; it must not block.
	NewCall(peer string, events func(CallEvent)) (Call, error)
	// Err reports a capture device that failed (nil when all is well).
	Err() error
}

// Call is one peer connection. Session descriptions and candidates are the
// browser's JSON: RTCSessionDescriptionInit and RTCIceCandidateInit.
type Call interface {
	// Offer creates the local offer (the door is the caller).
	Offer(ctx context.Context) (json.RawMessage, error)
	// Answer takes the remote offer and creates the local answer (the door is
	// the callee).
	Answer(ctx context.Context, offer json.RawMessage) (json.RawMessage, error)
	// SetAnswer applies the remote answer to the door's offer.
	SetAnswer(answer json.RawMessage) error
	// AddCandidate adds a remote ICE candidate; candidates that arrive before
	// the remote description are held until it is set.
	AddCandidate(candidate json.RawMessage) error
	// Close ends the peer connection.
	Close() error
}

// CallEvent is something a Call reports: a local candidate or a new
// connection state.
type CallEvent struct {
	// Candidate is a local ICE candidate to send to the peer, or nil.
	Candidate json.RawMessage
	// State is the new connection state, or ConnNone.
	State ConnState
}

// ConnState is the state of a call's peer connection.
type ConnState int

// Connection states a Call reports.
const (
	ConnNone ConnState = iota
	ConnConnected
	ConnDisconnected
	ConnFailed
	ConnClosed
)

// Button is an input a person presses.
type Button interface {
	// Pressed delivers one value per (debounced) press.
	Pressed() <-chan struct{}
}

// Light is an output that is on, off or blinking.
type Light interface {
	Set(m LightMode)
}

// LightMode is what a Light shows.
type LightMode int

// Light modes.
const (
	LightOff LightMode = iota
	LightOn
	LightBlink
)

// Relay is the door opener: Pulse opens the door for the configured time.
type Relay interface {
	Pulse()
}
