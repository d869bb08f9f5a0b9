// Package health is intercomd's /healthz answer: the one type the daemon
// writes and every reader (the end-to-end tests, the bench, the VM client)
// decodes.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/intercomd/intercomd/device"
)

// Report is the body of /healthz.
type Report struct {
	Version string `json:"version"`
	// Users is how many users are registered on the hub.
	Users  int           `json:"users"`
	Device device.Status `json:"device"`
	// DisplayName is how pages write the door in words (config
	// display_name): "Front door is busy." rather than "door is busy.".
	DisplayName string `json:"display_name,omitempty"`
	// GPIO is how the panel runs: "real", "sim" or "none".
	GPIO  string `json:"gpio,omitempty"`
	Media Media  `json:"media"`
	// History says the visitor history is kept (/api/events answers).
	History bool `json:"history,omitempty"`
}

// Media is what the door captures and plays.
type Media struct {
	// Sources names each capture source ("video", "audio") as the log does.
	Sources map[string]string `json:"sources,omitempty"`
	Speaker Speaker           `json:"speaker"`
}

// Speaker counts the audio samples played to the door's speaker.
type Speaker struct {
	Samples   int64 `json:"samples"`
	NonSilent int64 `json:"nonsilent"`
}

// Get reads base's /healthz with c.
func Get(ctx context.Context, c *http.Client, base string) (Report, error) {
	var r Report
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return r, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET %s/healthz: %s", base, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("GET %s/healthz: %w", base, err)
	}
	return r, nil
}
