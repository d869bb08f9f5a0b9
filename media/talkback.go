package media

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// maxConcealed is the longest gap (in packets) that the Opus decoder fills
// with concealment; a longer one is a jump, not loss.
const maxConcealed = 5

// onTrack receives the browser's tracks: its audio is played on the
// speaker; anything else is read and dropped.
func (c *call) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if !c.goroutine() {
		return
	}
	go func() {
		defer c.wg.Done()
		if t.Kind() == webrtc.RTPCodecTypeAudio && c.m.speaker != nil &&
			strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeOpus) {
			c.talkback(t)
			return
		}
		for {
			if _, _, err := t.ReadRTP(); err != nil {
				return
			}
		}
	}()
}

// talkback decodes the resident's Opus and plays it. Duplicated and late
// packets are dropped, short gaps concealed by the decoder.
func (c *call) talkback(t *webrtc.TrackRemote) {
	dec, err := newOpusDecoder()
	if err != nil {
		c.log.Error("talk-back disabled", "err", err)
		return
	}
	defer dec.close()
	v := c.m.speaker.voice()
	defer v.close()
	c.log.Info("talk-back started")
	var last uint16
	started, lastLen, badLogged := false, sampleRate/50, false
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue // padding
		}
		if started {
			gap := pkt.SequenceNumber - last
			if gap == 0 || gap >= 0x8000 {
				continue // duplicate or late
			}
			for i := uint16(1); i < gap && gap <= maxConcealed; i++ {
				if pcm, err := dec.decode(nil, lastLen); err == nil {
					v.write(pcm)
				}
			}
		}
		started, last = true, pkt.SequenceNumber
		pcm, err := dec.decode(pkt.Payload, 0)
		if err != nil {
			if !badLogged {
				c.log.Warn("bad opus packet", "err", err)
				badLogged = true
			}
			continue
		}
		lastLen = len(pcm)
		v.write(pcm)
	}
}
