// Package auth is the resident login: the password (an argon2id hash in the
// state directory), the sessions that remember a logged-in browser, the
// login and setup API, and the limits on guessing. Guard puts it in front of
// the server's routes; SetPassword is what `intercomd set-password` calls,
// and needs nothing of the HTTP server.
//
// One concern per file: guard.go (the HTTP side: Wrap, the login API),
// password.go (the hash file), session.go (sessions and their cookie),
// device.go (trusted-device cookies), limit.go (attempt budgets per address,
// /64 and device), queue.go (the one argon2 slot), loopback.go (requests from
// the Pi itself). A new kind of credential (API tokens, say) gets a store of
// its own in its own file, kept in the state directory with
// internal/statefile, and one case in Wrap.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
	"github.com/intercomd/intercomd/lograte"
)

// Paths a visitor without a session may fetch: the login page and its
// files. Everything else, every WebSocket upgrade on any path included,
// needs a session.
var publicPaths = map[string]bool{
	"/login":                true,
	"/login.html":           true,
	"/login.js":             true,
	"/login.css":            true,
	"/theme.css":            true,
	"/icon.svg":             true,
	"/favicon.ico":          true,
	"/manifest.webmanifest": true, // browsers fetch it without cookies
}

// sessionSweepEvery is how soon a logout elsewhere, an expiry or a new
// password closes the WebSockets of ended sessions.
const sessionSweepEvery = 5 * time.Second

// maxLoginBody bounds a login or setup request.
const maxLoginBody = 4 << 10

// Guard is the resident login: it answers the login API, admits requests
// with a valid session cookie and turns everyone else away. Create it with
// New, put it in front of the routes with Wrap, and run Run beside the
// server.
type Guard struct {
	log         *slog.Logger
	secure      bool          // served over HTTPS: Secure, __Host- cookie
	fingerprint func() string // of the TLS certificate; nil on plain HTTP
	pw          *passwords
	sess        *sessions
	devices     *devices
	hashes      hashQueue

	limMu     sync.Mutex // makes a look at every budget and the spending one step
	perAddr   *attemptLimiter
	perNet    *attemptLimiter // IPv6 /64s
	perDevice *attemptLimiter // trusted-device cookies

	refused   *Problem   // safe mode from the start (Config.Refuse)
	mu        sync.Mutex // guards setupCode
	setupCode string     // one-time code for the first password; "" when used up
}

// Config is what the login needs.
type Config struct {
	// StateDir keeps the password hash and the sessions. Required.
	StateDir string
	// Secure: the server speaks HTTPS, so cookies are Secure with the
	// __Host- prefix.
	Secure bool
	// Fingerprint, if set, is the TLS certificate's fingerprint, shown on
	// the login page so a resident can compare it.
	Fingerprint func() string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Refuse, if set, refuses every login and setup and shows the
	// problem on the login page (safe mode: for instance the certificate
	// could not be loaded, so the password must not be sent).
	Refuse *Problem
}

// Problem is why nobody may log in, in the words a resident needs: what is
// wrong and the command that fixes it.
type Problem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
}

// New loads the password and sessions from the state directory. With no
// password yet, it makes a one-time setup code and logs it, once: a
// resident who reads the log can set the password from any device.
func New(cfg Config, log *slog.Logger) (*Guard, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("auth: no state directory for the password")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := statefile.EnsureDir(cfg.StateDir); err != nil {
		return nil, err
	}
	pw := loadPasswords(cfg.StateDir, log)
	pw.now = cfg.Now
	sess, err := loadSessions(cfg.StateDir, log, cfg.Now)
	if err != nil {
		return nil, err
	}
	dev, err := loadDevices(cfg.StateDir, log)
	if err != nil {
		return nil, err
	}
	g := &Guard{
		log:         log,
		secure:      cfg.Secure,
		fingerprint: cfg.Fingerprint,
		pw:          pw,
		sess:        sess,
		devices:     dev,
		perAddr:     newAttemptLimiter(loginPerAddr, loginWindow, cfg.Now),
		perNet:      newAttemptLimiter(loginPerNet, loginWindow, cfg.Now),
		perDevice:   newAttemptLimiter(loginPerDevice, loginWindow, cfg.Now),
	}
	g.refused = cfg.Refuse
	if p := g.problem(); p != nil {
		log.Error("SAFE MODE: the door works, but login is refused: "+p.What, "fix", p.Fix)
	} else if pw.current() == "" {
		if g.setupCode, err = newSetupCode(); err != nil {
			return nil, err
		}
		log.Warn("no resident password yet: set one on the page opened on this machine (localhost), "+
			"or on any device with this one-time setup code, or with `intercomd set-password`",
			"setup_code", g.setupCode)
	}
	return g, nil
}

// Run ends expired sessions (closing their sockets) until ctx ends.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(sessionSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if g.problem() != nil {
				continue // keep the sessions for when the file is repaired
			}
			g.sess.expire(g.pw.current())
			g.liveSetupCode() // withdraws it once a password exists
		}
	}
}

// problem is why login is refused now (safe mode), or nil.
func (g *Guard) problem() *Problem {
	if g.refused != nil {
		return g.refused
	}
	if err := g.pw.problem(); err != nil {
		return &Problem{
			What: "The password file is damaged (" + err.Error() + ").",
			Fix:  "sudo intercomd set-password",
		}
	}
	return nil
}

// refuseLogin answers a login or setup in safe mode and returns true.
func (g *Guard) refuseLogin(w http.ResponseWriter) bool {
	p := g.problem()
	if p == nil {
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{
		"error": p.What + " Login is off until it is fixed: on the intercom, run " + p.Fix,
	})
	return true
}

// liveSetupCode is the setup code while it is valid, else "". The code has
// one life: the first password, however it is set (the page here, the page
// on the Pi, `intercomd set-password`), ends it for good, even if the
// password file is deleted later; only a restart prints a new one.
func (g *Guard) liveSetupCode() string {
	set := g.pw.wasSet()
	g.mu.Lock()
	defer g.mu.Unlock()
	if set && g.setupCode != "" {
		g.setupCode = ""
		g.log.Info("setup code withdrawn: a resident password is set")
	}
	return g.setupCode
}

// takeSetupCode spends the setup code if code matches it: one use, so two
// requests racing with the right code cannot both set a password.
func (g *Guard) takeSetupCode(code string) bool {
	if g.liveSetupCode() == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.setupCode == "" || subtle.ConstantTimeCompare([]byte(normalizeSetupCode(code)), []byte(normalizeSetupCode(g.setupCode))) != 1 {
		return false
	}
	g.setupCode = ""
	return true
}

// Wrap puts the login in front of next: the login API and the login
// page's files are served without a session, everything else needs one.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrade := r.Header.Get("Upgrade") != ""
		switch p := r.URL.Path; {
		case upgrade:
		case p == "/api/auth":
			g.serveStatus(w, r)
			return
		case p == "/api/login":
			g.serveLogin(w, r)
			return
		case p == "/api/setup":
			g.serveSetup(w, r)
			return
		case p == "/api/logout":
			g.serveLogout(w, r)
			return
		case publicPaths[p] && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			next.ServeHTTP(w, r)
			return
		}
		t, ok := g.session(r)
		switch {
		case ok && upgrade:
			// The socket lives as long as its session: logging out, a
			// new password or expiry ends it.
			ctx, cancel := context.WithCancel(withResident(r.Context()))
			release := g.sess.hold(t, cancel)
			defer release()
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		case ok:
			// A browser logged in before trusted-device cookies existed
			// gets one with its next page.
			if _, known := g.devices.fromRequest(r, g.secure); !known {
				g.setDeviceCookie(w)
			}
			next.ServeHTTP(w, r.WithContext(withResident(r.Context())))
		case r.URL.Path == "/healthz" && r.Method == http.MethodGet:
			g.servePublicHealth(w, r, next)
		default:
			g.refuse(w, r, upgrade)
		}
	})
}

// session returns the valid session token r carries.
func (g *Guard) session(r *http.Request) (token, bool) {
	v := g.pw.current()
	for _, t := range requestTokens(r, g.secure) {
		if g.sess.valid(t, v) {
			return t, true
		}
	}
	return token{}, false
}

// refuse answers a request without a valid session: pages go to the login,
// everything else gets 401.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, upgrade bool) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case upgrade:
		http.Error(w, "login required: open the page and log in first", http.StatusUnauthorized)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "login required"})
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && wantsPage(r):
		// After logging in, the login page returns to the page asked for
		// (a bookmarked /panel, /?name=...).
		to := "/login"
		if u := r.URL.RequestURI(); u != "/" {
			to += "?next=" + url.QueryEscape(u)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	default:
		http.Error(w, "login required", http.StatusUnauthorized)
	}
}

// wantsPage tells a page load (which should land on the login) from a fetch
// of a script or an image.
func wantsPage(r *http.Request) bool {
	p := r.URL.Path
	if p == "/" || strings.HasSuffix(p, ".html") || !strings.Contains(p[strings.LastIndexByte(p, '/')+1:], ".") {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// servePublicHealth: /healthz stays open so monitors and the VM test can see
// that intercomd is up, but without a session it says only that. Who is
// online, the door's state and the version are for residents (and for
// processes on the Pi itself).
func (g *Guard) servePublicHealth(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if loopbackRequest(r) {
		next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// Status is what GET /api/auth answers: what the login page needs to know.
type Status struct {
	Authenticated bool `json:"authenticated"`
	PasswordSet   bool `json:"passwordSet"`
	// Setup says how this visitor may set the first password: "loopback"
	// (on the machine itself, no code), "code" (with the setup code from
	// the log) or "" (neither: use intercomd set-password).
	Setup       string `json:"setup,omitempty"`
	HTTPS       bool   `json:"https"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Problem is set in safe mode: login is refused until it is fixed.
	Problem *Problem `json:"problem,omitempty"`
}

func (g *Guard) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	_, authed := g.session(r)
	st := Status{Authenticated: authed, PasswordSet: g.pw.current() != "", HTTPS: g.secure}
	if g.fingerprint != nil {
		st.Fingerprint = g.fingerprint()
	}
	if st.Problem = g.problem(); st.Problem == nil && !st.PasswordSet {
		st.Setup = g.setupMode(r)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
}

func (g *Guard) setupMode(r *http.Request) string {
	if loopbackRequest(r) {
		return "loopback"
	}
	if g.liveSetupCode() != "" {
		return "code"
	}
	return ""
}

// loginForm is a login or setup request, as JSON or as a form.
type loginForm struct {
	Password string `json:"password"`
	// Code is the one-time setup code (setup only, off loopback).
	Code string `json:"code"`
}

var errLoginBody = errors.New("send the password as JSON {\"password\": ...} or as a form")

// parseLogin decodes a login or setup request body of the given Content-Type.
func parseLogin(contentType string, body []byte) (loginForm, error) {
	var f loginForm
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return f, errLoginBody
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return loginForm{}, fmt.Errorf("login request: %w", err)
		}
		if dec.More() {
			return loginForm{}, errors.New("login request: more than one JSON value")
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return loginForm{}, fmt.Errorf("login request: %w", err)
		}
		f.Password, f.Code = q.Get("password"), q.Get("code")
	default:
		return f, errLoginBody
	}
	switch {
	case f.Password == "":
		return loginForm{}, errors.New("enter the password")
	case len(f.Password) > maxPasswordBytes:
		return loginForm{}, fmt.Errorf("the password is longer than %d bytes", maxPasswordBytes)
	case len(f.Code) > 64:
		return loginForm{}, errors.New("the setup code is too long")
	}
	return f, nil
}

// login is one login or setup attempt on its way to the hash.
type login struct {
	form   loginForm
	client Client
	device string // trusted-device id; "" for a stranger
}

// readLogin enforces POST, the attempt budgets and the body format; it
// answers the request itself and returns false when any of them fails.
func (g *Guard) readLogin(w http.ResponseWriter, r *http.Request) (login, bool) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return login{}, false
	}
	l := login{client: ClientOf(r.RemoteAddr)}
	l.device, _ = g.devices.fromRequest(r, g.secure)
	if wait, who := g.spendAttempt(l); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		g.log.Debug("login attempt refused: too many", "client", l.client.Addr, "from", who)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"error": fmt.Sprintf("Too many attempts from your %s: wait %d seconds and try again.", who, secs),
		})
		return login{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "request too large"})
		return login{}, false
	case err != nil: // a body that stopped coming (the server's deadline)
		writeJSON(w, http.StatusRequestTimeout, map[string]any{"error": "the request did not arrive in time"})
		return login{}, false
	}
	l.form, err = parseLogin(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return login{}, false
	}
	return l, true
}

// spendAttempt spends one attempt of l's budgets, or refuses it and says
// how long to wait and whose budget ran out. A trusted device has only its
// own budget; a stranger spends its address's and, on IPv6, its /64's.
func (g *Guard) spendAttempt(l login) (wait time.Duration, who string) {
	g.limMu.Lock()
	defer g.limMu.Unlock()
	if l.device != "" {
		if wait := g.perDevice.wait(l.device); wait > 0 {
			return wait, "device"
		}
		g.perDevice.add(l.device)
		return 0, ""
	}
	addr, network := l.client.Addr.String(), l.client.Net.String()
	if wait := g.perAddr.wait(addr); wait > 0 {
		return wait, "address"
	}
	if l.client.IsIPv6Net() {
		if wait := g.perNet.wait(network); wait > 0 {
			return wait, "network (IPv6 /64)"
		}
		g.perNet.add(network)
	}
	g.perAddr.add(addr)
	return 0, ""
}

// hashSlot waits for the one argon2id slot: trusted devices (and the Pi
// itself) first, strangers in a short line. When the line is full it
// answers 503 at once and returns false.
func (g *Guard) hashSlot(w http.ResponseWriter, r *http.Request, l login) (release func(), ok bool) {
	release, ok = g.hashes.acquire(r.Context(), l.device != "" || l.client.Loopback)
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"error": "Busy checking other logins: try again in a moment.",
		})
	}
	return release, ok
}

func (g *Guard) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && g.refuseLogin(w) {
		return
	}
	l, ok := g.readLogin(w, r)
	if !ok {
		return
	}
	if g.pw.current() == "" {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "No password is set yet: set one first.", "setup": true})
		return
	}
	release, ok := g.hashSlot(w, r, l)
	if !ok {
		return
	}
	ok, version := g.pw.check(l.form.Password)
	release()
	if !ok {
		g.log.Info("login failed: wrong password", "client", l.client.Addr, "trusted_device", l.device != "")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Wrong password."})
		return
	}
	g.startSession(w, r, version, l.client)
}

func (g *Guard) serveSetup(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && g.refuseLogin(w) {
		return
	}
	l, ok := g.readLogin(w, r)
	if !ok {
		return
	}
	f := l.form
	if g.pw.current() != "" {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "A password is already set: log in with it."})
		return
	}
	if !loopbackRequest(r) {
		// A password that breaks the rules does not spend the code.
		if err := checkNewPassword(f.Password); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "The " + err.Error() + "."})
			return
		}
		switch {
		case g.liveSetupCode() == "":
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "Setting the password from another device needs a setup code: restart intercomd to print a new one, or run intercomd set-password on it."})
			return
		case !g.takeSetupCode(f.Code):
			g.log.Info("password setup refused: wrong setup code", "client", l.client.Addr)
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "Wrong setup code: it is in intercomd's log (journalctl -u intercomd)."})
			return
		}
	}
	release, ok := g.hashSlot(w, r, l)
	if !ok {
		return
	}
	version, err := g.pw.setFirst(f.Password)
	release()
	switch {
	case errors.Is(err, ErrBadPassword):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "The " + err.Error() + "."})
		return
	case errors.Is(err, errPasswordSet):
		writeJSON(w, http.StatusConflict, map[string]any{"error": "A password is already set: log in with it."})
		return
	case err != nil:
		g.log.Error("set password", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Could not save the password: see intercomd's log."})
		return
	}
	g.liveSetupCode() // a password from the Pi's own page ends the code too
	g.log.Info("resident password set from the page", "client", l.client.Addr, lograte.Security())
	g.startSession(w, r, version, l.client)
}

// startSession logs the browser in and marks it a trusted device.
func (g *Guard) startSession(w http.ResponseWriter, r *http.Request, version string, client Client) {
	t, _, err := g.sess.create(version)
	if err != nil {
		g.log.Error("start session", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Could not start a session: see intercomd's log."})
		return
	}
	http.SetCookie(w, sessionCookie(t, sessionTTL, g.secure))
	if _, known := g.devices.fromRequest(r, g.secure); !known {
		g.setDeviceCookie(w)
	}
	g.log.Info("login", "client", client.Addr, lograte.Security())
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (g *Guard) serveLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	for _, t := range requestTokens(r, g.secure) {
		if err := g.sess.remove(t); err != nil {
			g.log.Error("logout", "err", err)
		}
	}
	http.SetCookie(w, sessionCookie(token{}, 0, g.secure))
	// Logging out forgets the device too (it may be someone else's).
	http.SetCookie(w, deviceCookie("", g.secure))
	w.WriteHeader(http.StatusNoContent)
}

// setDeviceCookie marks the browser as a trusted device.
func (g *Guard) setDeviceCookie(w http.ResponseWriter) {
	v, err := g.devices.issue()
	if err != nil {
		g.log.Error("trusted-device cookie", "err", err)
		return
	}
	http.SetCookie(w, deviceCookie(v, g.secure))
}

// residentKey marks a request context as carrying a valid session.
type residentKey struct{}

func withResident(ctx context.Context) context.Context {
	return context.WithValue(ctx, residentKey{}, true)
}

// Resident reports whether the request with this context passed the Guard
// with a valid session: the server keeps such a resident's connection
// whatever strangers do.
func Resident(ctx context.Context) bool {
	v, _ := ctx.Value(residentKey{}).(bool)
	return v
}

// setupAlphabet is Crockford's base32: no I, L, O or U to misread.
const setupAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newSetupCode makes a 60-bit code shown as XXXX-XXXX-XXXX.
func newSetupCode() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("setup code: %w", err)
	}
	var s strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(setupAlphabet[x&31])
	}
	return s.String(), nil
}

// normalizeSetupCode forgives case, spaces, dashes and the letters people
// type for look-alike digits.
func normalizeSetupCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		switch c {
		case ' ', '-', '\t':
		case 'O':
			b.WriteByte('0')
		case 'I', 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed"})
}
