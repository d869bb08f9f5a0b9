package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/internal/mosquittotest"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/mqtt"
)

const wait = 20 * time.Second

// door records what MQTT asks of it (the door itself is tested with MQTT
// end to end in cmd/intercomd).
type door struct {
	mu    sync.Mutex
	rings []string
	opens []string
}

func (d *door) Ring(via string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rings = append(d.rings, via)
	return nil
}

func (d *door) OpenDoor(by, via string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opens = append(d.opens, via)
	return nil
}

func (d *door) Status() device.Status { return device.Status{Name: "door", State: "idle"} }

func (d *door) calls() (rings, opens []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.rings...), append([]string(nil), d.opens...)
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a client on broker b until the test ends.
func start(t *testing.T, b *mosquittotest.Broker, cfg mqtt.Config, d mqtt.Door, snap mqtt.Snapshot) (*mqtt.Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Broker, cfg.Username, cfg.Password = b.URL, mosquittotest.User, mosquittotest.Password
	c, err := mqtt.New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), d, snap)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("client log:\n%s", logs)
		}
	})
	return c, logs
}

func on(topic, p string) func(mosquittotest.Message) bool {
	return func(m mosquittotest.Message) bool { return m.Topic == topic && string(m.Payload) == p }
}

// Against a real broker with a password: the door comes online with its
// discovery configs, announces again when Home Assistant says it is online,
// acts on the Ring button, refuses Open door while it is not allowed, and
// ignores malformed commands.
func TestBroker(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	ha := b.Watch(t, "homeassistant/#", "intercomd/#")
	d := &door{}
	_, logs := start(t, b, mqtt.Config{Node: "door", Version: "test"}, d, nil)

	ha.Wait("availability online", wait, on("intercomd/door/availability", "online"))
	ha.Wait("the doorbell's discovery config", wait, mosquittotest.Topic("homeassistant/event/intercomd_door/doorbell/config"))
	st := ha.Wait("the state", wait, mosquittotest.Topic("intercomd/door/state"))
	var state map[string]string
	if err := json.Unmarshal(st.Payload, &state); err != nil || state["state"] != "idle" {
		t.Fatalf("state = %s (%v), want idle", st.Payload, err)
	}
	// Open door is not allowed: its config is cleared, not announced.
	open := ha.Wait("the open button's config", wait, mosquittotest.Topic("homeassistant/button/intercomd_door/open/config"))
	if len(open.Payload) != 0 {
		t.Fatalf("open button announced while not allowed: %s", open.Payload)
	}

	// Home Assistant restarts: the door announces itself again.
	ha.Forget()
	ha.Publish("homeassistant/status", []byte("online"), false)
	ha.Wait("discovery again after Home Assistant's birth message", wait, mosquittotest.Topic("homeassistant/sensor/intercomd_door/state/config"))

	// Malformed and unknown commands, a refused open, then a good ring:
	// only the ring acts, after the others were handled in order.
	ha.Publish("intercomd/door/command/ring", []byte("press"), false)
	ha.Publish("intercomd/door/command/ring", []byte(`{"PRESS":1}`), false)
	ha.Publish("intercomd/door/command/unlock", []byte("PRESS"), false)
	ha.Publish("homeassistant/status", []byte("rebooting"), false)
	ha.Publish("intercomd/door/command/open", []byte("PRESS"), false)
	ha.Publish("intercomd/door/command/ring", []byte("PRESS"), false)
	poll.For(t, wait, 10*time.Millisecond, "the Ring button to ring", func() bool { rings, _ := d.calls(); return len(rings) > 0 })
	rings, opens := d.calls()
	if len(rings) != 1 || rings[0] != "mqtt" || len(opens) != 0 {
		t.Fatalf("rings %v, opens %v; want one ring via mqtt and no open", rings, opens)
	}
	for _, want := range []string{"open door refused", `reason="bad payload \"press\"`, "unknown topic", `bad payload \"rebooting\"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// With allow_open_door the button is announced and opens, via mqtt; a
// retained press planted on the broker before the door connects does not.
func TestOpenDoorAllowed(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	ha := b.Watch(t, "homeassistant/#", "intercomd/#")
	ha.Publish("intercomd/door/command/open", []byte("PRESS"), true)
	d := &door{}
	start(t, b, mqtt.Config{Node: "door", AllowOpenDoor: true}, d, nil)
	cfg := ha.Wait("the open button's config", wait, func(m mosquittotest.Message) bool {
		return m.Topic == "homeassistant/button/intercomd_door/open/config" && len(m.Payload) > 0
	})
	if !strings.Contains(string(cfg.Payload), `"command_topic":"intercomd/door/command/open"`) {
		t.Fatalf("open button config = %s", cfg.Payload)
	}
	ha.Wait("availability online", wait, on("intercomd/door/availability", "online"))
	ha.Publish("intercomd/door/command/ring", []byte("PRESS"), false) // a marker after the retained press
	poll.For(t, wait, 10*time.Millisecond, "the Ring button to ring", func() bool { rings, _ := d.calls(); return len(rings) > 0 })
	if _, opens := d.calls(); len(opens) != 0 {
		t.Fatalf("a retained press opened the door: %v", opens)
	}
	ha.Publish("intercomd/door/command/open", []byte("PRESS"), false)
	poll.For(t, wait, 10*time.Millisecond, "the Open door button to open", func() bool { _, opens := d.calls(); return len(opens) > 0 })
	if _, opens := d.calls(); len(opens) != 1 || opens[0] != "mqtt" {
		t.Fatalf("opens = %v, want one via mqtt", opens)
	}
}

// mqtts with the broker's CA and a client certificate the broker demands;
// turning MQTT off then removes the device from Home Assistant.
func TestTLSAndRemove(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{ClientCert: true})
	ha := b.Watch(t, "homeassistant/#", "intercomd/#")
	cfg := mqtt.Config{Node: "door", CAFile: b.CAFile, CertFile: b.CertFile, KeyFile: b.KeyFile}
	snap := func(context.Context) ([]byte, error) { return []byte("\xff\xd8jpeg"), nil }
	t.Run("connect", func(t *testing.T) {
		start(t, b, cfg, &door{}, snap)
		ha.Wait("availability online over TLS", wait, on("intercomd/door/availability", "online"))
		ha.Wait("the image's config", wait, mosquittotest.Topic("homeassistant/image/intercomd_door/snapshot/config"))
	})
	// The client has stopped: it said offline on its way out.
	ha.Wait("availability offline after a clean stop", wait, on("intercomd/door/availability", "offline"))

	cfg.Broker, cfg.Username, cfg.Password = b.URL, mosquittotest.User, mosquittotest.Password
	c, err := mqtt.New(cfg, slog.New(slog.NewTextHandler(&logBuffer{}, nil)), &door{}, snap)
	if err != nil {
		t.Fatal(err)
	}
	ha.Forget()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	// A new subscriber sees no retained config left.
	fresh := b.Watch(t, "homeassistant/#", "intercomd/#")
	fresh.Publish("intercomd/door/marker", []byte("x"), false)
	fresh.Wait("the marker", wait, mosquittotest.Topic("intercomd/door/marker"))
	for _, m := range fresh.All() {
		if m.Retained {
			t.Errorf("retained %s left after Remove: %q", m.Topic, m.Payload)
		}
	}
	for _, topic := range []string{"homeassistant/event/intercomd_door/doorbell/config", "homeassistant/image/intercomd_door/snapshot/config", "homeassistant/button/intercomd_door/open/config"} {
		ha.Wait("the removal of "+topic, wait, on(topic, ""))
	}
}
