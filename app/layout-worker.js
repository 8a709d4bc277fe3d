// Layout worker: graph document (JSON text) in, drawable scene (typed arrays,
// transferred) out. Keeps layout and buffer building off the UI thread.
//   UI -> worker: {id, json, detail, graph, options, modules, warmUp}   worker -> UI: {id, scene} or {id, error}
//   options: see layoutGraph; options.labels 'names' titles op boxes by node name
//   (scene.js). json, detail: the document's texts
//   (app/document.js); json null reuses the document of the previous request
//   (expanding a module does not send or parse the document again).
//   modules: null draws every node; {expanded: [paths]} the module view (module-view.js),
//   reusing the inner layouts of modules laid out before for the same document and graph;
//   'default' the graph's default (defaultMode), reported as scene.mode.
//   warmUp: the page's warm-up: the common glyphs are rasterised first (text.js).

import { parseDocument } from './document.js';
import { defaultExpanded, defaultMode } from './module-view.js';
import { buildScene } from './scene.js';
import { GlyphAtlas, loadFonts, prepareGlyphs } from './text.js';

const makeCanvas = (w, h) => new OffscreenCanvas(Math.max(1, w), Math.max(1, h));
let doc = null;
const moduleCaches = new Map();   // graph index -> Map (module-layout.js cache)
let cachedLabels = 'ops';         // the box labels (options.labels) those layouts were made for
loadFonts();   // now, while the page waits for a file: the first layout need not wait

self.onmessage = async (event) => {
  const { id, json, detail = null, graph = 0, options = {}, modules = null, warmUp = false } = event.data;
  const received = performance.timeOrigin + performance.now();
  await loadFonts();   // glyphs measured before the font arrives would keep fallback metrics
  try {
    if (warmUp) prepareGlyphs(makeCanvas);   // the page's warm-up (LayoutWorker.warmUp)
    const t0 = performance.now();
    if (json != null) { doc = parseDocument(json, detail); moduleCaches.clear(); }
    // Boxes titled by node name are sized by it: the cached module layouts no longer fit.
    const labels = options.labels === 'names' ? 'names' : 'ops';
    if (labels !== cachedLabels) { moduleCaches.clear(); cachedLabels = labels; }
    if (!doc) throw new Error('no document');
    const parseMs = performance.now() - t0;
    let request = null;
    // 'default': a new document, drawn as its modules if it has many nodes, a lone
    // wrapper module expanded (module-view.js)
    const mode = modules === 'default' ? defaultMode(doc.graphs[graph]) : modules ? 'modules' : 'flat';
    if (mode === 'modules') {
      if (!moduleCaches.has(graph)) moduleCaches.set(graph, new Map());
      const expanded = modules === 'default' ? defaultExpanded(doc.graphs[graph]) : modules.expanded || [];
      request = { expanded, cache: moduleCaches.get(graph) };
    }
    const { scene, transfer } = buildScene(doc, new GlyphAtlas(makeCanvas), graph, options, request);
    scene.stats.parseMs = parseMs;
    // absolute times (ms since the epoch): the page's timings (app/viewer.js) split on them
    scene.stats.received = received;
    scene.stats.posted = performance.timeOrigin + performance.now();
    scene.mode = mode;
    self.postMessage({ id, scene }, transfer);
  } catch (error) {
    self.postMessage({ id, error: `layout failed: ${error && error.message ? error.message : error}` });
  }
};
