package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestVP8WhenOfferHasNoH264: a browser without H.264 gets VP8, at the
// payload type it offered.
func TestVP8WhenOfferHasNoH264(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240, Mic: "none"})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{vp8At(97)}, noAudio: true})
	c, _ := doorAnswers(t, m, r)
	within(t, 10*time.Second, "VP8 key frame", func() bool {
		return r.get(func(r *remote) bool { return r.frames >= 5 && r.vp8Key })
	})
	r.get(func(r *remote) bool {
		if r.videoMime != webrtc.MimeTypeVP8 || r.videoPT != 97 {
			t.Errorf("video arrives as %s at %d, want VP8 at 97", r.videoMime, r.videoPT)
		}
		return true
	})
	if c.video.codec.name != "VP8" {
		t.Errorf("call encodes %s, want VP8", c.video.codec.name)
	}
}

// TestH264PreferredOverVP8: with both offered, H.264 wins (it costs a
// fraction of VP8's CPU).
func TestH264PreferredOverVP8(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240, Mic: "none"})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{vp8At(96), h264At(108)}, noAudio: true})
	doorAnswers(t, m, r)
	within(t, 10*time.Second, "video", func() bool { return r.get(func(r *remote) bool { return r.frames >= 5 }) })
	r.get(func(r *remote) bool {
		if r.videoMime != webrtc.MimeTypeH264 {
			t.Errorf("video arrives as %s, want H264", r.videoMime)
		}
		return true
	})
}

// TestOfferSwitchesToVP8: the door offers H.264 and VP8; a browser that
// answers with VP8 only gets VP8.
func TestOfferSwitchesToVP8(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240, Mic: "none"})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{vp8At(96)}, noAudio: true})
	c, ev, offer := offerCall(t, m)
	if !sdpHas(offer, "VP8/90000") || !sdpHas(offer, "H264/90000") {
		t.Fatalf("offer lacks H264 or VP8:\n%s", offer)
	}
	answer, cands := r.answer(offer)
	if err := c.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	for _, cand := range cands {
		c.AddCandidate(cand)
	}
	connect(t, c, ev, r)
	within(t, 10*time.Second, "VP8 key frame", func() bool {
		return r.get(func(r *remote) bool { return r.frames >= 5 && r.vp8Key && r.videoMime == webrtc.MimeTypeVP8 })
	})
}
