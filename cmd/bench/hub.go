package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// hubRun is one hubload run against a fresh intercomd.
type hubRun struct {
	n            int
	mode         string  // delta (our client) or full (the seed's client)
	registeredMS float64 // all Register answered
	finalMS      float64 // every client holds the final list
	listMsgs     int64
	listBytes    float64
	msgsPerSec   float64
	p50us, p99us float64
	cpuPerMsgUS  float64
	peakRSS      int64
	verified     string
}

var (
	// hubload's registration row: 1000 delta 1639 ms 1814 ms 7105 61.6 MB 63.1 KB 6/6
	regRow = regexp.MustCompile(`(?m)^(\d+)\s+(delta|full)\s+(\d+) ms\s+(\d+) ms\s+(\d+)\s+([\d.]+ [KMG]?B)\s+([\d.]+ [KMG]?B)\s+(\d+/\d+)\s*$`)
	// and its relay row: 1000 50 3.0 33443 11141 2384 µs 34 ms 30.2 µs
	relayRow = regexp.MustCompile(`(?m)^(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+([\d.]+ [µm]s)\s+([\d.]+ [µm]s)\s+([\d.]+ µs|n/a)\s*$`)
)

// runHubload runs hubload against a fresh intercomd and reads its peak RSS.
func runHubload(ctx context.Context, e *env, n int, full bool, pairs int, dur time.Duration) (hubRun, error) {
	r := hubRun{n: n, mode: "delta"}
	d, err := startDaemon(ctx, e.intercomd, daemonConfig{})
	if err != nil {
		return r, err
	}
	defer d.stop()
	args := []string{"-url", d.wsURL(), "-pid", strconv.Itoa(d.pid), "-n", strconv.Itoa(n),
		"-pairs", strconv.Itoa(pairs), "-duration", dur.String(), "-timeout", "300s"}
	if full {
		args = append(args, "-full")
		r.mode = "full"
	}
	out, err := exec.CommandContext(ctx, e.hubload, args...).CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("hubload %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 1500))
	}
	st, err := d.status()
	if err != nil {
		return r, err
	}
	r.peakRSS = st.HWM
	m := regRow.FindStringSubmatch(string(out))
	if m == nil {
		return r, fmt.Errorf("hubload's registration row not understood (has its format changed?):\n%s", out)
	}
	r.registeredMS, _ = strconv.ParseFloat(m[3], 64)
	r.finalMS, _ = strconv.ParseFloat(m[4], 64)
	r.listMsgs, _ = strconv.ParseInt(m[5], 10, 64)
	r.listBytes = parseSize(m[6])
	r.verified = m[8]
	if pairs > 0 {
		m = relayRow.FindStringSubmatch(string(out))
		if m == nil {
			return r, fmt.Errorf("hubload's relay row not understood (has its format changed?):\n%s", out)
		}
		r.msgsPerSec, _ = strconv.ParseFloat(m[5], 64)
		r.p50us = parseMicros(m[6])
		r.p99us = parseMicros(m[7])
		r.cpuPerMsgUS = parseMicros(m[8])
	}
	return r, nil
}

func parseSize(s string) float64 {
	f := strings.Fields(s)
	v, _ := strconv.ParseFloat(f[0], 64)
	switch f[1] {
	case "KB":
		v *= 1 << 10
	case "MB":
		v *= 1 << 20
	case "GB":
		v *= 1 << 30
	}
	return v
}

func parseMicros(s string) float64 {
	f := strings.Fields(s)
	if len(f) != 2 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	if f[1] == "ms" {
		v *= 1000
	}
	return v
}

// benchHub: N clients register on a separate intercomd process and each
// waits for its final list, then 50 pairs relay ICE candidates.
func benchHub(ctx context.Context, e *env) (*result, error) {
	ns := []int{100, 1000, 10000}
	reps, dur := 3, 5*time.Second
	if e.quick {
		ns, reps, dur = []int{100, 1000}, 1, 2*time.Second
	}
	type key struct {
		n    int
		full bool
	}
	var order []key
	for _, n := range ns {
		order = append(order, key{n, false})
		if n == 1000 {
			order = append(order, key{n, true}) // the seed client's way, as the seed was measured
		}
	}
	runs := map[key][]hubRun{}
	for rep := range reps {
		for _, k := range order {
			e.log("hub: %d clients (%s lists), run %d/%d", k.n, map[bool]string{false: "delta", true: "full"}[k.full], rep+1, reps)
			r, err := runHubload(ctx, e, k.n, k.full, 50, dur)
			if err != nil {
				return nil, err
			}
			runs[k] = append(runs[k], r)
		}
	}
	res := &result{command: fmt.Sprintf("bin/hubload -url ws://127.0.0.1:PORT/ -pid PID -n N [-full] -pairs 50 -duration %s  (against bin/intercomd -no-auth, test devices)", dur)}
	pick := func(rs []hubRun, f func(hubRun) float64) summary {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return summarize(xs)
	}
	spread := func(s summary, dec int, unit string) string {
		if s.N > 1 {
			return fmt.Sprintf("%s%s (%s–%s)", f(s.Median, dec), unit, f(s.Min, dec), f(s.Max, dec))
		}
		return f(s.Median, dec) + unit
	}
	var rows [][]string
	for _, k := range order {
		rs := runs[k]
		lists := "delta (our client)"
		if k.full {
			lists = "full (seed client)"
		}
		verified := rs[len(rs)-1].verified
		rows = append(rows, []string{
			strconv.Itoa(k.n), lists,
			spread(pick(rs, func(r hubRun) float64 { return r.finalMS }), 0, " ms"),
			spread(pick(rs, func(r hubRun) float64 { return r.listBytes / (1 << 20) }), 1, " MiB"),
			spread(pick(rs, func(r hubRun) float64 { return r.msgsPerSec }), 0, ""),
			spread(pick(rs, func(r hubRun) float64 { return r.p50us / 1000 }), 1, " ms"),
			spread(pick(rs, func(r hubRun) float64 { return r.p99us / 1000 }), 1, " ms"),
			spread(pick(rs, func(r hubRun) float64 { return r.cpuPerMsgUS }), 1, " µs"),
			spread(pick(rs, func(r hubRun) float64 { return float64(r.peakRSS) / 1e6 }), 0, " MB"),
			verified,
		})
	}
	rows = append(rows, []string{"1000", "full (seed hub)", "362,000–440,000 ms", "14.8 GB", "1,000–1,600", "", "47–148 ms", "about 700 µs", "", "seed, measured earlier on this kind of machine"})
	var b strings.Builder
	fmt.Fprintf(&b, "Each run starts a fresh intercomd (a separate process, `-no-auth`, test devices) and runs cmd/hubload against it: "+
		"N WebSocket clients register (%s per row, median and min–max), each until its list holds all N; "+
		"then 50 of them form pairs in a call and relay ICE candidates, one in flight per pair, for %s. "+
		"Hub CPU per message is the intercomd process's utime+stime from /proc/PID/stat over the relay run, divided by the messages relayed (the load client runs on the same 2 cores). "+
		"Peak RSS is the process's VmHWM after the run. \"verified\": sample clients whose decoded list held exactly the N names.\n\n", plural(reps, "run"), dur)
	b.WriteString(table([]string{"clients", "lists", "all registered, final lists", "list bytes", "relay msgs/s", "relay p50", "relay p99", "hub CPU/msg", "peak RSS", "verified"}, rows))
	b.WriteString("\nThe seed's figures are from ../shared/PROTOCOL-SEED.md (the seed's code is not available to run here); its list traffic is for 1,000 registrations with full lists.\n")

	med := func(n int, full bool, f func(hubRun) float64) float64 { return pick(runs[key{n, full}], f).Median }
	final1k := med(1000, false, func(r hubRun) float64 { return r.finalMS })
	cpu1k := med(1000, false, func(r hubRun) float64 { return r.cpuPerMsgUS })
	rate1k := med(1000, false, func(r hubRun) float64 { return r.msgsPerSec })
	p99_1k := med(1000, false, func(r hubRun) float64 { return r.p99us / 1000 })
	res.goals = append(res.goals,
		goal{"hub: 1,000 clients registered with final lists", "≤ 1 s", f(final1k/1000, 2) + " s (seed: 362–440 s)", final1k <= 1000},
		goal{"hub: CPU per relayed message at 1,000 users", "≤ 20 µs", f(cpu1k, 1) + " µs (seed: about 700)", cpu1k <= 20},
		goal{"hub: relay throughput, 50 pairs (issue 2)", "≥ 20,000 msgs/s", f(rate1k, 0) + " msgs/s", rate1k >= 20000},
		goal{"hub: relay p99, 50 pairs (issue 2)", "≤ 5 ms", f(p99_1k, 1) + " ms", p99_1k <= 5},
	)
	if rs, ok := runs[key{10000, false}]; ok {
		final10k := pick(rs, func(r hubRun) float64 { return r.finalMS }).Median
		res.goals = append(res.goals, goal{"hub: 10,000 clients registered with final lists (issue 2)", "≤ 10 s", f(final10k/1000, 1) + " s", final10k <= 10000})
	}
	b.WriteString(hubNotes(res.goals))
	res.body = b.String()
	return res, nil
}
