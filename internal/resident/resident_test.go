package resident

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/intercomd/intercomd/hub"
	"github.com/intercomd/intercomd/wire"
)

// startHub serves a real hub over a real WebSocket, as web/ does, and
// returns its ws:// URL.
func startHub(t *testing.T) string {
	t.Helper()
	h := hub.New(hub.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.ServeConn(r.Context(), conn)
	}))
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub Run() = %v", err)
		}
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

func dial(t *testing.T, url, name string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), url, Options{Name: name, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Dial(%s) = %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// One resident calls another that sends video (a door stand-in of fake
// H.264 packets: the client counts RTP, it does not decode): the callee
// rings, answers, both connect, the caller counts frames and bytes and
// hands each packet to OnRTP, and its Hangup reaches the callee's call.
func TestCallAnswerHangup(t *testing.T) {
	url := startHub(t)
	ctx := context.Background()
	alice := dial(t, url, "alice")
	door := dial(t, url, "door")

	track, err := webrtc.NewTrackLocalStaticRTP(H264().RTPCodecCapability, "video", "door")
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan *Call, 1)
	answerErr := make(chan error, 1)
	go func() {
		inv, err := door.WaitRing(ctx, 10*time.Second)
		if err != nil {
			answerErr <- err
			return
		}
		if inv.From != "alice" {
			t.Errorf("Invite from %q, want alice", inv.From)
		}
		c, err := door.Answer(ctx, inv, CallOptions{Tracks: []webrtc.TrackLocal{track}})
		if err != nil {
			answerErr <- err
			return
		}
		answered <- c
	}()

	var hooked atomic.Int64
	call, err := alice.Call(ctx, "door", CallOptions{OnRTP: func(c *Call, tr *webrtc.TrackRemote, p *rtp.Packet) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && len(p.Payload) == 3 {
			hooked.Add(1)
		}
	}})
	if err != nil {
		t.Fatalf("Call(door) = %v", err)
	}
	var doorCall *Call
	select {
	case doorCall = <-answered:
	case err := <-answerErr:
		t.Fatalf("door answering: %v", err)
	}
	if err := call.WaitConnected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := doorCall.WaitConnected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	// Frames of two packets each, the second with the marker bit, until
	// alice has five.
	go func() {
		seq := uint16(0)
		for i := 0; ; i++ {
			for _, marker := range []bool{false, true} {
				seq++
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i * 3000), Marker: marker},
					Payload: []byte{0x41, 0x9a, byte(i)}}
				track.WriteRTP(pkt)
			}
			select {
			case <-doorCall.Done():
				return
			case <-time.After(30 * time.Millisecond):
			}
		}
	}()
	if err := call.WaitFrames(ctx, 5, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	got := call.Counts()
	if got.VideoFrames < 5 || got.VideoPackets < 2*got.VideoFrames-1 || got.VideoBytes != 3*got.VideoPackets {
		t.Errorf("Counts() = %+v, want >= 5 frames of two 3-byte packets", got)
	}
	if got.VideoCodec != webrtc.MimeTypeH264 {
		t.Errorf("VideoCodec = %q, want %q", got.VideoCodec, webrtc.MimeTypeH264)
	}
	if hooked.Load() < got.VideoPackets {
		t.Errorf("OnRTP saw %d video packets, Counts %d", hooked.Load(), got.VideoPackets)
	}

	if err := call.Hangup(); err != nil {
		t.Fatal(err)
	}
	// The door gets the Hangup, and its call learns of it: waiting on it
	// fails at once, saying so.
	if _, err := door.Expect(ctx, "alice's Hangup", 10*time.Second, func(m wire.Message) bool { return m.Type == wire.TypeHangup }); err != nil {
		t.Error(err)
	}
	if err := doorCall.WaitFrames(ctx, 1, 10*time.Second); err == nil || !strings.Contains(err.Error(), "hung up") {
		t.Errorf("door's WaitFrames after alice's Hangup = %v, want alice hung up", err)
	}
	doorCall.Close()
}

// A call nobody accepts fails with the hub's answer; a busy name or a
// name taken fails Dial with the hub's reason.
func TestRefused(t *testing.T) {
	url := startHub(t)
	ctx := context.Background()
	alice := dial(t, url, "alice")
	if _, err := alice.Call(ctx, "nobody", CallOptions{}); err == nil || !strings.Contains(err.Error(), wire.StatusFail) {
		t.Errorf("Call(nobody) = %v, want Fail", err)
	}
	if c, err := Dial(ctx, url, Options{Name: ""}); err == nil {
		c.Close()
		t.Errorf("Dial with no name = nil error, want the hub's refusal")
	}
}
