package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/auth"
	"github.com/intercomd/intercomd/certs"
)

const testPassword = "resident secret"

// loopbackPair writes a certificate for localhost and 127.0.0.1 to dir, so
// a server on loopback (all tests may use) serves HTTPS.
func loopbackPair(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	c, k, err := certs.SelfSigned([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// secureServer is a Server with login and HTTPS, running on a real port.
type secureServer struct {
	s      *Server
	addr   string // host:port
	base   string // https://host:port
	tls    *tls.Config
	client *http.Client
}

// startSecure runs a Server over HTTPS on 127.0.0.1 with the resident
// password set (if password is not empty), until the test ends.
func startSecure(t *testing.T, password string, edit func(*Config)) *secureServer {
	t.Helper()
	dir := t.TempDir()
	if password != "" {
		if err := auth.SetPassword(dir, password); err != nil {
			t.Fatal(err)
		}
	}
	cert, key := loopbackPair(t, t.TempDir())
	cfg := Config{Listen: "127.0.0.1:0", Version: "sec", StateDir: dir, TLSCert: cert, TLSKey: key}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(a string) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	ss := &secureServer{s: s, addr: addr, base: "https://" + addr}
	// Trust exactly the certificate whose fingerprint the server reports,
	// as a resident who compared it once does.
	ss.tls = &tls.Config{
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || certs.FingerprintOf(raw[0]) != s.Fingerprint() {
				return errors.New("certificate fingerprint differs from the server's")
			}
			return nil
		},
	}
	ss.client = &http.Client{
		Transport:     &http.Transport{TLSClientConfig: ss.tls},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	t.Cleanup(ss.client.CloseIdleConnections)
	return ss
}

// do sends a request with the given headers (name, value pairs).
func (ss *secureServer) do(t *testing.T, method, path, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ss.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ss.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// dialWS opens the WebSocket with an Origin ("" for none) and a cookie
// ("" for none); it returns the socket or the refusal's status.
func (ss *secureServer) dialWS(t *testing.T, path, origin, cookie string) (*websocket.Conn, int) {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	if cookie != "" {
		hdr.Set("Cookie", cookie)
	}
	d := websocket.Dialer{TLSClientConfig: ss.tls, HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial("wss://"+ss.addr+path, hdr)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { c.Close() })
	return c, resp.StatusCode
}

// login logs in and returns the Cookie header value.
func (ss *secureServer) login(t *testing.T, password string) string {
	t.Helper()
	resp, body := ss.do(t, "POST", "/api/login", `{"password":"`+password+`"}`, "Origin", ss.base)
	if resp.StatusCode != 200 {
		t.Fatalf("login = %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName(true) {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %+v: want Secure, HttpOnly, SameSite=Strict over HTTPS", c)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("login set no %s cookie: %v", auth.CookieName(true), resp.Header)
	return ""
}

// TestSecureServer walks the server as a stranger and as a resident: every
// way in is closed without a session and opens with one.
func TestSecureServer(t *testing.T) {
	ss := startSecure(t, testPassword, nil)
	if ss.s.Fingerprint() == "" {
		t.Fatal("no fingerprint over HTTPS")
	}

	resp, body := ss.do(t, "GET", "/api/auth", "")
	var st auth.Status
	json.Unmarshal([]byte(body), &st)
	if resp.StatusCode != 200 || st.Fingerprint != ss.s.Fingerprint() || !st.HTTPS || !st.PasswordSet || st.Authenticated {
		t.Errorf("GET /api/auth = %d %s, want the fingerprint %s, https, password set, not logged in", resp.StatusCode, body, ss.s.Fingerprint())
	}
	if resp, _ := ss.do(t, "GET", "/", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / = %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = ss.do(t, "GET", "/login", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `src="login.js"`) {
		t.Errorf("GET /login = %d, want the login page", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy":   "frame-ancestors 'none'",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
	} {
		if got := resp.Header.Get(name); !strings.Contains(got, want) {
			t.Errorf("login page header %s = %q, want %q", name, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q: want script-src 'self' and nothing inline", csp)
	}
	for _, p := range []string{"/app.js", "/api/panel", "/panel"} {
		if resp, _ := ss.do(t, "GET", p, ""); resp.StatusCode != 401 && resp.StatusCode != 303 {
			t.Errorf("GET %s without a session = %d, want 401 or 303", p, resp.StatusCode)
		}
	}

	// The WebSocket: 401 without a session, 403 from a foreign page.
	for _, p := range []string{"/", "/ws"} {
		if _, code := ss.dialWS(t, p, ss.base, ""); code != http.StatusUnauthorized {
			t.Errorf("upgrade %s without a session = %d, want 401", p, code)
		}
	}
	if _, code := ss.dialWS(t, "/ws", "https://evil.example", ""); code != http.StatusForbidden {
		t.Errorf("upgrade from a foreign Origin = %d, want 403", code)
	}
	if resp, _ := ss.do(t, "POST", "/api/login", `{"password":"`+testPassword+`"}`, "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login from a foreign Origin = %d, want 403", resp.StatusCode)
	}

	cookie := ss.login(t, testPassword)
	if _, code := ss.dialWS(t, "/ws", "https://evil.example", cookie); code != http.StatusForbidden {
		t.Errorf("upgrade with a session from a foreign Origin = %d, want 403", code)
	}
	// Issue 17 item 8: a page on plain http://HOST (anyone on the path can
	// serve one) must not drive the HTTPS listener, whose host and port it
	// names exactly.
	plainOrigin := "http://" + ss.addr
	if _, code := ss.dialWS(t, "/ws", plainOrigin, cookie); code != http.StatusForbidden {
		t.Errorf("upgrade with a session from Origin %s = %d, want 403", plainOrigin, code)
	}
	if resp, _ := ss.do(t, "POST", "/api/logout", "", "Cookie", cookie, "Origin", plainOrigin); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout from Origin %s = %d, want 403", plainOrigin, resp.StatusCode)
	}
	c, code := ss.dialWS(t, "/ws", ss.base, cookie)
	if c == nil {
		t.Fatalf("upgrade after login = %d, want 101", code)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["type"] != "Socket Event" {
		t.Fatalf("first message after login = %v, %v; want the hub's greeting", hello, err)
	}
	resp, body = ss.do(t, "GET", "/healthz", "", "Cookie", cookie)
	if resp.StatusCode != 200 || !strings.Contains(body, `"version":"sec"`) {
		t.Errorf("GET /healthz with a session = %d %s, want the details", resp.StatusCode, body)
	}

	// Logging out ends the session and its socket.
	if resp, _ := ss.do(t, "POST", "/api/logout", "", "Cookie", cookie, "Origin", ss.base); resp.StatusCode != http.StatusNoContent {
		t.Errorf("logout = %d, want 204", resp.StatusCode)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the socket stayed open after logout")
			}
			break
		}
	}
	if _, code := ss.dialWS(t, "/ws", ss.base, cookie); code != http.StatusUnauthorized {
		t.Errorf("upgrade with a logged-out cookie = %d, want 401", code)
	}
}

func TestSixthWrongPasswordRefused(t *testing.T) {
	ss := startSecure(t, testPassword, nil)
	for i := range 5 {
		resp, body := ss.do(t, "POST", "/api/login", `{"password":"guess"}`, "Origin", ss.base)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d %s, want 401", i+1, resp.StatusCode, body)
		}
	}
	resp, body := ss.do(t, "POST", "/api/login", `{"password":"guess"}`, "Origin", ss.base)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many attempts") {
		t.Errorf("6th wrong password within a minute = %d (Retry-After %q) %s, want 429 with a clear message",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := ss.do(t, "POST", "/api/login", `{"password":"`+testPassword+`"}`, "Origin", ss.base); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("7th attempt, right password = %d, want 429 still", resp.StatusCode)
	}
}

func TestFingerprintSameAfterRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t)
	// A non-loopback address turns on HTTPS with the generated certificate;
	// New does not listen, so no such interface is needed.
	cfg := Config{Listen: "192.0.2.1:8443", StateDir: dir}
	a, err := New(cfg, testLog(t), h)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, testLog(t), h)
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() == "" || a.Fingerprint() != b.Fingerprint() {
		t.Errorf("fingerprint after restart = %q, want %q (not empty)", b.Fingerprint(), a.Fingerprint())
	}
	if _, err := os.Stat(filepath.Join(dir, certs.GeneratedKeyFile)); err != nil {
		t.Errorf("no key in the state dir: %v", err)
	}
}

func TestNoAuthOnlyOnLoopback(t *testing.T) {
	h := startHub(t)
	for _, tt := range []struct {
		listen string
		ok     bool
	}{
		{"localhost:8080", true},
		{"127.0.0.1:0", true},
		{"[::1]:8080", true},
		{"", true}, // the default, localhost:8080
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.0.2.1:8080", false},
		{"doorpi.local:8080", false},
	} {
		_, err := New(Config{Listen: tt.listen, NoAuth: true}, nil, h)
		if (err == nil) != tt.ok {
			t.Errorf("New(Listen %q, NoAuth) = %v, want ok=%v", tt.listen, err, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "-no-auth") || !strings.Contains(err.Error(), "loopback")) {
			t.Errorf("New(Listen %q, NoAuth) error %q does not say why", tt.listen, err)
		}
	}
}

func TestListenIsLoopback(t *testing.T) {
	for in, want := range map[string]bool{
		"localhost:8080":            true,
		"LocalHost:1":               true,
		"127.0.0.1:0":               true,
		"127.1.2.3:80":              true,
		"[::1]:80":                  true,
		"127.0.0.1:1,[::1]:1":       false, // a list: the server cannot listen on it
		"127.0.0.1:1, 192.0.2.1:80": false,
		":80":                       false,
		"":                          false,
		"0.0.0.0:80":                false,
		"[::ffff:127.0.0.1]:80":     true,
		"doorpi:80":                 false,
		"localhost":                 false, // no port: not a listen address
	} {
		if got := LoopbackOnly(in); got != want {
			t.Errorf("LoopbackOnly(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestHTTPRedirect(t *testing.T) {
	ss := startSecure(t, testPassword, func(c *Config) { c.HTTPRedirect = "127.0.0.1:0" })
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Get("http://" + ss.s.sec.redirectAddr + "/panel?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := ss.base + "/panel?x=1"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP = %d to %q, want 307 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	_, err = New(Config{Listen: "127.0.0.1:0", NoAuth: true, HTTPRedirect: ":80"}, nil, startHub(t))
	if err == nil || !strings.Contains(err.Error(), "http_redirect needs HTTPS") {
		t.Errorf("http_redirect without HTTPS: %v, want an error saying it needs HTTPS", err)
	}
}

// TestPublicHealthz: /healthz tells a stranger only that intercomd is up.
func TestPublicHealthz(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Listen: "127.0.0.1:0", StateDir: dir, Version: "v9"}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		remote, host, want string
	}{
		{"192.0.2.1:1", "doorpi.local", `{"status":"ok"}`},
		{"127.0.0.1:1", "localhost:8080", `"version":"v9"`},
	} {
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.RemoteAddr, r.Host = tt.remote, tt.host
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("GET /healthz from %s = %d %s, want %s", tt.remote, w.Code, w.Body, tt.want)
		}
		if tt.remote != "127.0.0.1:1" && strings.Contains(w.Body.String(), "v9") {
			t.Errorf("public /healthz leaks the version: %s", w.Body)
		}
	}
}

// TestNoAuthAnswersOnlyLocalhost: without login, a page that pointed its
// own domain at 127.0.0.1 gets nothing.
func TestNoAuthAnswersOnlyLocalhost(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", NoAuth: true}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{"localhost:8080": 200, "127.0.0.1:8080": 200, "rebound.example:8080": 421} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:1", host
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET / with Host %s = %d, want %d", host, w.Code, want)
		}
	}
}

// Without login, /api/auth says so (the client asks on every page load; a
// 404 there was an error in every console), and still only to localhost.
func TestNoAuthStatus(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", NoAuth: true}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, host string
		code         int
		body         string
	}{
		{"GET", "localhost:8080", 200, `{"authenticated":true,"passwordSet":false,"https":false,"noLogin":true}`},
		{"HEAD", "localhost:8080", 200, ""},
		{"POST", "localhost:8080", 405, ""},
		{"GET", "rebound.example:8080", 421, ""},
	} {
		r := httptest.NewRequest(tt.method, "/api/auth", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:1", tt.host
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != tt.code || (tt.body != "" && strings.TrimSpace(w.Body.String()) != tt.body) {
			t.Errorf("%s /api/auth with Host %s = %d %s, want %d %s", tt.method, tt.host, w.Code, w.Body, tt.code, tt.body)
		}
	}
}

func TestCSPNamesOnlyOurHost(t *testing.T) {
	for host, want := range map[string]string{
		"doorpi.local:8443":         "connect-src 'self' wss://doorpi.local:8443 ws://doorpi.local:8443",
		"[::1]:8080":                "connect-src 'self' wss://[::1]:8080 ws://[::1]:8080",
		"a.example; script-src *":   "connect-src 'self'",
		"a.example,evil.example":    "connect-src 'self'",
		"":                          "connect-src 'self'",
		"a.example/'unsafe-inline'": "connect-src 'self'",
	} {
		csp := cspFor(host)
		if !strings.HasSuffix(csp, want) || strings.Contains(csp, " ws: ") || strings.Count(csp, "script-src") != 1 {
			t.Errorf("cspFor(%q) = %q, want it to end in %q", host, csp, want)
		}
	}
}

// TestSlowBodyTimesOut is issue 17 item 1: a login whose body trickles in
// (it costs no attempt until it is read) is cut off by the body deadline, so
// a slow client cannot hold a connection and its memory for ever.
func TestSlowBodyTimesOut(t *testing.T) {
	ss := startSecure(t, testPassword, func(c *Config) { c.BodyTimeout = 300 * time.Millisecond })
	conn, err := tls.Dial("tcp", ss.addr, ss.tls)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", ss.addr)
	// Send nothing more; the server must answer or hang up by itself.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server still waits for the body after 30 s")
		}
		return // hung up: also holds
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("trickled login = %d, want 408", resp.StatusCode)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection stayed open after the timed-out body")
	}
}

// TestSafeModeDamagedCert is issue 17 item 13 for the certificate: damaged
// generated certificate files do not stop intercomd. It serves HTTPS with a
// certificate made in memory, the door's routes stay up, and login is
// refused with the command that fixes it, in the answer and in the log.
func TestSafeModeDamagedCert(t *testing.T) {
	dir := t.TempDir()
	if err := auth.SetPassword(dir, testPassword); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certs.GeneratedCertFile, certs.GeneratedKeyFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("-----BEGIN damaged\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	s, err := New(Config{Listen: "192.0.2.1:8443", StateDir: dir}, log, startHub(t))
	if err != nil {
		t.Fatalf("New with a damaged certificate = %v, want safe mode", err)
	}
	if s.Fingerprint() == "" {
		t.Error("no certificate in safe mode")
	}
	mu.Lock()
	logged := logs.String()
	mu.Unlock()
	if !strings.Contains(logged, "SAFE MODE") || !strings.Contains(logged, "sudo rm "+filepath.Join(dir, certs.GeneratedCertFile)) {
		t.Errorf("log does not say safe mode and the fix:\n%s", logged)
	}
	r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"password":"`+testPassword+`"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), certs.GeneratedCertFile) {
		t.Errorf("login in safe mode = %d %s, want 503 naming the certificate file", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/auth", nil))
	var st auth.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Problem == nil || !strings.Contains(st.Problem.Fix, "systemctl restart intercomd") {
		t.Errorf("GET /api/auth in safe mode = %s, want the problem and its fix", w.Body)
	}
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("GET /healthz in safe mode = %d, want 200 (the door is up)", w.Code)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDeadlinesSpareLongAnswers: the body deadline must not end a request
// whose body is read (a login waiting for the hash) or that has none (the
// panel's event feed): net/http cancels a request's context when a read
// deadline passes.
func TestDeadlinesSpareLongAnswers(t *testing.T) {
	const body = 100 * time.Millisecond
	ended := make(chan string, 2)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			ended <- r.Method + " cancelled"
		case <-time.After(10 * body):
			ended <- r.Method + " lived"
		}
	})
	ss := startSecure(t, testPassword, func(c *Config) {
		c.BodyTimeout = body
		c.Handlers = map[string]http.Handler{"/api/long": handler}
	})
	cookie := ss.login(t, testPassword)
	for m, b := range map[string]string{"GET": "", "POST": "{}"} {
		resp, _ := ss.do(t, m, "/api/long", b, "Cookie", cookie, "Origin", ss.base)
		if got := <-ended; got != m+" lived" {
			t.Errorf("%s /api/long with a body deadline of %v: %s (status %d), want it to live", m, body, got, resp.StatusCode)
		}
	}
}

// TestPushOffAnswers: a door without push says so at /api/push (the client
// hides its notification settings) instead of a 404 in every console.
func TestPushOffAnswers(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", NoAuth: true}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/push?resident=ann", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8080"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"enabled":false}` {
		t.Errorf("GET /api/push without push = %d %s, want 200 {\"enabled\":false}", w.Code, w.Body)
	}
}

// TestPublicHandlers: a public route (the push decline, which carries its
// own capability) answers without a session; its neighbours still need
// one, and a public POST route does not open GET.
func TestPublicHandlers(t *testing.T) {
	dir := t.TempDir()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s, err := New(Config{Listen: "127.0.0.1:0", StateDir: dir,
		Handlers:       map[string]http.Handler{"/api/push/": ok},
		PublicHandlers: map[string]http.Handler{"POST /api/push/decline": ok}}, testLog(t), startHub(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/push/decline", http.StatusNoContent},
		{"GET", "/api/push/decline", http.StatusUnauthorized},
		{"POST", "/api/push/devices", http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
		r.RemoteAddr, r.Host = "192.0.2.1:1", "doorpi.local"
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s %s without a session = %d, want %d", tt.method, tt.path, w.Code, tt.want)
		}
	}
}
