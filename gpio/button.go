package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
)

// DefaultDebounce is how long a button's level must stay put before a change
// counts: longer than a push button's contact bounce (a few milliseconds),
// short enough that a visitor never notices.
const DefaultDebounce = 30 * time.Millisecond

// pollEvery bounds each wait for an edge, so a button stops soon after its
// context ends even on a pin whose Halt cannot interrupt a wait in progress.
const pollEvery = time.Second

var _ device.Button = (*Button)(nil)

// ButtonConfig says how a button is wired. The zero value is the usual
// wiring: a push button from the pin to ground, the pin's internal pull-up
// holding it high, so pressed reads low.
type ButtonConfig struct {
	// ActiveHigh means pressed reads high (a button to 3.3 V).
	ActiveHigh bool
	// Pull is the pin's internal resistor. gpio.PullNoChange (the zero
	// value) picks the one that holds the button released: up for active
	// low, down for active high. gpio.Float leaves the line to an external
	// resistor.
	Pull pgpio.Pull
	// Debounce is how long the level must be stable before a press or a
	// release counts (0: DefaultDebounce).
	Debounce time.Duration
}

// Button turns a pin's edges into presses: one value on Pressed per press,
// however much the contact bounces. It implements device.Button.
type Button struct {
	pin      pgpio.PinIn
	active   pgpio.Level
	debounce time.Duration
	log      *slog.Logger
	presses  chan struct{}

	held bool // the level when the button was made: held counts once released
}

// NewButton configures pin as an input with edge detection; Run watches it.
// A button already held when it is made counts only once released and
// pressed again.
func NewButton(pin pgpio.PinIn, cfg ButtonConfig, log *slog.Logger) (*Button, error) {
	if pin == nil {
		return nil, errors.New("new button: no pin")
	}
	if cfg.Debounce < 0 {
		return nil, fmt.Errorf("new button %s: negative debounce %s", pin, cfg.Debounce)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	pull, active := cfg.Pull, pgpio.Low
	if cfg.ActiveHigh {
		active = pgpio.High
	}
	if pull == pgpio.PullNoChange {
		pull = pgpio.PullUp
		if cfg.ActiveHigh {
			pull = pgpio.PullDown
		}
	}
	if err := pin.In(pull, pgpio.BothEdges); err != nil {
		return nil, fmt.Errorf("set up button %s: %w", pin.Name(), err)
	}
	b := &Button{
		pin:      pin,
		active:   active,
		debounce: cfg.Debounce,
		log:      orDiscard(log).With("button", pin.Name()),
		// One press waits for a busy reader; more are dropped, as a
		// doorbell rung five times while the door is busy rings once.
		presses: make(chan struct{}, 1),
		held:    pin.Read() == active,
	}
	return b, nil
}

// Pressed delivers one value per debounced press.
func (b *Button) Pressed() <-chan struct{} { return b.presses }

// Run follows the pin until ctx ends, and returns nil; the pin stays an
// input. Run it once. A change counts once the level has
// stayed put for the debounce window: contact bounce and short spikes picked
// up by long wires to the door never reach the state machine. The level is
// read when the edges stop, so a press must outlast the debounce window plus
// however late this goroutine runs; a finger's press lasts 100 ms or more.
func (b *Button) Run(ctx context.Context) error {
	held := b.held
	// Halt interrupts a WaitForEdge in progress on pins that support it
	// (gpioioctl lines); pollEvery covers the rest.
	unhalt := context.AfterFunc(ctx, func() { _ = b.pin.Halt() })
	defer unhalt()
	failing := false
	for ctx.Err() == nil {
		start := time.Now()
		if !b.pin.WaitForEdge(pollEvery) {
			// A wait that ends early without an edge is a pin that
			// cannot wait (unconfigured, closed, gone): say so once
			// and retry slowly instead of spinning.
			if ctx.Err() == nil && time.Since(start) < pollEvery/2 {
				if !failing {
					b.log.Error("button cannot wait for edges; retrying every second")
					failing = true
				}
				select {
				case <-ctx.Done():
				case <-time.After(pollEvery):
				}
			}
			continue
		}
		if failing {
			b.log.Info("button works again")
			failing = false
		}
		// Let the contact settle: wait until no edge comes for a
		// whole window.
		for ctx.Err() == nil && b.pin.WaitForEdge(b.debounce) {
		}
		if ctx.Err() != nil {
			return nil
		}
		pressed := b.pin.Read() == b.active
		if pressed == held {
			continue // a bounce or a spike that came back
		}
		held = pressed
		if !pressed {
			continue
		}
		select {
		case b.presses <- struct{}{}:
			b.log.Debug("button pressed")
		default:
			b.log.Debug("button pressed again before the last press was taken; dropped")
		}
	}
	return nil
}
