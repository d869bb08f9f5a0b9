package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A resident makes tokens with a session; a token reads the picture and the
// history (and opens the door with scope open), and nothing else; revoked,
// expired and malformed tokens get 401 and nothing gets through.
func TestAPITokens(t *testing.T) {
	e := newGuardEnv(t, false, "resident secret")
	login := e.do("POST", "/api/login", lan, `{"password":"resident secret"}`)
	if login.Code != http.StatusOK {
		t.Fatalf("login: %d", login.Code)
	}
	c := cookieOf(t, login)
	session := []string{"Cookie", c.Name + "=" + c.Value}

	create := func(body string) (APIToken, string) {
		t.Helper()
		w := e.do("POST", "/api/tokens", lan, body, session...)
		if w.Code != http.StatusCreated {
			t.Fatalf("POST /api/tokens %s: %d %s", body, w.Code, w.Body)
		}
		var out struct {
			Token  APIToken `json:"token"`
			Secret string   `json:"secret"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out.Token, out.Secret
	}
	read, readSecret := create(`{"name":"Home Assistant","scope":"read","days":30}`)
	_, openSecret := create(`{"name":"gate phone","scope":"open"}`)

	// Bad requests for a token make none.
	for _, body := range []string{`{"name":"","scope":"read"}`, `{"name":"x","scope":"admin"}`, `{"name":"x","scope":"read","days":-1}`, `{"name":"x","scope":"read","admin":true}`, `nope`} {
		if w := e.do("POST", "/api/tokens", lan, body, session...); w.Code != http.StatusBadRequest {
			t.Errorf("POST /api/tokens %s: %d, want 400", body, w.Code)
		}
	}
	// Tokens are managed with a session only, never with a token.
	if w := e.do("GET", "/api/tokens", lan, "", "Authorization", "Bearer "+openSecret); w.Code != http.StatusForbidden {
		t.Errorf("GET /api/tokens with a token: %d, want 403", w.Code)
	}
	if w := e.do("GET", "/api/tokens", lan, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/tokens without a session: %d, want 401", w.Code)
	}
	w := e.do("GET", "/api/tokens", lan, "", session...)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), readSecret[len(apiTokenPrefix):]) || !strings.Contains(w.Body.String(), "Home Assistant") {
		t.Fatalf("GET /api/tokens: %d %s, want both tokens without their secrets", w.Code, w.Body)
	}
	if strings.Contains(e.logs.String(), readSecret[len(apiTokenPrefix):]) {
		t.Fatal("a token's secret is in the log")
	}

	type try struct {
		method, path string
		hdr          []string
		want         int
	}
	bearer := func(s string) []string { return []string{"Authorization", "Bearer " + s} }
	check := func(tries []try) {
		t.Helper()
		for _, tt := range tries {
			w := e.do(tt.method, tt.path, other, "", tt.hdr...)
			through := w.Header().Get("X-Next") == "1"
			if w.Code != tt.want || through != (tt.want == http.StatusOK) {
				t.Errorf("%s %s %q: %d (through %v), want %d", tt.method, tt.path, tt.hdr, w.Code, through, tt.want)
			}
		}
	}
	check([]try{
		{"GET", "/api/snapshot.jpg", bearer(readSecret), 200},
		{"GET", "/api/events?limit=5", bearer(readSecret), 200},
		{"GET", "/api/events/12/picture.jpg", bearer(readSecret), 200},
		{"DELETE", "/api/events", bearer(readSecret), 403},
		{"POST", "/api/events/seen", bearer(readSecret), 403},
		{"POST", "/api/door/open", bearer(readSecret), 403},
		{"GET", "/", bearer(readSecret), 403},
		{"POST", "/api/door/open", bearer(openSecret), 200},
		{"GET", "/api/snapshot.jpg", []string{"Authorization", "Basic " + basic("phone", openSecret)}, 200},
		{"GET", "/api/snapshot.jpg", bearer(readSecret[:len(readSecret)-1]), 401},
		{"GET", "/api/snapshot.jpg", bearer(readSecret + "A"), 401},
		{"GET", "/api/snapshot.jpg", bearer("icd_" + strings.Repeat("A", 43)), 401},
		{"GET", "/api/snapshot.jpg", []string{"Authorization", "Digest x"}, 401},
	})

	// Revoked: refused at once. Expired: refused after its days.
	if w := e.do("DELETE", "/api/tokens/"+read.ID, lan, "", session...); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d", w.Code)
	}
	if w := e.do("DELETE", "/api/tokens/"+read.ID, lan, "", session...); w.Code != http.StatusNotFound {
		t.Fatalf("revoke twice: %d, want 404", w.Code)
	}
	_, soon := create(`{"name":"a week","scope":"read","days":7}`)
	check([]try{{"GET", "/api/events", bearer(readSecret), 401}, {"GET", "/api/events", bearer(soon), 200}})
	*e.clock = e.clock.Add(8 * 24 * time.Hour)
	check([]try{{"GET", "/api/events", bearer(soon), 401}, {"GET", "/api/events", bearer(openSecret), 200}})

	// The tokens outlive a restart (the file holds hashes only).
	e2 := newGuardEnvIn(t, e.dir, false)
	if w := e2.do("GET", "/api/events", other, "", bearer(openSecret)...); w.Code != http.StatusOK {
		t.Fatalf("after a restart: %d, want 200", w.Code)
	}
}

func basic(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestParseAPIToken(t *testing.T) {
	good := "icd_" + strings.Repeat("A", 43)
	if _, err := ParseAPIToken(good); err != nil {
		t.Fatalf("ParseAPIToken(%q) = %v, want ok", good, err)
	}
	for _, s := range []string{"", "icd_", good[:len(good)-1], good + "A", "xyz_" + good[4:], "icd_" + strings.Repeat("A", 42) + "B", "icd_" + strings.Repeat("+", 43)} {
		if _, err := ParseAPIToken(s); err == nil {
			t.Errorf("ParseAPIToken(%q) = nil, want an error", s)
		}
	}
}

// FuzzParseAPIToken: any string is refused or round-trips exactly.
func FuzzParseAPIToken(f *testing.F) {
	f.Add("icd_" + strings.Repeat("A", 43))
	f.Add("icd_" + strings.Repeat("_", 43))
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseAPIToken(s)
		if err == nil && apiTokenPrefix+tok.String() != s {
			t.Fatalf("ParseAPIToken(%q) accepted a non-canonical form %q", s, tok)
		}
	})
}

// FuzzDecodeTokenRequest: any body is refused or gives a request within
// bounds.
func FuzzDecodeTokenRequest(f *testing.F) {
	f.Add([]byte(`{"name":"Home Assistant","scope":"read","days":30}`))
	f.Add([]byte(`{"name":"x","scope":"open"}`))
	f.Add([]byte(`{"name":"\u0000","scope":"read"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeTokenRequest(b)
		if err != nil {
			return
		}
		if req.Name == "" || len(req.Name) > maxTokenName || (req.Scope != ScopeRead && req.Scope != ScopeOpen) || req.Days < 0 || req.Days > 3650 {
			t.Fatalf("DecodeTokenRequest(%q) = %+v, out of bounds", b, req)
		}
	})
}

// A token's last use reaches the file in batches: at most once an hour
// (the token file was just written when it was made), and whatever is left
// at shutdown.
func TestAPITokenLastUsed(t *testing.T) {
	e := newGuardEnv(t, false, "resident secret")
	tok, secret, err := e.g.tokens.create(TokenRequest{Name: "camera poller", Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	stored := func() time.Time {
		t.Helper()
		a, err := loadAPITokens(e.dir, e.g.log, time.Now)
		if err != nil || len(a.recs) != 1 || a.recs[0].ID != tok.ID {
			t.Fatalf("token file: %+v, %v", a, err)
		}
		return a.recs[0].LastUsed
	}
	use := func() time.Time {
		t.Helper()
		*e.clock = e.clock.Add(time.Minute)
		if w := e.do("GET", "/api/events", lan, "", "Authorization", "Bearer "+secret); w.Code != http.StatusOK {
			t.Fatalf("GET /api/events with the token: %d", w.Code)
		}
		return e.clock.UTC().Truncate(time.Second)
	}
	use()
	e.g.tokens.saveUsed(false) // a sweep a minute after the file was written
	if got := stored(); !got.IsZero() {
		t.Fatalf("last use written within the hour (%v), want it batched", got)
	}
	*e.clock = e.clock.Add(time.Hour)
	hourly := use()
	e.g.tokens.saveUsed(false)
	if got := stored(); !got.Equal(hourly) {
		t.Fatalf("after an hour the file says last used %v, want %v", got, hourly)
	}
	use()
	e.g.tokens.saveUsed(false)
	if got := stored(); !got.Equal(hourly) {
		t.Fatalf("a second write within the hour: the file says %v, want still %v", got, hourly)
	}
	// At shutdown (Run's context ends) the last use is written whatever the hour.
	last := use()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !got.Equal(last) {
		t.Fatalf("after shutdown the file says %v, want %v", got, last)
	}
}
