package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
)

// feed reads a live panel feed over a real HTTP connection.
type feed struct {
	t    *testing.T
	r    *bufio.Reader
	resp *http.Response
}

func openFeed(t *testing.T, ctx context.Context, url string) *feed {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/panel/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/panel/events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/panel/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &feed{t: t, r: bufio.NewReader(resp.Body), resp: resp}
}

// next is the next state the feed sends.
func (f *feed) next() State {
	f.t.Helper()
	for {
		line, err := f.r.ReadString('\n')
		if err != nil {
			f.t.Fatalf("reading the feed: %v", err)
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var s State
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			f.t.Fatalf("feed sent %q: %v", data, err)
		}
		return s
	}
}

// until reads states until one satisfies ok.
func (f *feed) until(what string, ok func(State) bool) State {
	f.t.Helper()
	for {
		s := f.next()
		if ok(s) {
			return s
		}
		f.t.Logf("waiting for %s; feed sent %+v", what, s)
	}
}

func TestEventsFeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p, err := New(door(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(p)
	srv := httptest.NewServer(p)
	// The panel first: its end ends the feeds that srv.Close waits for.
	defer srv.Close()
	defer stop()

	f := openFeed(t, ctx, srv.URL)
	first := f.next()
	if len(first.Buttons) != 3 || first.LEDs["ringing"] != "off" || first.Relay != "open" {
		t.Fatalf("first event %+v, want the idle panel", first)
	}
	p.Light("ringing").Set(device.LightBlink)
	f.until("ringing blink", func(s State) bool { return s.LEDs["ringing"] == "blink" })
	p.Light("incall").Set(device.LightOn)
	f.until("incall on", func(s State) bool { return s.LEDs["incall"] == "on" })
	p.Relay().Pulse()
	f.until("relay closed", func(s State) bool { return s.Relay == "closed" })

	// Stopping the panel ends the feed, so a server shutdown never waits
	// for it.
	stop()
	done := make(chan error, 1)
	go func() {
		_, err := f.r.ReadString(0)
		done <- err
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("feed still open after the panel closed")
	}
}

func TestEventsFeedLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p, err := New(door(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(p)
	srv := httptest.NewServer(p)
	// The panel first: its end ends the feeds that srv.Close waits for.
	defer srv.Close()
	defer stop()
	for range maxStreams {
		openFeed(t, ctx, srv.URL).next()
	}
	resp, err := http.Get(srv.URL + "/api/panel/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("feed %d: %d, want 503", maxStreams+1, resp.StatusCode)
	}
}
