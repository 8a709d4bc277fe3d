// Layout worker: graph document (JSON text) in, drawable scene (typed arrays,
// transferred) out. Keeps layout and buffer building off the UI thread.
//   UI -> worker: {id, json, graph, options}   (options: see layoutGraph, e.g. viewport)     worker -> UI: {id, scene} or {id, error}

import { buildScene } from './scene.js';
import { GlyphAtlas } from './text.js';

const makeCanvas = (w, h) => new OffscreenCanvas(Math.max(1, w), Math.max(1, h));

self.onmessage = (event) => {
  const { id, json, graph = 0, options = {} } = event.data;
  try {
    const t0 = performance.now();
    const doc = JSON.parse(json);
    const parseMs = performance.now() - t0;
    const { scene, transfer } = buildScene(doc, new GlyphAtlas(makeCanvas), graph, options);
    scene.stats.parseMs = parseMs;
    self.postMessage({ id, scene }, transfer);
  } catch (error) {
    self.postMessage({ id, error: `layout failed: ${error && error.message ? error.message : error}` });
  }
};
