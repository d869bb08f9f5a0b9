package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/intercomd/intercomd/lograte"
)

// notifyReady tells systemd the door is up (Type=notify), then pings the
// watchdog for as long as alive says the main loop answers. Outside systemd
// both are no-ops.
func notifyReady(ctx context.Context, log *slog.Logger, alive func(context.Context) error) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("systemd notify", "err", err)
	} else if ok {
		log.Info("told systemd we are ready")
	}
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			return
		case <-t.C:
			check, cancel := context.WithTimeout(ctx, interval/3)
			err := alive(check)
			cancel()
			if err != nil {
				log.Error("main loop does not answer; withholding the watchdog ping", "err", err)
				continue
			}
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

// newLogger logs text to w (journald keeps stderr) at the named level,
// holding back floods of repeated lines (never security events: lograte).
func newLogger(w interface{ Write([]byte) (int, error) }, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	return slog.New(lograte.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}), lograte.Config{})), nil
}
