package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// guardEnv is a guard over a stub handler that records what got through.
type guardEnv struct {
	g     *Guard
	h     http.Handler
	clock *time.Time
	logs  *bytes.Buffer
	dir   string
}

func newGuardEnv(t *testing.T, secure bool, password string) *guardEnv {
	t.Helper()
	dir := t.TempDir()
	if password != "" {
		if err := SetPassword(dir, password); err != nil {
			t.Fatal(err)
		}
	}
	return newGuardEnvIn(t, dir, secure)
}

// newGuardEnvIn is a guardEnv on a state directory the test prepared.
func newGuardEnvIn(t *testing.T, dir string, secure bool) *guardEnv {
	t.Helper()
	clock := time.Now()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(Config{
		StateDir:    dir,
		Secure:      secure,
		Fingerprint: func() string { return "AA:BB" },
		Now:         func() time.Time { return clock },
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Next", "1")
		io.WriteString(w, "next")
	})
	return &guardEnv{g: g, h: g.Wrap(next), clock: &clock, logs: logs, dir: dir}
}

// do sends a request from remote (host:port) with the given headers.
func (e *guardEnv) do(method, target, remote string, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = remote
	r.Host = "doorpi.local"
	if strings.HasPrefix(remote, "127.") || strings.HasPrefix(remote, "[::1]") {
		r.Host = "localhost:8080"
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

const lan = "192.0.2.10:40000"

// other is a second device on the LAN.
const other = "192.0.2.66:40000"

func TestGuardRefusesWithoutSession(t *testing.T) {
	e := newGuardEnv(t, true, "resident secret")
	upgrade := []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}
	for _, tt := range []struct {
		method, path, remote string
		hdr                  []string
		status               int
		location             string
		passed               bool // reached the wrapped handler
	}{
		{"GET", "/", lan, nil, 303, "/login", false},
		{"GET", "/index.html", lan, nil, 303, "/login?next=%2Findex.html", false},
		{"GET", "/panel", lan, nil, 303, "/login?next=%2Fpanel", false},
		{"GET", "/?name=anna", lan, nil, 303, "/login?next=%2F%3Fname%3Danna", false},
		{"GET", "/app.js", lan, nil, 401, "", false},
		{"GET", "/api/panel", lan, nil, 401, "", false},
		{"POST", "/api/panel/press", lan, nil, 401, "", false},
		{"GET", "/", lan, upgrade, 401, "", false},
		{"GET", "/ws", lan, upgrade, 401, "", false},
		{"GET", "/login", lan, upgrade, 401, "", false}, // an upgrade is never public
		{"GET", "/", "127.0.0.1:5000", upgrade, 401, "", false},
		{"GET", "/login", lan, nil, 200, "", true},
		{"GET", "/login.js", lan, nil, 200, "", true},
		{"HEAD", "/login.css", lan, nil, 200, "", true},
		{"POST", "/login", lan, nil, 401, "", false},
		{"GET", "/healthz", lan, nil, 200, "", false},
		{"GET", "/healthz", "127.0.0.1:5000", nil, 200, "", true},
		{"GET", "/healthz", "127.0.0.1:5000", []string{"Host", "rebound.example"}, 200, "", false},
	} {
		w := e.do(tt.method, tt.path, tt.remote, "", tt.hdr...)
		passed := w.Header().Get("X-Next") == "1"
		if w.Code != tt.status || w.Header().Get("Location") != tt.location || passed != tt.passed {
			t.Errorf("%s %s from %s %v = %d (Location %q, passed %v), want %d (%q, %v)",
				tt.method, tt.path, tt.remote, tt.hdr, w.Code, w.Header().Get("Location"), passed, tt.status, tt.location, tt.passed)
		}
		if tt.path == "/healthz" && !passed && strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
			t.Errorf("public /healthz = %s, want only {\"status\":\"ok\"}", w.Body)
		}
	}
}

func cookieOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieSecure || c.Name == cookiePlain {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", w.Header())
	return nil
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestFirstPasswordSetup(t *testing.T) {
	for _, tt := range []struct {
		name, remote string
		hdr          []string
		code         string // "right" for the logged code
		password     string
		status       int
	}{
		{"lan without code", lan, nil, "", "resident secret", 403},
		{"lan wrong code", lan, nil, "0000-0000-0000", "resident secret", 403},
		{"lan right code", lan, nil, "right", "resident secret", 200},
		{"lan code typed loosely", lan, nil, "loose", "resident secret", 200},
		{"loopback", "127.0.0.1:5000", nil, "", "resident secret", 200},
		{"loopback v6", "[::1]:5000", nil, "", "resident secret", 200},
		{"rebound domain on loopback", "127.0.0.1:5000", []string{"Host", "evil.example:8080"}, "", "resident secret", 403},
		{"short password", "127.0.0.1:5000", nil, "", "short", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newGuardEnv(t, false, "")
			code := e.g.setupCode
			if len(code) != 14 {
				t.Fatalf("setup code %q, want XXXX-XXXX-XXXX", code)
			}
			switch tt.code {
			case "right":
				tt.code = code
			case "loose":
				tt.code = strings.ToLower(strings.ReplaceAll(code, "-", " "))
			}
			w := e.do("POST", "/api/setup", tt.remote, jsonBody(loginForm{Password: tt.password, Code: tt.code}), tt.hdr...)
			if w.Code != tt.status {
				t.Fatalf("setup = %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.status != 200 {
				if st := e.status(t, lan, nil); st.PasswordSet {
					t.Error("a refused setup set the password")
				}
				return
			}
			c := cookieOf(t, w)
			if w := e.do("GET", "/", lan, "", "Cookie", c.Name+"="+c.Value); w.Code != 200 {
				t.Errorf("after setup, GET / = %d, want 200 (logged in)", w.Code)
			}
			// Set once: neither setup path works again.
			if w := e.do("POST", "/api/setup", "127.0.0.1:1", jsonBody(loginForm{Password: "another secret"})); w.Code != 409 {
				t.Errorf("second setup from loopback = %d, want 409", w.Code)
			}
			if w := e.do("POST", "/api/setup", lan, jsonBody(loginForm{Password: "another secret", Code: code})); w.Code != 409 {
				t.Errorf("second setup with the code = %d, want 409", w.Code)
			}
			if w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: tt.password})); w.Code != 200 {
				t.Errorf("login with the new password = %d %s", w.Code, w.Body)
			}
		})
	}
}

func (e *guardEnv) status(t *testing.T, remote string, hdr []string) Status {
	t.Helper()
	w := e.do("GET", "/api/auth", remote, "", hdr...)
	var st Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != 200 {
		t.Fatalf("GET /api/auth = %d %s", w.Code, w.Body)
	}
	return st
}

func TestAuthStatus(t *testing.T) {
	e := newGuardEnv(t, true, "")
	for _, tt := range []struct {
		remote string
		hdr    []string
		want   Status
	}{
		{lan, nil, Status{Setup: "code", HTTPS: true, Fingerprint: "AA:BB"}},
		{"127.0.0.1:1", nil, Status{Setup: "loopback", HTTPS: true, Fingerprint: "AA:BB"}},
		{"127.0.0.1:1", []string{"Host", "evil.example"}, Status{Setup: "code", HTTPS: true, Fingerprint: "AA:BB"}},
	} {
		if got := e.status(t, tt.remote, tt.hdr); got != tt.want {
			t.Errorf("status from %s %v = %+v, want %+v", tt.remote, tt.hdr, got, tt.want)
		}
	}
	w := e.do("POST", "/api/setup", "127.0.0.1:1", jsonBody(loginForm{Password: "resident secret"}))
	c := cookieOf(t, w)
	want := Status{Authenticated: true, PasswordSet: true, HTTPS: true, Fingerprint: "AA:BB"}
	if got := e.status(t, lan, []string{"Cookie", c.Name + "=" + c.Value}); got != want {
		t.Errorf("status with a session = %+v, want %+v", got, want)
	}
	if got := e.status(t, lan, nil); got.Setup != "" || !got.PasswordSet || got.Authenticated {
		t.Errorf("status without a session after setup = %+v", got)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newGuardEnv(t, true, "resident secret")
	for i := range loginPerAddr {
		w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "guess " + string(rune('a'+i))}))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d %s, want 401", i+1, w.Code, w.Body)
		}
		*e.clock = e.clock.Add(5 * time.Second)
	}
	// The sixth within a minute is refused, even with the right password.
	w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "resident secret"}))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "35" || !strings.Contains(w.Body.String(), "wait 35 seconds") {
		t.Errorf("6th attempt = %d, Retry-After %q, %s; want 429, 35 and a message saying to wait", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Error("a refused attempt got a cookie")
	}
	// Setup shares the budget (it guesses setup codes).
	if w := e.do("POST", "/api/setup", lan, jsonBody(loginForm{Password: "x", Code: "y"})); w.Code != http.StatusTooManyRequests {
		t.Errorf("setup after 5 attempts = %d, want 429", w.Code)
	}
	if w := e.do("POST", "/api/login", "192.0.2.11:1", jsonBody(loginForm{Password: "resident secret"})); w.Code != 200 {
		t.Errorf("login from another address = %d, want 200", w.Code)
	}
	*e.clock = e.clock.Add(35 * time.Second)
	if w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "resident secret"})); w.Code != 200 {
		t.Errorf("login a minute after the first attempt = %d %s, want 200", w.Code, w.Body)
	}
}

func TestLoginRequests(t *testing.T) {
	e := newGuardEnv(t, true, "resident secret")
	for _, tt := range []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"json", "POST", "application/json", `{"password":"resident secret"}`, 200},
		{"json with charset", "POST", "application/json; charset=utf-8", `{"password":"resident secret"}`, 200},
		{"form", "POST", "application/x-www-form-urlencoded", "password=resident+secret", 200},
		{"wrong", "POST", "application/json", `{"password":"resident secreT"}`, 401},
		{"GET", "GET", "", "", 405},
		{"text", "POST", "text/plain", "resident secret", 400},
		{"empty", "POST", "application/json", `{"password":""}`, 400},
		{"unknown field", "POST", "application/json", `{"password":"x","admin":true}`, 400},
		{"two values", "POST", "application/json", `{"password":"x"}{}`, 400},
		{"huge", "POST", "application/json", `{"password":"` + strings.Repeat("x", maxLoginBody) + `"}`, 413},
	} {
		e.g.perAddr = newAttemptLimiter(100, time.Minute, time.Now)
		r := httptest.NewRequest(tt.method, "/api/login", strings.NewReader(tt.body))
		r.RemoteAddr = lan
		if tt.ctype != "" {
			r.Header.Set("Content-Type", tt.ctype)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: login = %d %s, want %d", tt.name, w.Code, w.Body, tt.status)
		}
		if w.Code == 200 {
			c := cookieOf(t, w)
			if c.Name != cookieSecure || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
				t.Errorf("%s: cookie %+v, want __Host-, Secure, HttpOnly, SameSite=Strict, Path=/, Max-Age", tt.name, c)
			}
			if len(c.Value) != tokenLen {
				t.Errorf("%s: token %d characters, want %d (256 bits)", tt.name, len(c.Value), tokenLen)
			}
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tt.name, cc)
		}
	}
	e2 := newGuardEnv(t, false, "")
	if w := e2.do("POST", "/api/login", lan, `{"password":"anything"}`); w.Code != http.StatusConflict {
		t.Errorf("login with no password set = %d, want 409", w.Code)
	}
}

// TestLoginThenWebSocket goes over real HTTP: the socket is refused without
// a session, works with one, and is closed by logging out.
func TestLoginThenWebSocket(t *testing.T) {
	dir := t.TempDir()
	if err := SetPassword(dir, "resident secret"); err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{StateDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.WriteMessage(websocket.TextMessage, []byte("hello"))
		<-r.Context().Done() // the hub serves until ctx ends
		ended <- r.Context().Err()
	})))
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("upgrade without a session: %v, %v; want 401", err, resp)
	}
	resp, err = http.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"password":"resident secret"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == CookieName(false) {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("login set no session cookie: %v", resp.Cookies())
	}
	hdr := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	c, _, err := websocket.DefaultDialer.Dial(wsURL, hdr)
	if err != nil {
		t.Fatalf("upgrade after login: %v", err)
	}
	defer c.Close()
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hello" {
		t.Fatalf("read = %q, %v", msg, err)
	}

	req, _ := http.NewRequest("POST", srv.URL+"/api/logout", nil)
	req.Header = hdr.Clone()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("logout = %d, want 204", resp.StatusCode)
	}
	if err := <-ended; err != context.Canceled {
		t.Errorf("socket context after logout: %v, want canceled", err)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, hdr); err == nil || resp.StatusCode != 401 {
		t.Errorf("upgrade with the logged-out cookie: %v; want 401", err)
	}
}

func TestNewPasswordEndsSessions(t *testing.T) {
	e := newGuardEnv(t, false, "first secret")
	w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "first secret"}))
	c := cookieOf(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	tok, _ := parseToken(c.Value)
	defer e.g.sess.hold(tok, cancel)()

	if err := SetPassword(e.dir, "second secret"); err != nil {
		t.Fatal(err)
	}
	*e.clock = e.clock.Add(2 * time.Second)
	if w := e.do("GET", "/api/panel", lan, "", "Cookie", c.Name+"="+c.Value); w.Code != 401 {
		t.Errorf("old session after set-password = %d, want 401", w.Code)
	}
	e.g.sess.expire(e.g.pw.current()) // what guard.run does every few seconds
	if ctx.Err() == nil {
		t.Error("old session's WebSocket still open after set-password")
	}
}

func TestSecretsNotLogged(t *testing.T) {
	e := newGuardEnv(t, true, "")
	code := e.g.setupCode
	if n := strings.Count(e.logs.String(), code); n != 1 {
		t.Fatalf("setup code logged %d times at start, want once", n)
	}
	e.do("POST", "/api/setup", lan, jsonBody(loginForm{Password: "resident secret", Code: "WRONG"}))
	w := e.do("POST", "/api/setup", lan, jsonBody(loginForm{Password: "resident secret", Code: code}))
	c := cookieOf(t, w)
	e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "bad guess"}))
	w = e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "resident secret"}))
	c2 := cookieOf(t, w)
	e.do("GET", "/", lan, "", "Cookie", c.Name+"="+c.Value)
	e.do("POST", "/api/logout", lan, "", "Cookie", c.Name+"="+c.Value)
	logs := e.logs.String()
	if strings.Count(logs, code) != 1 {
		t.Errorf("setup code logged again: %s", logs)
	}
	for _, secret := range []string{"resident secret", "bad guess", c.Value, c2.Value, url.QueryEscape(c.Value)} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds a secret %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "login failed") || !strings.Contains(logs, `"client":"192.0.2.10"`) {
		t.Errorf("a failed login is not logged with its client:\n%s", logs)
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"localhost:8080", true},
		{"LOCALHOST.:8080", true},
		{"door.localhost:8080", true},
		{"127.0.0.1:8080", true},
		{"127.0.1.1", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{"evil.example:8080", false},
		{"localhost.evil.example", false},
		{"192.0.2.1:8080", false},
		{"", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if (w.Code == 200) != tt.ok {
			t.Errorf("no-auth request with Host %q = %d, want allowed=%v", tt.host, w.Code, tt.ok)
		}
	}
}

func TestSetupCode(t *testing.T) {
	a, _ := newSetupCode()
	b, _ := newSetupCode()
	if a == b {
		t.Error("two setup codes are equal")
	}
	for _, c := range strings.ReplaceAll(a, "-", "") {
		if !strings.ContainsRune(setupAlphabet, c) {
			t.Errorf("setup code %q has %q outside its alphabet", a, c)
		}
	}
	for in, want := range map[string]string{
		"abcd-efgh-jkmn": "ABCDEFGHJKMN",
		" o1l-I0 ":       "01110",
	} {
		if got := normalizeSetupCode(in); got != want {
			t.Errorf("normalizeSetupCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newGuardEnv(t, true, "resident secret")
	c := cookieOf(t, e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "resident secret"})))
	w := e.do("POST", "/api/logout", lan, "", "Cookie", c.Name+"="+c.Value)
	if w.Code != http.StatusNoContent {
		t.Errorf("logout = %d, want 204", w.Code)
	}
	if got := cookieOf(t, w); got.MaxAge >= 0 || got.Value != "" {
		t.Errorf("logout cookie %+v, want it deleted", got)
	}
	if w := e.do("GET", "/", lan, "", "Cookie", c.Name+"="+c.Value); w.Code != http.StatusSeeOther {
		t.Errorf("GET / after logout = %d, want 303 to the login", w.Code)
	}
	if w := e.do("GET", "/api/logout", lan, ""); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/logout = %d, want 405", w.Code)
	}
}

// TestSetupCodeOneLife is issue 17 item 9: a password set with `intercomd
// set-password` while intercomd runs ends the setup code; deleting the
// password file later does not bring the old code (it was in the log) back.
// The code is also spent by one use, and a password that breaks the rules
// does not spend it.
func TestSetupCodeOneLife(t *testing.T) {
	t.Run("set-password while running", func(t *testing.T) {
		e := newGuardEnv(t, true, "")
		code := e.g.setupCode
		if st := e.status(t, lan, nil); st.Setup != "code" {
			t.Fatalf("before any password: setup %q, want code", st.Setup)
		}
		if err := SetPassword(e.dir, "set on the pi"); err != nil {
			t.Fatal(err)
		}
		*e.clock = e.clock.Add(2 * time.Second) // the file is looked at once a second
		if st := e.status(t, lan, nil); !st.PasswordSet || st.Setup != "" {
			t.Fatalf("after set-password: %+v, want a password and no setup", st)
		}
		if err := os.Remove(filepath.Join(e.dir, passwordFileName)); err != nil {
			t.Fatal(err)
		}
		*e.clock = e.clock.Add(2 * time.Second)
		if st := e.status(t, lan, nil); st.PasswordSet || st.Setup != "" {
			t.Fatalf("password file deleted: %+v, want no password and no setup offered", st)
		}
		w := e.do("POST", "/api/setup", other, jsonBody(loginForm{Password: "attacker secret", Code: code}))
		if w.Code != http.StatusForbidden {
			t.Fatalf("setup with the old code after the password file went = %d %s, want 403", w.Code, w.Body)
		}
		if st := e.status(t, lan, nil); st.PasswordSet {
			t.Error("the old setup code set a password")
		}
	})
	t.Run("one use", func(t *testing.T) {
		e := newGuardEnv(t, true, "")
		code := e.g.setupCode
		if w := e.do("POST", "/api/setup", lan, jsonBody(loginForm{Password: "short", Code: code})); w.Code != http.StatusBadRequest {
			t.Fatalf("setup with a too short password = %d, want 400", w.Code)
		}
		if !e.g.takeSetupCode(code) {
			t.Fatal("a refused password spent the setup code")
		}
		if e.g.takeSetupCode(code) {
			t.Error("the setup code worked twice")
		}
		if w := e.do("POST", "/api/setup", other, jsonBody(loginForm{Password: "resident secret", Code: code})); w.Code != http.StatusForbidden {
			t.Errorf("setup with a spent code = %d, want 403", w.Code)
		}
	})
}

// TestSafeModeDamagedPassword is issue 17 item 13 for the password file: a
// damaged file does not stop intercomd; login and setup are refused with
// the command that fixes it (the log says the same), nothing offers to set
// a new password from a browser, and once set-password wrote a good file,
// login works without a restart.
func TestSafeModeDamagedPassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, passwordFileName), []byte("$argon2id$v=19$garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newGuardEnvIn(t, dir, true)
	if !strings.Contains(e.logs.String(), "SAFE MODE") || !strings.Contains(e.logs.String(), "intercomd set-password") {
		t.Errorf("log at start does not say safe mode and the fix:\n%s", e.logs)
	}
	st := e.status(t, lan, nil)
	if st.Problem == nil || st.Problem.Fix != "sudo intercomd set-password" || st.Setup != "" {
		t.Errorf("status = %+v, want the problem with its fix and no setup", st)
	}
	for _, tt := range []struct{ path, remote string }{
		{"/api/login", lan},
		{"/api/setup", lan},
		{"/api/setup", "127.0.0.1:1"},
	} {
		w := e.do("POST", tt.path, tt.remote, jsonBody(loginForm{Password: "any password", Code: "x"}))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "intercomd set-password") {
			t.Errorf("POST %s from %s in safe mode = %d %s, want 503 naming the fix", tt.path, tt.remote, w.Code, w.Body)
		}
	}
	if err := SetPassword(dir, "repaired password"); err != nil {
		t.Fatal(err)
	}
	*e.clock = e.clock.Add(2 * time.Second)
	if w := e.do("POST", "/api/login", lan, jsonBody(loginForm{Password: "repaired password"})); w.Code != http.StatusOK {
		t.Errorf("login after set-password = %d %s, want 200", w.Code, w.Body)
	}
}
