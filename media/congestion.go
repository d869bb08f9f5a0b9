package media

import (
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
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
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(ceiling),
			gcc.SendSideBWEMinBitrate(videoFloor(c.m.cfg.VideoBitrate)+audioReserve),
			gcc.SendSideBWEMaxBitrate(ceiling),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(c.m.net.settings.LoggerFactory),
		)
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
