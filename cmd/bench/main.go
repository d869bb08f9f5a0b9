// Command bench measures intercomd and rewrites docs/BENCHMARKS.md: hub
// scale (through cmd/hubload), call set-up and glass-to-glass delay in
// headless Chromium, encoder cost beside ffmpeg's libx264, memory and leaks
// over 300 calls, the ARM builds' encoder under qemu-user, and the echo
// canceller's ERLE and CPU (cmd/bench/echo). `make bench`
// runs it (build/bench.mk); every figure comes from this run, on this
// machine.
//
//	bench -out docs/BENCHMARKS.md                 # everything (about 20 min on 2 cores)
//	bench -sections glass,setup -out /tmp/b.md -quick
//	bench -hold-call 30s -camera clock             # a call to profile: perf record -g -p PID
//	BENCH_LOGS=/tmp/logs bench ...                 # keep every intercomd's log
//
// A section that fails is reported as failed in the document; the others
// still run. bench exits 0 unless -strict is given and a section failed:
// benchmarks inform, they never fail a build.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// env is what every section gets.
type env struct {
	intercomd string // binary under test
	hubload   string
	encode    string // cmd/bench/encode, native
	chromium  string
	quick     bool // shorter runs, for trying the benchmarks out
	repo      string
	log       func(format string, args ...any)
}

// section is one benchmark of the document.
type section struct {
	id, title string
	run       func(ctx context.Context, e *env) (*result, error)
}

var sections = []section{
	{"hub", "Hub scale", benchHub},
	{"setup", "Call set-up", benchSetup},
	{"glass", "Glass-to-glass delay", benchGlass},
	{"encoder", "Encoder cost", benchEncoder},
	{"memory", "Memory and leaks", benchMemory},
	{"arm", "ARM builds, emulated", benchARM},
	{"attacks", "Under attack", benchAttacks},
	{"congestion", "Honest bitrate and congestion", benchCongestion},
	{"picam", "Camera module: passthrough against encoding", benchPicam},
	{"echo", "Echo cancellation", benchEcho},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		out    = flag.String("out", "docs/BENCHMARKS.md", "the `file` to write")
		bin    = flag.String("bin", "bin", "`dir` holding intercomd, hubload and bench-encode (cmd/bench/encode)")
		only   = flag.String("sections", "", "comma-separated `ids` to run (default all: hub,setup,glass,encoder,memory,arm,attacks,congestion,picam,echo)")
		quick  = flag.Bool("quick", false, "shorter runs (figures not for the record)")
		strict = flag.Bool("strict", false, "exit 1 if a section failed")
		hold   = flag.Duration("hold-call", 0, "instead of benchmarks: hold one call with the door this `long` (to profile it)")
		camera = flag.String("camera", "test", "-hold-call: the door's camera (test or clock)")
		size   = flag.String("size", "640x480", "-hold-call: the door's video `WxH`")
		rate   = flag.Int("bitrate", 0, "-hold-call: the door's video_bitrate in `bit/s` (default: its own)")
	)
	flag.Parse()
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	e := &env{
		intercomd: filepath.Join(*bin, "intercomd"),
		hubload:   filepath.Join(*bin, "hubload"),
		encode:    filepath.Join(*bin, "bench-encode"),
		quick:     *quick,
		repo:      repo,
		log: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		},
	}
	e.chromium, _ = chromiumtest.Path()
	for _, p := range []string{e.intercomd, e.hubload, e.encode} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing: build it first (make bench does)", p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *hold > 0 {
		var w, h int
		if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil {
			return fmt.Errorf("-size %q: want WxH", *size)
		}
		return holdCall(ctx, e, *camera, w, h, *rate, *hold)
	}
	want := map[string]bool{}
	for _, id := range strings.Split(*only, ",") {
		if id = strings.TrimSpace(id); id != "" {
			want[id] = true
		}
	}
	doc := &document{machine: describeMachine(e.chromium), started: time.Now(), quick: *quick,
		command: "make bench: " + strings.Join(os.Args, " ")}
	failed := 0
	for _, s := range sections {
		if len(want) > 0 && !want[s.id] {
			continue
		}
		e.log("== %s", s.title)
		t0, load0 := time.Now(), loadAvg()
		r, err := s.run(ctx, e)
		if r == nil {
			r = &result{}
		}
		r.id, r.title, r.took, r.err = s.id, s.title, time.Since(t0), err
		r.load = [2]string{load0, loadAvg()}
		if err != nil {
			failed++
			e.log("%s FAILED: %v", s.title, err)
		}
		doc.results = append(doc.results, r)
		// Write after every section: a long run that is interrupted keeps
		// what it measured.
		if err := doc.write(*out); err != nil {
			return err
		}
		if ctx.Err() != nil {
			break
		}
	}
	e.log("wrote %s (%d sections failed)", *out, failed)
	if failed > 0 && *strict {
		return fmt.Errorf("%d sections failed", failed)
	}
	return nil
}
