package auth

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// loopbackRequest is a request from this machine to a loopback name. The
// name matters: a foreign web page can point its own domain at 127.0.0.1
// (DNS rebinding), but it cannot make the browser send Host: localhost.
func loopbackRequest(r *http.Request) bool {
	if !ClientOf(r.RemoteAddr).Loopback {
		return false
	}
	return loopbackHost(r.Host)
}

// loopbackHost reports whether a Host header names this machine's loopback:
// localhost, a *.localhost name or a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// LoopbackOnly is the -no-auth guard: with no login, only pages loaded from
// a loopback name may use intercomd. It stops a web page elsewhere from
// pointing its own domain at 127.0.0.1 and watching the camera. It answers
// /api/auth itself, so the client learns that there is no login to ask for
// (instead of a 404 in every page's console).
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "intercomd runs without login (-no-auth) and answers only to localhost: open http://localhost"+portOf(r.Host)+"/", http.StatusMisdirectedRequest)
			return
		}
		if r.URL.Path == "/api/auth" && r.Header.Get("Upgrade") == "" {
			serveNoLoginStatus(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveNoLoginStatus is GET /api/auth without login: every visitor is in,
// and there is no password.
func serveNoLoginStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Status{Authenticated: true, NoLogin: true, HTTPS: r.TLS != nil})
}

func portOf(host string) string {
	if _, p, err := net.SplitHostPort(host); err == nil {
		return ":" + p
	}
	return ""
}
