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

import "log/slog"

// discard is the logger of parts built without one.
var discard = slog.New(slog.DiscardHandler)

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return discard
	}
	return log
}
