package media

import "testing"

// TestStandIn: the test sources are stand-ins, so the self-check can tell
// "auto found no device" without knowing their descriptions.
func TestStandIn(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "test", Mic: "test", Speaker: "test", Width: 320, Height: 240, FPS: 15})
	for _, key := range []string{"camera", "mic", "speaker"} {
		if !m.StandIn(key) {
			t.Errorf("StandIn(%q) = false for %q, want true", key, m.Sources()[key])
		}
	}
	if m.StandIn("codecs") {
		t.Error("StandIn(codecs) = true, want false")
	}
}
