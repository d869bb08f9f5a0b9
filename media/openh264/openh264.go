// Package openh264 is a thin binding to OpenH264's encoder with the controls the
// door needs and mediadevices' binding does not expose: the lowest
// complexity mode, no scene change or background detection, no adaptive
// quantisation, no denoising, one thread, no frame skipping, key frames only
// on request, and bitrate changes that do not restart the encoder. Together
// they make openh264 cheaper per frame (cmd/bench's encoder section). It
// encodes I420 frames; reader.go plugs it into mediadevices' codec
// interfaces. The library is Debian's libopenh264-dev, linked statically
// into the Pi builds (build/dist.sh).
package openh264

/*
#cgo pkg-config: openh264
#include <stdlib.h>
#include <string.h>
#include <wels/codec_api.h>

// h264Trace is Go's (trace.go).
extern void h264Trace(void *ctx, int level, char *msg);
static void h264_trace(void *ctx, int level, const char *msg) { h264Trace(ctx, level, (char *)msg); }

// cgo cannot call through ISVCEncoder's table of functions: these do.
static int h264_new(ISVCEncoder **e, SEncParamExt *p) {
	if (WelsCreateSVCEncoder(e) != 0 || *e == NULL) return -1;
	return (**e)->GetDefaultParams(*e, p);
}
static int h264_init(ISVCEncoder *e, SEncParamExt *p) {
	int level = WELS_LOG_WARNING;
	WelsTraceCallback cb = h264_trace;
	(*e)->SetOption(e, ENCODER_OPTION_TRACE_LEVEL, &level);
	(*e)->SetOption(e, ENCODER_OPTION_TRACE_CALLBACK, &cb);
	return (*e)->InitializeExt(e, p);
}
static void h264_free(ISVCEncoder *e) {
	(*e)->Uninitialize(e);
	WelsDestroySVCEncoder(e);
}
// h264_bitrate sets a new target (and the same maximum, which rate control
// holds to): through the whole parameter set, as ENCODER_OPTION_BITRATE
// alone lowers the rate but does not raise it again. openh264 restarts
// nothing when only rates change.
static int h264_bitrate(ISVCEncoder *e, int bps) {
	SEncParamExt p;
	int rc = (*e)->GetOption(e, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, &p);
	if (rc != 0) return rc;
	p.iTargetBitrate = p.iMaxBitrate = bps;
	p.sSpatialLayers[0].iSpatialBitrate = p.sSpatialLayers[0].iMaxSpatialBitrate = bps;
	return (*e)->SetOption(e, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, &p);
}
static int h264_force_key(ISVCEncoder *e) { return (*e)->ForceIntraFrame(e, true); }
// h264_encode encodes one frame, the planes in Go memory (read only during
// the call); info's NALs point into the encoder's own buffer until the next
// call.
static int h264_encode(ISVCEncoder *e, SFrameBSInfo *info, int w, int h, long long ms,
		unsigned char *y, int ys, unsigned char *u, unsigned char *v, int cs) {
	SSourcePicture pic;
	memset(&pic, 0, sizeof pic);
	pic.iColorFormat = videoFormatI420;
	pic.iPicWidth = w;
	pic.iPicHeight = h;
	pic.uiTimeStamp = ms;
	pic.pData[0] = y; pic.pData[1] = u; pic.pData[2] = v;
	pic.iStride[0] = ys; pic.iStride[1] = pic.iStride[2] = cs;
	memset(info, 0, sizeof *info);
	return (*e)->EncodeFrame(e, &pic, info);
}
// h264_size is the frame's length in bytes, all layers' NALs together (they
// lie one after the other in one buffer: the first layer's start is the frame's).
static int h264_size(SFrameBSInfo *info, unsigned char **start) {
	int n = 0;
	*start = info->iLayerNum > 0 ? info->sLayerInfo[0].pBsBuf : NULL;
	for (int l = 0; l < info->iLayerNum; l++)
		for (int i = 0; i < info->sLayerInfo[l].iNalCount; i++)
			n += info->sLayerInfo[l].pNalLengthInByte[i];
	return n;
}
static int h264_layer_start_ok(SFrameBSInfo *info) {
	unsigned char *p = info->sLayerInfo[0].pBsBuf;
	for (int l = 0; l < info->iLayerNum; l++) {
		if (info->sLayerInfo[l].pBsBuf != p) return 0;
		for (int i = 0; i < info->sLayerInfo[l].iNalCount; i++)
			p += info->sLayerInfo[l].pNalLengthInByte[i];
	}
	return 1;
}
static int h264_frame_type(SFrameBSInfo *info) { return info->eFrameType; }
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
	FPS           int // the frame rate: rate control budgets bits per frame from it
	Bitrate       int // target, bits per second
	// KeyFrameInterval is in frames; 0: key frames only on request (the
	// door forces them by the clock, media/video.go).
	KeyFrameInterval int
	// Threads is openh264's thread count; 0 or 1: one (a second thread
	// costs more CPU than it saves at the door's sizes).
	Threads int
	// FrameSkip lets rate control drop frames to hold the bitrate
	// (openh264's default). The door keeps it off: a noisy night picture
	// gets coarser, not jerky. Tests turn it on to show what they catch.
	FrameSkip bool
	// NoDeblocking turns H.264's in-loop deblocking filter off: cheaper to
	// encode (and decode), a little blockier at a given bitrate.
	NoDeblocking bool
}

// Encoder is one OpenH264 encoder. Its methods are not safe for concurrent
// use.
type Encoder struct {
	enc     *C.ISVCEncoder
	info    *C.SFrameBSInfo // C memory: large, reused each frame
	w, h    int
	fps     int
	bitrate int
	n       int64 // frames encoded
}

// ErrClosed is returned by an encoder used after Close.
var ErrClosed = errors.New("openh264: encoder closed")

// NewEncoder makes an encoder; Close frees it.
func NewEncoder(c Config) (*Encoder, error) {
	switch {
	case c.Width < 16 || c.Height < 16 || c.Width > 4096 || c.Height > 4096 || c.Width%2 != 0 || c.Height%2 != 0:
		return nil, fmt.Errorf("openh264: size %dx%d: want even sides of 16 to 4096", c.Width, c.Height)
	case c.FPS <= 0 || c.FPS > 120 || c.Bitrate < 1000:
		return nil, fmt.Errorf("openh264: frame rate %d and bitrate %d: want a rate of 1 to 120 and at least 1 kbit/s", c.FPS, c.Bitrate)
	case c.KeyFrameInterval < 0 || c.Threads < 0:
		return nil, fmt.Errorf("openh264: key frame interval %d, threads %d: want >= 0", c.KeyFrameInterval, c.Threads)
	}
	var p C.SEncParamExt
	var enc *C.ISVCEncoder
	if C.h264_new(&enc, &p) != 0 {
		if enc != nil {
			C.WelsDestroySVCEncoder(enc)
		}
		return nil, errors.New("openh264: cannot create an encoder")
	}
	p.iUsageType = C.CAMERA_VIDEO_REAL_TIME
	p.iPicWidth, p.iPicHeight = C.int(c.Width), C.int(c.Height)
	p.fMaxFrameRate = C.float(c.FPS)
	p.iRCMode = C.RC_BITRATE_MODE
	p.iTargetBitrate, p.iMaxBitrate = C.int(c.Bitrate), C.int(c.Bitrate)
	p.bEnableFrameSkip = C.bool(c.FrameSkip)
	p.uiIntraPeriod = C.uint(c.KeyFrameInterval)
	p.iMultipleThreadIdc = C.ushort(max(c.Threads, 1))
	// What costs CPU without helping a fixed camera on a door: the slower
	// modes' extra searches, scene change detection (key frames come from
	// the clock and PLI), background detection and adaptive quantisation
	// (per macroblock analyses of the whole picture), denoising, long-term
	// references (no one asks for them).
	p.iComplexityMode = C.LOW_COMPLEXITY
	p.bEnableSceneChangeDetect = false
	p.bEnableBackgroundDetection = false
	p.bEnableAdaptiveQuant = false
	p.bEnableDenoise = false
	p.bEnableLongTermReference = false
	p.iEntropyCodingModeFlag = 0 // CAVLC: constrained baseline, what the door offers
	p.iSpatialLayerNum, p.iTemporalLayerNum = 1, 1
	if c.NoDeblocking {
		p.iLoopFilterDisableIdc = 1
	}
	l := &p.sSpatialLayers[0]
	l.iVideoWidth, l.iVideoHeight = p.iPicWidth, p.iPicHeight
	l.fFrameRate = p.fMaxFrameRate
	l.iSpatialBitrate, l.iMaxSpatialBitrate = p.iTargetBitrate, p.iMaxBitrate
	l.sSliceArgument.uiSliceMode = C.SM_SINGLE_SLICE
	l.sSliceArgument.uiSliceNum = 1
	if rc := C.h264_init(enc, &p); rc != 0 {
		C.WelsDestroySVCEncoder(enc)
		return nil, fmt.Errorf("openh264: init %dx%d at %d bit/s: openh264 error %d", c.Width, c.Height, c.Bitrate, rc)
	}
	return &Encoder{
		enc:     enc,
		info:    (*C.SFrameBSInfo)(C.calloc(1, C.sizeof_SFrameBSInfo)),
		w:       c.Width,
		h:       c.Height,
		fps:     c.FPS,
		bitrate: c.Bitrate,
	}, nil
}

// SetBitrate changes the target bitrate (bits per second) from the next
// frame on.
func (e *Encoder) SetBitrate(bps int) error {
	if e.enc == nil {
		return ErrClosed
	}
	if bps < 1000 {
		return fmt.Errorf("openh264: bitrate %d: want at least 1 kbit/s", bps)
	}
	if bps == e.bitrate {
		return nil
	}
	if rc := C.h264_bitrate(e.enc, C.int(bps)); rc != 0 {
		return fmt.Errorf("openh264: bitrate %d: error %d", bps, rc)
	}
	e.bitrate = bps
	return nil
}

// Encode compresses one 4:2:0 frame of the encoder's size; key forces a key
// frame. The frame (Annex B NAL units) is new memory the caller owns; it is
// empty when openh264 skipped the frame (only with FrameSkip). isKey says
// whether it is an IDR frame.
func (e *Encoder) Encode(img *image.YCbCr, key bool) (frame []byte, isKey bool, err error) {
	if e.enc == nil {
		return nil, false, ErrClosed
	}
	if err := framecodec.CheckFrame("openh264", img, e.w, e.h); err != nil {
		return nil, false, err
	}
	b := img.Rect
	y := img.Y[img.YOffset(b.Min.X, b.Min.Y):]
	cb := img.Cb[img.COffset(b.Min.X, b.Min.Y):]
	cr := img.Cr[img.COffset(b.Min.X, b.Min.Y):]
	if key {
		C.h264_force_key(e.enc)
	}
	ms := C.longlong(e.n * 1000 / int64(e.fps))
	e.n++
	rc := C.h264_encode(e.enc, e.info, C.int(e.w), C.int(e.h), ms,
		(*C.uchar)(&y[0]), C.int(img.YStride), (*C.uchar)(&cb[0]), (*C.uchar)(&cr[0]), C.int(img.CStride))
	if rc != 0 {
		return nil, false, fmt.Errorf("openh264: encode frame %d: openh264 error %d", e.n, rc)
	}
	t := C.h264_frame_type(e.info)
	if t == C.videoFrameTypeSkip || t == C.videoFrameTypeInvalid {
		return nil, false, nil
	}
	if C.h264_layer_start_ok(e.info) == 0 {
		return nil, false, errors.New("openh264: openh264 gave a frame's layers apart")
	}
	var start *C.uchar
	n := C.h264_size(e.info, &start)
	if n <= 0 || start == nil {
		return nil, false, nil
	}
	frame = make([]byte, n)
	copy(frame, unsafe.Slice((*byte)(unsafe.Pointer(start)), int(n)))
	return frame, t == C.videoFrameTypeIDR, nil
}

// Close frees the encoder. Later calls give ErrClosed; Close again does nothing.
func (e *Encoder) Close() error {
	if e.enc == nil {
		return nil
	}
	C.h264_free(e.enc)
	C.free(unsafe.Pointer(e.info))
	e.enc, e.info = nil, nil
	return nil
}
