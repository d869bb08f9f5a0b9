package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/intercomd/intercomd/internal/statefile"
)

// vapidKeyFile holds the VAPID private key (PKCS#8 PEM, 0600). Its public
// half is what every browser subscribed with: a new key would orphan every
// subscription, so an unreadable file is an error, never replaced silently.
const vapidKeyFile = "vapid-key.pem"

// vapidKeys is the application server's key pair in the forms the Web Push
// library and the browser take: base64url (no padding) of the raw private
// scalar and of the uncompressed public point.
type vapidKeys struct {
	private string
	public  string
}

// loadVAPID reads the key pair from dir, making it on first start.
func loadVAPID(dir string) (vapidKeys, error) {
	path := filepath.Join(dir, vapidKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return makeVAPID(dir, path)
	}
	if err != nil {
		return vapidKeys{}, fmt.Errorf("push: read VAPID key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return vapidKeys{}, fmt.Errorf("push: %s holds no PEM key (delete it to make a new one; every device must then turn notifications on again)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return vapidKeys{}, fmt.Errorf("push: parse %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return vapidKeys{}, fmt.Errorf("push: %s is not a P-256 key", path)
	}
	return keysOf(ek)
}

func makeVAPID(dir, path string) (vapidKeys, error) {
	if err := statefile.EnsureDir(dir); err != nil {
		return vapidKeys{}, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return vapidKeys{}, fmt.Errorf("push: make VAPID key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return vapidKeys{}, fmt.Errorf("push: encode VAPID key: %w", err)
	}
	if err := statefile.WriteAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return vapidKeys{}, fmt.Errorf("push: save VAPID key: %w", err)
	}
	return keysOf(k)
}

func keysOf(k *ecdsa.PrivateKey) (vapidKeys, error) {
	ek, err := k.ECDH()
	if err != nil {
		return vapidKeys{}, fmt.Errorf("push: VAPID key: %w", err)
	}
	return vapidKeys{
		private: base64.RawURLEncoding.EncodeToString(ek.Bytes()),
		public:  base64.RawURLEncoding.EncodeToString(ek.PublicKey().Bytes()),
	}, nil
}

// Errors of the contact check.
var (
	ErrNoContact  = errors.New("push: push is on but push_contact is not set: give a mailto: or https: address the push services can reach you at (RFC 8292), e.g. push_contact: mailto:you@example.org")
	errBadContact = errors.New("push: push_contact must be a mailto: address (mailto:you@example.org) or an https: URL")
)

// subscriber checks the VAPID contact and turns it into what the library
// puts in the token's "sub" claim: it prefixes "mailto:" itself unless the
// value starts with "https:", so a mailto: contact goes in bare.
func subscriber(contact string) (string, error) {
	contact = strings.TrimSpace(contact)
	if contact == "" {
		return "", ErrNoContact
	}
	u, err := url.Parse(contact)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errBadContact, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "mailto":
		local, domain, ok := strings.Cut(u.Opaque, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(u.Opaque, " ,?<>") {
			return "", fmt.Errorf("%w, and %q is not one", errBadContact, contact)
		}
		return u.Opaque, nil
	case "https":
		if u.Host == "" || u.User != nil {
			return "", fmt.Errorf("%w, and %q is not one", errBadContact, contact)
		}
		return u.String(), nil
	}
	return "", fmt.Errorf("%w, not %q", errBadContact, contact)
}
