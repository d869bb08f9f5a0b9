package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// Files of intercomd's own certificate authority in the state directory.
// The key never leaves the machine: it is read by the service only (0600),
// never served and never logged.
const (
	caCertFile = "ca-cert.pem"
	caKeyFile  = "ca-key.pem"
)

// caLifetime: the resident installs the CA once; ten years spares them
// doing it again. Leaves it issues are short and renewed by intercomd.
const caLifetime = 10 * 365 * 24 * time.Hour

// CA is intercomd's own certificate authority. Phones trust it once (the
// login page offers it for download), and it issues the server's
// certificate. It is name-constrained to this machine's names and
// addresses, so a phone that trusts it trusts it for this door and nothing
// else: even with its key, no one can make a certificate the phone accepts
// for a bank or for the router.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// LoadCA loads the CA from dir, or makes it there for the given names and
// addresses (see LocalHosts) on first start. An existing CA that does not
// load is an error, never replaced silently: every phone trusts the old one.
func LoadCA(dir string, dns []string, ips []net.IP, now time.Time) (ca *CA, made bool, err error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	switch {
	case errC == nil && errK == nil:
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, false, fmt.Errorf("tls: CA in %s: %w (delete %s and %s to make a new one; every phone must then trust the new one)", dir, err, caCertFile, caKeyFile)
		}
		return ca, false, nil
	case errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist):
	default:
		return nil, false, fmt.Errorf("tls: CA in %s: %w (both %s and %s are needed)", dir, errors.Join(errC, errK), caCertFile, caKeyFile)
	}
	certPEM, keyPEM, err = makeCA(dns, ips, now)
	if err != nil {
		return nil, false, err
	}
	if err := statefile.EnsureDir(dir); err != nil {
		return nil, false, err
	}
	// Key first: a crash between the two leaves no certificate without key.
	if err := statefile.WriteAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, fmt.Errorf("tls: save CA key: %w", err)
	}
	if err := statefile.WriteAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, false, fmt.Errorf("tls: save CA certificate: %w", err)
	}
	ca, err = parseCA(certPEM, keyPEM)
	return ca, true, err
}

func makeCA(dns []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make CA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make serial: %w", err)
	}
	cn := "intercomd CA"
	if len(dns) > 0 {
		cn += " " + dns[0]
	}
	var ranges []*net.IPNet
	for _, ip := range ips {
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		ranges = append(ranges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"intercomd"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves, never another CA
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		// RFC 5280 4.2.1.10: name constraints are critical, so a client that
		// cannot check them refuses the CA rather than trusting it for all.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         dns,
		PermittedIPRanges:           ranges,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encode CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("key does not match the certificate")
	}
	if !cert.IsCA {
		return nil, errors.New("certificate is not a CA")
	}
	return &CA{Cert: cert, key: signer, pem: pem.EncodeToMemory(cb)}, nil
}

// PEM is the CA certificate, PEM encoded (what Linux and Firefox import).
func (ca *CA) PEM() []byte { return ca.pem }

// DER is the CA certificate (the .crt Android and Windows install).
func (ca *CA) DER() []byte { return ca.Cert.Raw }

// Fingerprint is the CA certificate's SHA-256 fingerprint as phones show
// it, for the resident to compare with the log and the login page.
func (ca *CA) Fingerprint() string { return FingerprintOf(ca.Cert.Raw) }

// Permits reports whether the CA's name constraints allow name (a DNS name
// or an IP address).
func (ca *CA) Permits(name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		return slices.ContainsFunc(ca.Cert.PermittedIPRanges, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
	name = strings.ToLower(name)
	return slices.ContainsFunc(ca.Cert.PermittedDNSDomains, func(d string) bool {
		d = strings.ToLower(d)
		return name == d || strings.HasSuffix(name, "."+d)
	})
}

// Issue makes a server certificate for the names and addresses the CA
// permits; the ones it does not (an address the machine got after the CA
// was made) are returned in dropped, for the log.
func (ca *CA) Issue(dns []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, dropped []string, err error) {
	var okDNS []string
	var okIPs []net.IP
	for _, n := range dns {
		if ca.Permits(n) {
			okDNS = append(okDNS, n)
		} else {
			dropped = append(dropped, n)
		}
	}
	for _, ip := range ips {
		if ca.Permits(ip.String()) {
			okIPs = append(okIPs, ip)
		} else {
			dropped = append(dropped, ip.String())
		}
	}
	if len(okDNS)+len(okIPs) == 0 {
		return nil, nil, dropped, errors.New("tls: the CA permits none of this machine's names")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: make key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: make serial: %w", err)
	}
	cn := "intercomd"
	if len(okDNS) > 0 {
		cn += " " + okDNS[0]
	}
	notAfter := now.Add(certLifetime)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"intercomd"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              okDNS,
		IPAddresses:           okIPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: issue certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: encode key: %w", err)
	}
	// The chain: the leaf, then the CA, so a client that has the CA as a
	// root builds the path without fetching anything.
	var chain bytes.Buffer
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain.Write(ca.pem)
	return chain.Bytes(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), dropped, nil
}

// MobileConfig is an iOS/iPadOS configuration profile that installs the CA
// (Settings, Profile Downloaded, Install; then General, About, Certificate
// Trust Settings, full trust). It is unsigned: iOS says "Not Verified",
// which is why the login page shows the fingerprint to compare.
func (ca *CA) MobileConfig() []byte {
	uuid := func(b []byte) string {
		return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	// Ids derived from the CA, so installing the same one again replaces it.
	sum := sha256.Sum256(ca.Cert.Raw)
	id1, id2 := uuid(sum[:16]), uuid(sum[16:])
	var esc bytes.Buffer
	xml.EscapeText(&esc, []byte(ca.Cert.Subject.CommonName))
	name := esc.String()
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>intercomd-ca.crt</string>
			<key>PayloadContent</key>
			<data>` + base64.StdEncoding.EncodeToString(ca.Cert.Raw) + `</data>
			<key>PayloadDescription</key>
			<string>Lets this device trust the intercom at home, and nothing else.</string>
			<key>PayloadDisplayName</key>
			<string>` + name + `</string>
			<key>PayloadIdentifier</key>
			<string>org.intercomd.ca.` + id2 + `</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>` + id2 + `</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDisplayName</key>
	<string>Intercom certificate (` + name + `)</string>
	<key>PayloadIdentifier</key>
	<string>org.intercomd.profile.` + id1 + `</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>` + id1 + `</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
`)
}

// reissue says why the generated certificate must be replaced, or "": it
// expires soon, the CA did not issue it (a self-signed one from before
// intercomd had a CA), or the machine's names and addresses changed.
func (c *Store) reissue(leaf *x509.Certificate, hosts func() (dns []string, ips []net.IP)) string {
	if !c.now().Add(certRenewBefore).Before(leaf.NotAfter) {
		return "it expires soon"
	}
	if leaf.CheckSignatureFrom(c.ca.Cert) != nil {
		return "the certificate authority did not issue it"
	}
	dns, ips := hosts()
	want := map[string]bool{}
	for _, n := range dns {
		if c.ca.Permits(n) {
			want[strings.ToLower(n)] = true
		}
	}
	for _, ip := range ips {
		if c.ca.Permits(ip.String()) {
			want[ip.String()] = true
		}
	}
	have := map[string]bool{}
	for _, n := range leaf.DNSNames {
		have[strings.ToLower(n)] = true
	}
	for _, ip := range leaf.IPAddresses {
		have[ip.String()] = true
	}
	if !maps.Equal(want, have) {
		return "this machine's names or addresses changed"
	}
	return ""
}

// CA is the certificate authority that issues the generated certificate,
// or nil (a configured pair, or safe mode's certificate in memory).
func (c *Store) CA() *CA { return c.ca }
