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
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/wire"

	"github.com/intercomd/intercomd/health"
)

// text returns m's Text as a string when it is a JSON string.
func text(m wire.Message) string {
	s, _ := m.TextString()
	return s
}

// brief shows m in a log line, its text cut short.
func brief(m wire.Message) string {
	t := string(m.Text)
	if len(t) > 60 {
		t = t[:60] + "..."
	}
	return fmt.Sprintf("{%s %s status=%q from=%q reason=%q}", m.Type, t, m.Status, m.From, m.Reason)
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
	deadline := time.Now().Add(timeout)
	for {
		if pid > 0 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", pid)); err != nil {
				return fmt.Errorf("intercomd (pid %d) exited before %s answered (its log is below)", pid, base)
			}
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil && strings.Contains(string(b), "State:\tZ") {
				return fmt.Errorf("intercomd (pid %d) exited before %s answered (its log is below)", pid, base)
			}
		}
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer within %v: %v", base, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// login sets the resident password on first use (allowed from loopback)
// or logs in with it; the session cookie lands in c's jar.
func login(c *http.Client, base, password string) error {
	body, _ := json.Marshal(map[string]string{"password": password})
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
	deadline := time.Now().Add(timeout)
	for {
		got, _, err := healthz(c, base)
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("door state %q (%v) after %v, want %q", got, err, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signaller is one WebSocket on the hub.
type signaller struct {
	conn *websocket.Conn
	in   chan wire.Message

	mu      sync.Mutex // guards writes to conn and onICE
	onICE   func(json.RawMessage)
	pending []wire.Message // received but not yet expected; expect's goroutine only
	closed  chan struct{}
}

// dial opens the hub's WebSocket with c's session cookie.
func dial(c *http.Client, base string) (*signaller, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"https": "wss", "http": "ws"}[u.Scheme]
	u.Path = "/ws"
	d := websocket.Dialer{
		Jar:              c.Jar,
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: true}, // the VM's own self-signed daemon
		HandshakeTimeout: 10 * time.Second,
	}
	conn, resp, err := d.Dial(u.String(), nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket %s: %s: %w", u, resp.Status, err)
		}
		return nil, fmt.Errorf("websocket %s: %w", u, err)
	}
	s := &signaller{conn: conn, in: make(chan wire.Message, 256), closed: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *signaller) read() {
	defer close(s.closed)
	for {
		var m wire.Message
		if err := s.conn.ReadJSON(&m); err != nil {
			return
		}
		if m.Type == wire.TypeICE {
			s.mu.Lock()
			f := s.onICE
			s.mu.Unlock()
			if f != nil {
				f(m.Text)
			}
			continue
		}
		s.in <- m
	}
}

// setICE routes the remote ICE candidates of the current call to f.
func (s *signaller) setICE(f func(json.RawMessage)) {
	s.mu.Lock()
	s.onICE = f
	s.mu.Unlock()
}

func (s *signaller) send(m wire.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return s.conn.WriteJSON(m)
}

// expect returns the first message (already received or arriving within
// timeout) for which match is true; the others wait for a later expect.
func (s *signaller) expect(what string, timeout time.Duration, match func(wire.Message) bool) (wire.Message, error) {
	for i, m := range s.pending {
		if match(m) {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return m, nil
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m := <-s.in:
			if match(m) {
				return m, nil
			}
			if m.Type == wire.TypeError {
				fmt.Printf("client: hub error while waiting for %s: %s\n", what, brief(m))
			}
			s.pending = append(s.pending, m)
		case <-s.closed:
			return wire.Message{}, fmt.Errorf("the hub closed the WebSocket while the client waited for %s", what)
		case <-t.C:
			var got []string
			for _, m := range s.pending {
				if m.Type != wire.TypeGetUsers && m.Type != wire.TypeUsersDelta {
					got = append(got, brief(m))
				}
			}
			return wire.Message{}, fmt.Errorf("no %s within %v (got instead: %v)", what, timeout, got)
		}
	}
}

// register takes name on the hub.
func (s *signaller) register(name string) error {
	if err := s.send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote(name)}); err != nil {
		return err
	}
	m, err := s.expect("Register reply", 10*time.Second, func(m wire.Message) bool { return m.Type == wire.TypeRegister })
	if err != nil {
		return err
	}
	if m.Status != "OK" {
		return fmt.Errorf("register %q: %s %s", name, m.Status, m.Reason)
	}
	return nil
}

func (s *signaller) close() { s.conn.Close() }
