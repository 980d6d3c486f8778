// Service worker: keeps the console's own files so the page opens even when
// the link to the hub is down (a reload during a power cut). Files are
// fetched from the network first and the cache only answers when that
// fails, so an upgraded hub is never hidden behind stale files. API calls
// and the socket are never cached.
const CACHE = 'mpaka-console-v6';
// Every file of the console, fetched in the background once the page has
// loaded, so that any view opens without the hub.
const SHELL = ['/', '/app.css', '/favicon.svg', '/manifest.webmanifest', '/icon-192.png',
  '/js/app.js', '/js/dom.js', '/js/session.js', '/js/store.js', '/js/link.js',
  '/js/outbox.js', '/js/i18n.js', '/js/notify.js', '/js/alerts.js', '/js/chat.js',
  '/js/posts.js', '/js/sops.js', '/js/flows.js', '/js/log.js', '/js/account.js',
  '/js/lang/fr.js', '/js/lang/en.js', '/js/lang/sw.js', '/js/lang/rn.js'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/ws') return;
  e.respondWith(fetch(e.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((c) => c.put(e.request, copy));
    }
    return response;
  }).catch(() => caches.match(e.request, { ignoreSearch: true })
    .then((hit) => hit || caches.match('/'))));
});
