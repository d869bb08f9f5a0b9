package web

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/intercomd/intercomd/history"
)

// TestHistoryNeedsSession: the picture and the visitor history answer 401
// without a session and change nothing; with one they answer.
func TestHistoryNeedsSession(t *testing.T) {
	store, err := history.Open(history.Config{Path: filepath.Join(t.TempDir(), "h.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { store.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; store.Close() })
	e := store.Put(history.Entry{Kind: history.KindRing, Outcome: history.OutcomeMissed, Full: []byte("jpeg"), Thumb: []byte("t")})
	id := strconv.FormatInt(e.ID, 10)

	api := history.NewHandler(store, nil, nil)
	ss := startSecure(t, testPassword, func(c *Config) {
		c.Handlers = map[string]http.Handler{}
		for _, p := range api.Patterns() {
			c.Handlers[p] = api
		}
	})
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/events"}, {"GET", "/api/events/" + id}, {"GET", "/api/events/" + id + "/picture.jpg"},
		{"GET", "/api/snapshot.jpg"}, {"DELETE", "/api/events/" + id}, {"DELETE", "/api/events"},
		{"POST", "/api/events/seen"},
	} {
		if resp, body := ss.do(t, r.method, r.path, "", "Origin", ss.base); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a session = %d %s, want 401", r.method, r.path, resp.StatusCode, body)
		}
	}
	if got, err := store.Get(e.ID); err != nil || got.Seen {
		t.Errorf("after refused requests: %+v, %v; want the entry unchanged", got, err)
	}
	cookie := ss.login(t, testPassword)
	if resp, body := ss.do(t, "GET", "/api/events/"+id+"/picture.jpg", "", "Cookie", cookie); resp.StatusCode != 200 || body != "jpeg" {
		t.Errorf("picture with a session = %d %q", resp.StatusCode, body)
	}
}
