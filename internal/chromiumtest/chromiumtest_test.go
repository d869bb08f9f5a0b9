package chromiumtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestChromiumFakeMediaAndLoopback proves the flags work: the page gets the fake
// camera and a loopback peer connection decodes its video.
func TestChromiumFakeMediaAndLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><video id=v autoplay muted playsinline></video><script>
window.decoded = 0;
(async () => {
  const s = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
  b.ontrack = e => { document.getElementById('v').srcObject = e.streams[0]; };
  s.getTracks().forEach(tr => a.addTrack(tr, s));
  await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
  setInterval(async () => {
    (await b.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') window.decoded = r.framesDecoded; });
  }, 100);
})();
</script>`))
	}))
	defer srv.Close()
	ctx := Start(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	if err := WaitJS(ctx, "window.decoded > 0"); err != nil {
		t.Fatal(err)
	}
}
