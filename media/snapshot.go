package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"

	"golang.org/x/image/draw"
)

// Snapshot sizes: a picture for a phone screen and a thumbnail for lists.
const (
	SnapshotWidth = 640
	ThumbWidth    = 160
	snapshotJPEG  = 80
	thumbJPEG     = 70
	snapshotWait  = 2 * time.Second
)

// ErrNoCamera is returned by Snapshot when the door has no camera.
var ErrNoCamera = errors.New("no camera")

// Snapshot is a JPEG of the camera's current picture, at most
// SnapshotWidth wide, and a thumbnail ThumbWidth wide. It takes the next
// frame the camera delivers (during a call the frame being encoded, when
// idle one read on demand), never waiting for a key frame. Safe for
// concurrent use; the encoding runs on the caller's goroutine, so the
// calls' video never waits for it.
func (m *Media) Snapshot() (full, thumb []byte, err error) {
	if m.video == nil {
		return nil, nil, ErrNoCamera
	}
	img, err := m.video.frame(snapshotWait)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	full, err = encodeJPEG(img, SnapshotWidth, snapshotJPEG)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	thumb, err = encodeJPEG(img, ThumbWidth, thumbJPEG)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot thumbnail: %w", err)
	}
	return full, thumb, nil
}

// frame asks the pipe's goroutine, which owns the camera, for a copy of the
// next frame.
func (p *videoPipe) frame(wait time.Duration) (image.Image, error) {
	p.started.Do(func() { go p.run() })
	reply := make(chan frameReply, 1)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case p.snaps <- reply:
	case <-p.done:
		return nil, errClosed
	case <-timer.C:
		return nil, errSnapshotTimeout
	}
	select {
	case r := <-reply:
		return r.img, r.err
	case <-p.done:
		return nil, errClosed
	case <-timer.C:
		return nil, errSnapshotTimeout
	}
}

var (
	errClosed          = errors.New("camera closed")
	errSnapshotTimeout = errors.New("camera gave no frame in time")
)

// frameReply is a copied frame, or why there is none.
type frameReply struct {
	img image.Image
	err error
}

// serveSnapshots answers the pending requests with copies of img, which is
// only valid until the camera's release.
func (p *videoPipe) serveSnapshots(img image.Image) {
	var c image.Image
	for {
		select {
		case r := <-p.snaps:
			if c == nil {
				c = cloneImage(img)
			}
			r <- frameReply{img: c}
		default:
			return
		}
	}
}

// readForSnapshot serves one request while no call reads the camera.
func (p *videoPipe) readForSnapshot(r chan frameReply) {
	img, release, err := p.src.Read()
	if err != nil {
		r <- frameReply{err: fmt.Errorf("camera: %w", err)}
		return
	}
	r <- frameReply{img: cloneImage(img)}
	p.serveSnapshots(img)
	release()
}

// cloneImage copies a frame out of the camera's buffer.
func cloneImage(img image.Image) image.Image {
	if y, ok := img.(*image.YCbCr); ok {
		c := *y
		c.Y = bytes.Clone(y.Y)
		c.Cb = bytes.Clone(y.Cb)
		c.Cr = bytes.Clone(y.Cr)
		return &c
	}
	c := image.NewRGBA(img.Bounds())
	draw.Draw(c, c.Bounds(), img, img.Bounds().Min, draw.Src)
	return c
}

// encodeJPEG scales img to at most width pixels wide, keeping its aspect.
func encodeJPEG(img image.Image, width, quality int) ([]byte, error) {
	b := img.Bounds()
	if b.Dx() > width {
		h := max(1, b.Dy()*width/b.Dx())
		dst := image.NewRGBA(image.Rect(0, 0, width, h))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		img = dst
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
