package device

// State is where the door is in a call.
type State int

// The door's states.
const (
	StateIdle    State = iota // registered or not, no call
	StateRinging              // a resident calls and the door waits for its Answer button
	StateCalling              // the door rings its ring group
	StateInCall               // a call is up (or being set up after Accepted)
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateRinging:
		return "ringing"
	case StateCalling:
		return "calling"
	case StateInCall:
		return "incall"
	}
	return "unknown"
}

func (m LightMode) String() string {
	switch m {
	case LightOff:
		return "off"
	case LightOn:
		return "on"
	case LightBlink:
		return "blink"
	}
	return "unknown"
}

func (c ConnState) String() string {
	switch c {
	case ConnNone:
		return "none"
	case ConnConnected:
		return "connected"
	case ConnDisconnected:
		return "disconnected"
	case ConnFailed:
		return "failed"
	case ConnClosed:
		return "closed"
	}
	return "unknown"
}

// AnswerMode says who answers a resident's call to the door.
type AnswerMode int

// Answer modes.
const (
	// AnswerAuto answers at once: a resident checks who is at the door.
	AnswerAuto AnswerMode = iota
	// AnswerButton rings until someone at the door presses Answer.
	AnswerButton
)

func (a AnswerMode) String() string {
	if a == AnswerButton {
		return "button"
	}
	return "auto"
}
