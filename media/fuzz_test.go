package media

import (
	"encoding/json"
	"testing"

	"github.com/pion/webrtc/v4"
)

const chromeOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 108\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtpmap:108 H264/90000\r\n" +
	"a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n"

// FuzzParseDescription: whatever a browser sends as its offer, the door
// answers with an error or a codec choice, never a crash.
func FuzzParseDescription(f *testing.F) {
	b, _ := json.Marshal(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: chromeOffer})
	f.Add(b)
	f.Add([]byte(`{"type":"offer","sdp":"v=0\r\nm=video 0 RTP/AVP 96\r\n"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, parsed, err := parseDescription(raw, webrtc.SDPTypeOffer)
		if err != nil {
			return
		}
		c, receives, common := videoWanted(parsed, videoCodecs())
		if common && (!receives || c.name == "") {
			t.Errorf("videoWanted = %q, receives %v, common %v", c.name, receives, common)
		}
	})
}

// FuzzOpusDecode: any packet a browser sends is decoded or refused.
func FuzzOpusDecode(f *testing.F) {
	f.Add([]byte{0xfc, 0xff, 0xfe})       // a 20 ms CELT frame header and noise
	f.Add([]byte{0x78, 0x01, 0x02, 0x03}) // SILK
	f.Add([]byte{0x03, 0x83, 0x00, 0x00}) // code 3, many frames
	f.Add([]byte{})                       // a lost packet
	dec, err := newOpusDecoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(dec.close)
	f.Fuzz(func(t *testing.T, packet []byte) {
		pcm, err := dec.decode(packet, 960)
		if err == nil && len(pcm) > maxOpusFrame {
			t.Errorf("decode gave %d samples, more than %d", len(pcm), maxOpusFrame)
		}
	})
}

// FuzzAddCandidate: a candidate from the network is held or refused, never
// a crash.
func FuzzAddCandidate(f *testing.F) {
	f.Add([]byte(`{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`))
	f.Add([]byte(`{"candidate":""}`))
	f.Add([]byte(`[]`))
	m := newTestMedia(f, Config{Camera: "none", Mic: "none", Speaker: "none"})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := m.NewCall("fuzz", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.AddCandidate(raw)
	})
}
