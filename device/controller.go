package device

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// Errors of the door's commands.
var (
	ErrNotRegistered = errors.New("the door is not registered on the hub")
	ErrBusy          = errors.New("the door is already in a call")
	ErrNobody        = errors.New("nobody to ring: no resident is online")
	ErrStopped       = errors.New("the door has stopped")
	ErrNoRelay       = errors.New("this door has no door opener")
	ErrNotRinging    = errors.New("the door is not ringing that call")
)

// Config is how the door behaves.
type Config struct {
	// Name is the door's user name on the hub.
	Name string
	// Answer says whether a resident's call is answered at once or rings
	// until the Answer button.
	Answer AnswerMode
	// AnswerTimeout rejects a call nobody answered at the door (AnswerButton).
	AnswerTimeout time.Duration
	// RingGroup names who the door rings; empty means every browser online.
	RingGroup []string
	// RingTimeout cancels the door's call when no resident answers.
	RingTimeout time.Duration
	// HoldRing keeps the door ringing until RingTimeout even when nobody is
	// online or everyone online declined, and rings residents who come
	// online meanwhile: a phone woken by a push notification opens the app
	// and is rung at once.
	HoldRing bool
	// DisconnectGrace ends a call whose connection stays disconnected this
	// long (the browser vanished without a word).
	DisconnectGrace time.Duration
	// RegisterRetry is the pause before registering again after the hub
	// refused the name.
	RegisterRetry time.Duration
	// MediaTimeout ends an accepted call whose media has not connected by
	// then (an offer that never comes, ICE that never connects), so one
	// resident cannot hold the door busy.
	MediaTimeout time.Duration
	// CloseTimeout is how long a call's teardown may take before the door
	// logs it as stuck; it never waits for it either way.
	CloseTimeout time.Duration
	// Observers watch the door's events (see Event). Each is called on the
	// door's goroutine and must not block: a slow observer queues (see
	// EventQueue).
	Observers []func(Event)
}

func (c *Config) setDefaults() {
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = 30 * time.Second
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 30 * time.Second
	}
	if c.DisconnectGrace <= 0 {
		c.DisconnectGrace = time.Second
	}
	if c.RegisterRetry <= 0 {
		c.RegisterRetry = 5 * time.Second
	}
	if c.MediaTimeout <= 0 {
		c.MediaTimeout = 30 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
}

// Panel is the door's buttons, lights and relay. Any of them may be nil.
type Panel struct {
	Call, Answer, Hangup   Button
	Ringing, InCall, Ready Light
	Relay                  Relay
}

// Status is a snapshot of the door for /healthz and the panel.
type Status struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	Peer       string `json:"peer,omitempty"`
	Registered bool   `json:"registered"`
}

// Controller is the door's state machine. One goroutine (Run) owns all call
// state; messages, call events, buttons and commands reach it through
// channels.
type Controller struct {
	cfg   Config
	log   *slog.Logger
	sig   Signaller
	media Media
	panel Panel

	events  chan event
	done    chan struct{}  // closed when Run returns
	closing sync.WaitGroup // calls being torn down (closeCall)

	statusMu sync.Mutex
	status   Status // guarded by statusMu; written by Run after every event

	// Owned by the Run goroutine.
	ctx        context.Context
	state      State
	registered bool
	peer       string               // the other party of the call or incoming ring
	caller     bool                 // the door placed the current call
	call       Call                 // the current peer connection, or nil
	callID     int                  // tells current call events from stale ones
	connected  bool                 // the current call's media has connected
	ring       uint64               // id of the current ring or call (Event.Call), 0 when none
	rings      uint64               // last ring id given out
	mediaUp    time.Time            // when the current call's media connected, or zero
	look       bool                 // a silent look: the in-call light off until Talk
	pending    map[string]bool      // ring group members still ringing
	rung       map[string]bool      // members rung in this ring (until they leave)
	users      map[string]wire.User // who is online, from the hub's lists
	deadline   *time.Timer          // ring or answer timeout of the current state
	grace      *time.Timer          // disconnect grace of the current call
	retry      *time.Timer          // next registration attempt
	lights     [3]LightMode         // last modes set: ringing, in call, ready
	lightsSet  bool
}

type event struct {
	callID int
	callEv *CallEvent
	cmd    func() error
	reply  chan error
}

// New makes the door. Run starts it.
func New(cfg Config, log *slog.Logger, sig Signaller, media Media, panel Panel) *Controller {
	cfg.setDefaults()
	return &Controller{
		cfg:     cfg,
		log:     log,
		sig:     sig,
		media:   media,
		panel:   panel,
		events:  make(chan event, 1024),
		done:    make(chan struct{}),
		pending: map[string]bool{},
		rung:    map[string]bool{},
		users:   map[string]wire.User{},
		status:  Status{Name: cfg.Name, State: StateIdle.String()},
	}
}

// Call rings the door's ring group (the Call button).
func (c *Controller) Call() error { return c.Ring("button") }

// Ring rings the door's ring group as the Call button does, for via (the
// API, MQTT...): it answers a resident's call that rings at the door.
func (c *Controller) Ring(via string) error {
	return c.command(func() error { return c.startCall(via) })
}

// OpenDoor pulses the door relay for by, through via. The caller decides
// whether by may open the door.
func (c *Controller) OpenDoor(by, via string) error {
	return c.command(func() error { return c.openDoor(by, via) })
}

// Decline is a resident declining the door's ring call from elsewhere (a
// push notification's Decline): by is not rung again in this ring, stops
// ringing if a page of theirs rings, and when everyone the ring reached has
// declined and no page still rings, the ring ends. A ring that is over
// (another call id) is left alone: ErrNotRinging.
func (c *Controller) Decline(call uint64, by string, everyone bool) error {
	return c.command(func() error { return c.decline(call, by, everyone) })
}

// Answer accepts a resident's call that rings at the door.
func (c *Controller) Answer() error { return c.command(c.answer) }

// Hangup ends the call, cancels the door's ringing or rejects a ringing call.
func (c *Controller) Hangup() error { return c.command(c.hangup) }

// Status reports the door's state.
func (c *Controller) Status() Status {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	return c.status
}

func (c *Controller) post(e event) {
	select {
	case c.events <- e:
	case <-c.done:
	}
}

func (c *Controller) command(f func() error) error {
	reply := make(chan error, 1)
	c.post(event{cmd: f, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-c.done:
		return ErrStopped
	}
}

// Run registers the door and runs its state machine until ctx ends; then it
// hangs up whatever call is up.
func (c *Controller) Run(ctx context.Context) error {
	defer close(c.done)
	c.ctx = ctx
	c.register()
	c.refresh()
	for {
		select {
		case <-ctx.Done():
			c.shutdown()
			return nil
		case e := <-c.events:
			c.handle(e)
		case <-c.sig.Ready():
			if m, ok := c.sig.Receive(); ok {
				c.onMessage(m)
			}
		case <-pressed(c.panel.Call):
			c.logErr("call button", c.startCall("button"))
		case <-pressed(c.panel.Answer):
			c.logErr("answer button", c.answer())
		case <-pressed(c.panel.Hangup):
			c.logErr("hangup button", c.hangup())
		case <-timerC(c.deadline):
			c.deadline = nil
			c.onDeadline()
		case <-timerC(c.grace):
			c.grace = nil
			c.log.Warn("call lost: connection stayed disconnected", "peer", c.peer, "grace", c.cfg.DisconnectGrace)
			c.endCall("Connection lost")
		case <-timerC(c.retry):
			c.retry = nil
			c.register()
		}
		c.refresh()
	}
}

func (c *Controller) handle(e event) {
	switch {
	case e.callEv != nil:
		if e.callID == c.callID && c.call != nil {
			c.onCallEvent(*e.callEv)
		}
	case e.cmd != nil:
		e.reply <- e.cmd()
	}
}

func (c *Controller) logErr(what string, err error) {
	if err != nil {
		c.log.Info(what+" ignored", "reason", err)
	}
}

func pressed(b Button) <-chan struct{} {
	if b == nil {
		return nil
	}
	return b.Pressed()
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func stop(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// send hands a message to the hub; the hub answers problems with messages.
func (c *Controller) send(m wire.Message) {
	if err := c.sig.Send(m); err != nil {
		c.log.Warn("send to hub", "type", m.Type, "to", m.To, "err", err)
	}
}

// text reads a message's text as a string ("" when it is not one).
func text(m wire.Message) string {
	s, _ := m.TextString()
	return s
}

func (c *Controller) register() {
	c.send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote(c.cfg.Name), Param2: wire.Quote("delta")})
}

func (c *Controller) setState(s State) {
	if c.state == s {
		return
	}
	c.log.Info("state", "from", c.state, "to", s, "peer", c.peer)
	c.state = s
	c.emit(Event{Kind: EventState, Peer: c.peer})
}

// refresh shows the state on the lights and in the status snapshot.
func (c *Controller) refresh() {
	ringing, incall, ready := LightOff, LightOff, LightOff
	switch c.state {
	case StateRinging, StateCalling:
		ringing = LightBlink
	case StateInCall:
		if !c.look {
			incall = LightOn
		}
	case StateIdle:
		if c.registered {
			ready = LightOn
		}
	}
	if c.registered && c.media != nil && c.media.Err() != nil {
		ready = LightBlink
	}
	modes := [3]LightMode{ringing, incall, ready}
	for i, l := range []Light{c.panel.Ringing, c.panel.InCall, c.panel.Ready} {
		if l != nil && (!c.lightsSet || c.lights[i] != modes[i]) {
			l.Set(modes[i])
		}
	}
	c.lights, c.lightsSet = modes, true

	peer := c.peer
	if c.state == StateIdle || c.state == StateCalling {
		peer = ""
	}
	c.statusMu.Lock()
	c.status = Status{Name: c.cfg.Name, State: c.state.String(), Peer: peer, Registered: c.registered}
	c.statusMu.Unlock()
}

func (c *Controller) shutdown() {
	switch c.state {
	case StateInCall:
		c.send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: c.peer, Reason: "Door shutting down"})
	case StateRinging:
		c.send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Rejected"), To: c.peer, Reason: "Door shutting down"})
	case StateCalling:
		c.cancelPending("Door shutting down")
	}
	c.closeCall()
	c.toIdle("Door shutting down")
	c.closing.Wait() // each teardown gives up after CloseTimeout
}

var (
	errNotRinging = errors.New("no call is ringing at the door")
	errNoCall     = errors.New("no call to hang up")
)

// Ping returns once the state machine has taken a no-op command: the
// systemd watchdog only gets its ping while the door's loop answers.
func (c *Controller) Ping(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case c.events <- event{cmd: func() error { return nil }, reply: reply}:
	case <-c.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-c.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}
