package lograte

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(burst int) (*slog.Logger, *Handler, *bytes.Buffer, *clock) {
	var buf bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := New(slog.NewTextHandler(&buf, nil), Config{Burst: burst, Interval: 10 * time.Second, MaxKinds: 8, Now: c.now})
	return slog.New(h), h, &buf, c
}

func count(buf *bytes.Buffer, s string) int { return strings.Count(buf.String(), s) }

// A flood of one kind of line: the burst passes, the rest is counted and
// said once the window is over.
func TestFloodHeldBack(t *testing.T) {
	log, _, buf, c := newTest(5)
	for i := range 7000 {
		log.Warn("tcpmux: junk from stranger", "client", fmt.Sprintf("10.0.%d.%d:4000", i/250, i%250))
	}
	if n := count(buf, "junk from stranger"); n != 5 {
		t.Fatalf("%d lines of the flood passed, want the burst of 5:\n%s", n, buf)
	}
	c.t = c.t.Add(11 * time.Second)
	log.Warn("tcpmux: junk from stranger", "client", "10.9.9.9:1")
	if !strings.Contains(buf.String(), `msg="repeated log lines held back" line="tcpmux: junk from stranger" count=6995`) {
		t.Fatalf("no summary of the 6995 lines held back:\n%s", buf)
	}
	if n := count(buf, "client=10.9.9.9:1"); n != 1 {
		t.Fatalf("the first line of the next window did not pass:\n%s", buf)
	}
}

// Security events always pass, in any number, amid any flood.
func TestSecurityEventsNeverHeldBack(t *testing.T) {
	log, _, buf, _ := newTest(2)
	for i := range 1000 {
		log.Info("door opened", "by", "alice", Security())
		log.Info("login", "client", fmt.Sprint(i), SecurityKey, true)
		log.Warn("junk")
	}
	if n := count(buf, `msg="door opened"`); n != 1000 {
		t.Fatalf("%d of 1000 door-opened lines passed", n)
	}
	if n := count(buf, "msg=login"); n != 1000 {
		t.Fatalf("%d of 1000 login lines passed", n)
	}
	if n := count(buf, "msg=junk"); n != 2 {
		t.Fatalf("%d junk lines passed, want 2", n)
	}
}

// Kinds are told apart by message and by the logger's attributes (its
// component); pion's messages with addresses are one kind.
func TestKinds(t *testing.T) {
	log, _, buf, _ := newTest(1)
	media, device := log.With("component", "media"), log.With("component", "device")
	for range 3 {
		media.Warn("send failed")
		device.Warn("send failed")
		media.Warn("other")
		media.Warn(fmt.Sprintf("Ignoring remote candidate: %d", 5))
		media.Warn(fmt.Sprintf("Ignoring remote candidate: %d", 6))
	}
	for _, want := range []string{`msg="send failed" component=media`, `msg="send failed" component=device`, "msg=other", "Ignoring remote candidate"} {
		if n := count(buf, want); n != 1 {
			t.Errorf("%q passed %d times, want 1:\n%s", want, n, buf)
		}
	}
}

// Past MaxKinds, new kinds share one budget: varying messages cannot grow
// the table or the journal without bound.
func TestMaxKinds(t *testing.T) {
	log, h, buf, _ := newTest(3)
	for i := range 1000 {
		log.Warn("kind " + strings.Repeat("x", i%50) + fmt.Sprint(i))
	}
	if n := len(h.st.kinds); n > 8 {
		t.Fatalf("%d kinds tracked, want at most 8", n)
	}
	if n := strings.Count(buf.String(), "\n"); n > 8*3 {
		t.Fatalf("%d lines passed, want at most %d", n, 8*3)
	}
	h.Flush(context.Background())
	if !strings.Contains(buf.String(), "repeated log lines held back") {
		t.Fatalf("Flush wrote no summary:\n%s", buf)
	}
}
