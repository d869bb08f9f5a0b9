package main

import (
	"fmt"
	"image"
	"testing"

	"github.com/intercomd/intercomd/media/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
)

// encodeOne encodes one w x h frame with openh264, the door's encoder, and
// returns its Annex-B bytes.
func encodeOne(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i)
	}
	r := video.ReaderFunc(func() (image.Image, func(), error) { return img, func() {}, nil })
	enc, err := openh264.NewReader(r, openh264.Config{Width: w, Height: h, FPS: 5, Bitrate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	b, release, err := enc.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	return append([]byte(nil), b...)
}

func TestSPSSize(t *testing.T) {
	for _, size := range [][2]int{{640, 480}, {1280, 720}, {320, 180}, {176, 144}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			var sps []byte
			for _, nal := range nalUnits(encodeOne(t, size[0], size[1])) {
				if nal[0]&0x1f == 7 {
					sps = nal
				}
			}
			if sps == nil {
				t.Fatal("openh264's key frame has no SPS")
			}
			w, h, err := spsSize(sps)
			if err != nil || w != size[0] || h != size[1] {
				t.Errorf("spsSize(%x) = %d, %d, %v; want %d, %d", sps, w, h, err, size[0], size[1])
			}
		})
	}
}

func TestSPSSizeBad(t *testing.T) {
	for _, bad := range [][]byte{nil, {0x67}, {0x67, 0x42}, {0x01, 0x42, 0xc0, 0x1e}, {0x67, 0x42, 0xc0, 0x1e}} {
		if w, h, err := spsSize(bad); err == nil {
			t.Errorf("spsSize(%x) = %d, %d, nil; want an error", bad, w, h)
		}
	}
}

func TestNALUnits(t *testing.T) {
	b := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4}
	got := nalUnits(b)
	if len(got) != 3 || len(got[0]) != 3 || got[0][0] != 0x67 || len(got[1]) != 2 || got[1][0] != 0x68 || got[2][0] != 0x65 {
		t.Errorf("nalUnits(%x) = %x, want [670102 6803 6504]", b, got)
	}
}
