package media

import (
	"sync"
	"time"
)

// The door's video bitrate: a ceiling (Config.VideoBitrate), each call's
// estimate of what its path carries (pion's GCC over transport-wide
// congestion control feedback, and REMB where a browser sends it), and the
// encoder held to the lowest of them. Every call shares one encoder per
// codec, so a second viewer on a weak link lowers the picture for all:
// the door has no simulcast on a Pi's CPU.

// audioReserve is what the door's Opus stream takes of a call's estimate:
// 32 kbit/s of payload and 50 packets a second of headers.
const audioReserve = 48_000

// videoFloor is the least bitrate congestion control asks of the encoder;
// below what a picture needs at this rate, the governor makes the picture
// smaller instead.
func videoFloor(ceiling int) int { return min(max(ceiling/10, 60_000), ceiling) }

// rateTarget holds each call's estimate for one shared encoder.
type rateTarget struct {
	mu        sync.Mutex
	estimates map[*call]int // guarded by mu; bits/s for video, per call
}

// set records c's path estimate (all of the call's RTP, bits/s).
func (r *rateTarget) set(c *call, bps int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.estimates == nil {
		r.estimates = map[*call]int{}
	}
	r.estimates[c] = bps - audioReserve
}

// drop forgets c: it ended or moved to another codec.
func (r *rateTarget) drop(c *call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.estimates, c)
}

// get is the video bitrate for the encoder: the lowest estimate, between
// the floor and the ceiling; the ceiling while no call has an estimate.
func (r *rateTarget) get(ceiling int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := ceiling
	for _, e := range r.estimates {
		t = min(t, e)
	}
	return max(t, videoFloor(ceiling))
}

// scales are the steps the governor goes through: picture sizes as
// fractions of the capture size, then, at the smallest, a lower frame rate
// (every div-th captured frame encoded, its time added to the next).
var scales = [...]struct{ num, den, div int }{
	{1, 1, 1}, {7, 8, 1}, {3, 4, 1}, {5, 8, 1}, {1, 2, 1}, {3, 8, 1}, {1, 4, 1},
	{1, 4, 2}, {1, 4, 3},
}

// scaled is the encoded size at scale level for a capture of w x h: even,
// and at least 16.
func scaled(w, h, level int) (int, int) {
	s := scales[level]
	f := func(x int) int { return max(x*s.num/s.den/2*2, 16) }
	return f(w), f(h)
}

// PictureSizes are the sizes the door may send a camera's w x h picture
// at, largest first: a viewer that checks the picture's size (make vmtest)
// accepts any of them, since the governor picks one from what the path
// carries and what the picture costs.
func PictureSizes(w, h int) [][2]int {
	var sizes [][2]int
	for l := range scales {
		sw, sh := scaled(w, h, l)
		if n := len(sizes); n == 0 || sizes[n-1] != [2]int{sw, sh} {
			sizes = append(sizes, [2]int{sw, sh})
		}
	}
	return sizes
}

// Governor timing and margins.
const (
	rateWindow = 2 * time.Second  // bitrate measured over this (a key frame every 2 s is averaged in)
	rateOver   = 1.10             // a window above target x this makes the picture smaller, when lowering openh264's own target did not help
	rateRoom   = 0.85             // a larger picture must need under target x this
	stallGap   = rateWindow / 4   // frames further apart than this: a starved encoder or camera, not room
	minGain    = 0.5              // openh264 is asked for no less than target x this
	needMemory = 60 * time.Second // then a larger picture is tried again
)

// governor holds an encoder to its target. openh264 does not: it
// overshoots by some percent at small sizes, and its rate control stops at
// quantiser 42 and, with frame skipping off (a door must not stutter),
// sends what that costs: 2.2x the target on the test pattern's noise at
// 640x480 and 1 Mbit/s, and more on a congested link's low target. So the
// governor measures what is sent over each rateWindow; while a window is
// over the target it asks openh264 for less (down to minGain), and when
// that does not help it encodes a smaller picture (fewer bits at the same
// quantiser). It tries the larger picture again when the target allows
// what that size was seen to need, or after needMemory (content changes:
// night, rain). It belongs to the pipe's goroutine.
type governor struct {
	level int       // index into scales
	gain  float64   // openh264 is asked for target x gain; 0 means 1
	start time.Time // the current window
	last  time.Time // the last frame
	bytes int       // sent in it
	trial bool      // the level was entered on trial (its need unknown or old): a window over target takes it back early
	need  [len(scales)]struct {
		bps int // what this level sent when the governor left it
		at  time.Time
	}
}

// encoderTarget is the bitrate to ask the encoder for.
func (g *governor) encoderTarget(target int) int {
	if g.gain == 0 {
		return target
	}
	return int(float64(target) * g.gain)
}

// frame records an encoded frame at now (key: one the door forced); the
// level for the next frame is g.level. A window of half rateWindow already
// decides when it is more than twice the target (a congested link cannot
// wait), and a quarter window when over it at a level on trial (what a
// larger picture, or a new encoder's first, costs shows at once): a trial
// over target by rateOver goes back to a smaller picture at once.
func (g *governor) frame(now time.Time, bytes, target int, key bool) {
	// A window starts anew with the first frame and after a stall: a
	// window with a hole in it would look like room for a larger picture
	// (seen on a loaded machine: a stall, then two steps up and 1.5x the
	// target into a congested link).
	fresh := g.start.IsZero()
	if fresh || now.Sub(g.last) > stallGap {
		g.start, g.bytes = now, 0
	}
	g.last = now
	if fresh {
		// A new encoder: its first size is on trial too, so a new call
		// does not send a second at 2x the target before the governor
		// acts (the test pattern at full size), and its first frame,
		// the key frame, is left out of the short window that decides.
		g.trial = g.need[g.level].at.IsZero()
		return
	}
	if key && g.trial {
		// A trial's quarter window is too short to average a key frame
		// in (the new encoder's first, the periodic one, a PLI's): one
		// would end every trial, and the picture would never grow again.
		bytes = 0
	}
	g.bytes += bytes
	span := now.Sub(g.start)
	if span < rateWindow/2 && !(g.trial && span >= rateWindow/4) {
		return
	}
	rate := float64(g.bytes*8) / span.Seconds()
	over := rate / float64(target)
	if span < rateWindow && over <= 2 && !(g.trial && over > rateOver) {
		return
	}
	trial := g.trial
	g.start, g.bytes, g.trial = now, 0, false
	gain := g.gain
	if gain == 0 {
		gain = 1
	}
	switch {
	case over > rateOver && (trial || gain <= minGain || over > 1.5) && g.level < len(scales)-1:
		g.need[g.level].bps, g.need[g.level].at = int(rate), now
		g.level, g.gain = g.smaller(over), 0
	case g.level > 0 && over <= 1 && (now.Sub(g.need[g.level-1].at) > needMemory || float64(g.need[g.level-1].bps) < float64(target)*rateRoom):
		g.trial = now.Sub(g.need[g.level-1].at) > needMemory
		g.level, g.gain = g.level-1, 0
	case over > 0:
		g.gain = min(max(gain/over, minGain), 1)
	}
}

// smaller is the level whose pictures, at the bits per pixel sent now,
// would fit the target: at least one step down.
func (g *governor) smaller(over float64) int {
	l := g.level + 1
	for l < len(scales)-1 && over*area(l)/area(g.level) > 1 {
		l++
	}
	return l
}

// area is the level's share of the capture's pixels per second.
func area(l int) float64 {
	f := float64(scales[l].num) / float64(scales[l].den)
	return f * f / float64(scales[l].div)
}
