// Package sim is the door's panel for machines without GPIO pins: virtual
// pins driven by the very same gpio.Button, gpio.Light and gpio.Relay code as
// a Raspberry Pi's, and an HTTP API (and the /panel page's live feed) to
// press its buttons and watch its lights and relay.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio"
)

// minHold is the shortest time a simulated finger holds a button down (and
// then keeps it up before the next press): a brisk real press, far past the
// debounce window, so a busy machine that reads the pin late still sees it.
const minHold = 200 * time.Millisecond

// maxQueued is how many presses of one button may wait their turn.
const maxQueued = 8

// ErrUnknownButton is the error of Press for a name the panel lacks.
var ErrUnknownButton = errors.New("unknown button")

// ErrClosed is the error of Press on a closed panel.
var ErrClosed = errors.New("panel closed")

// ErrBusy is the error of Press when a button has maxQueued presses waiting.
var ErrBusy = errors.New("too many presses waiting")

// ButtonSpec is one button of the simulated panel.
type ButtonSpec struct {
	Name   string // as the API names it: "call", "answer", "hangup"
	Config gpio.ButtonConfig
}

// LightSpec is one light of the simulated panel.
type LightSpec struct {
	Name   string // as the API names it: "ringing", "incall", "ready"
	Config gpio.LightConfig
}

// Config is what the simulated panel has: the same parts, wired the same
// way, as the configured real one.
type Config struct {
	Buttons []ButtonSpec // in the order the page shows them
	Lights  []LightSpec
	Relay   *gpio.RelayConfig // nil: no door relay
}

// Panel is a simulated door panel. Its parts implement device.Button,
// device.Light and device.Relay; the panel itself is the http.Handler of its
// API (see ServeHTTP).
type Panel struct {
	log     *slog.Logger
	done    chan struct{} // closed when Run has returned or Close was called
	endOnce sync.Once
	buttons []*button
	lights  []*light
	relay   *gpio.Relay
	relayP  *Pin
	relayOn pgpio.Level
	routes  http.Handler
	fingers sync.WaitGroup // one goroutine per button presses its pin
	streams chan struct{}  // one token per live feed being served

	mu      sync.Mutex    // guards changed and closed
	changed chan struct{} // closed and replaced on every change
	closed  bool
}

type button struct {
	name   string
	pin    *Pin
	b      *gpio.Button
	active pgpio.Level
	hold   time.Duration

	presses chan struct{} // presses waiting for the finger (capacity maxQueued)
}

type light struct {
	name string
	pin  *Pin
	l    *gpio.Light
}

// New builds the simulated panel; Run runs its buttons, lights and the
// fingers that press them.
func New(cfg Config, log *slog.Logger) (*Panel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Panel{
		log:     log,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		streams: make(chan struct{}, maxStreams),
	}
	p.routes = p.newRoutes()
	seen := map[string]bool{}
	fail := func(err error) (*Panel, error) {
		p.Close()
		return nil, err
	}
	for _, s := range cfg.Buttons {
		if s.Name == "" || seen[s.Name] {
			return fail(fmt.Errorf("sim panel: button name %q empty or repeated", s.Name))
		}
		seen[s.Name] = true
		active := pgpio.Low
		if s.Config.ActiveHigh {
			active = pgpio.High
		}
		pin := NewPin(s.Name, !active, nil)
		b, err := gpio.NewButton(pin, s.Config, log)
		if err != nil {
			return fail(fmt.Errorf("sim panel: %w", err))
		}
		debounce := s.Config.Debounce
		if debounce == 0 {
			debounce = gpio.DefaultDebounce
		}
		sb := &button{name: s.Name, pin: pin, b: b, active: active, hold: max(minHold, 4*debounce), presses: make(chan struct{}, maxQueued)}
		p.buttons = append(p.buttons, sb)
	}
	for _, s := range cfg.Lights {
		if s.Name == "" || seen[s.Name] {
			return fail(fmt.Errorf("sim panel: light name %q empty or repeated", s.Name))
		}
		seen[s.Name] = true
		pin := NewPin(s.Name, pgpio.Low, p.notify)
		l, err := gpio.NewLight(pin, s.Config, log)
		if err != nil {
			return fail(fmt.Errorf("sim panel: %w", err))
		}
		p.lights = append(p.lights, &light{name: s.Name, pin: pin, l: l})
	}
	if cfg.Relay != nil {
		p.relayP = NewPin("relay", pgpio.Low, p.notify)
		p.relayOn = pgpio.Level(!cfg.Relay.ActiveLow)
		r, err := gpio.NewRelay(p.relayP, *cfg.Relay, log)
		if err != nil {
			return fail(fmt.Errorf("sim panel: %w", err))
		}
		p.relay = r
	}
	return p, nil
}

// Button is the named button, or nil if the panel has none by that name.
func (p *Panel) Button(name string) *gpio.Button {
	if b := p.button(name); b != nil {
		return b.b
	}
	return nil
}

// Light is the named light, or nil if the panel has none by that name.
func (p *Panel) Light(name string) *gpio.Light {
	for _, l := range p.lights {
		if l.name == name {
			return l.l
		}
	}
	return nil
}

// Relay is the door relay, or nil if the panel has none.
func (p *Panel) Relay() *gpio.Relay { return p.relay }

func (p *Panel) button(name string) *button {
	for _, b := range p.buttons {
		if b.name == name {
			return b
		}
	}
	return nil
}

// Press presses the named button as a finger would: its pin goes active,
// stays there well past the debounce window and comes back. Presses of one
// button are made one after the other, each counting once.
func (p *Panel) Press(name string) error {
	b := p.button(name)
	if b == nil {
		return fmt.Errorf("%w %q", ErrUnknownButton, name)
	}
	select {
	case <-p.done:
		return ErrClosed
	default:
	}
	select {
	case b.presses <- struct{}{}:
		p.log.Debug("simulated button pressed", "button", name)
		return nil
	default:
		return fmt.Errorf("%w on %s", ErrBusy, name)
	}
}

// finger makes the queued presses of b until ctx ends.
func (b *button) finger(ctx context.Context) {
	pause := func() bool {
		t := time.NewTimer(b.hold)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.presses:
		}
		b.pin.Drive(b.active)
		ok := pause()
		b.pin.Drive(!b.active)
		if !ok || !pause() {
			return
		}
	}
}

// State is what the panel shows, as GET /api/panel answers it.
type State struct {
	// Buttons are the names of the buttons, in panel order.
	Buttons []string `json:"buttons"`
	// LEDs maps each light's name to "off", "on" or "blink".
	LEDs map[string]string `json:"leds"`
	// Relay is "closed" while the door opener is powered, else "open";
	// empty when the panel has no relay.
	Relay string `json:"relay,omitempty"`
}

// State is the panel's state now.
func (p *Panel) State() State {
	s := State{Buttons: make([]string, 0, len(p.buttons)), LEDs: make(map[string]string, len(p.lights))}
	for _, b := range p.buttons {
		s.Buttons = append(s.Buttons, b.name)
	}
	for _, l := range p.lights {
		s.LEDs[l.name] = modeName(l.l.Mode())
	}
	if p.relayP != nil {
		// The pin, not the Relay's idea of itself: the page shows what
		// the wire does.
		s.Relay = "open"
		if p.relayP.Read() == p.relayOn {
			s.Relay = "closed"
		}
	}
	return s
}

func modeName(m device.LightMode) string {
	switch m {
	case device.LightOn:
		return "on"
	case device.LightBlink:
		return "blink"
	}
	return "off"
}

// notify wakes everyone waiting for a change (the live feed).
func (p *Panel) notify() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// changes is a channel closed at the next change.
func (p *Panel) changes() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Run watches the buttons, drives the lights and makes the queued presses
// until ctx ends; then the lights are off, presses fail with ErrClosed and
// the live feeds end. Run it once.
func (p *Panel) Run(ctx context.Context) error {
	defer p.end()
	parts := make([]gpio.Runner, 0, len(p.buttons)+len(p.lights))
	for _, b := range p.buttons {
		parts = append(parts, b.b)
		p.fingers.Go(func() { b.finger(ctx) })
	}
	for _, l := range p.lights {
		parts = append(parts, l.l)
	}
	err := gpio.RunAll(ctx, parts...)
	p.fingers.Wait()
	return err
}

// end makes presses fail and ends the live feeds.
func (p *Panel) end() { p.endOnce.Do(func() { close(p.done) }) }

// Close opens the relay, makes presses fail and ends the live feeds (after
// Run, or instead of it). It is safe to call more than once.
func (p *Panel) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.end()
	if p.relay != nil {
		return p.relay.Close()
	}
	return nil
}
