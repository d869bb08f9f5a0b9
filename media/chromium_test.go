package media

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/internal/poll"
)

// chromiumPage is a resident's browser reduced to the WebRTC calls: it
// offers (receive-only video, its fake microphone both ways) or answers,
// shows what it receives in one media element (remote audio is decoded only
// once attached to one), and reports its inbound statistics. Its microphone
// runs without echo cancellation, noise suppression and gain control: they
// take the fake device's beep for noise and leave almost nothing of it.
const chromiumPage = `<!doctype html><video id=v autoplay playsinline></video><script>
let pc, mic, cands = [];
async function setup() {
  mic = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  pc = new RTCPeerConnection();
  pc.onicecandidate = e => { if (e.candidate) cands.push(JSON.stringify(e.candidate)); };
  pc.ontrack = e => { const v = document.getElementById('v'); if (v.srcObject !== e.streams[0]) v.srcObject = e.streams[0]; };
}
window.makeOffer = async () => {
  await setup();
  pc.addTransceiver('video', {direction: 'recvonly'});
  mic.getAudioTracks().forEach(t => pc.addTrack(t, mic));
  await pc.setLocalDescription();
  return JSON.stringify(pc.localDescription);
};
window.takeAnswer = async a => { await pc.setRemoteDescription(JSON.parse(a)); return true; };
window.takeOffer = async o => {
  await setup();
  await pc.setRemoteDescription(JSON.parse(o));
  mic.getAudioTracks().forEach(t => pc.addTrack(t, mic));
  await pc.setLocalDescription();
  return JSON.stringify(pc.localDescription);
};
window.addCandidate = async c => { await pc.addIceCandidate(JSON.parse(c)); return true; };
window.takeCandidates = () => { const c = cands; cands = []; return c; };
// The longest gap between two pictures shown, in their own (RTP) time,
// since the last call: a freeze as the viewer saw it, not as a loaded
// test machine's clock saw it.
let lastMedia = -1, maxGap = 0, presented = 0;
function onFrame(now, md) {
  if (lastMedia >= 0) maxGap = Math.max(maxGap, md.mediaTime - lastMedia);
  lastMedia = md.mediaTime; presented++;
  document.getElementById('v').requestVideoFrameCallback(onFrame);
}
window.watchFrames = () => { document.getElementById('v').requestVideoFrameCallback(onFrame); return true; };
window.frameGaps = () => { const r = JSON.stringify({maxGap, presented}); maxGap = 0; presented = 0; return r; };
window.inbound = async () => {
  const out = {codecs: {}};
  const stats = await pc.getStats();
  stats.forEach(r => {
    if (r.type === 'inbound-rtp') out[r.kind] = r;
  });
  stats.forEach(r => {
    if (r.type === 'codec') out.codecs[r.id] = r.mimeType + ' ' + r.payloadType;
  });
  return JSON.stringify(out);
};
</script>`

// inboundStats is what the page reports about what it receives.
type inboundStats struct {
	Video struct {
		FramesDecoded        int     `json:"framesDecoded"`
		FrameWidth           int     `json:"frameWidth"`
		FrameHeight          int     `json:"frameHeight"`
		CodecID              string  `json:"codecId"`
		FreezeCount          int     `json:"freezeCount"`
		TotalFreezesDuration float64 `json:"totalFreezesDuration"`
		NackCount            int     `json:"nackCount"`
		PacketsLost          int     `json:"packetsLost"`
	} `json:"video"`
	Audio struct {
		TotalSamplesReceived int    `json:"totalSamplesReceived"`
		CodecID              string `json:"codecId"`
	} `json:"audio"`
	Codecs map[string]string `json:"codecs"`
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// browser opens the page in a fresh headless Chromium.
func browser(t testing.TB) context.Context {
	t.Helper()
	return browserFor(t, 90*time.Second)
}

// browserFor is browser for a test that needs the page for longer than
// the usual 90 s (at most chromiumtest.Timeout).
func browserFor(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, chromiumPage)
	}))
	t.Cleanup(srv.Close)
	ctx := chromiumtest.Start(t)
	ctx, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	return ctx
}

func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%.60s: %v", expr, err)
	}
	return v
}

// exchange trickles candidates both ways until done says the call works,
// and returns the page's last statistics.
func exchange(t testing.TB, ctx context.Context, c device.Call, ev *events, what string, done func(inboundStats) bool) inboundStats {
	t.Helper()
	var st inboundStats
	deadline := time.Now().Add(45 * time.Second)
	for {
		for _, cand := range ev.takeCandidates() {
			eval[bool](t, ctx, "addCandidate("+jsString(string(cand))+")")
		}
		for _, cand := range eval[[]string](t, ctx, "takeCandidates()") {
			if err := c.AddCandidate(json.RawMessage(cand)); err != nil {
				t.Logf("AddCandidate(%s): %v", cand, err)
			}
		}
		raw := eval[string](t, ctx, "inbound()")
		st = inboundStats{}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatalf("inbound() = %s: %v", raw, err)
		}
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %s; the page receives %s", what, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// roomForTestPattern is a video bitrate the test pattern's noise fits in at
// 640x480 (it needs about 2.2 Mbit/s): below it the rate governor shrinks
// the picture, and these tests check its size.
const roomForTestPattern = 4_000_000

// TestChromiumCallsDoor: Chromium offers (video receive-only, its fake
// microphone both ways), the door answers. The page decodes the door's
// 640x480 video and audio, and the door's sink hears the page's microphone.
func TestChromiumCallsDoor(t *testing.T) {
	m := newTestMedia(t, Config{VideoBitrate: roomForTestPattern})
	ctx := browser(t)
	c, ev := chromiumCallsDoor(t, ctx, m)
	st := exchange(t, ctx, c, ev, "640x480 video, audio, and the page's voice at the door", func(s inboundStats) bool {
		return s.Video.FramesDecoded > 10 && s.Video.FrameWidth == 640 && s.Video.FrameHeight == 480 &&
			s.Audio.TotalSamplesReceived > sampleRate/2 && m.Speaker().NonSilent > sampleRate/100
	})
	t.Logf("page decoded %d frames of %s and %d audio samples of %s; door speaker %+v",
		st.Video.FramesDecoded, st.Codecs[st.Video.CodecID], st.Audio.TotalSamplesReceived,
		st.Codecs[st.Audio.CodecID], m.Speaker())
	if !ev.has(device.ConnConnected) {
		t.Error("the door never reported the call connected")
	}
}

// chromiumCallsDoor makes the page's offer and the door's answer; the
// call ends with the test.
func chromiumCallsDoor(t testing.TB, ctx context.Context, m *Media) (device.Call, *events) {
	t.Helper()
	ev := &events{}
	c, err := m.NewCall("chromium", ev.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { poll.Returns(t, closeTimeout, "the call's Close", func() { c.Close() }) })
	offer := eval[string](t, ctx, "makeOffer()")
	answer, err := c.Answer(ctx, json.RawMessage(offer))
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	eval[bool](t, ctx, "takeAnswer("+jsString(string(answer))+")")
	return c, ev
}

// TestChromiumDoorCalls: the door offers, Chromium answers and decodes the
// door's video.
func TestChromiumDoorCalls(t *testing.T) {
	m := newTestMedia(t, Config{VideoBitrate: roomForTestPattern})
	ctx := browser(t)
	ev := &events{}
	c, err := m.NewCall("chromium", ev.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	offer, err := c.Offer(ctx)
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	answer := eval[string](t, ctx, "takeOffer("+jsString(string(offer))+")")
	if err := c.SetAnswer(json.RawMessage(answer)); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	st := exchange(t, ctx, c, ev, "640x480 video", func(s inboundStats) bool {
		return s.Video.FramesDecoded > 10 && s.Video.FrameWidth == 640 && s.Video.FrameHeight == 480 &&
			s.Audio.TotalSamplesReceived > 0
	})
	t.Logf("page decoded %d frames of %s", st.Video.FramesDecoded, st.Codecs[st.Video.CodecID])
}
