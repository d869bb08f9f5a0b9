// Package auth is the resident login: the password (an argon2id hash in the
// state directory), the sessions that remember a logged-in browser, the
// login and setup API, and the limits on guessing. Guard puts it in front of
// the server's routes; SetPassword is what `intercomd set-password` calls,
// and needs nothing of the HTTP server.
//
// One concern per file: guard.go (Guard, Wrap, who needs a session),
// login.go (the login, setup and logout API), apitoken.go (API tokens for
// other software: the store, the residents' /api/tokens, the check), setup.go (the one-time setup
// code), password.go (the hash file), session.go (sessions and their cookie),
// device.go (trusted-device cookies), limit.go (attempt budgets per address,
// /64 and device), queue.go (the one argon2 slot), loopback.go (requests from
// the Pi itself). A new kind of credential (API tokens, say) gets a store of
// its own in its own file, kept in the state directory with
// internal/statefile, and one case in Wrap.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// Paths a visitor without a session may fetch: the login page and its
// files. Everything else, every WebSocket upgrade on any path included,
// needs a session.
var publicPaths = map[string]bool{
	"/login":      true,
	"/login.html": true,
	"/login.js":   true,
	"/login.css":  true,
	"/theme.css":  true,
	// The page's words (web/static/i18n.js): nothing secret in them.
	"/i18n.js":              true,
	"/lang/en.json":         true,
	"/lang/de.json":         true,
	"/lang/fr.json":         true,
	"/lang/es.json":         true,
	"/lang/it.json":         true,
	"/lang/nl.json":         true,
	"/icon.svg":             true,
	"/favicon.ico":          true,
	"/manifest.webmanifest": true, // browsers fetch it without cookies
	// intercomd's certificate authority, for phones to trust (web serves
	// them when it has one).
	"/ca.crt":                 true,
	"/ca.pem":                 true,
	"/intercomd.mobileconfig": true,
	// The app's icons: the manifest's, fetched for installing the app
	// (and shown on the login page's tab).
	"/icon-192.png":          true,
	"/icon-512.png":          true,
	"/icon-maskable-512.png": true,
	"/apple-touch-icon.png":  true,
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
	ownCA       bool          // fingerprint is intercomd's own CA's
	pw          *passwords
	sess        *sessions
	devices     *devices
	tokens      *apiTokens
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
	// CA says Fingerprint is intercomd's own certificate authority's, which
	// the login page offers for download.
	CA bool
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
	tokens, err := loadAPITokens(cfg.StateDir, log, cfg.Now)
	if err != nil {
		return nil, err
	}
	g := &Guard{
		log:         log,
		secure:      cfg.Secure,
		fingerprint: cfg.Fingerprint,
		ownCA:       cfg.CA,
		pw:          pw,
		sess:        sess,
		devices:     dev,
		tokens:      tokens,
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

// Run ends expired sessions (closing their sockets) and writes the API
// tokens' last use (hourly, and when ctx ends) until ctx ends.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(sessionSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			g.tokens.saveUsed(true)
			return nil
		case <-t.C:
			g.tokens.saveUsed(false)
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
		case ok && (r.URL.Path == "/api/tokens" || strings.HasPrefix(r.URL.Path, "/api/tokens/")):
			g.serveTokens(w, r)
		case ok:
			// A browser logged in before trusted-device cookies existed
			// gets one with its next page.
			if _, known := g.devices.fromRequest(r, g.secure); !known {
				g.setDeviceCookie(w)
			}
			next.ServeHTTP(w, r.WithContext(withResident(r.Context())))
		case r.URL.Path == "/healthz" && r.Method == http.MethodGet:
			g.servePublicHealth(w, r, next)
		case !upgrade && hasToken(r):
			s, _ := requestAPIToken(r)
			g.serveAPIToken(w, r, s, next)
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
	// CA: the fingerprint is intercomd's certificate authority's, offered
	// at /ca.crt, /ca.pem and /intercomd.mobileconfig.
	CA bool `json:"ca,omitempty"`
	// Problem is set in safe mode: login is refused until it is fixed.
	Problem *Problem `json:"problem,omitempty"`
	// NoLogin is true when the login is off (-no-auth, loopback only).
	NoLogin bool `json:"noLogin,omitempty"`
}

func (g *Guard) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	_, authed := g.session(r)
	st := Status{Authenticated: authed, PasswordSet: g.pw.current() != "", HTTPS: g.secure}
	if g.fingerprint != nil {
		st.Fingerprint, st.CA = g.fingerprint(), g.ownCA
	}
	if st.Problem = g.problem(); st.Problem == nil && !st.PasswordSet {
		st.Setup = g.setupMode(r)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
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
