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
type page struct {
	name   string
	ctx    context.Context
	cancel func()
}

// openPage opens the client at url as name, waits until it is online and
// sees want (a user, or "" for none), and installs window.__bench.
func (b *browser) openPage(url, name, want string) (*page, error) {
	tab, cancel := chromedp.NewContext(b.ctx)
	p := &page{name: name, ctx: tab, cancel: cancel}
	if err := chromedp.Do(tab, chromedp.Navigate(url+"/?name="+name)); err != nil {
		cancel()
		return nil, fmt.Errorf("open the client as %s: %w", name, err)
	}
	cond := `document.body.dataset.state === "idle"`
	if want != "" {
		cond += fmt.Sprintf(` && document.querySelector('button[data-call=%q]')`, want)
	}
	if err := p.wait(cond, 30*time.Second); err != nil {
		cancel()
		return nil, err
	}
	if err := p.eval(benchJS); err != nil {
		cancel()
		return nil, fmt.Errorf("install bench.js: %w", err)
	}
	return p, nil
}

func (p *page) close() { p.cancel() }

func (p *page) eval(js string) error {
	return chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void](js))
}

// value evaluates js and decodes its result.
func value[T any](p *page, js string) (T, error) {
	return chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
}

// wait polls a JavaScript condition every 10 ms until it holds.
func (p *page) wait(cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := value[bool](p, "!!("+cond+")")
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			state, _ := value[string](p, `document.body.dataset.state + " (notice: " + (window.intercom && window.intercom.notice) + ")"`)
			return fmt.Errorf("%s: waiting %v for %s (err %v); page state %s", p.name, timeout, cond, err, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
