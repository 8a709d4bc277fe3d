// Service worker: precaches the whole site so it works offline after the first visit.
// This is a template: build.py writes dist/sw.js from it, filling in VERSION (a hash of
// every file's content) and FILES (every file of the site, relative to this script).
// A new deployment changes VERSION, so the browser installs the new worker, which
// fetches the new files and then drops the old cache.
const VERSION = "__VERSION__";
const FILES = [/*__FILES__*/];
const CACHE = `wetron-${VERSION}`;
const SCOPE = new URL("./", self.location).href;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: "reload" skips the HTTP cache, so the precache never mixes versions
    await cache.addAll(FILES.map((f) => new Request(new URL(f, SCOPE), { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("wetron-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // only this site's own files; a model URL the user gave goes straight to the network
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    return hit || fetch(request);
  })());
});
