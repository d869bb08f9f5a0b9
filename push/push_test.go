package push

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/pushtest"
)

// logBuf collects the service's log for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	svc  *Service
	ps   *pushtest.Server
	api  *httptest.Server
	log  *logBuf
	dir  string
	stop func()
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	ps := pushtest.New(t)
	f := &fixture{ps: ps, log: &logBuf{}, dir: t.TempDir()}
	cfg := Config{StateDir: f.dir, Contact: "mailto:door@example.org", TLS: ps.TLS(), AllowLocal: true, RingTimeout: 30 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.MultiWriter(f.log, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	ps.ExpectKey(svc.PublicKey())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	f.stop = func() { cancel(); <-done }
	t.Cleanup(f.stop)
	f.api = httptest.NewServer(svc.Handler())
	t.Cleanup(f.api.Close)
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// subscribe posts sub for resident through the API, as the client does.
func (f *fixture) subscribe(t *testing.T, resident string, sub *pushtest.Sub, quiet *Quiet) string {
	t.Helper()
	body := map[string]any{"resident": resident, "label": "test phone", "subscription": sub.JSON()}
	if quiet != nil {
		body["quiet"] = quiet
	}
	b, _ := json.Marshal(body)
	resp, err := http.Post(f.api.URL+"/api/push/devices", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID, Error string }
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated || out.ID == "" {
		t.Fatalf("subscribe = %d %q, want 201 and an id", resp.StatusCode, out.Error)
	}
	return out.ID
}

func next(t *testing.T, f *fixture, sub *pushtest.Sub) (pushtest.Push, message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := f.ps.Next(ctx, sub)
	if err != nil {
		t.Fatalf("%v (push service refused: %v)", err, f.ps.Errs())
	}
	var m message
	if err := json.Unmarshal(p.Plain, &m); err != nil {
		t.Fatalf("payload %q: %v", p.Plain, err)
	}
	return p, m
}

// camera is a JPEG as the camera gives it: far too big for a payload.
func camera(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRingAndReplacement(t *testing.T) {
	jpg := camera(t)
	f := newFixture(t, func(c *Config) { c.Snapshot = func() ([]byte, error) { return jpg, nil } })
	ben, ann := f.ps.Subscribe(), f.ps.Subscribe()
	f.subscribe(t, "Ben", ben, nil)
	f.subscribe(t, "Ann", ann, nil)

	at := time.Now()
	f.svc.Ring(7, at)
	for _, sub := range []*pushtest.Sub{ben, ann} {
		// The ring goes out at once, without a picture; the picture
		// follows as an update of the same ring (same topic, same decline
		// token). A push service keeps only the newest message of a topic
		// it has not delivered, so the device may see the update alone.
		p, m := next(t, f, sub)
		token := m.Decline
		for {
			if m.Kind != kindRing || m.Call != 7 || m.At != at.UnixMilli() || m.V != 1 || m.Decline != token || token == "" {
				t.Errorf("ring payload = %+v, want ring of call 7 at %d, with one decline token", m, at.UnixMilli())
			}
			if p.Urgency != "high" || p.Topic != "ring-7" || p.TTL > 30 || (!m.Picture && p.TTL != 30) {
				t.Errorf("ring headers: urgency %q topic %q ttl %d, want high, ring-7, 30 (less for the picture)", p.Urgency, p.Topic, p.TTL)
			}
			if m.Image != "" || t.Failed() {
				break
			}
			p, m = next(t, f, sub)
			if !m.Picture {
				t.Errorf("after a ring without its picture: %+v, want the picture update", m)
			}
		}
		if p.Size != recordSize {
			t.Errorf("request body = %d bytes, want the padded %d", p.Size, recordSize)
		}
		b64, ok := strings.CutPrefix(m.Image, dataURLPrefix)
		if !ok {
			t.Fatalf("image = %.40q, want a JPEG data: URL", m.Image)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("thumbnail: %v", err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w*3 != h*4 {
			t.Errorf("thumbnail %dx%d, want the camera's 4:3", w, h)
		}
	}

	f.svc.Answered(7, "", "Ben")
	for _, sub := range []*pushtest.Sub{ben, ann} {
		p, m := next(t, f, sub)
		if m.Kind != kindAnswered || m.By != "Ben" || m.Call != 7 || p.Topic != "ring-7" {
			t.Errorf("replacement = %+v topic %q, want answered by Ben, topic ring-7", m, p.Topic)
		}
	}
	f.svc.Ring(8, time.Now())
	next(t, f, ben)
	next(t, f, ann)
	f.svc.Missed(8, "")
	if _, m := next(t, f, ann); m.Kind != kindMissed || m.Call != 8 {
		t.Errorf("after a missed ring = %+v, want missed of call 8", m)
	}
	if errs := f.ps.Errs(); len(errs) > 0 {
		t.Errorf("push service refused requests: %v", errs)
	}
}

func TestRingGroupOnly(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RingGroup = []string{"Ann"} })
	ben, ann := f.ps.Subscribe(), f.ps.Subscribe()
	f.subscribe(t, "Ben", ben, nil)
	f.subscribe(t, "Ann", ann, nil)
	f.svc.Ring(1, time.Now())
	if _, m := next(t, f, ann); m.Kind != kindRing || m.Image != "" {
		t.Errorf("Ann got %+v, want a ring without a picture (no camera)", m)
	}
	f.svc.Missed(1, "")
	next(t, f, ann)
	if got := f.ps.Inbox(ben); len(got) != 0 {
		t.Errorf("Ben, outside the ring group, got %d pushes", len(got))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.For(t, 20*time.Second, 10*time.Millisecond, what, cond)
}

func TestGoneDevicesAreRemoved(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFixture(t, nil)
			gone, kept := f.ps.Subscribe(), f.ps.Subscribe()
			goneID := f.subscribe(t, "Ben", gone, nil)
			f.subscribe(t, "Ben", kept, nil)
			f.ps.Answer(gone, code)
			f.svc.Ring(1, time.Now())
			next(t, f, kept)
			waitFor(t, "the gone device to be removed", func() bool { return len(f.svc.store.list("Ben")) == 1 })
			if d := f.svc.store.list("Ben")[0]; d.ID == goneID {
				t.Errorf("removed the wrong device")
			}
			// And for good: a restart reads the file without it.
			st, err := loadStore(f.dir, slog.New(slog.DiscardHandler))
			if err != nil || len(st.list("")) != 1 {
				t.Errorf("after restart: %d devices, err %v; want 1", len(st.list("")), err)
			}
		})
	}
}

func TestFailingServicesKeepDevicesAndDelayNobody(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Timeout = time.Minute })
	hung, busy, broken, fine := f.ps.Subscribe(), f.ps.Subscribe(), f.ps.Subscribe(), f.ps.Subscribe()
	for _, s := range []*pushtest.Sub{hung, busy, broken, fine} {
		f.subscribe(t, "Ben", s, nil)
	}
	f.ps.Hang(hung)
	f.ps.Answer(busy, http.StatusTooManyRequests)
	f.ps.Answer(broken, http.StatusBadGateway)
	f.svc.Ring(1, time.Now())
	// The hung request holds for a minute; the good device gets its ring
	// now, and the door (this goroutine) was never held.
	if _, m := next(t, f, fine); m.Kind != kindRing {
		t.Errorf("got %+v, want the ring", m)
	}
	waitFor(t, "429 and 502 to be logged", func() bool {
		l := f.log.String()
		return strings.Contains(l, "status=429") && strings.Contains(l, "status=502")
	})
	if n := len(f.svc.store.list("")); n != 4 {
		t.Errorf("%d devices left, want all 4: only 404 and 410 mean gone", n)
	}
	if strings.Contains(f.log.String(), hung.Endpoint) || strings.Contains(f.log.String(), hung.Auth) {
		t.Errorf("an endpoint or key is in the log")
	}
}

func TestQuietHours(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.Local)
	f := newFixture(t, func(c *Config) { c.Now = func() time.Time { return now } })
	silent, off, loud := f.ps.Subscribe(), f.ps.Subscribe(), f.ps.Subscribe()
	f.subscribe(t, "Ben", silent, &Quiet{From: "22:00", To: "07:00", Mode: QuietSilent})
	f.subscribe(t, "Ben", off, &Quiet{From: "22:00", To: "07:00", Mode: QuietOff})
	f.subscribe(t, "Ben", loud, &Quiet{From: "08:00", To: "18:00", Mode: QuietOff})
	f.svc.Ring(1, now)
	if _, m := next(t, f, silent); !m.Silent {
		t.Errorf("in quiet hours (silent) got %+v, want silent", m)
	}
	if _, m := next(t, f, loud); m.Silent {
		t.Errorf("outside quiet hours got %+v, want not silent", m)
	}
	f.svc.Missed(1, "")
	next(t, f, loud)
	if got := f.ps.Inbox(off); len(got) != 0 {
		t.Errorf("in quiet hours (off) got %d pushes, want none", len(got))
	}
}

func TestQuietMode(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.Local) }
	tests := []struct {
		q    Quiet
		t    time.Time
		want string
	}{
		{Quiet{"22:00", "07:00", QuietOff}, at(23, 0), QuietOff},
		{Quiet{"22:00", "07:00", QuietOff}, at(6, 59), QuietOff},
		{Quiet{"22:00", "07:00", QuietOff}, at(7, 0), ""},
		{Quiet{"22:00", "07:00", QuietOff}, at(12, 0), ""},
		{Quiet{"09:00", "17:00", QuietSilent}, at(9, 0), QuietSilent},
		{Quiet{"09:00", "17:00", QuietSilent}, at(17, 0), ""},
		{Quiet{"00:00", "00:00", QuietSilent}, at(3, 0), QuietSilent},
	}
	for _, tt := range tests {
		if got := tt.q.mode(tt.t); got != tt.want {
			t.Errorf("%+v.mode(%s) = %q, want %q", tt.q, tt.t.Format("15:04"), got, tt.want)
		}
	}
}

func TestSubscribeRefusesBadInput(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AllowLocal = false })
	good := f.ps.Subscribe()
	sub := func(mod func(m map[string]any)) string {
		m := map[string]any{"resident": "Ben", "subscription": map[string]any{
			"endpoint": "https://push.example.org/wpush/abc", "expirationTime": nil,
			"keys": map[string]any{"p256dh": good.P256dh, "auth": good.Auth}}}
		mod(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	keys := func(m map[string]any) map[string]any {
		return m["subscription"].(map[string]any)["keys"].(map[string]any)
	}
	tests := []struct{ name, body, want string }{
		{"not json", `{"resident":`, "subscribe"},
		{"two objects", sub(func(map[string]any) {}) + "{}", "one JSON object"},
		{"unknown field", sub(func(m map[string]any) { m["admin"] = true }), "unknown field"},
		{"no resident", sub(func(m map[string]any) { m["resident"] = "" }), "resident"},
		{"control in name", sub(func(m map[string]any) { m["resident"] = "Be\u202en" }), "resident"},
		{"long name", sub(func(m map[string]any) { m["resident"] = strings.Repeat("x", 33) }), "resident"},
		{"http endpoint", sub(func(m map[string]any) { m["subscription"].(map[string]any)["endpoint"] = "http://push.example.org/x" }), "https://"},
		{"no endpoint", sub(func(m map[string]any) { m["subscription"].(map[string]any)["endpoint"] = "" }), "https://"},
		{"LAN endpoint", sub(func(m map[string]any) { m["subscription"].(map[string]any)["endpoint"] = "https://192.168.1.1/admin" }), "this network"},
		{"loopback endpoint", sub(func(m map[string]any) { m["subscription"].(map[string]any)["endpoint"] = good.Endpoint }), "this network"},
		{"huge endpoint", sub(func(m map[string]any) {
			m["subscription"].(map[string]any)["endpoint"] = "https://push.example.org/" + strings.Repeat("a", 2000)
		}), "https://"},
		{"key not on the curve", sub(func(m map[string]any) {
			keys(m)["p256dh"] = base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...))
		}), "p256dh"},
		{"short auth", sub(func(m map[string]any) { keys(m)["auth"] = "AAAA" }), "auth"},
		{"no keys", sub(func(m map[string]any) { delete(m["subscription"].(map[string]any), "keys") }), "p256dh"},
		{"bad quiet", sub(func(m map[string]any) { m["quiet"] = map[string]string{"from": "25:00", "to": "07:00", "mode": "off"} }), "quiet"},
		{"bad quiet mode", sub(func(m map[string]any) { m["quiet"] = map[string]string{"from": "22:00", "to": "07:00", "mode": "loud"} }), "quiet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(f.api.URL+"/api/push/devices", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out.Error, tt.want) {
				t.Errorf("POST %.60s = %d %q, want 400 mentioning %q", tt.body, resp.StatusCode, out.Error, tt.want)
			}
		})
	}
	resp, err := http.Post(f.api.URL+"/api/push/devices", "text/plain", strings.NewReader(sub(func(map[string]any) {})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain subscribe = %d, want 415", resp.StatusCode)
	}
	if n := len(f.svc.store.list("")); n != 0 {
		t.Errorf("%d devices stored after bad requests, want 0", n)
	}
	if _, err := os.Stat(filepath.Join(f.dir, devicesFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("devices file written after bad requests only: %v", err)
	}
}

func TestDevicesListRemoveAndRestart(t *testing.T) {
	f := newFixture(t, nil)
	a, b := f.ps.Subscribe(), f.ps.Subscribe()
	idA := f.subscribe(t, "Ben", a, nil)
	f.subscribe(t, "Ann", b, nil)
	// Subscribing again (same endpoint) updates, under the same id.
	if id := f.subscribe(t, "Ben", a, &Quiet{From: "22:00", To: "06:00", Mode: QuietSilent}); id != idA {
		t.Errorf("resubscribe id = %q, want %q", id, idA)
	}
	list := func(q string) (out struct {
		PublicKey string
		Devices   []deviceView
		Residents []string
	}) {
		resp, err := http.Get(f.api.URL + "/api/push" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), a.Auth) || strings.Contains(string(body), a.Endpoint) {
			t.Errorf("device list shows a key or an endpoint: %s", body)
		}
		json.Unmarshal(body, &out)
		return out
	}
	got := list("?resident=Ben")
	if got.PublicKey != f.svc.PublicKey() || len(got.Devices) != 1 || got.Devices[0].ID != idA || got.Devices[0].Quiet == nil {
		t.Fatalf("GET /api/push?resident=Ben = %+v, want Ben's one device with quiet hours", got)
	}
	if !slices.Equal(got.Residents, []string{"Ann", "Ben"}) {
		t.Errorf("residents = %q, want everyone with a device, Ann and Ben, whom a call rings with the app closed", got.Residents)
	}
	if n := len(list("").Devices); n != 2 {
		t.Errorf("all devices: %d, want 2", n)
	}
	req, _ := http.NewRequest(http.MethodDelete, f.api.URL+"/api/push/devices/"+idA, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE = %d, want 204", resp.StatusCode)
	}
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE again = %d, want 404", resp.StatusCode)
	}
	key := f.svc.PublicKey()
	f.stop()

	// A restart keeps the key and the devices; the files are the service's
	// only.
	svc, err := New(Config{StateDir: f.dir, Contact: "https://example.org/contact"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.PublicKey() != key {
		t.Errorf("VAPID key changed across a restart")
	}
	if ds := svc.store.list(""); len(ds) != 1 || ds[0].Resident != "Ann" {
		t.Errorf("after restart: %+v, want Ann's device", ds)
	}
	for _, name := range []string{vapidKeyFile, devicesFile} {
		fi, err := os.Stat(filepath.Join(f.dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", name, fi.Mode().Perm(), err)
		}
	}
}

func TestTestNotification(t *testing.T) {
	f := newFixture(t, nil)
	sub := f.ps.Subscribe()
	id := f.subscribe(t, "Ben", sub, nil)
	resp, err := http.Post(f.api.URL+"/api/push/devices/"+id+"/test", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("test = %d, want 202", resp.StatusCode)
	}
	if _, m := next(t, f, sub); m.Kind != kindTest {
		t.Errorf("got %+v, want a test notification", m)
	}
}

func TestContact(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"mailto:door@example.org", "door@example.org", false},
		{"https://example.org/intercom", "https://example.org/intercom", false},
		{"", "", true},
		{"door@example.org", "", true},
		{"mailto:", "", true},
		{"mailto:door", "", true},
		{"http://example.org", "", true},
		{"https://", "", true},
	}
	for _, tt := range tests {
		got, err := subscriber(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("subscriber(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if _, err := New(Config{StateDir: t.TempDir()}, nil); !errors.Is(err, ErrNoContact) {
		t.Errorf("New without a contact: %v, want ErrNoContact", err)
	}
}

func TestForeignKeyRefused(t *testing.T) {
	// A subscription made for another server's key: the push service says
	// 403 and intercomd keeps the device (it may be a passing problem) but
	// logs it.
	f := newFixture(t, nil)
	f.ps.ExpectKey("BOtherServerKey")
	sub := f.ps.Subscribe()
	f.subscribe(t, "Ben", sub, nil)
	f.svc.Ring(1, time.Now())
	waitFor(t, "the refusal to be logged", func() bool { return strings.Contains(f.log.String(), "status=401") })
	if len(f.ps.Errs()) == 0 {
		t.Errorf("the push service accepted a token of another key")
	}
}

func TestFitThumbnail(t *testing.T) {
	small, err := fitThumbnail(camera(t), maxImage)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) > maxImage {
		t.Errorf("thumbnail of %d bytes, over %d", len(small), maxImage)
	}
	if _, err := fitThumbnail([]byte("not a jpeg"), 10); err == nil {
		t.Errorf("fitThumbnail(garbage) = nil error")
	}
	m := message{V: 1, Kind: kindRing, Call: 1<<63 + 1, At: time.Now().UnixMilli(), By: strings.Repeat("x", 32), Image: small, Silent: true}
	if b, err := m.encode(); err != nil || len(b) > maxPlain {
		t.Errorf("the largest ring payload: %d bytes, %v; want under %d", len(b), err, maxPlain)
	}
}
