package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRedirectToHTTPS(t *testing.T) {
	tests := []struct {
		port, host, target, want string
	}{
		{"8443", "doorpi.local", "/panel?x=1", "https://doorpi.local:8443/panel?x=1"},
		{"8443", "doorpi.local:80", "/", "https://doorpi.local:8443/"},
		{"443", "192.0.2.7:80", "/", "https://192.0.2.7/"},
		{"443", "[fe80::1]:80", "/a", "https://[fe80::1]/a"},
		{"8443", "[::1]", "/", "https://[::1]:8443/"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		redirectToHTTPS(tt.port).ServeHTTP(w, r)
		if w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != tt.want {
			t.Errorf("redirect(%s, Host %s, %s) = %d %q, want 307 %q", tt.port, tt.host, tt.target, w.Code, w.Header().Get("Location"), tt.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	redirectToHTTPS("443").ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("redirect without Host = %d, want 400", w.Code)
	}
}
