// history.js: the visitor history (docs/API.md, /api/events): who rang or
// looked at the door, when, who answered, with the pictures; missed rings
// marked and counted in a badge until the list has been looked at. Only a
// logged-in resident gets the list (the server checks); when the history is
// off or refused, the card stays hidden.

import { t, time, dateTime } from './i18n.js';
import { $ } from './view.js';
import { s } from './state.js';

const page = 30;

// h is the history as last fetched.
const h = {
  entries: [],
  unseen: 0,
  next: 0, // before= of the next older page; 0: no more
  loaded: false,
  busy: null, // the fetch in flight
  open: null, // the entry in the full-picture dialog
  shown: 0, // the id of the entry shown last, for the focus after it closes
};

export const historyState = {
  get entries() { return h.entries.map((e) => ({ ...e })); },
  get unseen() { return h.unseen; },
  get loaded() { return h.loaded; },
};

// refreshHistory fetches the newest page again and redraws; while the card
// is open, what it shows counts as seen.
export function refreshHistory() {
  if (h.busy) return h.busy;
  h.busy = load(0).finally(() => (h.busy = null));
  return h.busy;
}

async function load(before) {
  let r;
  try {
    r = await fetch('/api/events?limit=' + page + (before ? '&before=' + before : ''),
      { cache: 'no-store', credentials: 'same-origin' });
  } catch {
    return; // offline: the banner says so
  }
  if (!r.ok) {
    $('history').hidden = true; // off (503) or not for us (401)
    return;
  }
  const p = await r.json();
  h.entries = before ? h.entries.concat(p.events) : p.events;
  h.next = p.next || 0;
  h.unseen = p.unseen || 0;
  h.loaded = true;
  $('history').hidden = false;
  draw();
  if ($('history').open) markSeen();
}

// markSeen tells the door the resident saw the missed rings listed (up to
// the newest shown, so one that rang meanwhile keeps its badge).
async function markSeen() {
  if (!h.unseen || !h.entries.length) return;
  const upto = h.entries[0].id;
  try {
    const r = await fetch('/api/events/seen?upto=' + upto, { method: 'POST', credentials: 'same-origin' });
    if (!r.ok) return;
  } catch {
    return;
  }
  for (const e of h.entries) if (e.id <= upto && e.outcome === 'missed') e.seen = true;
  h.unseen = 0;
  drawBadge();
}

function drawBadge() {
  const b = $('history-badge');
  b.hidden = h.unseen === 0;
  b.textContent = String(h.unseen);
  b.setAttribute('aria-label', t('hist.badge', { n: h.unseen }));
}

function draw() {
  drawBadge();
  const ul = $('history-list');
  // A redraw keeps the keyboard's place: the entry that had the focus has
  // it again.
  const had = ul.contains(document.activeElement) && document.activeElement.closest('[data-entry]');
  ul.textContent = '';
  for (const e of h.entries) ul.append(row(e));
  if (had) focusEntry(had.dataset.entry);
  $('history-empty').hidden = h.entries.length > 0;
  $('history-more').hidden = !h.next;
  $('history-clear').hidden = h.entries.length === 0;
}

// what says an entry in a few words.
export function what(e) {
  switch (e.kind) {
    case 'ring':
      if (e.outcome === 'missed') return t('hist.missedring');
      if (e.outcome === 'answered') return e.peer ? t('hist.answeredby', { name: e.peer }) : t('hist.answered');
      return t('hist.ringing');
    case 'look':
      return t(e.outcome === 'talked' ? 'hist.talked' : 'hist.looked', { name: e.peer || t('hist.aresident') });
    case 'open':
      return (e.peer ? t('hist.openedby', { name: e.peer }) : t('hist.opened')) + (e.via ? ' · ' + e.via : '');
    case 'lost':
      return t('hist.notkept');
    default:
      return e.kind;
  }
}

function when(e) {
  const d = new Date(e.at);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? time(d)
    : dateTime(d);
}

function row(e) {
  const li = document.createElement('li');
  li.className = 'entry';
  li.dataset.id = String(e.id);
  li.dataset.kind = e.kind;
  li.dataset.outcome = e.outcome || '';
  li.dataset.seen = String(!!e.seen);
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'entry-open';
  b.dataset.entry = String(e.id);
  if (e.picture) {
    const img = document.createElement('img');
    img.className = 'thumb';
    img.loading = 'lazy';
    img.alt = '';
    img.src = `/api/events/${e.id}/thumb.jpg`;
    b.append(img);
  } else {
    const ph = document.createElement('span');
    ph.className = 'thumb none';
    b.append(ph);
  }
  const text = document.createElement('span');
  text.className = 'who';
  const title = document.createElement('span');
  title.className = 'uname';
  title.textContent = what(e);
  const sub = document.createElement('span');
  sub.className = 'sub';
  sub.textContent = when(e) + (e.opened ? ' · ' + t('hist.openedlower', { name: e.opened }) : '');
  text.append(title, sub);
  b.append(text);
  if (e.outcome === 'missed') {
    const mark = document.createElement('span');
    mark.className = 'missed';
    mark.textContent = t(e.seen ? 'hist.missed' : 'hist.new');
    b.append(mark);
  }
  li.append(b);
  return li;
}

// ---- one entry, full size ----------------------------------------------

function focusEntry(id) {
  const b = $('history-list').querySelector(`[data-entry="${id}"]`);
  if (b) b.focus();
}

function show(id) {
  const e = h.entries.find((x) => x.id === id);
  if (!e) return;
  h.open = e;
  h.shown = id;
  const img = $('entry-picture');
  img.hidden = !e.picture;
  if (e.picture) img.src = `/api/events/${e.id}/picture.jpg`;
  else img.removeAttribute('src');
  $('entry-title').textContent = what(e);
  const lines = [dateTime(new Date(e.at))];
  if (e.dur_ms) lines.push(t('hist.call', { s: Math.round(e.dur_ms / 1000) }));
  if (e.opened) lines.push(t('hist.openedby', { name: e.opened }));
  if (e.note) lines.push(e.note);
  $('entry-details').textContent = lines.join(' · ');
  $('entry').showModal();
}

function closeEntry() {
  h.open = null;
  if ($('entry').open) $('entry').close();
}

async function remove(path) {
  const r = await fetch(path, { method: 'DELETE', credentials: 'same-origin' }).catch(() => null);
  if (!r || !r.ok) {
    $('history-error').textContent = t('hist.deletefail', { reason: r ? r.status : t('hist.offline') });
    $('history-error').hidden = false;
    return false;
  }
  $('history-error').hidden = true;
  return true;
}

let clearTimer = 0;

// clearAll asks once more before it removes every entry: the first press
// turns the button into "Tap again to clear all" for a few seconds.
async function clearAll() {
  const b = $('history-clear');
  if (b.dataset.confirm !== 'true') {
    b.dataset.confirm = 'true';
    b.textContent = t('hist.clearconfirm');
    clearTimeout(clearTimer);
    clearTimer = setTimeout(resetClear, 4000);
    return;
  }
  resetClear();
  if (await remove('/api/events')) refreshHistory();
}

function resetClear() {
  clearTimeout(clearTimer);
  const b = $('history-clear');
  b.dataset.confirm = 'false';
  b.textContent = t('hist.clear');
}

// wireHistory connects the card and the dialog; the list is fetched when
// /healthz says there is one, and again after every call.
export function wireHistory() {
  // /healthz (fetched on connecting, every 15 s and when the page shows
  // again) says whether this door keeps a history.
  let last = 0;
  document.addEventListener('health', () => {
    if (!s.health || !s.health.history) {
      $('history').hidden = true;
    } else if (!h.loaded || Date.now() - last > 14000) {
      last = Date.now();
      refreshHistory();
    }
  });
  $('history').addEventListener('toggle', () => {
    if ($('history').open) refreshHistory();
  });
  $('history-list').addEventListener('click', (e) => {
    const b = e.target.closest('[data-entry]');
    if (b) show(Number(b.dataset.entry));
  });
  $('history-more').addEventListener('click', () => h.next && load(h.next));
  $('history-clear').addEventListener('click', clearAll);
  $('entry-close').addEventListener('click', closeEntry);
  // Closed (Escape too), the focus goes back to the entry, even when the
  // list was redrawn meanwhile and the button that opened it is gone: then
  // Chromium leaves the focus on the closed dialog's button (it moves to
  // the body only at the next layout).
  $('entry').addEventListener('close', () => {
    h.open = null;
    const a = document.activeElement;
    if (!a || a === document.body || !a.isConnected || $('entry').contains(a)) focusEntry(h.shown);
  });
  $('entry-delete').addEventListener('click', async () => {
    const e = h.open;
    if (!e) return;
    closeEntry();
    if (await remove(`/api/events/${e.id}`)) refreshHistory();
  });
  // A call takes the screen: the picture gives way. Back on the list, the
  // call just ended (a ring answered, missed or looked at) shows; the
  // door writes it a moment later, so once more after 2 s.
  document.addEventListener('phase', (e) => {
    if (e.detail !== 'idle') {
      closeEntry();
    } else if (h.loaded) {
      refreshHistory();
      setTimeout(refreshHistory, 2000);
    }
  });
}
