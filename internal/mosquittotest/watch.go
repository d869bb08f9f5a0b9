package mosquittotest

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// Message is one publication a Watcher saw.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	At       time.Time
}

// Watcher is a test's own MQTT client on the broker, subscribed as Home
// Assistant would be; it remembers every message it receives.
type Watcher struct {
	t   testing.TB
	cli *paho.Client

	mu   sync.Mutex
	msgs []Message     // guarded by mu
	more chan struct{} // guarded by mu: closed and replaced on each message
}

var watchers atomic.Int64

// Watch connects a client and subscribes it to filters (such as
// "homeassistant/#"); it disconnects when the test ends.
func (b *Broker) Watch(t testing.TB, filters ...string) *Watcher {
	t.Helper()
	w := &Watcher{t: t, more: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		t.Fatalf("watcher: dial %s: %v", b.Addr, err)
	}
	if tc := b.TLSConfig(t); tc != nil {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			t.Fatalf("watcher: TLS: %v", err)
		}
		conn = packets.NewThreadSafeConn(tconn)
	}
	w.cli = paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			w.mu.Lock()
			w.msgs = append(w.msgs, Message{Topic: pr.Packet.Topic, Payload: pr.Packet.Payload, Retained: pr.Packet.Retain, At: time.Now()})
			close(w.more)
			w.more = make(chan struct{})
			w.mu.Unlock()
			return true, nil
		}},
	})
	id := "watcher-" + strconv.FormatInt(watchers.Add(1), 10)
	if _, err := w.cli.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true,
		Username: User, UsernameFlag: true, Password: []byte(Password), PasswordFlag: true}); err != nil {
		t.Fatalf("watcher: connect: %v", err)
	}
	var subs []paho.SubscribeOptions
	for _, f := range filters {
		subs = append(subs, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	if len(subs) > 0 {
		if _, err := w.cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
			t.Fatalf("watcher: subscribe %v: %v", filters, err)
		}
	}
	t.Cleanup(func() { w.cli.Disconnect(&paho.Disconnect{}) })
	return w
}

// Wait returns the first message, seen so far or arriving within timeout,
// for which match holds; it fails the test after timeout, naming what.
func (w *Watcher) Wait(what string, timeout time.Duration, match func(Message) bool) Message {
	w.t.Helper()
	m, ok := w.wait(timeout, match)
	if !ok {
		w.t.Fatalf("MQTT: no %s within %v; saw %d messages: %s", what, timeout, len(w.All()), w.summary())
	}
	return m
}

func (w *Watcher) wait(timeout time.Duration, match func(Message) bool) (Message, bool) {
	deadline := time.After(timeout)
	seen := 0
	for {
		w.mu.Lock()
		msgs, more := w.msgs, w.more
		w.mu.Unlock()
		for ; seen < len(msgs); seen++ {
			if match(msgs[seen]) {
				return msgs[seen], true
			}
		}
		select {
		case <-more:
		case <-deadline:
			return Message{}, false
		}
	}
}

// Topic matches messages on topic.
func Topic(topic string) func(Message) bool {
	return func(m Message) bool { return m.Topic == topic }
}

// All is every message received so far.
func (w *Watcher) All() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Message(nil), w.msgs...)
}

// Forget drops the messages seen so far: later waits see only new ones.
func (w *Watcher) Forget() {
	w.mu.Lock()
	w.msgs = nil
	w.mu.Unlock()
}

func (w *Watcher) summary() string {
	s := ""
	for _, m := range w.All() {
		p := string(m.Payload)
		if len(p) > 60 {
			p = p[:60] + "..."
		}
		s += "\n  " + m.Topic + " " + strconv.Quote(p)
	}
	return s
}

// Publish sends payload on topic (QoS 1).
func (w *Watcher) Publish(topic string, payload []byte, retain bool) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.cli.Publish(ctx, &paho.Publish{Topic: topic, Payload: payload, Retain: retain, QoS: 1}); err != nil {
		w.t.Fatalf("watcher: publish %s: %v", topic, err)
	}
}
