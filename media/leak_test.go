package media

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/poll"
	"github.com/pion/webrtc/v4"
)

func openFiles(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(fds)
}

// TestManyCallsNoLeak: 100 calls in a row, each connected with video and
// audio both ways, then closed, leave no goroutine and no file behind.
func TestManyCallsNoLeak(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 10
	}
	m := newTestMedia(t, Config{Width: 160, Height: 120})
	call := func() {
		r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(108)}, sendTone: true})
		c, _ := doorAnswers(t, m, r)
		within(t, 10*time.Second, "video at the remote", func() bool {
			return r.get(func(r *remote) bool { return r.frames > 0 })
		})
		poll.Returns(t, closeTimeout, "the call's Close", func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		poll.Returns(t, closeTimeout, "the remote's close", r.close)
		if t.Failed() {
			t.FailNow()
		}
	}
	// The first call starts what lives as long as Media: the encoders'
	// goroutine, the shared tracks.
	call()
	waitIdle(t, m)
	goroutines, files := runtime.NumGoroutine(), openFiles(t)
	start := time.Now()
	for range n {
		call()
	}
	t.Logf("%d calls in %v", n, time.Since(start))
	waitIdle(t, m)
	err := poll.Until(context.Background(), 15*time.Second, 50*time.Millisecond, func() error {
		g, f := runtime.NumGoroutine(), openFiles(t)
		if g > goroutines || f > files {
			return fmt.Errorf("after %d calls: goroutines %d, want <= %d; open files %d, want <= %d", n, g, goroutines, f, files)
		}
		t.Logf("goroutines %d -> %d, open files %d -> %d", goroutines, g, files, f)
		return nil
	})
	if err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%v\n%s", err, buf[:runtime.Stack(buf, true)])
	}
	if len(m.calls) != 0 {
		t.Errorf("Media still tracks %d calls", len(m.calls))
	}
}

// waitIdle waits until no call is bound to the encoders.
func waitIdle(t *testing.T, m *Media) {
	within(t, 10*time.Second, "the encoders to go idle", func() bool {
		return (m.video == nil || m.video.idle()) && (m.audio == nil || m.audio.bound.Load() == 0)
	})
}
