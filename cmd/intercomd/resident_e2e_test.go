package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/wire"
)

// The Go resident (internal/resident, which the bench, the VM's client and
// the soak drive) against the whole door: it calls the door and gets its
// video and audio, hangs up; then the door's Call button rings it, it
// answers, and the door's Hangup button ends the call.
func TestResidentCallsAndAnswersDoor(t *testing.T) {
	d := startDaemon(t, "")
	ctx := context.Background()
	r, err := resident.Dial(ctx, "ws"+strings.TrimPrefix(d.url, "http")+"/ws", resident.Options{Name: "alice", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	c, err := r.Call(ctx, "door", resident.CallOptions{})
	if err != nil {
		t.Fatalf("Call(door) = %v", err)
	}
	if err := c.WaitFrames(ctx, 5, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d.waitHealth(func(h health.Report) bool { return h.Device.State == "incall" && h.Device.Peer == "alice" }, "the door in a call with alice")
	err = poll.Until(ctx, 20*time.Second, 20*time.Millisecond, func() error {
		if n := c.Counts(); n.AudioPackets == 0 || n.VideoBytes == 0 || n.VideoCodec != "video/H264" {
			return fmt.Errorf("in the resident's call: %+v, want H.264 video and audio", n)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	d.doorState("idle")

	d.press("call")
	inv, err := r.WaitRing(ctx, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inv.From != "door" {
		t.Errorf("Invite from %q, want door", inv.From)
	}
	c, err = r.Answer(ctx, inv, resident.CallOptions{})
	if err != nil {
		t.Fatalf("Answer = %v", err)
	}
	if err := c.WaitFrames(ctx, 5, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d.doorState("incall")
	d.press("hangup")
	if _, err := r.Expect(ctx, "the door's Hangup", 20*time.Second, func(m wire.Message) bool { return m.Type == wire.TypeHangup }); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFrames(ctx, 1<<30, 10*time.Second); err == nil || !strings.Contains(err.Error(), "hung up") {
		t.Errorf("WaitFrames after the door's Hangup = %v, want the door hung up", err)
	}
	c.Close()
	d.doorState("idle")
}
