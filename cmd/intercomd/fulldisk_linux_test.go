package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intercomd/intercomd/health"
	"github.com/intercomd/intercomd/history"
	"github.com/intercomd/intercomd/internal/netnstest"
	"github.com/intercomd/intercomd/internal/poll"
	"github.com/intercomd/intercomd/internal/resident"
	"github.com/intercomd/intercomd/wire"
)

// TestFullDiskRing: the whole daemon with its state dir on a 4 MB tmpfs (in
// a mount namespace of the test's own), which a file then fills to the last
// byte. The panel's Call button still rings a resident (a real WebSocket
// client); the history says what it could not keep, once there is room
// again; nothing crashes, and the next ring is stored with its picture.
func TestFullDiskRing(t *testing.T) {
	if os.Getenv("INTERCOMD_FULLDISK_RERUN") != "1" {
		netnstest.RerunMounts(t, "^TestFullDiskRing$", "INTERCOMD_FULLDISK_RERUN=1")
		return
	}
	state := t.TempDir()
	if err := syscall.Mount("tmpfs", state, "tmpfs", 0, "size=4m,mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", state, err)
	}
	t.Cleanup(func() { syscall.Unmount(state, syscall.MNT_DETACH) })

	d := startDaemon(t, "ring_timeout: 2s\n", "-state-dir", state)
	ctx := context.Background()
	r, err := resident.Dial(ctx, "ws"+strings.TrimPrefix(d.url, "http")+"/ws", resident.Options{Name: "alice", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d.waitHealth(func(h health.Report) bool { return h.History && h.Users == 2 }, "the history open and alice online")

	fill := filepath.Join(state, "fill")
	free := fillUp(t, fill)
	t.Logf("state dir filled: %d bytes free", free)

	ring := func(what string) {
		t.Helper()
		// The door hears of alice with the hub's next list (within 100 ms):
		// until then the button finds nobody to ring.
		var inv wire.Message
		if err := poll.Until(ctx, 20*time.Second, 50*time.Millisecond, func() error {
			ignored := strings.Count(d.logs.String(), "nobody to ring: no resident is online")
			d.press("call")
			var err error
			for inv, err = r.WaitRing(ctx, 100*time.Millisecond); err != nil; inv, err = r.WaitRing(ctx, 100*time.Millisecond) {
				if strings.Count(d.logs.String(), "nobody to ring: no resident is online") > ignored {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if inv.From != "door" {
			t.Fatalf("%s: Invite from %q, want door", what, inv.From)
		}
		d.doorState("idle") // missed after ring_timeout
	}
	ring("a ring on a full disk")
	// The history tries (every 2 s) and gives up on what does not fit.
	if err := poll.Until(ctx, 30*time.Second, 50*time.Millisecond, func() error {
		if l := d.logs.String(); strings.Contains(l, "history write failed") || strings.Contains(l, "history full") {
			return nil
		}
		return errors.New("no history write met the full disk")
	}); err != nil {
		t.Fatal(err)
	}
	if h, err := d.health(); err != nil || !h.Device.Registered {
		t.Fatalf("after the full disk: health %+v, %v", h, err)
	}

	// Room again: the history says what it could not keep, either as the
	// ring without its picture or as a line counting the lost events.
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	var said string
	if err := poll.Until(ctx, 30*time.Second, 100*time.Millisecond, func() error {
		for _, e := range d.events().Events {
			switch {
			case e.Kind == history.KindRing && !e.Picture && strings.Contains(e.Note, "picture not kept: no space left"):
				said = "the ring without its picture: " + e.Note
			case e.Kind == history.KindLost && strings.Contains(e.Note, "1 history events not kept (1 ring): no space left"):
				said = "a lost line: " + e.Note
			}
		}
		if said == "" {
			return fmt.Errorf("the history says nothing of the full disk: %+v", d.events().Events)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("the history says %s", said)

	ring("a ring after the disk has room again")
	if err := poll.Until(ctx, 30*time.Second, 100*time.Millisecond, func() error {
		for _, e := range d.events().Events {
			if e.Kind == history.KindRing && e.Picture {
				return nil
			}
		}
		return errors.New("no ring with its picture in the history")
	}); err != nil {
		t.Fatal(err)
	}
}

// fillUp writes path until the file system has no byte left and returns
// what statfs then says is free (0).
func fillUp(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for n := len(buf); n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", path, err)
				}
				break
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	if free := st.Bavail * uint64(st.Bsize); free != 0 {
		t.Fatalf("after filling, %d bytes free, want 0", free)
	}
	return st.Bavail * uint64(st.Bsize)
}
