package gpio

import (
	"testing"
	"testing/synctest"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
)

func TestRelayPulse(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		cfg    RelayConfig
		pulses []time.Duration // when Pulse is called
		// closed and open are moments (since the start) when the relay
		// must be closed or open.
		closed, open []time.Duration
	}{
		{"one pulse of the default 3 s", RelayConfig{}, []time.Duration{0},
			[]time.Duration{0, 1 * s, 2900 * time.Millisecond}, []time.Duration{3100 * time.Millisecond, 10 * s}},
		{"a pulse during a pulse extends it", RelayConfig{}, []time.Duration{0, 2 * s},
			[]time.Duration{0, 2900 * time.Millisecond, 4900 * time.Millisecond}, []time.Duration{5100 * time.Millisecond, 30 * s}},
		{"many pulses end one pulse after the last", RelayConfig{}, []time.Duration{0, 500 * time.Millisecond, s, 1500 * time.Millisecond, 2 * s, 2500 * time.Millisecond},
			[]time.Duration{5400 * time.Millisecond}, []time.Duration{5600 * time.Millisecond}},
		{"a pulse after the end closes it again", RelayConfig{}, []time.Duration{0, 4 * s},
			[]time.Duration{2 * s, 4 * s, 6900 * time.Millisecond}, []time.Duration{3500 * time.Millisecond, 7100 * time.Millisecond}},
		{"configured pulse", RelayConfig{Pulse: 500 * time.Millisecond}, []time.Duration{0},
			[]time.Duration{400 * time.Millisecond}, []time.Duration{600 * time.Millisecond}},
		{"active low", RelayConfig{ActiveLow: true}, []time.Duration{0},
			[]time.Duration{s}, []time.Duration{4 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				p := newRecorder("GPIO18")
				r, err := NewRelay(p, tt.cfg, nil)
				if err != nil {
					t.Fatalf("NewRelay: %v", err)
				}
				defer r.Close()
				closedLevel := pgpio.Level(!tt.cfg.ActiveLow)
				if p.level() == closedLevel || r.Closed() {
					t.Fatalf("new relay is closed (pin %s)", p.level())
				}
				type event struct {
					at    time.Duration
					pulse bool
					want  bool
				}
				var events []event
				for _, at := range tt.pulses {
					events = append(events, event{at: at, pulse: true})
				}
				for _, at := range tt.closed {
					events = append(events, event{at: at, want: true})
				}
				for _, at := range tt.open {
					events = append(events, event{at: at})
				}
				// In time order; at equal times the pulse comes first.
				for i := 1; i < len(events); i++ {
					for j := i; j > 0 && (events[j].at < events[j-1].at || events[j].at == events[j-1].at && events[j].pulse && !events[j-1].pulse); j-- {
						events[j], events[j-1] = events[j-1], events[j]
					}
				}
				for _, e := range events {
					time.Sleep(e.at - time.Since(start))
					if e.pulse {
						r.Pulse()
						continue
					}
					synctest.Wait()
					closed := p.level() == closedLevel
					if closed != e.want || r.Closed() != e.want {
						t.Errorf("at %v: pin %s (closed %t), Closed() %t, want closed %t", e.at, p.level(), closed, r.Closed(), e.want)
					}
				}
			})
		})
	}
}

func TestRelayCloseReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO18")
		r, err := NewRelay(p, RelayConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Pulse()
		time.Sleep(time.Second)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if p.level() != pgpio.Low || r.Closed() {
			t.Errorf("Close during a pulse: pin %s, Closed() %t; want open", p.level(), r.Closed())
		}
		r.Pulse() // ignored after Close
		time.Sleep(10 * time.Second)
		if p.level() != pgpio.Low {
			t.Errorf("Pulse after Close closed the relay")
		}
		for _, w := range p.log()[1:] {
			if w.level == pgpio.High && w.at > time.Second {
				t.Errorf("relay written closed at %v, after Close", w.at)
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestRelayRetriesRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO18")
		r, err := NewRelay(p, RelayConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.Pulse()
		time.Sleep(2 * time.Second)
		p.setFail(true) // the release at 3 s fails
		time.Sleep(2 * time.Second)
		if !r.Closed() {
			t.Fatal("relay reports open though its release failed")
		}
		p.setFail(false)
		time.Sleep(time.Second)
		if p.level() != pgpio.Low || r.Closed() {
			t.Errorf("relay still closed 1 s after the pin recovered (pin %s)", p.level())
		}
	})
}

func TestRelayErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newRecorder("GPIO18")
		p.setFail(true)
		if _, err := NewRelay(p, RelayConfig{}, nil); err == nil {
			t.Error("NewRelay on a broken pin: no error")
		}
		if _, err := NewRelay(newRecorder("GPIO18"), RelayConfig{Pulse: -time.Second}, nil); err == nil {
			t.Error("NewRelay with a negative pulse: no error")
		}
		if _, err := NewRelay(nil, RelayConfig{}, nil); err == nil {
			t.Error("NewRelay(nil pin): no error")
		}
	})
}
