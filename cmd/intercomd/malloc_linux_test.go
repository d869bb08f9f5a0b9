package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// arenaThreads is how many OS threads the child mallocs from at once: more
// than one arena each would be plenty to see.
const arenaThreads = 8

// TestMallocArenas runs a child that mallocs from several OS threads at once
// and counts glibc's arenas: one with intercomd's constructor, more when
// MALLOC_ARENA_MAX in the environment lifts the limit (which shows the count
// can see more than one).
func TestMallocArenas(t *testing.T) {
	if os.Getenv("INTERCOMD_ARENA_CHILD") != "" {
		t.Skip("child")
	}
	tests := []struct {
		name, env string
		check     func(n int) bool
		want      string
	}{
		{"default", "", func(n int) bool { return n == 1 }, "1"},
		{"MALLOC_ARENA_MAX=8", "MALLOC_ARENA_MAX=8", func(n int) bool { return n > 1 }, "more than 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMallocArenaChild$", "-test.count=1")
			cmd.Env = []string{"INTERCOMD_ARENA_CHILD=1"}
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "MALLOC_ARENA_MAX=") && !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			if tt.env != "" {
				cmd.Env = append(cmd.Env, tt.env)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var n int
			found := false
			for _, line := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(line, "arenas="); ok {
					n, err = strconv.Atoi(strings.TrimSpace(v))
					found = err == nil
				}
			}
			if !found {
				t.Fatalf("child printed no arena count:\n%s", out)
			}
			if !tt.check(n) {
				t.Errorf("malloc arenas after %d threads malloc'd = %d, want %s", arenaThreads, n, tt.want)
			}
		})
	}
}

// TestMallocArenaChild is the child of TestMallocArenas.
func TestMallocArenaChild(t *testing.T) {
	if os.Getenv("INTERCOMD_ARENA_CHILD") == "" {
		t.Skip("only as the child of TestMallocArenas")
	}
	// Every goroutine holds its own OS thread until all have malloc'd, so
	// arenaThreads distinct threads malloc at once.
	var touched, done sync.WaitGroup
	touched.Add(arenaThreads)
	done.Add(arenaThreads)
	release := make(chan struct{})
	for range arenaThreads {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			touchMalloc()
			touched.Done()
			<-release
		}()
	}
	touched.Wait()
	n, err := mallocArenas()
	close(release)
	done.Wait()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("arenas=" + strconv.Itoa(n) + "\n")
}
