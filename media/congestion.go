package media

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// congestionControl gives the call pion's send-side estimator: the door
// numbers what it sends (the transport-wide sequence extension), the
// receiver reports arrival times (transport-cc feedback, which Chromium and
// Firefox send), and GCC turns delay and loss into a bitrate the path
// carries. It is registered before pion's default interceptors, so it sees
// the numbered packets, retransmissions included. Without a pacer: the
// encoder is held to the estimate instead, and a queue of its own would
// only add delay.
func (c *call) congestionControl(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	ceiling := c.m.cfg.VideoBitrate + audioReserve
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		p := &directPacer{writers: map[uint32]interceptor.RTPWriter{}, primary: map[uint32]uint32{}}
		g, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(ceiling),
			gcc.SendSideBWEMinBitrate(videoFloor(c.m.cfg.VideoBitrate)+audioReserve),
			gcc.SendSideBWEMaxBitrate(ceiling),
			gcc.SendSideBWEPacer(p),
			gcc.WithLoggerFactory(c.m.net.settings.LoggerFactory),
		)
		return &estimator{SendSideBWE: g, pacer: p, onEstimate: func(bps int) { c.estimated(bps, 0) }}, err
	})
	if err != nil {
		return err
	}
	ir.Add(f)
	return webrtc.ConfigureTWCCHeaderExtensionSender(me, ir)
}

// estimated takes a new estimate of the call's path: from GCC (gccBPS) or
// from the receiver's REMB (rembBPS); 0 leaves that one as it was. The
// lower of the two is the call's share of the shared encoder.
func (c *call) estimated(gccBPS, rembBPS int) {
	// Under mu, so that Close and a codec switch, which drop the call's
	// estimate, never race with a late one that would stay for good.
	c.mu.Lock()
	defer c.mu.Unlock()
	if gccBPS > 0 {
		c.gccBPS = gccBPS
	}
	if rembBPS > 0 {
		c.rembBPS = rembBPS
	}
	bps := c.gccBPS
	if c.rembBPS > 0 && (bps == 0 || c.rembBPS < bps) {
		bps = c.rembBPS
	}
	if c.video != nil && !c.closed && bps > 0 {
		c.video.rate.set(c, bps)
	}
}

// remb reads a receiver's estimate from RTCP (Chromium sends REMB when the
// call has no transport-cc).
func remb(p rtcp.Packet) (int, bool) {
	r, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate)
	if !ok {
		return 0, false
	}
	return int(r.Bitrate), true
}

// lossCongestion is the share of packets lost from which loss counts as
// congestion. Below it the door's NACK and RTX repair the loss, and GCC's
// delay-based estimate alone is the call's. pion's loss controller holds
// anywhere between 2 and 10 % and never rises again after a dip of the
// delay-based estimate; and on the vnet test's 3 % path the transport-cc
// feedback of pion's receiver counted 24 % lost (lost packets reported in
// more than one feedback), so its loss controller cut the call to the
// floor for good (82 of 400 kbit/s). Above it, GCC's own estimate counts,
// the lower of delay and loss. A queue that overflows shows as delay first.
const lossCongestion = 0.10

// estimator is pion's GCC, telling the pacer which stream each RTX stream
// repairs, and choosing between GCC's delay-based and combined estimates
// by the loss the receiver reports.
type estimator struct {
	*gcc.SendSideBWE
	pacer      *directPacer
	onEstimate func(bps int) // a new estimate

	mu   sync.Mutex
	loss float64   // guarded by mu; share lost, from receiver reports
	last int       // guarded by mu; the last estimate given
	at   time.Time // guarded by mu; when it was given
}

// maxRise is how fast the call's estimate may rise, per second: GCC's own
// multiplicative increase. The delay-based estimate stays at the ceiling
// until the first overuse, so after losses had cut GCC's combined one it
// would have jumped back to the ceiling at once (seen: 140 -> 1000 kbit/s
// into a 400 kbit/s path).
const maxRise = 1.08

// WriteRTCP implements cc.BandwidthEstimator: GCC reads the feedback, then
// the loss decides which of GCC's estimates the call gets. The loss is
// the receiver reports' fraction lost (what the receiver missed of the
// original stream, as libwebrtc's loss-based controller reads it), not the
// transport-cc feedback's (see lossCongestion).
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	err := e.SendSideBWE.WriteRTCP(pkts, a)
	e.mu.Lock()
	feedback := false
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerCC:
			feedback = true
		case *rtcp.ReceiverReport:
			for _, r := range p.Reports {
				e.loss = (e.loss + float64(r.FractionLost)/256) / 2
			}
		}
	}
	if !feedback {
		e.mu.Unlock()
		return err
	}
	bps := e.GetTargetBitrate()
	now := time.Now()
	if delay, _ := e.GetStats()["delayTargetBitrate"].(int); e.loss < lossCongestion && delay > 0 {
		bps = delay
		if e.last > 0 {
			bps = min(bps, max(e.last, int(float64(e.last)*math.Pow(maxRise, min(now.Sub(e.at).Seconds(), 1)))))
		}
	}
	changed := bps != e.last
	if changed {
		e.last, e.at = bps, now
	}
	e.mu.Unlock()
	if changed {
		e.onEstimate(bps)
	}
	return err
}

// AddStream implements cc.BandwidthEstimator.
func (e *estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	out := e.SendSideBWE.AddStream(info, w)
	if info.SSRCRetransmission != 0 {
		e.pacer.repairs(info.SSRCRetransmission, info.SSRC)
	}
	return out
}

// directPacer sends every packet at once, as pion's NoOpPacer does, but
// also the NACK responder's resends on an RTX stream: pion binds only the
// primary stream, and its NoOpPacer drops the packets of any other SSRC,
// which would silently turn RTX off the moment GCC is on. A resend goes
// through its primary stream's writer, so GCC counts it too.
type directPacer struct {
	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter // guarded by mu; by SSRC
	primary map[uint32]uint32                // guarded by mu; RTX SSRC -> the SSRC it repairs
}

var _ gcc.Pacer = (*directPacer)(nil)

func (p *directPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = w
}

func (p *directPacer) repairs(rtx, ssrc uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.primary[rtx] = ssrc
}

func (p *directPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w, ok := p.writers[h.SSRC]
	if !ok {
		w, ok = p.writers[p.primary[h.SSRC]]
	}
	p.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("%w: %d", gcc.ErrUnknownStream, h.SSRC)
	}
	return w.Write(h, payload, a)
}

func (p *directPacer) SetTargetBitrate(int) {}

func (p *directPacer) Close() error { return nil }
