package push

import (
	"context"
	"io"
	"net/url"
	"slices"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// lane is one device's queue. Notifications to a device go out in order (a
// ring before its replacement) and one at a time; devices do not wait for
// each other, so a push service that hangs holds up only its own devices,
// and only for the timeout.
type lane struct {
	q    []job
	busy bool // a goroutine drains q
}

type job struct {
	d      Device
	m      message
	ttl    time.Duration
	queued time.Time
}

// notify queues m for d (see notifyLocked).
func (s *Service) notify(d Device, m message, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyLocked(d, m, ttl)
}

// notifyLocked queues m for d; s.mu must be held. A queued message of the
// same topic is replaced (the newer says what is true now), except that a
// picture only ever joins a ring still queued or follows one sent: it never
// replaces an answer or a missed call. A full lane drops m, with a log line.
func (s *Service) notifyLocked(d Device, m message, ttl time.Duration) {
	switch d.Quiet.mode(s.cfg.Now()) {
	case QuietOff:
		s.log.Debug("quiet hours: not notified", "device", d.ID, "resident", d.Resident, "kind", m.Kind)
		return
	case QuietSilent:
		m.Silent = true
	}
	if s.stopped {
		return
	}
	l := s.lanes[d.ID]
	if l == nil {
		l = &lane{}
		s.lanes[d.ID] = l
	}
	j := job{d: d, m: m, ttl: ttl, queued: time.Now()}
	if i := slices.IndexFunc(l.q, func(x job) bool { return x.m.topic() == m.topic() }); i >= 0 {
		if m.Picture {
			if l.q[i].m.Kind != m.Kind {
				return
			}
			// The ring itself has not gone out yet: it goes with the
			// picture, ringing.
			j.m.Picture = l.q[i].m.Picture
			j.queued = l.q[i].queued
		}
		l.q[i] = j
	} else if len(l.q) >= laneSize {
		s.log.Warn("push queue of a device is full: notification dropped", "device", d.ID, "resident", d.Resident, "kind", m.Kind)
		return
	} else {
		l.q = append(l.q, j)
	}
	if !l.busy {
		l.busy = true
		s.wg.Add(1)
		go s.drain(d.ID, l)
	}
}

// drain sends l's notifications until it is empty.
func (s *Service) drain(id string, l *lane) {
	defer s.wg.Done()
	<-s.ready
	for {
		s.mu.Lock()
		if len(l.q) == 0 || s.ctx.Err() != nil {
			l.busy = false
			delete(s.lanes, id)
			s.mu.Unlock()
			return
		}
		j := l.q[0]
		l.q = l.q[1:]
		ctx := s.ctx
		s.mu.Unlock()
		s.send(ctx, j)
	}
}

// send makes one request to the device's push service.
func (s *Service) send(ctx context.Context, j job) {
	d, m := j.d, j.m
	log := s.log.With("device", d.ID, "resident", d.Resident, "service", serviceHost(d.Endpoint), "kind", m.Kind, "call", m.Call)
	if age := time.Since(j.queued); j.ttl > 0 && age > j.ttl {
		log.Warn("push notification dropped: waited longer than it is worth", "waited", age.Round(time.Millisecond))
		return
	}
	m.V = 1
	body, err := m.encode()
	if err != nil {
		log.Error("push notification not sent", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := webpush.SendNotificationWithContext(ctx, slices.Clip(body),
		&webpush.Subscription{Endpoint: d.Endpoint, Keys: webpush.Keys{P256dh: d.P256dh, Auth: d.Auth}},
		s.webpushOptions(m, j.ttl, webpush.UrgencyHigh))
	if err != nil {
		log.Warn("push notification failed", "err", err, "after", time.Since(start).Round(time.Millisecond))
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		log.Debug("push notification sent", "status", code, "took", time.Since(start).Round(time.Millisecond))
	case code == 404 || code == 410:
		if s.store.gone(d.ID, d.Endpoint) {
			log.Info("device unsubscribed: the push service no longer knows it, removed", "status", code)
		}
	default:
		log.Warn("push service refused the notification", "status", code, "retry_after", resp.Header.Get("Retry-After"))
	}
}

// serviceHost names a device's push service in logs; the endpoint itself
// is a capability and stays out of them.
func serviceHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "?"
	}
	return u.Host
}
