package hub

import (
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/wire"
)

const (
	offer     = `{"type":"offer",  "sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`
	answer    = `{"type":"answer","sdp":"v=0\r\n"}`
	candidate = `{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`
)

// TestSeedCallFlow walks the seed's whole call, message by message, on the
// wire as the seed client expects it.
func TestSeedCallFlow(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")

	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "alice", "to": "bob"})
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Attempting", "from": "alice", "to": "bob"})

	b.send(seedMsg("Invite", "Ringing", "alice", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Ringing", "from": "bob", "to": "alice"})

	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Accepted", "from": "bob", "to": "alice"})

	// SDP and ICE are relayed byte for byte.
	a.send(`{"type":"Caller Session Description","text":` + offer + `,"from":"x","to":"bob","id":"1","date":1}`)
	f := b.expect(map[string]any{"type": "Caller Session Description", "from": "alice", "to": "bob",
		"text": map[string]any{"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}})
	if !strings.Contains(string(f.raw), `"text":`+offer+`,`) {
		t.Errorf("offer not relayed byte for byte: %s", f.raw)
	}
	b.send(`{"type":"Callee Session Description","text":` + answer + `,"to":"alice"}`)
	a.expect(map[string]any{"type": "Callee Session Description", "from": "bob", "to": "alice",
		"text": map[string]any{"type": "answer", "sdp": "v=0\r\n"}})
	for _, dir := range [][2]*wsClient{{a, b}, {b, a}} {
		dir[0].send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"` + dir[1].name + `"}`)
		f := dir[1].nextNonList()
		if f.m.Type != wire.TypeICE || f.m.From != dir[0].name || !strings.Contains(string(f.raw), `"text":`+candidate+`,`) {
			t.Errorf("ICE %s -> %s: got %s", dir[0].name, dir[1].name, f.raw)
		}
	}

	a.send(seedMsg("Hangup", "Local", "bob", nil))
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "Natural Hangup"})

	// The call is over: nothing more is relayed.
	a.send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"bob"}`)
	a.expect(map[string]any{"type": "Error", "status": "Fail", "text": "ICE Candidate", "reason": `no call with "bob"`})
	b.quiet()
}

// connect sets up an answered call from a to b.
func connect(t *testing.T, a, b *wsClient) {
	t.Helper()
	a.send(seedMsg("Invite", "Start", b.name, nil))
	if f := b.nextNonList(); f.m.Type != wire.TypeInvite || string(f.m.Text) != `"Incoming"` {
		t.Fatalf("%s: got %s, want Incoming", b.name, f.raw)
	}
	if f := a.nextNonList(); f.m.Status != wire.StatusAttempting {
		t.Fatalf("%s: got %s, want Attempting", a.name, f.raw)
	}
	b.send(seedMsg("Invite", "Accepted", a.name, nil))
	if f := a.nextNonList(); f.m.Status != wire.StatusAccepted {
		t.Fatalf("%s: got %s, want Accepted", a.name, f.raw)
	}
}

func TestInviteFails(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	for _, tc := range []struct{ to, reason string }{
		{"alice", "Cannot call self!"},
		{"nobody", `"nobody" is not online`},
		{"", `"" is not online`},
	} {
		a.send(seedMsg("Invite", "Start", tc.to, nil))
		want := map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "reason": tc.reason}
		if tc.to != "" {
			want["to"] = tc.to
		}
		a.expect(want)
	}
	a.send(seedMsg("Invite", "Bogus", "alice", nil))
	a.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Invite", "reason": `unknown Invite text "Bogus"`})
	// Answers without an incoming call.
	for _, sub := range []string{"Ringing", "Accepted", "Rejected", "Busy"} {
		a.send(seedMsg("Invite", sub, "alice", nil))
		a.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Invite", "reason": `no incoming call from "alice"`})
	}
}

func TestBusy(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	c := th.dialAs(t, "carol")
	d := th.dialAs(t, "dave")

	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	// bob rings: busy to others; alice calls: busy too.
	for _, to := range []string{"bob", "alice"} {
		c.send(seedMsg("Invite", "Start", to, nil))
		c.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Busy", "from": "carol", "to": to, "reason": to + " is busy"})
	}
	// bob, being called, may not call out.
	b.send(seedMsg("Invite", "Start", "dave", nil))
	b.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "bob", "to": "dave", "reason": "you are already in a call"})
	// alice may not ring bob twice.
	a.send(seedMsg("Invite", "Start", "bob", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "bob", "reason": "already calling bob"})

	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	a.nextNonList()
	for _, to := range []string{"bob", "alice"} {
		c.send(seedMsg("Invite", "Start", to, nil))
		c.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Busy", "from": "carol", "to": to, "reason": to + " is busy"})
	}
	// alice, in a call, may not ring anyone else.
	a.send(seedMsg("Invite", "Start", "dave", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "dave", "reason": "you are already in a call"})
	d.quiet()
	b.quiet()

	// A callee may also answer Busy itself.
	c.send(seedMsg("Invite", "Start", "dave", nil))
	d.nextNonList()
	c.nextNonList()
	d.send(seedMsg("Invite", "Busy", "carol", map[string]any{"reason": "do not disturb"}))
	c.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Busy", "from": "dave", "to": "carol", "reason": "do not disturb"})
	// After the call ends, bob is free again.
	a.send(seedMsg("Hangup", "Local", "bob", nil))
	b.nextNonList()
	c.send(seedMsg("Invite", "Start", "bob", nil))
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "carol", "to": "bob"})
}

func TestReject(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	b.send(seedMsg("Invite", "Rejected", "alice", nil))
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Rejected", "from": "bob", "to": "alice"})
	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Invite", "reason": `no incoming call from "alice"`})
	a.send(`{"type":"Caller Session Description","text":` + offer + `,"to":"bob"}`)
	a.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Caller Session Description", "reason": `no call with "bob"`})
	b.quiet()
	a.quiet()
}

// SDP and ICE flow only after Accepted, and only in the protocol's direction.
func TestRelayRules(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	a.send(`{"type":"Caller Session Description","text":` + offer + `,"to":"bob"}`)
	a.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Caller Session Description", "reason": `no call with "bob"`})
	b.send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"alice"}`)
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "ICE Candidate", "reason": `no call with "alice"`})
	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	a.nextNonList()
	for _, tc := range []struct {
		from   *wsClient
		msg    string
		reason string
	}{
		{b, `{"type":"Caller Session Description","text":` + offer + `,"to":"alice"}`, "only the caller sends the offer"},
		{a, `{"type":"Callee Session Description","text":` + answer + `,"to":"bob"}`, "only the callee sends the answer"},
		{a, `{"type":"ICE Candidate","text":"candidate","to":"bob"}`, "text must be a JSON object"},
		{a, `{"type":"Caller Session Description","to":"bob"}`, "text must be a JSON object"},
	} {
		tc.from.send(tc.msg)
		f := tc.from.nextNonList()
		if f.m.Type != wire.TypeError || f.m.Reason != tc.reason {
			t.Errorf("%s: got %s, want Error %q", tc.msg, f.raw, tc.reason)
		}
	}
	a.quiet()
	b.quiet()
}

// The seed let any socket inject SDP, ICE or Hangup into a call, posing as
// anyone with from.
func TestThirdPartyCannotInject(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	connect(t, a, b)
	mallory := th.dialAs(t, "mallory")
	anon := th.dial(t)
	for _, msg := range []string{
		`{"type":"Caller Session Description","text":` + offer + `,"from":"alice","to":"bob"}`,
		`{"type":"Callee Session Description","text":` + answer + `,"from":"bob","to":"alice"}`,
		`{"type":"ICE Candidate","text":` + candidate + `,"from":"alice","to":"bob"}`,
		`{"type":"Hangup","text":"Local","from":"alice","to":"bob"}`,
		`{"type":"Open Door","from":"bob","to":"alice"}`,
		`{"type":"Invite","text":"Accepted","from":"bob","to":"alice"}`,
	} {
		mallory.send(msg)
		if f := mallory.nextNonList(); f.m.Type != wire.TypeError {
			t.Errorf("mallory %s: got %s, want Error", msg, f.raw)
		}
		anon.send(msg)
		if f := anon.nextNonList(); f.m.Type != wire.TypeError || f.m.Reason != "register first" {
			t.Errorf("unregistered %s: got %s, want Error register first", msg, f.raw)
		}
	}
	a.quiet()
	b.quiet()
	// The call still works.
	a.send(`{"type":"ICE Candidate","text":` + candidate + `,"to":"bob"}`)
	if f := b.nextNonList(); f.m.Type != wire.TypeICE || f.m.From != "alice" {
		t.Errorf("after the attack: got %s, want alice's candidate", f.raw)
	}
}

// from is always the sender's registered name, whatever the client claims.
func TestFromIsSetByHub(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	a.send(`{"type":"Invite","text":"Start","from":"carol","to":"bob"}`)
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "alice", "to": "bob"})
	a.send(`{"type":"Hangup","text":"Local","from":"bob","to":"bob"}`)
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "Natural Hangup"})
}

// A caller's Hangup while the callee rings cancels the ring.
func TestCallerCancels(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	a.send(seedMsg("Hangup", "Local", "bob", nil))
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "Natural Hangup"})
	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Invite", "reason": `no incoming call from "alice"`})
	a.quiet()
	// The callee may also hang up while ringing.
	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	b.send(seedMsg("Hangup", "Local", "alice", nil))
	a.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "bob", "to": "alice", "reason": "Natural Hangup"})
	// Hangup needs text Local and a call.
	b.send(seedMsg("Hangup", "Remote", "alice", nil))
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Hangup", "reason": `unknown Hangup text "Remote"`})
	b.send(seedMsg("Hangup", "Local", "alice", nil))
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Hangup", "reason": `no call with "alice"`})
}

func TestRingTimeout(t *testing.T) {
	th := newTestHub(t, Config{RingTimeout: 50 * time.Millisecond}, true)
	a := th.dialAs(t, "alice")
	b := th.dialAs(t, "bob")
	a.send(seedMsg("Invite", "Start", "bob", nil))
	b.nextNonList()
	a.nextNonList()
	b.send(seedMsg("Invite", "Ringing", "alice", nil))
	a.nextNonList()
	a.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "alice", "to": "bob", "reason": "No answer"})
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "alice", "to": "bob", "reason": "No answer"})
	b.send(seedMsg("Invite", "Accepted", "alice", nil))
	b.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Invite", "reason": `no incoming call from "alice"`})
	a.quiet()
}

func TestDeadPartyEndsCall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answered bool
		dies     string
		kill     func(*wsClient)
	}{
		{"callee closes in call", true, "bob", func(c *wsClient) { c.ws.Close() }},
		{"caller resets in call", true, "alice", resetConn},
		{"callee resets while ringing", false, "bob", resetConn},
		{"caller closes while ringing", false, "alice", func(c *wsClient) { c.ws.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := newTestHub(t, Config{}, true)
			a := th.dialAs(t, "alice")
			b := th.dialAs(t, "bob")
			if tc.answered {
				connect(t, a, b)
			} else {
				a.send(seedMsg("Invite", "Start", "bob", nil))
				b.nextNonList()
				a.nextNonList()
			}
			dead, alive := a, b
			if tc.dies == "bob" {
				dead, alive = b, a
			}
			tc.kill(dead)
			alive.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": dead.name, "to": alive.name, "reason": "Connection lost"})
			// The survivor is free and the hub works for others.
			c := th.dialAs(t, "carol")
			c.send(seedMsg("Invite", "Start", alive.name, nil))
			alive.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "carol", "to": alive.name})
		})
	}
}

// Forking: a caller rings several callees; the first to accept gets the
// call, a later Accepted gets Hangup "Answered elsewhere" and never reaches
// the caller.
func TestForking(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.dialAs(t, "door")
	b := th.dialAs(t, "bob")
	c := th.dialAs(t, "carol")
	d := th.dialAs(t, "dave")
	e := th.dialAs(t, "erin")
	for _, callee := range []*wsClient{b, c, d} {
		door.send(seedMsg("Invite", "Start", callee.name, nil))
		callee.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "door", "to": callee.name})
		door.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Attempting", "from": "door", "to": callee.name})
	}
	// Everyone in a leg is busy for others.
	for _, to := range []string{"door", "bob", "carol"} {
		e.send(seedMsg("Invite", "Start", to, nil))
		e.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Busy", "from": "erin", "to": to, "reason": to + " is busy"})
	}
	c.send(seedMsg("Invite", "Accepted", "door", nil))
	door.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Accepted", "from": "carol", "to": "door"})
	b.send(seedMsg("Invite", "Accepted", "door", nil))
	b.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "door", "to": "bob", "reason": "Answered elsewhere"})
	door.quiet()
	// The door hangs up the one still ringing.
	door.send(seedMsg("Hangup", "Local", "dave", nil))
	d.expect(map[string]any{"type": "Hangup", "text": "Remote", "from": "door", "to": "dave", "reason": "Natural Hangup"})
	// The door may not add legs once in a call; bob and dave are free.
	door.send(seedMsg("Invite", "Start", "erin", nil))
	door.expect(map[string]any{"type": "Invite", "text": "Start", "status": "Fail", "from": "door", "to": "erin", "reason": "you are already in a call"})
	e.send(seedMsg("Invite", "Start", "bob", nil))
	b.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "erin", "to": "bob"})
	// The answered leg works.
	door.send(`{"type":"Caller Session Description","text":` + offer + `,"to":"carol"}`)
	if f := c.nextNonList(); f.m.Type != wire.TypeCallerSDP || f.m.From != "door" {
		t.Errorf("offer: got %s", f.raw)
	}
}

func TestOpenDoor(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.dialAs(t, "door")
	res := th.dialAs(t, "resident")
	other := th.dialAs(t, "other")
	res.send(`{"type":"Open Door","to":"door"}`)
	res.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Open Door", "reason": `no call with "door"`})
	res.send(seedMsg("Invite", "Start", "door", nil))
	door.nextNonList()
	res.nextNonList()
	res.send(`{"type":"Open Door","to":"door"}`) // ringing is not enough
	res.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Open Door", "reason": `no call with "door"`})
	door.send(seedMsg("Invite", "Accepted", "resident", nil))
	res.nextNonList()
	res.send(`{"type":"Open Door","to":"door","from":"x"}`)
	door.expect(map[string]any{"type": "Open Door", "from": "resident", "to": "door"})
	door.send(`{"type":"Open Door","status":"OK","reason":"opened for 3s","to":"resident"}`)
	res.expect(map[string]any{"type": "Open Door", "status": "OK", "reason": "opened for 3s", "from": "door", "to": "resident"})
	other.send(`{"type":"Open Door","to":"door"}`)
	other.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Open Door", "reason": `no call with "door"`})
	door.quiet()
}
