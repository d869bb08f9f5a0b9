package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

const (
	// maxPressBody is the largest press request: {"button":"hangup"} is
	// 19 bytes.
	maxPressBody = 1 << 10
	// maxStreams bounds the live feeds served at once.
	maxStreams = 16
	// keepAlive is how often an idle live feed sends a comment, so proxies
	// keep it open and a vanished page is noticed.
	keepAlive = 20 * time.Second
)

// ServeHTTP serves the simulated panel's API (paths are absolute, so mount
// the panel at both "/api/panel" and "/api/panel/"):
//
//	GET  /api/panel         the State as JSON
//	POST /api/panel/press   {"button":"call"} presses it: 204, or 400 with a reason
//	GET  /api/panel/events  Server-Sent Events: the State now and after each change
//
// Errors are JSON objects {"error": "reason in words"}.
func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p.routes.ServeHTTP(w, r)
}

func (p *Panel) newRoutes() http.Handler {
	routes := map[string]struct {
		method string
		serve  http.HandlerFunc
	}{
		"/api/panel":        {http.MethodGet, p.serveState},
		"/api/panel/press":  {http.MethodPost, p.servePress},
		"/api/panel/events": {http.MethodGet, p.serveEvents},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, ok := routes[r.URL.Path]
		switch {
		case !ok:
			fail(w, http.StatusNotFound, "no such panel endpoint: "+r.URL.Path)
		case r.Method == route.method || r.Method == http.MethodHead && r.URL.Path == "/api/panel":
			route.serve(w, r)
		default:
			w.Header().Set("Allow", route.method)
			fail(w, http.StatusMethodNotAllowed, r.Method+" not allowed on "+r.URL.Path+"; use "+route.method)
		}
	})
}

func (p *Panel) serveState(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p.State())
}

func (p *Panel) servePress(w http.ResponseWriter, r *http.Request) {
	// JSON only: a cross-site form cannot send it without the browser
	// asking first, so no other page can ring the door through a visitor's
	// browser.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, `send the press as JSON with Content-Type: application/json, e.g. {"button":"call"}`)
		return
	}
	name, err := decodePress(http.MaxBytesReader(w, r.Body, maxPressBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("press body larger than %d bytes", maxPressBody))
		return
	case err != nil:
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	switch err := p.Press(name); {
	case errors.Is(err, ErrUnknownButton):
		fail(w, http.StatusBadRequest, fmt.Sprintf("unknown button %q: this panel has %s", name, p.buttonList()))
	case errors.Is(err, ErrBusy):
		fail(w, http.StatusTooManyRequests, err.Error())
	case err != nil:
		fail(w, http.StatusServiceUnavailable, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// decodePress reads a press request: exactly one JSON object whose only key
// is "button" (spelt so, once), a string. It reads token by token because
// encoding/json would take "BUTTON" for "button" and let a second key win.
func decodePress(r io.Reader) (string, error) {
	const want = `(want {"button":"call"})`
	dec := json.NewDecoder(r)
	bad := func(err error) (string, error) {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return "", err
		case errors.Is(err, io.EOF):
			return "", errors.New("bad press JSON: it ends early " + want)
		}
		return "", fmt.Errorf("bad press JSON %s: %v", want, err)
	}
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return "", errors.New(`empty body: send {"button":"call"}`)
	}
	if err != nil {
		return bad(err)
	}
	if tok == nil {
		return "", errors.New(`missing "button": send {"button":"call"}`)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", errors.New("bad press JSON: not an object " + want)
	}
	var name *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		if key, _ := tok.(string); key != "button" {
			return "", fmt.Errorf("bad press JSON: unknown field %q %s", key, want)
		}
		if name != nil {
			return "", errors.New(`bad press JSON: "button" given twice`)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad(err)
		}
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return "", fmt.Errorf(`bad press JSON: "button" must be a string, not %.20s`, raw)
		}
		name = &s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", err
		}
		return "", errors.New("bad press JSON: more after the object")
	}
	if name == nil {
		return "", errors.New(`missing "button": send {"button":"call"}`)
	}
	return *name, nil
}

func (p *Panel) buttonList() string {
	if len(p.buttons) == 0 {
		return "no buttons"
	}
	names := make([]string, len(p.buttons))
	for i, b := range p.buttons {
		names[i] = b.name
	}
	return strings.Join(names, ", ")
}

// serveEvents is the page's live feed: the state at once, then again after
// every change that alters it, until the page goes or the panel closes.
func (p *Panel) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case p.streams <- struct{}{}:
		defer func() { <-p.streams }()
	default:
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("too many live panel feeds (limit %d)", maxStreams))
		return
	}
	rc := http.NewResponseController(w)
	// A server's write timeout would cut a feed that is meant to last.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	var last []byte
	for {
		changed := p.changes() // before reading the state, so no change is missed
		b, err := json.Marshal(p.State())
		if err != nil {
			return
		}
		if string(b) != string(last) {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			last = b
		}
		select {
		case <-changed:
		case <-ping.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
	}
}

func fail(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{reason})
}
