// Package gpio drives the door's panel through periph.io: debounced buttons,
// lights that are on, off or blinking, and the door relay's timed pulse.
//
// Constructors take periph pins (gpio.PinIn, gpio.PinOut), never pin names:
// only main resolves names, so tests hand in periph's gpiotest pins and the
// simulated panel (package gpio/sim) hands in virtual ones, and all of them
// run the same code as a Raspberry Pi's /dev/gpiochip lines.
//
// Timing uses the time package only (timers, tickers and WaitForEdge
// timeouts), so tests run it on testing/synctest's fake clock.
package gpio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// discard is the logger of parts built without one.
var discard = slog.New(slog.DiscardHandler)

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return discard
	}
	return log
}

// Runner is a part with a goroutine of its own: a Button or a Light.
type Runner interface {
	Run(ctx context.Context) error
}

// RunAll runs every part until ctx ends and waits for them all; it returns
// their errors joined.
func RunAll(ctx context.Context, parts ...Runner) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = p.Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
