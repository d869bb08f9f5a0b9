package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
)

// DefaultBlinkPeriod is one on-off cycle of a blinking light: 2 Hz, calm
// enough for a doorway and quick enough to read as "something is happening".
const DefaultBlinkPeriod = 500 * time.Millisecond

var _ device.Light = (*Light)(nil)

// LightConfig says how a light is wired. The zero value is an LED with its
// series resistor from the pin to ground: lit when the pin is high.
type LightConfig struct {
	// ActiveLow means lit when the pin is low (an LED from 3.3 V to the
	// pin, or a sinking driver).
	ActiveLow bool
	// BlinkPeriod is one on-off cycle of LightBlink (0: DefaultBlinkPeriod).
	BlinkPeriod time.Duration
}

// Light shows a device.LightMode on an output pin. It implements
// device.Light; Set never blocks, and one goroutine per light owns the pin.
type Light struct {
	pin  pgpio.PinOut
	lit  pgpio.Level
	half time.Duration
	log  *slog.Logger

	mu     sync.Mutex // guards mode and closed
	mode   device.LightMode
	closed bool // Run has returned

	wake chan struct{} // a new mode is waiting (capacity 1)
}

// NewLight turns pin off; Run drives it.
func NewLight(pin pgpio.PinOut, cfg LightConfig, log *slog.Logger) (*Light, error) {
	if pin == nil {
		return nil, errors.New("new light: no pin")
	}
	if cfg.BlinkPeriod < 0 {
		return nil, fmt.Errorf("new light %s: negative blink period %s", pin, cfg.BlinkPeriod)
	}
	if cfg.BlinkPeriod == 0 {
		cfg.BlinkPeriod = DefaultBlinkPeriod
	}
	l := &Light{
		pin:  pin,
		lit:  pgpio.Level(!cfg.ActiveLow),
		half: cfg.BlinkPeriod / 2,
		log:  orDiscard(log).With("light", pin.Name()),
		wake: make(chan struct{}, 1),
	}
	if err := pin.Out(!l.lit); err != nil {
		return nil, fmt.Errorf("set up light %s: %w", pin.Name(), err)
	}
	return l, nil
}

// Set shows m from now on (from Run's start, when set before). Setting the
// mode a light already shows changes nothing (a blink keeps its rhythm);
// Set after Run returned does nothing.
func (l *Light) Set(m device.LightMode) {
	l.mu.Lock()
	if l.closed || l.mode == m {
		l.mu.Unlock()
		return
	}
	l.mode = m
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default: // the driver has a wake-up pending and will read the newest mode
	}
}

// Mode is the mode last Set.
func (l *Light) Mode() device.LightMode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mode
}

// Run owns the pin until ctx ends: it applies each new mode and, while
// blinking, toggles the pin every half period. When ctx ends it turns the
// light off and returns nil. Run it once.
func (l *Light) Run(ctx context.Context) error {
	var (
		ticker  *time.Ticker
		tick    <-chan time.Time
		on      bool
		applied = device.LightOff
		failing bool
	)
	write := func(v bool) {
		on = v
		err := l.pin.Out(pgpio.Level(v == bool(l.lit)))
		switch {
		case err != nil && !failing:
			// Log the first failure only: a blinking light would
			// repeat it four times a second.
			l.log.Error("light output failed", "err", err)
			failing = true
		case err == nil && failing:
			l.log.Info("light output works again")
			failing = false
		}
	}
	stopTicker := func() {
		if ticker != nil {
			ticker.Stop()
			ticker, tick = nil, nil
		}
	}
	defer stopTicker()
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.closed = true
			l.mu.Unlock()
			write(false)
			return nil
		case <-tick:
			write(!on)
		case <-l.wake:
			m := l.Mode()
			if m == applied {
				continue
			}
			applied = m
			stopTicker()
			switch m {
			case device.LightOn:
				write(true)
			case device.LightBlink:
				write(true)
				ticker = time.NewTicker(l.half)
				tick = ticker.C
			default:
				write(false)
			}
		}
	}
}
