package media

import (
	"bytes"
	"errors"
	"image/jpeg"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestSnapshot: an idle door (nobody reads the camera) hands out a phone-sized
// JPEG and a thumbnail of the current picture, taken after the request.
func TestSnapshot(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "clock", Mic: "none"})
	for i := range 3 {
		time.Sleep(time.Second) // an idle spell: the camera's queue goes stale
		before := time.Now()
		full, thumb, err := m.Snapshot()
		if err != nil {
			t.Fatalf("Snapshot %d: %v", i, err)
		}
		checkJPEG(t, full, 640, 480)
		checkJPEG(t, thumb, ThumbWidth, ThumbWidth*480/640)
		img, _ := jpeg.Decode(bytes.NewReader(full))
		at, err := ReadClock(img)
		if err != nil {
			t.Fatalf("ReadClock(snapshot %d): %v", i, err)
		}
		// A frame queued long before the request is a picture of the past;
		// cameras drop frames older than half a second (chooseVideoProp).
		if at.Before(before.Add(-600 * time.Millisecond)) {
			t.Errorf("snapshot %d shows %v, asked at %v: an old frame", i, at, before)
		}
	}
}

// TestSnapshotScaled: a camera wider than a phone is scaled down.
func TestSnapshotScaled(t *testing.T) {
	m := newTestMedia(t, Config{Mic: "none", Width: 1280, Height: 720})
	full, thumb, err := m.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	checkJPEG(t, full, SnapshotWidth, SnapshotWidth*720/1280)
	checkJPEG(t, thumb, ThumbWidth, ThumbWidth*720/1280)
}

// TestSnapshotDuringCall: while a call reads the camera, snapshots come from
// the frames being encoded, and many at once all get one.
func TestSnapshotDuringCall(t *testing.T) {
	m := newTestMedia(t, Config{Mic: "none"})
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
	doorAnswers(t, m, r)
	within(t, 10*time.Second, "video frames", func() bool {
		return r.get(func(r *remote) bool { return r.frames >= 5 })
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			full, _, err := m.Snapshot()
			if err == nil {
				_, err = jpeg.Decode(bytes.NewReader(full))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Snapshot during a call: %v", err)
		}
	}
}

func TestSnapshotNoCamera(t *testing.T) {
	m := newTestMedia(t, Config{Camera: "none", Mic: "none"})
	if _, _, err := m.Snapshot(); !errors.Is(err, ErrNoCamera) {
		t.Errorf("Snapshot without a camera = %v, want %v", err, ErrNoCamera)
	}
}

func TestSnapshotAfterClose(t *testing.T) {
	m := newTestMedia(t, Config{Mic: "none"})
	m.Close()
	if _, _, err := m.Snapshot(); err == nil {
		t.Error("Snapshot after Close succeeded")
	}
}

func checkJPEG(t *testing.T, b []byte, w, h int) {
	t.Helper()
	c, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("jpeg.DecodeConfig: %v", err)
	}
	if c.Width != w || c.Height != h {
		t.Errorf("JPEG is %dx%d, want %dx%d", c.Width, c.Height, w, h)
	}
}

// BenchmarkSnapshot: from the request to both JPEGs, on an idle door with the
// test pattern at 640x480; reports the median and the sizes.
func BenchmarkSnapshot(b *testing.B) {
	m := newTestMedia(b, Config{Mic: "none", Camera: os.Getenv("SNAPSHOT_CAMERA")})
	var times []time.Duration
	var full, thumb []byte
	for b.Loop() {
		start := time.Now()
		var err error
		if full, thumb, err = m.Snapshot(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(len(full)), "full-bytes")
	b.ReportMetric(float64(len(thumb)), "thumb-bytes")
}
