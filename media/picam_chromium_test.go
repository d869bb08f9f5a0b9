package media

import (
	"syscall"
	"testing"
)

// TestChromiumPicam: Chromium decodes the camera module's video from both
// paths: the hardware encoder's H.264 passed through as it came, and
// rpicam-vid's YUV420 encoded by the door. On the passthrough path,
// rpicam-vid killed mid-call is restarted and the page's picture resumes.
func TestChromiumPicam(t *testing.T) {
	for _, enc := range []string{"hardware", "software"} {
		t.Run(enc, func(t *testing.T) {
			m := picamMedia(t, enc)
			ctx := browser(t)
			c, ev := chromiumCallsDoor(t, ctx, m)
			st := exchange(t, ctx, c, ev, "640x480 video from the camera module", func(s inboundStats) bool {
				return s.Video.FramesDecoded > 10 && s.Video.FrameWidth == 640 && s.Video.FrameHeight == 480
			})
			t.Logf("%s: page decoded %d frames of %s", enc, st.Video.FramesDecoded, st.Codecs[st.Video.CodecID])
			if enc != "hardware" {
				return
			}
			rp := m.camera.picam
			pid := rp.pid()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill rpicam-vid %d: %v", pid, err)
			}
			decoded := st.Video.FramesDecoded
			st = exchange(t, ctx, c, ev, "the picture after rpicam-vid's restart", func(s inboundStats) bool {
				return s.Video.FramesDecoded > decoded+30 && rp.starts.Load() >= 2
			})
			t.Logf("after the restart: %d frames decoded, rpicam-vid started %d times", st.Video.FramesDecoded, rp.starts.Load())
		})
	}
}
