// Package resident is a resident's client in Go for tests and measurements:
// it registers on the hub over a real WebSocket with package wire's
// messages, calls the door or answers it with a real pion peer, counts the
// video and audio RTP that arrives (and hands each packet to a hook for
// decoding), and hangs up, as a resident's browser would.
//
// The bench (cmd/bench), the VM's client (cmd/vmclient) and the
// daemon's own tests use it where a browser would cost more than the door
// under test. Options choose the codecs offered and reach pion's setting
// engine and interceptors (an in-memory network, congestion control).
package resident

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/intercomd/intercomd/wire"
)

// Options configure a Client. The zero value (but for Name) is a client on
// loopback offering H.264 at payload type 108 and Opus.
type Options struct {
	// Name is the user name the client registers.
	Name string
	// Dialer opens the WebSocket; nil is a dialer with a 10 s handshake
	// and no cookies. Give one with a Jar for a door behind a login, or
	// with TLSClientConfig for HTTPS.
	Dialer *websocket.Dialer
	// Header is sent with the WebSocket handshake (Origin, Cookie).
	Header http.Header
	// Video and Audio are the codecs offered, in order of preference; nil
	// is H264() and Opus().
	Video, Audio []webrtc.RTPCodecParameters
	// Settings, if not nil, changes pion's setting engine after the
	// defaults (loopback candidates on, mDNS off, UDP over IPv4 only): an
	// in-memory network (SetNet), other network types, timeouts.
	Settings func(*webrtc.SettingEngine)
	// Interceptors, if not nil, adds to pion's interceptors after its
	// defaults (NACK, RTCP reports, TWCC header extension): congestion
	// control, a bandwidth estimator.
	Interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error
	// Logf, if not nil, is told about hub errors seen while waiting.
	Logf func(format string, args ...any)
}

// H264 is H.264 constrained baseline at payload type 108, as Chromium often
// offers it (not mediadevices' fixed 125: a door that sends with its own
// type instead of the negotiated one loses every frame, and this notices).
func H264() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: 108,
	}
}

// VP8 is VP8 at payload type 96, as Chromium offers it.
func VP8() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: 96,
	}
}

// Opus is Opus at payload type 111, as browsers offer it.
func Opus() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}
}

// Client is one resident registered on the hub.
type Client struct {
	name string
	ws   *websocket.Conn
	api  *webrtc.API
	logf func(string, ...any)

	wmu sync.Mutex // serializes writes to ws

	mu     sync.Mutex     // guards the fields below
	inbox  []wire.Message // received, not yet taken by Expect
	wake   chan struct{}  // closed and replaced when inbox grows
	call   *Call          // the current call: gets ICE candidates and Hangups
	closed chan struct{}  // closed when the read loop ends
}

// inboxCap bounds the messages kept for Expect; the oldest go first (user
// lists and call progress nobody waits for, over a long soak).
const inboxCap = 256

// Dial connects to the hub's WebSocket at url (ws:// or wss://) and
// registers as opt.Name.
func Dial(ctx context.Context, url string, opt Options) (*Client, error) {
	api, err := newAPI(opt)
	if err != nil {
		return nil, err
	}
	d := opt.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	ws, resp, err := d.DialContext(ctx, url, opt.Header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket %s: %s: %w", url, resp.Status, err)
		}
		return nil, fmt.Errorf("websocket %s: %w", url, err)
	}
	c := &Client{name: opt.Name, ws: ws, api: api, logf: opt.Logf, wake: make(chan struct{}), closed: make(chan struct{})}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	go c.read()
	if err := c.register(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newAPI is the pion API every call of a client uses.
func newAPI(opt Options) (*webrtc.API, error) {
	video, audio := opt.Video, opt.Audio
	if video == nil {
		video = []webrtc.RTPCodecParameters{H264()}
	}
	if audio == nil {
		audio = []webrtc.RTPCodecParameters{Opus()}
	}
	m := &webrtc.MediaEngine{}
	for _, p := range video {
		if err := m.RegisterCodec(p, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("video codec %s: %w", p.MimeType, err)
		}
	}
	for _, p := range audio {
		if err := m.RegisterCodec(p, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("audio codec %s: %w", p.MimeType, err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	if opt.Interceptors != nil {
		if err := opt.Interceptors(m, ir); err != nil {
			return nil, err
		}
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if opt.Settings != nil {
		opt.Settings(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Name is the name the client registered.
func (c *Client) Name() string { return c.name }

func (c *Client) register(ctx context.Context) error {
	if err := c.Send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote(c.name)}); err != nil {
		return err
	}
	m, err := c.Expect(ctx, "the Register reply", 10*time.Second, func(m wire.Message) bool { return m.Type == wire.TypeRegister })
	if err != nil {
		return err
	}
	if m.Status != wire.StatusOK {
		return fmt.Errorf("register %q: %s %s", c.name, m.Status, m.Reason)
	}
	return nil
}

// read takes every message from the hub: ICE candidates go to the current
// call, a Hangup from its peer ends it (and is kept for Expect too), the
// rest wait in the inbox for Expect.
func (c *Client) read() {
	defer close(c.closed)
	for {
		var m wire.Message
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		c.mu.Lock()
		call := c.call
		c.mu.Unlock()
		if m.Type == wire.TypeICE {
			if call != nil && m.From == call.peer {
				call.addCandidate(m.Text)
			}
			continue
		}
		if m.Type == wire.TypeHangup && call != nil && m.From == call.peer {
			call.hungUp()
		}
		c.mu.Lock()
		if len(c.inbox) >= inboxCap {
			c.inbox = c.inbox[1:]
		}
		c.inbox = append(c.inbox, m)
		close(c.wake)
		c.wake = make(chan struct{})
		c.mu.Unlock()
	}
}

// Send writes m to the hub.
func (c *Client) Send(m wire.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteJSON(m); err != nil {
		return fmt.Errorf("send %s: %w", m.Type, err)
	}
	return nil
}

// Expect returns the first message (already received or arriving within
// timeout) for which match is true, and removes it; the others stay for a
// later Expect. what names the message in the error.
func (c *Client) Expect(ctx context.Context, what string, timeout time.Duration, match func(wire.Message) bool) (wire.Message, error) {
	return c.expect(ctx, what, timeout, match, nil)
}

// expect is Expect that also forgets the messages before the one found for
// which stale is true (a call's leftovers, before the next call's ring).
func (c *Client) expect(ctx context.Context, what string, timeout time.Duration, match, stale func(wire.Message) bool) (wire.Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		for i, m := range c.inbox {
			if match(m) {
				kept := make([]wire.Message, 0, len(c.inbox)-1)
				for _, o := range c.inbox[:i] {
					if stale == nil || !stale(o) {
						kept = append(kept, o)
					}
				}
				c.inbox = append(kept, c.inbox[i+1:]...)
				c.mu.Unlock()
				return m, nil
			}
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
			c.mu.Lock()
			if n := len(c.inbox); n > 0 && c.inbox[n-1].Type == wire.TypeError {
				m := c.inbox[n-1]
				c.logf("resident %s: hub error while waiting for %s: %s", c.name, what, Brief(m))
			}
			c.mu.Unlock()
		case <-ctx.Done():
			return wire.Message{}, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-c.closed:
			return wire.Message{}, fmt.Errorf("the hub closed the WebSocket while %s waited for %s", c.name, what)
		case <-t.C:
			return wire.Message{}, fmt.Errorf("no %s within %v (got instead: %v)", what, timeout, c.unexpected())
		}
	}
}

// unexpected lists the inbox, but for user lists, for an error message.
func (c *Client) unexpected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for _, m := range c.inbox {
		if m.Type != wire.TypeGetUsers && m.Type != wire.TypeUsersDelta {
			got = append(got, Brief(m))
		}
	}
	return got
}

// dropCallMessages forgets what an earlier call left in the inbox (the
// door's Hangup crossing ours, late Invite replies): none of it is about
// the next call.
func (c *Client) dropCallMessages() {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.inbox[:0]
	for _, m := range c.inbox {
		if !callMessage(m) {
			kept = append(kept, m)
		}
	}
	c.inbox = kept
}

// callMessage is true for what belongs to a call under way: its Hangup,
// descriptions and Invite replies, not a new call's ring.
func callMessage(m wire.Message) bool {
	switch m.Type {
	case wire.TypeHangup, wire.TypeCallerSDP, wire.TypeCalleeSDP:
		return true
	case wire.TypeInvite:
		s, _ := m.TextString()
		return s != "Incoming"
	}
	return false
}

// Close closes the WebSocket (the hub unregisters the client) and waits
// for the read loop. A call still open is closed too.
func (c *Client) Close() error {
	c.mu.Lock()
	call := c.call
	c.mu.Unlock()
	if call != nil {
		call.Close()
	}
	err := c.ws.Close()
	<-c.closed
	return err
}

// Brief shows m in a log line, its text cut short.
func Brief(m wire.Message) string {
	t := string(m.Text)
	if len(t) > 60 {
		t = t[:60] + "..."
	}
	return fmt.Sprintf("{%s %s status=%q from=%q reason=%q}", m.Type, t, m.Status, m.From, m.Reason)
}
