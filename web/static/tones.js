// tones.js: the ringtone and the ringback tone, made with WebAudio (no audio
// files). Everything of one ring is scheduled ahead on the audio clock, so a
// background tab whose timers are throttled still rings on time.

const repeats = 25; // 25 rings of 3 s outlast the hub's 45 s ring timeout

// mayVibrate: the page has had a user gesture (browsers without
// userActivation are let try).
function mayVibrate() {
  return !navigator.userActivation || navigator.userActivation.hasBeenActive;
}

export class Tones {
  constructor() {
    this.ctx = null;
    this.out = null;
    this.nodes = [];
    this.kind = '';
  }

  // unlock creates or resumes the AudioContext. Browsers allow that only in
  // a user gesture, so call it from clicks; ringing later then works.
  unlock() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    if (!this.ctx) {
      this.ctx = new AC();
      this.out = this.ctx.createGain();
      this.out.gain.value = 0.3;
      this.out.connect(this.ctx.destination);
    }
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  // audible says whether a ring would be heard now (false until a gesture
  // unlocked audio on strict browsers).
  get audible() {
    return !!this.ctx && this.ctx.state === 'running';
  }

  // start plays 'ring' (incoming call: a two-note chime) or 'ringback' (our
  // call is ringing at the other end: soft double beeps) until stop.
  start(kind) {
    this.stop();
    this.kind = kind;
    this.unlock();
    // Chromium refuses vibrate before the user touched the page, and says
    // so in the console: ask only when it may work.
    if (kind === 'ring' && navigator.vibrate && mayVibrate()) {
      try {
        navigator.vibrate(Array(10).fill([500, 2500]).flat());
      } catch {
        // not allowed without a gesture
      }
    }
    if (!this.ctx) return;
    const t0 = this.ctx.currentTime + 0.05;
    for (let i = 0; i < repeats; i++) {
      if (kind === 'ring') {
        this.bell(t0 + i * 3, 659.25, 0.9);
        this.bell(t0 + i * 3 + 0.45, 523.25, 1.4);
      } else {
        this.beep(t0 + i * 4, 0.35);
        this.beep(t0 + i * 4 + 0.5, 0.35);
      }
    }
  }

  stop() {
    this.kind = '';
    for (const n of this.nodes) {
      try {
        n.stop();
      } catch {
        // never started
      }
      n.disconnect();
    }
    this.nodes = [];
    if (navigator.vibrate && mayVibrate()) {
      try {
        navigator.vibrate(0);
      } catch {
        // ignore
      }
    }
  }

  // bell is one soft bell-like note: a sine with a quiet overtone and an
  // exponential decay.
  bell(at, freq, length) {
    for (const [mult, level] of [[1, 0.6], [2.76, 0.12]]) {
      const o = this.ctx.createOscillator();
      const g = this.ctx.createGain();
      o.type = 'sine';
      o.frequency.value = freq * mult;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(level, at + 0.015);
      g.gain.exponentialRampToValueAtTime(0.0001, at + length);
      o.connect(g).connect(this.out);
      o.start(at);
      o.stop(at + length + 0.05);
      this.nodes.push(o);
    }
  }

  beep(at, length) {
    const o = this.ctx.createOscillator();
    const g = this.ctx.createGain();
    o.type = 'sine';
    o.frequency.value = 440;
    g.gain.setValueAtTime(0.0001, at);
    g.gain.linearRampToValueAtTime(0.15, at + 0.03);
    g.gain.setValueAtTime(0.15, at + length - 0.03);
    g.gain.linearRampToValueAtTime(0.0001, at + length);
    o.connect(g).connect(this.out);
    o.start(at);
    o.stop(at + length + 0.05);
    this.nodes.push(o);
  }
}
