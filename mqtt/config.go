package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Config is how intercomd reaches the broker and shows itself to Home
// Assistant.
type Config struct {
	// Broker is mqtt://host[:1883] or mqtts://host[:8883].
	Broker string
	// CAFile is the PEM file of the CA that signed an mqtts broker's
	// certificate; empty trusts the system's roots.
	CAFile string
	// CertFile and KeyFile are an optional client certificate (PEM).
	CertFile, KeyFile string
	// Username and Password log in to the broker; never logged.
	Username, Password string
	// ClientID is the MQTT client id (default intercomd-NODE).
	ClientID string
	// TopicPrefix is where the door's own topics live (default
	// intercomd/NODE).
	TopicPrefix string
	// DiscoveryPrefix is Home Assistant's discovery prefix (default
	// homeassistant).
	DiscoveryPrefix string
	// AllowOpenDoor lets the "Open door" button act; off by default because
	// anyone who may publish on the broker could then open the door.
	AllowOpenDoor bool

	// Node names the door in ids and topics ([a-zA-Z0-9_-], from the door's
	// name; see NodeID).
	Node string
	// DeviceName is the device's name in Home Assistant.
	DeviceName string
	// Version is intercomd's version (the device's sw_version).
	Version string
	// ConfigURL is where the door's web page is (the device's
	// configuration_url); empty leaves it out.
	ConfigURL string

	// Queue is how many door events wait for a slow broker before new ones
	// are dropped (default 64).
	Queue int
	// Timeout bounds one publish or subscribe (default 5s).
	Timeout time.Duration
	// RetryMax is the longest pause between connection attempts (default
	// 30s, at least 1s); the first attempt after a lost connection is
	// immediate.
	RetryMax time.Duration
}

var nodeChars = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// NodeID turns the door's name into the id Home Assistant's discovery
// topics accept: letters, digits, _ and -.
func NodeID(name string) string {
	id := strings.Trim(nodeChars.ReplaceAllString(name, "_"), "_")
	if id == "" {
		return "door"
	}
	return id
}

func (c *Config) setDefaults() {
	if c.Node == "" {
		c.Node = "door"
	}
	if c.ClientID == "" {
		c.ClientID = "intercomd-" + c.Node
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "intercomd/" + c.Node
	}
	if c.DiscoveryPrefix == "" {
		c.DiscoveryPrefix = "homeassistant"
	}
	if c.DeviceName == "" {
		c.DeviceName = "Door intercom"
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Second
	}
	c.RetryMax = max(c.RetryMax, time.Second)
}

// Validate reports the first setting that cannot work, naming its key as the
// YAML file spells it.
func (c Config) Validate() error {
	if _, err := brokerURL(c.Broker); err != nil {
		return err
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("mqtt: client_cert and client_key go together")
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("mqtt: a password needs a username")
	}
	for key, t := range map[string]string{"topic_prefix": c.TopicPrefix, "discovery_prefix": c.DiscoveryPrefix} {
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, "+#\x00") || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") || strings.Contains(t, "//") {
			return fmt.Errorf("mqtt: %s %q must be a plain topic: no + or #, no leading, trailing or double /", key, t)
		}
	}
	if c.ConfigURL != "" {
		u, err := url.Parse(c.ConfigURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("mqtt: configuration_url %q must be an http or https URL", c.ConfigURL)
		}
	}
	return nil
}

// brokerURL checks the broker setting and adds the default port.
func brokerURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("mqtt: broker is empty (mqtt://host:1883 or mqtts://host:8883)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("mqtt: broker is not a URL (mqtt://host:1883 or mqtts://host:8883)")
	}
	if u.User != nil {
		// The URL shows up in log lines; credentials have their own keys.
		return nil, errors.New("mqtt: put the broker's username and password in their own keys, not in the URL")
	}
	port := ""
	switch u.Scheme {
	case "mqtt":
		port = "1883"
	case "mqtts":
		port = "8883"
	default:
		return nil, fmt.Errorf("mqtt: broker scheme %q: use mqtt:// or mqtts://", u.Scheme)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("mqtt: broker %q must be mqtt://host[:port] or mqtts://host[:port]", s)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.Path = ""
	return u, nil
}

// tlsConfig is the client side of an mqtts connection: the broker's name
// checked against the configured CA (or the system's), TLS 1.2 at least.
func (c Config) tlsConfig(u *url.URL) (*tls.Config, error) {
	if u.Scheme != "mqtts" {
		return nil, nil
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: ca %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
