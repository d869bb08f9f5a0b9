// picture.js: the other side's picture in a call. It fills the screen
// (#call[data-fit=cover]); pinching or a double tap zooms into it (up to 4x,
// dragging moves about), a pinch below the screen's size shows the whole
// picture (data-fit=contain); a single tap shows or hides the controls, which
// also hide by themselves after a few seconds without a touch once the
// picture is there (data-controls=shown|hidden), on touch screens only: after
// a mouse or a key they stay (a mouse has no thumb over the picture, and a
// hidden button must not eat a click), and any key shows them.

import { $ } from './view.js';

const hideAfter = 4000;
const maxZoom = 4;
const call = $('call');
const video = $('remote');

let zoom = 1;
let ox = 50; // transform-origin, % of the picture
let oy = 50;
let touch = false; // the last pointer was a finger
let hideTimer = 0;
const pointers = new Map(); // pointerId -> {x, y}
let gesture = null; // {kind: 'pinch'|'pan', ...}
let lastTap = { t: 0, x: 0, y: 0 };

function draw() {
  video.style.transformOrigin = `${ox}% ${oy}%`;
  video.style.transform = zoom > 1 ? `scale(${zoom})` : '';
  call.dataset.zoom = zoom > 1 ? 'in' : 'out';
}

// reset is a new call's picture: filling the screen, not zoomed, controls up.
function reset() {
  zoom = 1;
  ox = oy = 50;
  call.dataset.fit = 'cover';
  draw();
  show();
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// where gives a pointer's place on the call screen in %.
function where(p) {
  const r = call.getBoundingClientRect();
  return [clamp(((p.x - r.left) / r.width) * 100, 0, 100), clamp(((p.y - r.top) / r.height) * 100, 0, 100)];
}

function zoomTo(z, at) {
  if (at) [ox, oy] = at;
  zoom = clamp(z, 1, maxZoom);
  draw();
}

// ---- controls ------------------------------------------------------------

function show() {
  call.dataset.controls = 'shown';
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hide, hideAfter);
}

function hide() {
  clearTimeout(hideTimer);
  // Only over a live picture, after a finger, never mid-gesture.
  if (!touch || pointers.size > 0 || call.dataset.remoteVideo !== 'true' || document.body.dataset.state !== 'incall') {
    return;
  }
  call.dataset.controls = 'hidden';
}

// ---- gestures ------------------------------------------------------------

function distance(a, b) {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

video.addEventListener('pointerdown', (e) => {
  pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  try {
    video.setPointerCapture(e.pointerId);
  } catch {
    // no capture: moves outside the picture are lost, nothing else
  }
  const [a, b] = [...pointers.values()];
  if (pointers.size === 2) {
    gesture = { kind: 'pinch', d0: distance(a, b), z0: zoom, fit: call.dataset.fit, at: where({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }) };
  } else if (pointers.size === 1) {
    gesture = { kind: 'pan', x: e.clientX, y: e.clientY, ox, oy, moved: false };
  }
});

video.addEventListener('pointermove', (e) => {
  if (!pointers.has(e.pointerId)) return;
  pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (!gesture) return;
  if (gesture.kind === 'pinch' && pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    const f = distance(a, b) / Math.max(gesture.d0, 1);
    gesture.f = f;
    if (gesture.fit === 'contain') {
      call.dataset.fit = f > 1.2 ? 'cover' : 'contain';
    } else {
      zoomTo(gesture.z0 * f, gesture.z0 === 1 ? gesture.at : null);
      call.dataset.fit = gesture.z0 === 1 && f < 0.8 ? 'contain' : 'cover';
    }
  } else if (gesture.kind === 'pan') {
    const dx = e.clientX - gesture.x;
    const dy = e.clientY - gesture.y;
    if (Math.hypot(dx, dy) > 10) gesture.moved = true;
    if (zoom > 1 && gesture.moved) {
      // A point of the picture moves by (1 - zoom) times the origin's move.
      const r = call.getBoundingClientRect();
      ox = clamp(gesture.ox - ((dx / r.width) * 100) / (zoom - 1), 0, 100);
      oy = clamp(gesture.oy - ((dy / r.height) * 100) / (zoom - 1), 0, 100);
      draw();
    }
  }
});

function pointerEnd(e) {
  if (!pointers.has(e.pointerId)) return;
  const p = pointers.get(e.pointerId);
  pointers.delete(e.pointerId);
  const g = gesture;
  if (!g || (g.kind === 'pinch' && pointers.size > 0)) return;
  gesture = null;
  if (g.kind === 'pan' && !g.moved && e.type === 'pointerup') tap(p);
}

// tap: one shows or hides the controls; two within 300 ms zoom in there
// (2.5x) or back out.
function tap(p) {
  const now = performance.now();
  const double = now - lastTap.t < 300 && Math.hypot(p.x - lastTap.x, p.y - lastTap.y) < 40;
  lastTap = double ? { t: 0, x: 0, y: 0 } : { t: now, x: p.x, y: p.y };
  if (double) {
    if (zoom > 1 || call.dataset.fit === 'contain') {
      zoom = 1;
      call.dataset.fit = 'cover';
      draw();
    } else {
      zoomTo(2.5, where(p));
    }
    return;
  }
  if (call.dataset.controls === 'hidden') show();
  else hide();
}

for (const ev of ['pointerup', 'pointercancel']) video.addEventListener(ev, pointerEnd);

// Any touch on the call screen outside the picture (a control) keeps the
// controls up; so does any key.
document.addEventListener('pointerdown', (e) => (touch = e.pointerType === 'touch'), { capture: true });
call.addEventListener('pointerdown', (e) => {
  if (e.target !== video) show();
});
call.addEventListener('focusin', () => {
  if (call.dataset.controls === 'hidden' && !touch) show();
});
document.addEventListener('keydown', () => {
  touch = false;
  if (document.body.dataset.state === 'incall') show();
});

// A new call (body[data-state] leaves incall) starts filled and unzoomed;
// the timer starts when the picture arrives.
new MutationObserver(() => {
  if (document.body.dataset.state !== 'incall') reset();
}).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
new MutationObserver(() => {
  if (call.dataset.remoteVideo === 'true') show();
}).observe(call, { attributes: true, attributeFilter: ['data-remote-video'] });
reset();
