package media

import (
	"testing"
	"time"
)

// TestVP8FollowsEstimate: the pipe drives VP8 (media/vp8) as it drives
// H.264: on a smooth moving picture it sends the ceiling's bitrate, follows
// a call's low estimate down (the encoder's bitrate and the governor's
// smaller pictures, each a new encoder) and climbs back to a larger
// picture when the estimate is gone; the encoder skips no frame. (On the
// test pattern's noise VP8 reaches its coarsest quantiser at 300 kbit/s
// and windows run to 1.25x: the governor first lowers the encoder's
// target, which helps openh264 but not an encoder already at that limit.)
func TestVP8FollowsEstimate(t *testing.T) {
	const ceiling = 1_000_000
	p, o := testCodecOut(t, vp8Codec, 640, 480, 30, ceiling)
	next := sceneFrames(t, 640, 480)
	perSec, now := encodeFor(t, p, o, next, time.Now(), 25)
	lo, hi := windows(perSec, 10, ceiling)
	t.Logf("at the ceiling: %.2f to %.2f of it, size level %d", lo, hi, o.gov.level)
	if lo < 0.85 || hi > 1.15 {
		t.Errorf("at the ceiling: windows %.2f to %.2f of it, want 0.85 to 1.15 (per second: %v)", lo, hi, perSec)
	}
	c := &call{}
	const low = 150_000
	o.rate.set(c, low+audioReserve)
	perSec, now = encodeFor(t, p, o, next, now, 25)
	lo, hi = windows(perSec, 10, low)
	congested := o.gov.level
	t.Logf("at %d bit/s: %.2f to %.2f of it, size level %d, encoder asked for %d", low, lo, hi, congested, o.encTarget)
	if congested == 0 {
		t.Errorf("at %d bit/s the picture stayed at full size, want the governor's smaller one", low)
	}
	if hi > 1.15 {
		t.Errorf("at %d bit/s: windows %.2f to %.2f of it, want at most 1.15 (per second: %v)", low, lo, hi, perSec)
	}
	if o.target.Load() != low {
		t.Errorf("encoder's target %d, want %d", o.target.Load(), low)
	}
	o.rate.drop(c)
	perSec, _ = encodeFor(t, p, o, next, now, 25)
	lo, hi = windows(perSec, 15, ceiling)
	t.Logf("estimate gone: %.2f to %.2f of the ceiling, size level %d", lo, hi, o.gov.level)
	if lo < 0.85 || hi > 1.15 || o.gov.level >= congested {
		t.Errorf("estimate gone: windows %.2f to %.2f of the ceiling at size level %d, want 0.85 to 1.15 and a larger picture than level %d", lo, hi, o.gov.level, congested)
	}
	if e := o.empty.Load(); e > 0 {
		t.Errorf("%d frames skipped by the encoder, want none", e)
	}
}
