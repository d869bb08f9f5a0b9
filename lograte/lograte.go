// Package lograte keeps floods of repeated log lines out of the journal. A
// stranger can make the daemon log (junk on the media port, a resident's
// Invite and Hangup in a loop: thousands of lines a second), and journald's
// own rate limit would then drop lines at random, a "door opened" among
// them. The Handler lets a few lines of each kind through per interval,
// counts the rest and says how many it held back; lines marked as security
// events (Security) always pass.
package lograte

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// SecurityKey is the attribute that marks a security event: a line with
// SecurityKey=true (Security()) is never held back. Packages that may not
// import this one (device) write the attribute by name.
const SecurityKey = "security"

// Security marks a log line as a security event: the door opened, a login,
// a password changed.
func Security() slog.Attr { return slog.Bool(SecurityKey, true) }

// Config sets the budget; zero values take the defaults.
type Config struct {
	// Burst is how many lines of one kind pass per Interval (default 10).
	Burst int
	// Interval is the window of the budget (default 10 s).
	Interval time.Duration
	// MaxKinds bounds the kinds tracked; past it, new kinds share one
	// budget (default 1024).
	MaxKinds int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler wraps another slog.Handler with the budget.
type Handler struct {
	next  slog.Handler
	scope string // the attributes and groups added by WithAttrs/WithGroup
	st    *state
}

type state struct {
	cfg Config

	mu        sync.Mutex
	kinds     map[string]*kind // guarded by mu
	lastSweep time.Time        // guarded by mu
}

// kind is one kind of line in its current window.
type kind struct {
	next    slog.Handler // where its summary goes (with the scope's attributes)
	msg     string
	level   slog.Level
	start   time.Time
	passed  int
	dropped int
}

// New wraps next.
func New(next slog.Handler, cfg Config) *Handler {
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.MaxKinds <= 0 {
		cfg.MaxKinds = 1024
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{next: next, st: &state{cfg: cfg, kinds: map[string]*kind{}}}
}

// Enabled reports whether the wrapped handler takes the level.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs returns a Handler whose lines carry attrs; its lines are kinds
// of their own (a component's "send failed" is not another's).
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.scope)
	for _, a := range attrs {
		b.WriteString(a.String())
		b.WriteByte(' ')
	}
	return &Handler{next: h.next.WithAttrs(attrs), scope: b.String(), st: h.st}
}

// WithGroup returns a Handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), scope: h.scope + name + ".", st: h.st}
}

// Handle passes the line, or counts it as held back.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if security(r) {
		return h.next.Handle(ctx, r)
	}
	now := h.st.cfg.Now()
	summaries := h.st.sweep(now)
	pass := h.st.take(h, r, now)
	for _, s := range summaries {
		s.emit(ctx, now)
	}
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func security(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == SecurityKey && a.Value.Kind() == slog.KindBool && a.Value.Bool() {
			found = true
			return false
		}
		return true
	})
	return found
}

// kindOf names the kind of a line: its scope, level and message up to the
// first digit or colon, as pion's formatted messages put addresses there.
func kindOf(scope string, r slog.Record) string {
	msg := r.Message
	if i := strings.IndexAny(msg, "0123456789:"); i >= 0 {
		msg = msg[:i]
	}
	return scope + r.Level.String() + " " + msg
}

// take counts the line against its kind's budget and reports whether it
// passes.
func (s *state) take(h *Handler, r slog.Record, now time.Time) bool {
	key := kindOf(h.scope, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[key]
	if k == nil {
		if len(s.kinds) >= s.cfg.MaxKinds-1 { // one left for the shared budget
			key = "" // past the bound, new kinds share one budget
			k = s.kinds[key]
		}
		if k == nil {
			k = &kind{next: h.next, msg: r.Message, level: r.Level, start: now}
			s.kinds[key] = k
		}
	}
	if k.passed < s.cfg.Burst {
		k.passed++
		return true
	}
	k.dropped++
	return false
}

// sweep ends the windows that are over, at most once an interval, and
// returns the kinds that held lines back so their summaries can be written.
func (s *state) sweep(now time.Time) []kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) < s.cfg.Interval/4 {
		return nil
	}
	s.lastSweep = now
	var out []kind
	for key, k := range s.kinds {
		if now.Sub(k.start) < s.cfg.Interval {
			continue
		}
		if k.dropped > 0 {
			out = append(out, *k)
		}
		delete(s.kinds, key)
	}
	return out
}

// emit writes the summary of a window that held lines back.
func (k kind) emit(ctx context.Context, now time.Time) {
	r := slog.NewRecord(now, max(k.level, slog.LevelWarn), "repeated log lines held back", 0)
	r.AddAttrs(slog.String("line", k.msg), slog.Int("count", k.dropped), slog.Duration("within", now.Sub(k.start).Round(time.Second)))
	_ = k.next.Handle(ctx, r) // as slog does: a handler's error has nowhere to go
}

// Flush writes the summaries of every window still holding lines back (at
// shutdown, so the last count is not lost).
func (h *Handler) Flush(ctx context.Context) {
	now := h.st.cfg.Now()
	h.st.mu.Lock()
	var out []kind
	for key, k := range h.st.kinds {
		if k.dropped > 0 {
			out = append(out, *k)
		}
		delete(h.st.kinds, key)
	}
	h.st.mu.Unlock()
	for _, k := range out {
		k.emit(ctx, now)
	}
}
