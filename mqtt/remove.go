package mqtt

import (
	"context"
	"fmt"
	"net/url"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// Remove takes the door out of Home Assistant, for when MQTT is turned off:
// it connects once, clears every retained discovery config (Home Assistant
// then deletes the entities and the device) and the door's retained state,
// availability and snapshot, and disconnects. It gives up when ctx ends.
func (c *Client) Remove(ctx context.Context) error {
	cmCtx, stop := context.WithCancel(ctx)
	defer stop()
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{c.url},
		TlsCfg:                        c.tls,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              c.backoff(),
		ConnectUsername:               c.cfg.Username,
		ConnectPassword:               []byte(c.cfg.Password),
		OnConnectError:                c.onConnectError,
		ClientConfig:                  paho.ClientConfig{ClientID: c.cfg.ClientID},
	}
	cm, err := autopaho.NewConnection(cmCtx, cfg)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		return fmt.Errorf("mqtt: remove from Home Assistant: %w", err)
	}
	ms := c.disc.remove()
	for _, t := range []string{c.t.availability, c.t.state, c.t.image} {
		ms = append(ms, message{topic: t, retain: true})
	}
	for _, m := range ms {
		if err := c.publish(ctx, cm, m); err != nil {
			return fmt.Errorf("mqtt: remove %s: %w", m.topic, err)
		}
	}
	c.log.Info("mqtt: off; the door was removed from Home Assistant", "broker", c.url.String())
	stop()
	select {
	case <-cm.Done():
	case <-ctx.Done():
	}
	return nil
}
