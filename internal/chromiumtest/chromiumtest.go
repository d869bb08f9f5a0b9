// Package chromiumtest starts Debian's headless Chromium for end-to-end tests,
// with the flags WebRTC needs on loopback and the fake camera and microphone.
//
// It fails the test, never skips it, when Chromium is missing: CI installs it
// (build/deps.sh test).
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds every browser started here, so a hung page fails its test
// instead of hanging the run.
const Timeout = 3 * time.Minute

// Path finds the Chromium binary: $CHROMIUM, then chromium on PATH.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Option adds a Chromium flag or other allocator option.
type Option = chromedp.ExecAllocatorOption

// IgnoreCertErrors lets the browser accept a self-signed certificate (tests
// of HTTPS only).
var IgnoreCertErrors Option = chromedp.IgnoreCertErrors

// Options are the allocator options of a headless Chromium at path with a
// fresh profile in dir: the flags measured to work here for WebRTC on
// loopback with the fake camera and microphone. Start uses them; so do the
// benchmarks, which are no tests.
func Options(path, dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
}

// Start launches a fresh headless Chromium (its own profile directory) and
// returns a context for its first tab. The browser is closed when the test
// ends. Further tabs: NewTab.
func Start(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	path, err := Path()
	if err != nil {
		t.Fatalf("chromium not found: install Debian's chromium package (build/deps.sh test) or set CHROMIUM: %v", err)
	}
	all := append(Options(path, t.TempDir()), chromedp.WindowSize(1024, 768))
	all = append(all, opts...)
	base, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, all...)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser now so a missing library fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// NewTab opens another tab in the browser of ctx (a context from Start).
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// WaitJS polls a JavaScript expression until it is true or ctx ends. The
// error names the expression so a failing test says what it waited for.
func WaitJS(ctx context.Context, expr string) error {
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")")); err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return &WaitError{Expr: expr, Err: ctx.Err()}
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitError says which condition a page never reached.
type WaitError struct {
	Expr string
	Err  error
}

func (e *WaitError) Error() string { return "waiting for " + e.Expr + ": " + e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// BrowserTests is the -run (or -skip) pattern of every test that starts a
// browser: they are named TestChromium... or TestFirefox... (a test that
// drives both is a Firefox one), and a test in this package checks it.
const BrowserTests = `^Test(Chromium|Firefox)`
