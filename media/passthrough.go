package media

import (
	"errors"
	"slices"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// Passthrough: H.264 that arrives encoded (the camera module's hardware
// encoder on Zero 2 W, 3 and 4, a USB camera's own H.264) goes to the
// calls' H.264 track as it is, one access unit per sample, with no encoder
// of ours in the way. What this costs the door, next to encoding: no
// congestion control (the bitrate is the source's, fixed when it starts),
// a key frame on request only where the source takes one (keyFrameSource;
// rpicam-vid does not: its encoder makes one every picamKeyInterval, so a
// new call or a PLI waits for it), and no other codec than H.264. A
// snapshot decodes the access units since the last key frame
// (h264dec.go), on the asking goroutine, never the calls'.

// auSource hands out encoded access units.
type auSource interface {
	next(quit <-chan struct{}, wait time.Duration) (rpicamFrame, error)
}

// keyFrameSource is an auSource that can be asked for a key frame.
type keyFrameSource interface {
	requestKeyFrame()
}

// Snapshots on the passthrough path.
const (
	// snapshotKeep: after a snapshot with no call, the camera is read this
	// long, so the next one (the ringing screen asks every second) finds
	// the picture decodable at once.
	snapshotKeep = 3 * time.Second
	// maxGOP bounds the access units kept for a snapshot (10 s at 30 fps).
	maxGOP = 300
)

// runPassthrough is the pipe's goroutine when it sends encoded H.264. Like
// run, it reads only while a call is bound, or a snapshot was asked for.
func (p *videoPipe) runPassthrough() {
	var outs []*videoOut
	var last time.Time
	var gop [][]byte // the last key frame and the access units after it
	var pending []chan frameReply
	var snapUntil time.Time
	health := readHealth{what: "camera", log: p.log, onErr: p.onErr}
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		if p.idle() && len(pending) == 0 && time.Now().After(snapUntil) {
			gop = nil
			select {
			case <-p.quit:
				return
			case r := <-p.snaps:
				pending = append(pending, r)
				snapUntil = time.Now().Add(snapshotKeep)
				continue
			case <-p.wake:
			}
			last = time.Time{}
			continue
		}
		f, err := p.au.next(p.quit, rpicamFrameWait)
		if errors.Is(err, errClosed) {
			return
		}
		if err != nil {
			for _, r := range pending {
				r <- frameReply{err: err}
			}
			pending = nil
			health.failed(err)
			continue
		}
		health.ok()
		p.captured.Add(1)
		d := time.Second / time.Duration(p.fps)
		if !last.IsZero() {
			d = min(max(f.at.Sub(last), time.Millisecond), time.Second)
		}
		last = f.at
		key := isKeyFrame(f.data)
		switch {
		case key:
			gop = append(gop[:0:0], f.data)
		case len(gop) > 0 && len(gop) < maxGOP:
			gop = append(gop, f.data)
		default:
			gop = nil
		}
		pending = p.snapshots(pending, gop, &snapUntil)
		var live []bool
		outs, live = p.snapshot(outs)
		ks, asks := p.au.(keyFrameSource)
		for i, o := range outs {
			if !live[i] || o.codec.name != h264.name {
				continue
			}
			if key {
				o.keys.Add(1)
				o.lastKey = f.at
				o.keyFrame.Store(false) // a new call's wait ends with this one
				o.pli.Store(false)
			} else if asks && o.wantKeyFrame(f.at, 0) {
				ks.requestKeyFrame() // for a frame soon after this one
				o.pli.Store(false)
			}
			o.frames.Add(1)
			o.bytes.Add(int64(len(f.data)))
			if err := o.track.WriteSample(pionmedia.Sample{Data: f.data, Duration: d}); err != nil {
				p.log.Debug("video write", "err", err)
			}
		}
	}
}

// snapshots takes the waiting snapshot requests and, once gop holds a key
// frame, answers them with its last picture, decoded on a goroutine of
// its own. It returns the requests still waiting.
func (p *videoPipe) snapshots(pending []chan frameReply, gop [][]byte, until *time.Time) []chan frameReply {
	for more := true; more; {
		select {
		case r := <-p.snaps:
			pending = append(pending, r)
			*until = time.Now().Add(snapshotKeep)
		default:
			more = false
		}
	}
	if len(pending) == 0 || len(gop) == 0 {
		return pending
	}
	g := slices.Clone(gop) // the access units themselves are never written again
	w, h := p.width, p.height
	go func() {
		img, err := decodeLast(g, w, h)
		for _, r := range pending {
			r <- frameReply{img: img, err: err} // buffered: a requester that gave up does not block this
		}
	}()
	return nil
}
