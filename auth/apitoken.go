package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// API tokens let other software (a home automation system, a SIP phone that
// polls a picture URL) read the door's picture and history, and with scope
// "open" open the door, without a browser session. A resident creates and
// revokes them in the app (the /api/tokens routes, session only). The
// secret is shown once; the state directory keeps only its SHA-256 (the
// secret is 256 random bits, so a fast hash is enough). A request brings
// it as `Authorization: Bearer icd_...` or as the password of HTTP Basic
// auth (for devices that only take a URL with user:password).

const (
	apiTokenFileName = "api-tokens.json"
	apiTokenPrefix   = "icd_"
	maxAPITokens     = 32
	maxTokenName     = 40
)

// Scopes of an API token.
const (
	ScopeRead = "read" // the picture and the history, read only
	ScopeOpen = "open" // read, and open the door
)

// apiTokenLen is the length of a token as a client sends it.
var apiTokenLen = len(apiTokenPrefix) + tokenLen

// Errors of ParseAPIToken and of a token's check.
var (
	ErrTokenMalformed = errors.New("API token malformed")
	ErrTokenUnknown   = errors.New("API token unknown or revoked")
	ErrTokenExpired   = errors.New("API token expired")
)

// ParseAPIToken decodes a token in its one canonical form: "icd_" and 43
// base64url characters.
func ParseAPIToken(s string) (token, error) {
	if len(s) != apiTokenLen || !strings.HasPrefix(s, apiTokenPrefix) {
		return token{}, ErrTokenMalformed
	}
	t, err := parseToken(s[len(apiTokenPrefix):])
	if err != nil {
		return token{}, ErrTokenMalformed
	}
	return t, nil
}

// APIToken is what a resident sees of a token (never its secret).
type APIToken struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Scope   string    `json:"scope"`
	Created time.Time `json:"created"`
	// Expires is zero for a token that does not expire.
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

type apiTokenRecord struct {
	APIToken
	Hash string `json:"hash"` // hex SHA-256 of the secret
}

// apiTokens is the token store.
type apiTokens struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu   sync.Mutex       // guards the fields below and the file
	recs []apiTokenRecord // in creation order
	// unsaved: a LastUsed changed since the file was written; saved: when
	// it was written. Uses reach the file at most once per
	// usedSaveEvery (and at shutdown): a phone that polls the picture
	// every few seconds must not wear out the SD card.
	unsaved bool
	saved   time.Time
}

// usedSaveEvery is how often at most the tokens' last use is written.
const usedSaveEvery = time.Hour

func loadAPITokens(stateDir string, log *slog.Logger, now func() time.Time) (*apiTokens, error) {
	a := &apiTokens{path: filepath.Join(stateDir, apiTokenFileName), log: log, now: now}
	b, err := os.ReadFile(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	if err := json.Unmarshal(b, &a.recs); err != nil {
		// Refusing every token is the safe way to fail: a resident makes
		// new ones. Nothing is opened by a damaged file.
		log.Warn("API token file unreadable: every token is refused until new ones are made", "file", a.path, "err", err)
		a.recs = nil
	}
	return a, nil
}

// TokenRequest is the body of POST /api/tokens.
type TokenRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// Days until it expires; 0: never.
	Days int `json:"days"`
}

// DecodeTokenRequest reads and checks a POST /api/tokens body.
func DecodeTokenRequest(b []byte) (TokenRequest, error) {
	var req TokenRequest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return TokenRequest{}, fmt.Errorf("token request: %w", err)
	}
	if dec.More() {
		return TokenRequest{}, errors.New("token request: one JSON object only")
	}
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.Name == "" || len(req.Name) > maxTokenName || strings.ContainsFunc(req.Name, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }):
		return TokenRequest{}, fmt.Errorf("token request: a name of 1 to %d printable characters", maxTokenName)
	case req.Scope != ScopeRead && req.Scope != ScopeOpen:
		return TokenRequest{}, fmt.Errorf("token request: scope must be %q or %q", ScopeRead, ScopeOpen)
	case req.Days < 0 || req.Days > 3650:
		return TokenRequest{}, errors.New("token request: days must be 0 (never expires) to 3650")
	}
	return req, nil
}

// create makes a token and returns its secret, shown once.
func (a *apiTokens) create(req TokenRequest) (APIToken, string, error) {
	var secret token
	var id [6]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return APIToken{}, "", err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return APIToken{}, "", err
	}
	now := a.now().UTC().Truncate(time.Second)
	t := APIToken{ID: hex.EncodeToString(id[:]), Name: req.Name, Scope: req.Scope, Created: now}
	if req.Days > 0 {
		t.Expires = now.Add(time.Duration(req.Days) * 24 * time.Hour)
	}
	h := secret.digest()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recs) >= maxAPITokens {
		return APIToken{}, "", fmt.Errorf("at most %d API tokens: revoke one first", maxAPITokens)
	}
	a.recs = append(a.recs, apiTokenRecord{APIToken: t, Hash: hex.EncodeToString(h[:])})
	if err := a.saveLocked(); err != nil {
		a.recs = a.recs[:len(a.recs)-1]
		return APIToken{}, "", err
	}
	return t, apiTokenPrefix + secret.String(), nil
}

// revoke removes token id; false if there is none.
func (a *apiTokens) revoke(id string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.recs, func(r apiTokenRecord) bool { return r.ID == id })
	if i < 0 {
		return false, nil
	}
	old := slices.Clone(a.recs)
	a.recs = slices.Delete(a.recs, i, i+1)
	if err := a.saveLocked(); err != nil {
		a.recs = old
		return false, err
	}
	return true, nil
}

func (a *apiTokens) list() []APIToken {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]APIToken, 0, len(a.recs))
	for _, r := range a.recs {
		out = append(out, r.APIToken)
	}
	return out
}

// check finds the token for secret t.
func (a *apiTokens) check(t token) (APIToken, error) {
	h := t.digest()
	want := hex.EncodeToString(h[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, r := range a.recs {
		if subtle.ConstantTimeCompare([]byte(r.Hash), []byte(want)) != 1 {
			continue
		}
		if !r.Expires.IsZero() && !a.now().Before(r.Expires) {
			return APIToken{}, ErrTokenExpired
		}
		a.recs[i].LastUsed = a.now().UTC().Truncate(time.Second)
		a.unsaved = true
		return a.recs[i].APIToken, nil
	}
	return APIToken{}, ErrTokenUnknown
}

func (a *apiTokens) saveLocked() error {
	b, err := json.MarshalIndent(a.recs, "", " ")
	if err != nil {
		return err
	}
	if err := statefile.WriteAtomic(a.path, b, 0o600); err != nil {
		return err
	}
	a.unsaved, a.saved = false, a.now()
	return nil
}

// saveUsed writes the tokens' last use when it changed, unless the file
// was written less than usedSaveEvery ago (now: always).
func (a *apiTokens) saveUsed(now bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.unsaved || !now && a.now().Sub(a.saved) < usedSaveEvery {
		return
	}
	if err := a.saveLocked(); err != nil {
		a.log.Warn("API tokens' last use not saved", "file", a.path, "err", err)
	}
}

// requestAPIToken finds an API token in r: a Bearer token, or the password
// of Basic auth. ok is false when r brings none at all.
func requestAPIToken(r *http.Request) (s string, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	if v, found := strings.CutPrefix(h, "Bearer "); found {
		return strings.TrimSpace(v), true
	}
	if _, pw, found := r.BasicAuth(); found {
		return pw, true
	}
	return h, true // something else: refused as malformed
}

func hasToken(r *http.Request) bool {
	_, ok := requestAPIToken(r)
	return ok
}

// tokenAllows says whether scope may make request r: read scope the
// picture and the history (GET only), open scope also POST /api/door/open.
// Nothing else: no deleting, no tokens, no WebSocket.
func tokenAllows(scope string, r *http.Request) bool {
	p := r.URL.Path
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p == "/api/snapshot.jpg" || p == "/api/events" || strings.HasPrefix(p, "/api/events/")
	}
	return scope == ScopeOpen && r.Method == http.MethodPost && p == "/api/door/open"
}

// serveAPIToken admits a request that brings an API token, or refuses it
// with 401 (malformed, unknown, revoked, expired) or 403 (beyond its
// scope). Nothing else happens for a refused token.
func (g *Guard) serveAPIToken(w http.ResponseWriter, r *http.Request, s string, next http.Handler) {
	w.Header().Set("Cache-Control", "no-store")
	t, err := ParseAPIToken(s)
	var tok APIToken
	if err == nil {
		tok, err = g.tokens.check(t)
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="intercomd", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": err.Error()})
		return
	}
	if r.Header.Get("Upgrade") != "" || !tokenAllows(tok.Scope, r) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf("API token %q (scope %s) may not %s %s", tok.Name, tok.Scope, r.Method, r.URL.Path)})
		return
	}
	next.ServeHTTP(w, r.WithContext(withTokenName(r.Context(), tok.Name)))
}

// serveTokens is the residents' API for tokens (session only):
// GET /api/tokens, POST /api/tokens, DELETE /api/tokens/{id}.
func (g *Guard) serveTokens(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, one := strings.CutPrefix(r.URL.Path, "/api/tokens/")
	switch {
	case !one && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"tokens": g.tokens.list()})
	case !one && r.Method == http.MethodPost:
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		req, err := DecodeTokenRequest(b)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		t, secret, err := g.tokens.create(req)
		if err != nil {
			g.log.Error("API token not created", "err", err)
			writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error()})
			return
		}
		g.log.Info("API token created", "name", t.Name, "scope", t.Scope, "id", t.ID, "security", true)
		writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
	case one && r.Method == http.MethodDelete:
		ok, err := g.tokens.revoke(id)
		switch {
		case err != nil:
			g.log.Error("API token not revoked", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "could not save the tokens"})
		case !ok:
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such token"})
		default:
			g.log.Info("API token revoked", "id", id, "security", true)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed"})
	}
}

// tokenKey marks a request admitted by an API token, with its name.
type tokenKey struct{}

func withTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tokenKey{}, name)
}

// TokenName is the name of the API token that admitted the request, or "".
func TokenName(ctx context.Context) string {
	v, _ := ctx.Value(tokenKey{}).(string)
	return v
}
