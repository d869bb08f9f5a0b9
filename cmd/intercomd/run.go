package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/intercomd/intercomd/cmd/intercomd/setpassword"
	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/gpio/panel"
	"github.com/intercomd/intercomd/history"
	"github.com/intercomd/intercomd/hub"
	"github.com/intercomd/intercomd/lograte"
	"github.com/intercomd/intercomd/media"
	"github.com/intercomd/intercomd/mqtt"
	"github.com/intercomd/intercomd/web"

	"github.com/intercomd/intercomd/health"
)

// run is the whole daemon: it parses args, starts every part and returns when
// ctx ends. ready, if not nil, is called with the listening address once the
// server accepts connections (tests use it).
// hubRingGrace is how much longer the hub lets a call ring than the door.
const hubRingGrace = 5 * time.Second

func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	if len(args) > 0 && args[0] == "set-password" {
		return runSetPassword(args[1:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("intercomd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	check := fs.Bool("selfcheck", false, "try the codecs and the configured devices, print what works, and exit")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "intercomd", version)
		return nil
	}
	log, err := newLogger(stderr, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	if *check {
		return selfcheck(ctx, cfg, stdout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return serve(ctx, cfg, log, ready)
}

// serve makes the parts in order (listeners, media, panel, hub, door, web),
// runs them, and stops and closes them in reverse when ctx ends or one of
// them fails (parts.go).
func serve(ctx context.Context, cfg config, log *slog.Logger, ready func(addr string)) error {
	log.Info("starting", "version", version, "listen", cfg.Listen, "name", cfg.Name)
	if err := timerSlackEnvError(); err != nil {
		log.Warn("environment", "err", err)
	}
	ps := &parts{log: log}
	defer ps.stop() // what was made before a later part failed
	lns, err := listen(cfg)
	if err != nil {
		return err
	}
	ps.add("listeners", nil, closer(lns.close))
	m, err := media.New(media.Config{
		Camera: cfg.Camera, Mic: cfg.Mic, Speaker: cfg.Speaker, Voice: cfg.voice(),
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, VideoBitrate: cfg.VideoBitrate,
		KeyFrameInterval: cfg.KeyFrameInterval,
		PicamEncoder:     cfg.CameraEncoder, Rotation: cfg.CameraRotation, HFlip: cfg.CameraHFlip, VFlip: cfg.CameraVFlip,
		Exposure: cfg.CameraExposure,
		UDPPort:  cfg.MediaPort, Advertise: cfg.Advertise, ICEServers: cfg.ICEServers, LocalPeers: cfg.MediaLocalPeers,
		Loopback: web.LoopbackOnly(cfg.Listen),
	}, log)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	ps.add("media", nil, m.Close)

	p, err := panel.Open(cfg.GPIO, log)
	if err != nil {
		return fmt.Errorf("gpio: %w", err)
	}
	ps.add("gpio", p.Run, p.Close)

	// MQTT watches the door, and drives it: made after it, called (by
	// the door's Run) only after that.
	var mq *mqtt.Client
	hist := openHistory(cfg, m, log)
	observers := hist.observers()
	if cfg.MQTT.Enabled {
		observers = append(observers, func(e device.Event) { mq.Observe(e) })
	}
	// A Decline on a notification goes to the door (its ring) or the hub
	// (a resident's call); both are made below, and declines come only
	// once they run.
	var door *device.Controller
	var h *hub.Hub
	pusher, err := newPush(cfg, log, m, func(call uint64, caller, resident string, everyone bool) {
		if caller == "" {
			door.Decline(call, resident, everyone)
		} else {
			h.Decline(call, resident)
		}
	})
	if err != nil {
		return err
	}
	// One ring timeout: ring_timeout (answer_timeout for the door's Answer
	// button, if longer) also ends resident-to-resident rings on the hub.
	// The hub's runs a few seconds longer so the door's own timer ends the
	// door's rings first (a missed call, as the door says); the client has
	// no timer of its own.
	hubCfg := hub.Config{Reserved: []string{cfg.Name}, RingTimeout: max(cfg.RingTimeout, cfg.AnswerTimeout) + hubRingGrace}
	if pusher != nil {
		// A resident called while their pages are closed: their phones ring.
		hubCfg.Away = pusher
	}
	h = hub.New(hubCfg, log)
	ps.add("hub", h.Run, nil)
	if pusher != nil {
		ps.add("push", pusher.Run, nil)
	}
	ps.add("history", hist.run, nil)
	doorCfg := device.Config{
		Name: cfg.Name, Answer: answerMode(cfg.Answer), AnswerTimeout: cfg.AnswerTimeout,
		RingGroup: cfg.RingGroup, RingTimeout: cfg.RingTimeout, MediaTimeout: cfg.MediaTimeout, Observers: observers,
	}
	if pusher != nil {
		// Phones asleep are reached by push: ring for them, not only for
		// the pages open now.
		doorCfg.HoldRing = true
		doorCfg.Observers = append(doorCfg.Observers, pushObserver(pusher))
	}

	local := h.Local("door")
	ps.add("door's hub user", nil, closer(local.Close))
	door = device.New(doorCfg, log.With("component", "device"), local, m, p.Panel)
	ps.add("door", door.Run, nil)

	if cfg.MQTT.Enabled {
		var snap mqtt.Snapshot // the visitor's picture at each ring
		if cfg.Camera != "none" {
			snap = func(context.Context) ([]byte, error) {
				full, _, err := m.Snapshot()
				return full, err
			}
		}
		if mq, err = mqtt.New(cfg.mqttClient(), log.With("component", "mqtt"), door, snap); err != nil {
			return err
		}
	}

	handlers := map[string]http.Handler{}
	if p.Sim != nil {
		handlers["/api/panel"] = p.Sim
		handlers["/api/panel/"] = p.Sim
	}
	public := map[string]http.Handler{}
	if pusher != nil {
		handlers["/api/push"] = pusher.Handler()
		handlers["/api/push/"] = pusher.Handler()
		public["POST /api/push/decline"] = pusher.DeclineHandler()
	}
	handlers["/api/door/open"] = doorOpener(door)
	api := history.NewHandler(hist.store, m, log)
	for _, pattern := range api.Patterns() {
		handlers[pattern] = api
	}
	srv, err := web.New(web.Config{
		Listen: cfg.Listen, Listener: lns.web, RedirectListener: lns.redirect, AllowOrigins: cfg.AllowOrigins, Version: version,
		Handlers: handlers, PublicHandlers: public, StateDir: cfg.StateDir, NoAuth: cfg.NoAuth,
		TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, HTTPRedirect: cfg.HTTPRedirect, HTTPS: cfg.HTTPS,
		Status: func() health.Report {
			sp := m.Speaker()
			return health.Report{
				Device:      door.Status(),
				DisplayName: cfg.DisplayName,
				GPIO:        p.Mode,
				History:     hist.store != nil,
				Media: health.Media{
					Sources: m.Sources(),
					Speaker: health.Speaker{Samples: sp.Samples, NonSilent: sp.NonSilent},
				},
			}
		},
	}, log, h)
	if err != nil {
		return err
	}

	if mq != nil {
		ps.add("mqtt", mq.Run, nil)
	} else if cfg.MQTT.Broker != "" {
		ps.add("mqtt removal", func(ctx context.Context) error { return removeMQTT(ctx, cfg, log.With("component", "mqtt")) }, nil)
	}
	ps.add("web", func(ctx context.Context) error {
		return srv.Run(ctx, func(addr string) {
			go notifyReady(ctx, log, door.Ping)
			if ready != nil {
				ready(addr)
			}
		})
	}, nil)

	// Hanging up happens in the door's Run, before the hub, the panel and
	// media stop.
	err = ps.run(ctx)
	if h, ok := log.Handler().(*lograte.Handler); ok {
		h.Flush(context.Background()) // the last counts of lines held back
	}
	log.Info("stopped")
	return err
}

func answerMode(s string) device.AnswerMode {
	if s == "button" {
		return device.AnswerButton
	}
	return device.AnswerAuto
}

// runSetPassword is `intercomd set-password [-config FILE] [-state-dir DIR]`:
// the resident password, read from standard input, stored as a slow hash in
// the state directory the daemon uses.
func runSetPassword(args []string, in io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd set-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	return setpassword.Run(cfg.StateDir, in, stdout)
}
