// Package certs owns intercomd's TLS certificates: the pair the maker
// configured, or one intercomd makes itself in the state directory and
// renews; either is watched and reloaded when its files change. The server
// (package web) only asks it for a tls.Config and the fingerprint to show.
// A certificate authority of intercomd's own would go beside Store, in a
// file of its own, with Store signing its leaf with it instead of
// SelfSigned.
package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// Files of the generated certificate in the state directory (the docs
// name them: deleting both makes a new certificate).
const (
	GeneratedCertFile = "tls-cert.pem"
	GeneratedKeyFile  = "tls-key.pem"
)

const (
	// certLifetime is the longest validity Apple's platforms accept for a
	// TLS server certificate (825 days), so iPhones can trust it too.
	certLifetime = 825 * 24 * time.Hour
	// certRenewBefore: a generated certificate this close to expiry is
	// replaced at start (the log shows the new fingerprint).
	certRenewBefore = 30 * 24 * time.Hour
	// certCheckEvery bounds how often a handshake looks at the files.
	certCheckEvery = time.Second
)

// Config says where the certificate comes from.
type Config struct {
	// StateDir keeps the generated pair (tls-cert.pem, tls-key.pem).
	// Required unless CertFile and KeyFile are set.
	StateDir string
	// CertFile and KeyFile are a configured pair (PEM), both or neither;
	// reloaded when they change.
	CertFile, KeyFile string
	// Hosts lists the names and addresses a generated certificate is for;
	// nil: LocalHosts.
	Hosts func() (dns []string, ips []net.IP)
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// CheckHosts is how often Run looks at the names and addresses for
	// the generated certificate; 0: every 30 s.
	CheckHosts time.Duration
}

// Store hands out the server's certificate. It is either a pair the maker
// configured or one intercomd made in the state directory on first start; in
// both cases the files are watched (stat on handshakes, at most once a
// second), so a renewed certificate is served without a restart.
type Store struct {
	log               *slog.Logger
	certFile, keyFile string
	now               func() time.Time
	ca                *CA // issues the generated certificate; nil for a configured pair
	stateDir          string
	hosts             func() (dns []string, ips []net.IP)
	checkHosts        time.Duration

	mu          sync.Mutex // guards the fields below
	cert        *tls.Certificate
	fingerprint string
	stamp       [2]statefile.Stamp // of the files cert was loaded from
	checked     time.Time          // last time the files were looked at
	badStamp    [2]statefile.Stamp // last stamps that failed to load (logged once)
}

// New loads the configured pair, or else the generated pair in
// cfg.StateDir, making it first if it is missing or about to expire. A
// pair that exists but does not load is an error naming the files.
func New(cfg Config, log *slog.Logger) (*Store, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("tls: tls_cert and tls_key must be given together")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Hosts == nil {
		cfg.Hosts = LocalHosts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CheckHosts <= 0 {
		cfg.CheckHosts = 30 * time.Second
	}
	c := &Store{log: log, certFile: cfg.CertFile, keyFile: cfg.KeyFile, now: cfg.Now,
		stateDir: cfg.StateDir, hosts: cfg.Hosts, checkHosts: cfg.CheckHosts}
	if c.certFile == "" {
		if cfg.StateDir == "" {
			return nil, errors.New("tls: no state directory for the generated certificate")
		}
		c.certFile = filepath.Join(cfg.StateDir, GeneratedCertFile)
		c.keyFile = filepath.Join(cfg.StateDir, GeneratedKeyFile)
		dns, ips := cfg.Hosts()
		ca, made, err := LoadCA(cfg.StateDir, dns, ips, c.now())
		if err != nil {
			return nil, err
		}
		if made {
			log.Info("made a certificate authority for this machine: install it on each phone (the login page has it)",
				"file", filepath.Join(cfg.StateDir, caCertFile), "ca_fingerprint", ca.Fingerprint(),
				"names", strings.Join(dns, ","), "addresses", fmt.Sprint(ips))
		}
		c.ca = ca
		if err := c.ensureGenerated(cfg.StateDir, cfg.Hosts); err != nil {
			return nil, err
		}
	}
	stamp, err := statPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, err
	}
	c.set(cert, stamp)
	c.checked = c.now()
	return c, nil
}

// Ephemeral is a Store with a self-signed certificate made in memory, never
// saved and never reloaded: what the server falls back to when the
// certificate files do not load (safe mode), so the door keeps working
// while logins are refused (no resident could check its fingerprint).
func Ephemeral(hosts func() (dns []string, ips []net.IP), log *slog.Logger) (*Store, error) {
	if hosts == nil {
		hosts = LocalHosts
	}
	dns, ips := hosts()
	certPEM, keyPEM, err := SelfSigned(dns, ips, time.Now())
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: ephemeral certificate: %w", err)
	}
	c := &Store{log: log, now: time.Now}
	c.set(&cert, [2]statefile.Stamp{})
	return c, nil
}

// CertFile is the certificate file being served (for the log and the docs
// a resident follows to compare fingerprints).
func (c *Store) CertFile() string { return c.certFile }

// ensureGenerated issues a new pair from the CA unless a usable one exists.
// An existing pair that does not load is an error, not a silent
// replacement: a new certificate means a new fingerprint, and the resident
// should know why.
func (c *Store) ensureGenerated(stateDir string, hosts func() (dns []string, ips []net.IP)) error {
	_, errC := os.Stat(c.certFile)
	_, errK := os.Stat(c.keyFile)
	switch {
	case errC == nil && errK == nil:
		cert, err := loadPair(c.certFile, c.keyFile)
		if err != nil {
			return fmt.Errorf("%w (delete both files to make a new certificate)", err)
		}
		why := c.reissue(cert.Leaf, hosts)
		if why == "" {
			return nil
		}
		c.log.Warn("making a new certificate: "+why, "not_after", cert.Leaf.NotAfter)
	case errors.Is(errC, fs.ErrNotExist) || errors.Is(errK, fs.ErrNotExist):
	default:
		return fmt.Errorf("tls: %w", errors.Join(errC, errK))
	}
	dns, ips := hosts()
	certPEM, keyPEM, dropped, err := c.ca.Issue(dns, ips, c.now())
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		c.log.Warn("the certificate authority does not cover these names and addresses (it was made before they were this machine's); "+
			"delete ca-cert.pem and ca-key.pem from the state directory to make one that does (every phone must then trust the new one)",
			"left_out", strings.Join(dropped, ","))
	}
	if err := statefile.EnsureDir(stateDir); err != nil {
		return err
	}
	// Key first: a crash between the two leaves a pair that fails to load
	// loudly rather than a certificate without its key.
	if err := statefile.WriteAtomic(c.keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("tls: save key: %w", err)
	}
	if err := statefile.WriteAtomic(c.certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("tls: save certificate: %w", err)
	}
	c.log.Info("issued the server certificate", "file", c.certFile, "names", strings.Join(dns, ","), "addresses", fmt.Sprint(ips))
	return nil
}

// SelfSigned makes a self-signed ECDSA P-256 server certificate for the given
// names and addresses, PEM encoded.
func SelfSigned(dns []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make serial: %w", err)
	}
	cn := "intercomd"
	if len(dns) > 0 {
		cn += " " + dns[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"intercomd"}},
		NotBefore:    now.Add(-time.Hour), // tolerate a phone whose clock is a little behind
		NotAfter:     now.Add(certLifetime),
		// A leaf, not a CA: Firefox refuses a CA certificate used as a server's.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// LocalHosts is what a generated certificate names: the hostname, its .local
// (mDNS) name, localhost, and every address of this machine. Link-local IPv6
// addresses are left out: they need a zone, which a certificate cannot say.
func LocalHosts() (dns []string, ips []net.IP) {
	seen := map[string]bool{}
	addName := func(n string) {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && !seen[n] {
			seen[n] = true
			dns = append(dns, n)
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		addName(h)
		short, _, _ := strings.Cut(h, ".")
		addName(short + ".local")
	}
	addName("localhost")
	addIP := func(ip net.IP) {
		if ip == nil || ip.IsLinkLocalUnicast() || seen[ip.String()] {
			return
		}
		seen[ip.String()] = true
		ips = append(ips, ip)
	}
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				addIP(n.IP)
			}
		}
	}
	return dns, ips
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
	}
	return &cert, nil // Go fills cert.Leaf since 1.23
}

func statPair(certFile, keyFile string) ([2]statefile.Stamp, error) {
	c, err := statefile.StampOf(certFile)
	if err != nil {
		return [2]statefile.Stamp{}, err
	}
	k, err := statefile.StampOf(keyFile)
	return [2]statefile.Stamp{c, k}, err
}

// set installs cert; c.mu must be held (or c not yet shared).
func (c *Store) set(cert *tls.Certificate, stamp [2]statefile.Stamp) {
	c.cert = cert
	c.stamp = stamp
	c.fingerprint = FingerprintOf(cert.Certificate[0])
}

// FingerprintOf is the SHA-256 of the DER certificate as browsers show it:
// uppercase hex pairs joined by colons.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// reload looks at the files (at most once per certCheckEvery) and loads them
// again when they changed. A pair that fails to load (say, half written)
// leaves the current certificate in place; the failure is logged once.
func (c *Store) reload() {
	if c.certFile == "" {
		return // ephemeral
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) < certCheckEvery {
		return
	}
	c.checked = now
	stamp, err := statPair(c.certFile, c.keyFile)
	if err != nil || stamp == c.stamp || stamp == c.badStamp {
		return
	}
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		c.badStamp = stamp
		c.log.Warn("certificate changed but does not load: still serving the old one", "err", err)
		return
	}
	c.set(cert, stamp)
	c.log.Info("certificate reloaded", "file", c.certFile, "fingerprint", c.fingerprint, "not_after", cert.Leaf.NotAfter)
}

// Run keeps the generated certificate true to this machine until ctx ends:
// every CheckHosts it looks at the names and addresses, and when they
// changed (DHCP gave the Pi its address after intercomd started, or
// another one) it issues a new certificate from the CA and serves it from
// the next handshake on. Connections already open keep theirs. A
// configured pair is the maker's: Run only waits.
func (c *Store) Run(ctx context.Context) error {
	if c.ca == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(c.checkHosts)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			c.mu.Lock()
			leaf := c.cert.Leaf
			c.mu.Unlock()
			if c.reissue(leaf, c.hosts) == "" {
				continue
			}
			if err := c.ensureGenerated(c.stateDir, c.hosts); err != nil {
				c.log.Error("could not issue a new certificate: still serving the old one", "err", err)
				continue
			}
			c.mu.Lock()
			c.checked = time.Time{} // load the new pair now
			c.mu.Unlock()
			c.reload()
		}
	}
}

// getCertificate is tls.Config.GetCertificate.
func (c *Store) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.reload()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

// Fingerprint is the SHA-256 fingerprint of the certificate being served.
func (c *Store) Fingerprint() string {
	c.reload()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fingerprint
}

// TLSConfig serves c's certificate: TLS 1.3, or 1.2 with forward-secret
// AEAD suites only (Suites; no CBC, whose padding has a long history of
// oracles). HTTP/1.1 only: the WebSocket library takes over the connection,
// which HTTP/2 streams do not allow, and HTTP/2 would add per-connection
// state (streams, HPACK tables) a 512 MB Pi does not need for a handful of
// phones.
func (c *Store) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   Suites,
		GetCertificate: c.getCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// Suites are the TLS 1.2 cipher suites served (TLS 1.3's are fixed and all
// AEAD): ECDHE with AES-GCM or ChaCha20-Poly1305, for ECDSA keys (the
// generated certificate) and RSA keys (a configured one).
var Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
