package sim

import (
	"errors"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// edgeQueue is how many edges a virtual pin holds for a slow reader, about
// what the kernel queues for a /dev/gpiochip line.
const edgeQueue = 16

var errNoPWM = errors.New("sim: virtual pins have no PWM")

// Pin is a virtual GPIO line that behaves like a /dev/gpiochip line: the
// program configures it, waits for its edges, reads it and writes it, while
// the simulated world drives it (Drive) and watches what the program writes
// (the changed callback).
type Pin struct {
	name    string
	changed func()

	mu    sync.Mutex // guards the fields below
	level pgpio.Level
	pull  pgpio.Pull
	edge  pgpio.Edge
	edges chan struct{} // one value per edge not yet waited for
	halt  chan struct{} // Halt's wake-up for a WaitForEdge in progress
}

var _ pgpio.PinIO = (*Pin)(nil)

// NewPin makes a virtual line at level. changed, if not nil, is called after
// every write by the program (Out), outside the pin's lock.
func NewPin(name string, level pgpio.Level, changed func()) *Pin {
	return &Pin{
		name:    name,
		changed: changed,
		level:   level,
		edges:   make(chan struct{}, edgeQueue),
		halt:    make(chan struct{}, 1),
	}
}

// Drive sets the level from outside, as a button or a wire would, and
// queues an edge if the program asked for edges of that kind. An edge that
// finds the queue full is lost, as the kernel's would be; the level is not.
func (p *Pin) Drive(l pgpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.level == l {
		return
	}
	p.level = l
	if p.edge == pgpio.BothEdges || p.edge == pgpio.RisingEdge && l == pgpio.High || p.edge == pgpio.FallingEdge && l == pgpio.Low {
		select {
		case p.edges <- struct{}{}:
		default:
		}
	}
}

// String implements conn.Resource.
func (p *Pin) String() string { return p.name }

// Halt interrupts a WaitForEdge in progress (or the next one).
func (p *Pin) Halt() error {
	select {
	case p.halt <- struct{}{}:
	default:
	}
	return nil
}

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin; virtual pins have no number.
func (p *Pin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *Pin) Function() string { return string(p.Func()) }

// Func implements pin.PinFunc.
func (p *Pin) Func() pin.Func {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.level {
		return pgpio.IN_HIGH
	}
	return pgpio.IN_LOW
}

// SupportedFuncs implements pin.PinFunc.
func (p *Pin) SupportedFuncs() []pin.Func { return []pin.Func{pgpio.IN, pgpio.OUT} }

// SetFunc implements pin.PinFunc.
func (p *Pin) SetFunc(f pin.Func) error {
	switch f {
	case pgpio.IN:
		return p.In(pgpio.PullNoChange, pgpio.NoEdge)
	case pgpio.OUT_HIGH:
		return p.Out(pgpio.High)
	case pgpio.OUT, pgpio.OUT_LOW:
		return p.Out(pgpio.Low)
	}
	return errors.New("sim: unsupported function " + string(f))
}

// In implements pgpio.PinIn: the pull resistor sets the level of a line
// nothing drives, and pending edges are dropped, as a new line request does.
func (p *Pin) In(pull pgpio.Pull, edge pgpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pull, p.edge = pull, edge
	switch pull {
	case pgpio.PullUp:
		p.level = pgpio.High
	case pgpio.PullDown:
		p.level = pgpio.Low
	}
	for {
		select {
		case <-p.edges:
		default:
			return nil
		}
	}
}

// Read implements pgpio.PinIn.
func (p *Pin) Read() pgpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements pgpio.PinIn: it returns true for an edge, false on
// timeout or Halt. A negative timeout waits for ever.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	var after <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		after = t.C
	}
	select {
	case <-p.edges:
		return true
	case <-p.halt:
		return false
	case <-after:
		return false
	}
}

// Pull implements pgpio.PinIn.
func (p *Pin) Pull() pgpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

// DefaultPull implements pgpio.PinIn.
func (p *Pin) DefaultPull() pgpio.Pull { return pgpio.PullNoChange }

// Out implements pgpio.PinOut.
func (p *Pin) Out(l pgpio.Level) error {
	p.mu.Lock()
	p.level = l
	p.mu.Unlock()
	if p.changed != nil {
		p.changed()
	}
	return nil
}

// PWM implements pgpio.PinOut; virtual pins have none.
func (p *Pin) PWM(pgpio.Duty, physic.Frequency) error { return errNoPWM }
