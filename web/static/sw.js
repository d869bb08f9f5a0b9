// sw.js: the service worker. It keeps the app shell for when the door is
// out of reach (never the API, the WebSocket or media), and shows the
// door's push notifications: a ring with the visitor's picture, replaced on
// every device by "Answered by ..." or "Missed call at ..." (same tag), and
// a resident's call to this one. The payload is push/message.go's:
// {v, kind, call, at, by, from, image, picture, decline, silent}.

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
    for (const k of await caches.keys()) if (k !== SHELL) await caches.delete(k);
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

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// tagOf is the notification's tag: push/message.go's topic.
function tagOf(m) {
  if (!m.call) return m.kind;
  return m.from ? `call-${m.call}` : `ring-${m.call}`;
}

const ACTIONS = [{ action: 'answer', title: 'Answer' }, { action: 'decline', title: 'Decline' }];

// notification turns a payload into what showNotification takes.
function notification(m) {
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
    actions: ACTIONS,
  };
  const who = m.from ? `${m.from}'s call` : 'The door rang';
  switch (m.kind) {
    case 'ring':
      return ['Someone is at the door', {
        ...base, ...ringing, body: `Rang at ${clock(m.at)}. Tap to answer.`, image: m.image || undefined,
      }];
    case 'call':
      return [`${m.from} is calling`, { ...base, ...ringing, body: 'Tap to answer.' }];
    case 'answered':
      return [m.by ? `Answered by ${m.by}` : 'Answered', {
        ...base, body: m.from ? `${m.from} called at ${clock(m.at)}.` : `The door rang at ${clock(m.at)}.`, renotify: false, silent: true,
      }];
    case 'declined':
      return [`Declined by ${m.by}`, { ...base, body: `${who} at ${clock(m.at)}.`, renotify: false, silent: true }];
    case 'missed':
      return [m.from ? `Missed call from ${m.from} at ${clock(m.at)}` : `Missed call at ${clock(m.at)}`, {
        ...base, body: m.from ? 'You did not answer.' : 'Nobody answered the door.', renotify: false, silent: true,
      }];
    default:
      return ['Notifications work', { ...base, body: 'This device will ring when someone is at the door.', silent: !!m.silent }];
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
  const [title, options] = notification(m);
  event.waitUntil((async () => {
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
// door again.
const DEVICE = '/push-device.json';
self.addEventListener('message', (event) => {
  const d = event.data && event.data.pushDevice;
  if (!d || event.origin !== location.origin) return;
  event.waitUntil(caches.open('intercom-push').then((c) => c.put(DEVICE, new Response(JSON.stringify(d)))));
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const hit = await (await caches.open('intercom-push')).match(DEVICE);
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
