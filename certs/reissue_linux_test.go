package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/netnstest"
)

// TestReissueOnAddressChange: intercomd started before the network gave
// the machine its address back (a Pi booting), so its certificate lacks
// it; when the address comes, a new certificate is issued and served to new
// connections, while a connection already open keeps working. It changes
// addresses, so it runs in a network namespace of its own.
func TestReissueOnAddressChange(t *testing.T) {
	if os.Getenv("INTERCOMD_NETNS") == "" {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Fatalf("ip not found: install iproute2 (build/deps.sh test): %v", err)
		}
		netnstest.Rerun(t, "^TestReissueOnAddressChange$", "INTERCOMD_NETNS=1")
		return
	}
	const lan = "192.0.2.10"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip("link", "set", "lo", "up")
	ip("addr", "add", lan+"/32", "dev", "lo")
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	// First start, network up: the CA is made for the LAN address too.
	if _, err := New(Config{StateDir: dir}, log); err != nil {
		t.Fatal(err)
	}
	// The next boot: intercomd starts before the address is back.
	ip("addr", "del", lan+"/32", "dev", "lo")
	store, err := New(Config{StateDir: dir, CheckHosts: 50 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	if !store.CA().Permits(lan) {
		t.Fatalf("the CA does not permit %s, the address it was made with", lan)
	}
	ln, err := tls.Listen("tcp", ":0", store.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- store.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pool := x509.NewCertPool()
	pool.AddCert(store.CA().Cert)
	open := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(c *http.Client, url string) (*http.Response, bool, error) {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, reused, err
	}
	// A phone connected by name before the address came back.
	resp, _, err := get(open, "https://localhost:"+port+"/")
	if err != nil {
		t.Fatal(err)
	}
	old := resp.TLS.PeerCertificates[0]
	if slices.ContainsFunc(old.IPAddresses, func(a net.IP) bool { return a.String() == lan }) {
		t.Fatalf("the certificate names %s, which this machine did not have at start", lan)
	}

	ip("addr", "add", lan+"/32", "dev", "lo")
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, _, err := get(fresh, "https://"+lan+":"+port+"/")
		if err == nil {
			if resp.TLS.PeerCertificates[0].Equal(old) {
				t.Fatalf("verified %s with the old certificate", lan)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://%s: %v; want a certificate naming it once the address is back", lan, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if store.Fingerprint() == FingerprintOf(old.Raw) {
		t.Errorf("Fingerprint() still the old certificate's")
	}
	// The connection opened before goes on, with its certificate.
	resp, reused, err := get(open, "https://localhost:"+port+"/")
	if err != nil || !reused || !resp.TLS.PeerCertificates[0].Equal(old) {
		t.Errorf("the open connection after the re-issue: err %v, reused %v; want it kept, with the old certificate", err, reused)
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
