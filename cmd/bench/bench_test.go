package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/media"
)

// hubload's output as it prints it (cmd/hubload/main.go).
const hubloadOut = `hub: ws://127.0.0.1:18080/, pid 16135 (CPU from /proc/16135/stat)

clients lists registered  final lists   list msgs   list bytes  bytes/client  verified
1000    delta    1639 ms      1814 ms        7105      61.6 MB       63.1 KB       6/6

users   pairs     secs   relayed     msgs/s      p50      p99    hub CPU/msg
1000    50         3.0     33443      11141  2384 µs    34 ms        30.2 µs
`

// TestHubloadRows: the benchmark understands hubload's tables; if their
// format changes, this fails rather than the benchmark's figures going
// missing.
func TestHubloadRows(t *testing.T) {
	m := regRow.FindStringSubmatch(hubloadOut)
	if m == nil {
		t.Fatalf("registration row not matched in:\n%s", hubloadOut)
	}
	if m[1] != "1000" || m[2] != "delta" || m[4] != "1814" || m[8] != "6/6" {
		t.Errorf("registration row = %q", m[1:])
	}
	if got := parseSize(m[6]); math.Abs(got-61.6*(1<<20)) > 1 {
		t.Errorf("parseSize(%q) = %v", m[6], got)
	}
	r := relayRow.FindStringSubmatch(hubloadOut)
	if r == nil {
		t.Fatalf("relay row not matched in:\n%s", hubloadOut)
	}
	for _, tc := range []struct {
		in   string
		want float64
	}{{r[6], 2384}, {r[7], 34000}, {r[8], 30.2}} {
		if got := parseMicros(tc.in); got != tc.want {
			t.Errorf("parseMicros(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in                 []float64
		min, med, p90, max float64
	}{
		{[]float64{5}, 5, 5, 5, 5},
		{[]float64{3, 1, 2}, 1, 2, 3, 3},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 1, 5, 9, 10},
	} {
		s := summarize(tc.in)
		if s.Min != tc.min || s.Median != tc.med || s.P90 != tc.p90 || s.Max != tc.max {
			t.Errorf("summarize(%v) = %+v, want min %v median %v p90 %v max %v", tc.in, s, tc.min, tc.med, tc.p90, tc.max)
		}
	}
	if s := summarize(nil); !math.IsNaN(s.Median) {
		t.Errorf("summarize(nil).Median = %v, want NaN", s.Median)
	}
}

func TestClassify(t *testing.T) {
	report := `
     4.24%  intercomd          [.] WelsEnc::WriteBlockResidualCavlc
    16.96%  [kernel.kallsyms]  [k] finish_task_switch.isra.0
     1.61%  intercomd          [.] celt_encode_with_ec
     1.54%  intercomd          [.] math/rand.(*rngSource).Int63
     1.83%  intercomd          [.] runtime.memmove
     0.22%  intercomd          [.] github.com/pion/srtp/v3.(*SessionSRTP).writeRTP
     1.61%  intercomd          [.] i422ToI420CGO
     0.73%  libc.so.6          [.] __futex_abstimed_wait_common
    30.10%  libopenh264.so.7   [.] WelsEnc::WelsMdInterMbLoop
`
	want := map[string]float64{"openh264": 34.34, "kernel": 16.96, "Opus": 1.61, "test pattern": 1.54, "Go runtime": 1.83, "pion": 0.22, "frame conversion": 1.61, "C library": 0.73}
	got := classify(report)
	if len(got) != len(want) {
		t.Fatalf("classify: %d parts %+v, want %d", len(got), got, len(want))
	}
	for _, s := range got {
		found := false
		for prefix, p := range want {
			if len(s.part) >= len(prefix) && s.part[:len(prefix)] == prefix {
				found = true
				if math.Abs(s.percent-p) > 1e-9 {
					t.Errorf("%s: %v %%, want %v", s.part, s.percent, p)
				}
			}
		}
		if !found {
			t.Errorf("unexpected part %q", s.part)
		}
	}
}

// TestChromiumBenchJSReadsClock: the page's reader (bench.js) reads what
// media.PaintClock paints, through a PNG and a JPEG as a browser decodes
// them, on a canvas as in the glass-to-glass benchmark.
func TestChromiumBenchJSReadsClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><body><video id="remote"></video></body>`)
	}))
	defer srv.Close()
	ctx := chromiumtest.Start(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](benchJS)); err != nil {
		t.Fatalf("bench.js: %v", err)
	}
	times := []time.Time{time.UnixMilli(1), time.Date(2026, 11, 24, 4, 18, 45, 296e6, time.UTC), time.UnixMilli(1<<48 - 1)}
	for _, size := range []image.Point{{640, 480}, {1280, 720}} {
		for _, tm := range times {
			img := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), image.YCbCrSubsampleRatio420)
			media.PaintClock(img, tm)
			for _, format := range []string{"png", "jpeg"} {
				var buf bytes.Buffer
				var err error
				if format == "png" {
					err = png.Encode(&buf, img)
				} else {
					err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 30})
				}
				if err != nil {
					t.Fatal(err)
				}
				url := "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
				js := fmt.Sprintf(`new Promise((resolve, reject) => {
					const im = new Image();
					im.onload = () => {
						const c = document.createElement('canvas');
						c.width = im.width; c.height = im.height;
						const ctx = c.getContext('2d', { willReadFrequently: true });
						ctx.drawImage(im, 0, 0);
						resolve(window.__bench.readClock(ctx));
					};
					im.onerror = () => reject(new Error('image did not load'));
					im.src = %q;
				})`, url)
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				got, err := chromedp.Run(cctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
				cancel()
				if err != nil || int64(got) != tm.UnixMilli() {
					t.Errorf("%dx%d %s: readClock(PaintClock(%d)) = %v, %v", size.X, size.Y, format, tm.UnixMilli(), int64(got), err)
				}
			}
		}
	}
}

// TestAttackFigures: the attacks section understands the FIGURES lines web's
// TestAttacks logs (web/attack_linux_test.go, figures and loginTimes).
func TestAttackFigures(t *testing.T) {
	const line = `    attack_linux_test.go:347: FIGURES login storm (200 addresses x 5 wrong passwords): server RSS 97504 kB (peak 100384 kB); resident logged in in 1.152s (connect 38ms, TLS 113ms, answer 984ms)`
	m := figuresLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("figuresLine did not match %q", line)
	}
	want := []string{"login storm (200 addresses x 5 wrong passwords)", "97504", "100384", "1.152s", "connect 38ms, TLS 113ms, answer 984ms"}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("figuresLine group %d = %q, want %q", i+1, m[i+1], w)
		}
	}
}

func TestEncodedSize(t *testing.T) {
	logs := `time=2026-11-30T12:00:00Z level=INFO msg="media ready" component=media size=640x480@30
time=2026-11-30T12:00:02Z level=INFO msg="video size" component=media peer=x codec=H264 size=480x360 target=1000000
time=2026-11-30T12:00:04Z level=INFO msg="video size" component=media peer=x codec=H264 size=400x300 target=1000000
`
	tests := []struct{ logs, want string }{
		{logs, "400x300"},
		{"level=INFO msg=\"media ready\" size=640x480@30\n", "640x480"},
	}
	for _, tt := range tests {
		if got := encodedSize(tt.logs, 640, 480); got != tt.want {
			t.Errorf("encodedSize(%q) = %q, want %q", tt.logs, got, tt.want)
		}
	}
}

// TestRSSAtInOrder: the calls RSS is listed after come in call order, each
// once, whatever the warm-up's length.
func TestRSSAtInOrder(t *testing.T) {
	s := &callSeries{rss: make([]int64, 300)}
	for i := range s.rss {
		s.rss[i] = int64(i+1) * 1e6
	}
	want := "1: 1.0 MB, 75: 75.0 MB, 100: 100.0 MB, 150: 150.0 MB, 225: 225.0 MB, 300: 300.0 MB"
	if got := s.rssAt(); got != want {
		t.Errorf("rssAt = %q, want %q", got, want)
	}
}
