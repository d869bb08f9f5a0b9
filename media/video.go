package media

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// videoPipe captures the camera in one goroutine and encodes each frame once
// per codec in use, writing the samples to that codec's shared track. It
// reads the camera only while at least one call is bound: an idle door
// costs no CPU.
type videoPipe struct {
	src                         video.Reader
	width, height, fps, bitrate int
	log                         *slog.Logger
	onErr                       func(error)   // capture failures, and nil when capture works again
	keyInterval                 time.Duration // periodic key frames; 0: none
	au                          auSource      // encoded H.264 instead of src (passthrough.go)

	mu     sync.Mutex
	outs   []*videoOut // guarded by mu; one per codec, created on first use
	active int         // guarded by mu; bindings over all outs

	wake     chan struct{}        // a binding appeared
	snaps    chan chan frameReply // Snapshot's requests for a frame
	quit     chan struct{}        // Close
	done     chan struct{}        // the goroutine ended
	captured atomic.Int64         // frames read from the camera
	started  sync.Once
	closing  sync.Once
}

// videoOut is one codec's encoder and track. enc and current belong to the
// pipe's goroutine.
type videoOut struct {
	codec     videoCodec
	track     *sharedTrack
	bound     int         // guarded by videoPipe.mu
	keyFrame  atomic.Bool // a new call or connection: a key frame at once
	pli       atomic.Bool // a receiver lost the picture: a key frame, at most one per pliGap
	lastKey   time.Time   // the last key frame forced
	enc       codec.ReadCloser
	current   image.Image
	rate      rateTarget // the calls' estimates
	gov       governor
	encLevel  int // the size level and bitrate the encoder was built or set at
	encTarget int
	tick      int           // captured frames, for a lower frame rate
	held      time.Duration // the time of frames not encoded, added to the next

	frames atomic.Int64 // encoded frames
	empty  atomic.Int64 // encoder calls that gave no frame (a skipped frame)
	bytes  atomic.Int64
	keys   atomic.Int64 // key frames forced
	target atomic.Int64 // the bitrate the encoder was last asked for
}

func newVideoPipe(src video.Reader, width, height, fps, bitrate int, log *slog.Logger, onErr func(error)) *videoPipe {
	return &videoPipe{
		src: src, width: width, height: height, fps: fps, bitrate: bitrate,
		log: log, onErr: onErr,
		wake: make(chan struct{}, 1), snaps: make(chan chan frameReply), quit: make(chan struct{}), done: make(chan struct{}),
	}
}

// out returns the codec's output, creating its track on first use.
func (p *videoPipe) out(c videoCodec) (*videoOut, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.outs {
		if o.codec.name == c.name {
			return o, nil
		}
	}
	o := &videoOut{codec: c}
	t, err := newSharedTrack(c.capability, videoTrackID, func() { p.bind(o) }, func() { p.unbind(o) })
	if err != nil {
		return nil, fmt.Errorf("video track %s: %w", c.name, err)
	}
	o.track = t
	p.outs = append(p.outs, o)
	p.started.Do(func() { go p.run() })
	return o, nil
}

// bind counts a new call on o and asks for a key frame: the new receiver
// cannot decode anything before one.
func (p *videoPipe) bind(o *videoOut) {
	o.keyFrame.Store(true)
	p.mu.Lock()
	o.bound++
	p.active++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *videoPipe) unbind(o *videoOut) {
	p.mu.Lock()
	o.bound--
	p.active--
	p.mu.Unlock()
}

// requestKeyFrame asks for a key frame with the next frame: a call has
// just connected and can decode nothing before one.
func (o *videoOut) requestKeyFrame() { o.keyFrame.Store(true) }

// pictureLost is a receiver's PLI or FIR. A browser repeats them while it
// waits, and every viewer shares the encoder: one key frame per pliGap
// answers them all, and a key frame at most pliGap old already has.
func (o *videoOut) pictureLost() { o.pli.Store(true) }

// pliGap is the least time between two key frames forced by PLI or FIR: a
// key frame is several P frames' worth of bits, and a burst of them on a
// congested link would cause the very loss that asked for them.
const pliGap = 500 * time.Millisecond

// wantKeyFrame decides whether the frame encoded at now is forced to be a
// key frame: a new call at once; a PLI or FIR once pliGap has passed since
// the last key frame (it stays pending until then); and every interval.
func (o *videoOut) wantKeyFrame(now time.Time, interval time.Duration) bool {
	since := now.Sub(o.lastKey)
	if o.keyFrame.Swap(false) {
		return true
	}
	if o.pli.Load() && since >= pliGap {
		return true
	}
	return interval > 0 && since >= interval
}

// snapshot lists the outputs and whether each has a call.
func (p *videoPipe) snapshot(buf []*videoOut) (outs []*videoOut, live []bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	outs = append(buf[:0], p.outs...)
	live = make([]bool, len(outs))
	for i, o := range outs {
		live[i] = o.bound > 0
	}
	return outs, live
}

func (p *videoPipe) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active == 0
}

func (p *videoPipe) run() {
	defer close(p.done)
	if p.au != nil {
		p.runPassthrough()
		return
	}
	var outs []*videoOut
	defer func() {
		for _, o := range outs {
			p.closeEncoder(o)
		}
	}()
	frameTime := time.Second / time.Duration(p.fps)
	var last time.Time
	health := readHealth{what: "camera", log: p.log, onErr: p.onErr}
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		if p.idle() {
			outs, _ = p.snapshot(outs)
			for _, o := range outs {
				p.closeEncoder(o) // nobody watches: free the encoder's memory
			}
			select {
			case <-p.quit:
				return
			case r := <-p.snaps:
				p.readForSnapshot(r)
				continue
			case <-p.wake:
			}
			last = time.Time{}
			continue
		}
		img, release, err := p.src.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			health.failed(err)
			select { // a camera that errors at once must not spin
			case <-p.quit:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		health.ok()
		p.captured.Add(1)
		// RTP time follows the capture clock, so a camera slower than asked
		// (or a stalled one) still plays at the right speed.
		now := time.Now()
		d := frameTime
		if !last.IsZero() {
			d = min(max(now.Sub(last), time.Millisecond), time.Second)
		}
		last = now
		var live []bool
		outs, live = p.snapshot(outs)
		for i, o := range outs {
			if !live[i] {
				p.closeEncoder(o)
				continue
			}
			p.encode(o, img, d, now)
		}
		p.serveSnapshots(img)
		release()
	}
}

// encode runs o's encoder on img and writes the sample to every call bound
// to o's track. The encoder runs at the governor's picture size and the
// calls' target bitrate (rate.go).
func (p *videoPipe) encode(o *videoOut, img image.Image, d time.Duration, now time.Time) {
	target := o.rate.get(p.bitrate)
	encTarget := o.gov.encoderTarget(target)
	if o.enc != nil && o.encLevel != o.gov.level {
		p.closeEncoder(o)
	}
	div := scales[o.gov.level].div
	if div > 1 {
		// A lower frame rate, on purpose and said in the log: the frame's
		// time goes to the next one encoded. Pending key frame requests
		// wait for it.
		o.held += d
		if o.tick++; o.tick%div != 0 {
			return
		}
		d, o.held = o.held, 0
	} else {
		o.held, o.tick = 0, 0
	}
	if o.enc == nil {
		w, h := scaled(p.width, p.height, o.gov.level)
		var r video.Reader = video.ReaderFunc(func() (image.Image, func(), error) {
			return o.current, func() {}, nil
		})
		if o.gov.level > 0 {
			r = video.Scale(w, h, video.ScalerFastBoxSampling)(r)
		}
		enc, err := o.codec.build(r, w, h, max(p.fps/div, 1), encTarget)
		if err != nil {
			p.log.Error("video encoder failed", "codec", o.codec.name, "err", err)
			p.onErr(fmt.Errorf("%s encoder: %w", o.codec.name, err))
			return
		}
		if o.encLevel != o.gov.level {
			p.log.Info("video size", "codec", o.codec.name, "size", fmt.Sprintf("%dx%d", w, h), "fps", max(p.fps/div, 1), "target", target)
		}
		o.enc, o.encLevel, o.encTarget = enc, o.gov.level, encTarget
		o.keyFrame.Store(true)
	}
	if encTarget != o.encTarget {
		if bc, ok := o.enc.Controller().(codec.BitRateController); ok && bc.SetBitRate(encTarget) == nil {
			o.encTarget = encTarget
		}
	}
	o.target.Store(int64(target))
	key := o.wantKeyFrame(now, p.keyInterval)
	if key {
		if kf, ok := o.enc.Controller().(codec.KeyFrameController); ok {
			if err := kf.ForceKeyFrame(); err == nil {
				o.keys.Add(1)
			}
		}
		o.lastKey = now
		o.pli.Store(false) // this key frame answers every pending PLI
	}
	o.current = img
	data, release, err := o.enc.Read()
	o.current = nil
	if err != nil {
		p.log.Error("video encode failed", "codec", o.codec.name, "err", err)
		return
	}
	defer release()
	o.gov.frame(now, len(data), target, key)
	if len(data) == 0 {
		o.empty.Add(1)
		return
	}
	o.frames.Add(1)
	o.bytes.Add(int64(len(data)))
	if err := o.track.WriteSample(pionmedia.Sample{Data: data, Duration: d}); err != nil {
		// One closing peer connection must not stop the others.
		p.log.Debug("video write", "err", err)
	}
}

func (p *videoPipe) closeEncoder(o *videoOut) {
	if o.enc != nil {
		o.enc.Close()
		o.enc = nil
	}
}

// close stops the goroutine; the caller closes the camera afterwards, once
// nothing reads it.
func (p *videoPipe) close() {
	p.closing.Do(func() {
		close(p.quit)
		p.started.Do(func() { close(p.done) })
		<-p.done
	})
}
