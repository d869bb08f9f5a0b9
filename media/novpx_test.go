//go:build !vpx

package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestAudioOnlyWithoutCommonVideoCodec: without the vpx tag, a browser that
// offers only VP8 still gets a call, with audio.
func TestAudioOnlyWithoutCommonVideoCodec(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{vp8At(96)}})
	c, _ := doorAnswers(t, m, r)
	within(t, 10*time.Second, "audio", func() bool { return r.get(func(r *remote) bool { return r.audioPkts > 10 }) })
	if c.video != nil {
		t.Errorf("call sends %s video to a browser that cannot take it", c.video.codec.name)
	}
	if r.get(func(r *remote) bool { return r.frames > 0 }) {
		t.Error("video frames arrived")
	}
}
