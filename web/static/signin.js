// signin.js: signing in with a name and staying connected: the name's
// checks, the hub's answer to Register, and what the page says while the
// connection is lost and retried. app.js hands Signal's events to the on*
// functions here.

import { t } from './i18n.js';
import { $ } from './view.js';
import { s, store, signal, roster, say, banner, setPhase, drawUsers, audioHint, label } from './state.js';
import { endCall } from './callflow.js';
import { fetchHealth } from './controls.js';

// checkName says what is wrong with a name, or '' when it will do.
export function checkName(name) {
  if (!name) return t('signin.empty');
  if ([...name].length > 32) return t('signin.long');
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return t('signin.chars');
  return '';
}

// connect registers name with the hub (and remembers it).
export function connect(name) {
  name = String(name).trim();
  const err = checkName(name);
  $('signin-error').textContent = err;
  if (err) return;
  s.name = name;
  store.set('name', name);
  $('name').value = name;
  $('connect').disabled = true;
  $('connect').textContent = t('call.connecting');
  signal.start(name);
}

// signOut ends any call and the connection, and goes back to signing in.
export function signOut() {
  if (s.phase !== 'idle') endCall('', { hangup: true });
  signal.stop();
  roster.full([]);
  $('me').hidden = true;
  banner('');
  $('connect').disabled = false;
  $('connect').textContent = t('signin.connect');
  setPhase('signin');
  $('name').focus();
}

// onRegistered handles Signal's registered: the hub took our name.
export function onRegistered(e) {
  $('me-name').textContent = s.name;
  $('me').hidden = false;
  $('connect').disabled = false;
  $('connect').textContent = t('signin.connect');
  banner('');
  if (s.phase === 'signin') setPhase('idle');
  if (e.detail.again) say(t('conn.back'), 'info', false);
  drawUsers();
  fetchHealth();
  audioHint();
}

// onRefused handles Signal's refused: the hub will not take our name.
export function onRefused(e) {
  const reason = e.detail.reason;
  $('signin-error').textContent = /in use/i.test(reason)
    ? t('signin.inuse', { name: s.name })
    : t('signin.refused', { reason });
  $('connect').disabled = false;
  $('connect').textContent = t('signin.connect');
  $('me').hidden = true;
  setPhase('signin');
}

// onConnState handles Signal's state: body[data-conn], and the words while
// the connection is lost (the banner counts down to the next try).
export function onConnState(e) {
  const { state, retryIn } = e.detail;
  document.body.dataset.conn = state;
  drawUsers();
  clearInterval(s.timers.countdown);
  if (state === 'online') return;
  if (!signal.wanted) return;
  if (!signal.everRegistered) {
    if (state === 'offline') $('signin-error').textContent = t('conn.unreachable');
    return;
  }
  if (state === 'connecting') {
    banner(t('conn.reconnecting'));
    return;
  }
  const until = Date.now() + retryIn;
  const tick = () => {
    const left = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    banner(t('conn.retryin', { s: left }));
  };
  tick();
  s.timers.countdown = setInterval(tick, 1000);
}

// onLost handles Signal's lost: a call cannot outlive the hub's socket.
export function onLost() {
  const peer = s.peer;
  if (s.phase === 'ringing') endCall(t('end.missedlost', { name: label(peer) }), { kind: 'warn' });
  else if (s.phase === 'calling' || s.phase === 'incall') endCall(t('end.netlost'), { kind: 'warn' });
  drawUsers();
}
