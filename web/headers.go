package web

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the client's own files and its WebSocket and
// nothing else: no inline script or style, no framing, no foreign hosts.
// ('self' covers ws: and wss: to the same host only since Safari 16, so
// connect-src also names the page's own host; never all of ws: and wss:,
// which would let injected script talk to any server.)
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'"

// cspFor adds the request's own host as a WebSocket source, if it is a
// plain host[:port] (a Host header cannot smuggle in other directives).
func cspFor(host string) string {
	if host == "" || len(host) > 255 || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != "" {
		return contentSecurityPolicy
	}
	return contentSecurityPolicy + " wss://" + host + " ws://" + host
}

// hsts tells a browser to use only HTTPS with this host for half a year.
// Browsers ignore it while they warn about the certificate (RFC 6797 8.1),
// so a self-signed certificate clicked through is not made unbypassable;
// once the certificate is trusted, a downgrade to plain HTTP is refused.
// No includeSubDomains: the Pi does not own the names below its own.
const hsts = "max-age=15552000"

// securityHeaders sets the headers every response carries; https adds HSTS.
func securityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if https {
			h.Set("Strict-Transport-Security", hsts)
		}
		h.Set("Content-Security-Policy", cspFor(r.Host))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()")
		next.ServeHTTP(w, r)
	})
}
