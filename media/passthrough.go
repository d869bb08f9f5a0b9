package media

import (
	"errors"
	"fmt"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// Passthrough: H.264 that arrives encoded (the camera module's hardware
// encoder on Zero 2 W, 3 and 4) goes to the calls' H.264 track as it is,
// one access unit per sample, with no encoder of ours in the way. What
// this costs the door, next to encoding: no congestion control (the
// bitrate is rpicam-vid's, fixed when it starts), no key frame on request
// (the encoder makes one every picamKeyInterval by itself, so a new call
// or a PLI waits for it), no other codec than H.264, and no snapshot
// (there is no decoder to make a picture of it).

// auSource hands out encoded access units.
type auSource interface {
	next(quit <-chan struct{}, wait time.Duration) (rpicamFrame, error)
}

// errNoPicture is Snapshot's answer on the passthrough path.
var errNoPicture = errors.New("no picture: the camera sends hardware H.264, which the door does not decode (camera_encoder: software gives pictures)")

// runPassthrough is the pipe's goroutine when it sends encoded H.264. Like
// run, it reads only while a call is bound.
func (p *videoPipe) runPassthrough() {
	var outs []*videoOut
	var last time.Time
	failing := false
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		if p.idle() {
			select {
			case <-p.quit:
				return
			case r := <-p.snaps:
				r <- frameReply{err: errNoPicture}
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
			if !failing {
				p.log.Error("camera read failed", "err", err)
				p.onErr(fmt.Errorf("camera: %w", err))
				failing = true
			}
			continue
		}
		if failing {
			p.log.Info("camera works again")
			p.onErr(nil)
			failing = false
		}
		p.captured.Add(1)
		d := time.Second / time.Duration(p.fps)
		if !last.IsZero() {
			d = min(max(f.at.Sub(last), time.Millisecond), time.Second)
		}
		last = f.at
		key := isKeyFrame(f.data)
		var live []bool
		outs, live = p.snapshot(outs)
		for i, o := range outs {
			if !live[i] || o.codec.name != h264.name {
				continue
			}
			if key {
				o.keys.Add(1)
				o.lastKey = f.at
			}
			o.frames.Add(1)
			o.bytes.Add(int64(len(f.data)))
			if err := o.track.WriteSample(pionmedia.Sample{Data: f.data, Duration: d}); err != nil {
				p.log.Debug("video write", "err", err)
			}
		}
		for {
			select {
			case r := <-p.snaps:
				r <- frameReply{err: errNoPicture}
				continue
			default:
			}
			break
		}
	}
}
