package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/intercomd/intercomd/mqtt"

	"github.com/intercomd/intercomd/web"
)

// mqttConfig is the mqtt section of the YAML file: the broker Home Assistant
// uses, and how the door shows itself there (docs/HOME-ASSISTANT.md).
type mqttConfig struct {
	Enabled         bool   `yaml:"enabled"`
	Broker          string `yaml:"broker"`
	CA              string `yaml:"ca"`
	ClientCert      string `yaml:"client_cert"`
	ClientKey       string `yaml:"client_key"`
	Username        string `yaml:"username"`
	Password        string `yaml:"password"`
	ClientID        string `yaml:"client_id"`
	TopicPrefix     string `yaml:"topic_prefix"`
	DiscoveryPrefix string `yaml:"discovery_prefix"`
	DeviceName      string `yaml:"device_name"`
	ConfigURL       string `yaml:"configuration_url"`
	AllowOpenDoor   bool   `yaml:"allow_open_door"`
}

// mqttClient is the mqtt package's config for this door.
func (c config) mqttClient() mqtt.Config {
	m := c.MQTT
	url := m.ConfigURL
	if url == "" {
		url = webURL(c.Listen, c.TLSCert != "" || !web.LoopbackOnly(c.Listen))
	}
	return mqtt.Config{
		Broker: m.Broker, CAFile: m.CA, CertFile: m.ClientCert, KeyFile: m.ClientKey,
		Username: m.Username, Password: m.Password, ClientID: m.ClientID,
		TopicPrefix: m.TopicPrefix, DiscoveryPrefix: m.DiscoveryPrefix, AllowOpenDoor: m.AllowOpenDoor,
		Node: mqtt.NodeID(c.Name), DeviceName: m.DeviceName, Version: version, ConfigURL: url,
	}
}

// validate checks the section when it is used: on, or off with a broker to
// remove the door from.
func (m mqttConfig) validate(c config) error {
	if !m.Enabled && m.Broker == "" {
		return nil
	}
	return c.mqttClient().Validate()
}

// webURL guesses the address of the door's web page from listen, for Home
// Assistant's link to it: the host's mDNS name when listening on every
// address.
func webURL(listen string, https bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return ""
		}
		host = h
		if !strings.Contains(h, ".") {
			host = h + ".local"
		}
	}
	scheme, std := "http", "80"
	if https {
		scheme, std = "https", "443"
	}
	if port != std {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + "/"
}

// removeMQTT takes the door out of Home Assistant when mqtt is off but a
// broker is still set; it gives up after a few minutes, and a failure is
// only logged.
func removeMQTT(ctx context.Context, cfg config, log *slog.Logger) error {
	c, err := mqtt.New(cfg.mqttClient(), log, nil, nil)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := c.Remove(rctx); err != nil && ctx.Err() == nil {
		log.Warn("mqtt: could not remove the door from Home Assistant", "err", err)
	}
	return nil
}
