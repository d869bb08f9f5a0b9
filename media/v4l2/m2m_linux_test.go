//go:build linux

package v4l2

import (
	"testing"
	"unsafe"
)

// TestStructSizes: the ioctl structs have the kernel's sizes on this
// architecture (linux/videodev2.h; the pointer-sized unions differ on
// 32-bit ARM). The ioctl numbers carry the size, so a wrong one is
// refused by every driver.
func TestStructSizes(t *testing.T) {
	ptr := unsafe.Sizeof(uintptr(0))
	tests := []struct {
		name     string
		got      uintptr
		b64, b32 uintptr
	}{
		{"v4l2_capability", unsafe.Sizeof(capability{}), 104, 104},
		{"v4l2_pix_format_mplane", unsafe.Sizeof(pixFormatMPlane{}), 192, 192},
		{"v4l2_format", unsafe.Sizeof(format{}), 208, 204},
		{"v4l2_requestbuffers", unsafe.Sizeof(requestBuffers{}), 20, 20},
		{"v4l2_plane", unsafe.Sizeof(plane{}), 64, 60},
		{"v4l2_buffer", unsafe.Sizeof(buffer{}), 88, 68},
		{"v4l2_queryctrl", unsafe.Sizeof(queryctrl{}), 68, 68},
	}
	for _, tt := range tests {
		want := tt.b64
		if ptr == 4 {
			want = tt.b32
		}
		if tt.got != want {
			t.Errorf("sizeof(%s) = %d, want %d", tt.name, tt.got, want)
		}
	}
	if vidiocQbuf != 0xc058560f && ptr == 8 {
		t.Errorf("VIDIOC_QBUF = %#x, want 0xc058560f", vidiocQbuf)
	}
}
