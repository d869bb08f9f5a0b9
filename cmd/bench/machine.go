package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes where the figures come from.
type machine struct {
	CPU      string
	Cores    int
	MemTotal string
	Kernel   string
	Go       string
	Chromium string
	FFmpeg   string
	Commit   string
}

func describeMachine(chromium string) machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), MemTotal: "unknown", Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Chromium = firstLine(chromium, "--version")
	m.FFmpeg = firstLine("ffmpeg", "-version")
	m.Commit = firstLine("git", "describe", "--always", "--dirty")
	return m
}

// loadAvg is /proc/loadavg's 1-minute figure: how busy the shared machine
// was (2 cores: above 2, something else competed with the benchmark).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// firstLine is the first line a command prints, or "not found".
func firstLine(name string, args ...string) string {
	if name == "" {
		return "not found"
	}
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "not found"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
