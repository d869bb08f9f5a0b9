// sw.js: the service worker. It keeps the app shell for when the door is
// out of reach (never the API, the WebSocket or media), and shows the
// door's push notifications: a ring with the visitor's picture, replaced on
// every device by "Answered by ..." or "Missed call at ..." (same tag). The
// payload is push/message.go's: {v, kind, call, at, by, image, silent}.

const SHELL = 'intercom-shell-v1';
const SHELL_FILES = [
  '/', '/index.html', '/theme.css', '/style.css', '/app.js', '/state.js', '/view.js', '/signin.js',
  '/signal.js', '/callflow.js', '/call.js', '/controls.js', '/roster.js', '/tones.js', '/session.js',
  '/notify.js', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png',
  '/icon-maskable-512.png', '/apple-touch-icon.png', '/badge-96.png',
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

// notification turns a payload into what showNotification takes.
function notification(m) {
  const base = {
    tag: m.call ? `ring-${m.call}` : m.kind,
    icon: '/icon-192.png',
    badge: '/badge-96.png',
    timestamp: m.at || Date.now(),
    data: { kind: m.kind, call: m.call || 0 },
  };
  switch (m.kind) {
    case 'ring':
      return ['Someone is at the door', {
        ...base,
        body: `Rang at ${clock(m.at)}. Tap to answer.`,
        image: m.image || undefined,
        renotify: true,
        requireInteraction: true,
        silent: !!m.silent,
        vibrate: m.silent ? undefined : [400, 200, 400, 200, 400],
        actions: [{ action: 'answer', title: 'Answer' }, { action: 'decline', title: 'Decline' }],
      }];
    case 'answered':
      return [m.by ? `Answered by ${m.by}` : 'Answered', {
        ...base, body: `The door rang at ${clock(m.at)}.`, renotify: false, silent: true,
      }];
    case 'missed':
      return [`Missed call at ${clock(m.at)}`, {
        ...base, body: 'Nobody answered the door.', renotify: false, silent: true,
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
    await self.registration.showNotification(title, options);
    // A page that is open hears the ring over its WebSocket; tell it too,
    // so it can stop ringing when another device answered.
    for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ push: m.kind, call: m.call || 0 });
  })());
});

// Tapping a ring (or Answer) opens the app straight into the ringing call:
// ?answer=door makes the page take the door's call as it arrives.
self.addEventListener('notificationclick', (event) => {
  const n = event.notification;
  const kind = n.data && n.data.kind;
  n.close();
  if (event.action === 'decline') return; // this device stops ringing; the others ring on
  const answer = kind === 'ring';
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of wins) {
      if (new URL(c.url).origin !== location.origin) continue;
      if (answer) c.postMessage({ answer: 'door' });
      return c.focus();
    }
    return self.clients.openWindow(answer ? '/?answer=door' : '/');
  })());
});
