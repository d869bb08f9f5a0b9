package history

import (
	"context"
	"log/slog"
	"time"

	"github.com/intercomd/intercomd/device"
)

// Camera takes the pictures of the history (*media.Media).
type Camera interface {
	Snapshot() (full, thumb []byte, err error)
}

// Recorder turns the door's events into history entries: one per ring
// (with who answered or that it was missed, and the call's length), one per
// look (a resident calling the door) and one per opening, each with a
// picture taken when it happened. Handle runs on a device.EventQueue's
// goroutine, never on the door's.
type Recorder struct {
	store *Store
	cam   Camera // may be nil
	log   *slog.Logger
	open  map[uint64]Entry // the ring or look of each call id still going; owned by Handle's goroutine
}

// NewRecorder records into store, with pictures from cam (nil: none).
func NewRecorder(store *Store, cam Camera, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, cam: cam, log: log.With("component", "history"), open: map[uint64]Entry{}}
}

// Handle records one door event; pass it to device.NewEventQueue.
func (r *Recorder) Handle(_ context.Context, ev device.Event) {
	switch ev.Kind {
	case device.EventRing:
		r.open[ev.Call] = r.put(Entry{At: ev.At, Kind: KindRing, Outcome: OutcomeRinging, Via: ev.Via}, true)
	case device.EventIncoming:
		r.open[ev.Call] = r.put(Entry{At: ev.At, Kind: KindLook, Outcome: OutcomeRinging, Peer: ev.Peer, Via: "call"}, true)
	case device.EventRingAnswered:
		r.update(ev.Call, func(e *Entry) { e.Outcome, e.Peer = OutcomeAnswered, ev.Peer })
	case device.EventCallStarted:
		r.update(ev.Call, func(e *Entry) {
			if e.Kind == KindLook && e.Outcome == OutcomeRinging {
				e.Outcome = OutcomeAnswered
			}
		})
	case device.EventTalk:
		r.update(ev.Call, func(e *Entry) {
			if e.Kind == KindLook {
				e.Outcome = OutcomeTalked
			}
		})
	case device.EventRingMissed:
		r.update(ev.Call, func(e *Entry) { e.Outcome, e.Note = OutcomeMissed, joinNote(e.Note, ev.Reason) })
		r.finish(ev.Call)
	case device.EventCallEnded:
		r.update(ev.Call, func(e *Entry) {
			e.Dur = ev.Dur
			if e.Outcome == OutcomeRinging {
				e.Outcome = OutcomeAnswered
			}
		})
		r.finish(ev.Call)
	case device.EventDoorOpened:
		o := Entry{At: ev.At, Kind: KindOpen, Peer: ev.Peer, Via: ev.Via}
		if e, ok := r.open[ev.Call]; ok {
			o.Ref = e.ID
			r.update(ev.Call, func(e *Entry) { e.Opened = ev.Peer })
		}
		r.put(o, true)
		r.store.Flush() // an opening is worth its own write at once
	}
}

// update changes the open ring or look of call, if any.
func (r *Recorder) update(call uint64, f func(*Entry)) {
	e, ok := r.open[call]
	if !ok {
		return
	}
	f(&e)
	e.Full, e.Thumb = nil, nil
	r.open[call] = r.store.Put(e)
}

func (r *Recorder) finish(call uint64) {
	delete(r.open, call)
}

// put stores e, with a picture of the door now if pic.
func (r *Recorder) put(e Entry, pic bool) Entry {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if pic && r.cam != nil {
		full, thumb, err := r.cam.Snapshot()
		if err != nil {
			r.log.Warn("no picture for the history", "kind", e.Kind, "err", err)
			e.Note = joinNote(e.Note, "no picture: snapshot failed")
		}
		e.Full, e.Thumb = full, thumb
	}
	e = r.store.Put(e)
	e.Full, e.Thumb = nil, nil
	return e
}
