package chromiumtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one tab of a page under test, usually intercomd's client. It
// collects what the page threw or logged as an error (Errors), and its
// failed waits say where the client was (its state and notice). A Page made
// as a literal of a tab opened elsewhere (Ctx, Name) waits, clicks and
// evaluates the same, without collecting errors.
type Page struct {
	// Ctx is the tab: chromedp actions run on it.
	Ctx context.Context
	// Name names the page in errors (the resident's name).
	Name string

	cancel  func()
	mu      sync.Mutex
	errors  []string // uncaught exceptions, console.error calls, failed loads
	allowed []string // parts of errors the test provokes on purpose
}

// PageOptions shape a page's tab.
type PageOptions struct {
	// Phone emulates a phone's screen (390x844 at 2x, portrait, touch)
	// instead of the browser's window.
	Phone bool
}

// OpenPage opens url in a new tab of browser (a context from Start, or a
// browser the bench started). Close it with Close, or cancel browser.
func OpenPage(browser context.Context, url, name string, opt PageOptions) (*Page, error) {
	tab, cancel := chromedp.NewContext(browser)
	p := &Page{Ctx: tab, Name: name, cancel: cancel}
	if err := chromedp.Do(tab); err != nil {
		cancel()
		return nil, fmt.Errorf("open a tab for %s: %w", name, err)
	}
	if err := chromedp.Listen(tab, p.listen); err != nil {
		cancel()
		return nil, fmt.Errorf("listen to %s: %w", name, err)
	}
	var steps []chromedp.Action[chromedp.Void]
	if opt.Phone {
		steps = append(steps, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulatePortrait, chromedp.EmulateMobile))
	}
	steps = append(steps, chromedp.Navigate(url))
	if err := chromedp.Do(tab, steps...); err != nil {
		cancel()
		return nil, fmt.Errorf("open %s as %s: %w", url, name, err)
	}
	return p, nil
}

// listen keeps the page's errors.
func (p *Page) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.logError(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.logError("console.error: " + strings.Join(args, " "))
		}
	case *log.EventEntryAdded:
		// What the browser itself puts in the console: a request
		// answered 404 or 500, a refused WebSocket, a CSP violation.
		if e := ev.Entry; e.Level == log.EntryLevelError {
			p.logError(fmt.Sprintf("console (%s): %s %s", e.Source, e.Text, e.URL))
		}
	}
}

func (p *Page) logError(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errors = append(p.errors, s)
}

// Allow lets errors containing any of parts pass: a wrong password's 401,
// a refused WebSocket.
func (p *Page) Allow(parts ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allowed = append(p.allowed, parts...)
}

// Errors returns what the page threw or logged as an error so far, but
// for what Allow let pass.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
next:
	for _, e := range p.errors {
		for _, a := range p.allowed {
			if strings.Contains(e, a) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// Close closes the tab (a Page made of a tab opened elsewhere leaves it
// open).
func (p *Page) Close() {
	if p.cancel != nil {
		p.cancel()
	}
}

// Wait polls the JavaScript condition cond until it holds or timeout
// passes; the error says where the client was.
func (p *Page) Wait(cond string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(p.Ctx, timeout)
	defer cancel()
	if err := WaitJS(ctx, cond); err != nil {
		where, _ := Value[string](p, `window.intercom ? "state " + intercom.state + ", notice " + JSON.stringify(intercom.notice) : "state " + document.body.dataset.state`)
		return fmt.Errorf("page %s: %w (%s)", p.Name, err, where)
	}
	return nil
}

// Click taps the element sel the way a user does (mouse events at its
// place), waiting up to timeout for it to be visible.
func (p *Page) Click(sel string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(p.Ctx, timeout)
	defer cancel()
	for {
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		// The page redrew the element between finding it and clicking it
		// (a list refreshed): find it again, as a finger would.
		if err != nil && strings.Contains(err.Error(), "Could not find node with given id") && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return fmt.Errorf("page %s: click %s: %w", p.Name, sel, err)
		}
		return nil
	}
}

// Eval runs js on the page.
func (p *Page) Eval(js string) error {
	if err := chromedp.Do(p.Ctx, chromedp.Evaluate[chromedp.Void](js)); err != nil {
		return fmt.Errorf("page %s: %s: %w", p.Name, short(js), err)
	}
	return nil
}

// Value evaluates js on p and decodes its result.
func Value[T any](p *Page, js string) (T, error) {
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](js))
	if err != nil {
		return v, fmt.Errorf("page %s: %s: %w", p.Name, short(js), err)
	}
	return v, nil
}

// short cuts a script down for an error message.
func short(js string) string {
	if len(js) > 120 {
		return js[:120] + "..."
	}
	return js
}

// TestPage is a Page that fails its test where Page returns an error, and
// at the test's end if the page threw or logged an error nobody allowed
// (when Strict).
type TestPage struct {
	*Page
	T testing.TB
	// Timeout bounds Wait and Click.
	Timeout time.Duration
}

// NewPage opens url in a new tab of browser for t; the tab closes when t
// ends. strict fails t then if the page threw or logged an error nobody
// allowed.
func NewPage(t testing.TB, browser context.Context, url, name string, opt PageOptions, timeout time.Duration, strict bool) *TestPage {
	t.Helper()
	p, err := OpenPage(browser, url, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strict {
			for _, e := range p.Errors() {
				t.Errorf("page %s: %s", name, e)
			}
		}
		p.Close()
	})
	return &TestPage{Page: p, T: t, Timeout: timeout}
}

// Wait polls the JavaScript condition cond until it holds.
func (p *TestPage) Wait(cond string) {
	p.T.Helper()
	if err := p.Page.Wait(cond, p.Timeout); err != nil {
		p.T.Fatal(err)
	}
}

// Click taps the element sel the way a user does.
func (p *TestPage) Click(sel string) {
	p.T.Helper()
	if err := p.Page.Click(sel, p.Timeout); err != nil {
		p.T.Fatal(err)
	}
}

// Eval runs js on the page.
func (p *TestPage) Eval(js string) {
	p.T.Helper()
	if err := p.Page.Eval(js); err != nil {
		p.T.Fatal(err)
	}
}

// Bool evaluates the JavaScript expression js to a bool.
func (p *TestPage) Bool(js string) bool {
	p.T.Helper()
	v, err := Value[bool](p.Page, js)
	if err != nil {
		p.T.Fatal(err)
	}
	return v
}

// Text returns the text of the element sel.
func (p *TestPage) Text(sel string) string {
	p.T.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		p.T.Fatalf("page %s: text of %s: %v", p.Name, sel, err)
	}
	return s
}
