// app.js: intercomd's browser client, the main module. Plain JS modules, no
// build step; the protocol is docs/PROTOCOL.md. This module wires events to
// the others, keeps the test hooks and starts up: state.js (the state every
// module shares, and the page's words), signin.js (the name, the connection),
// callflow.js (the hub's messages, the calls), controls.js (in-call controls,
// the door, /healthz).
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
//   Ringing:   #caller (the caller's name), #answer, #reject, #ring-open
//              (the door's ring: hold to open without answering; the
//              result in #incoming-label and intercom.doorResult)
//   Tokens:    #tokens (with a login only), #token-name, #token-scope,
//              #token-days, #token-create, #token-secret, #token-list >
//              li[data-token=ID] button[data-revoke=ID], #token-error
//   In call:   #call[data-connected=true|false][data-remote-video=true|false]
//              [data-fit=cover|contain] [data-zoom=in|out]
//              [data-controls=shown|hidden] (picture.js: double tap or
//              pinch #remote to zoom, tap to show or hide the controls),
//              #remote (video), #local (preview), #peer-name, #call-status,
//              #mute, #camera, #ptt (hold to talk), #hangup, #fullscreen,
//              #talk (a call to a door starts as a silent look,
//              body[data-looking=true]: the microphone off until #talk),
//              #enable-audio (shown when autoplay was blocked),
//              #open-door (door calls only; opens after a 1 s hold
//              [data-holding=true] or two keyboard presses [data-armed]),
//              #door-result[data-result=
//              pending|ok|fail] (the door's answer, in words)
//   History:   #history (a <details>, hidden while the history is off;
//              opening it marks the listed missed rings seen),
//              #history-badge (unseen missed rings), #history-list >
//              li.entry[data-id][data-kind=ring|look|open|lost]
//              [data-outcome=missed|answered|talked|...][data-seen]
//              > button[data-entry=ID] (img.thumb), #history-more,
//              #history-clear (press twice), dialog#entry (#entry-picture,
//              #entry-title, #entry-details, #entry-delete, #entry-close)
//   Settings:  #settings (a <details>: click its summary to open), then
//              input[name=mode] #mode-both #mode-audio #mode-video,
//              #ptt-enabled; #look: #lang (a <select>: '' = the browser's
//              language, en de fr es it nl), #theme ('' light dark)
//   Words:     i18n.js; <html lang> is the language in use
//
//   window.intercom (read-only getters and actions):
//     state, conn, name, peer, peerKind, users [{name, kind}], notice,
//     log [every notice and banner text], ringing ('ring'|'ringback'|''),
//     audio (the ringtone's AudioContext state: running|suspended|none),
//     mic, camera (true|false|null: sending, muted/off, no such track),
//     registrations (successful Registers), doorResult, health (/healthz),
//     history {entries, unseen, loaded} (as last fetched),
//     lastStats (polled each second in a call, see stats()),
//     stats() -> Promise<{video, audio, outVideo, outAudio, rtt}> from
//       getStats (video.framesDecoded, frameWidth, ...), or null
//     connect(name), call(name), answer(), reject(), hangup(), openDoor()

import { t, language, languages, chosen, browserLanguage, setLanguage } from './i18n.js';
import { $ } from './view.js';
import { holdToAct } from './hold.js';
import './picture.js';
import { s, store, signal, roster, tones, remoteEl, audioHint, drawUsers } from './state.js';
import { checkName, connect, signOut, onRegistered, onRefused, onConnState, onLost } from './signin.js';
import { onMessage, mode, placeCall, answer, reject, hangup, trackOn } from './callflow.js';
import { wireHistory, historyState } from './history.js';
import { drawControls, pttOn, applyMic, toggleMute, toggleCamera, talk, speak, openDoor, openFromRing, fetchHealth } from './controls.js';

// ---- wiring --------------------------------------------------------------

signal.addEventListener('registered', onRegistered);
signal.addEventListener('refused', onRefused);
signal.addEventListener('state', onConnState);
signal.addEventListener('lost', onLost);
signal.addEventListener('message', onMessage);
wireHistory();

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
// The door opens after a hold of a second (or two presses from the
// keyboard), so a slip of the finger cannot open it.
holdToAct($('open-door'), 1000, openDoor, (text) => {
  $('open-door-label').textContent = text || t('call.holdopen');
  if (text) s.log.push(text);
});
$('talk').addEventListener('click', speak);
// Open door on the ringing screen (the door's ring only): the visitor is
// let in without answering; the ring goes on until answered or declined.
holdToAct($('ring-open'), 1000, openFromRing, (text) => {
  $('ring-open-label').textContent = text || t('call.holdopen');
  if (text) s.log.push(text);
});
$('enable-audio').addEventListener('click', () => {
  remoteEl.play().then(() => ($('enable-audio').hidden = true), () => {});
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

// Escape closes the dialog on top: cancels a call being placed, declines a
// ring, ends a call (unless it leaves full screen, which the browser does).
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  if (s.phase === 'calling' || s.phase === 'ringing') hangup();
  else if (s.phase === 'incall' && !document.fullscreenElement) hangup();
});

for (const r of document.querySelectorAll('input[name=mode]')) {
  if (r.value === store.get('mode', 'both')) r.checked = true;
  r.addEventListener('change', () => store.set('mode', mode()));
}
// Language: the browser's unless one is chosen here. Each language is
// listed in its own words.
const lang = $('lang');
for (const [code, name] of Object.entries(languages)) lang.add(new Option(name, code));
lang.value = chosen();
lang.addEventListener('change', () => setLanguage(lang.value));
window.addEventListener('languagechanged', () => {
  drawUsers();
  if (!$('connect').disabled) $('connect').textContent = t('signin.connect');
});
// Colours: the system's (prefers-color-scheme) unless chosen here.
const theme = $('theme');
theme.value = store.get('theme');
document.documentElement.dataset.theme = theme.value;
theme.addEventListener('change', () => {
  store.set('theme', theme.value);
  document.documentElement.dataset.theme = theme.value;
});
// The browser's own language changed (in its settings): follow it unless
// one is chosen here.
window.addEventListener('languagechange', () => {
  if (!chosen() && browserLanguage() !== language()) setLanguage('');
});

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
let healthTicks = 0;
setInterval(() => {
  // Every 16 s (the version, the door's display name, whether it keeps a
  // history); presence comes live with the hub's lists.
  if (!signal.registered || document.visibilityState !== 'visible') return;
  if (++healthTicks % 4 === 0) fetchHealth();
}, 4000);

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
  get looking() { return s.looking; },
  get camera() { return trackOn('video'); },
  get registrations() { return signal.registrations; },
  get doorResult() { return s.doorResult; },
  get health() { return s.health; },
  get lastStats() { return s.lastStats; },
  get history() { return historyState; },
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
