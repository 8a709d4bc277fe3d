// Service worker: precaches the whole site so it works offline after the first visit.
// This is a template: build.py writes dist/sw.js from it, filling in VERSION (a hash of
// every file's content) and FILES (every file of the site, relative to this script,
// -> the sha256 of its content).
// Files are cached by content: each under its URL plus "?sha256=" and its hash, in one
// cache shared by every version. A new deployment changes VERSION, so the browser
// installs the new worker, which fetches only the files whose content changed (a
// rebuild that changed one script costs that script, not the 25 MB of Pyodide), then
// drops the entries no file of the new version has.
const VERSION = "__VERSION__";
const FILES = {/*__FILES__*/};
// Files cached the first time the page asks for them, not at install: the operator
// documentation (opdocs/, megabytes the page reads only when the reader opens an op's
// documentation). Listed in FILES too, so their content key is known.
const ON_DEMAND = new Set([/*__ON_DEMAND__*/]);
const CACHE = "wetron-content";
const SCOPE = new URL("./", self.location).href;

const contentKey = (path) => `${new URL(path, SCOPE).href}?sha256=${FILES[path]}`;

async function sha256(response) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const path of Object.keys(FILES)) {
      if (ON_DEMAND.has(path)) continue;
      const key = contentKey(path);
      if (await cache.match(key)) continue;
      // The page has just downloaded most files: taken from the HTTP cache if their
      // content has the hash, from the network otherwise (a stale copy never gets a
      // new hash).
      let response = await fetch(new URL(path, SCOPE));
      if (!response.ok || await sha256(response.clone()) !== FILES[path]) {
        response = await fetch(new Request(new URL(path, SCOPE), { cache: "reload" }));
      }
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      await cache.put(key, response);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {   // caches of the versions before this scheme
      if (key.startsWith("wetron-") && key !== CACHE) await caches.delete(key);
    }
    const cache = await caches.open(CACHE);
    const wanted = new Set(Object.keys(FILES).map(contentKey));
    for (const request of await cache.keys()) {
      if (!wanted.has(request.url)) await cache.delete(request);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // only this site's own files; a model URL the user gave goes straight to the network
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  const url = new URL(request.url);
  let path = url.href.slice(SCOPE.length, url.href.length - url.search.length - url.hash.length);
  if (request.mode === "navigate" && path === "") path = "index.html";
  if (!(path in FILES) || (url.search && request.mode !== "navigate")) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(contentKey(path));
    if (hit) return hit;
    const response = await fetch(request);
    // kept only with the content this version lists (a stale copy never gets its key)
    if (ON_DEMAND.has(path) && response.ok && await sha256(response.clone()) === FILES[path]) {
      await cache.put(contentKey(path), response.clone());
    }
    return response;
  })());
});
