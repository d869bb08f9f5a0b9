package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
)

// DefaultPulse is how long the door opener is powered per Pulse: long enough
// for a visitor to push the door after the buzz.
const DefaultPulse = 3 * time.Second

// retryRelease is how soon a failed release is tried again: a relay left
// closed holds the door open, so it is retried until it works.
const retryRelease = 250 * time.Millisecond

var _ device.Relay = (*Relay)(nil)

// RelayConfig says how the door relay is wired and how long it pulses. The
// zero value is a relay module (or transistor) that closes when the pin is
// high, pulsed for DefaultPulse.
type RelayConfig struct {
	// ActiveLow means the relay closes when the pin is low (many relay
	// boards with an opto-coupler input).
	ActiveLow bool
	// Pulse is how long the relay stays closed (0: DefaultPulse).
	Pulse time.Duration
}

// Relay is the door opener on an output pin. It implements device.Relay.
// Whoever may open the door is device's business; Relay only keeps the pulse
// honest: a Pulse during a pulse extends it, and the relay always opens again.
type Relay struct {
	pin    pgpio.PinOut
	active pgpio.Level
	pulse  time.Duration
	log    *slog.Logger

	mu     sync.Mutex // guards the fields below and every pin write
	closed bool       // the relay's contact is closed: the door opener is powered
	gen    uint64     // which Pulse the pending timer belongs to
	timer  *time.Timer
	shut   bool // Close was called
}

// NewRelay opens the relay (drives pin to its inactive level) and returns it.
func NewRelay(pin pgpio.PinOut, cfg RelayConfig, log *slog.Logger) (*Relay, error) {
	if pin == nil {
		return nil, errors.New("new relay: no pin")
	}
	if cfg.Pulse < 0 {
		return nil, fmt.Errorf("new relay %s: negative pulse %s", pin, cfg.Pulse)
	}
	if cfg.Pulse == 0 {
		cfg.Pulse = DefaultPulse
	}
	r := &Relay{
		pin:    pin,
		active: pgpio.Level(!cfg.ActiveLow),
		pulse:  cfg.Pulse,
		log:    orDiscard(log).With("relay", pin.Name()),
	}
	if err := pin.Out(!r.active); err != nil {
		return nil, fmt.Errorf("set up relay %s: %w", pin.Name(), err)
	}
	return r, nil
}

// Pulse closes the relay for the pulse length from now. During a pulse it
// moves the end to a full pulse length from now.
func (r *Relay) Pulse() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shut {
		r.log.Warn("door relay pulse after close ignored")
		return
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	r.gen++
	gen := r.gen
	// Arm the release before closing, so no failure below can leave the
	// relay closed without a timer to open it.
	r.timer = time.AfterFunc(r.pulse, func() { r.release(gen) })
	if r.closed {
		r.log.Debug("door relay pulse extended", "pulse", r.pulse)
		return
	}
	if err := r.pin.Out(r.active); err != nil {
		r.log.Error("door relay did not close", "err", err)
		// It may have closed anyway: the armed timer opens it.
	}
	r.closed = true
	r.log.Debug("door relay closed", "pulse", r.pulse)
}

// release opens the relay at the end of pulse gen, unless a later Pulse
// extended it.
func (r *Relay) release(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen || r.shut {
		return
	}
	if err := r.pin.Out(!r.active); err != nil {
		r.log.Error("door relay did not open; retrying", "err", err)
		r.timer = time.AfterFunc(retryRelease, func() { r.release(gen) })
		return
	}
	r.timer = nil
	r.closed = false
	r.log.Debug("door relay open")
}

// Closed reports whether the relay is closed (the door opener powered).
func (r *Relay) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close opens the relay at once and ignores later pulses. It returns the
// error of that last write, since a relay that may still be closed is worth
// a word in the log of whoever shuts down.
func (r *Relay) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shut {
		return nil
	}
	r.shut = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.gen++
	r.closed = false
	if err := r.pin.Out(!r.active); err != nil {
		return fmt.Errorf("open door relay %s: %w", r.pin.Name(), err)
	}
	return nil
}
