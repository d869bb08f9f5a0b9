// callflow.js: calls from the first Invite to the last Hangup: the hub's
// messages (the roster, Invite, the session descriptions and candidates,
// Hangup, Error), placing, answering and ending calls, our camera and
// microphone, the remote tracks and the call's stats. app.js hands Signal's
// message events to onMessage.

import { t } from './i18n.js';
import { Call } from './call.js';
import { $, avatar, clock } from './view.js';
import { showVisitor } from './visitor.js';
import { s, signal, roster, tones, remoteEl, localEl, say, setPhase, drawUsers, label } from './state.js';
import { showLocal, applyMic, doorAnswer } from './controls.js';

// ---- the hub's messages --------------------------------------------------

// onMessage handles Signal's message: one message from the hub.
export function onMessage(e) {
  const m = e.detail.msg;
  switch (m.type) {
    case 'Get Users':
      roster.full(m.users);
      drawUsers();
      break;
    case 'Users Delta':
      roster.delta(m.joined, m.left, m.changed);
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
}

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
      $('outgoing-status').textContent = t('calling.status');
      break;
    case 'Ringing':
      $('outgoing-status').textContent = t('calling.ringing');
      if (!tones.kind) tones.start('ringback');
      break;
    case 'Accepted':
      accepted();
      break;
    case 'Rejected':
      endCall(t('end.declined', { name: label(peer) }));
      break;
    case 'Busy':
      endCall(t('end.busy', { name: label(peer) }), { kind: 'warn' });
      break;
    case 'Fail':
      endCall(/no answer/i.test(m.reason || '')
        ? t('end.noanswer', { name: label(peer) })
        : t('end.couldnotcall', { name: label(peer), reason: m.reason || t('end.failedreason') }), { kind: 'warn' });
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
  s.doorResult = '';
  $('notice').hidden = true;
  $('caller').textContent = label(from);
  $('incoming-label').textContent = t(s.peerKind === 'door' ? 'ring.door' : 'ring.incoming');
  avatar($('caller-avatar'), from, s.peerKind);
  setPhase('ringing');
  showVisitor();
  tones.start('ring');
  signal.send({ type: 'Invite', text: 'Ringing', to: from });
}

function onHangup(m) {
  if (!fromPeer(m) || s.phase === 'idle') return;
  const peer = s.peer;
  const reason = m.reason || '';
  if (/answered elsewhere/i.test(reason)) {
    // A door rings every resident; someone else was quicker.
    endCall(t('end.elsewhere', { name: label(peer) }));
  } else if (s.phase === 'ringing') {
    endCall(t('end.missed', { name: label(peer) }), { kind: 'warn' });
  } else if (/connection lost/i.test(reason)) {
    endCall(t('end.lost', { name: label(peer) }), { kind: 'warn' });
  } else if (s.phase === 'calling') {
    endCall(t(/no answer/i.test(reason) ? 'end.noanswer' : 'end.ended', { name: label(peer) }));
  } else {
    endCall(t('end.hungup', { name: label(peer) }));
  }
}

function onError(m) {
  console.warn('intercom: the hub refused', m.text, m.reason);
  const reason = m.reason || 'refused';
  if (m.text === 'Open Door') doorAnswer(false, reason);
  else if (m.text === 'Invite' && s.phase === 'calling') endCall(t('end.couldnotcall', { name: label(s.peer), reason }), { kind: 'warn' });
  else if (/Session Description/.test(m.text) && s.phase === 'incall') endCall(t('end.failed', { reason }), { kind: 'warn', hangup: true });
}

// ---- placing, answering and ending calls ---------------------------------

// mode is the chosen mode: 'both', 'audio' or 'video'.
export function mode() {
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
      ? t('media.none')
      : t('media.https'), 'warn');
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
  say(t('media.failed', { reason: last && last.name === 'NotAllowedError' ? t('media.denied') : last && last.message }), 'warn');
  return null;
}

// prepare runs inside the click that starts or answers a call: it unlocks
// audio and gives the remote video element its stream while the browser
// still counts the click as a user gesture (autoplay rules).
function prepare(peer, kind) {
  tones.unlock();
  $('notice').hidden = true; // last call's words do not cover this one
  remoteEl.setAttribute('aria-label', t('call.picturefrom', { name: label(peer) }));
  s.peer = peer;
  s.peerKind = kind;
  s.muted = s.cameraOff = s.talking = s.looking = false;
  s.lastStats = null;
  s.doorResult = '';
  $('door-result').hidden = true;
  s.remote = new MediaStream();
  remoteEl.srcObject = s.remote;
  remoteEl.play().catch(() => {});
  for (const id of ['peer-name', 'outgoing-name']) $(id).textContent = label(peer);
  avatar($('outgoing-avatar'), peer, kind);
  avatar($('peer-avatar'), peer, kind);
  $('call').dataset.connected = 'false';
  $('call').dataset.remoteVideo = 'false';
  $('call').dataset.audioOnly = 'false';
  $('video-note').textContent = '';
  $('call-status').textContent = t('call.connecting');
}

// placeCall calls name (a user or a door in the online list).
export async function placeCall(name) {
  if (s.phase !== 'idle' || !signal.registered || !name || name === s.name) return;
  prepare(name, roster.kind(name));
  // A call to a door starts as a silent look: its picture and sound, our
  // microphone off and its in-call light off until Talk (param2 "look").
  s.looking = s.peerKind === 'door';
  setPhase('calling');
  const invite = { type: 'Invite', text: 'Start', to: name };
  if (s.looking) invite.param2 = 'look';
  s.inviteSent = signal.send(invite);
  if (!s.inviteSent) {
    endCall(t('end.offline'), { kind: 'warn' });
    return;
  }
  $('outgoing-status').textContent = t('calling.status');
  // No timer here: the hub ends an unanswered ring after the door's
  // ring_timeout with a Fail (no answer), and a lost socket ends it too.
  // The camera and microphone open while the other side rings: a door
  // answers at once, so this overlaps its answer instead of delaying the
  // Invite. accepted() waits for the same promise before it makes the offer.
  const pending = localMedia(s.peerKind);
  s.localPending = pending;
  const local = await pending;
  if (s.localPending !== pending) {
    stopTracks(local); // the call ended meanwhile
    return;
  }
  s.localPending = null;
  s.local = local;
  showLocal();
}

async function accepted() {
  tones.stop();
  setPhase('incall');
  if (s.localPending) {
    const peer = s.peer;
    await s.localPending; // placeCall, waiting on it first, has set s.local
    if (s.phase !== 'incall' || s.peer !== peer || s.call) return;
  }
  startCall('caller');
  s.call.offer();
}

// answer takes the call that is ringing.
export async function answer() {
  if (s.phase !== 'ringing') return;
  const peer = s.peer;
  tones.stop();
  prepare(peer, s.peerKind);
  $('incoming-label').textContent = t('call.connecting');
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

// reject declines the call that is ringing.
export function reject() {
  if (s.phase !== 'ringing') return;
  signal.send({ type: 'Invite', text: 'Rejected', to: s.peer });
  endCall('');
}

// hangup ends whatever call there is: ringing, calling or in a call.
export function hangup() {
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
  call.addEventListener('novideo', () => {
    const text = t('call.novideo', { name: label(s.peer) });
    $('video-note').textContent = text;
    $('call').dataset.audioOnly = 'true';
    s.log.push(text);
  });
  call.addEventListener('error', (e) => {
    console.error('intercom: call', e.detail.error);
    if (s.call === call) endCall(t('end.failed', { reason: e.detail.error.message }), { kind: 'warn', hangup: true });
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
    $('call-status').textContent = t('call.unstable');
  } else if (state === 'failed') {
    // ICE gave up (about 10 s): if media never flowed, nothing was lost;
    // the two could not reach each other.
    endCall(t(s.connectedAt ? 'end.mediafailed' : 'end.noconnect', { name: label(s.peer) }), { kind: 'warn', hangup: true });
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
  const time = clock((Date.now() - s.connectedAt) / 1000);
  $('call-status').textContent = t(s.looking ? 'call.looking' : 'call.connected', { time });
}

// endCall ends whatever call there is, says why (text), and tells the peer
// when the hub knows the call (hangup).
export function endCall(text, { hangup = false, kind = 'info' } = {}) {
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
  s.localPending = null;
  remoteEl.srcObject = null;
  localEl.srcObject = null;
  $('enable-audio').hidden = true;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  s.peer = '';
  s.inviteSent = false;
  s.connectedAt = 0;
  s.talking = s.looking = false;
  setPhase(s.name && signal.everRegistered ? 'idle' : 'signin');
  if (text) say(text, kind);
}

// trackOn says whether we send our kind ('audio' or 'video') track now:
// true, false (muted, camera off, push-to-talk released) or null (none).
export function trackOn(kind) {
  const t = s.local && s.local.getTracks().find((x) => x.kind === kind);
  return t ? t.enabled && t.readyState === 'live' : null;
}

function stopTracks(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}
