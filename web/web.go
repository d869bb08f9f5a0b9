// Package web is intercomd's HTTP server: it serves the embedded browser
// client (web/static), hands signalling WebSockets on / and /ws to the hub,
// answers /healthz, checks Origins, sets the security headers and limits
// connections per client. The resident login is package auth and the
// certificates package certs; security.go puts them in front of the routes.
//
// Every request passes through one handler chain, built in (*Server).routes,
// so later middleware (login, HTTPS redirects) has exactly one place to go.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/health"
)

// DefaultListen is where intercomd listens unless told otherwise: this
// machine only, over plain HTTP.
const DefaultListen = "localhost:8080"

// Config is what the server needs from main.
type Config struct {
	// Listen is the TCP address, e.g. "localhost:8080" (the default);
	// ":0" picks a port. Any address but loopback turns HTTPS on.
	Listen string
	// AllowOrigins are extra browser Origins (scheme://host[:port]) allowed
	// to open the WebSocket, besides the page's own host.
	AllowOrigins []string
	// Version is reported by /healthz.
	Version string
	// Status, if set, fills /healthz (the door, the panel, media); the
	// server sets Version and Users. It is called once per request and must
	// be safe for concurrent use.
	Status func() health.Report
	// Handlers are extra routes mounted as given, in http.ServeMux pattern
	// syntax (e.g. "/api/panel" and "/api/panel/"). They need a session
	// like every route but the login.
	Handlers map[string]http.Handler
	// PublicHandlers are routes served without a login: each must carry
	// its own authority (a capability in the request), like the push
	// decline that a notification posts.
	PublicHandlers map[string]http.Handler

	// StateDir keeps the password hash, the sessions and the generated
	// certificate. Required unless NoAuth on a loopback Listen.
	StateDir string
	// TLSCert and TLSKey are a certificate and key (PEM files) to serve
	// instead of the generated one; reloaded when they change.
	TLSCert, TLSKey string
	// HTTPS serves HTTPS on a loopback Listen too (it is on anyway for any
	// other address): for a tunnel or a reverse proxy on the Pi, and for
	// tests that need the certificate a phone sees.
	HTTPS bool
	// HTTPRedirect is an address (e.g. ":80") that redirects plain HTTP to
	// HTTPS; "" for none.
	HTTPRedirect string
	// NoAuth turns the resident login off. New refuses it unless Listen is
	// loopback.
	NoAuth bool
	// MaxConnsPerAddr caps open connections per client address; loopback
	// is never capped. 0: DefaultMaxConnsPerAddr; negative: no cap.
	MaxConnsPerAddr int
	// MaxConnsPerNet caps open connections per IPv6 /64. 0:
	// DefaultMaxConnsPerNet; negative: no cap.
	MaxConnsPerNet int
	// MaxConns caps open connections from everyone but loopback. 0:
	// DefaultMaxConns; negative: no cap.
	MaxConns int
	// BodyTimeout bounds reading a request's body, from the end of its
	// headers. 0: DefaultBodyTimeout.
	BodyTimeout time.Duration
	// MsgsPerSecond slows each WebSocket to this many incoming frames a
	// second. 0: DefaultMsgsPerSecond; negative: no limit.
	MsgsPerSecond int
	// Listener and RedirectListener, if set, are the open sockets for
	// Listen and HTTPRedirect: main opens them before anything else, so a
	// taken port is the first thing that fails. Run closes them.
	Listener, RedirectListener net.Listener
}

// Hub is what the server needs of the signalling hub (*hub.Hub).
type Hub interface {
	// ServeConn runs one upgraded client until it leaves or ctx ends.
	ServeConn(ctx context.Context, c *websocket.Conn)
	// Users is the number of registered users.
	Users() int
}

// Server is the HTTP server. Create it with New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	hub      Hub
	origins  originPolicy
	static   *staticFiles
	upgrader websocket.Upgrader
	handler  http.Handler
	sec      *security
	// conns counts live WebSocket handlers, so Run returns only after the
	// hub has let go of every socket.
	conns sync.WaitGroup
}

// shutdownTimeout bounds how long Run waits for requests and sockets to end.
const shutdownTimeout = 5 * time.Second

// New checks cfg and builds the server. It does not listen yet: see Run.
func New(cfg Config, log *slog.Logger, h Hub) (*Server, error) {
	if h == nil {
		return nil, errors.New("web: nil hub")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	static, err := loadStatic()
	if err != nil {
		return nil, err
	}
	log = log.With("component", "web")
	sec, err := newSecurity(cfg, log)
	if err != nil {
		return nil, err
	}
	origins, err := newOriginPolicy(cfg.AllowOrigins, sec.scheme())
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     log,
		hub:     h,
		origins: origins,
		static:  static,
		sec:     sec,
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		// Idle sockets hold no write buffer: it matters at 10,000 clients.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.origins.allowed,
		Error:           s.upgradeError,
	}
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// routes is the one place where the handler chain is put together.
func (s *Server) routes() (h http.Handler, err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("/ws", s.serveWebSocket)
	mux.HandleFunc("/", s.serveRoot)
	if s.sec.certs != nil && s.sec.certs.CA() != nil {
		serveCA(mux, s.sec.certs.CA())
	}
	// ServeMux panics on a malformed or conflicting pattern; that is bad
	// configuration, so say so instead of crashing.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("web: mount handlers: %v", r)
		}
	}()
	for pattern, handler := range s.cfg.Handlers {
		mux.Handle(pattern, handler)
	}
	if s.cfg.Handlers["/api/push"] == nil {
		// The client asks whether this door pushes: "off" is an answer,
		// not a 404 in every page's console.
		mux.HandleFunc("GET /api/push", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, `{"enabled":false}`+"\n")
		})
	}
	body := s.cfg.BodyTimeout
	if body <= 0 {
		body = DefaultBodyTimeout
	}
	var inner http.Handler = s.sec.wrap(mux)
	if len(s.cfg.PublicHandlers) > 0 {
		outer := http.NewServeMux()
		outer.Handle("/", inner)
		for pattern, handler := range s.cfg.PublicHandlers {
			outer.Handle(pattern, handler)
		}
		inner = outer
	}
	return securityHeaders(limitRequests(s.origins.check(inner), body), s.sec.certs != nil), nil
}

// Handler is the server's whole handler chain (for httptest and for
// embedding in another server).
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on cfg.Listen, calls ready (if not nil) with the real address,
// and serves until ctx ends; then it shuts down gracefully: no new
// connections, running requests finish, WebSocket clients are let go.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
		}
	}
	ln = s.sec.listener(ln)
	stopSec, err := s.sec.start(ctx, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer stopSec()
	srv := &http.Server{
		Handler: s.handler,
		// Also bounds the TLS handshake. A request's body and its answer
		// get deadlines of their own (limitRequests): the WebSocket must
		// not inherit them.
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		// Requests, and so the hub's sockets, end when ctx does.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: withConn,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	s.log.Info("listening", "addr", addr, "url", s.sec.scheme()+"://"+addr+"/")
	if ready != nil {
		ready(addr)
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// net/http counts a connection that has not sent its first request
		// yet as busy for its first 5 s: a browser opens such spare
		// connections ahead of need. Requests themselves end with ctx, so
		// what is left has nothing to finish.
		s.log.Info("closing connections still open at shutdown", "after", shutdownTimeout)
		srv.Close()
	}
	<-served
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		s.log.Warn("websocket clients still open at shutdown")
	}
	s.log.Info("stopped")
	return nil
}
