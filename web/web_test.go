package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/hub"

	"github.com/intercomd/intercomd/health"

	"github.com/intercomd/intercomd/device"
)

var _ Hub = (*hub.Hub)(nil)

// testLog shows the server's and hub's logs only for failing tests (-v).
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startHub runs a real hub with the default config until the test ends.
func startHub(t testing.TB) *hub.Hub { return startHubConfig(t, hub.Config{}) }

func startHubConfig(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	h := hub.New(cfg, testLog(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.Run(ctx); err != nil {
			t.Errorf("hub.Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// newTestServer serves a web.Server on a real hub through httptest.
func newTestServer(t testing.TB, cfg Config) (*httptest.Server, *hub.Hub) {
	t.Helper()
	h := startHub(t)
	cfg.NoAuth = true // the login has its own tests (auth_test.go, security_test.go)
	s, err := New(cfg, testLog(t), h)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, h
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dial opens a WebSocket with the given Origin ("" sends none) and returns
// the connection or the HTTP status of the refusal.
func dial(t *testing.T, url, origin string) (*websocket.Conn, int) {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { c.Close() })
	return c, resp.StatusCode
}

// readType reads messages until one of type typ arrives.
func readType(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for %q: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func TestWebSocketOrigin(t *testing.T) {
	srv, _ := newTestServer(t, Config{AllowOrigins: []string{"https://phone.example:8443", " http://Other.Example "}})
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, path, origin string
		want               int
	}{
		{"no origin (non-browser client)", "/", "", http.StatusSwitchingProtocols},
		{"no origin on /ws", "/ws", "", http.StatusSwitchingProtocols},
		{"same host", "/", "http://" + host, http.StatusSwitchingProtocols},
		{"same host on /ws", "/ws", "http://" + host, http.StatusSwitchingProtocols},
		{"same host, upper case", "/ws", "HTTP://" + strings.ToUpper(host), http.StatusSwitchingProtocols},
		{"listed", "/ws", "https://phone.example:8443", http.StatusSwitchingProtocols},
		{"listed, written loosely", "/", "http://other.example:80", http.StatusSwitchingProtocols},
		{"listed host, other port", "/ws", "https://phone.example", http.StatusForbidden},
		{"listed host, other scheme", "/ws", "http://phone.example:8443", http.StatusForbidden},
		{"other host", "/", "http://evil.example", http.StatusForbidden},
		{"other host on /ws", "/ws", "http://evil.example", http.StatusForbidden},
		{"same host name, other port", "/ws", "http://127.0.0.1:1", http.StatusForbidden},
		{"host as suffix", "/ws", "http://" + host + ".evil.example", http.StatusForbidden},
		{"opaque origin", "/ws", "null", http.StatusForbidden},
		{"not a URL", "/ws", "::::", http.StatusForbidden},
		{"file page", "/ws", "file://", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, status := dial(t, wsURL(srv, tt.path), tt.origin)
			if status != tt.want {
				t.Fatalf("dial %s with Origin %q: status %d, want %d", tt.path, tt.origin, status, tt.want)
			}
			if c == nil {
				return
			}
			// Upgraded sockets reach the hub: it greets them.
			m := readType(t, c, "Socket Event")
			if m["text"] != "Connected" {
				t.Fatalf("greeting = %v, want text Connected", m)
			}
		})
	}
}

func TestUpgradeReachesHub(t *testing.T) {
	srv, h := newTestServer(t, Config{})
	for i, path := range []string{"/", "/ws"} {
		c, _ := dial(t, wsURL(srv, path), "")
		name := "user" + path
		if err := c.WriteJSON(map[string]any{"type": "Register", "text": name}); err != nil {
			t.Fatal(err)
		}
		m := readType(t, c, "Register")
		if m["status"] != "OK" {
			t.Fatalf("Register on %s = %v, want status OK", path, m)
		}
		if got := h.Users(); got != i+1 {
			t.Fatalf("hub.Users() after Register on %s = %d, want %d", path, got, i+1)
		}
	}
}

func TestHealthz(t *testing.T) {
	srv, _ := newTestServer(t, Config{
		Version: "1.2.3",
		Status: func() health.Report {
			return health.Report{Device: device.Status{Name: "door", State: "idle"}, Version: "not me"}
		},
	})
	c, _ := dial(t, wsURL(srv, "/ws"), "")
	c.WriteJSON(map[string]any{"type": "Register", "text": "alice"})
	readType(t, c, "Register")

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /healthz: %s %q, want 200 application/json", resp.Status, resp.Header.Get("Content-Type"))
	}
	var got struct {
		Version string
		Users   int
		Device  struct{ Name, State string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("decode /healthz: %v", err)
	}
	if got.Version != "1.2.3" || got.Users != 1 || got.Device.Name != "door" || got.Device.State != "idle" {
		t.Fatalf("/healthz = %+v, want version 1.2.3, users 1, device door idle", got)
	}
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestStatic(t *testing.T) {
	srv, _ := newTestServer(t, Config{})
	tests := []struct {
		path  string
		code  int
		ctype string
		body  string
	}{
		{"/", 200, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/index.html", 200, "text/html; charset=utf-8", "<title>Intercom</title>"},
		{"/app.js", 200, "text/javascript; charset=utf-8", "window.intercom"},
		{"/style.css", 200, "text/css; charset=utf-8", "call screens"},
		{"/theme.css", 200, "text/css; charset=utf-8", ":root"},
		{"/icon.svg", 200, "image/svg+xml", "<svg"},
		{"/manifest.webmanifest", 200, "application/manifest+json", `"start_url"`},
		{"/nope.js", 404, "", ""},
		{"/static/app.js", 404, "", ""},
		{"/../web.go", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.path, nil)
			if resp.StatusCode != tt.code {
				t.Fatalf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
			}
			if tt.code != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.ctype)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("GET %s: body lacks %q", tt.path, tt.body)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("GET %s: no ETag", tt.path)
			}
			again, body := get(t, srv.URL+tt.path, map[string]string{"If-None-Match": etag})
			if again.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("GET %s with If-None-Match: %d and %d bytes, want 304 and none", tt.path, again.StatusCode, len(body))
			}
		})
	}
}

// TestStaticReferences proves every file the client names exists: the
// page's src and href attributes and every JS module import.
func TestStaticReferences(t *testing.T) {
	srv, _ := newTestServer(t, Config{})
	_, index := get(t, srv.URL+"/", nil)
	refs := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#:]+)"`).FindAllStringSubmatch(index, -1) {
		refs["/"+m[1]] = true
	}
	entries, err := os.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	imp := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		b, err := os.ReadFile("static/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			refs["/"+m[1]] = true
		}
	}
	if len(refs) < 5 {
		t.Fatalf("found only %d references (%v): is the pattern still right?", len(refs), refs)
	}
	for ref := range refs {
		if resp, _ := get(t, srv.URL+ref, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (referenced by the client): %d", ref, resp.StatusCode)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	srv, _ := newTestServer(t, Config{})
	for _, path := range []string{"/", "/app.js", "/healthz", "/missing"} {
		resp, _ := get(t, srv.URL+path, nil)
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q allows unsafe sources", path, csp)
		}
		// HSTS over plain HTTP would be ignored, and wrong: only HTTPS sends it.
		if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("GET %s over HTTP: Strict-Transport-Security = %q, want none", path, got)
		}
	}
}

func TestMethods(t *testing.T) {
	srv, _ := newTestServer(t, Config{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.URL+"/", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /: %d, want 405", m, resp.StatusCode)
		}
	}
	resp, _ := get(t, srv.URL+"/ws", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /ws without Upgrade: %d, want 400", resp.StatusCode)
	}
}

func TestHandlers(t *testing.T) {
	panel := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "panel "+r.Method+" "+r.URL.Path)
	})
	srv, _ := newTestServer(t, Config{Handlers: map[string]http.Handler{"/api/panel": panel, "/api/panel/": panel}})
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		method, path, origin string
		code                 int
		body                 string
	}{
		{"GET", "/api/panel", "", 200, "panel GET /api/panel"},
		{"POST", "/api/panel/press", "", 200, "panel POST /api/panel/press"},
		{"POST", "/api/panel/press", "http://" + host, 200, "panel POST /api/panel/press"},
		// A foreign page may not press the door's buttons (CSRF).
		{"POST", "/api/panel/press", "http://evil.example", 403, "origin not allowed"},
		{"GET", "/healthz", "", 200, `"users"`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader("{}"))
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s %s (Origin %q) = %d %q, want %d containing %q", tt.method, tt.path, tt.origin, resp.StatusCode, b, tt.code, tt.body)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	h := startHub(t)
	ok := http.NotFoundHandler()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"origin with path", Config{AllowOrigins: []string{"http://a.example/x"}}},
		{"origin without scheme", Config{AllowOrigins: []string{"a.example"}}},
		{"origin with other scheme", Config{AllowOrigins: []string{"ftp://a.example"}}},
		{"handler on our root", Config{Handlers: map[string]http.Handler{"/": ok}}},
		{"handler with bad pattern", Config{Handlers: map[string]http.Handler{"/{x": ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.NoAuth = true // so only the mistake under test can fail New
			if s, err := New(tt.cfg, nil, h); err == nil {
				t.Fatalf("New(%+v) = %v, nil; want an error", tt.cfg, s)
			}
		})
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Fatal("New with a nil hub: no error")
	}
}

// runServer runs a server without auth on a loopback port until cancel;
// done gets what Run returned.
func runServer(t *testing.T) (addr string, cancel func(), done <-chan error) {
	t.Helper()
	s, err := New(Config{Listen: "127.0.0.1:0", Version: "v", NoAuth: true}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addrc := make(chan string, 1)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, func(addr string) { addrc <- addr }) }()
	select {
	case addr = <-addrc:
	case err := <-ran:
		t.Fatalf("Run: %v", err)
	}
	return addr, cancel, ran
}

// TestRun serves on a real port, then shuts down when ctx ends, letting the
// hub's sockets go.
func TestRun(t *testing.T) {
	addr, cancel, done := runServer(t)
	resp, body := get(t, "http://"+addr+"/healthz", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"version":"v"`) {
		t.Fatalf("GET /healthz: %d %q", resp.StatusCode, body)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatalf("read greeting: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("socket after shutdown: %v, want it closed", err)
			}
			break
		}
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still answers after Run returned")
	}
}

// TestRunSpareConnection: a browser opens connections ahead of need and
// may send nothing on them; net/http counts such a connection as busy for
// its first 5 s. Shutting down with one open must still end cleanly, and
// close it.
func TestRunSpareConnection(t *testing.T) {
	addr, cancel, done := runServer(t)
	spare, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	// The server has accepted it once it answers a request on another one.
	if resp, _ := get(t, "http://"+addr+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run with a spare connection open: %v", err)
		}
	case <-time.After(3*shutdownTimeout + 5*time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	spare.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := spare.Read(make([]byte, 1)); err == nil {
		t.Fatalf("spare connection still open after Run returned (read %d bytes)", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("spare connection still open after Run returned")
	}
}

func TestRunListenError(t *testing.T) {
	s, err := New(Config{Listen: "256.0.0.1:0", StateDir: t.TempDir()}, nil, startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run on a bad address = %v, want a listen error", err)
	}
}
