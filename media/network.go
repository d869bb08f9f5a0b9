package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// network holds what every call's ICE agent shares: the settings, and with
// a fixed port the UDP and TCP sockets all calls are multiplexed on.
type network struct {
	settings   webrtc.SettingEngine
	net        transport.Net // the host's, its media sockets sending outside Go's poller (sendsock_linux.go)
	iceServers []webrtc.ICEServer
	udp        ice.UDPMux // nil without a fixed port
	tcp        ice.TCPMux // nil without a fixed port
	tcpLn      net.Listener
	filter     *remoteFilter             // which remote candidates are checked
	policy     webrtc.ICETransportPolicy // all; tests: relay only, to send through a shaped TURN relay
}

func newNetwork(cfg Config, log *slog.Logger) (*network, error) {
	n := &network{}
	logs := pionLogs{log: log}
	s := &n.settings
	s.LoggerFactory = logs
	servers, err := parseICEServers(cfg.ICEServers)
	if err != nil {
		return nil, err
	}
	n.iceServers = servers
	n.filter = newRemoteFilter(cfg.Loopback || cfg.LocalPeers, cfg.Advertise)
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	n.net = sendNetOf(std)
	s.SetNet(n.net)
	s.SetRemoteIPFilter(n.filter.keep)
	// pion runs the DTLS handshake without a deadline unless given one: a
	// handshake that stalls once ICE is up would hold the call, and its
	// Close, for good.
	s.SetDTLSConnectContextMaker(func() (context.Context, func()) {
		return context.WithTimeout(context.Background(), dtlsHandshakeTimeout)
	})
	if cfg.Loopback {
		s.SetIncludeLoopbackCandidate(true)
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if len(cfg.Advertise) > 0 {
		// Announce the addresses in addition to the real ones, so a phone on
		// the same network still reaches the door directly.
		err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.Advertise,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		})
		if err != nil {
			return nil, fmt.Errorf("advertise %v: %w", cfg.Advertise, err)
		}
	}
	if cfg.UDPPort > 0 {
		if err := n.listen(cfg, log, logs); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// listen opens the one media port: a UDP socket per local address (pion's
// multi mux, so replies leave from the address they were sent to) and a TCP
// listener for ICE-TCP on the same number.
func (n *network) listen(cfg Config, log *slog.Logger, logs pionLogs) error {
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithLogger(logs.NewLogger("udpmux")), ice.UDPMuxFromPortWithNet(n.net)}
	if cfg.Loopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	udp, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
	if err != nil {
		// Some hosts list IPv6 addresses that cannot be bound (tentative,
		// deprecated): keep IPv4 rather than fail.
		log.Warn("media port on IPv6 failed: using IPv4 only", "port", cfg.UDPPort, "err", err)
		opts = append(opts, ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
		if udp, err = ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...); err != nil {
			return fmt.Errorf("media port udp/%d: %w", cfg.UDPPort, err)
		}
	}
	n.udp = udp
	n.settings.SetICEUDPMux(udp)
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.UDPPort))
	if err != nil {
		return fmt.Errorf("media port tcp/%d: %w", cfg.UDPPort, err)
	}
	n.tcpLn = newCapListener(ln, log, maxTCPPerAddr, maxTCPTotal)
	n.tcp = ice.NewTCPMuxDefault(ice.TCPMuxParams{
		Listener: n.tcpLn, Logger: logs.NewLogger("tcpmux"), ReadBufferSize: 64, WriteBufferSize: 4 << 20,
		// A peer sends its first STUN request at once; junk and silent
		// connections go after a few seconds, not pion's 30.
		FirstStunBindTimeout: 5 * time.Second, AliveDurationForConnFromStun: 10 * time.Second,
	})
	n.settings.SetICETCPMux(n.tcp)
	n.settings.SetNetworkTypes([]webrtc.NetworkType{
		webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6,
	})
	// Active TCP would dial out from ephemeral ports; the door only listens.
	n.settings.DisableActiveTCP(true)
	return nil
}

// parseICEServers turns stun:/turn: URLs into pion's servers. TURN
// credentials come as turn:user:password@host:port.
func parseICEServers(urls []string) ([]webrtc.ICEServer, error) {
	var out []webrtc.ICEServer
	for _, raw := range urls {
		raw = strings.TrimSpace(raw)
		server := webrtc.ICEServer{URLs: []string{raw}}
		scheme, rest, ok := strings.Cut(raw, ":")
		if ok && strings.HasPrefix(scheme, "turn") {
			if creds, host, ok := strings.Cut(rest, "@"); ok {
				user, pass, _ := strings.Cut(creds, ":")
				server = webrtc.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass}
			}
		}
		u, err := stun.ParseURI(server.URLs[0])
		if err != nil {
			return nil, fmt.Errorf("ice server %q: %w", redact(raw), err)
		}
		if (u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS) && server.Username == "" {
			return nil, fmt.Errorf("ice server %q: %w", redact(raw), errTURNCredentials)
		}
		out = append(out, server)
	}
	return out, nil
}

var errTURNCredentials = errors.New("turn needs credentials: turn:user:password@host:port")

// redact hides a TURN password in messages.
func redact(raw string) string {
	scheme, rest, _ := strings.Cut(raw, ":")
	if creds, host, ok := strings.Cut(rest, "@"); ok {
		user, _, _ := strings.Cut(creds, ":")
		return scheme + ":" + user + ":***@" + host
	}
	return raw
}

func (n *network) close() error {
	var errs []error
	if n.udp != nil {
		errs = append(errs, n.udp.Close())
	}
	if n.tcp != nil {
		errs = append(errs, n.tcp.Close())
	} else if n.tcpLn != nil {
		errs = append(errs, n.tcpLn.Close())
	}
	return errors.Join(errs...)
}

// dtlsHandshakeTimeout bounds the DTLS handshake after ICE connects: over
// a working path it takes a few round trips; 15 s leaves room for lost
// flights, resent after 1, 2, 4 and 8 s.
var dtlsHandshakeTimeout = 15 * time.Second
