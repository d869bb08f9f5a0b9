// Package vp8 is a thin binding to libvpx's VP8 encoder with the realtime
// controls the door needs and mediadevices' binding lacks: a fixed speed
// (VP8E_SET_CPUUSED; without it libvpx picks its slowest realtime speed and
// costs about 12x openh264), error resilience, no lag, no dropped frames,
// key frames only on request. It encodes I420 frames; reader.go plugs it
// into mediadevices' codec interfaces.
package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// cgo reaches neither libvpx's macros nor the packet's union: these do.
static vpx_codec_err_t vp8_config_default(vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
}
static vpx_codec_err_t vp8_init(vpx_codec_ctx_t *ctx, const vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, 0);
}
static vpx_codec_err_t vp8_control(vpx_codec_ctx_t *ctx, int id, int v) {
	return vpx_codec_control_(ctx, id, v);
}
// vp8_next_frame finds the next compressed frame of the last encode.
static int vp8_next_frame(vpx_codec_ctx_t *ctx, vpx_codec_iter_t *iter, const void **buf, size_t *sz, int *key) {
	const vpx_codec_cx_pkt_t *p;
	while ((p = vpx_codec_get_cx_data(ctx, iter)) != NULL) {
		if (p->kind == VPX_CODEC_CX_FRAME_PKT) {
			*buf = p->data.frame.buf;
			*sz = p->data.frame.sz;
			*key = (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
			return 1;
		}
	}
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/intercomd/intercomd/media/framecodec"
)

// Config is one encoder's settings.
type Config struct {
	Width, Height int
	FPS           int // the frame rate: each frame is 1/FPS long for rate control
	Bitrate       int // target, bits per second (CBR)
	// Speed is libvpx's realtime speed, 1 (best picture) to 16 (least CPU),
	// set as cpu-used -Speed; 0 means DefaultSpeed.
	Speed int
	// KeyFrameInterval is in frames; 0: key frames only on request (the
	// door forces them by the clock, media/video.go).
	KeyFrameInterval int
	Threads          int // 0 or 1: one
}

// DefaultSpeed is the door's cpu-used -8 (cmd/bench's arm section and
// /work/notes/issue-15-vp8.md have the figures behind it).
const DefaultSpeed = 8

// Encoder is one libvpx VP8 encoder. Its methods are not safe for
// concurrent use.
type Encoder struct {
	ctx   *C.vpx_codec_ctx_t     // C memory: libvpx keeps pointers into it
	cfg   *C.vpx_codec_enc_cfg_t // C memory: the context keeps a pointer to it
	img   *C.vpx_image_t         // the frame handed to libvpx, C memory
	w, h  int
	pts   int64
	speed int
}

// ErrClosed is returned by an encoder used after Close.
var ErrClosed = errors.New("vp8: encoder closed")

// NewEncoder makes an encoder; Close frees it.
func NewEncoder(c Config) (*Encoder, error) {
	switch {
	case c.Width <= 0 || c.Height <= 0 || c.Width > 16383 || c.Height > 16383:
		return nil, fmt.Errorf("vp8: size %dx%d: want 1 to 16383 each way", c.Width, c.Height)
	case c.FPS <= 0 || c.Bitrate < 1000:
		return nil, fmt.Errorf("vp8: frame rate %d and bitrate %d: want a rate and at least 1 kbit/s", c.FPS, c.Bitrate)
	case c.Speed < 0 || c.Speed > 16:
		return nil, fmt.Errorf("vp8: speed %d: want 1 to 16 (0: default)", c.Speed)
	case c.KeyFrameInterval < 0 || c.Threads < 0:
		return nil, fmt.Errorf("vp8: key frame interval %d, threads %d: want >= 0", c.KeyFrameInterval, c.Threads)
	}
	if c.Speed == 0 {
		c.Speed = DefaultSpeed
	}
	e := &Encoder{w: c.Width, h: c.Height, speed: c.Speed}
	e.cfg = (*C.vpx_codec_enc_cfg_t)(C.calloc(1, C.sizeof_vpx_codec_enc_cfg_t))
	e.ctx = (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))
	if err := e.init(c); err != nil {
		e.free()
		return nil, err
	}
	return e, nil
}

func (e *Encoder) init(c Config) error {
	cfg := e.cfg
	if rc := C.vp8_config_default(cfg); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vp8: default config: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	cfg.g_w, cfg.g_h = C.uint(c.Width), C.uint(c.Height)
	cfg.g_threads = C.uint(max(c.Threads, 1))
	cfg.g_timebase.num, cfg.g_timebase.den = 1, C.int(c.FPS)
	cfg.g_pass = C.VPX_RC_ONE_PASS
	cfg.g_lag_in_frames = 0 // every frame leaves at once
	// A lost packet spoils the picture until the next key frame, not the
	// decoder's state beyond it.
	cfg.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	// Rate control as the H.264 path: constant bitrate, no frames dropped
	// (a dark, noisy street gets coarser, not jerky), no resizing of its own
	// (the rate governor picks the size). Buffer figures are libwebrtc's.
	cfg.rc_end_usage = C.VPX_CBR
	cfg.rc_target_bitrate = C.uint(max(c.Bitrate/1000, 1))
	cfg.rc_dropframe_thresh = 0
	cfg.rc_resize_allowed = 0
	cfg.rc_min_quantizer, cfg.rc_max_quantizer = 2, 63
	cfg.rc_undershoot_pct, cfg.rc_overshoot_pct = 100, 15
	cfg.rc_buf_initial_sz, cfg.rc_buf_optimal_sz, cfg.rc_buf_sz = 500, 600, 1000
	if c.KeyFrameInterval > 0 {
		cfg.kf_mode = C.VPX_KF_AUTO
		cfg.kf_min_dist, cfg.kf_max_dist = 0, C.uint(c.KeyFrameInterval)
	} else {
		cfg.kf_mode = C.VPX_KF_DISABLED
	}
	if rc := C.vp8_init(e.ctx, cfg); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vp8: init %dx%d: %s", c.Width, c.Height, e.errorText(rc))
	}
	controls := []struct {
		name  string
		id, v C.int
	}{
		{"cpu-used", C.VP8E_SET_CPUUSED, C.int(-c.Speed)}, // negative: this speed, never slower
		{"noise sensitivity", C.VP8E_SET_NOISE_SENSITIVITY, 0},
		{"static threshold", C.VP8E_SET_STATIC_THRESHOLD, 1},
		// A key frame may take at most 9 average frames' bits (libwebrtc's
		// rule: half the optimal buffer), so a forced one does not burst.
		{"max intra bitrate", C.VP8E_SET_MAX_INTRA_BITRATE_PCT, C.int(600 / 2 * c.FPS / 10)},
	}
	for _, k := range controls {
		if rc := C.vp8_control(e.ctx, k.id, k.v); rc != C.VPX_CODEC_OK {
			C.vpx_codec_destroy(e.ctx)
			return fmt.Errorf("vp8: set %s %d: %s", k.name, k.v, e.errorText(rc))
		}
	}
	e.img = C.vpx_img_alloc(nil, C.VPX_IMG_FMT_I420, C.uint(c.Width), C.uint(c.Height), 16)
	if e.img == nil {
		C.vpx_codec_destroy(e.ctx)
		return fmt.Errorf("vp8: no memory for a %dx%d frame", c.Width, c.Height)
	}
	return nil
}

// Speed is the speed the encoder runs at (cpu-used -Speed).
func (e *Encoder) Speed() int { return e.speed }

// SetBitrate changes the target bitrate (bits per second) from the next
// frame on.
func (e *Encoder) SetBitrate(bps int) error {
	if e.img == nil {
		return ErrClosed
	}
	if bps < 1000 {
		return fmt.Errorf("vp8: bitrate %d: want at least 1 kbit/s", bps)
	}
	kbps := C.uint(bps / 1000)
	if kbps == e.cfg.rc_target_bitrate {
		return nil
	}
	old := e.cfg.rc_target_bitrate
	e.cfg.rc_target_bitrate = kbps
	if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		e.cfg.rc_target_bitrate = old
		return fmt.Errorf("vp8: bitrate %d: %s", bps, e.errorText(rc))
	}
	return nil
}

// Encode compresses one 4:2:0 frame of the encoder's size; key forces a
// key frame. The frame is new memory the caller owns; isKey says what
// libvpx made of it.
func (e *Encoder) Encode(img *image.YCbCr, key bool) (frame []byte, isKey bool, err error) {
	if e.img == nil {
		return nil, false, ErrClosed
	}
	if err := framecodec.CheckFrame("vp8", img, e.w, e.h); err != nil {
		return nil, false, err
	}
	e.copyIn(img)
	var flags C.vpx_enc_frame_flags_t
	if key {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	if rc := C.vpx_codec_encode(e.ctx, e.img, C.vpx_codec_pts_t(e.pts), 1, flags, C.VPX_DL_REALTIME); rc != C.VPX_CODEC_OK {
		return nil, false, fmt.Errorf("vp8: encode frame %d: %s", e.pts, e.errorText(rc))
	}
	e.pts++
	var (
		iter C.vpx_codec_iter_t
		buf  unsafe.Pointer
		sz   C.size_t
		k    C.int
	)
	for C.vp8_next_frame(e.ctx, &iter, &buf, &sz, &k) != 0 {
		frame = append(frame, unsafe.Slice((*byte)(buf), int(sz))...)
		isKey = isKey || k != 0
	}
	return frame, isKey, nil
}

// copyIn copies img's planes into the C frame, row by row (strides differ).
func (e *Encoder) copyIn(img *image.YCbCr) {
	b := img.Rect
	cw, ch := (e.w+1)/2, (e.h+1)/2
	plane := func(i int) ([]byte, int) {
		stride := int(e.img.stride[i])
		rows := e.h
		if i > 0 {
			rows = ch
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(e.img.planes[i])), stride*rows), stride
	}
	y, ys := plane(0)
	for r := range e.h {
		o := img.YOffset(b.Min.X, b.Min.Y+r)
		copy(y[r*ys:r*ys+e.w], img.Y[o:o+e.w])
	}
	u, us := plane(1)
	v, vs := plane(2)
	for r := range ch {
		o := img.COffset(b.Min.X, b.Min.Y+2*r)
		copy(u[r*us:r*us+cw], img.Cb[o:o+cw])
		copy(v[r*vs:r*vs+cw], img.Cr[o:o+cw])
	}
}

// Close frees the encoder; later calls return ErrClosed.
func (e *Encoder) Close() error {
	if e.img == nil {
		return nil
	}
	var err error
	if rc := C.vpx_codec_destroy(e.ctx); rc != C.VPX_CODEC_OK {
		err = fmt.Errorf("vp8: close: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	C.vpx_img_free(e.img)
	e.img = nil
	e.free()
	return err
}

func (e *Encoder) free() {
	C.free(unsafe.Pointer(e.ctx))
	C.free(unsafe.Pointer(e.cfg))
	e.ctx, e.cfg = nil, nil
}

func (e *Encoder) errorText(rc C.vpx_codec_err_t) string {
	s := C.GoString(C.vpx_codec_err_to_string(rc))
	if d := C.vpx_codec_error_detail(e.ctx); d != nil {
		s += ": " + C.GoString(d)
	}
	return s
}
