package gpio

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

const ms = time.Millisecond

// edge is one level change pushed into a fake pin, after a pause.
type edge struct {
	after time.Duration
	level pgpio.Level
}

// counter counts a button's presses as the state machine would see them.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func count(ctx context.Context, b *Button) *counter {
	c := &counter{}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.Pressed():
				c.mu.Lock()
				c.n++
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// bouncy is a press or release whose contact chatters for a few
// milliseconds before it settles on level.
func bouncy(after time.Duration, level pgpio.Level) []edge {
	return []edge{
		{after, level}, {1 * ms, !level}, {2 * ms, level}, {1 * ms, !level}, {3 * ms, level},
		{2 * ms, !level}, {1 * ms, level},
	}
}

func join(parts ...[]edge) []edge {
	var all []edge
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestButtonDebounce(t *testing.T) {
	L, H := pgpio.Low, pgpio.High
	tests := []struct {
		name  string
		cfg   ButtonConfig
		start pgpio.Level // level before the button starts (Float pull only)
		edges []edge
		want  int
	}{
		{name: "clean press", edges: []edge{{0, L}, {200 * ms, H}}, want: 1},
		{name: "bouncy press and release count once", edges: join(bouncy(0, L), bouncy(200*ms, H)), want: 1},
		{name: "bounces spread over 25 ms count once", edges: []edge{
			{0, L}, {5 * ms, H}, {5 * ms, L}, {5 * ms, H}, {5 * ms, L}, {5 * ms, H}, {4 * ms, L}, {200 * ms, H}}, want: 1},
		{name: "two presses 100 ms apart count twice", edges: join(bouncy(0, L), bouncy(50*ms, H), bouncy(50*ms, L), bouncy(50*ms, H)), want: 2},
		{name: "a 5 ms spike is no press", edges: []edge{{0, L}, {5 * ms, H}}, want: 0},
		{name: "a long hold is one press", edges: []edge{{0, L}, {10 * time.Second, H}}, want: 1},
		{name: "release alone is no press", cfg: ButtonConfig{Pull: pgpio.Float}, start: L, edges: []edge{{0, H}}, want: 0},
		{name: "held at start counts after release and press", cfg: ButtonConfig{Pull: pgpio.Float}, start: L,
			edges: []edge{{0, H}, {100 * ms, L}, {100 * ms, H}}, want: 1},
		{name: "active high", cfg: ButtonConfig{ActiveHigh: true}, edges: join(bouncy(0, H), bouncy(100*ms, L)), want: 1},
		{name: "active high ignores low pulses", cfg: ButtonConfig{ActiveHigh: true}, edges: []edge{{0, L}, {100 * ms, L}}, want: 0},
		{name: "longer debounce swallows a 40 ms press", cfg: ButtonConfig{Debounce: 50 * ms}, edges: []edge{{0, L}, {40 * ms, H}}, want: 0},
		{name: "default debounce takes a 40 ms press", edges: []edge{{0, L}, {40 * ms, H}}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				p := newPin("GPIO17")
				p.L = tt.start // kept only with Float: In applies the pull
				b, err := NewButton(p, tt.cfg, nil)
				if err != nil {
					t.Fatalf("NewButton: %v", err)
				}
				stop := start(b)
				defer stop()
				c := count(ctx, b)
				for _, e := range tt.edges {
					time.Sleep(e.after)
					p.EdgesChan <- e.level
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if got := c.get(); got != tt.want {
					t.Errorf("presses = %d, want %d", got, tt.want)
				}
			})
		})
	}
}

func TestButtonPull(t *testing.T) {
	tests := []struct {
		cfg  ButtonConfig
		want pgpio.Pull
	}{
		{ButtonConfig{}, pgpio.PullUp},
		{ButtonConfig{ActiveHigh: true}, pgpio.PullDown},
		{ButtonConfig{Pull: pgpio.Float}, pgpio.Float},
		{ButtonConfig{Pull: pgpio.PullDown}, pgpio.PullDown},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			p := newPin("GPIO27")
			b, err := NewButton(p, tt.cfg, nil)
			if err != nil {
				t.Fatalf("NewButton(%+v): %v", tt.cfg, err)
			}
			stop := start(b)
			defer stop()
			if got := p.Pull(); got != tt.want {
				t.Errorf("NewButton(%+v) set pull %s, want %s", tt.cfg, got, tt.want)
			}
		})
	}
}

func TestButtonStops(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, err := NewButton(newPin("GPIO22"), ButtonConfig{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			stop := start(b)
			if err := stop(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := stop(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			// synctest.Test fails if the watcher outlives the bubble.
		})
	})
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			b, err := NewButton(newPin("GPIO22"), ButtonConfig{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx) }()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run after its context ended = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("button still watching 5 s after its context ended")
			}
		})
	})
}

func TestButtonErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// gpiotest refuses edge detection without an edge channel, as a
		// pin without interrupts would.
		if _, err := NewButton(&gpiotest.Pin{N: "GPIO5"}, ButtonConfig{}, nil); err == nil {
			t.Error("NewButton on a pin without edges: no error")
		}
		if _, err := NewButton(newPin("GPIO5"), ButtonConfig{Debounce: -ms}, nil); err == nil {
			t.Error("NewButton with a negative debounce: no error")
		}
		if _, err := NewButton(nil, ButtonConfig{}, nil); err == nil {
			t.Error("NewButton(nil pin): no error")
		}
	})
}
