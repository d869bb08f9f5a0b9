package web

import (
	"net"
	"net/http"
	"strings"
)

// redirectToHTTPS answers every request on the plain HTTP port with a
// redirect to the same host and path on httpsPort. The host is the one the
// browser asked for, so the redirect never leads anywhere else.
func redirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if host == "" {
			http.Error(w, "use https:// (no Host header to redirect to)", http.StatusBadRequest)
			return
		}
		hp := net.JoinHostPort(host, httpsPort)
		if httpsPort == "443" {
			hp = host
			if strings.Contains(host, ":") {
				hp = "[" + host + "]"
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		// 307 keeps the method and is not cached for good, so turning the
		// redirect off later does not strand anyone.
		http.Redirect(w, r, "https://"+hp+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}
