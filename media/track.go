package media

import (
	"github.com/pion/webrtc/v4"
)

// sharedTrack is one encoded stream that every call using its codec is bound
// to. pion's TrackLocalStaticSample packetizes each sample once and rewrites
// SSRC and payload type per binding, so every peer connection gets the
// payload type it negotiated (Chromium's H.264 is often 108, not
// mediadevices' fixed 125). The hooks let the encoder run only while some
// call is bound and start each new call with a key frame.
type sharedTrack struct {
	*webrtc.TrackLocalStaticSample
	onBind   func()
	onUnbind func()
}

var _ webrtc.TrackLocal = (*sharedTrack)(nil)

// Stream and track ids the browser sees: one stream, so its ontrack hands
// both tracks to one media element.
const (
	streamID     = "door"
	videoTrackID = "video"
	audioTrackID = "audio"
)

func newSharedTrack(c webrtc.RTPCodecCapability, id string, onBind, onUnbind func()) (*sharedTrack, error) {
	t, err := webrtc.NewTrackLocalStaticSample(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &sharedTrack{TrackLocalStaticSample: t, onBind: onBind, onUnbind: onUnbind}, nil
}

// Bind implements webrtc.TrackLocal: it is called once a peer connection
// has negotiated this track.
func (t *sharedTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticSample.Bind(ctx)
	if err == nil {
		t.onBind()
	}
	return p, err
}

// Unbind implements webrtc.TrackLocal: the peer connection stopped sending.
func (t *sharedTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	err := t.TrackLocalStaticSample.Unbind(ctx)
	if err == nil {
		t.onUnbind()
	}
	return err
}
