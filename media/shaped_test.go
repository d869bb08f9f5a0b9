package media

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// link is a path's bottleneck for real sockets, in the test's process:
// random loss, a token bucket with a drop-tail queue, and a fixed delay,
// what tc's netem and tbf would do (netem needs a kernel module a test
// machine may lack, and tc needs a network namespace a browser does not
// easily join). It shapes what a TURN relay sends to the browser.
type link struct {
	mu    sync.Mutex
	bps   int           // guarded by mu
	queue time.Duration // guarded by mu; the most a packet waits for the bucket
	delay time.Duration // guarded by mu
	loss  float64       // guarded by mu
	free  time.Time     // guarded by mu; when the bucket has sent what is queued
}

// lift opens the link: no limit to speak of, no delay, no loss.
func (l *link) lift() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bps, l.delay, l.loss, l.free = 1_000_000_000, 0, 0, time.Time{}
}

// due is when a packet of n bytes sent now arrives, or false when the
// link drops it.
func (l *link) due(n int) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rand.Float64() < l.loss {
		return time.Time{}, false
	}
	now := time.Now()
	start := now
	if l.free.After(now) {
		start = l.free
	}
	if start.Sub(now) > l.queue {
		return time.Time{}, false // the queue is full
	}
	l.free = start.Add(time.Duration(n+28) * 8 * time.Second / time.Duration(l.bps)) // with IP and UDP headers
	return l.free.Add(l.delay), true
}

// shapedConn sends what is written to it over the link.
type shapedConn struct {
	net.PacketConn
	link *link
	out  chan shapedPacket
	done chan struct{}
	once sync.Once
}

type shapedPacket struct {
	b  []byte
	to net.Addr
	at time.Time
}

func (l *link) wrap(pc net.PacketConn) *shapedConn {
	c := &shapedConn{PacketConn: pc, link: l, out: make(chan shapedPacket, 4096), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *shapedConn) WriteTo(b []byte, to net.Addr) (int, error) {
	at, ok := c.link.due(len(b))
	if !ok {
		return len(b), nil
	}
	select {
	case c.out <- shapedPacket{b: bytes.Clone(b), to: to, at: at}:
	case <-c.done:
		return 0, net.ErrClosed
	}
	return len(b), nil
}

func (c *shapedConn) run() {
	for {
		select {
		case p := <-c.out:
			time.Sleep(time.Until(p.at))
			c.PacketConn.WriteTo(p.b, p.to)
		case <-c.done:
			return
		}
	}
}

func (c *shapedConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.PacketConn.Close()
}

// shapedRelays gives each TURN allocation a relay socket whose sends to
// the peer go over the link.
type shapedRelays struct {
	*turn.RelayAddressGeneratorStatic
	link *link
}

func (g shapedRelays) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.RelayAddressGeneratorStatic.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	return g.link.wrap(pc), addr, nil
}

// shapedTURN runs a TURN server on loopback (pion/turn) whose relays send
// over l, and returns the door's ice_servers entry for it.
func shapedTURN(t *testing.T, l *link) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const realm, user, pass = "intercomd.test", "door", "door-secret"
	key := turn.GenerateAuthKey(user, realm, pass)
	s, err := turn.NewServer(turn.ServerConfig{
		Realm:         realm,
		LoggerFactory: pionLogs{log: testLogger(t).With("side", "turn")},
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == user
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: pc,
			RelayAddressGenerator: shapedRelays{link: l, RelayAddressGeneratorStatic: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1",
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return fmt.Sprintf("turn:%s:%s@%s", user, pass, pc.LocalAddr())
}

// doorStalls adds up, polled, the spans in which the door encoded no
// frame: a starved test machine, not the path.
type doorStalls struct {
	frames int64
	at     time.Time
	total  time.Duration
}

func (d *doorStalls) poll(frames int64, now time.Time) {
	if !d.at.IsZero() && frames == d.frames {
		d.total += now.Sub(d.at)
	}
	d.frames, d.at = frames, now
}

// TestChromiumOverConstrainedPath: headless Chromium calls the door over
// a path of 400 kbit/s, 100 ms and 3 % loss (the door's side relayed by a
// TURN server on loopback that shapes what it sends on). The door's sent
// rate comes under the limit, Chromium keeps decoding with no freeze over
// a second once it has settled, and the rate climbs back when the path is
// lifted.
func TestChromiumOverConstrainedPath(t *testing.T) {
	const limit = 400_000
	l := &link{bps: limit, queue: 300 * time.Millisecond, delay: 100 * time.Millisecond, loss: 0.03}
	m := newTestMedia(t, Config{VideoBitrate: 1_000_000, ICEServers: []string{shapedTURN(t, l)}})
	m.net.policy = webrtc.ICETransportPolicyRelay // no direct path around the shaped one
	ctx := browserFor(t, chromiumtest.Timeout)
	dc, ev := chromiumCallsDoor(t, ctx, m)
	exchange(t, ctx, dc, ev, "video over the relay", func(s inboundStats) bool { return s.Video.FramesDecoded > 0 })
	eval[bool](t, ctx, "watchFrames()")
	c := dc.(*call)
	out := c.currentVideo()

	var st inboundStats
	stats := func() inboundStats {
		raw := eval[string](t, ctx, "inbound()")
		st = inboundStats{}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatalf("inbound() = %s: %v", raw, err)
		}
		return st
	}
	p := newPhases(t, out, limit, func() int { return st.Video.FramesDecoded })
	p.poll = func() { stats() }
	defer func() { writeTrace(t, ".chromium", p.trace) }()
	p.poll()
	p.down()
	p.settle()
	var stalls doorStalls
	p.poll = func() { stats(); stalls.poll(out.frames.Load(), time.Now()) }
	p.poll()
	eval[string](t, ctx, "frameGaps()") // from now on
	before := st.Video
	sent := p.measure()
	after := st.Video
	var gaps struct {
		MaxGap    float64 `json:"maxGap"`
		Presented int     `json:"presented"`
	}
	if raw := eval[string](t, ctx, "frameGaps()"); json.Unmarshal([]byte(raw), &gaps) != nil {
		t.Fatalf("frameGaps() = %s", raw)
	}
	freeze := max(time.Duration(gaps.MaxGap*float64(time.Second))-stalls.total, 0)
	t.Logf("under the limit: video %d kbit/s sent, Chromium decoded %d frames in %d s (%dx%d) and showed %d, longest gap %.2f s in RTP time, the door encoded nothing for %v; Chromium's own count: %d freezes, %.1f s; %d NACKs, %d packets lost",
		sent/1000, after.FramesDecoded-before.FramesDecoded, measured, after.FrameWidth, after.FrameHeight, gaps.Presented,
		gaps.MaxGap, stalls.total, after.FreezeCount-before.FreezeCount, after.TotalFreezesDuration-before.TotalFreezesDuration,
		after.NackCount-before.NackCount, after.PacketsLost-before.PacketsLost)
	if gaps.Presented == 0 {
		t.Errorf("Chromium showed no picture while measuring")
	}
	p.check(sent, after.FramesDecoded-before.FramesDecoded, freeze)
	p.poll = func() { stats() }
	l.lift()
	p.climb()
	if st.Video.FramesDecoded <= after.FramesDecoded {
		t.Errorf("Chromium decoded no frame after the path was lifted")
	}
}
