package media

// A thin binding to openh264's decoder, for pictures of H.264 the door did
// not encode itself (passthrough.go's snapshots). The library is the one
// media/openh264 links for the encoder; it holds the decoder as well, so
// this adds no dependency. The declarations below follow
// openh264's C API (codec_api.h, codec_app_def.h, codec_def.h of the
// version Debian ships): the decoder is a pointer to a table of
// functions.

/*
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct { unsigned int size; int eVideoBsType; } h264VideoProperty;
typedef struct {
	char *pFileNameRestructed;
	unsigned int uiCpuLoad;
	unsigned char uiTargetDqLayer;
	int eEcActiveIdc;
	bool bParseOnly;
	h264VideoProperty sVideoProperty;
} h264DecodingParam;
typedef struct { int iWidth, iHeight, iFormat; int iStride[2]; } h264SysMemBuffer;
typedef struct {
	int iBufferStatus;
	unsigned long long uiInBsTimeStamp, uiOutYuvTimeStamp;
	union { h264SysMemBuffer sSystemBuffer; } UsrData;
	unsigned char *pDst[3];
} h264BufferInfo;

typedef struct h264DecVtbl h264DecVtbl;
typedef const h264DecVtbl *h264Dec;
struct h264DecVtbl {
	long (*Initialize)(h264Dec *, const h264DecodingParam *);
	long (*Uninitialize)(h264Dec *);
	void *DecodeFrame;
	int (*DecodeFrameNoDelay)(h264Dec *, const unsigned char *, const int, unsigned char **, h264BufferInfo *);
	void *DecodeFrame2, *FlushFrame, *DecodeParser, *DecodeFrameEx, *SetOption, *GetOption;
};

extern int WelsCreateDecoder(h264Dec **);
extern void WelsDestroyDecoder(h264Dec *);

// h264DecodeLast decodes n access units and copies the last picture into
// y, u and v (w x h, chroma w/2 x h/2). It returns 0, or a negative step
// at which it failed.
static int h264DecodeLast(unsigned char **aus, int *lens, int n, unsigned char *y, unsigned char *u, unsigned char *v, int *w, int *h) {
	h264Dec *d = NULL;
	if (WelsCreateDecoder(&d) != 0 || d == NULL) return -1;
	h264DecodingParam p;
	memset(&p, 0, sizeof p);
	p.uiTargetDqLayer = 0xff;
	p.sVideoProperty.size = sizeof p.sVideoProperty;
	if ((*d)->Initialize(d, &p) != 0) { WelsDestroyDecoder(d); return -2; }
	int got = 0;
	for (int i = 0; i < n; i++) {
		unsigned char *dst[3] = {0};
		h264BufferInfo info;
		memset(&info, 0, sizeof info);
		int st = (*d)->DecodeFrameNoDelay(d, aus[i], lens[i], dst, &info);
		if (st != 0 || info.iBufferStatus != 1) continue;
		h264SysMemBuffer *b = &info.UsrData.sSystemBuffer;
		if (b->iWidth > *w || b->iHeight > *h) continue;
		*w = b->iWidth; *h = b->iHeight;
		for (int r = 0; r < b->iHeight; r++) memcpy(y + r * b->iWidth, info.pDst[0] + r * b->iStride[0], b->iWidth);
		for (int r = 0; r < b->iHeight / 2; r++) {
			memcpy(u + r * (b->iWidth / 2), info.pDst[1] + r * b->iStride[1], b->iWidth / 2);
			memcpy(v + r * (b->iWidth / 2), info.pDst[2] + r * b->iStride[1], b->iWidth / 2);
		}
		got = 1;
	}
	(*d)->Uninitialize(d);
	WelsDestroyDecoder(d);
	return got ? 0 : -3;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

var errNoDecodedPicture = errors.New("h264: no picture decoded")

// decodeLast decodes aus, a key frame and the access units after it, and
// returns the last picture, at most maxW x maxH.
func decodeLast(aus [][]byte, maxW, maxH int) (image.Image, error) {
	if len(aus) == 0 {
		return nil, errNoDecodedPicture
	}
	ptrs := C.malloc(C.size_t(len(aus)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	lens := C.malloc(C.size_t(len(aus)) * C.size_t(unsafe.Sizeof(C.int(0))))
	defer C.free(ptrs)
	defer C.free(lens)
	ps := unsafe.Slice((**C.uchar)(ptrs), len(aus))
	ls := unsafe.Slice((*C.int)(lens), len(aus))
	for i, au := range aus {
		ps[i] = (*C.uchar)(C.CBytes(au))
		ls[i] = C.int(len(au))
	}
	defer func() {
		for _, p := range ps {
			C.free(unsafe.Pointer(p))
		}
	}()
	img := image.NewYCbCr(image.Rect(0, 0, maxW, maxH), image.YCbCrSubsampleRatio420)
	w, h := C.int(maxW), C.int(maxH)
	y := C.malloc(C.size_t(len(img.Y)))
	u := C.malloc(C.size_t(len(img.Cb)))
	v := C.malloc(C.size_t(len(img.Cr)))
	defer C.free(y)
	defer C.free(u)
	defer C.free(v)
	if r := C.h264DecodeLast((**C.uchar)(ptrs), (*C.int)(lens), C.int(len(aus)), (*C.uchar)(y), (*C.uchar)(u), (*C.uchar)(v), &w, &h); r != 0 {
		return nil, fmt.Errorf("%w (step %d)", errNoDecodedPicture, int(r))
	}
	out := image.NewYCbCr(image.Rect(0, 0, int(w), int(h)), image.YCbCrSubsampleRatio420)
	copy(out.Y, unsafe.Slice((*byte)(y), len(out.Y)))
	copy(out.Cb, unsafe.Slice((*byte)(u), len(out.Cb)))
	copy(out.Cr, unsafe.Slice((*byte)(v), len(out.Cr)))
	return out, nil
}
