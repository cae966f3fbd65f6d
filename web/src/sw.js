// Service worker: keeps this build of the app (every file of it, listed by build.mjs) so the
// page opens offline. config.json is asked of the network first (a deployment may change it
// without a rebuild). The model is not handled here: the npm package keeps it in Cache
// Storage itself (network first, its own copy when offline, every file checked by sha256).
const BUILD = "__BUILD__";
const FILES = __FILES__;
const CACHE = `ragasense-app-${BUILD}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // Revalidated, not re-downloaded: what the page just fetched comes back as a 304.
      .then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("ragasense-app-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const scope = self.registration.scope;
  if (!request.url.startsWith(scope)) return;
  const path = new URL(request.url).pathname.slice(new URL(scope).pathname.length);
  const file = path === "" ? "index.html" : path;
  if (file === "config.json") event.respondWith(networkFirst(request, file));
  else if (FILES.includes(file)) event.respondWith(cacheFirst(request, file));
});

async function cacheFirst(request, file) {
  const cache = await caches.open(CACHE);
  return (await cache.match(file)) ?? fetch(request);
}

async function networkFirst(request, file) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(file, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(file);
    if (cached) return cached;
    throw error;
  }
}
