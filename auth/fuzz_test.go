package auth

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzGuard is a guard whose password hashes cheaply (testArgon), so the
// fuzzer runs the whole login handler, hash check included.
func fuzzGuard(f *testing.F, password string) *Guard {
	f.Helper()
	dir := f.TempDir()
	writeCheapPassword(f, dir, password)
	g, err := New(Config{StateDir: dir, Secure: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	g.perAddr = newAttemptLimiter(1<<30, time.Minute, time.Now)
	return g
}

// writeCheapPassword sets the password in dir hashed with testArgon, for
// tests that hash it thousands of times.
func writeCheapPassword(t testing.TB, dir, password string) {
	t.Helper()
	h, err := hashPassword(password, testArgon)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, passwordFileName), []byte(h+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzLogin feeds arbitrary login requests (Content-Type and body) to the
// login handler: it never panics, answers only with the statuses it
// documents, and admits only the right password.
func FuzzLogin(f *testing.F) {
	const password = "resident secret"
	g := fuzzGuard(f, password)
	h := g.Wrap(http.NotFoundHandler())
	f.Add("application/json", []byte(`{"password":"resident secret"}`))
	f.Add("application/x-www-form-urlencoded", []byte("password=resident+secret&code=AB"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		form, perr := parseLogin(ctype, body)
		if perr == nil && (form.Password == "" || len(form.Password) > maxPasswordBytes || len(form.Code) > 64) {
			t.Fatalf("parseLogin(%q, %q) = %+v: outside its limits", ctype, body, form)
		}
		r := httptest.NewRequest("POST", "/api/login", strings.NewReader(string(body)))
		r.RemoteAddr = "192.0.2.1:1"
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			if perr != nil || form.Password != password {
				t.Fatalf("login(%q, %q) admitted with password %q", ctype, body, form.Password)
			}
			var session bool
			for _, c := range w.Result().Cookies() {
				session = session || c.Name == cookieSecure
			}
			if !session {
				t.Fatalf("login admitted without a session cookie")
			}
		case 400, 413:
		case 401:
			if perr != nil || form.Password == password {
				t.Fatalf("login(%q, %q) = 401, parse error %v", ctype, body, perr)
			}
		default:
			t.Fatalf("login(%q, %q) = %d %s", ctype, body, w.Code, w.Body)
		}
	})
}

// FuzzCookie feeds arbitrary Cookie headers to the guard: only a header
// carrying the one live token is admitted, and token parsing accepts only
// canonical tokens.
func FuzzCookie(f *testing.F) {
	g := fuzzGuard(f, "resident secret")
	live, _, err := g.sess.create(g.pw.current())
	if err != nil {
		f.Fatal(err)
	}
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.Add(cookieSecure + "=" + live.String())
	f.Add("a=b; " + cookieSecure + "=" + live.String() + "; c=d")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/api/panel", nil)
		r.RemoteAddr = "192.0.2.1:1"
		r.Header.Set("Cookie", header)
		for _, c := range r.Cookies() {
			if tok, err := parseToken(c.Value); err == nil && tok.String() != c.Value {
				t.Fatalf("parseToken(%q) accepted a non-canonical token", c.Value)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code == 200 && !strings.Contains(header, live.String()):
			t.Fatalf("Cookie %q admitted without the live token", header)
		case w.Code != 200 && w.Code != 401:
			t.Fatalf("Cookie %q: status %d, want 200 or 401", header, w.Code)
		}
	})
}
