package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/pushtest"
)

// pushConfig turns push on, towards a push service on loopback.
const pushConfig = "push: true\npush_contact: mailto:door@example.org\npush_allow_local: true\n"

// trustPushService makes the daemon's TLS client trust the test's push
// service the way an operator would trust a private one: SSL_CERT_FILE.
func trustPushService(t *testing.T, ps *pushtest.Server) {
	t.Helper()
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: ps.Certificate().Raw})
	p := filepath.Join(t.TempDir(), "push-ca.pem")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", p)
}

// subscribeDevice subscribes sub for resident through the daemon's API.
func (d *intercom) subscribeDevice(resident string, sub *pushtest.Sub) {
	d.t.Helper()
	body, _ := json.Marshal(map[string]any{"resident": resident, "subscription": sub.JSON(), "label": "test"})
	resp, err := d.client.Post(d.url+"/api/push/devices", "application/json", bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		d.t.Fatalf("subscribe %s: %s, want 201", resident, resp.Status)
	}
}

func (d *intercom) vapidKey() string {
	d.t.Helper()
	resp, err := d.client.Get(d.url + "/api/push")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ PublicKey string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.PublicKey == "" {
		d.t.Fatalf("GET /api/push: %v, key %q", err, info.PublicKey)
	}
	return info.PublicKey
}

type pushMsg struct {
	Kind  string `json:"kind"`
	Call  uint64 `json:"call"`
	At    int64  `json:"at"`
	By    string `json:"by"`
	Image string `json:"image"`
}

func nextPush(t *testing.T, ps *pushtest.Server, sub *pushtest.Sub) (pushtest.Push, pushMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := ps.Next(ctx, sub)
	if err != nil {
		t.Fatalf("%v (push service refused: %v)", err, ps.Errs())
	}
	var m pushMsg
	if err := json.Unmarshal(p.Plain, &m); err != nil {
		t.Fatalf("payload %q: %v", p.Plain, err)
	}
	return p, m
}

// TestPushRingsWithNobodyOnline: no page is open anywhere; the visitor
// presses Call, every subscribed phone gets the ring, and when nobody
// answers, the missed call replaces it.
func TestPushRingsWithNobodyOnline(t *testing.T) {
	ps := pushtest.New(t)
	trustPushService(t, ps)
	d := startDaemon(t, pushConfig+"ring_timeout: 3s\n")
	ps.ExpectKey(d.vapidKey())
	ben, ann := ps.Subscribe(), ps.Subscribe()
	d.subscribeDevice("Ben", ben)
	d.subscribeDevice("Ann", ann)

	d.press("call")
	d.doorState("calling") // held for the phones, though no page is open
	var call uint64
	for _, sub := range []*pushtest.Sub{ben, ann} {
		p, m := nextPush(t, ps, sub)
		if m.Kind != "ring" || m.Call == 0 || p.Urgency != "high" || p.Topic == "" {
			t.Fatalf("first push = %+v (urgency %q, topic %q), want a high-urgency ring with a topic", m, p.Urgency, p.Topic)
		}
		if !strings.HasPrefix(m.Image, "data:image/jpeg;base64,") {
			t.Errorf("ring image = %.40q, want the visitor's picture inline", m.Image)
		}
		call = m.Call
	}
	d.doorState("idle")
	for _, sub := range []*pushtest.Sub{ben, ann} {
		p, m := nextPush(t, ps, sub)
		if m.Kind != "missed" || m.Call != call || p.Topic != "ring-"+strconv.FormatUint(call, 10) {
			t.Errorf("after the ring timed out: %+v topic %q, want missed of call %d on the ring's topic", m, p.Topic, call)
		}
	}
	if errs := ps.Errs(); len(errs) > 0 {
		t.Errorf("push service refused requests: %v", errs)
	}
	if !strings.Contains(d.logs.String(), "web push on") {
		t.Errorf("the log does not say push is on")
	}
}
