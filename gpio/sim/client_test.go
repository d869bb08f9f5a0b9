package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPressAt: the client presses a button over a real HTTP server, and
// says why when the panel refuses.
func TestPressAt(t *testing.T) {
	p := newPanel(t, door())
	srv := httptest.NewServer(p)
	defer srv.Close()
	if err := PressAt(t.Context(), srv.Client(), srv.URL+"/", "hangup"); err != nil {
		t.Fatalf("PressAt(hangup) = %v", err)
	}
	select {
	case <-p.Button("hangup").Pressed():
	case <-time.After(10 * time.Second):
		t.Fatal("PressAt(hangup): the button saw no press within 10 s")
	}
	err := PressAt(t.Context(), srv.Client(), srv.URL, "doorbell")
	if err == nil || !strings.Contains(err.Error(), `unknown button "doorbell"`) || !strings.Contains(err.Error(), "400") {
		t.Errorf("PressAt(doorbell) = %v, want a 400 naming the unknown button", err)
	}
	if err := PressAt(t.Context(), http.DefaultClient, "http://127.0.0.1:1", "call"); err == nil {
		t.Error("PressAt on a closed port = nil, want an error")
	}
}
