// notify.js: the installable app and the door's push notifications, as the
// page sees them. It registers the service worker (sw.js), offers "Install"
// where the browser allows it, lets the resident turn notifications on for
// this device (with quiet hours), lists and removes their devices, and,
// when the page was opened from a ring notification (?answer=door, or
// ?answer=NAME for a resident's call, or a message from the worker), takes
// that call as soon as it rings here.
//
// Test hooks: #notifications (a <details>), #push-status, #push-enable,
// #push-test, #push-devices > li[data-device=ID] button[data-remove],
// #quiet-mode (''|silent|off), #quiet-from, #quiet-to, #install, #ios-hint;
// window.intercomPush: { ready (Promise of the registration or null),
// answering (true while a tap on a ring waits for the call) }.

import { t, language } from './i18n.js';
import { roster, drawUsers } from './state.js';

const $ = (id) => document.getElementById(id);
// Only over HTTPS: plain http://localhost (make run, the tests) gets the
// page as it always was, with no worker in between.
const secure = location.protocol === 'https:' && 'serviceWorker' in navigator;
const ios = /iPhone|iPad|iPod/.test(navigator.userAgent) || (/Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 1);
const standalone = matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
const STORE = 'intercom.pushDevice';

const ready = secure
  ? navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(() => navigator.serviceWorker.ready, () => null)
  : Promise.resolve(null);

// The worker writes the notifications in the resident's language: tell it
// which, now and whenever it changes.
function tellLanguage() {
  ready.then((reg) => reg && reg.active && reg.active.postMessage({ lang: language() }));
}
tellLanguage();
window.addEventListener('languagechanged', tellLanguage);

// ---- answering from a notification ----------------------------------------

let answerUntil = 0;
let answerWho = 'door';
function answerSoon(who) {
  answerWho = who || 'door';
  answerUntil = Date.now() + 60000;
  tryAnswer();
}
function tryAnswer() {
  const ic = window.intercom;
  if (!ic || Date.now() > answerUntil) return;
  if (ic.state === 'ringing' && (answerWho === 'door' ? ic.peerKind === 'door' : ic.peer === answerWho)) {
    answerUntil = 0;
    ic.answer();
  }
}
new MutationObserver(tryAnswer).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
const params = new URLSearchParams(location.search);
// ?answer=door: the door's ring; ?answer=NAME: that resident's call.
const answerParam = params.get('answer');
if (answerParam) {
  params.delete('answer');
  const q = params.toString();
  history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
  answerSoon(answerParam);
}
if (secure) {
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && typeof e.data.answer === 'string') answerSoon(e.data.answer);
  });
}

// ---- install ---------------------------------------------------------------

let installEvent = null;
window.addEventListener('beforeinstallprompt', (e) => {
  e.preventDefault();
  installEvent = e;
  $('install').hidden = false;
});
$('install').addEventListener('click', async () => {
  if (!installEvent) return;
  installEvent.prompt();
  await installEvent.userChoice.catch(() => null);
  installEvent = null;
  $('install').hidden = true;
});
window.addEventListener('appinstalled', () => ($('install').hidden = true));

// ---- notifications -----------------------------------------------------------

function say(text) {
  $('push-status').textContent = text;
}

function keyBytes(b64) {
  const s = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function sameKey(a, b) {
  if (!a || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

function label() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : ios ? 'iPhone/iPad' : /Windows/.test(ua) ? 'Windows' : /Mac/.test(ua) ? 'Mac' : /Linux/.test(ua) ? 'Linux' : 'Device';
  const br = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${os} · ${br}`;
}

function quiet() {
  const mode = $('quiet-mode').value;
  return mode ? { from: $('quiet-from').value || '22:00', to: $('quiet-to').value || '07:00', mode } : undefined;
}

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...opts });
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw Object.assign(new Error((body && body.error) || `HTTP ${r.status}`), { status: r.status });
  return body;
}

let publicKey = null;
async function pushInfo(name) {
  const q = name ? '?resident=' + encodeURIComponent(name) : '';
  const info = await api('/api/push' + q);
  publicKey = info.publicKey;
  return info;
}

// save hands this browser's subscription to the door (again: the door
// keeps one entry per subscription, so this also updates quiet hours).
async function save(reg, name) {
  const key = keyBytes(publicKey);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const out = await api('/api/push/devices', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ resident: name, label: label(), subscription: sub.toJSON(), quiet: quiet() }),
  });
  localStorage.setItem(STORE, out.id);
  // For pushsubscriptionchange in sw.js: who this device is.
  if (reg.active) reg.active.postMessage({ pushDevice: { resident: name, label: label(), quiet: quiet() } });
  return out.id;
}

async function enable() {
  const name = window.intercom && window.intercom.name;
  if (!name) return say(t('push.noname'));
  if (!secure) return say(t('push.nohttps'));
  if (ios && !standalone) return say(t('push.ios'));
  $('push-enable').disabled = true;
  try {
    if ((await Notification.requestPermission()) !== 'granted') {
      return say(t('push.blocked'));
    }
    const reg = await ready;
    if (!reg) return say(t('push.nosw'));
    await pushInfo(name);
    await save(reg, name);
    say(t('push.on'));
    await refresh();
  } catch (err) {
    say(t('push.onfail', { reason: err.message }));
  } finally {
    $('push-enable').disabled = false;
  }
}

async function refresh() {
  const name = window.intercom && window.intercom.name;
  const list = $('push-devices');
  if (!name) return;
  let info;
  try {
    info = await pushInfo(name);
  } catch (err) {
    $('notifications').hidden = err.status === 404;
    return;
  }
  if (info.enabled === false) { // push is off on this door
    roster.setAway([]);
    $('notifications').hidden = true;
    return;
  }
  $('notifications').hidden = false;
  roster.setAway(info.residents);
  drawUsers();
  const mine = localStorage.getItem(STORE);
  list.replaceChildren(...info.devices.map((d) => {
    const li = document.createElement('li');
    li.dataset.device = d.id;
    const text = document.createElement('span');
    text.textContent = (d.label || d.service) + (d.id === mine ? ' ' + t('push.thisdevice') : '') +
      (d.quiet ? ' · ' + t('push.quietspan', { from: d.quiet.from, to: d.quiet.to, mode: d.quiet.mode }) : '');
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'ghost small';
    rm.dataset.remove = d.id;
    rm.textContent = t('push.remove');
    li.append(text, rm);
    return li;
  }));
  const here = info.devices.find((d) => d.id === mine);
  if (here && here.quiet) {
    $('quiet-mode').value = here.quiet.mode;
    $('quiet-from').value = here.quiet.from;
    $('quiet-to').value = here.quiet.to;
  }
  $('push-test').hidden = !here;
  if (!$('push-status').textContent) {
    say(t(here ? 'push.rings' : 'push.turnon'));
  }
}

$('push-devices').addEventListener('click', async (e) => {
  const b = e.target.closest('[data-remove]');
  if (!b) return;
  b.disabled = true;
  try {
    await api('/api/push/devices/' + encodeURIComponent(b.dataset.remove), { method: 'DELETE' });
    if (b.dataset.remove === localStorage.getItem(STORE)) {
      localStorage.removeItem(STORE);
      const reg = await ready;
      const sub = reg && (await reg.pushManager.getSubscription());
      if (sub) await sub.unsubscribe();
      say(t('push.off'));
    }
  } catch (err) {
    say(t('push.removefail', { reason: err.message }));
  }
  refresh();
});
$('push-enable').addEventListener('click', enable);
$('push-test').addEventListener('click', async () => {
  const id = localStorage.getItem(STORE);
  if (!id) return;
  try {
    await api('/api/push/devices/' + encodeURIComponent(id) + '/test', { method: 'POST' });
    say(t('push.sent'));
  } catch (err) {
    say(t('push.sendfail', { reason: err.message }));
  }
});
for (const id of ['quiet-mode', 'quiet-from', 'quiet-to']) {
  $(id).addEventListener('change', async () => {
    const reg = await ready;
    const name = window.intercom && window.intercom.name;
    if (!reg || !name || !localStorage.getItem(STORE) || Notification.permission !== 'granted') return;
    try {
      await save(reg, name);
      say(t('push.quietsaved'));
    } catch (err) {
      say(t('push.quietfail', { reason: err.message }));
    }
  });
}
$('ios-hint').hidden = !(ios && !standalone);

// Once connected (the name is known), show the devices, and hand the door
// this browser's subscription again if notifications are on here: it may
// have changed, or the resident changed names.
new MutationObserver(async () => {
  if (document.body.dataset.conn !== 'online') return;
  await refresh();
  const reg = await ready;
  const name = window.intercom && window.intercom.name;
  if (reg && name && publicKey && localStorage.getItem(STORE) && Notification.permission === 'granted') {
    save(reg, name).then(refresh, () => {});
  }
}).observe(document.body, { attributes: true, attributeFilter: ['data-conn'] });

window.intercomPush = Object.freeze({
  ready,
  get answering() { return Date.now() < answerUntil; },
});
