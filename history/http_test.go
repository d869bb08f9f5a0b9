package history

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, srv *httptest.Server, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHTTP(t *testing.T) {
	s := open(t, Config{})
	srv := httptest.NewServer(NewHandler(s, &camera{}, nil))
	defer srv.Close()
	var ids []int64
	for i := range 5 {
		e := s.Put(Entry{At: time.Now().Add(time.Duration(i-10) * time.Minute), Kind: KindRing, Outcome: OutcomeMissed,
			Full: []byte("full"), Thumb: []byte("thumb")})
		ids = append(ids, e.ID)
	}
	flushed(t, s)

	code, body := get(t, srv, "GET", "/api/events?limit=2")
	var p Page
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || len(p.Events) != 2 || p.Events[0].ID != ids[4] || p.Next != ids[3] || p.Unseen != 5 {
		t.Fatalf("GET /api/events?limit=2 = %d %s", code, body)
	}
	code, body = get(t, srv, "GET", "/api/events?before="+strconv.FormatInt(p.Next, 10)+"&limit=10")
	p = Page{}
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || len(p.Events) != 3 || p.Events[0].ID != ids[2] || p.Next != 0 {
		t.Fatalf("second page = %d %s", code, body)
	}
	id := strconv.FormatInt(ids[0], 10)
	if code, body := get(t, srv, "GET", "/api/events/"+id+"/thumb.jpg"); code != 200 || body != "thumb" {
		t.Errorf("thumb = %d %q", code, body)
	}
	if code, body := get(t, srv, "GET", "/api/events/"+id+"/picture.jpg"); code != 200 || body != "full" {
		t.Errorf("picture = %d %q", code, body)
	}
	if code, body := get(t, srv, "GET", "/api/snapshot.jpg"); code != 200 || !strings.HasPrefix(body, "\xff\xd8") {
		t.Errorf("snapshot = %d %q", code, body)
	}

	// Bad input: a clear 4xx and nothing changes.
	for _, bad := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/api/events?limit=0", 400},
		{"GET", "/api/events?limit=201", 400},
		{"GET", "/api/events?limit=x", 400},
		{"GET", "/api/events?before=-1", 400},
		{"GET", "/api/events?before=99999999999999999999", 400},
		{"GET", "/api/events?page=2", 400},
		{"GET", "/api/events/abc", 400},
		{"GET", "/api/events/0", 400},
		{"GET", "/api/events/+5", 400},
		{"GET", "/api/events/12345", 404},
		{"DELETE", "/api/events/12345", 404},
		{"DELETE", "/api/events/-3", 400},
		{"DELETE", "/api/events?all=1", 400},
		{"GET", "/api/events/12345/picture.jpg", 404},
		{"POST", "/api/events/seen?upto=x", 400},
		{"POST", "/api/events", 405},
		{"GET", "/api/snapshot.jpg?w=1", 400},
	} {
		if code, body := get(t, srv, bad.method, bad.path); code != bad.code {
			t.Errorf("%s %s = %d %q, want %d", bad.method, bad.path, code, body, bad.code)
		}
	}
	if got, _ := s.List(0, 100); len(got) != 5 {
		t.Fatalf("after bad requests %d entries, want 5", len(got))
	}
	if n, _ := s.Unseen(); n != 5 {
		t.Errorf("after bad requests %d unseen, want 5", n)
	}

	if code, _ := get(t, srv, "POST", "/api/events/seen?upto="+id); code != 204 {
		t.Errorf("seen = %d", code)
	}
	if n, _ := s.Unseen(); n != 4 {
		t.Errorf("unseen after marking the oldest = %d, want 4", n)
	}
	if code, _ := get(t, srv, "DELETE", "/api/events/"+id); code != 204 {
		t.Errorf("delete = %d", code)
	}
	if _, err := s.Get(ids[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DELETE: Get = %v", err)
	}
	if code, _ := get(t, srv, "DELETE", "/api/events"); code != 204 {
		t.Errorf("clear = %d", code)
	}
	if got, _ := s.List(0, 100); len(got) != 0 {
		t.Errorf("after clear: %d entries", len(got))
	}
}

// TestHTTPOff: without a history or a camera, a clear 503.
func TestHTTPOff(t *testing.T) {
	srv := httptest.NewServer(NewHandler(nil, nil, nil))
	defer srv.Close()
	for _, p := range []string{"/api/events", "/api/events/5", "/api/snapshot.jpg"} {
		if code, _ := get(t, srv, "GET", p); code != 503 {
			t.Errorf("GET %s with the history off = %d, want 503", p, code)
		}
	}
}
