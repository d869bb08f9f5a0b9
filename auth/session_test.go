package auth

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseToken(t *testing.T) {
	good := token{1, 2, 3, 250}.String()
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{good, true},
		{"", false},
		{good[:42], false},
		{good + "A", false},
		{good[:42] + "=", false},
		{good[:42] + "+", false},         // std alphabet, not URL
		{good[:42] + "B", false},         // stray low bits: not canonical
		{strings.Repeat("_", 43), false}, // stray bits again
		{strings.Repeat("A", 42) + "A", true},
		{strings.Repeat("é", 21) + "A", false},
	} {
		tok, err := parseToken(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseToken(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err == nil && tok.String() != tt.in {
			t.Errorf("parseToken(%q).String() = %q, want the input back", tt.in, tok.String())
		}
	}
}

func newTestSessions(t *testing.T, dir string, clock *time.Time) *sessions {
	t.Helper()
	s, err := loadSessions(dir, slog.New(slog.DiscardHandler), func() time.Time { return *clock })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionsLifecycle(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	s := newTestSessions(t, dir, &clock)
	tok, exp, err := s.create("v1")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(clock.Add(sessionTTL)) {
		t.Errorf("expiry %v, want %v", exp, clock.Add(sessionTTL))
	}
	if !s.valid(tok, "v1") {
		t.Fatal("new session not valid")
	}
	if s.valid(tok, "v2") {
		t.Error("session valid under a new password")
	}
	if s.valid(token{}, "v1") {
		t.Error("a made-up token is valid")
	}

	// The file has digests, not tokens, and survives a restart.
	b, _ := os.ReadFile(filepath.Join(dir, sessionFileName))
	if strings.Contains(string(b), tok.String()) {
		t.Fatal("sessions file holds a token in clear")
	}
	if fi, _ := os.Stat(filepath.Join(dir, sessionFileName)); fi.Mode().Perm() != 0o600 {
		t.Errorf("sessions file mode %v, want 0600", fi.Mode().Perm())
	}
	s2 := newTestSessions(t, dir, &clock)
	if !s2.valid(tok, "v1") {
		t.Error("session lost across a restart")
	}

	clock = clock.Add(sessionTTL)
	if s.valid(tok, "v1") {
		t.Error("session valid after its lifetime")
	}
	s3 := newTestSessions(t, dir, &clock)
	if len(s3.byHash) != 0 {
		t.Errorf("expired sessions loaded: %d", len(s3.byHash))
	}
}

func TestSessionEndClosesSockets(t *testing.T) {
	clock := time.Now()
	s := newTestSessions(t, t.TempDir(), &clock)
	a, _, _ := s.create("v1")
	b, _, _ := s.create("v1")
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	defer s.hold(a, cancelA)()
	defer s.hold(b, cancelB)()

	if err := s.remove(a); err != nil {
		t.Fatal(err)
	}
	if ctxA.Err() == nil {
		t.Error("logout left the session's WebSocket open")
	}
	if ctxB.Err() != nil {
		t.Error("logout of one session closed another's WebSocket")
	}
	if s.valid(a, "v1") || !s.valid(b, "v1") {
		t.Error("remove ended the wrong session")
	}

	s.expire("v2") // a new password
	if ctxB.Err() == nil {
		t.Error("a new password left an old session's WebSocket open")
	}
	// A socket of a session that is gone is refused at once.
	ctxC, cancelC := context.WithCancel(context.Background())
	s.hold(b, cancelC)()
	if ctxC.Err() == nil {
		t.Error("hold on an ended session did not cancel")
	}
}

func TestSessionsCapped(t *testing.T) {
	clock := time.Now()
	s := newTestSessions(t, t.TempDir(), &clock)
	first, _, _ := s.create("v")
	for range maxSessions {
		clock = clock.Add(time.Second)
		if _, _, err := s.create("v"); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.byHash) != maxSessions {
		t.Errorf("%d sessions kept, want at most %d", len(s.byHash), maxSessions)
	}
	if s.valid(first, "v") {
		t.Error("the oldest session survived the cap")
	}
}

func TestSessionsFileDamaged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, sessionFileName), []byte("{not json"), 0o600)
	clock := time.Now()
	s := newTestSessions(t, dir, &clock)
	if len(s.byHash) != 0 {
		t.Error("sessions from a damaged file")
	}
}

func TestSessionCookie(t *testing.T) {
	tok := token{9}
	for _, secure := range []bool{true, false} {
		w := httptest.NewRecorder()
		http.SetCookie(w, sessionCookie(tok, sessionTTL, secure))
		h := w.Header().Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000", tok.String()} {
			if !strings.Contains(h, want) {
				t.Errorf("secure=%v: Set-Cookie %q lacks %q", secure, h, want)
			}
		}
		if strings.Contains(h, "Secure") != secure || strings.HasPrefix(h, "__Host-") != secure {
			t.Errorf("secure=%v: Set-Cookie %q: want Secure and the __Host- prefix exactly on HTTPS", secure, h)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "other=1; "+CookieName(secure)+"=junk; "+CookieName(secure)+"="+tok.String())
		if got := requestTokens(r, secure); len(got) != 1 || got[0] != tok {
			t.Errorf("secure=%v: requestTokens = %v, want the one good token", secure, got)
		}
		r.Header.Set("Cookie", CookieName(!secure)+"="+tok.String())
		if got := requestTokens(r, secure); len(got) != 0 {
			t.Errorf("secure=%v: the other scheme's cookie was accepted", secure)
		}
	}
	w := httptest.NewRecorder()
	http.SetCookie(w, sessionCookie(tok, 0, true))
	if h := w.Header().Get("Set-Cookie"); !strings.Contains(h, "Max-Age=0") || strings.Contains(h, tok.String()) {
		t.Errorf("deleting Set-Cookie = %q, want Max-Age=0 and no token", h)
	}
}
