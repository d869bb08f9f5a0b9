package media

import (
	"flag"
	"fmt"
	"image"
	"testing"
	"time"
)

var honest720 = flag.Bool("media.honest-720p", false, "TestHonestBitrate also at 1280x720 (for cmd/bench)")

// encodeFor runs the pipe's encode step on frames from next for secs
// seconds of a simulated clock at fps, and returns the bytes sent in each
// second and the governor's level at the end.
func encodeFor(t *testing.T, p *videoPipe, o *videoOut, next func() image.Image, t0 time.Time, secs int) (perSec []int, end time.Time) {
	t.Helper()
	frame := time.Second / time.Duration(p.fps)
	now := t0
	for s := 0; s < secs; s++ {
		before := o.bytes.Load()
		for range p.fps {
			p.encode(o, next(), frame, now)
			now = now.Add(frame)
		}
		perSec = append(perSec, int(o.bytes.Load()-before))
	}
	return perSec, now
}

// testOut is a pipe and an H.264 output that no goroutine runs: the test
// calls encode itself with its own clock.
func testOut(t *testing.T, w, h, fps, bitrate int) (*videoPipe, *videoOut) {
	return testCodecOut(t, h264, w, h, fps, bitrate)
}

// testCodecOut is testOut with codec c.
func testCodecOut(t *testing.T, c videoCodec, w, h, fps, bitrate int) (*videoPipe, *videoOut) {
	t.Helper()
	p := newVideoPipe(nil, w, h, fps, bitrate, testLogger(t), func(error) {})
	p.keyInterval = DefaultKeyFrameInterval
	o := &videoOut{codec: c}
	tr, err := newSharedTrack(c.capability, videoTrackID, func() {}, func() {})
	if err != nil {
		t.Fatal(err)
	}
	o.track = tr
	t.Cleanup(func() { p.closeEncoder(o) })
	return p, o
}

// windows returns the bitrate of every 10 s window (in 1 s steps) of
// perSec from skip on, over target.
func windows(perSec []int, skip, target int) (lo, hi float64) {
	lo, hi = 1e9, 0
	for i := skip; i+10 <= len(perSec); i++ {
		sum := 0
		for _, b := range perSec[i : i+10] {
			sum += b
		}
		r := float64(sum*8) / 10 / float64(target)
		lo, hi = min(lo, r), max(hi, r)
	}
	return lo, hi
}

// TestHonestBitrate: the door sends what it is told, within 15 % over
// every 10 s window once it has settled, on the test pattern (whose noise
// openh264 alone sends at 2.2x the target) and on smooth moving pictures,
// and no frame is skipped.
func TestHonestBitrate(t *testing.T) {
	type row struct {
		name          string
		w, h, bitrate int
		frames        func(t *testing.T, w, h int) func() image.Image
	}
	tests := []row{
		{"test pattern 640x480 1Mbit/s", 640, 480, 1_000_000, patternFrames},
		{"test pattern 320x240 300kbit/s", 320, 240, 300_000, patternFrames},
		{"moving scene 640x480 1Mbit/s", 640, 480, 1_000_000, sceneFrames},
	}
	if *honest720 {
		tests = append(tests, row{"test pattern 1280x720 3Mbit/s", 1280, 720, 3_000_000, patternFrames},
			row{"moving scene 1280x720 3Mbit/s", 1280, 720, 3_000_000, sceneFrames})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, o := testOut(t, tt.w, tt.h, 30, tt.bitrate)
			perSec, _ := encodeFor(t, p, o, tt.frames(t, tt.w, tt.h), time.Now(), 40)
			lo, hi := windows(perSec, 15, tt.bitrate)
			w, h := scaled(tt.w, tt.h, o.gov.level)
			t.Logf("HONEST %s: 10 s windows after 15 s at %.2f to %.2f of the target; sent at %dx%d; %d frames skipped", tt.name, lo, hi, w, h, o.empty.Load())
			if lo < 0.85 || hi > 1.15 {
				t.Errorf("10 s windows at %.2f to %.2f of the target, want 0.85 to 1.15 (per second: %v)", lo, hi, perSec)
			}
			if e := o.empty.Load(); e > 0 {
				t.Errorf("%d frames skipped, want none", e)
			}
		})
	}
}

func patternFrames(t *testing.T, w, h int) func() image.Image {
	cam := testFrames(t, w, h)
	return func() image.Image {
		img, release, err := cam.reader.Read()
		if err != nil {
			t.Fatal(err)
		}
		release() // the encoder is done with a frame before the next is read
		return img
	}
}

// sceneFrames is a smooth picture (gradients, soft shapes, little texture)
// panning two pixels a frame: what a camera sees of a porch, without a
// recorded file.
func sceneFrames(t *testing.T, w, h int) func() image.Image {
	big := image.NewYCbCr(image.Rect(0, 0, 2*w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < 2*w; x++ {
			v := 40 + (x*3+y*2)%160
			if (x/37+y/23)%5 == 0 {
				v = 200 - (x+y)%50
			}
			big.Y[y*big.YStride+x] = uint8(v + (x*y)%7)
		}
	}
	for i := range big.Cb {
		big.Cb[i], big.Cr[i] = uint8(100+i%40), uint8(140-i%30)
	}
	off := 0
	return func() image.Image {
		off = (off + 2) % w
		return big.SubImage(image.Rect(off, 0, off+w, h))
	}
}

// TestRateFollowsEstimate: when a call's path estimate falls the encoder
// follows it down (a smaller picture where the floor of quality needs it),
// and when the estimate is gone it climbs back to the ceiling and its size.
func TestRateFollowsEstimate(t *testing.T) {
	p, o := testOut(t, 640, 480, 30, 1_000_000)
	next := patternFrames(t, 640, 480)
	_, now := encodeFor(t, p, o, next, time.Now(), 15)
	level := o.gov.level
	c := &call{}
	o.rate.set(c, 300_000+audioReserve)
	perSec, now := encodeFor(t, p, o, next, now, 25)
	lo, hi := windows(perSec, 15, 300_000)
	t.Logf("at 300 kbit/s: %.2f to %.2f of it, size level %d (was %d)", lo, hi, o.gov.level, level)
	if hi > 1.15 || o.gov.level <= level {
		t.Errorf("at 300 kbit/s: windows %.2f to %.2f of it at size level %d, want at most 1.15 and a smaller picture than level %d", lo, hi, o.gov.level, level)
	}
	congested := o.gov.level
	o.rate.drop(c)
	perSec, _ = encodeFor(t, p, o, next, now, 25)
	lo, hi = windows(perSec, 15, 1_000_000)
	t.Logf("estimate gone: %.2f to %.2f of the ceiling, size level %d", lo, hi, o.gov.level)
	if lo < 0.85 || hi > 1.15 || o.gov.level >= congested {
		t.Errorf("estimate gone: windows %.2f to %.2f of the ceiling at size level %d, want 0.85 to 1.15 and a larger picture than level %d", lo, hi, o.gov.level, congested)
	}
}

// TestRateTarget: the lowest call's estimate less the audio, between the
// floor and the ceiling.
func TestRateTarget(t *testing.T) {
	var r rateTarget
	a, b := &call{}, &call{}
	if got := r.get(1_000_000); got != 1_000_000 {
		t.Errorf("no estimates: get = %d, want the ceiling", got)
	}
	r.set(a, 600_000)
	r.set(b, 400_000)
	if got, want := r.get(1_000_000), 400_000-audioReserve; got != want {
		t.Errorf("two calls: get = %d, want %d (the weaker path)", got, want)
	}
	r.set(b, 10_000)
	if got, want := r.get(1_000_000), videoFloor(1_000_000); got != want {
		t.Errorf("below the floor: get = %d, want %d", got, want)
	}
	r.drop(b)
	r.set(a, 5_000_000)
	if got := r.get(1_000_000); got != 1_000_000 {
		t.Errorf("above the ceiling: get = %d, want the ceiling", got)
	}
}

// TestFrameRateLast: when even the smallest picture does not fit the
// floor, the frame rate goes down, on purpose and counted, and the door
// still sends what it is told.
func TestFrameRateLast(t *testing.T) {
	const ceiling = 600_000 // at 1280x720: a floor of 60 kbit/s, under what 320x180 needs at 30 frames/s
	p, o := testOut(t, 1280, 720, 30, ceiling)
	o.rate.set(&call{}, 0) // a path that carries nothing: the floor
	floor := videoFloor(ceiling)
	perSec, _ := encodeFor(t, p, o, patternFrames(t, 1280, 720), time.Now(), 35)
	lo, hi := windows(perSec, 20, floor)
	st := scales[o.gov.level]
	t.Logf("at the floor (%d kbit/s): %.2f to %.2f of it, size level %d (1/%d frames)", floor/1000, lo, hi, o.gov.level, st.div)
	if st.div < 2 || hi > 1.15 {
		t.Errorf("at the floor: windows %.2f to %.2f of it at level %d (every %d frames), want a lower frame rate and at most 1.15", lo, hi, o.gov.level, st.div)
	}
	if e := o.empty.Load(); e > 0 {
		t.Errorf("%d frames skipped by the encoder, want none", e)
	}
}

// TestPictureSizes: vivid's 640x480 and a Pi camera's 1280x720 in the
// governor's steps, largest first, each once, the shape kept.
func TestPictureSizes(t *testing.T) {
	for _, tt := range []struct {
		w, h int
		want string
	}{
		{640, 480, "[[640 480] [560 420] [480 360] [400 300] [320 240] [240 180] [160 120]]"},
		{1280, 720, "[[1280 720] [1120 630] [960 540] [800 450] [640 360] [480 270] [320 180]]"},
	} {
		if got := fmt.Sprint(PictureSizes(tt.w, tt.h)); got != tt.want {
			t.Errorf("PictureSizes(%d, %d) = %s, want %s", tt.w, tt.h, got, tt.want)
		}
	}
}

// TestGovernorTrial: a larger picture tried without a known need goes
// back at once when it sends more than the target (seen in CI: a trial at
// 1.2x to 1.6x of a congested link's target stayed for seconds while
// openh264 was asked for less, and the queue it filled froze the picture
// for 3.8 s); and key frames do not end a trial that fits.
func TestGovernorTrial(t *testing.T) {
	const target = 300_000
	perFrame := func(of float64) int { return int(of * target / 8 / 30) } // bytes a frame at 30 frames/s
	// run feeds frames of size(i) at 30 frames/s from t0 until stop says so;
	// it returns the time the next frame would come and how many were fed.
	run := func(g *governor, t0 time.Time, size func(i int) (int, bool), stop func(i int) bool) (time.Time, int) {
		now := t0
		i := 0
		for ; !stop(i); i++ {
			b, key := size(i)
			g.frame(now, b, target, key)
			now = now.Add(time.Second / 30)
		}
		return now, i
	}
	// start is a governor at level 5 that has sent 0.7 of the target for
	// a while: the next window finds room and tries level 4.
	start := func(t *testing.T) (*governor, time.Time) {
		t.Helper()
		g := &governor{level: 5}
		t0 := time.Now()
		now, _ := run(g, t0, func(int) (int, bool) { return perFrame(0.7), false }, func(int) bool { return g.level != 5 })
		if g.level != 4 || !g.trial {
			t.Fatalf("after a window at 0.7 of the target: level %d, trial %v, want level 4 on trial", g.level, g.trial)
		}
		return g, now
	}
	t.Run("over", func(t *testing.T) {
		g, now := start(t)
		// The new encoder's key frame, then P frames at 1.3x the target.
		_, n := run(g, now, func(i int) (int, bool) {
			if i == 0 {
				return perFrame(12), true
			}
			return perFrame(1.3), false
		}, func(i int) bool { return g.level != 4 || i > 90 })
		if g.level != 5 {
			t.Fatalf("a trial at 1.3x the target: level %d after %d frames, want back to level 5", g.level, n)
		}
		if n > 20 {
			t.Errorf("a trial at 1.3x the target went back after %d frames, want within about a quarter window (%d frames)", n, 20)
		}
		if g.need[4].bps < target*12/10 {
			t.Errorf("level 4's need recorded as %d bit/s, want what it sent (about %d)", g.need[4].bps, target*13/10)
		}
	})
	t.Run("over, memory old", func(t *testing.T) {
		// At level 4 (its need known) with level 3's never measured, which
		// counts as old: windows at 1.3x the target while openh264 is
		// asked for less must not grow the picture.
		g := &governor{level: 4}
		g.need[4].at = time.Now() // level 4 is no trial
		run(g, time.Now(), func(int) (int, bool) { return perFrame(1.3), false }, func(i int) bool { return g.level < 4 || i > 5*30 })
		if g.level < 4 {
			t.Errorf("windows at 1.3x the target: level %d, want 4 or smaller", g.level)
		}
	})
	t.Run("fits", func(t *testing.T) {
		g, now := start(t)
		// The new encoder's key frame, a PLI's key frame 0.5 s in, P
		// frames at 0.9x the target: the picture stays.
		run(g, now, func(i int) (int, bool) {
			if i == 0 || i == 15 {
				return perFrame(12), true
			}
			return perFrame(0.9), false
		}, func(i int) bool { return i > 3*30 })
		if g.level > 4 {
			t.Errorf("a trial at 0.9x the target with two key frames: level %d, want 4 or larger", g.level)
		}
	})
}
