package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Lines media's tests log (rate_test.go, congestion_test.go).
var (
	honestLine = regexp.MustCompile(`HONEST (.+): 10 s windows after 15 s at (\S+) to (\S+) of the target; sent at (\S+); (\d+) frames skipped`)
	limitLine  = regexp.MustCompile(`under the limit: video (\d+) kbit/s sent, (\d+) frames shown in (\d+) s, longest freeze (\S+), (\d+) RTX packets, picture lost (\d+) times`)
	chromeLine = regexp.MustCompile(`under the limit: video (\d+) kbit/s sent, Chromium decoded (\d+) frames in (\d+) s \((\S+)\) and showed (\d+), longest gap (\S+ s) in RTP time.*?own count: (\d+) freezes, (\S+ s); (\d+) NACKs, (\d+) packets lost`)
)

// congestionSecond is one line of TestCongestionOverVNet's trace.
type congestionSecond struct {
	T      float64 `json:"t"`
	Phase  string  `json:"phase"`
	Sent   int     `json:"sent_kbps"`
	Target int     `json:"target_kbps"`
	Level  int     `json:"level"`
	Shown  int     `json:"shown"`
}

// benchCongestion runs media's honest-bitrate and congestion tests and
// keeps their figures: how close the encoder holds its target over 10 s
// windows, and the door's sent rate and target second by second on a
// 400 kbit/s, 100 ms, 3 % loss path (pion's vnet) and after it is opened.
// The tests assert the behaviour; this keeps the figures.
func benchCongestion(ctx context.Context, e *env) (*result, error) {
	res := &result{command: "bin/bench -sections congestion -out /tmp/congestion.md"}
	trace := filepath.Join(os.TempDir(), fmt.Sprintf("bench-congestion-%d.jsonl", os.Getpid()))
	defer os.Remove(trace)
	defer os.Remove(trace + ".chromium")
	args := []string{"test", "-count=1", "-run", "^(TestHonestBitrate|TestCongestionOverVNet|TestChromiumOverConstrainedPath)$", "-v", "./media",
		"-media.congestion-trace", trace}
	if !e.quick {
		args = append(args, "-media.honest-720p")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = e.repo
	out, runErr := cmd.CombinedOutput()

	var b strings.Builder
	var rows [][]string
	worst := 0.0
	for _, m := range honestLine.FindAllStringSubmatch(string(out), -1) {
		hi, _ := strconv.ParseFloat(m[3], 64)
		lo, _ := strconv.ParseFloat(m[2], 64)
		worst = max(worst, hi-1, 1-lo)
		rows = append(rows, []string{m[1], m[2] + "x to " + m[3] + "x", m[4], m[5]})
	}
	b.WriteString("**Honest bitrate** (media's TestHonestBitrate): the door's encode step (openh264 through the governor, media/rate.go) " +
		"on a simulated 30 frames/s clock for 40 s; every 10 s window from 15 s on, as a share of the target. " +
		"openh264 alone sends 2.2x on the test pattern at 640x480 (section 4); the governor lowers openh264's own target and then the picture size until it fits.\n\n")
	b.WriteString(table([]string{"input, target", "10 s windows", "sent at (size)", "frames skipped"}, rows))

	lines, err := readTrace(trace)
	if err == nil && len(lines) > 0 {
		b.WriteString("\n**Congestion** (media's TestCongestionOverVNet): the door (test pattern, 640x480, ceiling 1000 kbit/s, Opus) " +
			"and a pion resident with a browser's interceptors (NACK, RTX, transport-cc feedback, a PLI when a frame is lost for good) " +
			"on pion's vnet: token bucket 400 kbit/s with a 300 ms queue, 100 ms delay, 3 % random loss; then the path opened. " +
			"Sent: video payload per second; target: what the encoder is asked (GCC's estimate less 48 kbit/s for audio, floor 100); level: the governor's step (0 = 640x480, 6 = 160x120, 7 and 8 = 160x120 at a half and a third of the frame rate).\n\n")
		down, sentDown, up, trows := adaptation(lines)
		fmt.Fprintf(&b, "Adaptation down: the target (+ 48 for audio) was under 400 kbit/s %s after the call connected, the video sent (+ 32 for Opus) by %s (whole seconds of this trace). "+
			"Up: the target was back to 900 kbit/s %s after the path opened (GCC's ramp; the picture size follows a step at a time).\n\n", fmtT(down), fmtT(sentDown), fmtT(up))
		if m := limitLine.FindStringSubmatch(string(out)); m != nil {
			fmt.Fprintf(&b, "Under the limit, 10 s measured after 10 s more of settling: video %s kbit/s sent, %s frames shown in %s s, longest freeze %s (in RTP time), %s packets resent on RTX, the picture lost for good %s times (a PLI each).\n\n",
				m[1], m[2], m[3], m[4], m[5], m[6])
		}
		b.WriteString(table([]string{"s", "phase", "sent kbit/s", "target kbit/s", "level"}, trows))
		res.goals = append(res.goals,
			goal{"congestion: sent under a 400 kbit/s limit", "within seconds", fmt.Sprintf("after %s", fmtT(sentDown)), sentDown >= 0 && sentDown <= 5},
			goal{"congestion: back to 900 kbit/s once opened", noGoal, fmtT(up), up >= 0})
	}
	if lines, err := readTrace(trace + ".chromium"); err == nil && len(lines) > 0 {
		b.WriteString("\n**Chromium on a constrained path** (media's TestChromiumOverConstrainedPath): headless Chromium calls the door; the door's side is relayed by a TURN server on loopback (pion/turn) " +
			"whose relay sends to the browser through the same 400 kbit/s token bucket with a 300 ms queue, 100 ms delay and 3 % random loss; then the path opened.\n\n")
		down, sentDown, up, trows := adaptation(lines)
		fmt.Fprintf(&b, "Adaptation down: target under the limit %s after the call decoded its first frame, video sent by %s; up: back to 900 kbit/s %s after the path opened.\n\n", fmtT(down), fmtT(sentDown), fmtT(up))
		if m := chromeLine.FindStringSubmatch(string(out)); m != nil {
			fmt.Fprintf(&b, "Under the limit, 10 s measured: video %s kbit/s sent, Chromium decoded %s frames (%s) and showed %s, longest gap between pictures shown %s (in RTP time); Chromium's own freeze count %s, %s in all; %s NACKs, %s packets lost (before repair).\n\n",
				m[1], m[2], m[4], m[5], m[6], m[7], m[8], m[9], m[10])
		}
		b.WriteString(table([]string{"s", "phase", "sent kbit/s", "target kbit/s", "level"}, trows))
		res.goals = append(res.goals,
			goal{"congestion, Chromium: sent under a 400 kbit/s limit", "within seconds", fmt.Sprintf("after %s", fmtT(sentDown)), sentDown >= 0 && sentDown <= 5},
			goal{"congestion, Chromium: back to 900 kbit/s once opened", noGoal, fmtT(up), up >= 0})
	}
	res.body = b.String()
	if len(rows) > 0 {
		res.goals = append([]goal{{"honest bitrate: 10 s windows", "within 15 %", fmt.Sprintf("worst %.0f %%", worst*100), worst <= 0.15}}, res.goals...)
	}
	if runErr != nil {
		return res, fmt.Errorf("media tests: %v\n%s", runErr, tail(string(out), 2000))
	}
	return res, nil
}

// adaptation reads a trace: when the target and the video sent came under
// the 400 kbit/s limit, how long after the lift the target was back at
// 900 kbit/s (-1: never), and every other second as table rows.
func adaptation(lines []congestionSecond) (down, sentDown, up float64, rows [][]string) {
	down, sentDown, up = -1, -1, -1
	lift := -1.0
	for i, l := range lines {
		if down < 0 && l.Target+48 < 400 {
			down = l.T
		}
		if sentDown < 0 && l.Sent+32 < 400 {
			sentDown = l.T
		}
		if l.Phase == "lifted" && lift < 0 && i > 0 {
			lift = lines[i-1].T
		}
		if lift >= 0 && up < 0 && l.Target >= 900 {
			up = l.T - lift
		}
		if i%2 == 0 || i == len(lines)-1 {
			rows = append(rows, []string{fmt.Sprintf("%.0f", l.T), l.Phase, strconv.Itoa(l.Sent), strconv.Itoa(l.Target), strconv.Itoa(l.Level)})
		}
	}
	return down, sentDown, up, rows
}

func fmtT(s float64) string {
	if s < 0 {
		return "not reached"
	}
	return fmt.Sprintf("%.0f s", s)
}

func readTrace(path string) ([]congestionSecond, error) {
	f, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []congestionSecond
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		var l congestionSecond
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("trace %s: %w", path, err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}
