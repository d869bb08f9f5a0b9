package gpio

import (
	"errors"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// newPin is a periph fake pin whose edges the test pushes. Create it inside
// the synctest bubble that uses it.
func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan pgpio.Level, 64)}
}

// write is one level a recorder saw, with the (fake) time it was written.
type write struct {
	at    time.Duration // since the recorder was made
	level pgpio.Level
}

// recorder is an output pin that remembers every write and can be told to
// fail them.
type recorder struct {
	*gpiotest.Pin
	start time.Time

	mu     sync.Mutex
	writes []write
	fail   bool
}

var errBroken = errors.New("pin broken")

func newRecorder(name string) *recorder {
	return &recorder{Pin: &gpiotest.Pin{N: name}, start: time.Now()}
}

func (r *recorder) Out(l pgpio.Level) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errBroken
	}
	r.writes = append(r.writes, write{time.Since(r.start), l})
	return r.Pin.Out(l)
}

func (r *recorder) setFail(f bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *recorder) level() pgpio.Level { return r.Pin.Read() }

// log is a copy of the writes so far.
func (r *recorder) log() []write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]write(nil), r.writes...)
}
