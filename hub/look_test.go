package hub

import (
	"testing"
)

// A silent look: Param2 "look" of the Invite Start reaches the callee with
// its ring (and a plain Invite carries none); Talk passes only between the
// two parties of an answered call, like Open Door.
func TestLookAndTalk(t *testing.T) {
	th := newTestHub(t, Config{}, true)
	door := th.dialAs(t, "door")
	res := th.dialAs(t, "resident")
	other := th.dialAs(t, "other")

	res.send(`{"type":"Invite","text":"Start","to":"door","param2":"look"}`)
	door.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "resident", "to": "door", "param2": "look"})
	res.nextNonList()
	res.send(`{"type":"Talk","text":"On","to":"door"}`) // ringing is not enough
	res.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Talk", "reason": `no call with "door"`})
	door.send(seedMsg("Invite", "Accepted", "resident", nil))
	res.nextNonList()
	res.send(`{"type":"Talk","text":"On","to":"door"}`)
	door.expect(map[string]any{"type": "Talk", "text": "On", "from": "resident", "to": "door"})
	other.send(`{"type":"Talk","text":"On","to":"door"}`)
	other.expect(map[string]any{"type": "Error", "status": "Fail", "text": "Talk", "reason": `no call with "door"`})
	res.send(`{"type":"Hangup","text":"Local","to":"door"}`)
	door.nextNonList()

	other.send(seedMsg("Invite", "Start", "door", nil))
	door.expect(map[string]any{"type": "Invite", "text": "Incoming", "from": "other", "to": "door"})
	door.quiet()
}
