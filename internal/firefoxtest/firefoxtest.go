// Package firefoxtest starts Debian's firefox-esr for end-to-end tests,
// driven over WebDriver BiDi by puppeteer-core (build/jstest/firefox.mjs, a
// Node process that takes one JSON request a line).
//
// The Firefox it starts is the one a new user has: no OpenH264 plugin, so
// VP8, VP9 and AV1 but no H.264. Its prefs (see firefox.mjs): a fake camera
// and microphone without a prompt, ICE candidates on loopback with plain
// addresses (no mDNS names), autoplay allowed, the plugin download off.
//
// It fails the test, never skips it, when Firefox, Node or the Node packages
// are missing: CI installs them (build/deps.sh test, build/jstest/install.sh).
package firefoxtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout bounds every browser started here.
const Timeout = 3 * time.Minute

// Path finds Firefox: $FIREFOX, then firefox-esr or firefox on PATH.
func Path() (string, error) {
	if p := os.Getenv("FIREFOX"); p != "" {
		return p, nil
	}
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Browser is one headless Firefox with a fresh profile.
type Browser struct {
	t   testing.TB
	in  io.WriteCloser
	cmd *exec.Cmd

	mu      sync.Mutex
	next    int
	waiting map[int]chan reply // guarded by mu
	err     error              // guarded by mu: why the driver stopped
}

type reply struct {
	ID    int             `json:"id"`
	Page  int             `json:"page"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
}

// Start launches Firefox; it is closed when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	ff, err := Path()
	if err != nil {
		t.Fatalf("firefox not found: install Debian's firefox-esr (build/deps.sh test) or set FIREFOX: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: install nodejs (build/deps.sh test): %v", err)
	}
	dir, err := jstestDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		t.Fatalf("puppeteer-core missing: run build/jstest/install.sh (%v)", err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "firefox.mjs"), ff, t.TempDir())
	cmd.Env = append(os.Environ(), "MOZ_HEADLESS=1")
	cmd.Stderr = testWriter{t}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	b := &Browser{t: t, in: in, cmd: cmd, waiting: map[int]chan reply{}}
	go b.read(out)
	t.Cleanup(func() {
		in.Close() // the driver closes Firefox and exits
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return b
}

// jstestDir finds build/jstest above the test's working directory.
func jstestDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "build", "jstest"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("firefoxtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func (b *Browser) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.t.Logf("firefox driver: %s", sc.Bytes())
			continue
		}
		b.mu.Lock()
		ch := b.waiting[r.ID]
		delete(b.waiting, r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	b.mu.Lock()
	b.err = errors.New("firefox driver exited")
	for id, ch := range b.waiting {
		close(ch)
		delete(b.waiting, id)
	}
	b.mu.Unlock()
}

// do sends one request and waits for its reply.
func (b *Browser) do(ctx context.Context, req map[string]any) (reply, error) {
	ch := make(chan reply, 1)
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return reply{}, b.err
	}
	b.next++
	id := b.next
	b.waiting[id] = ch
	b.mu.Unlock()
	req["id"] = id
	line, err := json.Marshal(req)
	if err != nil {
		return reply{}, err
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		return reply{}, fmt.Errorf("firefox driver: %w", err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return reply{}, errors.New("firefox driver exited")
		}
		if r.Error != "" {
			return r, errors.New(r.Error)
		}
		return r, nil
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// Page is one tab.
type Page struct {
	b  *Browser
	id int
}

// Open opens url in a new tab.
func (b *Browser) Open(ctx context.Context, url string) (*Page, error) {
	r, err := b.do(ctx, map[string]any{"op": "open", "url": url})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", url, err)
	}
	return &Page{b: b, id: r.Page}, nil
}

// Eval evaluates a JavaScript expression (a promise is awaited) and
// decodes its JSON value into out (nil: thrown away).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	r, err := p.b.do(ctx, map[string]any{"op": "eval", "page": p.id, "expr": expr})
	if err != nil {
		return fmt.Errorf("eval %s: %w", expr, err)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Value, out)
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	_, err := p.b.do(ctx, map[string]any{"op": "close", "page": p.id})
	return err
}

// WaitJS polls a JavaScript expression until it is true or ctx ends.
func (p *Page) WaitJS(ctx context.Context, expr string) error {
	var last error
	for {
		var ok bool
		if last = p.Eval(ctx, "!!("+expr+")", &ok); last == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last: %v)", expr, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// testWriter logs the driver's stderr (Firefox's console) in the test.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
