//go:build vmtest

package browser

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/intercomd/intercomd/internal/chromiumtest"
	"github.com/intercomd/intercomd/media"
)

var (
	doorURL  = flag.String("url", "", "intercomd in the VM, as forwarded to the host (https://127.0.0.1:PORT)")
	password = flag.String("password", "", "the resident password the VM's client set")
	width    = flag.Int("width", 640, "expected video width")
	height   = flag.Int("height", 480, "expected video height")
)

// callJS registers as "chromium", calls the door and keeps what happens in
// window.vm. It speaks the hub's protocol itself rather than clicking
// through our client's page, so this test checks the network path into the
// VM and the door's media, not the page's layout.
const callJS = `(() => {
  const vm = window.vm = {log: [], state: 'connecting', error: ''};
  const ws = new WebSocket('wss://' + location.host + '/ws');
  const send = m => ws.send(JSON.stringify(m));
  let pc = null, early = [];
  ws.onopen = () => send({type: 'Register', text: 'chromium'});
  ws.onclose = e => { vm.closed = e.code + ' ' + e.reason; };
  ws.onmessage = async ev => {
    const m = JSON.parse(ev.data);
    if (m.type === 'ICE Candidate') {
      vm.log.push('remote candidate ' + (m.text && m.text.candidate));
    } else if (m.type !== 'Get Users' && m.type !== 'Users Delta') {
      vm.log.push(m.type + ' ' + (typeof m.text === 'string' ? m.text : '{...}') + ' ' + (m.status || '') + ' ' + (m.reason || ''));
    }
    try {
      if (m.type === 'Register') {
        if (m.status !== 'OK') { vm.error = 'register: ' + m.status + ' ' + m.reason; return; }
        vm.state = 'calling';
        send({type: 'Invite', text: 'Start', to: 'door'});
      } else if (m.type === 'Invite' && m.text === 'Start' && m.status === 'Accepted') {
        pc = vm.pc = new RTCPeerConnection();
        pc.addTransceiver('video', {direction: 'recvonly'});
        pc.addTransceiver('audio', {direction: 'recvonly'});
        pc.onicecandidate = e => {
          if (!e.candidate) return;
          vm.log.push('local candidate ' + e.candidate.candidate);
          send({type: 'ICE Candidate', to: 'door', text: e.candidate.toJSON()});
        };
        pc.onconnectionstatechange = () => { vm.conn = pc.connectionState; };
        pc.ontrack = e => {
          const el = document.createElement(e.track.kind);
          el.autoplay = true; el.muted = true; el.playsInline = true;
          el.srcObject = new MediaStream([e.track]);
          document.body.appendChild(el);
        };
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        send({type: 'Caller Session Description', to: 'door', text: {type: offer.type, sdp: offer.sdp}});
        vm.state = 'offered';
      } else if (m.type === 'Invite' && m.text === 'Start' && ['Fail', 'Busy', 'Rejected'].includes(m.status)) {
        vm.error = 'the door refused the call: ' + m.status + ' ' + (m.reason || '');
      } else if (m.type === 'Callee Session Description') {
        await pc.setRemoteDescription(m.text);
        for (const c of early) await pc.addIceCandidate(c);
        early = [];
        vm.state = 'answered';
      } else if (m.type === 'ICE Candidate') {
        if (pc && pc.remoteDescription) await pc.addIceCandidate(m.text); else early.push(m.text);
      } else if (m.type === 'Hangup') {
        vm.error = 'the door hung up: ' + (m.reason || m.text);
      }
    } catch (e) { vm.error = String(e); }
  };
  vm.hangup = () => { send({type: 'Hangup', text: 'Local', to: 'door'}); if (pc) pc.close(); ws.close(); };
  return true;
})()`

const statsJS = `(async () => {
  if (!window.vm || !vm.pc) return {};
  const s = await vm.pc.getStats();
  let v = {};
  s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') v = r; });
  let codec = '';
  if (v.codecId) { const c = s.get(v.codecId); if (c) codec = c.mimeType; }
  return {frames: v.framesDecoded || 0, width: v.frameWidth || 0, height: v.frameHeight || 0, codec: codec};
})()`

type videoStats struct {
	Frames int    `json:"frames"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Codec  string `json:"codec"`
}

// TestChromiumCallsDoorInVM is the browser on the host calling the door in
// the VM: login over HTTPS, the call over the WebSocket, media over the one
// forwarded UDP port, and decoded video at the camera's size.
func TestChromiumCallsDoorInVM(t *testing.T) {
	if *doorURL == "" || *password == "" {
		t.Fatal("run by build/vmtest/vmtest.sh: -url and -password are required")
	}
	ctx := chromiumtest.Start(t, chromiumtest.IgnoreCertErrors)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	login := fmt.Sprintf(`(async () => {
	  const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({password: %q})});
	  return r.ok ? 'ok' : r.status + ' ' + await r.text();
	})()`, *password)
	if err := chromedp.Do(ctx, chromedp.Navigate(*doorURL+"/login")); err != nil {
		t.Fatalf("open %s/login: %v", *doorURL, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](login, chromedp.EvalAwaitPromise))
	if err != nil || res != "ok" {
		t.Fatalf("login from Chromium: %s %v", res, err)
	}
	// Any page of the door's origin will do; /healthz has no scripts.
	if err := chromedp.Do(ctx, chromedp.Navigate(*doorURL+"/healthz")); err != nil {
		t.Fatalf("open %s/healthz: %v", *doorURL, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](callJS)); err != nil {
		t.Fatalf("start the call: %v", err)
	}

	var st videoStats
	for {
		st, err = chromedp.Run(ctx, chromedp.Evaluate[videoStats](statsJS, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("read stats: %v (%s)", err, pageLog(ctx))
		}
		if why, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`window.vm ? vm.error : ''`)); why != "" {
			t.Fatalf("Chromium's call to the door: %s (%s)", why, pageLog(ctx))
		}
		if st.Frames >= 5 && st.Width > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Chromium decoded %d frames (%dx%d %s) of the door's video within 2 min, want 5 (%s)", st.Frames, st.Width, st.Height, st.Codec, pageLog(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The door's rate governor may send a smaller picture than the
	// camera's when the path's estimate is short of what it costs.
	if sizes := media.PictureSizes(*width, *height); !slices.Contains(sizes, [2]int{st.Width, st.Height}) {
		t.Errorf("Chromium decoded %dx%d video, want the camera's %dx%d or a size the door scales it to %v", st.Width, st.Height, *width, *height, sizes[1:])
	}
	t.Logf("VMTEST PASS browser: Chromium on the host decoded %d %s frames of %dx%d from the door in the VM", st.Frames, st.Codec, st.Width, st.Height)
	chromedp.Run(ctx, chromedp.Evaluate[bool](`vm.hangup(), true`))
}

// pageLog is what the page saw, for failure messages.
func pageLog(ctx context.Context) string {
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`window.vm ? vm.state : 'no call'`))
	conn, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`window.vm && vm.conn || ''`))
	log, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.vm ? vm.log : []`))
	return fmt.Sprintf("state %s, connection %q, messages: %s", state, conn, strings.Join(log, " | "))
}
