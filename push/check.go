package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxEndpointLen bounds a subscription's endpoint; real ones are a few
// hundred bytes.
const maxEndpointLen = 1024

// Reasons a subscription is refused; the API answers them as 400.
var (
	errResident = errors.New("resident must be a name of 1 to 32 characters without control characters")
	errEndpoint = errors.New("subscription endpoint must be an https:// URL of a push service")
	errKeys     = errors.New("subscription keys must be p256dh (a P-256 public key) and auth (16 bytes), base64url")
	errQuiet    = errors.New(`quiet hours must be {"from":"HH:MM","to":"HH:MM","mode":"silent"|"off"}`)
)

func checkResident(s string) error {
	if s == "" || strings.TrimSpace(s) != s || utf8.RuneCountInString(s) > 32 || !utf8.ValidString(s) {
		return errResident
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return errResident
		}
	}
	return nil
}

func checkEndpoint(s string) error {
	if len(s) > maxEndpointLen {
		return fmt.Errorf("%w (this one is %d bytes long)", errEndpoint, len(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errEndpoint
	}
	return nil
}

// checkLocal refuses an endpoint on an address of the home network or this
// machine: a subscription must not make intercomd a tool to poke at the LAN.
// Names are checked again when they are dialled (see publicOnly).
func checkLocal(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return errEndpoint
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".local") {
		return fmt.Errorf("%w, not one on this network (%s)", errEndpoint, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !public(ip) {
		return fmt.Errorf("%w, not one on this network (%s)", errEndpoint, host)
	}
	return nil
}

// public reports whether ip is a global unicast address.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast()
}

// publicOnly is a net.Dialer Control that refuses to connect to anything
// but public addresses, whatever a name resolved to.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !public(ap.Addr()) {
		return fmt.Errorf("push: refusing to send to %s: not a public address", ap.Addr())
	}
	return nil
}

func checkKeys(p256dh, auth string) error {
	k, err := decodeKey(p256dh)
	if err != nil {
		return errKeys
	}
	if _, err := ecdh.P256().NewPublicKey(k); err != nil {
		return errKeys
	}
	a, err := decodeKey(auth)
	if err != nil || len(a) != 16 {
		return errKeys
	}
	return nil
}

// decodeKey reads a key as browsers write it (base64url, unpadded), and
// also padded or standard base64, as PushSubscription.toJSON varies.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// Quiet is a device's quiet hours: between From and To (local time on the
// door, "HH:MM"; To before From spans midnight) a ring arrives silently
// (Mode "silent") or not at all ("off").
type Quiet struct {
	From string `json:"from"`
	To   string `json:"to"`
	Mode string `json:"mode"`
}

// Quiet hours modes.
const (
	QuietSilent = "silent"
	QuietOff    = "off"
)

func (q *Quiet) check() error {
	_, e1 := minuteOfDay(q.From)
	_, e2 := minuteOfDay(q.To)
	if e1 != nil || e2 != nil || (q.Mode != QuietSilent && q.Mode != QuietOff) {
		return errQuiet
	}
	return nil
}

func minuteOfDay(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, errQuiet
	}
	return t.Hour()*60 + t.Minute(), nil
}

// mode is the quiet mode at t, or "" outside quiet hours. From == To means
// all day.
func (q *Quiet) mode(t time.Time) string {
	if q == nil {
		return ""
	}
	from, e1 := minuteOfDay(q.From)
	to, e2 := minuteOfDay(q.To)
	if e1 != nil || e2 != nil {
		return ""
	}
	m := t.Hour()*60 + t.Minute()
	in := false
	switch {
	case from == to:
		in = true
	case from < to:
		in = m >= from && m < to
	default:
		in = m >= from || m < to
	}
	if in {
		return q.Mode
	}
	return ""
}
