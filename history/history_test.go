package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/intercomd/intercomd/internal/poll"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// open opens a store in a fresh directory and runs it until the test ends.
func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "history.db")
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = time.Hour // tests flush by hand
	}
	s, err := Open(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	run(t, s)
	return s
}

// run runs s until the test ends, then closes it.
func run(t *testing.T, s *Store) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
}

// flushed asks for a flush and waits until nothing is pending.
func flushed(t *testing.T, s *Store) {
	t.Helper()
	before := s.Stats().Transactions
	s.Flush()
	if err := poll.Until(context.Background(), 10*time.Second, 5*time.Millisecond, func() error {
		if st := s.Stats(); st.Pending > 0 || st.Transactions == before {
			return fmt.Errorf("history not flushed: %+v", st)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func jpegLike(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

func TestPutListPictures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(Config{Path: path, FlushEvery: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()

	t0 := time.Now().Add(-time.Minute)
	ring := s.Put(Entry{At: t0, Kind: KindRing, Outcome: OutcomeRinging, Via: "button",
		Full: jpegLike(1000, 1), Thumb: jpegLike(100, 2)})
	look := s.Put(Entry{At: t0.Add(time.Second), Kind: KindLook, Peer: "bob"})
	// Before the flush the entries are listed already.
	got, err := s.List(0, 10)
	if err != nil || len(got) != 2 || got[0].ID != look.ID || !got[1].Picture {
		t.Fatalf("List before flush = %+v, %v; want look then ring with picture", got, err)
	}
	ring.Outcome, ring.Peer, ring.Full, ring.Thumb = OutcomeAnswered, "anna", nil, nil
	s.Put(ring) // an update keeps the picture
	cancel()    // Run flushes on the way out
	<-done
	s.Close()

	s = open(t, Config{Path: path})
	got, err = s.List(0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("List after reopen = %+v, %v", got, err)
	}
	if r := got[1]; r.ID != ring.ID || r.Outcome != OutcomeAnswered || r.Peer != "anna" || !r.Picture || r.Via != "button" {
		t.Errorf("ring after reopen = %+v", r)
	}
	if b, err := s.Picture(ring.ID, false); err != nil || !bytes.Equal(b, jpegLike(1000, 1)) {
		t.Errorf("Picture(full) = %d bytes, %v", len(b), err)
	}
	if b, err := s.Picture(ring.ID, true); err != nil || !bytes.Equal(b, jpegLike(100, 2)) {
		t.Errorf("Picture(thumb) = %d bytes, %v", len(b), err)
	}
	if _, err := s.Picture(look.ID, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("Picture of an entry without one = %v, want ErrNotFound", err)
	}
	// Paging: older than the look is the ring only.
	if p, err := s.List(look.ID, 10); err != nil || len(p) != 1 || p[0].ID != ring.ID {
		t.Errorf("List(before look) = %+v, %v", p, err)
	}
	if err := s.Delete(ring.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Picture(ring.ID, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("picture after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ring.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(12345); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.List(0, 10); len(p) != 0 {
		t.Errorf("List after Clear = %+v", p)
	}
}

// While a batch is being written (on a Pi's card that takes a while), its
// entries stay listed, with their pictures; a Delete or MarkSeen meanwhile
// acts after the write, so the write undoes neither.
func TestReadsDuringAWrite(t *testing.T) {
	s := open(t, Config{})
	written := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed})
	flushed(t, s)
	ring := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed, Full: jpegLike(500, 3), Thumb: jpegLike(50, 4)})
	look := s.Put(Entry{Kind: KindLook, Peer: "bob"})

	taken, release := make(chan struct{}), make(chan struct{})
	s.beforeWrite = func() { close(taken); <-release }
	s.Flush()
	<-taken
	got, err := s.List(0, 10)
	if err != nil || len(got) != 3 || got[0].ID != look.ID || got[1].ID != ring.ID || !got[1].Picture || got[2].ID != written.ID {
		t.Errorf("List during the write = %+v, %v; want the look, the ring (with picture) and the earlier ring", got, err)
	}
	if e, err := s.Get(ring.ID); err != nil || e.ID != ring.ID {
		t.Errorf("Get(ring) during the write = %+v, %v", e, err)
	}
	if b, err := s.Picture(ring.ID, true); err != nil || !bytes.Equal(b, jpegLike(50, 4)) {
		t.Errorf("Picture(ring) during the write = %d bytes, %v", len(b), err)
	}
	if n, err := s.Unseen(); err != nil || n != 2 {
		t.Errorf("Unseen during the write = %d, %v; want 2", n, err)
	}
	deleted, seen := make(chan error, 1), make(chan error, 1)
	go func() { deleted <- s.Delete(look.ID) }()
	go func() { seen <- s.MarkSeen(0) }()
	close(release)
	if err := <-deleted; err != nil {
		t.Errorf("Delete(look) during the write: %v", err)
	}
	if err := <-seen; err != nil {
		t.Errorf("MarkSeen during the write: %v", err)
	}
	// Both waited for the write: nothing is left in memory.
	if st := s.Stats(); st.Pending != 0 || st.Transactions != 2 {
		t.Errorf("after the write: %+v, want 2 transactions and nothing pending", st)
	}
	got, err = s.List(0, 10)
	if err != nil || len(got) != 2 || got[0].ID != ring.ID || got[1].ID != written.ID {
		t.Errorf("List after the write = %+v, %v; want the two rings, the deleted look gone", got, err)
	}
	if n, err := s.Unseen(); err != nil || n != 0 {
		t.Errorf("Unseen after MarkSeen during the write = %d, %v; want 0", n, err)
	}
}

func TestUnseenMissed(t *testing.T) {
	s := open(t, Config{})
	a := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed})
	s.Put(Entry{Kind: KindRing, Outcome: OutcomeAnswered, Peer: "anna"})
	flushed(t, s)
	b := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed})
	if n, err := s.Unseen(); err != nil || n != 2 {
		t.Fatalf("Unseen = %d, %v, want 2", n, err)
	}
	if err := s.MarkSeen(a.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Unseen(); n != 1 {
		t.Errorf("Unseen after MarkSeen(first) = %d, want 1", n)
	}
	s.MarkSeen(b.ID)
	flushed(t, s)
	if n, _ := s.Unseen(); n != 0 {
		t.Errorf("Unseen after MarkSeen(all) = %d, want 0", n)
	}
}

func TestRetentionByAge(t *testing.T) {
	s := open(t, Config{MaxAge: 24 * time.Hour})
	old := s.Put(Entry{At: time.Now().Add(-48 * time.Hour), Kind: KindRing, Outcome: OutcomeMissed, Full: jpegLike(10, 1), Thumb: jpegLike(5, 1)})
	recent := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed})
	flushed(t, s)
	s.prune(time.Now())
	if _, err := s.Get(old.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("entry two days old with a day's retention: Get = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(recent.ID); err != nil {
		t.Errorf("recent entry: %v", err)
	}
	var pics int
	s.db.QueryRow("SELECT count(*) FROM pictures").Scan(&pics)
	if pics != 0 {
		t.Errorf("%d pictures left of removed entries", pics)
	}
}

// TestRetentionBySize: past the size cap the oldest entries go, the newest
// stay, and the database stays under the cap.
func TestRetentionBySize(t *testing.T) {
	const maxBytes = 1 << 20
	s := open(t, Config{MaxBytes: maxBytes})
	var ids []int64
	start := time.Now().Add(-time.Hour)
	for i := range 60 { // 60 x 40 kB: more than twice the cap
		e := s.Put(Entry{At: start.Add(time.Duration(i) * time.Second), Kind: KindRing, Outcome: OutcomeMissed,
			Full: jpegLike(36_000, byte(i)), Thumb: jpegLike(4_000, byte(i))})
		ids = append(ids, e.ID)
		if i%10 == 9 {
			flushed(t, s)
			s.prune(time.Now())
		}
	}
	used, err := s.used()
	if err != nil || used > maxBytes {
		t.Errorf("used = %d, %v, want at most %d", used, err, maxBytes)
	}
	got, _ := s.List(0, MaxPage)
	if len(got) == 0 || len(got) >= len(ids) {
		t.Fatalf("%d of %d entries left, want some removed and some kept", len(got), len(ids))
	}
	// What is left is exactly the newest: no gap, the oldest removed.
	for i, e := range got {
		if want := ids[len(ids)-1-i]; e.ID != want {
			t.Fatalf("entry %d is %d, want %d: not the oldest removed first", i, e.ID, want)
		}
	}
	t.Logf("%d of %d entries kept under %d bytes (used %d)", len(got), len(ids), maxBytes, used)
}

// TestFullDisk: when nothing more fits, entries are kept without their
// pictures and say so; when even that fails, a later line says how many
// were lost. Put never blocks.
func TestFullDisk(t *testing.T) {
	s := open(t, Config{maxPages: 64, MaxBytes: 1 << 30}) // 64 pages of 4 kB
	// A picture larger than the whole file can ever be.
	e := s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed, Full: jpegLike(400_000, 7), Thumb: jpegLike(1000, 7)})
	flushed(t, s)
	got, err := s.Get(e.ID)
	if err != nil {
		t.Fatalf("ring on a full disk not kept: %v", err)
	}
	if got.Picture || !strings.Contains(got.Note, "picture not kept") {
		t.Errorf("ring on a full disk = %+v, want no picture and a note", got)
	}
}

func TestOpenBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	if err := writeFile(path, []byte("this is not a database, but it is long enough to look like one............................")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Path: path}, nil); err == nil {
		t.Error("Open of a file that is no database succeeded")
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

func TestLostNote(t *testing.T) {
	lost := map[int64]string{1: KindRing, 2: KindLook, 3: KindRing}
	if got, want := lostNote(lost, "no space left"), "3 history events not kept (1 look, 2 ring): no space left"; got != want {
		t.Errorf("lostNote(%v) = %q, want %q", lost, got, want)
	}
}
