// visitor.js: while the door rings, the ringing screen shows its picture
// (/api/snapshot.jpg, fetched again every second), so a resident sees who is
// there before answering. Nothing of the resident's is sent meanwhile: the
// call's camera and microphone start only on Answer.

import { s } from './state.js';

const $ = (id) => document.getElementById(id);
const every = 1000;

let timer = 0;
let url = '';

// showVisitor starts the preview for the ring now in s (the door's only).
export function showVisitor() {
  stopVisitor();
  if (s.peerKind !== 'door') return;
  const ring = s.peer;
  const tick = async () => {
    if (s.phase !== 'ringing' || s.peer !== ring) return stopVisitor();
    try {
      const r = await fetch('/api/snapshot.jpg', { cache: 'no-store', credentials: 'same-origin' });
      if (r.ok && s.phase === 'ringing' && s.peer === ring) {
        const next = URL.createObjectURL(await r.blob());
        $('visitor').src = next;
        $('visitor').hidden = false;
        $('caller-avatar').hidden = true;
        if (url) URL.revokeObjectURL(url);
        url = next;
      }
    } catch (e) {
      console.warn('intercom: no picture of the door', e);
    }
    if (s.phase === 'ringing' && s.peer === ring) timer = setTimeout(tick, every);
  };
  tick();
}

// stopVisitor ends the preview and hides the picture.
export function stopVisitor() {
  clearTimeout(timer);
  timer = 0;
  $('visitor').hidden = true;
  $('visitor').removeAttribute('src');
  $('caller-avatar').hidden = false;
  if (url) URL.revokeObjectURL(url);
  url = '';
}
