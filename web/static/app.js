// app.js: intercomd's browser client, the main module. Plain JS modules, no
// build step; the protocol is docs/PROTOCOL.md.
//
// Test hooks (stable: tests of other packages drive the page through them)
//
//   <body data-state="signin|idle|calling|ringing|incall"
//         data-conn="offline|connecting|online"
//         data-peer-kind="door|browser" data-ptt="true|false">
//   URL: /?name=NAME connects as NAME at once (else the remembered name).
//
//   Sign in:   #name (input), #connect (submit), #signin-error, #change-name
//   Online:    #users > li[data-user=NAME][data-kind=door|browser],
//              button[data-call=NAME] places a call; #empty
//   Messages:  #notice-text (the last thing said in words: busy, declined,
//              no answer, hung up, connection lost), #banner-text (offline,
//              reconnecting), #retry
//   Calling:   #outgoing-name, #outgoing-status, #cancel
//   Ringing:   #caller (the caller's name), #answer, #reject
//   In call:   #call[data-connected=true|false][data-remote-video=true|false]
//              [data-fit=cover|contain] (tap #remote to switch),
//              #remote (video), #local (preview), #peer-name, #call-status,
//              #mute, #camera, #ptt (hold to talk), #hangup, #fullscreen,
//              #enable-audio (shown when autoplay was blocked),
//              #open-door (door calls only), #door-result[data-result=
//              pending|ok|fail] (the door's answer, in words)
//   Settings:  #settings (a <details>: click its summary to open), then
//              input[name=mode] #mode-both #mode-audio #mode-video,
//              #ptt-enabled
//
//   window.intercom (read-only getters and actions):
//     state, conn, name, peer, peerKind, users [{name, kind}], notice,
//     log [every notice and banner text], ringing ('ring'|'ringback'|''),
//     audio (the ringtone's AudioContext state: running|suspended|none),
//     mic, camera (true|false|null: sending, muted/off, no such track),
//     registrations (successful Registers), doorResult, health (/healthz),
//     lastStats (polled each second in a call, see stats()),
//     stats() -> Promise<{video, audio, outVideo, outAudio, rtt}> from
//       getStats (video.framesDecoded, frameWidth, ...), or null
//     connect(name), call(name), answer(), reject(), hangup(), openDoor()

import { Signal } from './signal.js';
import { Roster } from './roster.js';
import { Tones } from './tones.js';
import { Call } from './call.js';
import { $, avatar, renderUsers, clock } from './view.js';

const wsURL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const signal = new Signal(wsURL);
const roster = new Roster();
const tones = new Tones();
const remoteEl = $('remote');
const localEl = $('local');

const s = {
  phase: 'signin',
  name: '',
  peer: '',
  peerKind: 'browser',
  inviteSent: false, // the hub knows this call (so Hangup means something)
  call: null,
  local: null,
  remote: null,
  muted: false,
  cameraOff: false,
  talking: false,
  notice: '',
  log: [],
  doorResult: '',
  health: null,
  lastStats: null,
  connectedAt: 0,
  timers: {},
  wake: null,
};

const store = {
  get(k, d = '') {
    try {
      return localStorage.getItem('intercom.' + k) ?? d;
    } catch {
      return d;
    }
  },
  set(k, v) {
    try {
      localStorage.setItem('intercom.' + k, v);
    } catch {
      // private mode: not remembered
    }
  },
};

// ---- words ---------------------------------------------------------------

function say(text, kind = 'info', sticky = true) {
  s.notice = text;
  s.log.push(text);
  console.info('intercom:', text);
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = false;
  clearTimeout(s.timers.notice);
  if (!sticky) s.timers.notice = setTimeout(() => ($('notice').hidden = true), 4000);
}

function banner(text) {
  $('banner').hidden = !text;
  $('banner-text').textContent = text;
  if (text) s.log.push(text);
}

// ---- phases --------------------------------------------------------------

function setPhase(p) {
  s.phase = p;
  document.body.dataset.state = p;
  document.body.dataset.peerKind = s.peer ? s.peerKind : '';
  const titles = {
    calling: `Calling ${s.peer}`,
    ringing: `${s.peer} is calling`,
    incall: `In a call with ${s.peer}`,
  };
  document.title = titles[p] ? `${titles[p]} · Intercom` : 'Intercom';
  if (p === 'incall') {
    navigator.wakeLock?.request('screen').then((l) => (s.wake = l), () => {});
  } else if (s.wake) {
    s.wake.release().catch(() => {});
    s.wake = null;
  }
  drawUsers();
}

function drawUsers() {
  const enabled = s.phase === 'idle' && signal.registered;
  renderUsers(roster.list(s.name), s.health && s.health.device, enabled);
}

// ---- signing in ----------------------------------------------------------

function checkName(name) {
  if (!name) return 'Please enter a name.';
  if ([...name].length > 32) return 'At most 32 characters, please.';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'That name has characters that cannot be used.';
  return '';
}

function connect(name) {
  name = String(name).trim();
  const err = checkName(name);
  $('signin-error').textContent = err;
  if (err) return;
  s.name = name;
  store.set('name', name);
  $('name').value = name;
  $('connect').disabled = true;
  $('connect').textContent = 'Connecting…';
  signal.start(name);
}

function signOut() {
  if (s.phase !== 'idle') endCall('', { hangup: true });
  signal.stop();
  roster.full([]);
  $('me').hidden = true;
  banner('');
  $('connect').disabled = false;
  $('connect').textContent = 'Connect';
  setPhase('signin');
  $('name').focus();
}

signal.addEventListener('registered', (e) => {
  $('me-name').textContent = s.name;
  $('me').hidden = false;
  $('connect').disabled = false;
  $('connect').textContent = 'Connect';
  banner('');
  if (s.phase === 'signin') setPhase('idle');
  if (e.detail.again) say('Back online.', 'info', false);
  drawUsers();
  fetchHealth();
  audioHint();
});

signal.addEventListener('refused', (e) => {
  const reason = e.detail.reason;
  $('signin-error').textContent = /in use/i.test(reason)
    ? `“${s.name}” is already in use on another device. Please choose another name.`
    : `The intercom refused this name: ${reason}.`;
  $('connect').disabled = false;
  $('connect').textContent = 'Connect';
  $('me').hidden = true;
  setPhase('signin');
});

signal.addEventListener('state', (e) => {
  const { state, retryIn } = e.detail;
  document.body.dataset.conn = state;
  drawUsers();
  clearInterval(s.timers.countdown);
  if (state === 'online') return;
  if (!signal.wanted) return;
  if (!signal.everRegistered) {
    if (state === 'offline') $('signin-error').textContent = 'Cannot reach the intercom. Trying again…';
    return;
  }
  if (state === 'connecting') {
    banner('Connection lost. Reconnecting…');
    return;
  }
  const until = Date.now() + retryIn;
  const tick = () => {
    const left = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    banner(`Connection lost. Reconnecting in ${left} s…`);
  };
  tick();
  s.timers.countdown = setInterval(tick, 1000);
});

signal.addEventListener('lost', () => {
  const peer = s.peer;
  if (s.phase === 'ringing') endCall(`Missed call from ${peer}: the network connection was lost.`, { kind: 'warn' });
  else if (s.phase === 'calling' || s.phase === 'incall') endCall('Call ended: the network connection was lost.', { kind: 'warn' });
  drawUsers();
});

// ---- the hub's messages --------------------------------------------------

signal.addEventListener('message', (e) => {
  const m = e.detail.msg;
  switch (m.type) {
    case 'Get Users':
      roster.full(m.users);
      drawUsers();
      break;
    case 'Users Delta':
      roster.delta(m.joined, m.left);
      drawUsers();
      break;
    case 'Invite':
      onInvite(m);
      break;
    case 'Caller Session Description':
    case 'Callee Session Description':
    case 'ICE Candidate':
      if (s.call && fromPeer(m)) s.call.handle(m);
      break;
    case 'Hangup':
      onHangup(m);
      break;
    case 'Open Door':
      if (m.status) doorAnswer(m.status === 'OK', m.reason);
      break;
    case 'Error':
      onError(m);
      break;
    default:
      break; // Socket Event and anything newer than us
  }
});

function fromPeer(m) {
  return !!s.peer && (!m.from || m.from === s.peer);
}

function onInvite(m) {
  if (m.text === 'Incoming') {
    onIncoming(m.from);
    return;
  }
  if (s.phase !== 'calling' || (m.text !== 'Start' && !fromPeer(m))) return;
  const status = m.text === 'Start' ? m.status : m.text;
  const peer = s.peer;
  switch (status) {
    case 'Attempting':
      $('outgoing-status').textContent = 'Calling…';
      break;
    case 'Ringing':
      $('outgoing-status').textContent = 'Ringing…';
      if (!tones.kind) tones.start('ringback');
      break;
    case 'Accepted':
      accepted();
      break;
    case 'Rejected':
      endCall(`${peer} declined the call.`);
      break;
    case 'Busy':
      endCall(`${peer} is busy. Try again later.`, { kind: 'warn' });
      break;
    case 'Fail':
      endCall(/no answer/i.test(m.reason || '')
        ? `${peer} did not answer.`
        : `Could not call ${peer}: ${m.reason || 'the call failed'}.`, { kind: 'warn' });
      break;
  }
}

function onIncoming(from) {
  if (!from) return;
  if (s.phase !== 'idle') {
    signal.send({ type: 'Invite', text: 'Rejected', to: from });
    return;
  }
  s.peer = from;
  s.peerKind = roster.kind(from);
  s.inviteSent = true;
  $('caller').textContent = from;
  $('incoming-label').textContent = s.peerKind === 'door' ? 'Someone is at the door' : 'Incoming call';
  avatar($('caller-avatar'), from, s.peerKind);
  setPhase('ringing');
  tones.start('ring');
  signal.send({ type: 'Invite', text: 'Ringing', to: from });
}

function onHangup(m) {
  if (!fromPeer(m) || s.phase === 'idle') return;
  const peer = s.peer;
  const reason = m.reason || '';
  if (/answered elsewhere/i.test(reason)) {
    // A door rings every resident; someone else was quicker.
    endCall(`The call from ${peer} was answered on another device.`);
  } else if (s.phase === 'ringing') {
    endCall(`Missed call from ${peer}.`, { kind: 'warn' });
  } else if (/connection lost/i.test(reason)) {
    endCall(`The connection to ${peer} was lost.`, { kind: 'warn' });
  } else if (s.phase === 'calling') {
    endCall(/no answer/i.test(reason) ? `${peer} did not answer.` : `${peer} ended the call.`);
  } else {
    endCall(`${peer} hung up.`);
  }
}

function onError(m) {
  console.warn('intercom: the hub refused', m.text, m.reason);
  const reason = m.reason || 'refused';
  if (m.text === 'Open Door') doorAnswer(false, reason);
  else if (m.text === 'Invite' && s.phase === 'calling') endCall(`Could not call ${s.peer}: ${reason}.`, { kind: 'warn' });
  else if (/Session Description/.test(m.text) && s.phase === 'incall') endCall(`The call failed: ${reason}.`, { kind: 'warn', hangup: true });
}

// ---- placing, answering and ending calls ---------------------------------

function mode() {
  const m = document.querySelector('input[name=mode]:checked');
  return m ? m.value : 'both';
}

// localMedia asks for what the chosen mode sends. Doors have no screen, so
// they never get our camera. Without camera or microphone (or on plain HTTP,
// where browsers offer neither) the call still shows and plays the other side.
async function localMedia(peerKind) {
  const wantAudio = mode() !== 'video';
  const wantVideo = mode() !== 'audio' && peerKind !== 'door';
  if (!wantAudio && !wantVideo) return null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say(window.isSecureContext
      ? 'This browser offers no camera or microphone. You can still see and hear the other side.'
      : 'Browsers allow the camera and microphone only over HTTPS (or on localhost). You can still see and hear the other side.', 'warn');
    return null;
  }
  const audio = wantAudio && { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  const video = wantVideo && { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  const tries = [{ audio, video }];
  if (audio && video) tries.push({ audio, video: false }, { audio: false, video });
  let last;
  for (const c of tries) {
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch (err) {
      last = err;
      if (err.name === 'NotAllowedError') break;
    }
  }
  say(`No camera or microphone (${last && last.name === 'NotAllowedError' ? 'permission denied' : last && last.message}). ` +
    'You can still see and hear the other side.', 'warn');
  return null;
}

// prepare runs inside the click that starts or answers a call: it unlocks
// audio and gives the remote video element its stream while the browser
// still counts the click as a user gesture (autoplay rules).
function prepare(peer, kind) {
  tones.unlock();
  s.peer = peer;
  s.peerKind = kind;
  s.muted = s.cameraOff = s.talking = false;
  s.lastStats = null;
  s.doorResult = '';
  $('door-result').hidden = true;
  s.remote = new MediaStream();
  remoteEl.srcObject = s.remote;
  remoteEl.play().catch(() => {});
  for (const id of ['peer-name', 'outgoing-name']) $(id).textContent = peer;
  avatar($('outgoing-avatar'), peer, kind);
  avatar($('peer-avatar'), peer, kind);
  $('call').dataset.connected = 'false';
  $('call').dataset.fit = kind === 'door' ? 'contain' : 'cover';
  $('call').dataset.remoteVideo = 'false';
  $('call-status').textContent = 'Connecting…';
}

async function placeCall(name) {
  if (s.phase !== 'idle' || !signal.registered || !name || name === s.name) return;
  prepare(name, roster.kind(name));
  $('outgoing-status').textContent = 'Starting…';
  setPhase('calling');
  const local = await localMedia(s.peerKind);
  if (s.phase !== 'calling' || s.peer !== name) {
    stopTracks(local);
    return;
  }
  s.local = local;
  showLocal();
  s.inviteSent = signal.send({ type: 'Invite', text: 'Start', to: name });
  if (!s.inviteSent) {
    endCall('Not connected to the intercom. Try again in a moment.', { kind: 'warn' });
    return;
  }
  $('outgoing-status').textContent = 'Calling…';
  // The hub ends unanswered rings after 45 s; this is only a safety net.
  s.timers.ring = setTimeout(() => endCall(`${name} did not answer.`, { hangup: true }), 60000);
}

function accepted() {
  clearTimeout(s.timers.ring);
  tones.stop();
  setPhase('incall');
  startCall('caller');
  s.call.offer();
}

async function answer() {
  if (s.phase !== 'ringing') return;
  const peer = s.peer;
  tones.stop();
  prepare(peer, s.peerKind);
  $('incoming-label').textContent = 'Connecting…';
  const local = await localMedia(s.peerKind);
  if (s.phase !== 'ringing' || s.peer !== peer) {
    stopTracks(local);
    return;
  }
  s.local = local;
  showLocal();
  setPhase('incall');
  startCall('callee');
  signal.send({ type: 'Invite', text: 'Accepted', to: peer });
}

function reject() {
  if (s.phase !== 'ringing') return;
  signal.send({ type: 'Invite', text: 'Rejected', to: s.peer });
  endCall('');
}

function hangup() {
  if (s.phase === 'idle' || s.phase === 'signin') return;
  if (s.phase === 'ringing') {
    reject();
    return;
  }
  endCall('', { hangup: true });
}

function startCall(role) {
  const call = new Call({ peer: s.peer, role, local: s.local, remote: s.remote, send: (m) => signal.send(m), iceServers: [] });
  s.call = call;
  call.addEventListener('track', (e) => onRemoteTrack(e.detail.track));
  call.addEventListener('state', (e) => onMediaState(e.detail.state));
  call.addEventListener('error', (e) => {
    console.error('intercom: call', e.detail.error);
    if (s.call === call) endCall(`The call failed: ${e.detail.error.message}.`, { kind: 'warn', hangup: true });
  });
  applyMic();
  clearInterval(s.timers.stats);
  s.timers.stats = setInterval(pollStats, 1000);
}

function onRemoteTrack(track) {
  if (track.kind === 'video') {
    const show = () => ($('call').dataset.remoteVideo = String(!track.muted && track.readyState === 'live'));
    track.addEventListener('mute', show);
    track.addEventListener('unmute', show);
    track.addEventListener('ended', show);
    show();
  }
  if (remoteEl.srcObject !== s.remote) remoteEl.srcObject = s.remote;
  if (remoteEl.paused) {
    remoteEl.play().then(() => ($('enable-audio').hidden = true), (err) => {
      if (err.name === 'NotAllowedError') $('enable-audio').hidden = false;
    });
  }
}

function onMediaState(state) {
  if (state === 'connected') {
    if (!s.connectedAt) s.connectedAt = Date.now();
    $('call').dataset.connected = 'true';
    updateCallStatus();
  } else if (state === 'disconnected') {
    $('call-status').textContent = 'Connection unstable…';
  } else if (state === 'failed') {
    endCall(`The media connection to ${s.peer} failed.`, { kind: 'warn', hangup: true });
  }
}

async function pollStats() {
  const call = s.call;
  if (!call) return;
  try {
    const st = await call.stats();
    if (s.call === call) s.lastStats = st;
  } catch (err) {
    console.warn('intercom: stats', err);
  }
  updateCallStatus();
}

function updateCallStatus() {
  if (s.phase !== 'incall' || !s.connectedAt) return;
  $('call-status').textContent = 'Connected · ' + clock((Date.now() - s.connectedAt) / 1000);
}

// endCall ends whatever call there is, says why (text), and tells the peer
// when the hub knows the call (hangup).
function endCall(text, { hangup = false, kind = 'info' } = {}) {
  if (hangup && s.peer && s.inviteSent) signal.send({ type: 'Hangup', text: 'Local', to: s.peer });
  tones.stop();
  for (const t of ['ring', 'stats', 'door']) {
    clearTimeout(s.timers[t]);
    clearInterval(s.timers[t]);
  }
  if (s.call) s.call.close();
  s.call = null;
  stopTracks(s.local);
  s.local = null;
  remoteEl.srcObject = null;
  localEl.srcObject = null;
  $('enable-audio').hidden = true;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  s.peer = '';
  s.inviteSent = false;
  s.connectedAt = 0;
  s.talking = false;
  setPhase(s.name && signal.everRegistered ? 'idle' : 'signin');
  if (text) say(text, kind);
}

// trackOn says whether we send our kind ('audio' or 'video') track now:
// true, false (muted, camera off, push-to-talk released) or null (none).
function trackOn(kind) {
  const t = s.local && s.local.getTracks().find((x) => x.kind === kind);
  return t ? t.enabled && t.readyState === 'live' : null;
}

function stopTracks(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

// ---- in-call controls ----------------------------------------------------

function showLocal() {
  const hasVideo = !!s.local && s.local.getVideoTracks().length > 0;
  const hasAudio = !!s.local && s.local.getAudioTracks().length > 0;
  document.body.dataset.localVideo = String(hasVideo);
  document.body.dataset.localAudio = String(hasAudio);
  localEl.srcObject = hasVideo ? s.local : null;
  if (hasVideo) localEl.play().catch(() => {});
  drawControls();
}

function pttOn() {
  return $('ptt-enabled').checked && !!s.local && s.local.getAudioTracks().length > 0;
}

function applyMic() {
  const talk = pttOn() ? s.talking : !s.muted;
  if (s.local) for (const t of s.local.getAudioTracks()) t.enabled = talk;
  // Half duplex while holding to talk: the door's speaker would otherwise
  // come back through our microphone.
  remoteEl.volume = pttOn() && s.talking ? 0.2 : 1;
  drawControls();
}

function drawControls() {
  document.body.dataset.ptt = String(pttOn());
  $('mute').setAttribute('aria-pressed', String(s.muted));
  $('camera').setAttribute('aria-pressed', String(s.cameraOff));
  $('ptt').setAttribute('aria-pressed', String(s.talking));
  $('fullscreen').hidden = !document.fullscreenEnabled;
}

function toggleMute() {
  s.muted = !s.muted;
  applyMic();
}

function toggleCamera() {
  s.cameraOff = !s.cameraOff;
  if (s.local) for (const t of s.local.getVideoTracks()) t.enabled = !s.cameraOff;
  drawControls();
}

function talk(on) {
  if (s.talking === on) return;
  s.talking = on;
  applyMic();
}

// ---- the door ------------------------------------------------------------

function openDoor() {
  if (s.phase !== 'incall' || s.peerKind !== 'door') return;
  if (!signal.send({ type: 'Open Door', to: s.peer })) return;
  doorResult('pending', 'Opening the door…');
  clearTimeout(s.timers.door);
  s.timers.door = setTimeout(() => doorResult('fail', 'The door did not answer.'), 8000);
}

function doorAnswer(ok, reason) {
  if (s.phase !== 'incall') return;
  clearTimeout(s.timers.door);
  if (ok) doorResult('ok', 'Door opened.');
  else doorResult('fail', `Could not open the door${reason ? ': ' + reason : ''}.`);
}

function doorResult(result, text) {
  s.doorResult = result;
  const el = $('door-result');
  el.dataset.result = result;
  el.textContent = text;
  el.hidden = false;
  s.log.push(text);
}

async function fetchHealth() {
  try {
    const r = await fetch('/healthz', { cache: 'no-store' });
    if (!r.ok) return;
    s.health = await r.json();
    $('version').textContent = s.health.version ? 'intercomd ' + s.health.version : '';
    drawUsers();
  } catch {
    // offline: the banner says so
  }
}

function audioHint() {
  $('audio-hint').hidden = tones.audible || !tones.ctx;
}

// ---- wiring --------------------------------------------------------------

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  tones.unlock();
  connect($('name').value);
});
$('change-name').addEventListener('click', signOut);
$('retry').addEventListener('click', () => signal.retryNow());
$('notice-close').addEventListener('click', () => ($('notice').hidden = true));
$('users').addEventListener('click', (e) => {
  const b = e.target.closest('[data-call]');
  if (b && !b.disabled) placeCall(b.dataset.call);
});
$('answer').addEventListener('click', answer);
$('reject').addEventListener('click', reject);
$('cancel').addEventListener('click', hangup);
$('hangup').addEventListener('click', hangup);
$('mute').addEventListener('click', toggleMute);
$('camera').addEventListener('click', toggleCamera);
$('open-door').addEventListener('click', openDoor);
$('enable-audio').addEventListener('click', () => {
  remoteEl.play().then(() => ($('enable-audio').hidden = true), () => {});
});
// Tapping the picture switches between the whole picture and filling the
// screen (a door's wide picture on a tall phone).
remoteEl.addEventListener('click', () => {
  $('call').dataset.fit = $('call').dataset.fit === 'cover' ? 'contain' : 'cover';
});
$('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else $('call').requestFullscreen?.().catch(() => {});
});
const ptt = $('ptt');
ptt.addEventListener('pointerdown', (e) => {
  talk(true);
  try {
    ptt.setPointerCapture(e.pointerId); // keep talking if the finger slides off
  } catch {
    // no capture for this pointer: pointerup on the button still ends it
  }
});
for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) ptt.addEventListener(ev, () => talk(false));
ptt.addEventListener('contextmenu', (e) => e.preventDefault());
// Space is push-to-talk too. Both key events are taken, or the space would
// also press whichever button has the focus (End, say).
const spaceTalks = (e) => e.code === 'Space' && s.phase === 'incall' && pttOn();
document.addEventListener('keydown', (e) => {
  if (!spaceTalks(e)) return;
  e.preventDefault();
  if (!e.repeat) talk(true);
});
document.addEventListener('keyup', (e) => {
  if (!spaceTalks(e)) return;
  e.preventDefault();
  talk(false);
});

for (const r of document.querySelectorAll('input[name=mode]')) {
  if (r.value === store.get('mode', 'both')) r.checked = true;
  r.addEventListener('change', () => store.set('mode', mode()));
}
$('ptt-enabled').checked = store.get('ptt') === 'on';
$('ptt-enabled').addEventListener('change', () => {
  store.set('ptt', $('ptt-enabled').checked ? 'on' : 'off');
  applyMic();
});

// Audio may only start after a gesture: the first tap or key anywhere
// unlocks the ringtone for calls that come in later. (On touch screens
// pointerdown is no gesture; pointerup and touchend are.)
for (const ev of ['pointerup', 'touchend', 'keydown', 'click']) {
  document.addEventListener(ev, () => {
    tones.unlock();
    setTimeout(audioHint, 100);
  }, { capture: true, passive: true });
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    signal.retryNow();
    if (signal.registered) fetchHealth();
  }
});
window.addEventListener('online', () => signal.retryNow());
setInterval(() => {
  if (signal.registered && document.visibilityState === 'visible') fetchHealth();
}, 15000);

window.intercom = Object.freeze({
  get state() { return s.phase; },
  get conn() { return signal.state; },
  get name() { return s.name; },
  get peer() { return s.peer; },
  get peerKind() { return s.peer ? s.peerKind : ''; },
  get users() { return roster.list(s.name).map((u) => ({ name: u.name, kind: u.kind })); },
  get notice() { return s.notice; },
  get log() { return s.log.slice(); },
  get ringing() { return tones.kind; },
  get audio() { return tones.ctx ? tones.ctx.state : 'none'; },
  get mic() { return trackOn('audio'); },
  get camera() { return trackOn('video'); },
  get registrations() { return signal.registrations; },
  get doorResult() { return s.doorResult; },
  get health() { return s.health; },
  get lastStats() { return s.lastStats; },
  stats: () => (s.call ? s.call.stats() : Promise.resolve(null)),
  connect,
  call: placeCall,
  answer,
  reject,
  hangup,
  openDoor,
});

// Start: a name in the URL, else the remembered one, connects at once.
const initial = new URLSearchParams(location.search).get('name') ?? store.get('name');
$('name').value = initial;
drawControls();
if (initial && !checkName(initial.trim())) {
  tones.unlock();
  connect(initial);
} else {
  $('name').focus();
}
