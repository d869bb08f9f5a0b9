package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intercomd/intercomd/internal/chromiumtest"
)

// benchJS is the page side of the browser benchmarks: first-frame timing
// and the clock code reader (window.__bench).
//
//go:embed bench.js
var benchJS string

// browser is one headless Chromium with the flags internal/chromiumtest
// uses for WebRTC on loopback (a fake camera and microphone, no
// throttling of background tabs).
type browser struct {
	ctx    context.Context
	cancel func()
}

func startBrowser(ctx context.Context, path string) (*browser, error) {
	if path == "" {
		return nil, errors.New("chromium not found: build/deps.sh bench installs it (or set CHROMIUM)")
	}
	dir, err := os.MkdirTemp("", "bench-chromium-")
	if err != nil {
		return nil, err
	}
	opts := append(chromiumtest.Options(path, dir), chromedp.WindowSize(1280, 800))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(alloc)
	if err := chromedp.Do(bctx); err != nil {
		cancelTab()
		cancelAlloc()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start chromium %s: %w", path, err)
	}
	return &browser{ctx: bctx, cancel: func() {
		cancelTab()
		cancelAlloc()
		os.RemoveAll(dir)
	}}, nil
}

func (b *browser) close() { b.cancel() }

// page is one tab of our client, signed in as name.
type page = chromiumtest.Page

// openPage opens the client at url as name, waits until it is online and
// sees want (a user, or "" for none), and installs window.__bench.
func (b *browser) openPage(url, name, want string) (*page, error) {
	p, err := chromiumtest.OpenPage(b.ctx, url+"/?name="+name, name, chromiumtest.PageOptions{})
	if err != nil {
		return nil, err
	}
	cond := `document.body.dataset.state === "idle"`
	if want != "" {
		cond += fmt.Sprintf(` && document.querySelector('button[data-call=%q]')`, want)
	}
	if err := p.Wait(cond, 30*time.Second); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.Eval(benchJS); err != nil {
		p.Close()
		return nil, fmt.Errorf("install bench.js: %w", err)
	}
	return p, nil
}
