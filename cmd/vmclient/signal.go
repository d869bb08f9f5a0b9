package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/wire"
)

// text returns m's Text as a string when it is a JSON string.
func text(m wire.Message) string {
	s, _ := m.TextString()
	return s
}

// newHTTPClient returns a client with a cookie jar that accepts intercomd's
// self-signed certificate: it talks only to the daemon in its own VM.
func newHTTPClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the VM's own self-signed daemon
		},
	}
}

// waitHTTP waits until base answers /healthz over HTTP (a forwarded or
// listening port accepts long before the server is ready), or until the
// process pid (when not 0) is gone.
func waitHTTP(c *http.Client, base string, pid int, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 200*time.Millisecond, func() error {
		if pid > 0 {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil || strings.Contains(string(b), "State:\tZ") {
				return poll.Stop(fmt.Errorf("intercomd (pid %d) exited before %s answered (its log is below)", pid, base))
			}
		}
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return fmt.Errorf("%s/healthz did not answer: %w", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s/healthz did not answer: status %s", base, resp.Status)
		}
		return nil
	})
}

// login sets the resident password on first use (allowed from loopback)
// or logs in with it; the session cookie lands in c's jar.
func login(c *http.Client, base, password string) error {
	body, _ := json.Marshal(map[string]string{"password": password})
	// The password's key derivation is made to be slow: under TCG on a
	// busy host it took over 20 s (the client's usual timeout).
	slow := *c
	slow.Timeout = 2 * time.Minute
	c = &slow
	for _, path := range []string{"/api/setup", "/api/login"} {
		resp, err := c.Post(base+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusConflict && path == "/api/setup":
			continue // a password is set already: log in
		default:
			return fmt.Errorf("login: POST %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
		}
	}
	return errors.New("login: unreachable")
}

// speaker returns the door's speaker counters from /healthz.
func speaker(c *http.Client, base string) (health.Speaker, error) {
	h, err := health.Get(context.Background(), c, base)
	return h.Media.Speaker, err
}

// healthz returns the door's state and capture sources from /healthz.
func healthz(c *http.Client, base string) (state string, sources map[string]string, err error) {
	h, err := health.Get(context.Background(), c, base)
	if err != nil {
		return "", nil, err
	}
	return h.Device.State, h.Media.Sources, nil
}

// waitState waits until /healthz reports the door in state want.
func waitState(c *http.Client, base, want string, timeout time.Duration) error {
	return poll.Until(context.Background(), timeout, 100*time.Millisecond, func() error {
		got, _, err := healthz(c, base)
		if err != nil || got != want {
			return fmt.Errorf("door state %q (%v), want %q", got, err, want)
		}
		return nil
	})
}

// dial opens the hub's WebSocket with c's session cookie and registers as
// name.
func dial(c *http.Client, base, name string) (*resident.Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"https": "wss", "http": "ws"}[u.Scheme]
	u.Path = "/ws"
	return resident.Dial(context.Background(), u.String(), resident.Options{
		Name: name,
		Dialer: &websocket.Dialer{
			Jar:              c.Jar,
			TLSClientConfig:  &tls.Config{InsecureSkipVerify: true}, // the VM's own self-signed daemon
			HandshakeTimeout: 10 * time.Second,
		},
		Logf: func(format string, args ...any) { fmt.Printf("client: "+format+"\n", args...) },
	})
}
