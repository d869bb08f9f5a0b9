package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"strconv"

	"golang.org/x/image/draw"
)

// The payload the service worker (web/static/sw.js) reads. Words are the
// client's to choose, in the resident's language; this says what happened.
type message struct {
	V     int    `json:"v"`
	Kind  string `json:"kind"`
	Call  uint64 `json:"call,omitempty"`
	At    int64  `json:"at"`             // when the ring started, Unix ms
	By    string `json:"by,omitempty"`   // who answered
	From  string `json:"from,omitempty"` // the resident calling (kindCall and its replacements)
	Image string `json:"image,omitempty"`
	// Picture marks the ring's second message, which only adds the
	// picture: shown silently in place of the first (same tag).
	Picture bool `json:"picture,omitempty"`
	// Decline is this device's capability to decline the ring (POST
	// /api/push/decline); it can do nothing else.
	Decline string `json:"decline,omitempty"`
	Silent  bool   `json:"silent,omitempty"` // quiet hours
}

// Kinds of message.
const (
	kindRing     = "ring"
	kindCall     = "call" // a resident calls
	kindDeclined = "declined"
	kindAnswered = "answered"
	kindMissed   = "missed"
	kindTest     = "test"
)

// topic is the RFC 8030 Topic: a push service keeps only the newest
// undelivered message of a topic, so a phone that was offline during the
// ring gets "missed call", not a ring that is over. The client uses the same
// string as the notification's tag, so the newer one replaces the older.
func (m message) topic() string {
	switch {
	case m.Call == 0:
		return m.Kind
	case m.From != "":
		return "call-" + strconv.FormatUint(m.Call, 10)
	}
	return "ring-" + strconv.FormatUint(m.Call, 10)
}

// Sizes. Every request body is exactly recordSize bytes (the library pads
// to it, so the size says nothing about the content). 3052 bytes is below
// what the constrained push services take (Firefox for Android's 3070, the
// APNs relays); the plaintext is the record less its header (86 bytes),
// the AEAD tag (16) and the padding delimiter (1).
const (
	recordSize = 3052
	maxPlain   = recordSize - 86 - 16 - 1
	// maxImage leaves the rest of the JSON room beside the picture.
	maxImage = maxPlain - 256
)

// encode is m as JSON within maxPlain, without the picture if it must.
func (m message) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > maxPlain && m.Image != "" {
		m.Image = ""
		return m.encode()
	}
	if len(b) > maxPlain {
		return nil, fmt.Errorf("push: message of %d bytes is over %d", len(b), maxPlain)
	}
	return b, nil
}

const dataURLPrefix = "data:image/jpeg;base64,"

// fitThumbnail makes a data: URL of jpg no longer than max characters:
// the picture as it is when it fits, else smaller and coarser copies until
// one does. No URL that shows the camera leaves intercomd this way: the
// picture travels encrypted inside the notification.
func fitThumbnail(jpg []byte, max int) (string, error) {
	if len(dataURLPrefix)+base64.StdEncoding.EncodedLen(len(jpg)) <= max {
		return dataURLPrefix + base64.StdEncoding.EncodeToString(jpg), nil
	}
	src, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return "", fmt.Errorf("push: snapshot: %w", err)
	}
	b := src.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return "", fmt.Errorf("push: snapshot is empty")
	}
	for _, w := range []int{160, 128, 96, 64} {
		h := max1(b.Dy() * w / b.Dx())
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		for _, q := range []int{60, 40, 25} {
			var out bytes.Buffer
			if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: q}); err != nil {
				return "", fmt.Errorf("push: thumbnail: %w", err)
			}
			if len(dataURLPrefix)+base64.StdEncoding.EncodedLen(out.Len()) <= max {
				return dataURLPrefix + base64.StdEncoding.EncodeToString(out.Bytes()), nil
			}
		}
	}
	return "", fmt.Errorf("push: no thumbnail fits in %d bytes", max)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
