package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PressAt presses button on the simulated panel of the intercomd at base
// (http://host:port) over its API: what the /panel page does, for tests and
// benchmarks. The press is queued: the door sees it after the button's
// debounce.
func PressAt(ctx context.Context, c *http.Client, base, button string) error {
	body, err := json.Marshal(map[string]string{"button": button})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/api/panel/press", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("press %s: %w", button, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		return fmt.Errorf("press %s: %s: %s", button, resp.Status, e.Error)
	}
	return nil
}
