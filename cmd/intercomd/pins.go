package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	// Only periph's /dev/gpiochip driver, on purpose: it is the one path
	// that works on every supported Pi (the Pi 5's RP1 has no other) and
	// the VM test's gpio-sim. periph.io/x/host/v3 would also load the
	// bcm283x driver, which writes BCM283x registers through /dev/gpiomem
	// or /dev/mem, registers that do not exist on a Pi 5.
	"periph.io/x/host/v3/gpioioctl"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio"
	"github.com/intercomd/intercomd/gpio/sim"
)

// gpioConfig is the `gpio:` section of the config file. Pins are Broadcom
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
type gpioConfig struct {
	Mode     string        `yaml:"mode"`
	Debounce time.Duration `yaml:"debounce"`
	Buttons  gpioButtons   `yaml:"buttons"`
	LEDs     gpioLEDs      `yaml:"leds"`
	Relay    gpioRelay     `yaml:"relay"`
}

type gpioButtons struct {
	Call   gpioButton `yaml:"call"`
	Answer gpioButton `yaml:"answer"`
	Hangup gpioButton `yaml:"hangup"`
}

// gpioButton is one button. Pull "" picks the resistor that holds the button
// released: up when active low, down when active high.
type gpioButton struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
	Pull      string `yaml:"pull"`
}

type gpioLEDs struct {
	Ringing gpioLED `yaml:"ringing"`
	InCall  gpioLED `yaml:"incall"`
	Ready   gpioLED `yaml:"ready"`
}

type gpioLED struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
}

type gpioRelay struct {
	Pin       string        `yaml:"pin"`
	ActiveLow bool          `yaml:"active_low"`
	Pulse     time.Duration `yaml:"pulse"`
}

// defaultGPIO is the wiring of docs/WIRING.md.
func defaultGPIO() gpioConfig {
	return gpioConfig{
		Mode:     "auto",
		Debounce: gpio.DefaultDebounce,
		Buttons: gpioButtons{
			Call:   gpioButton{Pin: "GPIO17", ActiveLow: true},
			Answer: gpioButton{Pin: "GPIO27", ActiveLow: true},
			Hangup: gpioButton{Pin: "GPIO22", ActiveLow: true},
		},
		LEDs: gpioLEDs{
			Ringing: gpioLED{Pin: "GPIO23"},
			InCall:  gpioLED{Pin: "GPIO24"},
			Ready:   gpioLED{Pin: "GPIO25"},
		},
		Relay: gpioRelay{Pin: "GPIO18", Pulse: gpio.DefaultPulse},
	}
}

// Limits on timings, so a typo ("3m" for "3s") cannot hold the door open.
const (
	maxDebounce = time.Second
	maxPulse    = time.Minute
)

// panel is the door's GPIO panel as main hands it to device. Absent parts are
// nil interfaces.
type panel struct {
	Call, Answer, Hangup   device.Button
	Ringing, InCall, Ready device.Light
	Relay                  device.Relay
	// Sim serves the simulated panel's API (/api/panel...); nil unless
	// the panel is simulated.
	Sim http.Handler
	// Mode is what openPanel chose: "real", "sim" or "none".
	Mode string
	// Close stops the buttons, turns the lights off, opens the relay and
	// releases the lines.
	Close func() error
}

// part is one configured pin, named as the config file names it.
type part struct {
	key  string // "buttons.call"
	pin  string
	kind int
}

const (
	kindButton = iota
	kindLight
	kindRelay
)

// parts are the configured pins in panel order, absent ones left out.
func (c gpioConfig) parts() []part {
	all := []part{
		{"buttons.call", c.Buttons.Call.Pin, kindButton},
		{"buttons.answer", c.Buttons.Answer.Pin, kindButton},
		{"buttons.hangup", c.Buttons.Hangup.Pin, kindButton},
		{"leds.ringing", c.LEDs.Ringing.Pin, kindLight},
		{"leds.incall", c.LEDs.InCall.Pin, kindLight},
		{"leds.ready", c.LEDs.Ready.Pin, kindLight},
		{"relay", c.Relay.Pin, kindRelay},
	}
	var out []part
	for _, p := range all {
		if p.pin = strings.TrimSpace(p.pin); p.pin != "" && p.pin != "none" {
			out = append(out, p)
		}
	}
	return out
}

// validate catches mistakes in the gpio section, naming the key.
func (c gpioConfig) validate() error {
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
	for _, b := range []struct {
		key string
		b   gpioButton
	}{{"call", c.Buttons.Call}, {"answer", c.Buttons.Answer}, {"hangup", c.Buttons.Hangup}} {
		if _, err := pullOf(b.b.Pull); err != nil {
			return fmt.Errorf("config: gpio.buttons.%s.%w", b.key, err)
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

// openPanel builds the panel cfg describes: on real GPIO lines, simulated, or
// none, as cfg.Mode says ("auto": real when any configured pin exists on
// this machine, else simulated).
func openPanel(ctx context.Context, cfg gpioConfig, log *slog.Logger) (*panel, error) {
	return openPanelWith(ctx, cfg, log, hostLines{})
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

func openPanelWith(ctx context.Context, cfg gpioConfig, log *slog.Logger, ls lines) (*panel, error) {
	if err := cfg.validate(); err != nil {
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
		return &panel{Mode: "none", Close: func() error { return nil }}, nil
	case "sim":
		return openSim(ctx, cfg, parts, log, fallback...)
	}
	return openReal(ctx, cfg, parts, log, ls)
}

// openReal builds the panel on the machine's GPIO lines.
func openReal(ctx context.Context, cfg gpioConfig, parts []part, log *slog.Logger, ls lines) (*panel, error) {
	p := &panel{Mode: "real"}
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
	fail := func(err error) (*panel, error) {
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
		switch pt.kind {
		case kindButton:
			bc := buttonConfig(cfg, pt.key)
			b, err := gpio.NewButton(ctx, line, bc, log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			closers = append(closers, b.Close)
			setButton(p, pt.key, b)
		case kindLight:
			l, err := gpio.NewLight(line, gpio.LightConfig{ActiveLow: ledOf(cfg, pt.key).ActiveLow}, log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			closers = append(closers, l.Close)
			setLight(p, pt.key, l)
		case kindRelay:
			r, err := gpio.NewRelay(line, relayConfig(cfg), log)
			if err != nil {
				return fail(fmt.Errorf("gpio %s (%s): %w", pt.key, pt.pin, err))
			}
			closers = append(closers, r.Close)
			p.Relay = r
		}
	}
	log.Info("GPIO panel on the machine's lines", "pins", pinList(parts))
	return p, nil
}

// openSim builds the simulated panel with the configured parts, wired alike,
// and says so in one line (with why, when auto fell back to it).
func openSim(ctx context.Context, cfg gpioConfig, parts []part, log *slog.Logger, why ...any) (*panel, error) {
	var sc sim.Config
	for _, pt := range parts {
		name := pt.key[strings.IndexByte(pt.key, '.')+1:]
		switch pt.kind {
		case kindButton:
			sc.Buttons = append(sc.Buttons, sim.ButtonSpec{Name: name, Config: buttonConfig(cfg, pt.key)})
		case kindLight:
			sc.Lights = append(sc.Lights, sim.LightSpec{Name: name, Config: gpio.LightConfig{ActiveLow: ledOf(cfg, pt.key).ActiveLow}})
		case kindRelay:
			rc := relayConfig(cfg)
			sc.Relay = &rc
		}
	}
	sp, err := sim.New(ctx, sc, log)
	if err != nil {
		return nil, fmt.Errorf("gpio: %w", err)
	}
	p := &panel{Mode: "sim", Sim: sp, Close: sp.Close}
	for _, pt := range parts {
		name := pt.key[strings.IndexByte(pt.key, '.')+1:]
		switch pt.kind {
		case kindButton:
			setButton(p, pt.key, sp.Button(name))
		case kindLight:
			setLight(p, pt.key, sp.Light(name))
		case kindRelay:
			p.Relay = sp.Relay()
		}
	}
	log.Info("simulated GPIO panel: open /panel to press its buttons and watch its lights", append([]any{"parts", len(parts)}, why...)...)
	return p, nil
}

func buttonConfig(cfg gpioConfig, key string) gpio.ButtonConfig {
	var b gpioButton
	switch key {
	case "buttons.call":
		b = cfg.Buttons.Call
	case "buttons.answer":
		b = cfg.Buttons.Answer
	case "buttons.hangup":
		b = cfg.Buttons.Hangup
	}
	pull, _ := pullOf(b.Pull) // validated
	return gpio.ButtonConfig{ActiveHigh: !b.ActiveLow, Pull: pull, Debounce: cfg.Debounce}
}

func ledOf(cfg gpioConfig, key string) gpioLED {
	switch key {
	case "leds.ringing":
		return cfg.LEDs.Ringing
	case "leds.incall":
		return cfg.LEDs.InCall
	}
	return cfg.LEDs.Ready
}

func relayConfig(cfg gpioConfig) gpio.RelayConfig {
	return gpio.RelayConfig{ActiveLow: cfg.Relay.ActiveLow, Pulse: cfg.Relay.Pulse}
}

// setButton and setLight store only non-nil parts, so an absent part stays a
// nil interface rather than an interface holding a nil pointer.
func setButton(p *panel, key string, b *gpio.Button) {
	if b == nil {
		return
	}
	switch key {
	case "buttons.call":
		p.Call = b
	case "buttons.answer":
		p.Answer = b
	case "buttons.hangup":
		p.Hangup = b
	}
}

func setLight(p *panel, key string, l *gpio.Light) {
	if l == nil {
		return
	}
	switch key {
	case "leds.ringing":
		p.Ringing = l
	case "leds.incall":
		p.InCall = l
	case "leds.ready":
		p.Ready = l
	}
}

func pinList(parts []part) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = p.key + "=" + p.pin
	}
	return strings.Join(s, " ")
}

// hostLines are the machine's GPIO lines, through periph's /dev/gpiochip
// driver.
type hostLines struct{}

var (
	periphOnce sync.Once
	periphErr  error
)

func (hostLines) lookup(name string) (pgpio.PinIO, error) {
	periphOnce.Do(func() { _, periphErr = driverreg.Init() })
	if periphErr != nil {
		return nil, fmt.Errorf("start periph: %w", periphErr)
	}
	if l := gpioreg.ByName(name); l != nil {
		return l, nil
	}
	return pinctrlLine(name), nil
}

// gpioName is a Broadcom pin name, as the Pi's own device tree names lines.
var gpioName = regexp.MustCompile(`^GPIO([0-9]{1,2})$`)

// pinctrlLine finds GPIOn by its offset on the Pi's main GPIO chip, for
// kernels whose device tree names some lines by function instead (a mainline
// Pi 3 calls GPIO4 "GPIO_GCLK"). The Pi's chip is the pinctrl-bcm2835,
// -bcm2711 or -rp1 one; periph lists pinctrl chips first.
func pinctrlLine(name string) pgpio.PinIO {
	m := gpioName.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	n, _ := strconv.Atoi(m[1])
	for _, c := range gpioioctl.Chips {
		if (strings.HasPrefix(c.Label(), "pinctrl-bcm") || strings.HasPrefix(c.Label(), "pinctrl-rp1")) && n < c.LineCount() {
			return c.ByNumber(n)
		}
	}
	return nil
}

func (hostLines) why() string {
	chips, _ := filepath.Glob("/dev/gpiochip*")
	if len(chips) == 0 {
		return "no /dev/gpiochip* on this machine"
	}
	for _, c := range chips {
		f, err := os.Open(c)
		if err != nil {
			return fmt.Sprintf("cannot open %s: %v (is the user in group gpio?)", c, err)
		}
		f.Close()
	}
	var names []string
	for i, l := range gpioreg.All() {
		if i == 12 {
			names = append(names, "...")
			break
		}
		names = append(names, l.Name())
	}
	return fmt.Sprintf("%d GPIO chips, with lines %s", len(gpioioctl.Chips), strings.Join(names, ", "))
}

func (hostLines) board() string {
	b, err := os.ReadFile("/proc/device-tree/model")
	if err != nil {
		return ""
	}
	model := strings.TrimRight(string(b), "\x00\n")
	if strings.HasPrefix(model, "Raspberry Pi") {
		return model
	}
	return ""
}
