// Package mosquittotest starts Debian's mosquitto on a loopback port for
// tests, with a password file and optionally TLS (certificates made here),
// and gives tests an MQTT client that watches it as Home Assistant would.
//
// It fails the test, never skips it, when mosquitto is missing: CI installs
// it (build/deps.sh test).
package mosquittotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// User and Password are the one account of every broker started here.
const (
	User     = "intercomd"
	Password = "door-secret-7"
)

// Options choose the broker's listener.
type Options struct {
	// TLS serves mqtts with a certificate for 127.0.0.1 and localhost signed
	// by a CA made for the test (Broker.CAFile).
	TLS bool
	// ClientCert makes the broker demand a client certificate signed by the
	// same CA (Broker.CertFile, Broker.KeyFile); implies TLS.
	ClientCert bool
}

// Broker is one mosquitto process on 127.0.0.1.
type Broker struct {
	// URL is mqtt://127.0.0.1:PORT or mqtts://localhost:PORT.
	URL string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// CAFile, CertFile and KeyFile are PEM files for a TLS broker's clients.
	CAFile, CertFile, KeyFile string

	t    testing.TB
	path string
	dir  string
	conf string
	log  *os.File

	mu  sync.Mutex
	cmd *exec.Cmd // guarded by mu; nil while stopped
}

// Path finds mosquitto: $MOSQUITTO, then PATH, then /usr/sbin (Debian puts
// it there, outside a normal user's PATH).
func Path() (string, error) {
	if p := os.Getenv("MOSQUITTO"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", nil
	}
	return "", exec.ErrNotFound
}

// Start runs a broker until the test ends.
func Start(t testing.TB, o Options) *Broker {
	t.Helper()
	path, err := Path()
	if err != nil {
		t.Fatalf("mosquitto not found: install Debian's mosquitto package (build/deps.sh test) or set MOSQUITTO: %v", err)
	}
	b := &Broker{t: t, path: path, dir: t.TempDir()}
	port := freePort(t)
	b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	b.URL = "mqtt://" + b.Addr
	passwd := filepath.Join(b.dir, "passwd")
	if out, err := exec.Command(passwdTool(path), "-b", "-c", passwd, User, Password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous false",
		"password_file " + passwd,
		"persistence false",
		// Started as root (CI), mosquitto would drop to its own user, which
		// cannot read the test's files.
		"user root",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
	}
	if o.TLS || o.ClientCert {
		b.URL = "mqtts://" + net.JoinHostPort("localhost", strconv.Itoa(port))
		conf = append(conf, b.makeCerts(t)...)
		if o.ClientCert {
			conf = append(conf, "require_certificate true")
		}
	}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b.log, err = os.Create(filepath.Join(b.dir, "mosquitto.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			out, _ := os.ReadFile(b.log.Name())
			t.Logf("mosquitto log:\n%s", out)
		}
		b.log.Close()
	})
	b.Restart()
	return b
}

func passwdTool(mosquitto string) string {
	if p, err := exec.LookPath("mosquitto_passwd"); err == nil {
		return p
	}
	return filepath.Join(filepath.Dir(mosquitto), "..", "bin", "mosquitto_passwd")
}

// Kill ends the broker at once (SIGKILL), as a crash or a pulled plug would:
// no will is sent by a clean goodbye, the clients' connections just break.
func (b *Broker) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Kill()
	b.cmd.Wait()
	b.cmd = nil
}

// Restart starts the broker again on the same port (after Kill), with no
// retained messages: it keeps nothing on disk.
func (b *Broker) Restart() {
	b.t.Helper()
	b.mu.Lock()
	if b.cmd != nil {
		b.mu.Unlock()
		b.t.Fatal("mosquittotest: Restart while running")
	}
	cmd := exec.Command(b.path, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	b.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(b.log.Name())
			b.t.Fatalf("mosquitto did not listen on %s: %v\n%s", b.Addr, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// makeCerts writes a CA, a server certificate for localhost and 127.0.0.1
// and a client certificate, and returns mosquitto's lines for them.
func (b *Broker) makeCerts(t testing.TB) []string {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mosquittotest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	b.CAFile = b.writePEM(t, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return b.writePEM(t, name+".pem", "CERTIFICATE", der), b.writePEM(t, name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	cert, key := leaf("server", 2, x509.ExtKeyUsageServerAuth)
	b.CertFile, b.KeyFile = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return []string{"cafile " + b.CAFile, "certfile " + cert, "keyfile " + key}
}

func (b *Broker) writePEM(t testing.TB, name, typ string, der []byte) string {
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TLSConfig is what a client of this broker trusts and presents.
func (b *Broker) TLSConfig(t testing.TB) *tls.Config {
	if b.CAFile == "" {
		return nil
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}
}
