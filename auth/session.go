package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

const (
	// sessionFileName keeps sessions across restarts, so a reboot of the Pi
	// does not log every phone out. It holds SHA-256 digests of the tokens,
	// never the tokens.
	sessionFileName = "sessions.json"
	// sessionTTL: a resident logs in again a month after logging in.
	sessionTTL = 30 * 24 * time.Hour
	// maxSessions bounds the file; the oldest session goes first.
	maxSessions = 200
	// tokenBytes is 256 bits of randomness per session.
	tokenBytes = 32
)

// Cookie names. On HTTPS the __Host- prefix makes the browser refuse the
// cookie unless it is Secure, has Path=/ and no Domain: no other host or
// plain-HTTP page can plant or shadow it.
const (
	cookieSecure = "__Host-intercomd"
	cookiePlain  = "intercomd"
)

// token is a session's secret as the browser holds it.
type token [tokenBytes]byte

// tokenLen is the length of a token in its cookie form (unpadded base64url).
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

func (t token) String() string { return base64.RawURLEncoding.EncodeToString(t[:]) }

// digest is what the server keeps of a token.
func (t token) digest() [sha256.Size]byte { return sha256.Sum256(t[:]) }

var errBadToken = errors.New("session cookie: malformed")

// parseToken decodes a cookie value. Only the exact canonical form is
// accepted: 43 base64url characters, no padding, no stray bits.
func parseToken(s string) (token, error) {
	var t token
	if len(s) != tokenLen {
		return t, errBadToken
	}
	n, err := base64.RawURLEncoding.Strict().Decode(t[:], []byte(s))
	if err != nil || n != tokenBytes {
		return token{}, errBadToken
	}
	return t, nil
}

// session is one logged-in browser.
type session struct {
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Password is the version of the password it logged in with: a new
	// password ends every older session.
	Password string `json:"password"`
}

// sessions is the server's table of sessions, by token digest, saved to the
// state directory on every change. It also knows the WebSockets each
// session holds, so logging out closes them.
type sessions struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex // guards the fields below
	byHash  map[[sha256.Size]byte]session
	sockets map[[sha256.Size]byte]map[*socketHold]struct{}
}

// socketHold ends one WebSocket when its session ends.
type socketHold struct{ cancel context.CancelFunc }

// sessionRecord is one line of the file.
type sessionRecord struct {
	Hash string `json:"hash"` // hex SHA-256 of the token
	session
}

func loadSessions(stateDir string, log *slog.Logger, now func() time.Time) (*sessions, error) {
	s := &sessions{
		path:    filepath.Join(stateDir, sessionFileName),
		log:     log,
		now:     now,
		byHash:  map[[sha256.Size]byte]session{},
		sockets: map[[sha256.Size]byte]map[*socketHold]struct{}{},
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	var recs []sessionRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		// Losing sessions only means logging in again: say so, go on.
		log.Warn("sessions file unreadable: everyone logs in again", "file", s.path, "err", err)
		return s, nil
	}
	t := now()
	for _, r := range recs {
		var h [sha256.Size]byte
		if n, err := hex.Decode(h[:], []byte(r.Hash)); err != nil || n != len(h) || !t.Before(r.Expires) {
			continue
		}
		s.byHash[h] = r.session
	}
	return s, nil
}

// create opens a session for a browser that proved it knows the password of
// version pwVersion.
func (s *sessions) create(pwVersion string) (token, time.Time, error) {
	var t token
	if _, err := rand.Read(t[:]); err != nil {
		return t, time.Time{}, fmt.Errorf("session token: %w", err)
	}
	now := s.now()
	sess := session{Created: now, Expires: now.Add(sessionTTL), Password: pwVersion}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now, pwVersion)
	for len(s.byHash) >= maxSessions {
		s.dropOldestLocked()
	}
	s.byHash[t.digest()] = sess
	return t, sess.Expires, s.saveLocked()
}

// valid reports whether t names a live session of the password version in
// force.
func (s *sessions) valid(t token, pwVersion string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byHash[t.digest()]
	return ok && pwVersion != "" && sess.Password == pwVersion && s.now().Before(sess.Expires)
}

// remove ends t's session and closes its WebSockets (logout).
func (s *sessions) remove(t token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := t.digest()
	if _, ok := s.byHash[h]; !ok {
		return nil
	}
	s.endLocked(h)
	return s.saveLocked()
}

// expire ends the sessions that ran out or belong to an old password,
// closing their WebSockets.
func (s *sessions) expire(pwVersion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expireLocked(s.now(), pwVersion) {
		if err := s.saveLocked(); err != nil {
			s.log.Error("save sessions", "err", err)
		}
	}
}

func (s *sessions) expireLocked(now time.Time, pwVersion string) (changed bool) {
	for h, sess := range s.byHash {
		if !now.Before(sess.Expires) || sess.Password != pwVersion {
			s.endLocked(h)
			changed = true
		}
	}
	// Sockets whose session vanished (a password change before they
	// were noticed) end too.
	for h := range s.sockets {
		if _, ok := s.byHash[h]; !ok {
			s.endLocked(h)
		}
	}
	return changed
}

func (s *sessions) dropOldestLocked() {
	var oldest [sha256.Size]byte
	first := true
	var at time.Time
	for h, sess := range s.byHash {
		if first || sess.Created.Before(at) {
			oldest, at, first = h, sess.Created, false
		}
	}
	s.endLocked(oldest)
}

func (s *sessions) endLocked(h [sha256.Size]byte) {
	delete(s.byHash, h)
	for hold := range s.sockets[h] {
		hold.cancel()
	}
	delete(s.sockets, h)
}

// hold registers a WebSocket of t's session; release when it ends.
func (s *sessions) hold(t token, cancel context.CancelFunc) (release func()) {
	h := t.digest()
	hold := &socketHold{cancel: cancel}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byHash[h]; !ok {
		cancel()
		return func() {}
	}
	if s.sockets[h] == nil {
		s.sockets[h] = map[*socketHold]struct{}{}
	}
	s.sockets[h][hold] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.sockets[h], hold)
		if len(s.sockets[h]) == 0 {
			delete(s.sockets, h)
		}
	}
}

func (s *sessions) saveLocked() error {
	recs := make([]sessionRecord, 0, len(s.byHash))
	for h, sess := range s.byHash {
		recs = append(recs, sessionRecord{Hash: hex.EncodeToString(h[:]), session: sess})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created.Before(recs[j].Created) })
	b, err := json.MarshalIndent(recs, "", " ")
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if err := statefile.WriteAtomic(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save sessions: %w", err)
	}
	return nil
}

// CookieName is the session cookie's name over HTTPS (secure) or plain
// HTTP.
func CookieName(secure bool) string {
	if secure {
		return cookieSecure
	}
	return cookiePlain
}

// sessionCookie is the Set-Cookie for t, kept by the browser for maxAge; a
// maxAge of zero or less deletes the cookie.
func sessionCookie(t token, maxAge time.Duration, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName(secure),
		Value:    t.String(),
		Path:     "/",
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
	if maxAge <= 0 {
		c.Value = ""
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// requestTokens are the well-formed session tokens r carries (a browser may
// send the cookie twice, say after a path mix-up; any valid one counts).
func requestTokens(r *http.Request, secure bool) []token {
	var out []token
	name := CookieName(secure)
	for _, c := range r.CookiesNamed(name) {
		if t, err := parseToken(c.Value); err == nil {
			out = append(out, t)
		}
	}
	return out
}
