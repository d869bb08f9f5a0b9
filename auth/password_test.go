package auth

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testArgon is cheap, for tests that hash many times; the stored format and
// the verification path are the same as with defaultArgon.
var testArgon = argonParams{time: 1, memory: 64, threads: 1}

func TestHashAndVerify(t *testing.T) {
	h, err := hashPassword("correct horse", defaultArgon)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hashPassword = %q, want a PHC argon2id string with OWASP's costs", h)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
	} {
		got, err := verifyPassword(h, tt.pw)
		if err != nil || got != tt.want {
			t.Errorf("verifyPassword(h, %q) = %v, %v; want %v", tt.pw, got, err, tt.want)
		}
	}
	h2, _ := hashPassword("correct horse", defaultArgon)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestParsePasswordHashRefuses(t *testing.T) {
	good, _ := hashPassword("abcdefgh", testArgon)
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for _, tt := range []struct{ name, in string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu"},
		{"argon2i", with(1, "argon2i")},
		{"old version", with(2, "v=16")},
		{"huge memory", with(3, "m=4194304,t=2,p=1")},
		{"many passes", with(3, "m=19456,t=1000,p=1")},
		{"zero lanes", with(3, "m=19456,t=2,p=0")},
		{"unknown key", with(3, "m=19456,t=2,p=1,x=3")},
		{"negative", with(3, "m=-1,t=2,p=1")},
		{"bad salt", with(4, "!!!")},
		{"short key", with(5, "AAAA")},
		{"padded key", with(5, parts[5]+"=")},
		{"extra field", good + "$x"},
	} {
		if _, _, _, err := parsePasswordHash(tt.in); err == nil {
			t.Errorf("parsePasswordHash(%s: %q) = nil error, want one", tt.name, tt.in)
		}
	}
	if _, _, _, err := parsePasswordHash(good); err != nil {
		t.Errorf("parsePasswordHash(%q) = %v", good, err)
	}
}

func TestCheckNewPassword(t *testing.T) {
	for _, tt := range []struct {
		pw string
		ok bool
	}{
		{"abcdefgh", true},
		{"äöüßäöüß", true}, // 8 characters, 16 bytes
		{"abcdefg", false},
		{"abc\ndefgh", false},
		{strings.Repeat("x", maxPasswordBytes), true},
		{strings.Repeat("x", maxPasswordBytes+1), false},
		{"abcdefg\xff", false},
	} {
		err := checkNewPassword(tt.pw)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadPassword)) {
			t.Errorf("checkNewPassword(%q) = %v, want ok=%v", tt.pw, err, tt.ok)
		}
	}
}

func TestSetPasswordFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := SetPassword(dir, "short"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("SetPassword(short) = %v, want ErrBadPassword", err)
	}
	if err := SetPassword(dir, "a long enough secret"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, passwordFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "a long enough secret") {
		t.Fatal("password file holds the password in clear")
	}
	p := loadPasswords(dir, slog.New(slog.DiscardHandler))
	if err := p.problem(); err != nil {
		t.Fatal(err)
	}
	if ok, v := p.check("a long enough secret"); !ok || v == "" {
		t.Errorf("check(right password) = %v, %q; want true and a version", ok, v)
	}
	if ok, _ := p.check("a long enough secreT"); ok {
		t.Error("check(wrong password) = true")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d files, want only the password (no temporary leftovers)", len(entries))
	}
}

func TestPasswordsNoticeChangeOnDisk(t *testing.T) {
	dir := t.TempDir()
	p := loadPasswords(dir, slog.New(slog.DiscardHandler))
	clock := time.Now()
	p.now = func() time.Time { return clock }
	if v := p.current(); v != "" {
		t.Fatalf("current() with no file = %q, want none", v)
	}
	v1, err := p.setFirst("first password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.setFirst("second password"); !errors.Is(err, errPasswordSet) {
		t.Errorf("setFirst when set = %v, want errPasswordSet", err)
	}
	// intercomd set-password while running:
	if err := SetPassword(dir, "second password"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	v2 := p.current()
	if v2 == v1 || v2 == "" {
		t.Errorf("version after set-password = %q (was %q), want a new one", v2, v1)
	}
	if ok, _ := p.check("first password"); ok {
		t.Error("the old password still works after set-password")
	}
	if ok, _ := p.check("second password"); !ok {
		t.Error("the new password does not work")
	}
	// A damaged file keeps the password in force.
	os.WriteFile(filepath.Join(dir, passwordFileName), []byte("garbage\n"), 0o600)
	clock = clock.Add(2 * time.Second)
	if v := p.current(); v != v2 {
		t.Errorf("version after a damaged write = %q, want %q kept", v, v2)
	}
}

func TestLoadPasswordsDamaged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, passwordFileName), []byte("plain text password\n"), 0o600)
	p := loadPasswords(dir, slog.New(slog.DiscardHandler))
	clock := time.Now()
	p.now = func() time.Time { return clock }
	if p.problem() == nil {
		t.Fatal("loadPasswords(damaged) has no problem")
	}
	if v := p.current(); v != "" {
		t.Errorf("current() of a damaged file = %q, want none", v)
	}
	if ok, _ := p.check("plain text password"); ok {
		t.Error("the damaged file's text was taken as the password")
	}
	if _, err := p.setFirst("a new password"); err == nil {
		t.Error("setFirst over a damaged file succeeded: a damaged file is not \"no password\"")
	}
	if err := SetPassword(dir, "repaired password"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if err := p.problem(); err != nil {
		t.Errorf("after set-password: problem %v, want none", err)
	}
	if ok, _ := p.check("repaired password"); !ok {
		t.Error("the repaired password does not log in")
	}
}
