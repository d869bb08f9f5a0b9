package media

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// rpicam runs rpicam-vid as a supervised child while frames are wanted:
// it starts on the first read, stops once nobody has read for
// rpicamIdleStop (the camera module and its encoder rest while the door
// is idle), and is restarted with backoff when it dies. Its stdout is
// either H.264 access units (hardware) or raw I420 frames (software).
type rpicam struct {
	bin    string
	args   []string
	h264   bool
	width  int
	height int
	log    *slog.Logger
	// idleStop is rpicamIdleStop; tests shorten it.
	idleStop time.Duration

	out  chan rpicamFrame // frames, newest last; dropped when nobody reads
	want chan struct{}    // a reader appeared
	quit chan struct{}    // close
	done chan struct{}    // run ended

	started sync.Once
	closing sync.Once
	lost    atomic.Bool  // an access unit was dropped: the reader skips to a key frame
	starts  atomic.Int64 // children started
	frames  atomic.Int64 // frames read from children

	mu       sync.Mutex
	lastWant time.Time // guarded by mu; the last read
	cmd      *exec.Cmd // guarded by mu; the running child, nil between runs
	lastErr  error     // guarded by mu; why the last child died, nil once one delivers

	skipToKey atomic.Bool // drop access units until a key frame (readers may overlap: a probe beside the pipe)
}

// rpicamFrame is one frame (I420) or access unit (H.264) and when it
// arrived.
type rpicamFrame struct {
	data []byte
	at   time.Time
}

// Supervision timing.
const (
	rpicamIdleStop   = 10 * time.Second       // no read this long: stop the child
	rpicamFrameWait  = 5 * time.Second        // a read waits this long (a camera module starts in 1-2 s)
	rpicamStale      = 500 * time.Millisecond // older frames are from before the reader came back
	rpicamMinBackoff = 500 * time.Millisecond // the first restart
	rpicamMaxBackoff = 30 * time.Second       // restarts slow down to this
	rpicamStopWait   = 2 * time.Second        // SIGINT, then SIGKILL after this
	rpicamReadChunk  = 64 << 10               // one pipe's worth
	rpicamQueue      = 30                     // access units held for a slow reader
)

func newRpicam(bin string, o picamOptions, log *slog.Logger) *rpicam {
	q := 1 // raw frames: only the newest matters
	if o.hardware {
		q = rpicamQueue // access units: a dropped one costs the picture until the next key frame
	}
	return &rpicam{
		bin: bin, args: o.args(), h264: o.hardware, width: o.width, height: o.height,
		log: log.With("camera", rpicamVid), idleStop: rpicamIdleStop,
		out: make(chan rpicamFrame, q), want: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
}

// next returns the next frame, starting the child if it is not running.
// It gives up after wait, with the reason the child last died, and
// returns errClosed once quit or the rpicam is closed.
func (r *rpicam) next(quit <-chan struct{}, wait time.Duration) (rpicamFrame, error) {
	r.started.Do(func() { go r.run() })
	r.mu.Lock()
	r.lastWant = time.Now()
	r.mu.Unlock()
	select {
	case r.want <- struct{}{}:
	default:
	}
	if r.lost.Swap(false) {
		r.skipToKey.Store(true)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case f := <-r.out:
			if time.Since(f.at) > rpicamStale {
				r.skipToKey.Store(r.h264)
				continue
			}
			if r.skipToKey.Load() {
				if !isKeyFrame(f.data) {
					continue
				}
				r.skipToKey.Store(false)
			}
			return f, nil
		case <-quit:
			return rpicamFrame{}, errClosed
		case <-r.done:
			return rpicamFrame{}, errClosed
		case <-timer.C:
			r.mu.Lock()
			err := r.lastErr
			r.mu.Unlock()
			if err != nil {
				return rpicamFrame{}, fmt.Errorf("camera module gave no frame in %v: %w", wait, err)
			}
			return rpicamFrame{}, fmt.Errorf("camera module gave no frame in %v", wait)
		}
	}
}

func (r *rpicam) wanted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastWant) < r.idleStop
}

// run starts the child on demand and restarts it when it dies, waiting
// rpicamMinBackoff, doubling up to rpicamMaxBackoff, and back to the
// minimum once a child delivers frames.
func (r *rpicam) run() {
	defer close(r.done)
	backoff := rpicamMinBackoff
	for {
		select {
		case <-r.quit: // before want: a child stopped for closing is not restarted
			return
		default:
		}
		select {
		case <-r.quit:
			return
		case <-r.want:
		}
		delivered, err := r.runChild()
		if err == nil {
			continue // stopped: idle or closing
		}
		r.mu.Lock()
		r.lastErr = err
		r.mu.Unlock()
		if delivered {
			backoff = rpicamMinBackoff
		}
		r.log.Error("rpicam-vid died: restarting", "err", err, "restart_in", backoff)
		select {
		case <-r.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, rpicamMaxBackoff)
		if r.wanted() {
			select {
			case r.want <- struct{}{}:
			default:
			}
		}
	}
}

// runChild runs one rpicam-vid until it dies (an error), or until nobody
// wants frames or the rpicam closes (nil).
func (r *rpicam) runChild() (delivered bool, err error) {
	cmd := exec.Command(r.bin, r.args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, fmt.Errorf("rpicam-vid stdout: %w", err)
	}
	stderr := &tail{max: 2048}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", r.bin, err)
	}
	r.starts.Add(1)
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	r.log.Info("rpicam-vid started", "pid", cmd.Process.Pid, "args", strings.Join(r.args, " "))

	before := r.frames.Load()
	readDone := make(chan error, 1)
	go func() { readDone <- r.read(stdout) }()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	stopping := false
	stop := func() {
		stopping = true
		cmd.Process.Signal(os.Interrupt) // rpicam-vid ends cleanly on SIGINT
		time.AfterFunc(rpicamStopWait, func() { cmd.Process.Kill() })
	}
	var readErr error
wait:
	for {
		select {
		case readErr = <-readDone:
			break wait
		case <-r.quit:
			if !stopping {
				stop()
			}
		case <-check.C:
			if !stopping && !r.wanted() {
				r.log.Info("rpicam-vid stopped: no call needs the camera")
				stop()
			}
			if r.frames.Load() > before {
				r.mu.Lock()
				if r.lastErr != nil {
					r.log.Info("camera module works again")
				}
				r.lastErr = nil
				r.mu.Unlock()
			}
		}
	}
	waitErr := cmd.Wait()
	r.mu.Lock()
	r.cmd = nil
	r.mu.Unlock()
	delivered = r.frames.Load() > before
	if stopping {
		return delivered, nil
	}
	why := stderr.last()
	if why == "" {
		why = "no message"
	}
	switch {
	case waitErr != nil:
		return delivered, fmt.Errorf("rpicam-vid exited (%v): %s", waitErr, why)
	case readErr != nil:
		return delivered, fmt.Errorf("rpicam-vid stream: %w (%s)", readErr, why)
	}
	return delivered, fmt.Errorf("rpicam-vid ended its stream: %s", why)
}

// read parses the child's stdout until it closes.
func (r *rpicam) read(stdout io.Reader) error {
	if !r.h264 {
		size := r.width * r.height * 3 / 2
		br := bufio.NewReaderSize(stdout, rpicamReadChunk)
		for {
			b := make([]byte, size)
			if _, err := io.ReadFull(br, b); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil
				}
				return err
			}
			r.deliver(b)
		}
	}
	var s auSplitter
	buf := make([]byte, rpicamReadChunk)
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			if werr := s.write(buf[:n], func(au []byte) { r.deliver(append([]byte(nil), au...)) }); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// deliver queues a frame without ever blocking the child: when the queue
// is full, a raw frame replaces the oldest; an access unit is dropped and
// the reader skips to the next key frame.
func (r *rpicam) deliver(b []byte) {
	r.frames.Add(1)
	f := rpicamFrame{data: b, at: time.Now()}
	for {
		select {
		case r.out <- f:
			return
		default:
		}
		if r.h264 {
			r.lost.Store(true)
			return
		}
		select {
		case <-r.out:
		default:
		}
	}
}

// pid is the running child's process id, 0 between runs (for tests).
func (r *rpicam) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// close stops the child and waits for it.
func (r *rpicam) close() {
	r.closing.Do(func() {
		close(r.quit)
		r.started.Do(func() { close(r.done) })
		<-r.done
	})
}

// tail keeps the end of what a child writes to stderr.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

// last is the last line the child wrote.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return lastLine(t.b)
}

// rpicamDriver puts the camera module behind the driver interface the rest
// of media closes cameras with.
type rpicamDriver struct{ r *rpicam }

var _ driver.Driver = rpicamDriver{}

func (d rpicamDriver) Open() error              { return nil }
func (d rpicamDriver) Close() error             { d.r.close(); return nil }
func (d rpicamDriver) Properties() []prop.Media { return nil }
func (d rpicamDriver) ID() string               { return rpicamVid }
func (d rpicamDriver) Status() driver.State     { return driver.StateOpened }
func (d rpicamDriver) Info() driver.Info {
	return driver.Info{Label: rpicamVid, DeviceType: driver.Camera, Name: "camera module"}
}

// reader is the software path's camera: I420 frames for the video pipe,
// which reads until quit closes.
func (r *rpicam) reader(quit <-chan struct{}) video.Reader {
	w, h := r.width, r.height
	return video.ReaderFunc(func() (image.Image, func(), error) {
		f, err := r.next(quit, rpicamFrameWait)
		if errors.Is(err, errClosed) {
			return nil, func() {}, io.EOF
		}
		if err != nil {
			return nil, func() {}, err
		}
		return &image.YCbCr{
			Y: f.data[:w*h], Cb: f.data[w*h : w*h*5/4], Cr: f.data[w*h*5/4:],
			YStride: w, CStride: w / 2, SubsampleRatio: image.YCbCrSubsampleRatio420,
			Rect: image.Rect(0, 0, w, h),
		}, func() {}, nil
	})
}
