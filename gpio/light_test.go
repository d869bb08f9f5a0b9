package gpio

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/intercomd/intercomd/device"
)

func TestLightModes(t *testing.T) {
	L, H := pgpio.Low, pgpio.High
	tests := []struct {
		name string
		cfg  LightConfig
		mode device.LightMode
		// want is the pin's level sampled every 125 ms, starting 125 ms
		// after Set: mid-way through each half period of a blink.
		want []pgpio.Level
	}{
		{"off", LightConfig{}, device.LightOff, []pgpio.Level{L, L, L, L}},
		{"on", LightConfig{}, device.LightOn, []pgpio.Level{H, H, H, H}},
		{"blink", LightConfig{}, device.LightBlink, []pgpio.Level{H, L, H, L, H, L}},
		{"off, active low", LightConfig{ActiveLow: true}, device.LightOff, []pgpio.Level{H, H, H}},
		{"on, active low", LightConfig{ActiveLow: true}, device.LightOn, []pgpio.Level{L, L, L}},
		{"blink, active low", LightConfig{ActiveLow: true}, device.LightBlink, []pgpio.Level{L, H, L, H}},
		{"slow blink", LightConfig{BlinkPeriod: time.Second}, device.LightBlink, []pgpio.Level{H, H, L, L, H, H, L, L, H}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newRecorder("GPIO23")
				l, err := NewLight(p, tt.cfg, nil)
				if err != nil {
					t.Fatalf("NewLight: %v", err)
				}
				stop := start(l)
				off := pgpio.Level(tt.cfg.ActiveLow)
				if got := p.level(); got != off {
					t.Errorf("new light: pin %s, want %s (off)", got, off)
				}
				l.Set(tt.mode)
				if got := l.Mode(); got != tt.mode {
					t.Errorf("Mode() = %v after Set(%v)", got, tt.mode)
				}
				time.Sleep(125 * time.Millisecond)
				for i, want := range tt.want {
					if i > 0 {
						time.Sleep(250 * time.Millisecond)
					}
					synctest.Wait()
					if got := p.level(); got != want {
						t.Errorf("Set(%v): sample %d at %v: pin %s, want %s", tt.mode, i, 125*time.Millisecond+time.Duration(i)*250*time.Millisecond, got, want)
					}
				}
				if err := stop(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if got := p.level(); got != off {
					t.Errorf("closed light: pin %s, want %s (off)", got, off)
				}
			})
		})
	}
}

func TestLightChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO25")
		l, err := NewLight(p, LightConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := start(l)
		defer stop()
		l.Set(device.LightBlink)
		time.Sleep(300 * time.Millisecond) // past the first toggle
		synctest.Wait()
		before := len(p.log())
		l.Set(device.LightBlink) // again: must not restart the rhythm
		synctest.Wait()
		if w := p.log(); len(w) != before {
			t.Errorf("Set(Blink) while blinking wrote the pin: %v", w[before:])
		}
		time.Sleep(200 * time.Millisecond) // 500 ms: the second toggle
		synctest.Wait()
		if got := p.level(); got != pgpio.High {
			t.Errorf("blink at 500 ms: pin %s, want High", got)
		}
		l.Set(device.LightOn)
		synctest.Wait()
		n := len(p.log())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if w := p.log(); p.level() != pgpio.High || len(w) != n {
			t.Errorf("after Set(On) the pin went on changing: %v", w[n:])
		}
		l.Set(device.LightOff)
		synctest.Wait()
		if p.level() != pgpio.Low {
			t.Errorf("Set(Off): pin %s, want Low", p.level())
		}
	})
}

func TestLightSurvivesPinErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO24")
		l, err := NewLight(p, LightConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := start(l)
		defer stop()
		p.setFail(true)
		l.Set(device.LightBlink)
		time.Sleep(time.Second)
		p.setFail(false)
		l.Set(device.LightOn)
		synctest.Wait()
		if got := p.level(); got != pgpio.High {
			t.Errorf("Set(On) after the pin recovered: pin %s, want High", got)
		}
	})
}

func TestLightSetAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO24")
		l, err := NewLight(p, LightConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := start(l)
		stop()
		l.Set(device.LightOn) // must neither block nor light it
		synctest.Wait()
		if got := p.level(); got != pgpio.Low {
			t.Errorf("Set(On) after Run returned: pin %s, want Low", got)
		}
		if err := stop(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// start runs r (a Light or a Button) until stop is called; stop waits for
// Run and returns what it returned, each time it is called.
func start(r interface{ Run(context.Context) error }) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		return <-done
	})
}
