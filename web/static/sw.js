// sw.js: the service worker. It keeps the app shell for when the door is
// out of reach (never the API, the WebSocket or media), and shows the
// door's push notifications: a ring with the visitor's picture, replaced on
// every device by "Answered by ..." or "Missed call at ..." (same tag), and
// a resident's call to this one. The payload is push/message.go's:
// {v, kind, call, at, by, from, image, picture, decline, silent}.
// Its words are the resident's language: the page tells the worker which
// (see notify.js), the worker keeps it in Cache Storage with the device,
// so a ring on a locked phone with no page open reads the same.

const SHELL = 'intercom-shell-v1';
const SHELL_FILES = [
  '/', '/index.html', '/theme.css', '/style.css', '/app.js', '/state.js', '/view.js', '/signin.js',
  '/signal.js', '/callflow.js', '/call.js', '/controls.js', '/roster.js', '/tones.js', '/session.js',
  '/notify.js', '/visitor.js', '/history.js', '/hold.js', '/tokens.js', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png',
  '/icon-maskable-512.png', '/apple-touch-icon.png', '/badge-96.png', '/i18n.js', '/picture.js',
  '/lang/en.json', '/lang/de.json', '/lang/fr.json', '/lang/es.json', '/lang/it.json', '/lang/nl.json',
];

self.addEventListener('install', (event) => {
  // One missing file must not stop the worker: the shell is a convenience.
  event.waitUntil(caches.open(SHELL).then((c) =>
    Promise.all(SHELL_FILES.map((f) => c.add(new Request(f, { cache: 'no-cache' })).catch(() => {})))));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== SHELL && k !== PUSH) await caches.delete(k);
    await self.clients.claim();
  })());
});

// Shell files: the network first (an upgraded door serves a new client),
// the cache when the network fails. Everything else is not touched.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  const path = req.mode === 'navigate' && url.pathname === '/' ? '/' : url.pathname;
  if (!SHELL_FILES.includes(path)) return;
  event.respondWith((async () => {
    try {
      const resp = await fetch(req);
      if (resp.ok && !resp.redirected) {
        const copy = resp.clone();
        caches.open(SHELL).then((c) => c.put(path, copy)).catch(() => {});
      }
      return resp;
    } catch (err) {
      const hit = await caches.match(path);
      if (hit) return hit;
      throw err;
    }
  })());
});

// ---- words -------------------------------------------------------------------

const PUSH = 'intercom-push'; // this device's push settings, kept across updates
const LANG = '/push-lang.json';
const LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'nl']; // i18n.js's

// wordsOf reads a language from the shell's cache first: a phone away
// from home gets the push but cannot reach the door.
async function wordsOf(code) {
  const path = `/lang/${code}.json`;
  try {
    const hit = await caches.match(path);
    if (hit) return await hit.json();
    const r = await fetch(path);
    if (r.ok) return await r.json();
  } catch {
    // neither: English keys stand in
  }
  return {};
}

// words returns the resident's language, its t and its clock: the one the
// page told us, else the browser's, else English.
async function words() {
  let code = '';
  try {
    const hit = await (await caches.open(PUSH)).match(LANG);
    if (hit) code = (await hit.json()).lang;
  } catch {
    // none stored
  }
  if (!LANGUAGES.includes(code)) {
    code = (self.navigator.languages || []).map((l) => l.toLowerCase().split('-')[0]).find((l) => LANGUAGES.includes(l)) || 'en';
  }
  const [en, own] = await Promise.all([wordsOf('en'), code === 'en' ? null : wordsOf(code)]);
  const t = (k, vars = {}) => ((own && own[k]) || en[k] || k).replace(/\{(\w+)\}/g, (m, v) => (v in vars ? String(vars[v]) : m));
  const clock = (ms) => new Intl.DateTimeFormat(code, { hour: 'numeric', minute: '2-digit' }).format(new Date(ms));
  return { t, clock };
}

// tagOf is the notification's tag: push/message.go's topic.
function tagOf(m) {
  if (!m.call) return m.kind;
  return m.from ? `call-${m.call}` : `ring-${m.call}`;
}

// notification turns a payload into what showNotification takes, in the
// words of t and clock.
function notification(m, { t, clock }) {
  const base = {
    tag: tagOf(m),
    icon: '/icon-192.png',
    badge: '/badge-96.png',
    timestamp: m.at || Date.now(),
    data: { kind: m.kind, call: m.call || 0, from: m.from || '', decline: m.decline || '' },
  };
  const ringing = {
    renotify: true,
    requireInteraction: true,
    silent: !!m.silent,
    vibrate: m.silent ? undefined : [400, 200, 400, 200, 400],
    actions: [{ action: 'answer', title: t('ring.answer') }, { action: 'decline', title: t('ring.decline') }],
  };
  const at = { name: m.from, time: clock(m.at || Date.now()) };
  const rang = m.from ? t('sw.called', at) : t('sw.rang', at);
  switch (m.kind) {
    case 'ring':
      return [t('sw.ring'), { ...base, ...ringing, body: t('sw.ringbody', at), image: m.image || undefined }];
    case 'call':
      return [t('sw.calling', { name: m.from }), { ...base, ...ringing, body: t('sw.tap') }];
    case 'answered':
      return [m.by ? t('sw.answeredby', { name: m.by }) : t('sw.answered'), { ...base, body: rang, renotify: false, silent: true }];
    case 'declined':
      return [t('sw.declinedby', { name: m.by }), { ...base, body: rang, renotify: false, silent: true }];
    case 'missed':
      return [m.from ? t('sw.missedfrom', at) : t('sw.missed', at), {
        ...base, body: m.from ? t('sw.noanswer') : t('sw.nobody'), renotify: false, silent: true,
      }];
    default:
      return [t('sw.works'), { ...base, body: t('sw.worksbody'), silent: !!m.silent }];
  }
}

self.addEventListener('push', (event) => {
  let m;
  try {
    m = event.data ? event.data.json() : null;
  } catch {
    m = null;
  }
  if (!m || typeof m.kind !== 'string') m = { kind: 'ring', at: Date.now() };
  event.waitUntil((async () => {
    const [title, options] = notification(m, await words());
    // The ring's picture comes as a second message: it replaces a ring
    // still shown without ringing again. (Alone, when the push service
    // kept only the newest, it is the ring and rings.)
    if (m.picture && (await self.registration.getNotifications({ tag: options.tag })).length > 0) {
      Object.assign(options, { renotify: false, silent: true, vibrate: undefined });
    }
    await self.registration.showNotification(title, options);
    // A page that is open hears the ring over its WebSocket; tell it too,
    // so it can stop ringing when another device answered.
    for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ push: m.kind, call: m.call || 0 });
  })());
});

// Decline tells the door (or the hub, for a resident's call) with this
// device's capability from the payload, good for that one ring only.
async function decline(data) {
  if (!data.decline) return;
  try {
    await fetch('/api/push/decline', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: data.decline }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    // The door is out of reach: this device has stopped ringing anyway.
  }
}

// Tapping a ring (or Answer) opens the app straight into the ringing call:
// ?answer=door (or ?answer=NAME for a resident's call) makes the page take
// that call as it arrives.
self.addEventListener('notificationclick', (event) => {
  const n = event.notification;
  const data = n.data || {};
  n.close();
  if (event.action === 'decline') {
    event.waitUntil(decline(data));
    return;
  }
  const answer = data.kind === 'ring' ? 'door' : data.kind === 'call' ? data.from : '';
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of wins) {
      if (new URL(c.url).origin !== location.origin) continue;
      if (answer) c.postMessage({ answer });
      return c.focus();
    }
    return self.clients.openWindow(answer ? '/?answer=' + encodeURIComponent(answer) : '/');
  })());
});

// ---- the subscription ------------------------------------------------------

// The page tells the worker who this device belongs to (see notify.js), so
// that a subscription the browser renews while no page is open reaches the
// door again, and the resident's language, for the notifications' words.
const DEVICE = '/push-device.json';
self.addEventListener('message', (event) => {
  if (!event.data || event.origin !== location.origin) return;
  const { pushDevice, lang } = event.data;
  if (pushDevice) event.waitUntil(caches.open(PUSH).then((c) => c.put(DEVICE, new Response(JSON.stringify(pushDevice)))));
  if (LANGUAGES.includes(lang)) event.waitUntil(caches.open(PUSH).then((c) => c.put(LANG, new Response(JSON.stringify({ lang })))));
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const hit = await (await caches.open(PUSH)).match(DEVICE);
    const device = hit ? await hit.json() : null;
    let sub = event.newSubscription;
    if (!sub) {
      const info = await (await fetch('/api/push', { credentials: 'same-origin', cache: 'no-store' })).json();
      const key = event.oldSubscription ? event.oldSubscription.options.applicationServerKey : info.publicKey;
      sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    if (!device) return; // the page hands it over the next time it connects
    await fetch('/api/push/devices', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...device, subscription: sub.toJSON() }),
    });
    // The old endpoint is gone at the push service: the door removes it
    // the first time it answers 404 or 410.
  })());
});
