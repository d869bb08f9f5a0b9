package push

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type declined struct {
	call             uint64
	caller, resident string
	everyone         bool
}

// TestDecline: a notification's Decline (its device's token, posted to the
// decline handler) stops that resident's other devices and tells the door;
// when every resident reached has declined, it says so; a token of an ended
// ring, or no token, declines nothing.
func TestDecline(t *testing.T) {
	var mu sync.Mutex
	var got []declined
	f := newFixture(t, func(c *Config) {
		c.Decline = func(call uint64, caller, resident string, everyone bool) {
			mu.Lock()
			got = append(got, declined{call, caller, resident, everyone})
			mu.Unlock()
		}
	})
	ben1, ben2, ann := f.ps.Subscribe(), f.ps.Subscribe(), f.ps.Subscribe()
	f.subscribe(t, "Ben", ben1, nil)
	f.subscribe(t, "Ben", ben2, nil)
	f.subscribe(t, "Ann", ann, nil)
	decline := httptest.NewServer(f.svc.DeclineHandler())
	defer decline.Close()
	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(decline.URL, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	f.svc.Ring(3, time.Now())
	_, r1 := next(t, f, ben1)
	_, r2 := next(t, f, ben2)
	_, ra := next(t, f, ann)
	if r1.Decline == r2.Decline || r1.Decline == ra.Decline {
		t.Fatalf("decline tokens %q %q %q, want one per device", r1.Decline, r2.Decline, ra.Decline)
	}
	for _, body := range []string{`{}`, `{"token":"x"}`, `not json`, `{"token":"` + r1.Decline + `","open":true}`} {
		if code := post(body); code != http.StatusBadRequest && code != http.StatusGone {
			t.Errorf("POST %s = %d, want 400 or 410", body, code)
		}
	}
	if code := post(`{"token":"` + r1.Decline + `"}`); code != http.StatusNoContent {
		t.Fatalf("decline = %d, want 204", code)
	}
	if p, m := next(t, f, ben2); m.Kind != kindDeclined || m.By != "Ben" || p.Topic != "ring-3" {
		t.Errorf("Ben's other phone got %+v (topic %q), want declined by Ben on ring-3", m, p.Topic)
	}
	post(`{"token":"` + r2.Decline + `"}`) // Ben again, from the other phone: nothing new
	if code := post(`{"token":"` + ra.Decline + `"}`); code != http.StatusNoContent {
		t.Fatalf("Ann's decline = %d, want 204", code)
	}
	mu.Lock()
	want := []declined{{3, "", "Ben", false}, {3, "", "Ann", true}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("door told %+v, want %+v", got, want)
	}
	mu.Unlock()
	f.svc.Missed(3, "")
	if code := post(`{"token":"` + ra.Decline + `"}`); code != http.StatusGone {
		t.Errorf("decline after the ring ended = %d, want 410", code)
	}
	if _, m := next(t, f, ann); m.Kind != kindMissed {
		t.Errorf("after the ring: %+v, want the missed call", m)
	}
}

// TestResidentCall: a resident calling another whose pages are closed
// notifies the callee's devices only, on a topic of its own, and the answer
// replaces it.
func TestResidentCall(t *testing.T) {
	f := newFixture(t, nil)
	ben, ann := f.ps.Subscribe(), f.ps.Subscribe()
	f.subscribe(t, "Ben", ben, nil)
	f.subscribe(t, "Ann", ann, nil)
	if f.svc.Call(5, "Ben", "Carl", time.Now()) {
		t.Errorf("Call to a resident without devices = true, want false")
	}
	if !f.svc.Call(5, "Ben", "Ann", time.Now()) {
		t.Fatalf("Call to Ann = false, want true")
	}
	if p, m := next(t, f, ann); m.Kind != kindCall || m.From != "Ben" || p.Topic != "call-5" || p.Urgency != "high" {
		t.Errorf("Ann got %+v (topic %q, urgency %q), want a call from Ben on call-5", m, p.Topic, p.Urgency)
	}
	f.svc.Answered(5, "Ben", "Ann")
	if p, m := next(t, f, ann); m.Kind != kindAnswered || p.Topic != "call-5" {
		t.Errorf("Ann got %+v (topic %q), want answered on call-5", m, p.Topic)
	}
	if n := len(f.ps.Inbox(ben)); n != 0 {
		t.Errorf("the caller got %d pushes, want none", n)
	}
}
