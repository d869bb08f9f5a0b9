package web

import (
	"net/http"
	"time"
)

// Timeouts for slow and trickling clients: a connection that sends its
// headers, its body or reads its answer slowly holds memory, and must let go
// of it in bounded time whether or not it ever logs in.
const (
	// readHeaderTimeout bounds the TLS handshake and a request's headers.
	readHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds reading a request's body (a login is a few
	// hundred bytes; the panel's posts less).
	DefaultBodyTimeout = 10 * time.Second
	// writeTimeout bounds writing an answer (the largest file the client
	// fetches is tens of KB).
	writeTimeout = 30 * time.Second
	// idleTimeout closes a kept-alive connection nobody uses.
	idleTimeout = time.Minute
	// maxBodyBytes bounds every request's body (a login's is 4 KB).
	maxBodyBytes = 64 << 10
)

// limitRequests gives every request but a WebSocket upgrade a deadline for
// its body and its answer and bounds its body's size. An upgrade keeps the
// connection for as long as the hub wants it: its handshake is bounded by
// the upgrader, the socket by the hub's own pings.
func limitRequests(next http.Handler, bodyTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			rc := http.NewResponseController(w)
			now := time.Now()
			// Not every ResponseWriter (httptest's) has deadlines.
			_ = rc.SetReadDeadline(now.Add(bodyTimeout))
			_ = rc.SetWriteDeadline(now.Add(writeTimeout))
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
