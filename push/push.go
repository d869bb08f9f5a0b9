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
	"crypto/rand"
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
	// Decline, if set, hears a resident declining from a notification:
	// the door's ring (caller "") or caller's call, and whether every
	// resident it reached has declined now. It must not block.
	Decline func(call uint64, caller, resident string, everyone bool)
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
	rings   map[string]*ring // recent rings by topic, for their replacements
}

// ring is what a notified ring remembers: who got it, each device's
// capability to decline it, and who did.
type ring struct {
	at       time.Time
	base     message // kind, call, from: what the replacements repeat
	devices  []Device
	tokens   map[string]string // decline capability -> device ID
	declined map[string]bool   // residents who declined
}

// token is d's decline capability for r.
func (r *ring) token(id string) string {
	for t, d := range r.tokens {
		if d == id {
			return t
		}
	}
	return ""
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
		rings: map[string]*ring{},
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
// ring's id, at when it started). It returns at once: the ring goes out
// without a picture, and the picture follows as a silent replacement (same
// tag) when the snapshot is ready, so the phone rings as soon as it can.
func (s *Service) Ring(call uint64, at time.Time) {
	s.start(message{Kind: kindRing, Call: call}, s.ringDevices(), at, s.cfg.Snapshot != nil)
}

// Call notifies to's devices that resident from calls them (call is the
// hub's id for it): to has no page open, and opening the app from the
// notification answers. Answered and Missed with Caller replace it.
func (s *Service) Call(call uint64, from, to string, at time.Time) bool {
	return s.start(message{Kind: kindCall, Call: call, From: from}, s.store.list(to), at, false)
}

// start sends m to devices and remembers it for its replacements; with
// picture, a second goroutine adds the visitor's picture. It reports
// whether any device was notified.
func (s *Service) start(m message, devices []Device, at time.Time, picture bool) bool {
	if len(devices) == 0 || m.Call == 0 {
		return false
	}
	m.At = at.UnixMilli()
	r := &ring{at: at, base: m, devices: devices, tokens: map[string]string{}, declined: map[string]bool{}}
	for _, d := range devices {
		r.tokens[rand.Text()] = d.ID
	}
	s.mu.Lock()
	s.rings[m.topic()] = r
	s.forget()
	for _, d := range devices {
		m.Decline = r.token(d.ID)
		s.notifyLocked(d, m, s.cfg.RingTimeout)
	}
	s.mu.Unlock()
	if picture {
		go s.addPicture(m)
	}
	return true
}

// addPicture takes the snapshot and sends it, as a silent replacement of
// the ring, to the devices that got the ring and did not decline it. A ring
// that ended meanwhile gets no picture: its replacement stays.
func (s *Service) addPicture(m message) {
	image := s.thumbnail()
	if image == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rings[m.topic()]
	if r == nil {
		return
	}
	m.Image, m.Picture = image, true
	ttl := s.cfg.RingTimeout - time.Since(r.at)
	if ttl < time.Second {
		return
	}
	for _, d := range r.devices {
		if r.declined[d.Resident] {
			continue
		}
		m.Decline = r.token(d.ID)
		s.notifyLocked(d, m, ttl)
	}
}

// Answered replaces the ring's notification on every device that got it:
// by took the call. For a resident's call, caller names the caller ("" for
// the door's ring).
func (s *Service) Answered(call uint64, caller, by string) {
	s.end(message{Kind: kindAnswered, Call: call, From: caller, By: by})
}

// Missed replaces the ring's notification with a missed call (caller as
// in Answered).
func (s *Service) Missed(call uint64, caller string) {
	s.end(message{Kind: kindMissed, Call: call, From: caller})
}

// end sends the ring's replacement m to the devices the ring reached.
func (s *Service) end(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rings[m.topic()]
	delete(s.rings, m.topic())
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
		s.notifyLocked(d, m, ttl)
	}
}

// forget drops the oldest rings beyond keepRings; s.mu must be held.
func (s *Service) forget() {
	for len(s.rings) > keepRings {
		var oldest string
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

// ErrRingOver answers a decline whose ring has ended (or never was).
var ErrRingOver = errors.New("push: this ring is over")

// Decline is what a notification's Decline button does with its device's
// capability: that resident declines the ring. Their other devices stop
// ringing (a silent "declined" replaces the ring), and Config.Decline tells
// the door or the hub, with everyone true when every resident the ring
// reached has declined. The capability can do nothing else: it opens no
// door and shows no camera, and it dies with the ring.
func (s *Service) Decline(token string) error {
	s.mu.Lock()
	var r *ring
	var id string
	for _, x := range s.rings {
		if d, ok := x.tokens[token]; ok && token != "" {
			r, id = x, d
			break
		}
	}
	if r == nil {
		s.mu.Unlock()
		return ErrRingOver
	}
	var who string
	for _, d := range r.devices {
		if d.ID == id {
			who = d.Resident
		}
	}
	first := !r.declined[who]
	r.declined[who] = true
	everyone := true
	for _, d := range r.devices {
		everyone = everyone && r.declined[d.Resident]
	}
	if first {
		m := r.base
		m.Kind, m.By, m.At = kindDeclined, who, r.at.UnixMilli()
		for _, d := range r.devices {
			if d.Resident == who && d.ID != id {
				s.notifyLocked(d, m, s.cfg.RingTimeout)
			}
		}
	}
	base := r.base
	s.mu.Unlock()
	if !first {
		return nil
	}
	s.log.Info("declined from a notification", "resident", who, "kind", base.Kind, "call", base.Call, "everyone", everyone)
	if s.cfg.Decline != nil {
		s.cfg.Decline(base.Call, base.From, who, everyone)
	}
	return nil
}
