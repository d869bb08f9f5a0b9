package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// vp9At is a codec the door does not have: a browser offering only it
// shares no video codec with the door.
func vp9At(pt webrtc.PayloadType) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0",
	}, PayloadType: pt}
}

// TestAudioOnlyWithoutCommonVideoCodec: a browser whose offer has no video
// codec of the door's still gets a call, with audio.
func TestAudioOnlyWithoutCommonVideoCodec(t *testing.T) {
	m := newTestMedia(t, Config{Width: 320, Height: 240})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{vp9At(98)}})
	c, _ := doorAnswers(t, m, r)
	within(t, 10*time.Second, "audio", func() bool { return r.get(func(r *remote) bool { return r.audioPkts > 10 }) })
	if c.video != nil {
		t.Errorf("call sends %s video to a browser that cannot take it", c.video.codec.name)
	}
	if r.get(func(r *remote) bool { return r.frames > 0 }) {
		t.Error("video frames arrived")
	}
}

// TestDoorOfferVideoDeclined: the door calls a browser that takes none of
// its video codecs (or no video at all); the browser's answer declines the
// video section and the call goes on with audio instead of failing.
func TestDoorOfferVideoDeclined(t *testing.T) {
	tests := []struct {
		name  string
		video []webrtc.RTPCodecParameters
	}{
		{"VP9 only", []webrtc.RTPCodecParameters{vp9At(98)}},
		{"no video", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMedia(t, Config{Width: 320, Height: 240})
			r := newRemote(t, remoteOpts{video: tt.video})
			c, ev, offer := offerCall(t, m)
			answer, cands := r.answer(offer)
			if err := c.SetAnswer(answer); err != nil {
				t.Fatalf("SetAnswer of an answer declining video: %v\n%s", err, answer)
			}
			for _, cand := range cands {
				if err := c.AddCandidate(cand); err != nil {
					t.Errorf("AddCandidate(%s): %v", cand, err)
				}
			}
			connect(t, c, ev, r)
			within(t, 10*time.Second, "audio", func() bool { return r.get(func(r *remote) bool { return r.audioPkts > 10 }) })
			if v := c.currentVideo(); v != nil {
				t.Errorf("call still sends %s video after the browser declined it", v.codec.name)
			}
		})
	}
}
