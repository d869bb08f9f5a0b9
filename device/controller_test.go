package device

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intercomd/intercomd/wire"
)

// The hub, media and panel are stood in for here so the state machine's every
// branch can be driven with fake time; the real adapters are proven end to
// end in cmd/intercomd's tests.

// sigRecorder stands in for the hub: it keeps what the door sends and
// hands it what the test delivers.
type sigRecorder struct {
	mu    sync.Mutex
	sent  []wire.Message
	inbox []wire.Message
	ready chan struct{}
}

func newSig() *sigRecorder { return &sigRecorder{ready: make(chan struct{}, 1)} }

func (s *sigRecorder) Ready() <-chan struct{} { return s.ready }

func (s *sigRecorder) Receive() (wire.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inbox) == 0 {
		return wire.Message{}, false
	}
	m := s.inbox[0]
	s.inbox = s.inbox[1:]
	if len(s.inbox) > 0 {
		s.wake()
	}
	return m, true
}

// deliver queues m for the door as the hub would.
func (s *sigRecorder) deliver(m wire.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbox = append(s.inbox, m)
	s.wake()
}

func (s *sigRecorder) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *sigRecorder) Send(m wire.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

// take returns and forgets what was sent so far.
func (s *sigRecorder) take() []wire.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

type mediaStub struct {
	mu    sync.Mutex
	calls []*callStub
	err   error
	// hang, when set, makes the next calls' Close block until it is closed.
	hang chan struct{}
}

func (m *mediaStub) NewCall(peer string, events func(CallEvent)) (Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &callStub{peer: peer, events: events, hang: m.hang}
	m.calls = append(m.calls, c)
	return c, nil
}

func (m *mediaStub) Err() error { return m.err }

func (m *mediaStub) last() *callStub {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.calls) == 0 {
		return nil
	}
	return m.calls[len(m.calls)-1]
}

type callStub struct {
	peer       string
	events     func(CallEvent)
	mu         sync.Mutex
	offered    bool
	answered   json.RawMessage
	setAnswer  json.RawMessage
	candidates []json.RawMessage
	closed     bool
	hang       chan struct{}
}

func (c *callStub) Offer(context.Context) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offered = true
	return json.RawMessage(`{"type":"offer","sdp":"door"}`), nil
}

func (c *callStub) Answer(_ context.Context, offer json.RawMessage) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = offer
	return json.RawMessage(`{"type":"answer","sdp":"door"}`), nil
}

func (c *callStub) SetAnswer(a json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setAnswer = a
	return nil
}

func (c *callStub) AddCandidate(cand json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.candidates = append(c.candidates, cand)
	return nil
}

func (c *callStub) Close() error {
	if c.hang != nil {
		<-c.hang
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

type buttonStub chan struct{}

func (b buttonStub) Pressed() <-chan struct{} { return b }

type lightStub struct {
	mu   sync.Mutex
	mode LightMode
}

func (l *lightStub) Set(m LightMode) { l.mu.Lock(); l.mode = m; l.mu.Unlock() }
func (l *lightStub) get() LightMode  { l.mu.Lock(); defer l.mu.Unlock(); return l.mode }

type relayStub struct {
	mu     sync.Mutex
	pulses int
}

func (r *relayStub) Pulse() { r.mu.Lock(); r.pulses++; r.mu.Unlock() }
func (r *relayStub) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulses
}

type rig struct {
	t      *testing.T
	c      *Controller
	sig    *sigRecorder
	media  *mediaStub
	call   buttonStub
	answer buttonStub
	hangup buttonStub
	lights [3]*lightStub
	relay  *relayStub
	cancel context.CancelFunc
}

// newRig starts a door inside the synctest bubble and registers it.
func newRig(t *testing.T, cfg Config, users ...wire.User) *rig {
	t.Helper()
	r := &rig{t: t, sig: newSig(), media: &mediaStub{}, relay: &relayStub{},
		call: make(buttonStub), answer: make(buttonStub), hangup: make(buttonStub)}
	for i := range r.lights {
		r.lights[i] = &lightStub{}
	}
	if cfg.Name == "" {
		cfg.Name = "door"
	}
	panel := Panel{Call: r.call, Answer: r.answer, Hangup: r.hangup,
		Ringing: r.lights[0], InCall: r.lights[1], Ready: r.lights[2], Relay: r.relay}
	r.c = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), r.sig, r.media, panel)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.c.Run(ctx)
	t.Cleanup(func() { cancel(); synctest.Wait() })
	synctest.Wait()
	got := r.sig.take()
	if len(got) != 1 || got[0].Type != "Register" || text(got[0]) != cfg.Name || string(got[0].Param2) != `"delta"` {
		t.Fatalf("on start the door sent %+v, want one Register %q with param2 delta", got, cfg.Name)
	}
	r.deliver(wire.Message{Type: "Register", Text: wire.Quote(cfg.Name), Status: "OK"})
	if users != nil {
		r.deliver(wire.Message{Type: "Get Users", Status: "OK", Users: users})
	}
	return r
}

func (r *rig) deliver(m wire.Message) {
	r.sig.deliver(m)
	synctest.Wait()
}

func (r *rig) press(b buttonStub) {
	b <- struct{}{}
	synctest.Wait()
}

// expect checks the door sent exactly these (type, text, to) messages.
func (r *rig) expect(want ...wire.Message) {
	r.t.Helper()
	got := r.sig.take()
	if len(got) != len(want) {
		r.t.Fatalf("door sent %s, want %s", brief(got), brief(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Type != w.Type || g.To != w.To || (w.Text != nil && string(g.Text) != string(w.Text)) ||
			(w.Status != "" && g.Status != w.Status) || (w.Reason != "" && g.Reason != w.Reason) {
			r.t.Fatalf("door sent %s, want %s", brief(got), brief(want))
		}
	}
}

func brief(ms []wire.Message) string {
	b, _ := json.Marshal(ms)
	return string(b)
}

func (r *rig) state(want State) {
	r.t.Helper()
	if got := r.c.Status().State; got != want.String() {
		r.t.Fatalf("state = %s, want %s", got, want)
	}
}

func (r *rig) lightsAre(ringing, incall, ready LightMode) {
	r.t.Helper()
	got := [3]LightMode{r.lights[0].get(), r.lights[1].get(), r.lights[2].get()}
	if want := [3]LightMode{ringing, incall, ready}; got != want {
		r.t.Fatalf("lights (ringing, incall, ready) = %v, want %v", got, want)
	}
}

func invite(sub, from string) wire.Message {
	return wire.Message{Type: "Invite", Text: wire.Quote(sub), From: from}
}

var browsers = []wire.User{{Name: "door", Kind: "door"}, {Name: "alice", Kind: "browser"}, {Name: "bob", Kind: "browser"}, {Name: "gate", Kind: "door"}}

func TestResidentCallsDoorAutoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.state(StateIdle)
		r.lightsAre(LightOff, LightOff, LightOn)

		r.deliver(invite("Incoming", "alice"))
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Ringing"), To: "alice"}, wire.Message{Type: "Invite", Text: wire.Quote("Accepted"), To: "alice"})
		r.state(StateInCall)
		r.lightsAre(LightOff, LightOn, LightOff)

		offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
		r.deliver(wire.Message{Type: "Caller Session Description", Text: offer, From: "alice"})
		r.expect(wire.Message{Type: "Callee Session Description", Text: json.RawMessage(`{"type":"answer","sdp":"door"}`), To: "alice"})
		call := r.media.last()
		if string(call.answered) != string(offer) {
			t.Fatalf("media answered %s, want the caller's offer %s", call.answered, offer)
		}

		cand := json.RawMessage(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host"}`)
		r.deliver(wire.Message{Type: "ICE Candidate", Text: cand, From: "alice"})
		r.deliver(wire.Message{Type: "ICE Candidate", Text: cand, From: "mallory"}) // not the peer: ignored
		if len(call.candidates) != 1 {
			t.Fatalf("call got %d remote candidates, want 1 (only the peer's)", len(call.candidates))
		}
		call.events(CallEvent{Candidate: cand})
		synctest.Wait()
		r.expect(wire.Message{Type: "ICE Candidate", Text: cand, To: "alice"})

		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Remote"), From: "alice"})
		r.state(StateIdle)
		if !call.closed {
			t.Fatal("call not closed after the resident hung up")
		}
		r.lightsAre(LightOff, LightOff, LightOn)
	})
}

func TestResidentCallsDoorButtonAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{Answer: AnswerButton, AnswerTimeout: 20 * time.Second})
		r.deliver(invite("Incoming", "alice"))
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Ringing"), To: "alice"})
		r.state(StateRinging)
		r.lightsAre(LightBlink, LightOff, LightOff)

		r.deliver(invite("Incoming", "bob")) // a second caller while ringing
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Rejected"), To: "bob", Reason: "Busy"})

		r.press(r.answer)
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Accepted"), To: "alice"})
		r.state(StateInCall)

		r.press(r.hangup)
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice"})
		r.state(StateIdle)
	})
}

func TestResidentCallsDoorNobodyAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{Answer: AnswerButton, AnswerTimeout: 20 * time.Second})
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		time.Sleep(19 * time.Second)
		synctest.Wait()
		r.state(StateRinging)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Rejected"), To: "alice", Reason: "No answer"})
		r.state(StateIdle)
	})
}

func TestResidentCancelsWhileDoorRings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{Answer: AnswerButton})
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), From: "alice"})
		r.state(StateIdle)
		r.press(r.answer) // too late: nothing to answer
		r.expect()
	})
}

func TestDoorRingsRingGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{}, browsers...)
		r.press(r.call)
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: "alice"}, wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: "bob"})
		r.state(StateCalling)
		r.lightsAre(LightBlink, LightOff, LightOff)

		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Ringing", From: "bob"})
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Accepted", From: "bob"})
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "Answered elsewhere"},
			wire.Message{Type: "Caller Session Description", Text: json.RawMessage(`{"type":"offer","sdp":"door"}`), To: "bob"})
		r.state(StateInCall)
		if got := r.c.Status().Peer; got != "bob" {
			t.Fatalf("peer = %q, want bob", got)
		}
		// alice's late Accepted changes nothing.
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Accepted", From: "alice"})
		r.expect()

		ans := json.RawMessage(`{"type":"answer","sdp":"bob"}`)
		r.deliver(wire.Message{Type: "Callee Session Description", Text: ans, From: "bob"})
		if got := r.media.last().setAnswer; string(got) != string(ans) {
			t.Fatalf("media got answer %s, want %s", got, ans)
		}
		r.deliver(wire.Message{Type: "Hangup", Text: wire.Quote("Remote"), From: "bob"})
		r.state(StateIdle)
	})
}

func TestDoorRingGroupConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{RingGroup: []string{"bob", "carol"}}, browsers...)
		r.press(r.call)
		// carol is offline: only bob rings.
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: "bob"})
		// carol comes online during the ring: she is rung too.
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "carol", Kind: "browser"}}, Left: []string{"bob"}})
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: "carol"})
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Fail", From: "bob"})
		r.state(StateCalling)
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Rejected", From: "carol"})
		r.state(StateIdle)
		r.press(r.call)
		r.expect(wire.Message{Type: "Invite", Text: wire.Quote("Start"), To: "carol"})
	})
}

func TestDoorRingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{RingTimeout: 30 * time.Second}, browsers...)
		if err := r.c.Call(); err != nil {
			t.Fatalf("Call() = %v, want nil", err)
		}
		r.sig.take()
		time.Sleep(31 * time.Second)
		synctest.Wait()
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "No answer"},
			wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "bob", Reason: "No answer"})
		r.state(StateIdle)
	})
}

func TestDoorRingGroupAllDecline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{}, browsers...)
		r.press(r.call)
		r.sig.take()
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Rejected", From: "alice"})
		r.state(StateCalling)
		r.deliver(wire.Message{Type: "Invite", Text: wire.Quote("Start"), Status: "Busy", From: "bob"})
		r.state(StateIdle)
		r.expect()
	})
}

func TestDoorCancelsItsCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{}, browsers...)
		r.press(r.call)
		r.sig.take()
		r.press(r.call) // a second press while ringing changes nothing
		r.expect()
		r.press(r.hangup)
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "Cancelled"},
			wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "bob", Reason: "Cancelled"})
		r.state(StateIdle)
	})
}

func TestCallErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		if err := r.c.Call(); !errors.Is(err, ErrNobody) {
			t.Fatalf("Call() with nobody online = %v, want ErrNobody", err)
		}
		r.deliver(invite("Incoming", "alice"))
		r.deliver(wire.Message{Type: "Users Delta", Joined: []wire.User{{Name: "bob", Kind: "browser"}}})
		if err := r.c.Call(); !errors.Is(err, ErrBusy) {
			t.Fatalf("Call() in a call = %v, want ErrBusy", err)
		}
		if err := r.c.Answer(); err == nil {
			t.Fatal("Answer() with nothing ringing = nil, want an error")
		}
	})
}

func TestNameRefusedRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &rig{t: t, sig: newSig(), media: &mediaStub{}}
		r.c = New(Config{Name: "door", RegisterRetry: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)), r.sig, r.media, Panel{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go r.c.Run(ctx)
		synctest.Wait()
		r.sig.take()
		r.deliver(wire.Message{Type: "Register", Status: "Fail", Reason: "name already in use"})
		if err := r.c.Call(); !errors.Is(err, ErrNotRegistered) {
			t.Fatalf("Call() unregistered = %v, want ErrNotRegistered", err)
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if got := r.sig.take(); len(got) != 1 || got[0].Type != "Register" {
			t.Fatalf("after the retry pause the door sent %s, want a Register", brief(got))
		}
	})
}

func TestDisconnectGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{DisconnectGrace: 2 * time.Second})
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		call := r.media.last()

		// A short blip heals.
		call.events(CallEvent{State: ConnDisconnected})
		time.Sleep(time.Second)
		call.events(CallEvent{State: ConnConnected})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		r.state(StateInCall)

		// A vanished browser ends the call after the grace.
		call.events(CallEvent{State: ConnDisconnected})
		time.Sleep(2100 * time.Millisecond)
		synctest.Wait()
		r.state(StateIdle)
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "Connection lost"})
		if !call.closed {
			t.Fatal("call not closed")
		}

		// Events of the closed call change nothing.
		call.events(CallEvent{State: ConnFailed})
		synctest.Wait()
		r.expect()
	})
}

func TestFailedConnectionEndsCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		r.media.last().events(CallEvent{State: ConnFailed})
		synctest.Wait()
		r.state(StateIdle)
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice", Reason: "Connection lost"})
	})
}

func TestOpenDoor(t *testing.T) {
	open := func(from string) wire.Message { return wire.Message{Type: "Open Door", To: "door", From: from} }
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.deliver(open("alice")) // not in a call
		r.expect(wire.Message{Type: "Open Door", To: "alice", Status: "Fail"})

		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		r.deliver(open("mallory")) // not the party in the call
		r.expect(wire.Message{Type: "Open Door", To: "mallory", Status: "Fail"})
		if n := r.relay.count(); n != 0 {
			t.Fatalf("relay pulsed %d times for strangers, want 0", n)
		}
		r.deliver(open("alice"))
		r.expect(wire.Message{Type: "Open Door", To: "alice", Status: "OK"})
		if n := r.relay.count(); n != 1 {
			t.Fatalf("relay pulsed %d times, want 1", n)
		}
		r.deliver(wire.Message{Type: "Open Door", From: "alice", Status: "OK"}) // a reply is no request
		if n := r.relay.count(); n != 1 {
			t.Fatalf("relay pulsed %d times after a reply, want 1", n)
		}
	})
}

func TestLightsShowMediaFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.media.err = errors.New("no camera")
		r.deliver(wire.Message{Type: "Get Users"})
		r.lightsAre(LightOff, LightOff, LightBlink)
	})
}

func TestShutdownHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.deliver(invite("Incoming", "alice"))
		r.sig.take()
		if err := r.c.Ping(context.Background()); err != nil {
			t.Fatalf("Ping() on a running door = %v, want nil", err)
		}
		r.cancel()
		synctest.Wait()
		if err := r.c.Ping(context.Background()); !errors.Is(err, ErrStopped) {
			t.Fatalf("Ping() after stop = %v, want ErrStopped", err)
		}
		r.expect(wire.Message{Type: "Hangup", Text: wire.Quote("Local"), To: "alice"})
		if err := r.c.Call(); !errors.Is(err, ErrStopped) {
			t.Fatalf("Call() after stop = %v, want ErrStopped", err)
		}
		if !slices.ContainsFunc(r.media.calls, func(c *callStub) bool { return c.closed }) {
			t.Fatal("call not closed on shutdown")
		}
	})
}
