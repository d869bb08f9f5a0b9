package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// armTarget is one build of cmd/bench/encode and how to run it.
type armTarget struct {
	label   string
	debArch string   // Debian architecture, for the static libraries (libvpx)
	triplet string   // its GNU triplet
	env     []string // go build environment
	runner  []string // qemu-user and its sysroot; empty: native
}

var armTargets = []armTarget{
	{"amd64 (native, this machine)", "", "", []string{"GOARCH=amd64"}, nil},
	{"arm64, EMULATED (qemu-aarch64)", "arm64", "aarch64-linux-gnu", []string{"GOARCH=arm64", "CC=aarch64-linux-gnu-gcc", "CXX=aarch64-linux-gnu-g++"},
		[]string{"qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"}},
	{"armhf (ARMv7), EMULATED (qemu-arm)", "armhf", "arm-linux-gnueabihf", []string{"GOARCH=arm", "GOARM=7", "CC=arm-linux-gnueabihf-gcc", "CXX=arm-linux-gnueabihf-g++"},
		[]string{"qemu-arm-static", "-L", "/usr/arm-linux-gnueabihf"}},
}

// encodeCase is one codec at one size.
type encodeCase struct {
	codec, size string
	frames      int
}

// encodeResult is cmd/bench/encode's output line.
type encodeResult struct {
	Arch          string  `json:"arch"`
	Size          string  `json:"size"`
	Frames        int     `json:"frames"`
	MedianMS      float64 `json:"median_ms"`
	P90MS         float64 `json:"p90_ms"`
	BytesPerFrame int     `json:"bytes_per_frame"`
	CPUMS         float64 `json:"cpu_ms"`
	VP8Speed      int     `json:"vp8_speed"`
}

// buildEncode cross-compiles cmd/bench/encode (cgo: openh264 is C++),
// with libvpx linked statically as the Pi packages link it (build/dist.sh
// --static-libs downloads Debian's libvpx-dev for the target).
func buildEncode(ctx context.Context, e *env, t armTarget, out string) error {
	return goBuildFor(ctx, e, t, "./cmd/bench/encode", out)
}

// goBuildFor builds the package pkg of the repository for target t.
func goBuildFor(ctx context.Context, e *env, t armTarget, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = e.repo
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=1", "GOOS=linux"}, t.env...)...)
	if t.debArch != "" {
		libs := exec.CommandContext(ctx, "build/dist.sh", "--static-libs", t.debArch)
		libs.Dir = e.repo
		var stderr bytes.Buffer
		libs.Stderr = &stderr
		dir, err := libs.Output()
		if err != nil {
			return fmt.Errorf("build/dist.sh --static-libs %s: %v: %s", t.debArch, err, tail(stderr.String(), 800))
		}
		d := strings.TrimSpace(string(dir))
		cmd.Env = append(cmd.Env, "PKG_CONFIG_LIBDIR="+d+"/pkgconfig:/usr/lib/"+t.triplet+"/pkgconfig",
			"CGO_LDFLAGS=-O2 -g -L"+d+"/root/usr/lib/"+t.triplet)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s %s: %v: %s (build/deps.sh bench installs the cross compilers)", strings.Join(t.env, " "), pkg, err, tail(string(b), 800))
	}
	return nil
}

func runEncode(ctx context.Context, t armTarget, bin string, c encodeCase) (encodeResult, error) {
	var r encodeResult
	return r, runJSON(ctx, t, &r, bin, "-codec", c.codec, "-size", c.size, "-frames", fmt.Sprint(c.frames))
}

// runJSON runs bin (under t's emulator) with args and decodes the JSON line
// it prints into v.
func runJSON(ctx context.Context, t armTarget, v any, bin string, args ...string) error {
	args = append(append(append([]string{}, t.runner...), bin), args...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, tail(stderr.String(), 500))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s: output %q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

var codecLabel = map[string]string{"h264": "H.264", "vp8": "VP8 (media/vp8, the door's, cpu-used -%d)",
	"vp8-md": "VP8 (mediadevices' binding, cpu-used 0: the door's before media/vp8)"}

// msPerFrame finds the line with a figure like "12.3 ms/frame" in intercomd
// -selfcheck's output.
var msPerFrame = regexp.MustCompile(`(?m)^.*[\d.]+\s*ms(/| per )frame.*$`)

// benchARM: the door's encoder built for the Pi's two architectures, run
// under qemu-user, beside the native build; EMULATED figures only.
func benchARM(ctx context.Context, e *env) (*result, error) {
	rounds := 2
	// VP8 (for browsers without H.264) at the door's default size only, the
	// door's and, beside it, mediadevices' binding it replaced.
	sizes := []encodeCase{{"h264", "640x480", 60}, {"h264", "1280x720", 30}, {"vp8", "640x480", 60}, {"vp8-md", "640x480", 30}}
	if e.quick {
		rounds = 1
		for i := range sizes {
			sizes[i].frames = max(sizes[i].frames/3, 10)
		}
	}
	dir, err := os.MkdirTemp("", "bench-arm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bins := make([]string, len(armTargets))
	for i, t := range armTargets {
		e.log("arm: building cmd/bench/encode for %s", t.label)
		bins[i] = filepath.Join(dir, fmt.Sprintf("encode-%d", i))
		if err := buildEncode(ctx, e, t, bins[i]); err != nil {
			return nil, err
		}
	}
	type key struct{ target, size int }
	got := map[key][]encodeResult{}
	for round := range rounds {
		for si, s := range sizes {
			for ti, t := range armTargets {
				e.log("arm: %s %s %s, round %d/%d", t.label, s.codec, s.size, round+1, rounds)
				r, err := runEncode(ctx, t, bins[ti], s)
				if err != nil {
					return nil, err
				}
				got[key{ti, si}] = append(got[key{ti, si}], r)
			}
		}
	}
	res := &result{command: "bin/bench -sections arm -out /tmp/arm.md"}
	var rows [][]string
	for si, s := range sizes {
		native := 0.0
		for ti, t := range armTargets {
			rs := got[key{ti, si}]
			var med, p90, cpu []float64
			for _, r := range rs {
				med = append(med, r.MedianMS)
				p90 = append(p90, r.P90MS)
				cpu = append(cpu, r.CPUMS)
			}
			m := summarize(med).Median
			if ti == 0 {
				native = m
			}
			budget := 1000.0 / 30
			label := codecLabel[s.codec]
			if s.codec == "vp8" {
				label = fmt.Sprintf(label, rs[0].VP8Speed)
			}
			rows = append(rows, []string{label, s.size, t.label, f(m, 2) + " ms", f(summarize(p90).Median, 2) + " ms",
				f(summarize(cpu).Median, 2) + " ms", ratio(m, native), fmt.Sprintf("%.0f %%", 100*m/budget), fmt.Sprint(rs[0].BytesPerFrame)})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**EMULATED: no Raspberry Pi was measured; these are qemu-user figures on an x86 machine and say nothing about a Pi's speed.** "+
		"cmd/bench/encode (openh264 through media/openh264 with media/codec.go's settings; VP8: libvpx, linked statically as in the Pi packages, through media/vp8 at its default speed, and through mediadevices' binding for comparison; the door's default bitrate, frames of the test pattern, one frame at a time, 3 untimed frames first) "+
		"is cross-compiled with cgo (Debian's aarch64-linux-gnu and arm-linux-gnueabihf toolchains, GOARM=7) and run under qemu-user with the target's sysroot, "+
		"alternating with the native build, %s; per-frame median and p90 of each run, the median over runs; \"CPU/frame\": the process's CPU time per frame (all threads; steadier than wall time on a loaded machine). \"of a 30 fps frame\": the median's share of 33.3 ms.\n\n", plural(rounds, "round"))
	b.WriteString(table([]string{"codec", "size", "build", "encode, median", "p90", "CPU/frame", "vs native", "of a 30 fps frame", "bytes/frame"}, rows))
	b.WriteString(selfcheckNote(ctx, e))
	b.WriteString(x264Note(ctx, e))
	res.body = b.String()
	return res, nil
}

// x264Note runs build/bench-x264.sh: openh264 beside libx264 (ffmpeg's
// encoder in the encoder section, with its settings), the encoders alone
// on the same frames, natively and for arm64 under qemu-aarch64.
func x264Note(ctx context.Context, e *env) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "build/bench-x264.sh", "3")
	cmd.Dir = e.repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Sprintf("\nopenh264 beside libx264: `build/bench-x264.sh 3` failed: %v: %s\n", err, tail(strings.TrimSpace(stderr.String()), 300))
	}
	return "\nopenh264 beside libx264, the encoders alone on the same test pattern frames, back to back (`build/bench-x264.sh 3`): openh264 with the door's settings, libx264 with the encoder section's ffmpeg settings at the bitrate openh264 reached; " +
		"CPU ms per frame, the median of 3 rounds. The arm64 rows are EMULATED (qemu-aarch64, both encoders built for arm64 with their assembly); Debian's qemu-user has no plugins, so there are no instruction counts.\n\n" + string(out)
}

// selfcheckNote quotes what the packaged binaries' -selfcheck says about
// encoding under qemu, when make dist has built them.
func selfcheckNote(ctx context.Context, e *env) string {
	var b strings.Builder
	for _, t := range armTargets[1:] {
		arch := "arm64"
		if strings.HasPrefix(t.label, "armhf") {
			arch = "armhf"
		}
		bin := filepath.Join(e.repo, "dist", "build", arch, "intercomd")
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(&b, "\n`intercomd -selfcheck` for %s: no dist/build/%s/intercomd (make dist builds it).\n", arch, arch)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		args := append(append([]string{}, t.runner...), bin, "-selfcheck", "-camera", "test", "-mic", "test", "-speaker", "test", "-gpio", "sim")
		out, err := exec.CommandContext(cctx, args[0], args[1:]...).CombinedOutput()
		cancel()
		if ms := msPerFrame.FindAll(out, -1); ms != nil {
			var lines []string
			for _, m := range ms {
				lines = append(lines, "`"+strings.TrimSpace(string(m))+"`")
			}
			fmt.Fprintf(&b, "\n`intercomd -selfcheck` (dist/build/%s as make dist last built it, EMULATED) says: %s (its figures count the first frames, the key frame among them).\n", arch, strings.Join(lines, ", "))
		} else {
			fmt.Fprintf(&b, "\n`intercomd -selfcheck` (dist/build/%s) printed no ms/frame figure (%v): %q\n", arch, err, tail(strings.TrimSpace(string(out)), 200))
		}
	}
	return b.String()
}
