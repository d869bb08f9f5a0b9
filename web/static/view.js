// view.js: small DOM helpers for app.js. Names from other users are only
// ever set as text (never as HTML).

import { t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

// avatar shows a name's first letter on a colour derived from the name, so
// the same person always looks the same.
export function avatar(el, name, kind = 'browser') {
  el.textContent = '';
  if (kind === 'door') {
    el.append(icon('i-door'));
  } else {
    el.textContent = (Array.from(name.trim())[0] || '?').toUpperCase();
  }
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  el.dataset.hue = String(Math.floor(h / 30)); // 12 palette entries in CSS
  el.dataset.kind = kind;
}

export function icon(id, cls = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(ns, 'use');
  use.setAttribute('href', '#' + id);
  svg.append(use);
  return svg;
}

// presenceText is what a user's presence (the hub's: '' available,
// 'ringing', 'incall' with whom for a door) reads as.
function presenceText(u, label) {
  const door = u.kind === 'door';
  if (u.state === 'incall') {
    if (door && u.with) return t('door.incallwith', { name: label(u.with) });
    return t(door ? 'door.incall' : 'user.incall');
  }
  if (u.state === 'ringing') return t(door ? 'door.ringing' : 'user.ringing');
  return t(door ? 'door.ready' : 'user.available');
}

// renderUsers draws the online list: doors first as big cards with a
// one-tap call, then people, then residents away whose phones ring by push.
// Each says its presence, live from the hub's lists. enabled says whether
// calls can be placed now; label gives a name's words (the door's display
// name).
let drawn = '';
let rows = '';
export function renderUsers(users, enabled, label = (n) => n) {
  // Redraw only when something shown changed, so a focused Call button
  // (keyboard, screen reader) and a finger on its way to it keep their
  // target.
  const sig = JSON.stringify([users.map((u) => [u.name, u.kind, !!u.away, label(u.name), u.state, u.with, label(u.with || '')]),
    enabled, t('user.available')]);
  const ul = $('users');
  if (sig === drawn && ul.childElementCount === users.length) return;
  drawn = sig;
  // The same people in the same order (a presence or enabled change, as
  // after every call): their rows are updated in place, so the button
  // under a finger or the keyboard is still the one it pressed.
  const same = JSON.stringify([users.map((u) => [u.name, u.kind, !!u.away, label(u.name)]), t('user.available')]);
  if (same === rows && ul.childElementCount === users.length) {
    users.forEach((u, i) => fillUser(ul.children[i], u, enabled, label));
    return;
  }
  rows = same;
  ul.textContent = '';
  for (const u of users) {
    const door = u.kind === 'door';
    const li = document.createElement('li');
    li.className = door ? 'user door' : 'user';
    li.dataset.user = u.name;
    li.dataset.kind = u.kind;
    const av = document.createElement('span');
    av.className = door ? 'avatar big' : 'avatar';
    avatar(av, u.name, u.kind);
    const who = document.createElement('span');
    who.className = 'who';
    const name = document.createElement('span');
    name.className = 'uname';
    name.textContent = label(u.name);
    const sub = document.createElement('span');
    sub.className = 'sub';
    if (u.away) li.classList.add('away');
    who.append(name, sub);
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = door ? 'call primary' : 'call round success small';
    btn.dataset.call = u.name;
    btn.setAttribute('aria-label', t('user.call', { name: label(u.name) }));
    btn.append(icon('i-phone'));
    if (door) {
      const label = document.createElement('span');
      label.textContent = t('user.callshort');
      btn.append(label);
    }
    li.append(av, who, btn);
    fillUser(li, u, enabled, label);
    ul.append(li);
  }
  $('empty').hidden = users.length > 0;
}

// fillUser sets what changes in a user's row: presence and whether its
// Call button works now.
function fillUser(li, u, enabled, label) {
  const door = u.kind === 'door';
  // Presence: nobody calls someone busy blind.
  const state = u.away ? '' : presenceText(u, label);
  li.querySelector('.sub').textContent = door ? t('user.doorstate', { state }) : u.away ? t('user.away') : state;
  li.dataset.state = u.away ? 'away' : u.state || 'available';
  li.querySelector('button[data-call]').disabled = !enabled;
}

// clock formats seconds as m:ss or h:mm:ss.
export function clock(sec) {
  const s = Math.floor(sec % 60).toString().padStart(2, '0');
  const m = Math.floor(sec / 60) % 60;
  const h = Math.floor(sec / 3600);
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
