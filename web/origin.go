package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser pages may use the WebSocket (and send
// state-changing requests). A request without an Origin header comes from a
// non-browser client and is allowed; a browser's Origin must be the server's
// own (scheme, host and port) or one of the configured extra origins.
type originPolicy struct {
	scheme string          // the server's: "http" or "https"
	extra  map[string]bool // normalized scheme://host:port
}

func newOriginPolicy(allow []string, scheme string) (originPolicy, error) {
	p := originPolicy{scheme: scheme, extra: make(map[string]bool, len(allow))}
	for _, o := range allow {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		n, ok := normalizeOrigin(o)
		if !ok {
			return p, fmt.Errorf("web: allowed origin %q: want scheme://host[:port]", o)
		}
		p.extra[n] = true
	}
	return p, nil
}

// allowed reports whether r's Origin may talk to us.
func (p originPolicy) allowed(r *http.Request) bool {
	origin, ok := r.Header["Origin"]
	if !ok {
		return true
	}
	if len(origin) != 1 {
		return false
	}
	u, err := url.Parse(origin[0])
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes the opaque origin "null"
	}
	n, ok := normalizeOrigin(origin[0])
	if !ok {
		return false
	}
	if p.extra[n] {
		return true
	}
	// Same origin: the page came from this server, so its scheme is ours
	// (a page on http://HOST must not drive an HTTPS listener: anyone on
	// the path can serve that page) and its host and port are the ones the
	// request went to.
	if strings.ToLower(u.Scheme) != p.scheme {
		return false
	}
	return hostPort(u.Host, p.scheme) == hostPort(r.Host, p.scheme)
}

// check refuses WebSocket upgrades and state-changing requests from foreign
// pages with 403. Plain GETs of the client need no check.
func (p originPolicy) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if needsOriginCheck(r) && !p.allowed(r) {
			http.Error(w, "origin not allowed: start intercomd with -allow-origin "+r.Header.Get("Origin")+" to allow it", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func needsOriginCheck(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.Header.Get("Upgrade") != ""
	}
	return true
}

// normalizeOrigin turns scheme://host[:port] into lowercase
// scheme://host:port. It refuses paths, queries and users.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	return scheme + "://" + hostPort(u.Host, scheme), true
}

// hostPort lowercases host and adds the scheme's default port when it has
// none, so "Example.com" and "example.com:80" compare equal over http.
func hostPort(host, scheme string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		return net.JoinHostPort(h, port)
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
