package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/wire"
)

// TestHeldBackCountAtShutdown: a resident's Invite+Hangup loop floods the
// door's log (issue 17, item 5); lograte holds the repeats back, and when
// the daemon stops it still writes how many it held (lograte's Flush), as
// the last lines before "stopped".
func TestHeldBackCountAtShutdown(t *testing.T) {
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-no-auth", "-camera", "test", "-mic", "test", "-speaker", "test",
			"-gpio", "sim", "-state-dir", t.TempDir()}, io.Discard, logs, func(a string) { addr <- a })
	}()
	var url string
	select {
	case a := <-addr:
		url = "ws://" + a + "/ws"
	case err := <-done:
		t.Fatalf("intercomd exited at start: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("intercomd did not listen within a minute\n%s", logs)
	}
	r, err := resident.Dial(ctx, url, resident.Options{Name: "flooder"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 40 {
		for _, m := range []wire.Message{
			{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: "door"},
			{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: "door"},
		} {
			if err := r.Send(m); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	}
	// Until the door has seen the flood: its state lines are held back.
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(logs.String(), "msg=state ") < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the door logged fewer than 10 state lines for 40 calls:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mark := len(logs.String())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("intercomd stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("intercomd did not stop within 30 s")
	}
	atStop := logs.String()[mark:]
	flushed := strings.Index(atStop, `msg="repeated log lines held back"`)
	stopped := strings.LastIndex(atStop, "msg=stopped")
	if flushed < 0 || stopped < flushed {
		t.Errorf("no count of held-back lines written at shutdown (before the last \"stopped\"); log after the flood:\n%s", atStop)
	}
	if !strings.Contains(atStop[max(flushed, 0):], "line=state") {
		t.Errorf("the flushed counts do not name the door's state lines; log after the flood:\n%s", atStop)
	}
}
