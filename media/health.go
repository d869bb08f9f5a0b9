package media

import (
	"fmt"
	"log/slog"
)

// readHealth is a capture loop's account of its device: the first failed
// read is logged and reported, the ones after it are not (a camera that
// errors 30 times a second must not flood the journal), and the first
// good read after them says the device works again. It belongs to the
// loop's goroutine.
type readHealth struct {
	what    string // "camera", "microphone": the log's and the error's word
	log     *slog.Logger
	onErr   func(error) // the error once, then nil when reads work again
	failing bool
}

// failed records a failed read.
func (h *readHealth) failed(err error) {
	if h.failing {
		return
	}
	h.failing = true
	h.log.Error(h.what+" read failed", "err", err)
	h.onErr(fmt.Errorf("%s: %w", h.what, err))
}

// ok records a good read.
func (h *readHealth) ok() {
	if !h.failing {
		return
	}
	h.failing = false
	h.log.Info(h.what + " works again")
	h.onErr(nil)
}
