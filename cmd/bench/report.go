package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// goal is one target of issue 7 and where this run stands against it.
type goal struct {
	what, target, ours string
	met                bool
}

// noGoal is the target of a figure reported with no goal to meet.
const noGoal = "(no goal)"

// result is what one section measured, as Markdown.
type result struct {
	id, title string
	command   string // how to run this part alone
	body      string // tables and notes
	goals     []goal
	took      time.Duration
	load      [2]string // 1-minute load average before and after
	err       error
}

// document is docs/BENCHMARKS.md.
type document struct {
	machine machine
	started time.Time
	command string
	quick   bool
	results []*result
}

func (d *document) write(path string) error {
	var b strings.Builder
	m := d.machine
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (build/bench.mk, cmd/bench/): do not edit by hand, run it again. ")
	fmt.Fprintf(&b, "Every figure below comes from one run on the machine described here; references measured elsewhere say so. ")
	fmt.Fprintf(&b, "The machine is shared and noisy: compared runs alternate, and ratios are taken within the same run.\n\n")
	if d.quick {
		fmt.Fprintf(&b, "**QUICK RUN (-quick): shortened runs, not figures for the record.**\n\n")
	}
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s (run took %s) |\n", d.started.UTC().Format("2006-01-02 15:04 MST"), time.Since(d.started).Round(time.Second))
	fmt.Fprintf(&b, "| CPU | %s, %d cores (from /proc/cpuinfo) |\n", m.CPU, m.Cores)
	fmt.Fprintf(&b, "| memory | %s (from /proc/meminfo) |\n", m.MemTotal)
	fmt.Fprintf(&b, "| kernel | Linux %s |\n", m.Kernel)
	fmt.Fprintf(&b, "| software | %s; %s; %s |\n", m.Go, m.Chromium, m.FFmpeg)
	fmt.Fprintf(&b, "| intercomd | %s |\n", m.Commit)
	fmt.Fprintf(&b, "| command | `%s` |\n\n", d.command)

	fmt.Fprintf(&b, "## Where we stand\n\n| goal | target | this run | |\n|---|---|---|---|\n")
	for _, r := range d.results {
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | | **failed to run** (see below) | ? |\n", r.title)
			continue
		}
		for _, g := range r.goals {
			mark := "met"
			if g.target == noGoal {
				mark = "—"
			} else if !g.met {
				mark = "**missed**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.what, g.target, g.ours, mark)
		}
	}
	b.WriteString("\n")
	for i, r := range d.results {
		fmt.Fprintf(&b, "## %d. %s\n\n", i+1, r.title)
		if r.command != "" {
			fmt.Fprintf(&b, "Alone: `%s` (took %s in this run; load average %s before, %s after).\n\n", r.command, r.took.Round(time.Second), r.load[0], r.load[1])
		}
		if r.err != nil {
			fmt.Fprintf(&b, "**Failed:** %s\n\n", strings.ReplaceAll(r.err.Error(), "\n", " "))
		}
		b.WriteString(strings.TrimSpace(r.body))
		b.WriteString("\n\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// table renders a Markdown table.
func table(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}
