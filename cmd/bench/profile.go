package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfShare is where a process's CPU went, by part, in percent of its
// samples.
type perfShare struct {
	part    string
	percent float64
}

// Parts a sample's symbol is put in (first match wins). Opus (and openh264
// when linked statically) are C and C++ inside the binary: told apart by
// their symbols' names.
var perfParts = []struct {
	part string
	re   *regexp.Regexp
}{
	{"kernel: UDP sends, thread sleeps and wake-ups", regexp.MustCompile(`^\[kernel`)},
	{"C library (memcpy, futex, malloc)", regexp.MustCompile(`^(libc|libm|ld-linux|\[vdso)`)},
	{"Opus encoder (audio)", regexp.MustCompile(`intercomd (celt|silk|opus|tonality|alg_quant|exp_rotation|quant_|spreading|pitch|ec_|clt_mdct|kiss_fft|opus_fft|compute_|normalise|denormalise|haar1|run_analysis|downmix|_celt|transient|dynalloc|frame_size_select|remove_doubling|xcorr|comb_filter|hadamard|energ|amp2Log2|tf_|bits2pulses|pulses|pvq|icwrs|stereo|renormalise|anti_collapse|hysteresis|smooth_fade|patch_transient|mlp|gru|dense)`)},
	{"frame conversion to I420 (C)", regexp.MustCompile(`intercomd i4\d\dToI420`)},
	{"test pattern (Go: noise, copies)", regexp.MustCompile(`intercomd (math/rand|github\.com/pion/mediadevices/pkg/driver/videotest|github\.com/intercomd/intercomd/internal/testpattern|github\.com/intercomd/intercomd/media\.PaintClock|github\.com/intercomd/intercomd/media\.fill)`)},
	{"pion: RTP, SRTP, ICE, interceptors, crypto", regexp.MustCompile(`intercomd (github\.com/pion/(webrtc|srtp|ice|interceptor|rtp|rtcp|dtls|transport|sctp|datachannel|stun|turn)|crypto/|vendor/golang\.org/x/crypto|golang\.org/x/crypto)`)},
	{"Go runtime (scheduler, GC, memmove)", regexp.MustCompile(`intercomd (runtime\.|internal/runtime|sync\.|internal/sync)`)},
	{"other Go (intercomd, mediadevices glue, net, hub)", regexp.MustCompile(`intercomd ([a-z0-9_]+(\.[a-z0-9_]+)*/|[a-z]+\.)`)},
	// Debian's libopenh264: a shared library in a host build (make bench's),
	// linked in (the rest of the binary's C symbols) in the Pi packages.
	{"openh264 encoder (C and assembly: libopenh264, or the rest of the binary's C symbols)", regexp.MustCompile(`^(libopenh264\S* |intercomd )`)},
}

// perfProfile samples pid with perf for d and sorts its samples into parts.
func perfProfile(ctx context.Context, pid int, d time.Duration) ([]perfShare, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("perf not found: build/deps.sh bench installs linux-perf")
	}
	dir, err := os.MkdirTemp("", "bench-perf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "perf.data")
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-p", strconv.Itoa(pid), "-o", data, "--", "sleep", fmt.Sprintf("%.0f", d.Seconds()))
	if out, err := rec.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("perf record: %v: %s", err, tail(string(out), 500))
	}
	out, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none", "-F", "overhead,dso,sym").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	return classify(string(out)), nil
}

// reportLine: "    4.24%  intercomd  [.] WelsEnc::WriteBlockResidualCavlc"
var reportLine = regexp.MustCompile(`^\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$`)

func classify(report string) []perfShare {
	sums := map[string]float64{}
	for _, line := range strings.Split(report, "\n") {
		m := reportLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		key := m[2] + " " + strings.TrimSpace(m[3])
		part := "other"
		for _, pp := range perfParts {
			if pp.re.MatchString(key) {
				part = pp.part
				break
			}
		}
		sums[part] += p
	}
	var out []perfShare
	for k, v := range sums {
		out = append(out, perfShare{k, v})
	}
	slices.SortFunc(out, func(a, b perfShare) int {
		if a.percent > b.percent {
			return -1
		}
		if a.percent < b.percent {
			return 1
		}
		return strings.Compare(a.part, b.part)
	})
	return out
}

// profileTable renders shares of cpu (CPU s/s) as a table.
func profileTable(shares []perfShare, cpu float64) string {
	var rows [][]string
	for _, s := range shares {
		rows = append(rows, []string{s.part, f(s.percent, 1) + " %", f(cpu*s.percent/100, 3)})
	}
	return table([]string{"part (perf samples, self time)", "share", "≈ CPU s/s"}, rows)
}
