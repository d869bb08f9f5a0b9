package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/intercomd/intercomd/history"
	"github.com/intercomd/intercomd/internal/poll"
)

// POST /api/door/open pulses the relay and the history says who opened it
// through the API; a GET or a bad name opens nothing.
func TestDoorOpenAPI(t *testing.T) {
	d := startDaemon(t, "gpio:\n  relay:\n    pin: GPIO18\n    pulse: 1s\n")
	post := func(method, query string) int {
		t.Helper()
		req, _ := http.NewRequest(method, d.url+"/api/door/open"+query, nil)
		res, err := d.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post("GET", ""); got != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/door/open: %d, want 405", got)
	}
	if got := post("POST", "?by=%00x"); got != http.StatusBadRequest {
		t.Errorf("POST with a bad name: %d, want 400", got)
	}
	if p := d.panel(); p.Relay != "open" {
		t.Fatalf("relay %q after refused requests, want open", p.Relay)
	}
	if got := post("POST", "?by=alice"); got != http.StatusNoContent {
		t.Fatalf("POST /api/door/open: %d, want 204", got)
	}
	d.waitPanel(func(p panelState) bool { return p.Relay == "closed" }, "the relay powered")
	err := poll.Until(context.Background(), 30*time.Second, 50*time.Millisecond, func() error {
		if e := d.events().Events; len(e) == 0 || e[0].Kind != history.KindOpen || e[0].Peer != "alice" || e[0].Via != "api" {
			return fmt.Errorf("history = %+v, want the opening by alice via api first", e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

}
