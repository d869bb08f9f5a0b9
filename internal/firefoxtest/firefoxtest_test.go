package firefoxtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestFirefoxOffersNoH264: the Firefox of the tests is the one of a new
// user without the OpenH264 plugin: VP8 but no H.264. The end-to-end tests
// rely on it to prove the door's VP8 path.
func TestFirefoxOffersNoH264(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("<!doctype html><title>t</title>"))
	}))
	defer srv.Close()
	b := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	p, err := b.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var codecs []string
	if err := p.Eval(ctx, `RTCRtpReceiver.getCapabilities("video").codecs.map((c) => c.mimeType)`, &codecs); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(codecs, "video/VP8") || slices.Contains(codecs, "video/H264") {
		t.Errorf("Firefox receives %v, want VP8 and no H264", codecs)
	}
	if err := p.Eval(ctx, `nosuchname`, nil); err == nil {
		t.Error("Eval of an undefined name did not fail")
	}
}
