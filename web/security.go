package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"

	"github.com/intercomd/intercomd/auth"
	"github.com/intercomd/intercomd/certs"
)

// security is everything between the network and the routes: TLS (certs),
// the resident login (auth; or, with NoAuth, the loopback-only guard), the
// HTTP to HTTPS redirect and the per-client limits. The Server holds one.
type security struct {
	log      *slog.Logger
	certs    *certs.Store // nil: plain HTTP
	guard    *auth.Guard  // nil: no login (NoAuth)
	redirect string       // address of the plain-HTTP redirect; "" for none
	// redirectLn is the redirect's socket when main opened it (else start does).
	redirectLn net.Listener
	// redirectAddr is where the redirect listens, once start has run.
	redirectAddr string
	conns        connLimits
	msgRate      int // frames per second per WebSocket; 0: no limit
}

// newSecurity checks the security settings of cfg and loads the
// certificate, password and sessions. HTTPS is on when Listen is not a
// loopback address or a certificate is configured; login is on unless
// NoAuth, which only a loopback Listen may ask for.
func newSecurity(cfg Config, log *slog.Logger) (*security, error) {
	sec := &security{
		log:        log,
		redirect:   cfg.HTTPRedirect,
		redirectLn: cfg.RedirectListener,
		conns: connLimits{
			perAddr: orDefault(cfg.MaxConnsPerAddr, DefaultMaxConnsPerAddr),
			perNet:  orDefault(cfg.MaxConnsPerNet, DefaultMaxConnsPerNet),
			total:   orDefault(cfg.MaxConns, DefaultMaxConns),
		},
		msgRate: orDefault(cfg.MsgsPerSecond, DefaultMsgsPerSecond),
	}
	loopback := LoopbackOnly(cfg.Listen)
	var refuse *auth.Problem // safe mode: why login is refused
	if cfg.NoAuth && !loopback {
		return nil, fmt.Errorf("web: -no-auth turns the login off, so it is allowed only when every listen address is loopback, and %q is not: "+
			"listen on localhost, or drop -no-auth and set a password with `intercomd set-password`", cfg.Listen)
	}
	if !loopback || cfg.HTTPS || cfg.TLSCert != "" || cfg.TLSKey != "" {
		if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
			return nil, errors.New("web: tls_cert and tls_key must be given together")
		}
		cs, err := certs.New(certs.Config{StateDir: cfg.StateDir, CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey}, log)
		if err != nil {
			// The doorbell must not go down over a file: serve a
			// certificate made in memory and refuse logins (nobody
			// could check its fingerprint) until the files are fixed.
			refuse = certProblem(cfg, err)
			if cs, err = certs.Ephemeral(nil, log); err != nil {
				return nil, fmt.Errorf("web: %w", err)
			}
		}
		sec.certs = cs
		if ca := cs.CA(); ca != nil {
			log.Info("https", "fingerprint", cs.Fingerprint(), "certificate", cs.CertFile(), "ca_fingerprint", ca.Fingerprint())
		} else {
			log.Info("https", "fingerprint", cs.Fingerprint(), "certificate", cs.CertFile())
		}
	} else if sec.redirect != "" {
		return nil, errors.New("web: http_redirect needs HTTPS, which is on only when intercomd listens on a non-loopback address or has tls_cert and tls_key")
	}
	if refuse != nil && cfg.NoAuth {
		log.Error("the TLS certificate does not load: serving one made in memory: "+refuse.What, "fix", refuse.Fix)
	}
	if !cfg.NoAuth {
		var fp func() string
		ownCA := false
		if sec.certs != nil {
			fp = sec.certs.Fingerprint
			if ca := sec.certs.CA(); ca != nil {
				// Residents compare and install the CA: show its fingerprint.
				fp, ownCA = ca.Fingerprint, true
			}
		}
		g, err := auth.New(auth.Config{StateDir: cfg.StateDir, Secure: sec.certs != nil, Fingerprint: fp, CA: ownCA, Refuse: refuse}, log)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		sec.guard = g
	}
	return sec, nil
}

// certProblem says what to do about certificate files that do not load.
func certProblem(cfg Config, err error) *auth.Problem {
	p := &auth.Problem{What: "The TLS certificate does not load (" + err.Error() + ")."}
	if cfg.TLSCert != "" {
		p.Fix = "put a valid certificate and key at " + cfg.TLSCert + " and " + cfg.TLSKey + ", then: sudo systemctl restart intercomd"
	} else {
		p.Fix = "sudo rm " + filepath.Join(cfg.StateDir, certs.GeneratedCertFile) + " " + filepath.Join(cfg.StateDir, certs.GeneratedKeyFile) +
			" && sudo systemctl restart intercomd (a new certificate: compare its fingerprint once more)"
	}
	return p
}

// orDefault: 0 means the default, a negative value means none.
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// LoopbackOnly reports whether the listen address (host:port) is reachable
// only from this machine. An empty host means every interface; a name other
// than localhost is not trusted to resolve to loopback. The whole program
// uses this one rule (HTTPS, -no-auth, media's candidates).
func LoopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(strings.TrimSpace(listen))
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// wrap puts the login (or the loopback-only guard) and the socket throttle
// in front of the routes. The Origin check and the security headers go
// outside it, so a foreign page is refused before anything else.
func (sec *security) wrap(next http.Handler) http.Handler {
	next = markResidents(throttleSockets(next, sec.msgRate))
	if sec.guard == nil {
		return auth.LoopbackOnly(next)
	}
	return sec.guard.Wrap(next)
}

// listener caps connections per client and adds TLS.
func (sec *security) listener(ln net.Listener) net.Listener {
	ln = limitConns(ln, sec.conns, sec.log)
	if sec.certs != nil {
		ln = tls.NewListener(ln, sec.certs.TLSConfig())
	}
	return ln
}

// scheme is the scheme of the server's URLs.
func (sec *security) scheme() string {
	if sec.certs != nil {
		return "https"
	}
	return "http"
}

// start runs what lives beside the server until ctx ends: the session
// sweep, the certificate's re-issue when the addresses change, and the
// redirect server (which points at addr, the HTTPS listener). The returned
// stop waits for them.
func (sec *security) start(ctx context.Context, addr string) (stop func(), err error) {
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	if sec.guard != nil {
		wg.Go(func() { sec.guard.Run(ctx) })
	}
	if sec.certs != nil {
		// A new address (DHCP after start) gets a new certificate.
		wg.Go(func() { sec.certs.Run(ctx) })
	}
	if sec.redirect != "" {
		ln := sec.redirectLn
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", sec.redirect); err != nil {
				cancel()
				wg.Wait()
				return nil, fmt.Errorf("listen %s (http_redirect): %w", sec.redirect, err)
			}
		}
		_, port, _ := net.SplitHostPort(addr)
		srv := &http.Server{
			Handler:           securityHeaders(redirectToHTTPS(port), false),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readHeaderTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          slog.NewLogLogger(sec.log.Handler(), slog.LevelDebug),
		}
		sec.redirectAddr = ln.Addr().String()
		sec.log.Info("redirecting plain HTTP to HTTPS", "addr", sec.redirectAddr)
		wg.Go(func() { srv.Serve(limitConns(ln, sec.conns, sec.log)) })
		wg.Go(func() {
			<-ctx.Done()
			srv.Close()
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}, nil
}

// Fingerprint is the SHA-256 fingerprint of the server's TLS certificate
// (colon-separated hex, as browsers show it), or "" on plain HTTP.
func (s *Server) Fingerprint() string {
	if s.sec == nil || s.sec.certs == nil {
		return ""
	}
	return s.sec.certs.Fingerprint()
}
