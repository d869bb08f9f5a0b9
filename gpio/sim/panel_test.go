package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio"
)

// The panel's parts are what main hands to device.
var (
	_ device.Button = (*gpio.Button)(nil)
	_ device.Light  = (*gpio.Light)(nil)
	_ device.Relay  = (*gpio.Relay)(nil)
	_ http.Handler  = (*Panel)(nil)
)

// door is the panel of a default configuration.
func door() Config {
	return Config{
		Buttons: []ButtonSpec{{Name: "call"}, {Name: "answer"}, {Name: "hangup"}},
		Lights:  []LightSpec{{Name: "ringing"}, {Name: "incall"}, {Name: "ready"}},
		Relay:   &gpio.RelayConfig{},
	}
}

func newPanel(t *testing.T, cfg Config) *Panel {
	t.Helper()
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	stop := start(p)
	t.Cleanup(func() { stop() })
	return p
}

// start runs p until stop, which then closes it; stop returns the same
// each time.
func start(p *Panel) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		return errors.Join(<-done, p.Close())
	})
}

func get(t *testing.T, p *Panel) (State, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/api/panel", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/panel: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /api/panel: Content-Type %q", ct)
	}
	var s State
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("GET /api/panel: %v in %s", err, rec.Body)
	}
	return s, strings.TrimSpace(rec.Body.String())
}

func press(p *Panel, contentType, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/panel/press", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	p.ServeHTTP(rec, req)
	return rec
}

func TestGetState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, door())
		_, body := get(t, p)
		want := `{"buttons":["call","answer","hangup"],"leds":{"incall":"off","ready":"off","ringing":"off"},"relay":"open"}`
		if body != want {
			t.Errorf("GET /api/panel = %s, want %s", body, want)
		}
	})
}

func TestLEDsFollowSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, door())
		steps := []struct {
			light string
			mode  device.LightMode
			want  map[string]string
		}{
			{"ready", device.LightOn, map[string]string{"ringing": "off", "incall": "off", "ready": "on"}},
			{"ringing", device.LightBlink, map[string]string{"ringing": "blink", "incall": "off", "ready": "on"}},
			{"ready", device.LightBlink, map[string]string{"ringing": "blink", "incall": "off", "ready": "blink"}},
			{"incall", device.LightOn, map[string]string{"ringing": "blink", "incall": "on", "ready": "blink"}},
			{"ringing", device.LightOff, map[string]string{"ringing": "off", "incall": "on", "ready": "blink"}},
		}
		for _, st := range steps {
			p.Light(st.light).Set(st.mode)
			time.Sleep(time.Second)
			s, body := get(t, p)
			for name, want := range st.want {
				if s.LEDs[name] != want {
					t.Errorf("after %s.Set(%d): GET = %s, want %s %q", st.light, st.mode, body, name, want)
				}
			}
		}
		// The virtual pin really blinks: it was written on and off.
		ringing := p.lights[0].pin
		p.Light("ringing").Set(device.LightBlink)
		seen := map[bool]bool{}
		for range 8 {
			time.Sleep(100 * time.Millisecond)
			seen[bool(ringing.Read())] = true
		}
		if !seen[true] || !seen[false] {
			t.Errorf("blinking ringing pin levels seen: %v, want both", seen)
		}
	})
}

func TestRelayState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, door())
		p.Relay().Pulse()
		if s, body := get(t, p); s.Relay != "closed" {
			t.Errorf("during a pulse GET = %s, want relay closed", body)
		}
		time.Sleep(3100 * time.Millisecond)
		if s, body := get(t, p); s.Relay != "open" {
			t.Errorf("after the pulse GET = %s, want relay open", body)
		}
		active := Config{Relay: &gpio.RelayConfig{ActiveLow: true, Pulse: time.Second}}
		q := newPanel(t, active)
		if s, body := get(t, q); s.Relay != "open" || q.relayP.Read() != true {
			t.Errorf("active-low relay at rest: GET = %s, pin %v", body, q.relayP.Read())
		}
		q.Relay().Pulse()
		if s, body := get(t, q); s.Relay != "closed" {
			t.Errorf("active-low relay pulsed: GET = %s", body)
		}
	})
}

func TestPressReachesButton(t *testing.T) {
	for _, cfg := range []gpio.ButtonConfig{{}, {ActiveHigh: true}, {Debounce: 80 * time.Millisecond}} {
		synctest.Test(t, func(t *testing.T) {
			c := door()
			for i := range c.Buttons {
				c.Buttons[i].Config = cfg
			}
			p := newPanel(t, c)
			for _, name := range []string{"call", "answer", "hangup"} {
				rec := press(p, "application/json", `{"button":"`+name+`"}`)
				if rec.Code != http.StatusNoContent {
					t.Fatalf("press %s (%+v): %d %s", name, cfg, rec.Code, rec.Body)
				}
				select {
				case <-p.Button(name).Pressed():
				case <-time.After(time.Second):
					t.Fatalf("press %s (%+v): no press on the button within 1 s", name, cfg)
				}
				time.Sleep(time.Second)
				for _, other := range []string{"call", "answer", "hangup"} {
					select {
					case <-p.Button(other).Pressed():
						t.Errorf("press %s (%+v): %s pressed too, or twice", name, cfg, other)
					default:
					}
				}
			}
		})
	}
}

func TestPressCounts(t *testing.T) {
	tests := []struct {
		name  string
		gaps  []time.Duration // between presses
		wants int
	}{
		{"one", nil, 1},
		{"a double click counts twice", []time.Duration{20 * time.Millisecond}, 2},
		{"five quick presses count five times", []time.Duration{0, 0, 0, 0}, 5},
		{"two presses 300 ms apart", []time.Duration{300 * time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPanel(t, door())
				n := 0
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				go func() {
					for {
						select {
						case <-ctx.Done():
							return
						case <-p.Button("call").Pressed():
							n++
						}
					}
				}()
				if err := p.Press("call"); err != nil {
					t.Fatal(err)
				}
				for _, g := range tt.gaps {
					time.Sleep(g)
					if err := p.Press("call"); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if n != tt.wants {
					t.Errorf("presses counted %d, want %d", n, tt.wants)
				}
			})
		})
	}
}

func TestPressRefused(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		code                    int
		reason                  string // a word the reason must contain
	}{
		{"unknown button", "application/json", `{"button":"open"}`, 400, "unknown button"},
		{"empty name", "application/json", `{"button":""}`, 400, "unknown button"},
		{"case matters", "application/json", `{"button":"Call"}`, 400, "unknown button"},
		{"bad JSON", "application/json", `{"button":`, 400, "JSON"},
		{"not an object", "application/json", `"call"`, 400, "JSON"},
		{"null", "application/json", `null`, 400, "missing"},
		{"number", "application/json", `{"button":3}`, 400, "JSON"},
		{"missing button", "application/json", `{}`, 400, "missing"},
		{"unknown field", "application/json", `{"button":"call","door":"open"}`, 400, "unknown field"},
		{"field in capitals", "application/json", `{"BUTTON":"call"}`, 400, "unknown field"},
		{"button twice", "application/json", `{"button":"answer","button":"call"}`, 400, "twice"},
		{"string with a trailing comma", "application/json", `{"button":"call",}`, 400, "JSON"},
		{"two objects", "application/json", `{"button":"call"}{"button":"call"}`, 400, "more after"},
		{"empty body", "application/json", ``, 400, "empty"},
		{"too big", "application/json", `{"button":"` + strings.Repeat("a", 2000) + `"}`, 413, "larger"},
		{"form post", "application/x-www-form-urlencoded", `button=call`, 415, "Content-Type"},
		{"text/plain", "text/plain", `{"button":"call"}`, 415, "Content-Type"},
		{"no content type", "", `{"button":"call"}`, 415, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPanel(t, door())
				rec := press(p, tt.contentType, tt.body)
				if rec.Code != tt.code {
					t.Fatalf("POST %q: %d %s, want %d", tt.body, rec.Code, rec.Body, tt.code)
				}
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, tt.reason) {
					t.Errorf("POST %q: body %s, want an error containing %q", tt.body, rec.Body, tt.reason)
				}
				// Nothing was pressed.
				time.Sleep(time.Second)
				for _, name := range []string{"call", "answer", "hangup"} {
					select {
					case <-p.Button(name).Pressed():
						t.Errorf("POST %q pressed %s", tt.body, name)
					default:
					}
				}
			})
		})
	}
}

func TestPressQueueLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, door())
		// The first press is taken by the finger at once; maxQueued more
		// wait; the next is refused.
		for i := range maxQueued + 1 {
			if rec := press(p, "application/json", `{"button":"call"}`); rec.Code != http.StatusNoContent {
				t.Fatalf("press %d: %d %s", i+1, rec.Code, rec.Body)
			}
			synctest.Wait()
		}
		rec := press(p, "application/json", `{"button":"call"}`)
		if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "too many presses") {
			t.Errorf("press %d: %d %s, want 429", maxQueued+2, rec.Code, rec.Body)
		}
		// Other buttons are not held up.
		if rec := press(p, "application/json", `{"button":"hangup"}`); rec.Code != http.StatusNoContent {
			t.Errorf("hangup while call is busy: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, door())
		for _, tt := range []struct {
			method, path string
			code         int
		}{
			{"GET", "/api/panel/press", 405},
			{"DELETE", "/api/panel", 405},
			{"GET", "/api/panel/nothing", 404},
			{"HEAD", "/api/panel", 200},
		} {
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.code {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.code)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s %s: Cache-Control %q, want no-store", tt.method, tt.path, cc)
			}
		}
	})
}

func TestPanelWithout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPanel(t, Config{Buttons: []ButtonSpec{{Name: "call"}}, Lights: []LightSpec{{Name: "ready"}}})
		if _, body := get(t, p); body != `{"buttons":["call"],"leds":{"ready":"off"}}` {
			t.Errorf("GET on a panel with one button, one light, no relay = %s", body)
		}
		if p.Button("hangup") != nil || p.Light("ringing") != nil || p.Relay() != nil {
			t.Error("absent parts are not nil")
		}
		rec := press(p, "application/json", `{"button":"hangup"}`)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "this panel has call") {
			t.Errorf("press of an absent button: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestNewRefusesDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, cfg := range []Config{
			{Buttons: []ButtonSpec{{Name: "call"}, {Name: "call"}}},
			{Buttons: []ButtonSpec{{Name: "call"}}, Lights: []LightSpec{{Name: "call"}}},
			{Lights: []LightSpec{{Name: ""}}},
		} {
			if p, err := New(cfg, nil); err == nil {
				p.Close()
				t.Errorf("New(%+v): no error", cfg)
			}
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(door(), nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := start(p)
		p.Light("ready").Set(device.LightOn)
		p.Relay().Pulse()
		if err := p.Press("call"); err != nil {
			t.Fatal(err)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run and Close: %v", err)
		}
		if s := p.State(); s.Relay != "open" {
			t.Errorf("after Close relay %s, want open", s.Relay)
		}
		if p.lights[2].pin.Read() {
			t.Error("after Close the ready pin is still on")
		}
		if err := p.Press("call"); err == nil {
			t.Error("Press after Close: no error")
		}
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		// synctest.Test fails if any goroutine or timer of the panel
		// outlives it.
	})
}
