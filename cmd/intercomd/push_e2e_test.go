package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/pushtest"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/wire"
)

// pushConfig turns push on, towards a push service on loopback.
const pushConfig = "push: true\npush_contact: mailto:door@example.org\npush_allow_local: true\n"

// trustPushService makes the daemon's TLS client trust the test's push
// service the way an operator would trust a private one: SSL_CERT_FILE.
func trustPushService(t testing.TB, ps *pushtest.Server) {
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
	Kind    string `json:"kind"`
	Call    uint64 `json:"call"`
	At      int64  `json:"at"`
	By      string `json:"by"`
	From    string `json:"from"`
	Image   string `json:"image"`
	Picture bool   `json:"picture"`
	Decline string `json:"decline"`
}

func nextPush(t testing.TB, ps *pushtest.Server, sub *pushtest.Sub) (pushtest.Push, pushMsg) {
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
		if m.Image == "" {
			// The ring went out at once; the picture follows on its topic.
			if p2, m2 := nextPush(t, ps, sub); m2.Kind != "ring" || !m2.Picture || p2.Topic != p.Topic {
				t.Fatalf("after the ring without picture: %+v (topic %q), want its picture update", m2, p2.Topic)
			} else {
				m = m2
			}
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

// TestDeclineFromNotification: both phones ring; Ben declines on his
// (the worker posts the payload's token, without a session) and Ann on
// hers: the door stops ringing and both get the missed call. The token
// declines nothing else: not a later ring.
func TestDeclineFromNotification(t *testing.T) {
	ps := pushtest.New(t)
	trustPushService(t, ps)
	d := startDaemon(t, pushConfig+"ring_timeout: 60s\n", "-camera", "none")
	ps.ExpectKey(d.vapidKey())
	ben, ann := ps.Subscribe(), ps.Subscribe()
	d.subscribeDevice("Ben", ben)
	d.subscribeDevice("Ann", ann)
	decline := func(token string) int {
		t.Helper()
		resp, err := http.Post(d.url+"/api/push/decline", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	d.press("call")
	_, mb := nextPush(t, ps, ben)
	_, ma := nextPush(t, ps, ann)
	if mb.Decline == "" || ma.Decline == "" || mb.Decline == ma.Decline {
		t.Fatalf("decline tokens %q and %q, want one per device", mb.Decline, ma.Decline)
	}
	if code := decline(mb.Decline); code != http.StatusNoContent {
		t.Fatalf("Ben's decline = %d, want 204", code)
	}
	d.doorState("calling") // Ann may still answer
	if code := decline(ma.Decline); code != http.StatusNoContent {
		t.Fatalf("Ann's decline = %d, want 204", code)
	}
	d.doorState("idle")
	for _, sub := range []*pushtest.Sub{ben, ann} {
		if _, m := nextPush(t, ps, sub); m.Kind != "missed" || m.Call != ma.Call {
			t.Errorf("after both declined: %+v, want the missed call", m)
		}
	}
	d.press("call")
	nextPush(t, ps, ann)
	if code := decline(ma.Decline); code != http.StatusGone {
		t.Errorf("the last ring's token on a new ring = %d, want 410", code)
	}
	d.doorState("calling")
}

// BenchmarkPressToPush measures a Call press on the panel to the ring's
// arrival at a push service on loopback (one subscribed phone, no page
// open), to the arrival of its picture, and the door's ring event to the
// ring's arrival (push's own part), as median, min and max over the runs;
// the load average is logged beside them:
//
//	go test -run '^$' -bench PressToPush -benchtime 20x ./cmd/intercomd/
func BenchmarkPressToPush(b *testing.B) {
	ps := pushtest.New(b)
	trustPushService(b, ps)
	d := startDaemon(b, pushConfig+"ring_timeout: 30s\n")
	ps.ExpectKey(d.vapidKey())
	sub := ps.Subscribe()
	d.subscribeDevice("Ann", sub)
	next := func() (pushtest.Push, pushMsg) { return nextPush(b, ps, sub) }
	load, _ := os.ReadFile("/proc/loadavg")
	var ring, picture, event []time.Duration // from the press; event: from the door's ring (ms precision)
	// The simulated finger holds a button 200 ms and keeps it up 200 ms
	// before its next press; a press sooner waits in the panel's queue,
	// and that wait would be timed as the ring's. Real fingers are slower.
	const fingerReady = 500 * time.Millisecond
	var last time.Time
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Until(last.Add(fingerReady)))
		pressed := time.Now()
		last = pressed
		d.press("call")
		p, m := next()
		ring = append(ring, p.Received.Sub(pressed))
		event = append(event, p.Received.Sub(time.UnixMilli(m.At)))
		for m.Image == "" {
			p, m = next()
		}
		picture = append(picture, p.Received.Sub(pressed))
		d.press("hangup")
		for m.Kind != "missed" {
			_, m = next()
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, f := range []struct {
		name string
		d    []time.Duration
	}{{"ring", ring}, {"picture", picture}, {"event-to-ring", event}} {
		slices.Sort(f.d)
		b.ReportMetric(ms(f.d[len(f.d)/2]), "ms-"+f.name+"-median")
		b.ReportMetric(ms(f.d[0]), "ms-"+f.name+"-min")
		b.ReportMetric(ms(f.d[len(f.d)-1]), "ms-"+f.name+"-max")
	}
	endLoad, _ := os.ReadFile("/proc/loadavg")
	b.Logf("n=%d, load average before %s, after %s", b.N, strings.TrimSpace(string(load)), strings.TrimSpace(string(endLoad)))
}

// TestResidentCallsAwayResident: Ann calls Ben, who has no page open: his
// phone is notified ("Ann is calling"); the page he opens from it is rung
// and answers, and the answer replaces the notification. The next call he
// declines on the phone: Ann hears Rejected.
func TestResidentCallsAwayResident(t *testing.T) {
	ps := pushtest.New(t)
	trustPushService(t, ps)
	d := startDaemon(t, pushConfig, "-camera", "none")
	ps.ExpectKey(d.vapidKey())
	phone := ps.Subscribe()
	d.subscribeDevice("Ben", phone)
	ctx := context.Background()
	ws := "ws" + strings.TrimPrefix(d.url, "http") + "/ws"
	ann, err := resident.Dial(ctx, ws, resident.Options{Name: "Ann", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	invite := func() {
		t.Helper()
		if err := ann.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: "Ben"}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(want string) wire.Message {
		t.Helper()
		m, err := ann.Expect(ctx, "Ben's "+want, 30*time.Second, func(m wire.Message) bool {
			s, _ := m.TextString()
			return m.Type == wire.TypeInvite && s == "Start" && m.Status == want
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	invite()
	status(wire.StatusAttempting)
	p, m := nextPush(t, ps, phone)
	if m.Kind != "call" || m.From != "Ann" || p.Urgency != "high" || !strings.HasPrefix(p.Topic, "call-") || m.Decline == "" {
		t.Fatalf("Ben's phone got %+v (topic %q, urgency %q), want a call from Ann with a decline token", m, p.Topic, p.Urgency)
	}
	ben, err := resident.Dial(ctx, ws, resident.Options{Name: "Ben", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ben.WaitRing(ctx, 20*time.Second)
	if err != nil || inv.From != "Ann" {
		t.Fatalf("Ben's page: %+v %v, want Ann's call ringing", inv, err)
	}
	ben.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote(wire.StatusAccepted), To: "Ann"})
	status(wire.StatusAccepted)
	if p2, m2 := nextPush(t, ps, phone); m2.Kind != "answered" || m2.By != "Ben" || p2.Topic != p.Topic {
		t.Errorf("after Ben answered: %+v (topic %q), want answered on %s", m2, p2.Topic, p.Topic)
	}
	ben.Send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: "Ann"})
	ben.Close()
	d.waitHealth(func(h health.Report) bool { return h.Users == 2 }, "Ben's page to leave")

	invite()
	status(wire.StatusAttempting)
	_, m = nextPush(t, ps, phone)
	resp, err := http.Post(d.url+"/api/push/decline", "application/json", strings.NewReader(`{"token":"`+m.Decline+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := status(wire.StatusRejected); got.Reason != "Declined" {
		t.Errorf("Ann heard %+v, want Rejected: Declined", got)
	}
}
