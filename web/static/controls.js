// controls.js: what a resident does in a call: mute, camera, push-to-talk
// (the microphone only while held) and opening the door, with the door's
// answer in words; and the device's /healthz, which shows the door's state
// in the online list.

import { t } from './i18n.js';
import { $ } from './view.js';
import { s, signal, remoteEl, localEl, drawUsers } from './state.js';

// ---- in-call controls ----------------------------------------------------

// showLocal shows our own picture, if we send one.
export function showLocal() {
  const hasVideo = !!s.local && s.local.getVideoTracks().length > 0;
  const hasAudio = !!s.local && s.local.getAudioTracks().length > 0;
  document.body.dataset.localVideo = String(hasVideo);
  document.body.dataset.localAudio = String(hasAudio);
  localEl.srcObject = hasVideo ? s.local : null;
  if (hasVideo) localEl.play().catch(() => {});
  drawControls();
}

// pttOn says whether push-to-talk rules the microphone now (chosen in the
// settings, and there is a microphone).
export function pttOn() {
  return $('ptt-enabled').checked && !!s.local && s.local.getAudioTracks().length > 0;
}

// applyMic sends the microphone or not, after mute and push-to-talk.
export function applyMic() {
  const talk = !s.looking && (pttOn() ? s.talking : !s.muted);
  if (s.local) for (const t of s.local.getAudioTracks()) t.enabled = talk;
  // Half duplex while holding to talk: the door's speaker would otherwise
  // come back through our microphone.
  remoteEl.volume = pttOn() && s.talking ? 0.2 : 1;
  drawControls();
}

// drawControls shows the controls' state (aria-pressed, body[data-ptt]).
export function drawControls() {
  document.body.dataset.ptt = String(pttOn());
  document.body.dataset.looking = String(s.looking);
  $('mute').setAttribute('aria-pressed', String(s.muted));
  $('camera').setAttribute('aria-pressed', String(s.cameraOff));
  $('ptt').setAttribute('aria-pressed', String(s.talking));
  $('fullscreen').hidden = !document.fullscreenEnabled;
}

export function toggleMute() {
  s.muted = !s.muted;
  applyMic();
}

export function toggleCamera() {
  s.cameraOff = !s.cameraOff;
  if (s.local) for (const t of s.local.getVideoTracks()) t.enabled = !s.cameraOff;
  drawControls();
}

// talk starts (on) or ends push-to-talk.
export function talk(on) {
  if (s.talking === on) return;
  s.talking = on;
  applyMic();
}

// ---- the door ------------------------------------------------------------

// speak ends a silent look: the microphone goes on and the door, told by
// Talk, lights its in-call light.
export function speak() {
  if (!s.looking || s.phase !== 'incall') return;
  s.looking = false;
  signal.send({ type: 'Talk', text: 'On', to: s.peer });
  applyMic();
  s.log.push('Talking to ' + s.peer);
}

// openDoor asks the door we are talking to to open; the door's answer (or
// its silence for 8 s) shows in #door-result.
export function openDoor() {
  if (s.phase !== 'incall' || s.peerKind !== 'door') return;
  if (!signal.send({ type: 'Open Door', to: s.peer })) return;
  doorResult('pending', t('door.opening'));
  clearTimeout(s.timers.door);
  s.timers.door = setTimeout(() => doorResult('fail', t('door.noanswer')), 8000);
}

// openFromRing opens the door that rings us, without answering
// (POST /api/door/open); the result shows under the caller's name.
export async function openFromRing() {
  if (s.phase !== 'ringing' || s.peerKind !== 'door') return;
  let text;
  try {
    const r = await fetch('/api/door/open?by=' + encodeURIComponent(s.name), { method: 'POST', credentials: 'same-origin' });
    text = r.ok ? t('door.opened') : t('door.failedwhy', { reason: (await r.text()).trim() || r.status });
    s.doorResult = r.ok ? 'ok' : 'fail';
  } catch {
    text = t('door.failedwhy', { reason: 'offline' });
    s.doorResult = 'fail';
  }
  if (s.phase !== 'ringing') return;
  $('incoming-label').textContent = text;
  s.log.push(text);
}

// doorAnswer takes the door's answer to Open Door (or the hub's refusal).
export function doorAnswer(ok, reason) {
  if (s.phase !== 'incall') return;
  clearTimeout(s.timers.door);
  if (ok) doorResult('ok', t('door.opened'));
  else doorResult('fail', reason ? t('door.failedwhy', { reason }) : t('door.failed'));
}

function doorResult(result, text) {
  s.doorResult = result;
  const el = $('door-result');
  el.dataset.result = result;
  el.textContent = text;
  el.hidden = false;
  s.log.push(text);
}

// fetchHealth reads /healthz: the version, and the door's state.
export async function fetchHealth() {
  try {
    const r = await fetch('/healthz', { cache: 'no-store' });
    if (!r.ok) return;
    s.health = await r.json();
    $('version').textContent = s.health.version ? 'intercomd ' + s.health.version : '';
    drawUsers();
    document.dispatchEvent(new CustomEvent('health'));
  } catch {
    // offline: the banner says so
  }
}
