// Command hubload measures the signalling hub: how long N WebSocket clients
// take to register until each holds the final user list, how many list bytes
// that costs, and how fast the hub relays messages between pairs in a call,
// with the hub's CPU per relayed message.
//
//	hubload -n 100,1000 -pairs 50 -duration 5s            # against an in-process hub
//	hubload -serve 127.0.0.1:9000                          # a hub alone, in its own process
//	hubload -url ws://127.0.0.1:9000/ -n 10000             # against it (or a running intercomd)
//
// The hub's CPU is read from /proc/PID/stat of the process listening on the
// URL's port (or -pid). In-process, it is the whole process's CPU, load
// client included, and the table says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hubload:", err)
		os.Exit(1)
	}
}

type options struct {
	url         string
	serve       string
	pid         int
	counts      []int
	full        bool
	pairs       int
	duration    time.Duration
	concurrency int
	timeout     time.Duration
}

func run() error {
	var (
		o      options
		counts string
	)
	flag.StringVar(&o.url, "url", "", "hub WebSocket `URL` (ws://host:port/); empty: start a hub in this process")
	flag.StringVar(&o.serve, "serve", "", "only run a hub on `addr` (host:port) until interrupted")
	flag.IntVar(&o.pid, "pid", 0, "`pid` of the hub's process for CPU figures (default: the process listening on the URL's port)")
	flag.StringVar(&counts, "n", "100,1000", "comma-separated client `counts`, one run each")
	flag.BoolVar(&o.full, "full", false, "ask for full lists as the seed client does (default: Users Delta)")
	flag.IntVar(&o.pairs, "pairs", 50, "relay test: `pairs` in a call, each keeping one message in flight (0: skip)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "relay test duration")
	flag.IntVar(&o.concurrency, "dial-concurrency", 128, "connections being opened at once")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "give up on a run after this long")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process to `file`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.serve != "" {
		return serve(ctx, o.serve)
	}
	// The load client holds thousands of goroutines whose stacks every GC
	// cycle scans; collect less often so that it measures the hub, not itself.
	debug.SetGCPercent(400)
	for _, s := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: bad count %q", s)
		}
		o.counts = append(o.counts, n)
	}

	target := hubTarget{url: o.url, pid: o.pid}
	if o.url == "" {
		need := 2*maxInt(o.counts) + 64
		if lim := fileLimit(); lim > 0 && need > lim {
			return fmt.Errorf("%d clients in one process need %d open files, the limit is %d: run the hub apart with -serve and use -url", maxInt(o.counts), need, lim)
		}
		url, shutdown, err := startHub(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer shutdown()
		target = hubTarget{url: url, pid: os.Getpid(), inProcess: true}
	} else if target.pid == 0 {
		pid, err := pidListening(o.url)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hubload: no hub CPU figures (use -pid): %v\n", err)
		}
		target.pid = pid
	}
	fmt.Println(target)

	mode := "delta"
	if o.full {
		mode = "full"
	}
	fmt.Printf("\n%-7s %-5s %10s %12s %11s %12s %13s %9s\n", "clients", "lists", "registered", "final lists", "list msgs", "list bytes", "bytes/client", "verified")
	var relays []relayResult
	for _, n := range o.counts {
		r, err := register(ctx, target.url, n, o)
		if err != nil {
			return fmt.Errorf("%d clients: %w", n, err)
		}
		fmt.Printf("%-7d %-5s %10s %12s %11d %12s %13s %9s\n", n, mode, ms(r.allRegistered), ms(r.allFinal),
			r.listMsgs.Load(), size(r.listBytes.Load()), size(r.listBytes.Load()/int64(n)), r.verified)
		if o.pairs > 0 {
			rr, err := relay(ctx, r, o.pairs, o.duration, target.pid)
			if err != nil {
				r.close()
				return fmt.Errorf("relay at %d users: %w", n, err)
			}
			rr.users = n
			relays = append(relays, rr)
		}
		r.close()
	}
	if o.pairs == 0 {
		return nil
	}
	cpuNote := "hub CPU/msg"
	if target.inProcess {
		cpuNote = "proc CPU/msg*"
	}
	fmt.Printf("\n%-7s %-5s %8s %9s %10s %8s %8s %14s\n", "users", "pairs", "secs", "relayed", "msgs/s", "p50", "p99", cpuNote)
	for _, rr := range relays {
		cpu := "n/a"
		if rr.cpu >= 0 && rr.msgs > 0 {
			cpu = fmt.Sprintf("%.1f µs", float64(rr.cpu.Microseconds())/float64(rr.msgs))
		}
		fmt.Printf("%-7d %-5d %8.1f %9d %10.0f %8s %8s %14s\n", rr.users, rr.pairs, rr.elapsed.Seconds(), rr.msgs,
			float64(rr.msgs)/rr.elapsed.Seconds(), us(rr.p50), us(rr.p99), cpu)
	}
	if target.inProcess {
		fmt.Println("* in-process: the CPU of the whole process, load client included (an upper bound for the hub)")
	}
	return nil
}

type hubTarget struct {
	url       string
	pid       int
	inProcess bool
}

func (t hubTarget) String() string {
	switch {
	case t.inProcess:
		return fmt.Sprintf("hub: in-process at %s (CPU: getrusage of this process, load client included)", t.url)
	case t.pid > 0:
		return fmt.Sprintf("hub: %s, pid %d (CPU from /proc/%d/stat)", t.url, t.pid, t.pid)
	}
	return fmt.Sprintf("hub: %s (no CPU figures)", t.url)
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return ms(d)
}

func size(b int64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%.1f GB", float64(b)/(1<<30))
	case b >= 10<<20:
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.1f KB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

var errTimeout = errors.New("timed out")
