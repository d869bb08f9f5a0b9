package panel

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gopkg.in/yaml.v3"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/intercomd/intercomd/device"
)

// fakeLines is a machine with the given GPIO lines (periph's fakes).
type fakeLines struct {
	pins  map[string]*fakeLine
	model string
}

// fakeLine is a gpiotest pin that, like a /dev/gpiochip line, can be
// released.
type fakeLine struct {
	*gpiotest.Pin
	released int
}

func (l *fakeLine) Close() { l.released++ }

func newFakeLines(names ...string) *fakeLines {
	f := &fakeLines{pins: map[string]*fakeLine{}}
	for _, n := range names {
		f.pins[n] = &fakeLine{Pin: &gpiotest.Pin{N: n, EdgesChan: make(chan pgpio.Level, 16)}}
	}
	return f
}

func (f *fakeLines) lookup(name string) (pgpio.PinIO, error) {
	if p, ok := f.pins[name]; ok {
		return p, nil
	}
	return nil, nil
}
func (f *fakeLines) why() string   { return "fake machine" }
func (f *fakeLines) board() string { return f.model }

var piPins = []string{"GPIO17", "GPIO27", "GPIO22", "GPIO23", "GPIO24", "GPIO25", "GPIO18"}

func TestDefaultGPIO(t *testing.T) {
	c := Default()
	want := "buttons.call=GPIO17 buttons.answer=GPIO27 buttons.hangup=GPIO22 leds.ringing=GPIO23 leds.incall=GPIO24 leds.ready=GPIO25 relay=GPIO18"
	if got := pinList(c.parts()); got != want {
		t.Errorf("default pins %s, want %s", got, want)
	}
	if c.Mode != "auto" || c.Debounce != 30*time.Millisecond || c.Relay.Pulse != 3*time.Second ||
		!c.Buttons.Call.ActiveLow || c.LEDs.Ready.ActiveLow || c.Relay.ActiveLow {
		t.Errorf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// parseGPIO reads a config file's text over the defaults, as config.go does.
func parseGPIO(text string) (Config, error) {
	var file struct {
		GPIO Config `yaml:"gpio"`
	}
	file.GPIO = Default()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return file.GPIO, err
	}
	return file.GPIO, file.GPIO.Validate()
}

func TestGPIOConfigFile(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(Config) bool
	}{
		{"the WIRING.md snippet", `
gpio:
  mode: auto
  debounce: 30ms
  buttons:
    call:   {pin: GPIO17, active_low: true, pull: up}
    answer: {pin: GPIO27, active_low: true, pull: up}
    hangup: {pin: GPIO22, active_low: true, pull: up}
  leds:
    ringing: {pin: GPIO23, active_low: false}
    incall:  {pin: GPIO24, active_low: false}
    ready:   {pin: GPIO25, active_low: false}
  relay: {pin: GPIO18, active_low: false, pulse: 3s}
`, func(c Config) bool {
			return len(c.parts()) == 7 && c.Buttons.Call.Pull == "up" && c.Relay.Pulse == 3*time.Second
		}},
		{"one key keeps the other defaults", "gpio:\n  buttons:\n    call: {pin: GPIO5}\n", func(c Config) bool {
			return c.Buttons.Call.Pin == "GPIO5" && c.Buttons.Call.ActiveLow && c.Buttons.Answer.Pin == "GPIO27" && c.Relay.Pin == "GPIO18"
		}},
		{"none leaves a part out", "gpio:\n  relay: {pin: none}\n  leds:\n    incall: {pin: \"\"}\n", func(c Config) bool {
			return len(c.parts()) == 5
		}},
		{"durations", "gpio:\n  debounce: 50ms\n  relay: {pulse: 1.5s}\n", func(c Config) bool {
			return c.Debounce == 50*time.Millisecond && c.Relay.Pulse == 1500*time.Millisecond
		}},
		{"active high button, pull down", "gpio:\n  buttons:\n    answer: {active_low: false, pull: down}\n", func(c Config) bool {
			b := c.buttonConfig(&c.Buttons.Answer)
			return b.ActiveHigh && b.Pull == pgpio.PullDown
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseGPIO(tt.yaml)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("parsed %+v", c)
			}
		})
	}
}

func TestGPIOConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"gpio:\n  mode: pi\n", "gpio.mode"},
		{"gpio:\n  debounce: -1ms\n", "gpio.debounce"},
		{"gpio:\n  debounce: 5s\n", "gpio.debounce"},
		{"gpio:\n  relay: {pulse: 3m}\n", "gpio.relay.pulse"},
		{"gpio:\n  buttons:\n    call: {pull: sideways}\n", "gpio.buttons.call.pull"},
		{"gpio:\n  leds:\n    ready: {pin: GPIO17}\n", "GPIO17 used twice: buttons.call and leds.ready"},
		{"gpio:\n  buttons:\n    call: {pin: GPIO17, colour: red}\n", "colour"},
		{"gpio:\n  debounce: soon\n", "soon"},
	}
	for _, tt := range tests {
		_, err := parseGPIO(tt.yaml)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse %q: error %v, want one naming %q", tt.yaml, err, tt.want)
		}
	}
}

func TestOpenPanelReal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ls := newFakeLines(piPins...)
		p, err := openRun(Default(), nil, ls)
		if err != nil {
			t.Fatalf("openPanel: %v", err)
		}
		if p.Mode != "real" || p.Sim != nil {
			t.Errorf("mode %q, Sim %v; want real without Sim", p.Mode, p.Sim)
		}
		// Each button is on its pin.
		for _, b := range []struct {
			pin    string
			button device.Button
		}{{"GPIO17", p.Call}, {"GPIO27", p.Answer}, {"GPIO22", p.Hangup}} {
			ls.pins[b.pin].EdgesChan <- pgpio.Low
			time.Sleep(100 * time.Millisecond)
			ls.pins[b.pin].EdgesChan <- pgpio.High
			select {
			case <-b.button.Pressed():
			case <-time.After(time.Second):
				t.Fatalf("press on %s did not reach its button", b.pin)
			}
		}
		// Each light is on its pin.
		for _, l := range []struct {
			pin   string
			light device.Light
		}{{"GPIO23", p.Ringing}, {"GPIO24", p.InCall}, {"GPIO25", p.Ready}} {
			l.light.Set(device.LightOn)
			synctest.Wait()
			if !ls.pins[l.pin].Read() {
				t.Errorf("light on %s set on, pin low", l.pin)
			}
		}
		p.Relay.Pulse()
		synctest.Wait()
		if !ls.pins["GPIO18"].Read() {
			t.Error("relay pulsed, GPIO18 low")
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for name, l := range ls.pins {
			if l.released != 1 {
				t.Errorf("%s released %d times, want 1", name, l.released)
			}
			if name != "GPIO17" && name != "GPIO27" && name != "GPIO22" && l.Read() {
				t.Errorf("output %s still high after Close", name)
			}
		}
		p.Close() // twice is fine
	})
}

func TestOpenPanelPolarity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Default()
		cfg.LEDs.Ready.ActiveLow = true
		cfg.Relay.ActiveLow = true
		ls := newFakeLines(piPins...)
		p, err := openRun(cfg, nil, ls)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		synctest.Wait()
		if !ls.pins["GPIO25"].Read() || !ls.pins["GPIO18"].Read() {
			t.Error("active-low ready light and relay do not rest high")
		}
		if ls.pins["GPIO17"].Pull() != pgpio.PullUp {
			t.Errorf("call button pull %s, want PullUp", ls.pins["GPIO17"].Pull())
		}
	})
}

func TestOpenPanelAbsentParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Default()
		cfg.Buttons.Hangup.Pin = ""
		cfg.LEDs.InCall.Pin = "none"
		cfg.Relay.Pin = ""
		p, err := openRun(cfg, nil, newFakeLines(piPins...))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		// Plain nil interfaces, so device's `if b != nil` works.
		if p.Hangup != nil || p.InCall != nil || p.Relay != nil {
			t.Errorf("absent parts not nil: hangup %v, incall %v, relay %v", p.Hangup, p.InCall, p.Relay)
		}
		if p.Call == nil || p.Ready == nil {
			t.Error("configured parts missing")
		}
	})
}

func TestOpenPanelMissingPin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Default()
		cfg.Mode = "real"
		cfg.LEDs.Ready.Pin = "GPIO99"
		ls := newFakeLines(piPins...)
		_, err := openRun(cfg, nil, ls)
		if err == nil || !strings.Contains(err.Error(), "leds.ready") || !strings.Contains(err.Error(), "GPIO99") {
			t.Fatalf("openPanel with GPIO99: %v, want an error naming leds.ready and GPIO99", err)
		}
		// What was opened before the failure is released again.
		for _, n := range []string{"GPIO17", "GPIO23", "GPIO24"} {
			if ls.pins[n].released != 1 {
				t.Errorf("%s released %d times after the failed open, want 1", n, ls.pins[n].released)
			}
		}
	})
}

func TestOpenPanelModes(t *testing.T) {
	tests := []struct {
		name, mode string
		lines      []string
		model      string
		want       string // mode chosen, or "error"
	}{
		{"auto with the pins is real", "auto", piPins, "", "real"},
		{"auto with some pins is real", "auto", piPins[:1], "", "error"}, // real, and the others are missing
		{"auto without pins is simulated", "auto", nil, "", "sim"},
		{"auto on a Pi without pins fails", "auto", nil, "Raspberry Pi 5 Model B Rev 1.0", "error"},
		{"sim even with pins", "sim", piPins, "", "sim"},
		{"real without pins fails", "real", nil, "", "error"},
		{"none", "none", piPins, "", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Default()
				cfg.Mode = tt.mode
				ls := newFakeLines(tt.lines...)
				ls.model = tt.model
				var logs bytes.Buffer
				p, err := openRun(cfg, slog.New(slog.NewTextHandler(&logs, nil)), ls)
				if tt.want == "error" {
					if err == nil {
						p.Close()
						t.Fatalf("openPanel: no error, mode %s", p.Mode)
					}
					return
				}
				if err != nil {
					t.Fatalf("openPanel: %v", err)
				}
				defer p.Close()
				if p.Mode != tt.want || (p.Sim != nil) != (tt.want == "sim") {
					t.Errorf("mode %q (Sim %v), want %q", p.Mode, p.Sim != nil, tt.want)
				}
				// The simulated panel is announced once, with why when
				// auto chose it.
				if n := strings.Count(logs.String(), "\n"); tt.want == "sim" && (n != 1 ||
					!strings.Contains(logs.String(), "simulated GPIO panel") ||
					(tt.mode == "auto") != strings.Contains(logs.String(), "why=")) {
					t.Errorf("logged %d lines, want one announcing the simulated panel (with why if auto):\n%s", n, &logs)
				}
				if tt.want == "none" && (p.Call != nil || p.Ready != nil || p.Relay != nil) {
					t.Error("mode none has parts")
				}
				if tt.want != "none" && (p.Call == nil || p.Ringing == nil || p.Relay == nil) {
					t.Errorf("mode %s lacks parts", p.Mode)
				}
			})
		})
	}
}

// The simulated panel's API reaches the very buttons and lights main hands
// to device.
func TestOpenPanelSim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Default()
		cfg.Mode = "sim"
		p, err := openRun(cfg, nil, newFakeLines())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/panel/press", strings.NewReader(`{"button":"answer"}`))
		req.Header.Set("Content-Type", "application/json")
		p.Sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("press answer: %d %s", rec.Code, rec.Body)
		}
		select {
		case <-p.Answer.Pressed():
		case <-time.After(time.Second):
			t.Fatal("simulated press did not reach the Answer button")
		}
		p.Ringing.Set(device.LightBlink)
		p.Relay.Pulse()
		time.Sleep(100 * time.Millisecond)
		rec = httptest.NewRecorder()
		p.Sim.ServeHTTP(rec, httptest.NewRequest("GET", "/api/panel", nil))
		want := `{"buttons":["call","answer","hangup"],"leds":{"incall":"off","ready":"off","ringing":"blink"},"relay":"closed"}`
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Errorf("GET /api/panel = %s, want %s", got, want)
		}
	})
}

// openRun opens the panel and runs it, as serve does; its Close stops Run
// first, then closes (the same answer each time).
func openRun(cfg Config, log *slog.Logger, ls lines) (*Panel, error) {
	p, err := openWith(cfg, log, ls)
	if err != nil {
		return p, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	closePins := p.Close
	p.Close = sync.OnceValue(func() error {
		cancel()
		return errors.Join(<-done, closePins())
	})
	return p, nil
}
