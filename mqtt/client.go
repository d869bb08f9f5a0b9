// Package mqtt puts the door into a home's automation: it publishes the
// door's events and state to an MQTT broker, announces the door to Home
// Assistant as one device (MQTT discovery), and takes the Ring and Open door
// buttons back.
//
// It never holds up the door: the door hands it events through Observe,
// which queues and drops with a log line when the broker is slow or away.
// The connection (eclipse/paho.golang's autopaho, MQTT 5) comes back by
// itself with backoff; a last will marks the door offline when it vanishes.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/intercomd/intercomd/device"
)

// Door is what MQTT drives: the door's state machine (device.Controller).
type Door interface {
	// Ring rings the residents, as the Call button does.
	Ring(via string) error
	// OpenDoor pulses the door relay.
	OpenDoor(by, via string) error
	// Status is the door's state now.
	Status() device.Status
}

// Snapshot returns the camera's latest picture as JPEG.
type Snapshot func(ctx context.Context) ([]byte, error)

// Client is the door's MQTT connection. New makes it, Run runs it.
type Client struct {
	cfg  Config
	log  *slog.Logger
	door Door
	snap Snapshot // nil: no image entity
	url  *url.URL
	tls  *tls.Config
	t    topics
	disc discovery

	events chan device.Event // from the door's goroutine, via Observe
	msgs   chan received     // from paho's goroutine
	up     chan struct{}     // a connection came up

	mu    sync.Mutex
	state stateMessage // guarded by mu: the latest state, sent on every connection
	fails int          // guarded by mu: failed attempts since the last connection
}

type received struct {
	topic    string
	payload  []byte
	retained bool
}

// stateMessage is the retained JSON on the state topic: the state sensor's
// value and, as attributes, who the door talks with and its own state name.
type stateMessage struct {
	State     string `json:"state"`
	Peer      string `json:"peer"`
	DoorState string `json:"door_state"`
}

// New checks cfg and makes the client; nothing connects before Run. snap may
// be nil (no camera): then there is no image entity.
func New(cfg Config, log *slog.Logger, door Door, snap Snapshot) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := brokerURL(cfg.Broker)
	if err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig(u)
	if err != nil {
		return nil, err
	}
	t := newTopics(cfg.TopicPrefix, cfg.DiscoveryPrefix)
	return &Client{
		cfg:    cfg,
		log:    log,
		door:   door,
		snap:   snap,
		url:    u,
		tls:    tc,
		t:      t,
		disc:   discovery{cfg: cfg, t: t, hasImage: snap != nil},
		events: make(chan device.Event, cfg.Queue),
		msgs:   make(chan received, 16),
		up:     make(chan struct{}, 1),
	}, nil
}

// Observe takes one door event; pass it in device.Config.Observers. It never
// blocks: when the queue is full the event is dropped with a log line.
func (c *Client) Observe(e device.Event) {
	select {
	case c.events <- e:
	default:
		c.log.Warn("mqtt: broker too slow, door event dropped", "kind", e.Kind, "call", e.Call)
	}
}

// Run keeps the connection up and serves it until ctx ends; then it marks
// the door offline and disconnects.
func (c *Client) Run(ctx context.Context) error {
	st := c.door.Status()
	c.setState(st.State, st.Peer)
	// The connection outlives ctx by the few moments it takes to say offline.
	cmCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	cm, err := autopaho.NewConnection(cmCtx, c.pahoConfig())
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	c.log.Info("mqtt: connecting", "broker", c.url.String(), "client_id", c.cfg.ClientID, "topic_prefix", c.cfg.TopicPrefix)
	for {
		select {
		case <-ctx.Done():
			c.goodbye(cm, stop)
			return nil
		case <-c.up:
			c.onConnect(ctx, cm)
		case e := <-c.events:
			c.onEvent(ctx, cm, e)
		case m := <-c.msgs:
			c.onMessage(ctx, cm, m)
		}
	}
}

func (c *Client) pahoConfig() autopaho.ClientConfig {
	return autopaho.ClientConfig{
		ServerUrls: []*url.URL{c.url},
		TlsCfg:     c.tls,
		KeepAlive:  30,
		// A fresh session each time: a button press queued while the door
		// was away must not act later.
		CleanStartOnInitialConnection: true,
		SessionExpiryInterval:         0,
		ReconnectBackoff:              c.backoff(),
		ConnectTimeout:                10 * time.Second,
		ConnectUsername:               c.cfg.Username,
		ConnectPassword:               []byte(c.cfg.Password),
		WillMessage:                   &paho.WillMessage{Topic: c.t.availability, Payload: []byte("offline"), QoS: 1, Retain: true},
		OnConnectionUp: func(*autopaho.ConnectionManager, *paho.Connack) {
			select {
			case c.up <- struct{}{}:
			default:
			}
		},
		OnConnectionDown: func() bool {
			c.log.Warn("mqtt: connection lost, reconnecting", "broker", c.url.String())
			return true
		},
		OnConnectError: c.onConnectError,
		ClientConfig: paho.ClientConfig{
			ClientID: c.cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					c.deliver(pr.Packet)
					return true, nil
				},
			},
		},
	}
}

// backoff waits from 0.5s up to 2s after the first failed attempt, then up
// to twice as long after each, up to RetryMax.
func (c *Client) backoff() autopaho.Backoff {
	lo := min(500*time.Millisecond, c.cfg.RetryMax/4)
	return autopaho.NewExponentialBackoff(lo, c.cfg.RetryMax, min(2*time.Second, c.cfg.RetryMax/2), 2)
}

// onConnectError logs the first failed attempt of an outage as a warning and
// the rest, every few seconds with backoff, at debug level.
func (c *Client) onConnectError(err error) {
	c.mu.Lock()
	c.fails++
	n := c.fails
	c.mu.Unlock()
	if n == 1 {
		c.log.Warn("mqtt: cannot reach the broker, retrying with backoff", "broker", c.url.String(), "err", err)
		return
	}
	c.log.Debug("mqtt: connect", "attempt", n, "err", err)
}

// deliver hands a message from paho's goroutine to Run's; a flood is
// dropped rather than queued.
func (c *Client) deliver(p *paho.Publish) {
	select {
	case c.msgs <- received{topic: p.Topic, payload: p.Payload, retained: p.Retain}:
	default:
		c.log.Warn("mqtt: too many commands, one dropped", "topic", p.Topic)
	}
}

func (c *Client) onConnect(ctx context.Context, cm *autopaho.ConnectionManager) {
	c.mu.Lock()
	fails := c.fails
	c.fails = 0
	c.mu.Unlock()
	c.log.Info("mqtt: connected", "broker", c.url.String(), "failed_attempts", fails)
	sctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	_, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		// Retained messages are not wanted: a stale press must not act,
		// and a retained birth message says nothing new.
		// The whole command tree, so that a mistyped command is logged.
		{Topic: c.t.prefix + "/command/#", QoS: 1, RetainHandling: 2},
		{Topic: c.t.haStatus, QoS: 1, RetainHandling: 2},
	}})
	if err != nil {
		c.log.Warn("mqtt: subscribe failed; buttons will not work until the next connection", "err", err)
	}
	c.announce(ctx, cm)
}

// announce says the door is online and sends discovery and state.
func (c *Client) announce(ctx context.Context, cm *autopaho.ConnectionManager) {
	ms := []message{{topic: c.t.availability, payload: []byte("online"), retain: true}}
	ms = append(ms, c.disc.announce()...)
	ms = append(ms, c.stateMessage())
	for _, m := range ms {
		if err := c.publish(ctx, cm, m); err != nil {
			c.log.Warn("mqtt: announce", "topic", m.topic, "err", err)
			return
		}
	}
}

func (c *Client) publish(ctx context.Context, cm *autopaho.ConnectionManager, m message) error {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	_, err := cm.Publish(pctx, &paho.Publish{Topic: m.topic, Payload: m.payload, Retain: m.retain, QoS: 1})
	return err
}

// goodbye marks the door offline (a clean disconnect sends no last will)
// and closes the connection, each within a deadline.
func (c *Client) goodbye(cm *autopaho.ConnectionManager, stop context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.publish(ctx, cm, message{topic: c.t.availability, payload: []byte("offline"), retain: true}); err != nil && !errors.Is(err, autopaho.ConnectionDownError) {
		c.log.Debug("mqtt: offline", "err", err)
	}
	stop()
	select {
	case <-cm.Done():
	case <-ctx.Done():
		c.log.Warn("mqtt: disconnect timed out")
	}
}
