// panel.js: the simulated door panel (/panel). It shows the panel's lights
// and door relay live from /api/panel/events (Server-Sent Events) and presses
// its buttons with POST /api/panel/press. Without a simulated panel (real
// GPIO, or none) /api/panel is absent and the page says so.
//
// Test hooks: body[data-panel] is loading | live | absent | offline;
// #led-NAME[data-state] is off | on | blink; #relay[data-state] is open |
// closed; #press-NAME are the buttons, and body[data-last-press] is
// "NAME:STATUS" of the last press sent. body[data-conn] drives session.js.
// Its words are the resident's language (i18n.js), as in the app.

import { t } from './i18n.js';

const LIGHT_WORDS = { off: 'panel.off', on: 'panel.on', blink: 'panel.blink' };
const body = document.body;
const $ = (id) => document.getElementById(id);

document.title = t('panel.doctitle');

function setConn(conn, words) {
  body.dataset.conn = conn; // session.js checks the login when it drops
  $('live-text').textContent = words;
}

function render(state) {
  const buttons = new Set(state.buttons || []);
  for (const b of document.querySelectorAll('[data-button]')) {
    b.closest('.press').hidden = !buttons.has(b.dataset.button);
  }
  const leds = state.leds || {};
  for (const name of ['ringing', 'incall', 'ready']) {
    const mode = leds[name];
    $('tile-' + name).hidden = mode === undefined;
    if (mode === undefined) continue;
    const led = $('led-' + name);
    if (led.dataset.state !== mode) {
      led.dataset.state = mode;
      $('led-' + name + '-text').textContent = LIGHT_WORDS[mode] ? t(LIGHT_WORDS[mode]) : mode;
    }
  }
  $('lights-card').hidden = Object.keys(leds).length === 0;
  const relay = $('relay');
  relay.hidden = !state.relay;
  if (state.relay) {
    relay.dataset.state = state.relay;
    const closed = state.relay === 'closed';
    $('relay-text').textContent = t(closed ? 'panel.unlocked' : 'panel.locked');
    $('relay-raw').textContent = t(closed ? 'panel.relayclosed' : 'panel.relayopen');
  }
}

let source = null;
let retry = 1000;

function listen() {
  source = new EventSource('/api/panel/events');
  source.onopen = () => {
    retry = 1000;
    body.dataset.panel = 'live';
    setConn('online', t('panel.live'));
  };
  source.onmessage = (e) => {
    try {
      render(JSON.parse(e.data));
    } catch (err) {
      console.warn('panel: bad event', err);
    }
  };
  source.onerror = () => {
    body.dataset.panel = 'offline';
    setConn('offline', t('panel.reconnecting'));
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (the server said no): start again ourselves,
      // first asking whether the panel still exists.
      source = null;
      setTimeout(start, retry);
      retry = Math.min(retry * 2, 15000);
    }
  };
}

async function start() {
  let r;
  try {
    r = await fetch('/api/panel', { cache: 'no-store', credentials: 'same-origin' });
  } catch {
    setConn('offline', t('panel.offline'));
    body.dataset.panel = 'offline';
    setTimeout(start, retry);
    retry = Math.min(retry * 2, 15000);
    return;
  }
  if (r.status === 404) {
    body.dataset.panel = 'absent';
    $('absent').hidden = false;
    setConn('online', '');
    return;
  }
  if (!r.ok) { // 401: session.js sends the page to the login
    setConn('offline', t('panel.unavailable', { status: r.status }));
    body.dataset.panel = 'offline';
    return;
  }
  render(await r.json());
  body.dataset.panel = 'live';
  if (!source) listen();
}

async function press(button) {
  const name = button.dataset.button;
  const words = button.getAttribute('aria-label');
  const error = $('error');
  error.textContent = '';
  button.classList.add('pressed');
  setTimeout(() => button.classList.remove('pressed'), 160);
  try {
    const r = await fetch('/api/panel/press', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ button: name }),
    });
    body.dataset.lastPress = name + ':' + r.status;
    if (r.status !== 204) {
      let reason = t('panel.said', { status: r.status });
      try { reason = (await r.json()).error || reason; } catch { /* not JSON */ }
      error.textContent = t('panel.pressfail', { button: words, reason });
    }
  } catch {
    body.dataset.lastPress = name + ':failed';
    error.textContent = t('panel.pressfail', { button: words, reason: t('panel.unreachable') });
  }
}

for (const b of document.querySelectorAll('[data-button]')) {
  b.addEventListener('click', () => press(b));
}
start();
