package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/internal/mosquittotest"
	"github.com/intercomd/intercomd/internal/poll"
)

const mqttWait = 30 * time.Second

func mqttYAML(b *mosquittotest.Broker, allowOpen bool) string {
	return fmt.Sprintf(`gpio:
  relay: {pin: GPIO18, pulse: 1s}
mqtt:
  enabled: true
  broker: %s
  username: %s
  password: %s
  allow_open_door: %v
`, b.URL, mosquittotest.User, mosquittotest.Password, allowOpen)
}

// doorEvent matches the doorbell event of type typ whose attributes hold
// want (key=value).
func doorEvent(typ string, want ...string) func(mosquittotest.Message) bool {
	return func(m mosquittotest.Message) bool {
		if m.Topic != "intercomd/door/event" {
			return false
		}
		var ev map[string]any
		if json.Unmarshal(m.Payload, &ev) != nil || ev["event_type"] != typ {
			return false
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if fmt.Sprint(ev[k]) != v {
				return false
			}
		}
		return true
	}
}

// doorState matches the state sensor's message with state (and peer).
func doorState(state, peer string) func(mosquittotest.Message) bool {
	return func(m mosquittotest.Message) bool {
		var st map[string]string
		return m.Topic == "intercomd/door/state" && json.Unmarshal(m.Payload, &st) == nil && st["state"] == state && st["peer"] == peer
	}
}

// Home Assistant's view of the door, end to end: discovery, a ring from the
// panel and from MQTT, the state through a call, the broker killed and
// restarted mid-call (the call goes on; the door comes back with its
// availability, discovery and state), the door opened from MQTT, and a
// malformed command that changes nothing.
func TestChromiumMQTTHomeAssistant(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	ha := b.Watch(t, "homeassistant/#", "intercomd/#")
	d := startDaemon(t, mqttYAML(b, true))
	browser := chromiumtest.Start(t)
	alice := openPage(t, browser, d, "alice")

	ha.Wait("availability online", mqttWait, func(m mosquittotest.Message) bool {
		return m.Topic == "intercomd/door/availability" && string(m.Payload) == "online"
	})
	ha.Wait("the doorbell's discovery config", mqttWait, mosquittotest.Topic("homeassistant/event/intercomd_door/doorbell/config"))
	ha.Wait("the image's discovery config", mqttWait, mosquittotest.Topic("homeassistant/image/intercomd_door/snapshot/config"))
	ha.Wait("the open button's discovery config", mqttWait, func(m mosquittotest.Message) bool {
		return m.Topic == "homeassistant/button/intercomd_door/open/config" && len(m.Payload) > 0
	})
	ha.Wait("state idle", mqttWait, doorState("idle", ""))

	// A visitor presses Call; the door's Hangup cancels: a missed ring.
	d.press("call")
	ha.Wait("the ring event from the button", mqttWait, doorEvent("ring", "via=button"))
	ha.Wait("state ringing", mqttWait, doorState("ringing", ""))
	img := ha.Wait("the visitor's picture", mqttWait, mosquittotest.Topic("intercomd/door/snapshot"))
	if len(img.Payload) < 1000 || !bytes.HasPrefix(img.Payload, []byte{0xff, 0xd8}) {
		t.Errorf("snapshot: %d bytes starting %x, want a JPEG", len(img.Payload), img.Payload[:min(4, len(img.Payload))])
	}
	if _, err := jpeg.Decode(bytes.NewReader(img.Payload)); err != nil {
		t.Errorf("snapshot is no JPEG: %v", err)
	}
	alice.wait(`document.body.dataset.state === "ringing"`)
	d.press("hangup")
	ha.Wait("the missed event", mqttWait, doorEvent("missed"))
	ha.Wait("state idle after the missed ring", mqttWait, doorState("idle", ""))
	alice.wait(`document.body.dataset.state === "idle"`)

	// Home Assistant's Ring button; alice answers.
	ha.Forget()
	ha.Publish("intercomd/door/command/ring", []byte("PRESS"), false)
	ha.Wait("the ring event from MQTT", mqttWait, doorEvent("ring", "via=mqtt"))
	alice.wait(`document.body.dataset.state === "ringing"`)
	alice.click(`#answer`)
	ha.Wait("the answered event", mqttWait, doorEvent("answered", "peer=alice"))
	ha.Wait("state in call with alice", mqttWait, doorState("in call", "alice"))
	alice.waitVideo(640, 480)

	// The broker dies mid-call. The call goes on.
	b.Kill()
	alice.eval(`window.framesBefore = window.intercom.lastStats.video.framesDecoded`)
	alice.wait(`window.intercom.lastStats.video.framesDecoded > window.framesBefore + 30`)
	if h, err := d.health(); err != nil || h.Device.State != "incall" || h.Device.Peer != "alice" {
		t.Fatalf("door after the broker died: %+v, %v; want in a call with alice", h.Device, err)
	}

	// It comes back empty (no retained messages); the door reconnects and
	// announces itself again.
	b.Restart()
	restarted := time.Now()
	ha2 := b.Watch(t, "homeassistant/#", "intercomd/#")
	on := ha2.Wait("availability online after the broker restarted", mqttWait, func(m mosquittotest.Message) bool {
		return m.Topic == "intercomd/door/availability" && string(m.Payload) == "online"
	})
	t.Logf("broker restart to availability online at a subscriber: %v", on.At.Sub(restarted).Round(time.Millisecond))
	ha2.Wait("discovery after the restart", mqttWait, mosquittotest.Topic("homeassistant/sensor/intercomd_door/state/config"))
	ha2.Wait("state still in call after the restart", mqttWait, doorState("in call", "alice"))
	if !strings.Contains(d.logs.String(), "mqtt: connection lost") {
		t.Error("the door did not log the lost connection")
	}

	// A malformed open changes nothing; a good one opens, via MQTT.
	ha2.Publish("intercomd/door/command/open", []byte("open please"), false)
	ha2.Publish("intercomd/door/command/open", []byte("PRESS"), false)
	d.waitPanel(func(p panelState) bool { return p.Relay == "closed" }, "the relay powered by the MQTT press")
	ha2.Wait("the door_opened event", mqttWait, doorEvent("door_opened", "via=mqtt"))
	logs := d.logs.String()
	if !strings.Contains(logs, `bad payload \"open please\"`) || !strings.Contains(logs, "via=mqtt") {
		t.Errorf("log lacks the ignored command or the opening via mqtt:\n%s", logs)
	}
	if strings.Count(logs, "door opened") != 1 {
		t.Errorf("the door opened %d times, want once", strings.Count(logs, "door opened"))
	}

	alice.click(`#hangup`)
	ha2.Wait("state idle after the call", mqttWait, doorState("idle", ""))
}

// While allow_open_door is off (the default), the Open door button is not
// announced and a press on its topic does nothing but log.
func TestMQTTOpenDoorRefused(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	ha := b.Watch(t, "homeassistant/#", "intercomd/#")
	d := startDaemon(t, mqttYAML(b, false), "-camera", "none", "-mic", "none")
	cfg := ha.Wait("the open button's config", mqttWait, mosquittotest.Topic("homeassistant/button/intercomd_door/open/config"))
	if len(cfg.Payload) != 0 {
		t.Fatalf("open button announced while not allowed: %s", cfg.Payload)
	}
	ha.Publish("intercomd/door/command/open", []byte("PRESS"), false)
	err := poll.Until(context.Background(), mqttWait, 20*time.Millisecond, func() error {
		if !strings.Contains(d.logs.String(), "open door refused") {
			return errors.New("the refused press was not logged")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := d.panel(); p.Relay != "open" {
		t.Fatalf("relay = %q after a refused press, want open (not powered)", p.Relay)
	}
	if strings.Contains(d.logs.String(), "door opened") {
		t.Fatal("the door opened")
	}
}

// BenchmarkRingToMQTT measures a Call press on the panel to the ring event
// at an MQTT subscriber (Home Assistant's view), and the part of it from the
// door's event (its "at") to the subscriber, as medians of the runs:
//
//	go test -run '^$' -bench RingToMQTT -benchtime 20x ./cmd/intercomd/
func BenchmarkRingToMQTT(b *testing.B) {
	broker := mosquittotest.Start(b, mosquittotest.Options{})
	ha := broker.Watch(b, "intercomd/#")
	d := startDaemon(b, mqttYAML(broker, false), "-camera", "none", "-mic", "none")
	// A resident to ring; it never answers, the door's Hangup cancels.
	browser := chromiumtest.Start(b)
	openPage(b, browser, d, "bob")
	ha.Wait("availability online", mqttWait, func(m mosquittotest.Message) bool {
		return m.Topic == "intercomd/door/availability" && string(m.Payload) == "online"
	})
	var lat, leg []time.Duration // press to subscriber; the door's event to subscriber
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ha.Forget()
		pressed := time.Now()
		d.press("call")
		ev := ha.Wait("the ring event", mqttWait, doorEvent("ring", "via=button"))
		lat = append(lat, ev.At.Sub(pressed))
		var body struct{ At time.Time }
		if err := json.Unmarshal(ev.Payload, &body); err != nil {
			b.Fatal(err)
		}
		leg = append(leg, ev.At.Sub(body.At))
		d.press("hangup")
		ha.Wait("state idle", mqttWait, doorState("idle", ""))
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(lat), "ms-press-median")
	b.ReportMetric(median(leg), "ms-event-median")
}
