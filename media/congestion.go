package media

import (
	"fmt"
	"sync"

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
		e, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(ceiling),
			gcc.SendSideBWEMinBitrate(videoFloor(c.m.cfg.VideoBitrate)+audioReserve),
			gcc.SendSideBWEMaxBitrate(ceiling),
			gcc.SendSideBWEPacer(p),
			gcc.WithLoggerFactory(c.m.net.settings.LoggerFactory),
		)
		return &estimator{SendSideBWE: e, pacer: p}, err
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		e.OnTargetBitrateChange(func(bps int) { c.estimated(bps, 0) })
	})
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

// estimator is pion's GCC, telling the pacer which stream each RTX stream
// repairs.
type estimator struct {
	*gcc.SendSideBWE
	pacer *directPacer
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
