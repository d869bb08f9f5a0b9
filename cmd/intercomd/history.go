package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/history"
)

// visitorHistory is the history store and the queue that feeds it the
// door's events; nil parts mean no history.
type visitorHistory struct {
	store *history.Store
	queue *device.EventQueue
}

// openHistory opens state_dir/history.db. A history that cannot open is
// logged and left out: the door must ring without it.
func openHistory(cfg config, cam history.Camera, log *slog.Logger) visitorHistory {
	if cfg.HistoryDays == 0 || cfg.HistoryMaxMB == 0 || cfg.StateDir == "" {
		log.Info("visitor history off")
		return visitorHistory{}
	}
	s, err := history.Open(history.Config{
		Path:     filepath.Join(cfg.StateDir, "history.db"),
		MaxAge:   time.Duration(cfg.HistoryDays) * 24 * time.Hour,
		MaxBytes: int64(cfg.HistoryMaxMB) << 20,
	}, log)
	if err != nil {
		log.Error("visitor history unavailable", "err", err)
		return visitorHistory{}
	}
	rec := history.NewRecorder(s, cam, log)
	return visitorHistory{store: s, queue: device.NewEventQueue(64, log.With("component", "history"), rec.Handle)}
}

// observers are what the door tells its events to.
func (h visitorHistory) observers() []func(device.Event) {
	if h.queue == nil {
		return nil
	}
	return []func(device.Event){h.queue.Observe}
}

// run writes the history until ctx ends, then flushes and closes it.
func (h visitorHistory) run(ctx context.Context) error {
	if h.store == nil {
		return nil
	}
	go h.queue.Run(ctx)
	err := h.store.Run(ctx)
	h.store.Close()
	return err
}
