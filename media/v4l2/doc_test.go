package v4l2

import "testing"

func TestOffers(t *testing.T) {
	p := Probe{Formats: map[FourCC][]SizeRange{
		H264: {{Min: Size{1280, 720}, Max: Size{1280, 720}}, {Min: Size{640, 480}, Max: Size{640, 480}}},
		YUYV: {{Min: Size{48, 32}, Max: Size{1920, 1080}, Step: Size{16, 8}}},
	}}
	tests := []struct {
		f    FourCC
		w, h int
		want bool
	}{
		{H264, 640, 480, true},
		{H264, 1280, 720, true},
		{H264, 1920, 1080, false},
		{YUYV, 640, 480, true},
		{YUYV, 648, 480, false}, // off the 16-pixel step
		{YUYV, 2000, 480, false},
		{FourCC(0x47504a4d), 640, 480, false}, // MJPG: not offered
	}
	for _, tt := range tests {
		if got := p.Offers(tt.f, tt.w, tt.h); got != tt.want {
			t.Errorf("Offers(%v, %d, %d) = %v, want %v", tt.f, tt.w, tt.h, got, tt.want)
		}
	}
	if s := H264.String(); s != "H264" {
		t.Errorf("H264.String() = %q", s)
	}
	if s := FourCC(1).String(); s != "0x00000001" {
		t.Errorf("FourCC(1).String() = %q", s)
	}
}
