package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/intercomd/intercomd/internal/statefile"
	"github.com/intercomd/intercomd/lograte"
)

// passwordFileName is the resident password's hash in the state directory.
const passwordFileName = "password"

// Password rules, said to the resident when a new password breaks one.
const (
	minPasswordRunes = 8
	maxPasswordBytes = 1024
)

// argonParams are argon2id's cost settings. The file records them, so a
// password hashed with older settings still verifies after they change.
type argonParams struct {
	time, memory uint32 // iterations; memory in KiB
	threads      uint8
}

// defaultArgon is OWASP's recommended minimum for argon2id (19 MiB, 2
// passes, 1 lane): 44 ms per hash on the 2-core x86 build machine (a Pi is
// slower; not measured yet). Login's rate limit and one-at-a-time hashing
// keep it affordable.
var defaultArgon = argonParams{time: 2, memory: 19 * 1024, threads: 1}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// ErrBadPassword is a new password that breaks the rules; its message says
// which rule.
var ErrBadPassword = errors.New("password")

// checkNewPassword says what is wrong with a password a resident chose.
func checkNewPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w is not valid text", ErrBadPassword)
	case utf8.RuneCountInString(pw) < minPasswordRunes:
		return fmt.Errorf("%w must have at least %d characters", ErrBadPassword, minPasswordRunes)
	case len(pw) > maxPasswordBytes:
		return fmt.Errorf("%w must be at most %d bytes", ErrBadPassword, maxPasswordBytes)
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		return fmt.Errorf("%w must not contain control characters", ErrBadPassword)
	}
	return nil
}

// hashPassword returns pw's argon2id hash in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$KEY (unpadded base64).
func hashPassword(pw string, p argonParams) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parsePasswordHash decodes a PHC argon2id string. Costs are bounded so a
// damaged or hostile file cannot make a login take minutes or gigabytes.
func parsePasswordHash(s string) (p argonParams, salt, key []byte, err error) {
	bad := func(why string) (argonParams, []byte, []byte, error) {
		return argonParams{}, nil, nil, fmt.Errorf("password hash: %s", why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version " + strconv.Quote(parts[2]))
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return bad("bad parameter " + strconv.Quote(kv))
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return bad("unknown parameter " + strconv.Quote(k))
		}
	}
	if t < 1 || t > 16 || th < 1 || th > 16 || m < 8*th || m > 256*1024 {
		return bad(fmt.Sprintf("costs out of range (m=%d t=%d p=%d)", m, t, th))
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return bad("bad salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return bad("bad key")
	}
	return argonParams{time: uint32(t), memory: uint32(m), threads: uint8(th)}, salt, key, nil
}

// verifyPassword reports whether pw matches the encoded hash.
func verifyPassword(encoded, pw string) (bool, error) {
	p, salt, key, err := parsePasswordHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// SetPassword sets the resident password kept in stateDir (the
// `intercomd set-password` command). A running intercomd notices the new
// file within seconds and ends every session opened with the old password.
func SetPassword(stateDir, pw string) error {
	if err := checkNewPassword(pw); err != nil {
		return err
	}
	h, err := hashPassword(pw, defaultArgon)
	if err != nil {
		return err
	}
	if err := statefile.EnsureDir(stateDir); err != nil {
		return err
	}
	if err := statefile.WriteAtomic(filepath.Join(stateDir, passwordFileName), []byte(h+"\n"), 0o600); err != nil {
		return fmt.Errorf("save password: %w", err)
	}
	return nil
}

// passwords is the resident password as the server sees it: the hash file,
// read again when it changes on disk (set-password while running).
type passwords struct {
	path string
	log  *slog.Logger
	now  func() time.Time
	// Hashes run one at a time: the Guard's hashQueue admits them.

	mu      sync.Mutex      // guards the fields below
	hash    string          // PHC string; "" when no password is set
	version string          // short digest of hash; sessions remember it
	stamp   statefile.Stamp // of the file hash came from
	checked time.Time
	damaged error // the file exists but does not hold a hash; nil when fine
	everSet bool  // a password was seen since start (the setup code's end)
}

// loadPasswords reads the password file in stateDir; a missing file means no
// password yet. A damaged one is not an error that stops the door: nobody
// logs in (damaged says why) until a good file replaces it, which is
// noticed within a second.
func loadPasswords(stateDir string, log *slog.Logger) *passwords {
	p := &passwords{
		path: filepath.Join(stateDir, passwordFileName),
		log:  log,
		now:  time.Now,
	}
	if err := p.read(); err != nil {
		p.damaged = err
		p.stamp, _ = statefile.StampOf(p.path)
	}
	p.checked = p.now()
	return p
}

// problem is why nobody can log in, or nil.
func (p *passwords) problem() error {
	p.refresh()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.damaged
}

// read loads the file into p; p.mu must be held (or p not yet shared).
func (p *passwords) read() error {
	stamp, err := statefile.StampOf(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		p.hash, p.version, p.stamp = "", "", statefile.Stamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	h := strings.TrimSpace(string(b))
	if _, _, _, err := parsePasswordHash(h); err != nil {
		return fmt.Errorf("password file %s: %w", p.path, err)
	}
	sum := sha256.Sum256([]byte(h))
	p.hash, p.version, p.stamp = h, hex.EncodeToString(sum[:8]), stamp
	p.everSet = true
	return nil
}

// refresh reads the file again if it changed (checked at most once a
// second). A file that became unreadable keeps the old password.
func (p *passwords) refresh() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.checked) < time.Second {
		return
	}
	p.checked = now
	stamp, err := statefile.StampOf(p.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if stamp == p.stamp {
		return
	}
	old := p.version
	if err := p.read(); err != nil {
		if p.damaged != nil {
			p.stamp = stamp
			p.damaged = err
			return
		}
		p.log.Error("password file changed but is unreadable: keeping the old password", "err", err)
		return
	}
	if p.damaged != nil {
		p.damaged = nil
		p.log.Info("password file repaired: login works again")
	}
	if p.version != old {
		p.log.Info("resident password changed on disk: sessions opened with the old one end", lograte.Security())
	}
}

// current is the version of the password in force ("" when none is set).
func (p *passwords) current() string {
	p.refresh()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version
}

// wasSet reports whether a password was in force at any time since start
// (as far as current has looked: at most a second ago).
func (p *passwords) wasSet() bool {
	p.refresh()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.everSet
}

// check reports whether pw is the resident password, and the version it
// matched (for the new session). It hashes: hold the hashQueue's slot.
func (p *passwords) check(pw string) (ok bool, version string) {
	p.refresh()
	p.mu.Lock()
	h, v := p.hash, p.version
	p.mu.Unlock()
	if h == "" || len(pw) > maxPasswordBytes {
		return false, ""
	}
	ok, err := verifyPassword(h, pw)
	if err != nil {
		p.log.Error("verify password", "err", err) // the hash was checked on load; cannot happen
		return false, ""
	}
	return ok, v
}

// setFirst sets the password only if none is set yet (first-run setup), and
// returns the new version. It hashes: hold the hashQueue's slot.
// errPasswordSet when someone else was first.
func (p *passwords) setFirst(pw string) (string, error) {
	if err := checkNewPassword(pw); err != nil {
		return "", err
	}
	p.refresh()
	h, err := hashPassword(pw, defaultArgon)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.read(); err != nil {
		return "", err
	}
	if p.hash != "" {
		return "", errPasswordSet
	}
	if err := statefile.EnsureDir(filepath.Dir(p.path)); err != nil {
		return "", err
	}
	if err := statefile.WriteAtomic(p.path, []byte(h+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save password: %w", err)
	}
	if err := p.read(); err != nil {
		return "", err
	}
	return p.version, nil
}

var errPasswordSet = errors.New("a password is already set: log in with it")
