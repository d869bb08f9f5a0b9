package media

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// maxDescription bounds a session description: the hub's frames are at most
// 64 KiB anyway.
const maxDescription = 64 << 10

// ErrBadDescription wraps every session description or candidate the door
// refuses.
var ErrBadDescription = errors.New("bad session description")

// parseDescription decodes the browser's RTCSessionDescriptionInit and
// checks it is of type want and parses as SDP.
func parseDescription(raw json.RawMessage, want webrtc.SDPType) (webrtc.SessionDescription, *sdp.SessionDescription, error) {
	var d webrtc.SessionDescription
	if len(raw) > maxDescription {
		return d, nil, fmt.Errorf("%w: %d bytes", ErrBadDescription, len(raw))
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, nil, fmt.Errorf("%w: %v", ErrBadDescription, err)
	}
	if d.Type != want {
		return d, nil, fmt.Errorf("%w: type %q, want %q", ErrBadDescription, d.Type, want)
	}
	parsed, err := d.Unmarshal()
	if err != nil {
		return d, nil, fmt.Errorf("%w: %v", ErrBadDescription, err)
	}
	return d, parsed, nil
}

// videoWanted reads the remote's first video section: whether it wants to
// receive video at all, and the first of ours (in our order of preference)
// that it lists. H.264 counts only in packetization mode 1, the only one
// pion's packetizer produces.
func videoWanted(d *sdp.SessionDescription, ours []videoCodec) (c videoCodec, receives, common bool) {
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		if m.MediaName.Port.Value == 0 {
			return c, false, false // rejected section
		}
		for _, a := range m.Attributes {
			if a.Key == "sendonly" || a.Key == "inactive" {
				return c, false, false
			}
		}
		names := map[string]string{} // payload type -> codec name
		fmtps := map[string]string{}
		for _, a := range m.Attributes {
			pt, rest, ok := strings.Cut(a.Value, " ")
			if !ok {
				continue
			}
			switch a.Key {
			case "rtpmap":
				name, _, _ := strings.Cut(rest, "/")
				names[pt] = strings.ToUpper(name)
			case "fmtp":
				fmtps[pt] = rest
			}
		}
		for _, o := range ours {
			want := strings.ToUpper(strings.TrimPrefix(o.capability.MimeType, "video/"))
			for pt, name := range names {
				if name == want && (want != "H264" || h264Mode1(fmtps[pt])) {
					return o, true, true
				}
			}
		}
		return c, true, false
	}
	return c, false, false
}

func h264Mode1(fmtp string) bool {
	for _, p := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "packetization-mode") {
			return strings.TrimSpace(v) == "1"
		}
	}
	return false
}
