// Package panel assembles the door's GPIO panel from the gpio section of the
// config: its buttons, lights and relay on the machine's lines, simulated,
// or none, returned as the device.Panel the door needs.
package panel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio"
	"github.com/intercomd/intercomd/gpio/sim"
)

// Config is the `gpio:` section of the config file. Pins are Broadcom
// GPIO names as the Pi's kernel names its lines (GPIO17 is header pin 11);
// an empty pin, or "none", leaves that part out.
//
//	gpio:
//	  mode: auto        # auto: real GPIO when the pins exist, else simulated | sim | real | none
//	  debounce: 30ms
//	  buttons:
//	    call:   {pin: GPIO17, active_low: true, pull: up}   # pull: up | down | none (default: holds it released)
//	    answer: {pin: GPIO27, active_low: true, pull: up}
//	    hangup: {pin: GPIO22, active_low: true, pull: up}
//	  leds:
//	    ringing: {pin: GPIO23, active_low: false}
//	    incall:  {pin: GPIO24, active_low: false}
//	    ready:   {pin: GPIO25, active_low: false}
//	  relay: {pin: GPIO18, active_low: false, pulse: 3s}
type Config struct {
	Mode     string        `yaml:"mode"`
	Debounce time.Duration `yaml:"debounce"`
	Buttons  Buttons       `yaml:"buttons"`
	LEDs     LEDs          `yaml:"leds"`
	Relay    RelayPin      `yaml:"relay"`
}

// Buttons are the panel's buttons.
type Buttons struct {
	Call   ButtonPin `yaml:"call"`
	Answer ButtonPin `yaml:"answer"`
	Hangup ButtonPin `yaml:"hangup"`
}

// ButtonPin is one button. Pull "" picks the resistor that holds the button
// released: up when active low, down when active high.
type ButtonPin struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
	Pull      string `yaml:"pull"`
}

// LEDs are the panel's lights.
type LEDs struct {
	Ringing LEDPin `yaml:"ringing"`
	InCall  LEDPin `yaml:"incall"`
	Ready   LEDPin `yaml:"ready"`
}

// LEDPin is one light.
type LEDPin struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
}

// RelayPin is the door opener.
type RelayPin struct {
	Pin       string        `yaml:"pin"`
	ActiveLow bool          `yaml:"active_low"`
	Pulse     time.Duration `yaml:"pulse"`
}

// Default is the wiring of docs/WIRING.md.
func Default() Config {
	return Config{
		Mode:     "auto",
		Debounce: gpio.DefaultDebounce,
		Buttons: Buttons{
			Call:   ButtonPin{Pin: "GPIO17", ActiveLow: true},
			Answer: ButtonPin{Pin: "GPIO27", ActiveLow: true},
			Hangup: ButtonPin{Pin: "GPIO22", ActiveLow: true},
		},
		LEDs: LEDs{
			Ringing: LEDPin{Pin: "GPIO23"},
			InCall:  LEDPin{Pin: "GPIO24"},
			Ready:   LEDPin{Pin: "GPIO25"},
		},
		Relay: RelayPin{Pin: "GPIO18", Pulse: gpio.DefaultPulse},
	}
}

// Limits on timings, so a typo ("3m" for "3s") cannot hold the door open.
const (
	maxDebounce = time.Second
	maxPulse    = time.Minute
)

// Panel is the door's GPIO panel: the parts device drives (absent ones are
// nil interfaces), and what main serves and reports of it.
type Panel struct {
	device.Panel
	// Sim serves the simulated panel's API (/api/panel...); nil unless
	// the panel is simulated.
	Sim http.Handler
	// Mode is what Open chose: "real", "sim" or "none".
	Mode string
	// Run watches the buttons and drives the lights until ctx ends; the
	// lights are off when it returns.
	Run func(ctx context.Context) error
	// Close opens the relay and releases the lines (after Run).
	Close func() error
}

// part is one configured pin, named as the config file names it: the
// panel's one table of parts. Exactly one of button, led and relay is set,
// with the field of device.Panel that holds the part.
type part struct {
	key  string // "buttons.call"
	name string // "call", as the simulated panel names it
	pin  string

	button   *ButtonPin
	asButton *device.Button
	led      *LEDPin
	asLight  *device.Light
	relay    *RelayPin
	asRelay  *device.Relay
}

// table lists every part in panel order, each bound to its field of p.
func (c *Config) table(p *device.Panel) []part {
	all := []part{
		{key: "buttons.call", name: "call", button: &c.Buttons.Call, asButton: &p.Call},
		{key: "buttons.answer", name: "answer", button: &c.Buttons.Answer, asButton: &p.Answer},
		{key: "buttons.hangup", name: "hangup", button: &c.Buttons.Hangup, asButton: &p.Hangup},
		{key: "leds.ringing", name: "ringing", led: &c.LEDs.Ringing, asLight: &p.Ringing},
		{key: "leds.incall", name: "incall", led: &c.LEDs.InCall, asLight: &p.InCall},
		{key: "leds.ready", name: "ready", led: &c.LEDs.Ready, asLight: &p.Ready},
		{key: "relay", name: "relay", relay: &c.Relay, asRelay: &p.Relay},
	}
	for i, pt := range all {
		switch {
		case pt.button != nil:
			pt.pin = pt.button.Pin
		case pt.led != nil:
			pt.pin = pt.led.Pin
		default:
			pt.pin = pt.relay.Pin
		}
		all[i].pin = strings.TrimSpace(pt.pin)
	}
	return all
}

// configured leaves the absent parts out.
func configured(all []part) []part {
	var out []part
	for _, pt := range all {
		if pt.pin != "" && pt.pin != "none" {
			out = append(out, pt)
		}
	}
	return out
}

// parts are the configured pins in panel order.
func (c *Config) parts() []part { return configured(c.table(&device.Panel{})) }

// Validate catches mistakes in the gpio section, naming the key.
func (c *Config) Validate() error {
	switch c.Mode {
	case "auto", "sim", "real", "none":
	default:
		return fmt.Errorf("config: gpio.mode must be auto, sim, real or none, not %q", c.Mode)
	}
	if c.Debounce < 0 || c.Debounce > maxDebounce {
		return fmt.Errorf("config: gpio.debounce %s out of range (0 to %s; 0 means %s)", c.Debounce, maxDebounce, gpio.DefaultDebounce)
	}
	if c.Relay.Pulse < 0 || c.Relay.Pulse > maxPulse {
		return fmt.Errorf("config: gpio.relay.pulse %s out of range (0 to %s; 0 means %s)", c.Relay.Pulse, maxPulse, gpio.DefaultPulse)
	}
	for _, pt := range c.table(&device.Panel{}) {
		if pt.button == nil {
			continue
		}
		if _, err := pullOf(pt.button.Pull); err != nil {
			return fmt.Errorf("config: gpio.%s.%w", pt.key, err)
		}
	}
	used := map[string]string{}
	for _, p := range c.parts() {
		if other, ok := used[p.pin]; ok {
			return fmt.Errorf("config: gpio pin %s used twice: %s and %s", p.pin, other, p.key)
		}
		used[p.pin] = p.key
	}
	return nil
}

func pullOf(s string) (pgpio.Pull, error) {
	switch s {
	case "":
		return pgpio.PullNoChange, nil // gpio.Button picks it from the polarity
	case "up":
		return pgpio.PullUp, nil
	case "down":
		return pgpio.PullDown, nil
	case "none":
		return pgpio.Float, nil
	}
	return 0, fmt.Errorf("pull must be up, down or none, not %q", s)
}

// Open builds the panel cfg describes (Run runs it): on real GPIO lines, simulated, or
// none, as cfg.Mode says ("auto": real when any configured pin exists on
// this machine, else simulated).
func Open(cfg Config, log *slog.Logger) (*Panel, error) {
	return openWith(cfg, log, hostLines{})
}

// lines finds GPIO lines by name. hostLines is the machine's; tests use fakes.
type lines interface {
	// lookup returns the named line, or nil if the machine has none.
	lookup(name string) (pgpio.PinIO, error)
	// why explains why no line could be found (permissions, no chips).
	why() string
	// board is the machine's model if it is a Raspberry Pi, else "".
	board() string
}

func openWith(cfg Config, log *slog.Logger, ls lines) (*Panel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "gpio")
	parts := cfg.parts()
	mode := cfg.Mode
	var fallback []any // why auto chose the simulated panel, said in its one line
	if mode == "auto" {
		mode = "sim"
		for _, p := range parts {
			if l, _ := ls.lookup(p.pin); l != nil {
				mode = "real"
				break
			}
		}
		if mode == "sim" && len(parts) > 0 {
			if model := ls.board(); model != "" {
				return nil, fmt.Errorf("gpio: this is a %s but none of its pins (%s) was found: %s; set gpio.mode to sim or none to run without the panel",
					model, parts[0].pin, ls.why())
			}
			fallback = []any{"because", "no GPIO lines named as configured on this machine", "pins", pinList(parts), "why", ls.why()}
		}
	}
	switch mode {
	case "none":
		log.Info("GPIO panel off (gpio.mode none)")
		return &Panel{Mode: "none", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }, Close: func() error { return nil }}, nil
	case "sim":
		return openSim(cfg, log, fallback...)
	}
	return openReal(cfg, log, ls)
}

// openReal builds the panel on the machine's GPIO lines.
func openReal(cfg Config, log *slog.Logger, ls lines) (*Panel, error) {
	p := &Panel{Mode: "real"}
	parts := configured(cfg.table(&p.Panel))
	var runners []gpio.Runner
	p.Run = func(ctx context.Context) error { return gpio.RunAll(ctx, runners...) }
	var closers []func() error
	var held []pgpio.PinIO
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		// Release the lines, so nothing holds them after intercomd
		// (gpioinfo shows them free; the VM test checks it).
		for _, l := range held {
			if c, ok := l.(interface{ Close() }); ok {
				c.Close()
			}
		}
		return errors.Join(errs...)
	}
	var once sync.Once
	var closeErr error
	p.Close = func() error {
		once.Do(func() { closeErr = closeAll() })
		return closeErr
	}
	fail := func(err error) (*Panel, error) {
		p.Close()
		return nil, err
	}
	for _, pt := range parts {
		line, err := ls.lookup(pt.pin)
		if err != nil {
			return fail(fmt.Errorf("gpio %s: pin %s: %w", pt.key, pt.pin, err))
		}
		if line == nil {
			return fail(fmt.Errorf("gpio %s: pin %s not found on this machine: %s", pt.key, pt.pin, ls.why()))
		}
		held = append(held, line)
		switch {
		case pt.button != nil:
			b, err := gpio.NewButton(line, cfg.buttonConfig(pt.button), log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			runners = append(runners, b)
			*pt.asButton = b
		case pt.led != nil:
			l, err := gpio.NewLight(line, gpio.LightConfig{ActiveLow: pt.led.ActiveLow}, log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			runners = append(runners, l)
			*pt.asLight = l
		default:
			r, err := gpio.NewRelay(line, cfg.relayConfig(), log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			closers = append(closers, r.Close)
			*pt.asRelay = r
		}
	}
	log.Info("GPIO panel on the machine's lines", "pins", pinList(parts))
	return p, nil
}

// openSim builds the simulated panel with the configured parts, wired alike,
// and says so in one line (with why, when auto fell back to it).
func openSim(cfg Config, log *slog.Logger, why ...any) (*Panel, error) {
	var sc sim.Config
	for _, pt := range cfg.parts() {
		switch {
		case pt.button != nil:
			sc.Buttons = append(sc.Buttons, sim.ButtonSpec{Name: pt.name, Config: cfg.buttonConfig(pt.button)})
		case pt.led != nil:
			sc.Lights = append(sc.Lights, sim.LightSpec{Name: pt.name, Config: gpio.LightConfig{ActiveLow: pt.led.ActiveLow}})
		default:
			rc := cfg.relayConfig()
			sc.Relay = &rc
		}
	}
	sp, err := sim.New(sc, log)
	if err != nil {
		return nil, fmt.Errorf("gpio: %w", err)
	}
	p := &Panel{Mode: "sim", Sim: sp, Run: sp.Run, Close: sp.Close}
	parts := configured(cfg.table(&p.Panel))
	for _, pt := range parts {
		// Only non-nil parts are stored, so an absent part stays a nil
		// interface rather than an interface holding a nil pointer.
		switch {
		case pt.button != nil:
			if b := sp.Button(pt.name); b != nil {
				*pt.asButton = b
			}
		case pt.led != nil:
			if l := sp.Light(pt.name); l != nil {
				*pt.asLight = l
			}
		default:
			if r := sp.Relay(); r != nil {
				*pt.asRelay = r
			}
		}
	}
	log.Info("simulated GPIO panel: open /panel to press its buttons and watch its lights", append([]any{"parts", len(parts)}, why...)...)
	return p, nil
}

func (c *Config) buttonConfig(b *ButtonPin) gpio.ButtonConfig {
	pull, _ := pullOf(b.Pull) // validated
	return gpio.ButtonConfig{ActiveHigh: !b.ActiveLow, Pull: pull, Debounce: c.Debounce}
}

func (c *Config) relayConfig() gpio.RelayConfig {
	return gpio.RelayConfig{ActiveLow: c.Relay.ActiveLow, Pulse: c.Relay.Pulse}
}

// Pins lists the configured parts and their pins, as the log says them:
// "buttons.call=GPIO17 ... relay=GPIO18".
func (c *Config) Pins() string { return pinList(c.parts()) }

func pinList(parts []part) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = p.key + "=" + p.pin
	}
	return strings.Join(s, " ")
}
