package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cpuSnap is the VM's CPU time (from /proc, in clock ticks) at one moment:
// the whole machine's busy and idle ticks, and each process's.
type cpuSnap struct {
	at         time.Time
	busy, idle int64
	procs      map[string]int64 // "comm[pid]" -> utime+stime
}

// takeCPU reads /proc/stat and every process's stat file.
func takeCPU() cpuSnap {
	s := cpuSnap{at: time.Now(), procs: map[string]int64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseInt(f, 10, 64)
			switch i {
			case 3, 4: // idle, iowait
				s.idle += v
			case 8, 9: // guest time is already in user
			default:
				s.busy += v
			}
		}
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ... utime stime: fields 14 and 15.
		open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		s.procs[fmt.Sprintf("%s[%s]", b[open+1:end], strings.TrimSpace(string(b[:open])))] = u + st
	}
	return s
}

// cpuSince says where the VM's CPU went since before: the share of its
// vCPUs busy, and the processes that used the most, in % of one vCPU (of
// the guest's own clock: a VM descheduled by a busy host counts that time
// as busy, so these say which process, not how much the host spent).
func cpuSince(before cpuSnap) string {
	now := takeCPU()
	const hz = 100 // USER_HZ
	wall := now.at.Sub(before.at).Seconds()
	busy, idle := now.busy-before.busy, now.idle-before.idle
	if wall <= 0 || busy+idle <= 0 {
		return "no CPU figures"
	}
	type use struct {
		name string
		pct  float64
	}
	var l []use
	for k, v := range now.procs {
		if d := v - before.procs[k]; d > 0 {
			l = append(l, use{k, float64(d) / hz / wall * 100})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].pct > l[j].pct })
	var b strings.Builder
	fmt.Fprintf(&b, "VM CPU over %.1f s: %.0f %% of its vCPUs busy", wall, float64(busy)*100/float64(busy+idle))
	for i, u := range l {
		if i == 4 {
			break
		}
		fmt.Fprintf(&b, "; %s %.0f %%", u.name, u.pct)
	}
	return b.String()
}
