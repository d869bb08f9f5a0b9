package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

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

func (g *Guard) setupMode(r *http.Request) string {
	if loopbackRequest(r) {
		return "loopback"
	}
	if g.liveSetupCode() != "" {
		return "code"
	}
	return ""
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
