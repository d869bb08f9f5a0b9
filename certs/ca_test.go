package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	testDNS = []string{"doorpi", "doorpi.local", "localhost"}
	testIPs = []net.IP{net.ParseIP("127.0.0.1").To4(), net.ParseIP("::1"), net.ParseIP("192.168.1.23").To4(), net.ParseIP("fd00::23")}
)

func roots(ca *CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func TestCAIssuesForEveryLocalName(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, made, err := LoadCA(dir, testDNS, testIPs, now)
	if err != nil || !made {
		t.Fatalf("LoadCA = %v, made %v", err, made)
	}
	if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || !ca.Cert.PermittedDNSDomainsCritical {
		t.Errorf("CA: IsCA %v, MaxPathLenZero %v, constraints critical %v; want all true", ca.Cert.IsCA, ca.Cert.MaxPathLenZero, ca.Cert.PermittedDNSDomainsCritical)
	}
	if got := strings.Join(ca.Cert.PermittedDNSDomains, ","); got != strings.Join(testDNS, ",") {
		t.Errorf("permitted names %q, want %q", got, testDNS)
	}
	if len(ca.Cert.PermittedIPRanges) != len(testIPs) {
		t.Errorf("permitted ranges %v, want one per address %v", ca.Cert.PermittedIPRanges, testIPs)
	}
	certPEM, keyPEM, dropped, err := ca.Issue(testDNS, append(testIPs, net.ParseIP("10.9.9.9")), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0] != "10.9.9.9" {
		t.Errorf("dropped %v, want the address the CA does not cover", dropped)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 2 {
		t.Errorf("chain of %d certificates, want leaf and CA", len(pair.Certificate))
	}
	leaf := pair.Leaf
	for _, name := range append(append([]string{}, testDNS...), "127.0.0.1", "::1", "192.168.1.23", "fd00::23") {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots(ca), CurrentTime: now}); err != nil {
			t.Errorf("leaf for %s: %v", name, err)
		}
	}
	for _, name := range []string{"10.9.9.9", "example.com"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots(ca), CurrentTime: now}); err == nil {
			t.Errorf("leaf verifies for %s, which it must not name", name)
		}
	}

	// A restart loads the same CA; the key is the service's alone.
	again, made, err := LoadCA(dir, []string{"other"}, nil, now)
	if err != nil || made || !again.Cert.Equal(ca.Cert) {
		t.Errorf("LoadCA again = %v, made %v, same %v; want the same CA", err, made, again != nil && again.Cert.Equal(ca.Cert))
	}
	if fi, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// TestCACannotSignForOtherNames uses the CA's key directly, as a thief of
// the key would: whatever it signs for a name outside the constraints, and
// any intermediate CA it makes, fails verification.
func TestCACannotSignForOtherNames(t *testing.T) {
	now := time.Now()
	ca, _, err := LoadCA(t.TempDir(), testDNS, testIPs, now)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(tmpl *x509.Certificate) *x509.Certificate {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.BasicConstraintsValid = true
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		tmpl *x509.Certificate
		host string
	}{
		{"bank", &x509.Certificate{Subject: pkix.Name{CommonName: "bank.example.com"}, DNSNames: []string{"bank.example.com"}}, "bank.example.com"},
		{"router", &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("192.168.1.1")}}, "192.168.1.1"},
		{"one good name and a bad one", &x509.Certificate{DNSNames: []string{"doorpi.local", "evil.example"}}, "doorpi.local"},
		{"look-alike", &x509.Certificate{DNSNames: []string{"doorpi.local.evil.example"}}, "doorpi.local.evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			c := sign(tt.tmpl)
			_, err := c.Verify(x509.VerifyOptions{DNSName: tt.host, Roots: roots(ca), CurrentTime: now})
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
				t.Errorf("Verify(%s) = %v, want CANotAuthorizedForThisName", tt.host, err)
			}
		})
	}
	t.Run("intermediate", func(t *testing.T) {
		sub := sign(&x509.Certificate{IsCA: true, KeyUsage: x509.KeyUsageCertSign, Subject: pkix.Name{CommonName: "sub"}})
		leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			DNSNames: []string{"doorpi.local"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, sub, &leafKey.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		inter := x509.NewCertPool()
		inter.AddCert(sub)
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "doorpi.local", Roots: roots(ca), Intermediates: inter, CurrentTime: now}); err == nil {
			t.Errorf("a CA made by our CA verifies; MaxPathLen 0 must forbid it")
		}
	})
}

func TestCABrokenFilesAreAnError(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadCA(dir, testDNS, testIPs, time.Now()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, caKeyFile), []byte("garbage"), 0o600)
	if _, _, err := LoadCA(dir, testDNS, testIPs, time.Now()); err == nil {
		t.Errorf("LoadCA with a broken key = nil error, want one (never a silent new CA)")
	}
	os.Remove(filepath.Join(dir, caKeyFile))
	if _, _, err := LoadCA(dir, testDNS, testIPs, time.Now()); err == nil {
		t.Errorf("LoadCA with the key missing = nil error, want one")
	}
}

func TestMobileConfig(t *testing.T) {
	ca, _, err := LoadCA(t.TempDir(), testDNS, testIPs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mc := string(ca.MobileConfig())
	for _, want := range []string{"com.apple.security.root", "<data>", "PayloadUUID"} {
		if !strings.Contains(mc, want) {
			t.Errorf("mobileconfig lacks %q", want)
		}
	}
	if strings.Contains(mc, "PRIVATE KEY") {
		t.Errorf("mobileconfig holds a private key")
	}
}
