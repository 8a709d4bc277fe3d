// Layout worker: graph document (JSON text) in, drawable scene (typed arrays,
// transferred) out. Keeps layout and buffer building off the UI thread.
//   UI -> worker: {id, json, graph, options, modules}   worker -> UI: {id, scene} or {id, error}
//   options: see layoutGraph (e.g. viewport). json: null reuses the document of the
//   previous request (expanding a module does not send or parse the document again).
//   modules: null draws every node; {expanded: [paths]} the module view (module-view.js),
//   reusing the inner layouts of modules laid out before for the same document and graph.

import { buildScene } from './scene.js';
import { GlyphAtlas, loadFonts } from './text.js';

const makeCanvas = (w, h) => new OffscreenCanvas(Math.max(1, w), Math.max(1, h));
let doc = null;
const moduleCaches = new Map();   // graph index -> Map (module-layout.js cache)

self.onmessage = async (event) => {
  const { id, json, graph = 0, options = {}, modules = null } = event.data;
  await loadFonts();   // glyphs measured before the font arrives would keep fallback metrics
  try {
    const t0 = performance.now();
    if (json != null) { doc = JSON.parse(json); moduleCaches.clear(); }
    if (!doc) throw new Error('no document');
    const parseMs = performance.now() - t0;
    let request = null;
    if (modules) {
      if (!moduleCaches.has(graph)) moduleCaches.set(graph, new Map());
      request = { expanded: modules.expanded || [], cache: moduleCaches.get(graph) };
    }
    const { scene, transfer } = buildScene(doc, new GlyphAtlas(makeCanvas), graph, options, request);
    scene.stats.parseMs = parseMs;
    self.postMessage({ id, scene }, transfer);
  } catch (error) {
    self.postMessage({ id, error: `layout failed: ${error && error.message ? error.message : error}` });
  }
};
