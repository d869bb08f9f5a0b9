package hub

import (
	"strings"
	"testing"

	"github.com/intercomd/intercomd/wire"
)

// Presence over real WebSockets: a delta client sees residents and the door
// go ringing, in a call (the door: with whom) and back to available; the
// seed client's list neither changes nor grows; what clients claim about
// presence changes nothing.
func TestPresence(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	seed := th.dialAs(t, "seed")
	carol := th.dial(t)
	carol.send(seedMsg("Register", "carol", "", map[string]any{"param2": "delta"}))
	carol.nextNonList()
	carol.name = "carol"
	alice, bob := th.dialAs(t, "alice"), th.dialAs(t, "bob")
	door := th.Local("door")
	door.Send(wire.Message{Type: wire.TypeRegister, Text: wire.Quote("door"), Param2: wire.Quote("delta")})
	carol.waitUsers("everyone listed", func(u map[string]wire.User) bool { return len(u) == 5 })
	seed.sync()
	seed.mu.Lock()
	seedLists := seed.lists
	seed.mu.Unlock()

	is := func(name, state, with string) {
		t.Helper()
		carol.waitUsers(name+" is "+state+" "+with, func(u map[string]wire.User) bool {
			return u[name].Name == name && u[name].State == state && u[name].With == with
		})
	}
	alice.send(seedMsg("Invite", "Start", "bob", nil))
	is("alice", wire.PresenceRinging, "")
	is("bob", wire.PresenceRinging, "")
	bob.send(seedMsg("Invite", "Accepted", "alice", nil))
	is("alice", wire.PresenceInCall, "") // residents: not with whom
	is("bob", wire.PresenceInCall, "")
	is("door", "", "")
	bob.send(seedMsg("Hangup", "Local", "alice", nil))
	is("alice", "", "")
	is("bob", "", "")

	// The door rings two residents: it and both ring; one answers, the
	// other leg ends.
	door.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: "alice"})
	door.Send(wire.Message{Type: wire.TypeInvite, Text: wire.Quote("Start"), To: "bob"})
	is("door", wire.PresenceRinging, "")
	is("alice", wire.PresenceRinging, "")
	is("bob", wire.PresenceRinging, "")
	alice.send(seedMsg("Invite", "Accepted", "door", nil))
	door.Send(wire.Message{Type: wire.TypeHangup, Text: wire.Quote("Local"), To: "bob"})
	is("door", wire.PresenceInCall, "alice")
	is("alice", wire.PresenceInCall, "")
	is("bob", "", "")

	// Claims from clients: a Users Delta is refused, list fields in other
	// messages are dropped; the presence stays as the hub knows it.
	bob.sync()
	bob.send(`{"type":"Users Delta","joined":[],"left":[],"changed":[{"name":"bob","state":"incall","with":"door"}]}`)
	bob.send(`{"type":"Get Users","users":[{"name":"bob","state":"incall"}],"changed":[{"name":"door","state":""}],"state":"incall"}`)
	bob.send(`{"type":"Echo","text":"x","state":"incall","joined":[{"name":"bob","state":"incall"}]}`)
	if got := bob.sync(); len(got) != 2 || got[0].m.Type != wire.TypeError || got[0].m.Reason != "only the hub sends Users Delta" || got[1].m.Type != wire.TypeEcho {
		t.Errorf("bob's claims answered %v, want the Error for Users Delta and the Echo", got)
	}
	carol.sync()
	carol.mu.Lock()
	if u := carol.users["bob"]; u.State != "" || u.With != "" {
		t.Errorf("after bob's claims carol lists %+v, want bob available", u)
	}
	if u := carol.users["door"]; u.State != wire.PresenceInCall || u.With != "alice" {
		t.Errorf("after bob's claims carol lists %+v, want the door in a call with alice", u)
	}
	carol.mu.Unlock()

	// The seed client got no list for any of this, and its entries never
	// say more than name, regdate and kind.
	seed.sync()
	seed.mu.Lock()
	if got := seed.lists - seedLists; got != 0 {
		t.Errorf("seed client got %d lists during the calls, want 0", got)
	}
	seed.mu.Unlock()
	seed.send(seedMsg("Get Users", nil, "", nil))
	f := seed.next()
	if s := string(f.raw); f.m.Type != wire.TypeGetUsers || len(f.m.Users) != 5 || strings.Contains(s, `"state"`) || strings.Contains(s, `"with"`) {
		t.Errorf("seed client's list %s: want 5 users and no presence", s)
	}

	// The door's call ends with alice's socket: all available again.
	alice.ws.Close()
	is("door", "", "")
}
