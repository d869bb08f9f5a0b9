// state.js: what the client's modules share: the page's state, the hub
// connection, the roster, the tones, and the page's words (the notice, the
// banner, the phase in body[data-state]). The other modules import this one
// and it imports none of them, so the imports form no circle.

import { t } from './i18n.js';
import { Signal } from './signal.js';
import { Roster } from './roster.js';
import { Tones } from './tones.js';
import { $, renderUsers } from './view.js';

const wsURL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
export const signal = new Signal(wsURL);
export const roster = new Roster();
export const tones = new Tones();
export const remoteEl = $('remote');
export const localEl = $('local');

// s is the page's state; every module reads and writes this one object.
export const s = {
  phase: 'signin',
  name: '',
  peer: '',
  peerKind: 'browser',
  inviteSent: false, // the hub knows this call (so Hangup means something)
  call: null,
  local: null,
  localPending: null, // the caller's camera and microphone while they open
  remote: null,
  muted: false,
  cameraOff: false,
  talking: false,
  looking: false, // a silent look at the door: our microphone off until Talk
  notice: '',
  log: [],
  doorResult: '',
  health: null,
  lastStats: null,
  connectedAt: 0,
  timers: {},
  wake: null,
};

// store remembers settings (the name, the mode, push-to-talk) in localStorage.
export const store = {
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

// say puts text in the notice and in s.log (which the tests read); a
// notice that is not sticky goes away after 4 s.
export function say(text, kind = 'info', sticky = true) {
  s.notice = text;
  s.log.push(text);
  console.info('intercom:', text);
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = false;
  clearTimeout(s.timers.notice);
  if (!sticky) s.timers.notice = setTimeout(() => ($('notice').hidden = true), 4000);
}

// banner shows the connection's trouble above everything; '' hides it.
export function banner(text) {
  $('banner').hidden = !text;
  $('banner-text').textContent = text;
  if (text) s.log.push(text);
}

// ---- phases --------------------------------------------------------------

// setPhase switches the screen (body[data-state]) and keeps the screen on
// while in a call.
export function setPhase(p) {
  s.phase = p;
  document.body.dataset.state = p;
  document.body.dataset.peerKind = s.peer ? s.peerKind : '';
  const titles = {
    calling: t('title.calling', { name: label(s.peer) }),
    ringing: t('title.ringing', { name: label(s.peer) }),
    incall: t('title.incall', { name: label(s.peer) }),
  };
  document.title = titles[p] ? `${titles[p]} · Intercom` : 'Intercom';
  if (p === 'incall') {
    navigator.wakeLock?.request('screen').then((l) => (s.wake = l), () => {});
  } else if (s.wake) {
    s.wake.release().catch(() => {});
    s.wake = null;
  }
  drawUsers();
  trapFocus(p);
  document.dispatchEvent(new CustomEvent('phase', { detail: p }));
}

// The calling, ringing and call screens are modal dialogs: everything else
// is inert (out of reach of Tab and of screen readers) while one is up.
const dialogs = { calling: 'outgoing', ringing: 'incoming', incall: 'call' };

// trapFocus makes phase p's dialog the only live part of the page and puts
// the focus where the resident acts next: Answer on a ring, Cancel while
// calling, End in a call; back on the list, on the one just called.
function trapFocus(p) {
  const dialog = dialogs[p] ? $(dialogs[p]) : null;
  for (const el of document.querySelectorAll('body > header, body > main, body > footer, body > [role=dialog]')) {
    el.inert = !!dialog && el !== dialog;
  }
  if (p === 'ringing') $('answer').focus();
  else if (p === 'calling') $('cancel').focus();
  else if (p === 'incall' && !dialog.contains(document.activeElement)) $('hangup').focus();
  if (dialog) {
    s.lastPeer = s.peer;
  } else if (p === 'idle' && (!document.activeElement || document.activeElement === document.body)) {
    const b = document.querySelector(`#users [data-call="${CSS.escape(s.lastPeer || '')}"]`);
    if (b) b.focus({ preventScroll: true });
  }
}

// label is how a name reads in words: the door's display name (its config's
// display_name, from /healthz: "Front door") for the door, else the name.
export function label(name) {
  const h = s.health;
  return h && h.display_name && h.device && h.device.name === name ? h.display_name : name;
}

// drawUsers redraws the online list; calls can be placed only when idle
// and registered.
export function drawUsers() {
  const enabled = s.phase === 'idle' && signal.registered;
  renderUsers(roster.callable(s.name), enabled, label);
}

// audioHint shows the hint to tap once while the ringtone cannot sound yet
// (browsers start audio only after a gesture).
export function audioHint() {
  $('audio-hint').hidden = tones.audible || !tones.ctx;
}
