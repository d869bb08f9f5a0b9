package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/intercomd/intercomd/device"
)

func TestGet(t *testing.T) {
	want := Report{Version: "1.2", Users: 2, Device: device.Status{Name: "door", State: "incall", Peer: "alice", Registered: true},
		GPIO: "sim", Media: Media{Sources: map[string]string{"video": "test pattern"}, Speaker: Speaker{Samples: 9, NonSilent: 4}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			json.NewEncoder(w).Encode(want)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	got, err := Get(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatalf("Get() error %v", err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("Get() = %s, want %s", a, b)
	}
	// The keys readers outside Go (the browser client) depend on.
	for _, key := range []string{`"version":"1.2"`, `"users":2`, `"device":{"name":"door","state":"incall","peer":"alice","registered":true}`, `"gpio":"sim"`, `"speaker":{"samples":9,"nonsilent":4}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("Report JSON %s lacks %s", b, key)
		}
	}
	if _, err := Get(context.Background(), srv.Client(), srv.URL+"/missing"); err == nil {
		t.Error("Get() of a 404 = nil error, want one")
	}
}
