package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the user+system CPU time pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: count fields after its ')'. utime
	// and stime are fields 14 and 15, the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// procStatus is what bench reads from /proc/PID/status and /proc/PID/fd.
type procStatus struct {
	RSS, HWM int64 // bytes: VmRSS, VmHWM (peak RSS)
	Threads  int   // OS threads (a Go process's goroutines are not visible here)
	FDs      int   // open file descriptors
}

func readStatus(pid int) (procStatus, error) {
	var st procStatus
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			st.RSS = n << 10
		case "VmHWM":
			st.HWM = n << 10
		case "Threads":
			st.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return st, err
	}
	st.FDs = len(fds)
	return st, nil
}

// procSwitches is how many times pid's threads have been switched out so
// far (voluntary and not): each is a sleep or a wake-up's cost. A thread
// that exits takes its count with it.
func procSwitches(pid int) (int64, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n, nil
}

// cpuMeter measures the CPU seconds per second a process spends between
// start and stop, and its context switches.
type cpuMeter struct {
	pid            int
	cpu0           time.Duration
	switches0      int64
	t0             time.Time
	switchesPerSec float64 // context switches per second, set by stop
}

func startCPU(pid int) (*cpuMeter, error) {
	c, err := procCPU(pid)
	if err != nil {
		return nil, err
	}
	sw, err := procSwitches(pid)
	if err != nil {
		return nil, err
	}
	return &cpuMeter{pid: pid, cpu0: c, switches0: sw, t0: time.Now()}, nil
}

// stop returns CPU seconds per wall second since start.
func (m *cpuMeter) stop() (float64, error) {
	c, err := procCPU(m.pid)
	if err != nil {
		return 0, err
	}
	secs := time.Since(m.t0).Seconds()
	if sw, err := procSwitches(m.pid); err == nil {
		m.switchesPerSec = float64(sw-m.switches0) / secs
	}
	return (c - m.cpu0).Seconds() / secs, nil
}
