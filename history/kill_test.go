package history

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestKilledWriter runs a writer in a real child process, kills it with
// SIGKILL in the middle of its writes, and checks the database: intact,
// every entry it reported written is there, every picture belongs to an
// entry and every entry that says it has a picture has it.
func TestKilledWriter(t *testing.T) {
	if path := os.Getenv("HISTORY_TEST_WRITER"); path != "" {
		writeForever(path)
		return
	}
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "h.db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
		cmd.Env = append(os.Environ(), "HISTORY_TEST_WRITER="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		written, target := 0, 20+rand.IntN(40)
		for written < target && lines.Scan() {
			if n, err := strconv.Atoi(lines.Text()); err == nil {
				written = n
			}
		}
		// Kill at a random moment of the next writes.
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() {
			if n, err := strconv.Atoi(lines.Text()); err == nil {
				written = n
			}
		}
		cmd.Wait()
		if written < target {
			t.Fatalf("round %d: the writer stopped at %d entries before the kill", round, written)
		}
		t.Logf("round %d: kill asked after %d entries", round, target)
		checkConsistent(t, path, written)
	}
}

func checkConsistent(t *testing.T, path string, written int) {
	t.Helper()
	s, err := Open(Config{Path: path}, nil)
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after kill = %q, %v", check, err)
	}
	var events, orphans, missing int
	s.db.QueryRow("SELECT count(*) FROM events").Scan(&events)
	s.db.QueryRow("SELECT count(*) FROM pictures WHERE id NOT IN (SELECT id FROM events)").Scan(&orphans)
	s.db.QueryRow("SELECT count(*) FROM events WHERE picture = 1 AND id NOT IN (SELECT id FROM pictures)").Scan(&missing)
	if events < written || orphans != 0 || missing != 0 {
		t.Errorf("after kill: %d entries (writer reported %d written), %d orphan pictures, %d entries missing their picture",
			events, written, orphans, missing)
	}
	t.Logf("killed after %d reported entries: %d in the database, consistent", written, events)
}

// writeForever is the child: it writes batches of entries with pictures and
// prints the number of entries committed after each batch.
func writeForever(path string) {
	s, err := Open(Config{Path: path, FlushEvery: time.Hour}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go s.Run(context.Background())
	pic := make([]byte, 150_000)
	for i := range pic {
		pic[i] = byte(i * 7)
	}
	n := 0
	for {
		before := s.Stats().Transactions
		for range 3 {
			s.Put(Entry{Kind: KindRing, Outcome: OutcomeMissed, Full: pic, Thumb: pic[:5000]})
		}
		s.Flush()
		for s.Stats().Transactions == before {
			time.Sleep(time.Millisecond)
		}
		n += 3
		fmt.Println(n)
	}
}
