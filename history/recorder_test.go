package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
)

// camera is a stand-in for the door's camera: a fake at the hardware edge.
type camera struct {
	shots int
	err   error
}

func (c *camera) Snapshot() ([]byte, []byte, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	c.shots++
	return []byte{0xff, 0xd8, byte(c.shots)}, []byte{0xff, 0xd8, 0, byte(c.shots)}, nil
}

func TestRecorder(t *testing.T) {
	s := open(t, Config{})
	cam := &camera{}
	r := NewRecorder(s, cam, nil)
	ctx := context.Background()
	at := time.Now()
	ev := func(k device.EventKind, call uint64, peer, via string) {
		r.Handle(ctx, device.Event{Kind: k, At: at, Call: call, Peer: peer, Via: via, Dur: 42 * time.Second, Reason: "No answer"})
		at = at.Add(time.Second)
	}
	// Ring 1: anna answers, opens the door, hangs up.
	ev(device.EventRing, 1, "", "button")
	ev(device.EventRingAnswered, 1, "anna", "")
	ev(device.EventCallStarted, 1, "anna", "")
	ev(device.EventDoorOpened, 1, "anna", "call")
	ev(device.EventCallEnded, 1, "anna", "")
	// Ring 2: nobody answers.
	ev(device.EventRing, 2, "", "button")
	ev(device.EventRingMissed, 2, "", "")
	// Call 3: bob looks at the door.
	ev(device.EventIncoming, 3, "bob", "")
	ev(device.EventCallStarted, 3, "bob", "")
	ev(device.EventCallEnded, 3, "bob", "")
	flushed(t, s)

	got, err := s.List(0, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("List = %+v, %v; want 4 entries", got, err)
	}
	look, missed, open, ring := got[0], got[1], got[2], got[3]
	if ring.Kind != KindRing || ring.Outcome != OutcomeAnswered || ring.Peer != "anna" || ring.Opened != "anna" ||
		ring.Dur != 42*time.Second || !ring.Picture || ring.Via != "button" {
		t.Errorf("answered ring = %+v", ring)
	}
	if open.Kind != KindOpen || open.Peer != "anna" || open.Via != "call" || open.Ref != ring.ID || !open.Picture {
		t.Errorf("opening = %+v, want by anna via call in ring %d", open, ring.ID)
	}
	if missed.Kind != KindRing || missed.Outcome != OutcomeMissed || missed.Peer != "" || missed.Note != "No answer" {
		t.Errorf("missed ring = %+v", missed)
	}
	if look.Kind != KindLook || look.Peer != "bob" || look.Outcome != OutcomeAnswered || !look.Picture {
		t.Errorf("look = %+v", look)
	}
	if cam.shots != 4 {
		t.Errorf("%d pictures taken, want 4 (3 rings and looks, 1 opening)", cam.shots)
	}
	// The ring's picture is the one taken when it rang.
	if b, _ := s.Picture(ring.ID, false); len(b) != 3 || b[2] != 1 {
		t.Errorf("ring picture = %v, want the first shot", b)
	}
}

// TestRecorderNoPicture: a camera that fails still leaves the ring in the
// history, saying why it has no picture.
func TestRecorderNoPicture(t *testing.T) {
	s := open(t, Config{})
	r := NewRecorder(s, &camera{err: errors.New("camera closed")}, nil)
	r.Handle(context.Background(), device.Event{Kind: device.EventRing, Call: 1, Via: "button"})
	r.Handle(context.Background(), device.Event{Kind: device.EventRingMissed, Call: 1, Reason: "No answer"})
	got, _ := s.List(0, 10)
	if len(got) != 1 || got[0].Picture || got[0].Note != "no picture: snapshot failed; No answer" {
		t.Errorf("ring without camera = %+v", got)
	}
}
