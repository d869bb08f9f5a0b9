package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testHosts() ([]string, []net.IP) {
	return []string{"doorpi", "doorpi.local", "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(192, 0, 2, 7)}
}

func TestGeneratedCertKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{StateDir: dir, CertFile: "", KeyFile: "", Hosts: testHosts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{StateDir: dir, CertFile: "", KeyFile: "", Hosts: testHosts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("fingerprint after restart = %s, want %s", b.Fingerprint(), a.Fingerprint())
	}
	if len(a.Fingerprint()) != 32*3-1 {
		t.Errorf("fingerprint %q: want 32 colon-separated hex pairs", a.Fingerprint())
	}
	fi, err := os.Stat(filepath.Join(dir, GeneratedKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}

	leaf := a.cert.Leaf
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.IsCA {
		t.Error("generated certificate is a CA; Firefox refuses CA certificates as server certificates")
	}
	for _, name := range []string{"doorpi", "doorpi.local", "localhost", "127.0.0.1", "::1", "192.0.2.7"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not name %s: %v", name, err)
		}
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > certLifetime+2*time.Hour {
		t.Errorf("certificate lifetime %v, want at most %v (Apple's limit)", life, certLifetime)
	}
}

func TestLocalHosts(t *testing.T) {
	dns, ips := LocalHosts()
	if !slices.Contains(dns, "localhost") {
		t.Errorf("LocalHosts() names %v, want localhost among them", dns)
	}
	h, _ := os.Hostname()
	short, _, _ := strings.Cut(strings.ToLower(h), ".")
	if h != "" && !slices.Contains(dns, short+".local") {
		t.Errorf("LocalHosts() names %v, want %s.local among them", dns, short)
	}
	var have []string
	for _, ip := range ips {
		have = append(have, ip.String())
	}
	for _, want := range []string{"127.0.0.1", "::1"} {
		if !slices.Contains(have, want) {
			t.Errorf("LocalHosts() addresses %v, want %s among them", have, want)
		}
	}
}

// writePair writes a fresh self-signed pair to certFile and keyFile.
func writePair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	c, k, err := SelfSigned([]string{"example.test"}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfiguredCertReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writePair(t, certFile, keyFile)
	c, err := New(Config{StateDir: "", CertFile: certFile, KeyFile: keyFile, Hosts: testHosts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	c.now = func() time.Time { return clock }
	first := c.Fingerprint()

	writePair(t, certFile, keyFile)
	if got := c.Fingerprint(); got != first {
		t.Errorf("fingerprint changed before the check interval passed")
	}
	clock = clock.Add(2 * certCheckEvery)
	second := c.Fingerprint()
	if second == first {
		t.Fatal("renewed certificate not picked up")
	}
	got, err := c.getCertificate(&tls.ClientHelloInfo{})
	if err != nil || FingerprintOf(got.Certificate[0]) != second {
		t.Errorf("getCertificate serves %v (err %v), want the renewed certificate", got, err)
	}

	// A half-written file leaves the good certificate in place.
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * certCheckEvery)
	if got := c.Fingerprint(); got != second {
		t.Errorf("after a broken write, fingerprint = %s, want the previous %s", got, second)
	}
}

func TestCertStoreErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	tests := []struct {
		name, state, cert, key, want string
	}{
		{"cert without key", "", bad, "", "together"},
		{"key without cert", "", "", bad, "together"},
		{"unreadable pair", "", bad, bad, "load"},
		{"missing pair", "", filepath.Join(dir, "no"), filepath.Join(dir, "no"), "no such file"},
		{"no state dir", "", "", "", "state directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{StateDir: tt.state, CertFile: tt.cert, KeyFile: tt.key, Hosts: testHosts}, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%q, %q, %q) = %v, want an error containing %q", tt.state, tt.cert, tt.key, err, tt.want)
			}
		})
	}
	t.Run("damaged generated pair", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, GeneratedCertFile), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(dir, GeneratedKeyFile), []byte("x"), 0o600)
		_, err := New(Config{StateDir: dir, CertFile: "", KeyFile: "", Hosts: testHosts}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "delete both files") {
			t.Errorf("newCertStore on damaged files = %v, want an error telling to delete them", err)
		}
	})
}

func TestExpiringGeneratedCertRenewed(t *testing.T) {
	dir := t.TempDir()
	c, k, err := SelfSigned([]string{"old"}, nil, time.Now().Add(-certLifetime+time.Hour*24))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, GeneratedCertFile), c, 0o644)
	os.WriteFile(filepath.Join(dir, GeneratedKeyFile), k, 0o600)
	block, _ := pem.Decode(c)
	old, _ := x509.ParseCertificate(block.Bytes)
	s, err := New(Config{StateDir: dir, CertFile: "", KeyFile: "", Hosts: testHosts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if s.Fingerprint() == FingerprintOf(old.Raw) {
		t.Error("a generated certificate a day from expiry was kept, want a new one")
	}
}

func TestServesTLS(t *testing.T) {
	c, err := New(Config{StateDir: t.TempDir(), CertFile: "", KeyFile: "", Hosts: testHosts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	for _, sni := range []string{"", "localhost"} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err != nil {
			t.Fatal(err)
		}
		st := conn.ConnectionState()
		conn.Close()
		if got := FingerprintOf(st.PeerCertificates[0].Raw); got != c.Fingerprint() {
			t.Errorf("SNI %q: served certificate %s, want %s", sni, got, c.Fingerprint())
		}
		if st.NegotiatedProtocol != "" && st.NegotiatedProtocol != "http/1.1" {
			t.Errorf("SNI %q: negotiated %q, want HTTP/1.1 (WebSockets need it)", sni, st.NegotiatedProtocol)
		}
	}
}

// TestNoCBCSuites: issue 17 item 10. A TLS 1.2 client that offers only the
// CBC suites Go used to accept gets no connection; one offering AES-GCM does.
func TestNoCBCSuites(t *testing.T) {
	c, err := New(Config{StateDir: t.TempDir(), Hosts: testHosts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
		}
	}()
	for _, tt := range []struct {
		name   string
		suites []uint16
		ok     bool
	}{
		{"ECDHE-ECDSA-AES128-SHA", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, false},
		{"ECDHE-ECDSA-AES256-SHA", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}, false},
		{"ECDHE-ECDSA-AES128-SHA256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}, false},
		{"ECDHE-ECDSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"ECDHE-ECDSA-CHACHA20-POLY1305", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
	} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
			InsecureSkipVerify: true,
			MaxVersion:         tls.VersionTLS12,
			CipherSuites:       tt.suites,
		})
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("TLS 1.2 with only %s: err = %v, want success %v", tt.name, err, tt.ok)
		}
	}
}
