package web

import (
	"io"
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
// its body and its answer and bounds its body's size. The body's deadline
// ends when the body has been read: net/http cancels a request's context
// when a read deadline passes, and a login waiting for the hash or the
// panel's event feed must not end with it. A handler meant to answer for
// longer than writeTimeout clears the write deadline (gpio/sim's feed
// does). An upgrade keeps the connection for as long as the hub wants it:
// its handshake is bounded by the upgrader, the socket by the hub.
func limitRequests(next http.Handler, bodyTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			rc := http.NewResponseController(w)
			// Not every ResponseWriter (httptest's) has deadlines.
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if r.Body != nil && r.Body != http.NoBody {
				_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
				r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, maxBodyBytes), rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the body's read deadline once the body is read.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
