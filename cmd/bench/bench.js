// bench.js: the page side of cmd/bench, evaluated in a tab of our client.
// It adds window.__bench and changes nothing else on the page.
(() => {
  if (window.__bench) return;
  const remote = document.getElementById('remote');

  const B = {
    t0: 0, // performance.now() of the click that starts or answers a call
    first: 0, // performance.now() when the call's first video frame was shown
    firstSize: '',
    ringAt: 0, // Date.now() when this page started ringing
    autoAnswer: false,

    // watchFirst times the next frame the remote video presents
    // (requestVideoFrameCallback: a decoded frame handed to the compositor).
    watchFirst() {
      B.first = 0;
      B.firstSize = '';
      remote.requestVideoFrameCallback((now, md) => {
        B.first = performance.now();
        B.mark('frame');
        B.firstSize = md.width + 'x' + md.height;
      });
    },

    // marks: when, after the click, the page reached each step of the call
    // (ms since t0): incall (the callee accepted), connected (ICE and DTLS
    // up), and the first frame.
    marks: {},
    mark(what) {
      if (B.t0 && !(what in B.marks)) B.marks[what] = performance.now() - B.t0;
    },

    // call clicks the call button of name, as a resident would.
    call(name) {
      B.first = 0;
      B.marks = {};
      B.t0 = performance.now();
      document.querySelector(`button[data-call="${name}"]`).click();
      B.watchFirst(); // after the click: it gives #remote a new stream
    },

    hangup() {
      document.getElementById('hangup').click();
    },

    // The clock code (media/clock.go): 16 px blocks from (16, 16), row 0
    // alternates white and black, rows 1-4 hold 48 bits of milliseconds and
    // a CRC-16/CCITT-FALSE of them, most significant bit first.
    clock: null,
    readClock(ctx) {
      const S = 16, cols = 16, rows = 5;
      const img = ctx.getImageData(S, S, cols * S, rows * S).data;
      const w = cols * S;
      const mean = (row, col) => {
        let sum = 0;
        for (let y = row * S + S / 4; y < row * S + (3 * S) / 4; y++) {
          for (let x = col * S + S / 4; x < col * S + (3 * S) / 4; x++) {
            const i = (y * w + x) * 4;
            sum += 0.299 * img[i] + 0.587 * img[i + 1] + 0.114 * img[i + 2];
          }
        }
        return sum / ((S * S) / 4);
      };
      let white = 0, black = 0, minW = 255, maxB = 0;
      for (let c = 0; c < cols; c++) {
        const v = mean(0, c);
        if (c % 2 === 0) { white += v; minW = Math.min(minW, v); } else { black += v; maxB = Math.max(maxB, v); }
      }
      if (minW - maxB < 48) return -1;
      const thr = (white + black) / cols;
      const bits = [];
      for (let i = 0; i < 64; i++) bits.push(mean(1 + Math.floor(i / cols), i % cols) > thr ? 1 : 0);
      let ms = 0;
      for (let i = 0; i < 48; i++) ms = ms * 2 + bits[i];
      let crc = 0;
      for (let i = 48; i < 64; i++) crc = crc * 2 + bits[i];
      let c = 0xffff;
      for (let k = 5; k >= 0; k--) {
        c ^= (Math.floor(ms / 2 ** (8 * k)) & 0xff) << 8;
        for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
      }
      return c === crc ? ms : -2;
    },

    // startClock reads the clock code of every frame the remote video
    // presents and keeps, per frame: the delay from capture to the
    // callback (Date.now(), the same clock as the door's) and to the
    // frame's expected display time.
    startClock() {
      const canvas = document.createElement('canvas');
      canvas.width = 18 * 16;
      canvas.height = 7 * 16;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const c = (B.clock = { frames: 0, unread: 0, total: [], display: [], captures: new Set(), on: true });
      const onFrame = (now, md) => {
        if (!c.on) return;
        const wall = Date.now();
        // Wall-clock time of a performance.now() value, on Date.now()'s
        // clock (they drift apart over a page's life).
        const toWall = (t) => t + (wall - performance.now());
        c.frames++;
        ctx.drawImage(remote, 0, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
        const ms = B.readClock(ctx);
        if (ms < 0) {
          c.unread++;
        } else if (!c.captures.has(ms)) {
          c.captures.add(ms);
          c.total.push(wall - ms);
          if (md.expectedDisplayTime) c.display.push(toWall(md.expectedDisplayTime) - ms);
        }
        remote.requestVideoFrameCallback(onFrame);
      };
      remote.requestVideoFrameCallback(onFrame);
    },

    stopClock() {
      const c = B.clock;
      c.on = false;
      return { frames: c.frames, unread: c.unread, total: c.total, display: c.display,
        size: remote.videoWidth + 'x' + remote.videoHeight };
    },
  };

  // Ringing: answer at once, as a resident who is waiting would, and time
  // from that click.
  new MutationObserver(() => {
    if (document.body.dataset.state !== 'ringing' || !B.autoAnswer) return;
    B.ringAt = Date.now();
    B.first = 0;
    B.marks = {};
    B.t0 = performance.now();
    document.getElementById('answer').click();
    B.watchFirst();
  }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });

  // Measurement shims: they only note when the client's own calls return.
  if (navigator.mediaDevices) {
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
      const r = await gum(c);
      B.mark('media');
      return r;
    };
  }
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === 'string' && B.t0) {
      const t = /"type":"([^"]+)"/.exec(data);
      const text = /"text":"([^"]+)"/.exec(data);
      if (t && t[1] === 'Invite') B.mark(text && text[1] === 'Accepted' ? 'accept' : 'invite');
      if (t && t[1] === 'Caller Session Description') B.mark('offer');
      if (t && t[1] === 'Callee Session Description') B.mark('answer');
    }
    return send.call(this, data);
  };

  new MutationObserver(() => {
    const call = document.getElementById('call');
    if (document.body.dataset.state === 'incall') B.mark('incall');
    if (call && call.dataset.connected === 'true') B.mark('connected');
  }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-state', 'data-connected'] });

  window.__bench = B;
})();
