// Package push rings the residents' phones with Web Push (RFC 8030, the
// payload encrypted per RFC 8291, the sender identified by VAPID, RFC 8292):
// it keeps the VAPID key and the subscribed devices in the state directory,
// serves the API the client subscribes with, and turns the door's rings into
// notifications, replaced on every device when the ring is answered or
// missed.
//
// The protocol itself is github.com/SherClockHolmes/webpush-go's; this
// package decides who is notified of what, and makes sure that a push
// service that is slow or down delays nobody: every device has its own short
// queue, every request a timeout, and nothing here ever blocks the door.
package push

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// Config is what push needs from main.
type Config struct {
	// StateDir keeps the VAPID key and the devices.
	StateDir string
	// Contact is the VAPID contact (mailto: or https:), required.
	Contact string
	// RingGroup names the residents a ring notifies; empty: every device.
	RingGroup []string
	// RingTimeout is how long the door rings: a ring notification older
	// than that is not worth delivering.
	RingTimeout time.Duration
	// Snapshot, if set, returns a JPEG of the visitor (taken at the press);
	// the ring notification carries a small copy inline.
	Snapshot func() ([]byte, error)
	// Timeout bounds one request to a push service; 0: 10 s.
	Timeout time.Duration
	// TLS, if set, is the client TLS config for push services (tests trust
	// their own push service with it).
	TLS *tls.Config
	// AllowLocal lets subscriptions point at this machine or the LAN. Only
	// for tests: a real push service is on the internet.
	AllowLocal bool
	// Now is the clock (nil: time.Now), for quiet hours.
	Now func() time.Time
}

// Service is Web Push for the door. Create it with New; run it with Run.
type Service struct {
	cfg   Config
	log   *slog.Logger
	keys  vapidKeys
	sub   string // the VAPID "sub" as the library takes it
	store *store
	http  *http.Client

	ready chan struct{}  // closed when Run has set ctx
	wg    sync.WaitGroup // lane drains

	mu      sync.Mutex      // guards the fields below
	ctx     context.Context // Run's; nil until Run starts
	stopped bool            // Run is ending: no new lanes
	lanes   map[string]*lane
	rings   map[uint64]*ring // recent rings, for their replacements
}

// ring is what a notified ring remembers: who got it.
type ring struct {
	at      time.Time
	devices []Device
}

// Bounds of the queues.
const (
	laneSize  = 4  // queued notifications per device
	keepRings = 16 // rings remembered for their replacement
)

// New loads (or makes) the VAPID key and the devices. It starts nothing.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "push")
	if cfg.StateDir == "" {
		return nil, errors.New("push: no state directory for the VAPID key and the devices")
	}
	sub, err := subscriber(cfg.Contact)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := loadVAPID(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	st, err := loadStore(cfg.StateDir, log)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowLocal {
		dialer.Control = publicOnly
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	s := &Service{
		cfg:   cfg,
		log:   log,
		keys:  keys,
		sub:   sub,
		store: st,
		http:  &http.Client{Transport: tr, Timeout: cfg.Timeout},
		lanes: map[string]*lane{},
		rings: map[uint64]*ring{},
		ready: make(chan struct{}),
	}
	log.Info("web push on", "devices", len(st.list("")), "contact", cfg.Contact)
	return s, nil
}

// PublicKey is the VAPID public key browsers subscribe with (base64url).
func (s *Service) PublicKey() string { return s.keys.public }

// Run lets notifications go out until ctx ends, then waits for the ones in
// flight (each bounded by the timeout).
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	close(s.ready)
	<-ctx.Done()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Ring notifies the ring group's devices that the door rings (call is the
// ring's id, at when it started). It returns at once; the snapshot and the
// requests happen on other goroutines.
func (s *Service) Ring(call uint64, at time.Time) {
	devices := s.ringDevices()
	if len(devices) == 0 {
		return
	}
	s.mu.Lock()
	s.rings[call] = &ring{at: at, devices: devices}
	s.forget()
	s.mu.Unlock()
	go func() {
		image := s.thumbnail()
		for _, d := range devices {
			m := message{Kind: kindRing, Call: call, At: at.UnixMilli(), Image: image}
			s.notify(d, m, s.cfg.RingTimeout)
		}
	}()
}

// Answered replaces the ring's notification on every device that got it:
// by took the call.
func (s *Service) Answered(call uint64, by string) {
	s.end(call, message{Kind: kindAnswered, Call: call, By: by})
}

// Missed replaces the ring's notification with a missed call.
func (s *Service) Missed(call uint64) {
	s.end(call, message{Kind: kindMissed, Call: call})
}

// end sends the ring's replacement m to the devices the ring reached.
func (s *Service) end(call uint64, m message) {
	s.mu.Lock()
	r := s.rings[call]
	delete(s.rings, call)
	s.mu.Unlock()
	if r == nil {
		return
	}
	m.At = r.at.UnixMilli()
	for _, d := range r.devices {
		// A missed call is worth seeing hours later; an answered ring only
		// needs to stop the ringing.
		ttl := 24 * time.Hour
		if m.Kind == kindAnswered {
			ttl = s.cfg.RingTimeout
		}
		s.notify(d, m, ttl)
	}
}

// forget drops the oldest rings beyond keepRings; s.mu must be held.
func (s *Service) forget() {
	for len(s.rings) > keepRings {
		var oldest uint64
		var at time.Time
		for id, r := range s.rings {
			if at.IsZero() || r.at.Before(at) {
				oldest, at = id, r.at
			}
		}
		delete(s.rings, oldest)
	}
}

// ringDevices is who a ring notifies: the ring group's devices, or all.
func (s *Service) ringDevices() []Device {
	all := s.store.list("")
	if len(s.cfg.RingGroup) == 0 {
		return all
	}
	return slices.DeleteFunc(all, func(d Device) bool { return !slices.Contains(s.cfg.RingGroup, d.Resident) })
}

// Test sends a test notification to the device with id.
func (s *Service) Test(id string) error {
	for _, d := range s.store.list("") {
		if d.ID == id {
			s.notify(d, message{Kind: kindTest, At: s.cfg.Now().UnixMilli()}, time.Minute)
			return nil
		}
	}
	return ErrUnknownDevice
}

// thumbnail is the snapshot made small enough for the payload, or "".
func (s *Service) thumbnail() string {
	if s.cfg.Snapshot == nil {
		return ""
	}
	jpg, err := s.cfg.Snapshot()
	if err != nil {
		s.log.Warn("no picture for the ring notification", "err", err)
		return ""
	}
	img, err := fitThumbnail(jpg, maxImage)
	if err != nil {
		s.log.Warn("no picture for the ring notification", "err", err)
		return ""
	}
	return img
}

// webpushOptions are the request's options for the library.
func (s *Service) webpushOptions(m message, ttl time.Duration, urgency webpush.Urgency) *webpush.Options {
	return &webpush.Options{
		HTTPClient:      s.http,
		RecordSize:      recordSize,
		Subscriber:      s.sub,
		Topic:           m.topic(),
		TTL:             int(ttl / time.Second),
		Urgency:         urgency,
		VAPIDPublicKey:  s.keys.public,
		VAPIDPrivateKey: s.keys.private,
	}
}
