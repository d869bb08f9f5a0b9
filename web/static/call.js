// call.js: one WebRTC call, over the hub's signalling.
//
// The caller makes the offer, and only after the callee accepted; the callee
// answers. Incoming signalling is handled strictly in order (one promise
// chain), so ICE candidates that arrive while the offer is still being
// applied wait for it.

// Call is an EventTarget. Events (detail in e.detail):
//   track  {track}            a remote track arrived (also in call.remote)
//   state  {state}            RTCPeerConnection.connectionState changed
//   error  {error}            signalling could not be applied
//   novideo {}                the video section was declined: audio only
export class Call extends EventTarget {
  // peer: the other user; role: 'caller' or 'callee'; local: our
  // MediaStream or null (receive only); remote: the MediaStream that
  // collects remote tracks (made early, so a media element can be given it
  // inside a user gesture); send: sends one hub message.
  constructor({ peer, role, local, remote = new MediaStream(), send, iceServers = [] }) {
    super();
    this.peer = peer;
    this.role = role;
    this.local = local;
    this.send = send;
    this.remote = remote;
    this.queue = Promise.resolve();
    this.closed = false;
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (e) => {
      if (e.candidate && !this.closed) {
        this.send({ type: 'ICE Candidate', to: this.peer, text: e.candidate.toJSON() });
      }
    };
    this.pc.ontrack = (e) => {
      if (!this.remote.getTracks().includes(e.track)) this.remote.addTrack(e.track);
      this.emit('track', { track: e.track });
    };
    this.pc.onconnectionstatechange = () => this.emit('state', { state: this.pc.connectionState });
  }

  // offer starts the caller's side: our tracks where we have them, and a
  // receive-only slot for each kind we do not send, so we still see and hear
  // the other side (a door gets our voice but not our camera).
  offer() {
    return this.serial(async () => {
      for (const kind of ['audio', 'video']) {
        const track = this.localTrack(kind);
        if (track) this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.local] });
        else this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.send({ type: 'Caller Session Description', to: this.peer, text: this.description() });
    });
  }

  // handle applies one signalling message from the peer.
  handle(msg) {
    return this.serial(async () => {
      const text = parseText(msg.text);
      switch (msg.type) {
        case 'Caller Session Description':
          if (this.role !== 'callee' || !text || text.type !== 'offer') throw new Error('unexpected offer');
          await this.pc.setRemoteDescription(text);
          await this.attachLocal();
          await this.pc.setLocalDescription(await this.pc.createAnswer());
          this.send({ type: 'Callee Session Description', to: this.peer, text: this.description() });
          break;
        case 'Callee Session Description':
          if (this.role !== 'caller' || !text || text.type !== 'answer') throw new Error('unexpected answer');
          await this.pc.setRemoteDescription(text);
          break;
        case 'ICE Candidate':
          if (text && (text.candidate || text.candidate === '')) await this.addCandidate(text);
          break;
      }
      if (msg.type !== 'ICE Candidate') this.checkVideo();
    });
  }

  // addCandidate adds the peer's candidate. One for a section we declined
  // (the door's video, when we share no codec with it) is not fatal: every
  // section is bundled on one transport, so it is tried on the sections
  // that are still in use, and dropped with a warning if none takes it.
  async addCandidate(c) {
    try {
      await this.pc.addIceCandidate(c);
      return;
    } catch (err) {
      if (!c.candidate) return; // end of candidates for a section we have not
      for (const tr of this.pc.getTransceivers()) {
        if (!tr.mid || tr.mid === c.sdpMid || tr.currentDirection === 'stopped') continue;
        try {
          await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: tr.mid });
          return;
        } catch {
          // the next section
        }
      }
      console.warn('intercom: candidate dropped', c.sdpMid, err.message);
    }
  }

  // checkVideo tells (event 'novideo') when the negotiation is done and the
  // video section was declined on either side: the browsers share no video
  // codec, and the call goes on with audio only.
  checkVideo() {
    const l = this.pc.localDescription, r = this.pc.remoteDescription;
    if (!l || !r || this.noVideo) return;
    if (videoDeclined(l.sdp) || videoDeclined(r.sdp)) {
      this.noVideo = true;
      this.emit('novideo', {});
    }
  }

  // attachLocal puts our tracks into the transceivers the offer created.
  async attachLocal() {
    const used = new Set();
    for (const tr of this.pc.getTransceivers()) {
      const kind = tr.receiver.track.kind;
      const track = this.localTrack(kind);
      if (track && !used.has(track)) {
        used.add(track);
        await tr.sender.replaceTrack(track);
        if (tr.sender.setStreams) tr.sender.setStreams(this.local);
        tr.direction = 'sendrecv';
      } else {
        tr.direction = 'recvonly';
      }
    }
  }

  localTrack(kind) {
    return this.local ? this.local.getTracks().find((t) => t.kind === kind) || null : null;
  }

  description() {
    const d = this.pc.localDescription;
    return { type: d.type, sdp: d.sdp };
  }

  // stats reads getStats into a small summary: inbound and outbound audio
  // and video, and the selected candidate pair's round trip.
  async stats() {
    const out = { video: {}, audio: {}, outVideo: {}, outAudio: {}, rtt: null };
    if (this.closed) return out;
    const pick = (dst, src, keys) => keys.forEach((k) => { if (src[k] !== undefined) dst[k] = src[k]; });
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        pick(s.kind === 'video' ? out.video : out.audio, s, ['framesDecoded', 'frameWidth', 'frameHeight',
          'framesPerSecond', 'bytesReceived', 'packetsReceived', 'packetsLost', 'totalSamplesReceived',
          'audioLevel', 'jitter']);
      } else if (s.type === 'outbound-rtp') {
        pick(s.kind === 'video' ? out.outVideo : out.outAudio, s, ['framesEncoded', 'frameWidth', 'frameHeight',
          'framesPerSecond', 'bytesSent', 'packetsSent']);
      } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        out.rtt = s.currentRoundTripTime ?? null;
      }
    });
    return out;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    this.pc.close();
    for (const t of this.remote.getTracks()) t.stop();
  }

  serial(fn) {
    const run = this.queue.then(() => (this.closed ? undefined : fn()));
    this.queue = run.catch((error) => {
      if (!this.closed) this.emit('error', { error });
    });
    return this.queue;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// videoDeclined says whether an SDP's video section is rejected (port 0).
export function videoDeclined(sdp) {
  return /^m=video 0 /m.test(sdp || '');
}

// parseText accepts the envelope's text as an object or as a JSON string
// (older clients send either).
export function parseText(text) {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
