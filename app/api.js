// window.wetron: a small automation API for tests, benchmarks and scripts
// (documented in docs/app.md).

import { CATEGORIES, KIND_FRAME, KIND_GHOST, KIND_INPUT, KIND_MODULE, KIND_OP, KIND_OUTPUT } from './graph-view.js';
import { buildModuleView, defaultExpanded, hasGroups } from './module-view.js';
import { LEGIBLE_ZOOM } from './renderer.js';
import { FRAME_HEADER } from './module-layout.js';
import { setViewport, shareUrl, viewportOf } from './share.js';
import { edgeIndex, edgePolyline } from './edge-pick.js';
import { edgeTensors } from './tensors.js';

// Per box of a scene, the text runs drawn in it in drawing order (app/scene.js's
// vector record: six numbers per run, the fifth the box).
function boxTexts(scene) {
  const runs = scene.vector.runs, texts = scene.vector.text.split('\0'), out = [];
  texts.forEach((t, r) => {
    const id = runs[6 * r + 4];
    if (id < scene.boxes) (out[id] ||= []).push(t);
  });
  return out;
}

export function installApi(viewer, { openFiles, search, shareLink, exportSVG, exportPNG }) {
  const api = {
    version: 1,
    // File, Blob, URL string, or an array of Files (model + companions). Resolves when drawn.
    async open(source) {
      if (Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList)) {
        await openFiles([...source]);
      } else await viewer.open(source);
      return api.state();
    },
    // A graph document (JSON text or object) made elsewhere, e.g. by `python -m wetron graph`.
    async openDocument(doc) {
      await viewer.openDocument(typeof doc === 'string' ? doc : JSON.stringify(doc));
      return api.state();
    },
    ready: () => viewer.ready(),
    state: () => viewer.state(),
    // Select a node by name (or a graph input/output by value name); null clears.
    select(name) {
      if (name == null) { viewer.clearSelection(); return true; }
      const i = viewer.findBox(String(name));
      if (i >= 0) { viewer.selectBox(i); return true; }
      // A node inside a collapsed module: its modules are expanded first (asynchronously;
      // state().selected names it once drawn).
      const node = viewer.nodeIndexOf(String(name));
      if (node < 0) return false;
      viewer.revealNode(node, { center: false }).catch(() => {});
      return true;
    },
    // --- module hierarchy (app/module-view.js, docs/app.md "Modules") ---
    async expand(path) { if (!(await viewer.expand(String(path)))) throw new Error(`no module '${path}'`); return api.state(); },
    async collapse(path) { if (!(await viewer.collapse(String(path)))) throw new Error(`no module '${path}'`); return api.state(); },
    async setMode(mode) { await viewer.setMode(mode); return api.state(); },
    highlighted: () => viewer.highlighted(),
    // Symbolic sizes ({symbol: int}, as the Sizes panel sets them; {}: the model's own).
    async setSizes(sizes) { await viewer.setSizes(sizes || {}); return api.state(); },
    async openGraph(index) { await viewer.openGraph(index); return api.state(); },
    // Centre of a node in CSS pixels of the page (for clicking it), or null.
    nodeScreenPosition(name) {
      const i = viewer.findBox(String(name));
      if (i < 0) return null;
      const s = viewer.scene, r = viewer.renderer.canvas.getBoundingClientRect();
      const frame = s.kinds[i] === KIND_FRAME;   // a module's frame: the centre of its header
      const p = viewer.renderer.worldToScreen(s.x[i], frame ? s.y[i] - s.h[i] / 2 + FRAME_HEADER / 2 : s.y[i]);
      const z = viewer.renderer.cam.z;   // and the box's size on screen
      return { x: r.left + p.x, y: r.top + p.y, width: s.w[i] * z, height: (frame ? FRAME_HEADER : s.h[i]) * z };
    },
    // --- edges and tensors (app/edge-pick.js, app/tensors.js) ---
    // Every drawn edge: {index, from, to (box names), tensors: [value names]}.
    edges() {
      const s = viewer.scene;
      if (!s) return [];
      const g = viewer.doc.graphs[viewer.graph], out = [];
      for (let e = 0; e < s.edges; e++) {
        out.push({ index: e, from: viewer.boxName(s.edgeSrc[e]), to: viewer.boxName(s.edgeDst[e]),
          tensors: edgeTensors(s, g, e).map((v) => g.values[v][0]) });
      }
      return out;
    },
    // Points along edge `index` as drawn, in CSS pixels of the page: [{x, y}] ([] if none).
    edgeScreenPoints(index) {
      const s = viewer.scene;
      if (!s || !(index >= 0 && index < s.edges)) return [];
      const r = viewer.renderer.canvas.getBoundingClientRect(), line = edgePolyline(s, index), out = [];
      for (let k = 0; k < line.length; k += 2) {
        const p = viewer.renderer.worldToScreen(line[k], line[k + 1]);
        out.push({ x: r.left + p.x, y: r.top + p.y });
      }
      return out;
    },
    // The edge a click at page point (x, y) would select (no box there), or -1.
    edgeAt(x, y) {
      const r = viewer.renderer.canvas.getBoundingClientRect();
      return viewer.renderer.pickEdge(x - r.left, y - r.top);
    },
    // The box under page point (x, y) (its name), or null.
    boxAt(x, y) {
      const r = viewer.renderer.canvas.getBoundingClientRect(), i = viewer.renderer.pick(x - r.left, y - r.top);
      const s = viewer.scene;
      return i < 0 || !s ? null : viewer.boxName(i < s.boxes ? i : s.ghostSource[i - s.boxes]);
    },
    // Select the tensor(s) of edge `index`, as a click on it does; false if no such edge.
    selectEdge: (index) => viewer.selectEdge(Number(index)),
    // Select a tensor by value name (its producer brought into view, modules expanded);
    // resolves with true, or false if the graph on screen has no such value.
    async selectTensor(name) {
      const v = viewer.valueIndexOf(String(name));
      return v >= 0 ? viewer.revealTensor(v, { center: true }) : false;
    },
    // For benchmarks: ms to build the edge-picking grid of the scene on screen, and its size.
    edgePickIndex() {
      const s = viewer.scene;
      if (!s) return null;
      const ix = edgeIndex(s);
      return { ms: ix.ms, spans: ix.spans, cells: ix.nx * ix.ny };
    },
    // --- box labels (toolbar "Names", key N), back to the start page ---
    async setLabels(labels) { await viewer.setLabels(labels); return api.state(); },
    close() { document.getElementById('brand').click(); return api.state(); },
    nodeNames() {
      const s = viewer.scene;
      if (!s) return [];
      const names = [];
      for (let i = 0; i < s.boxes; i++) names.push(viewer.boxName(i));
      return names;
    },
    fit: () => viewer.renderer.fit(false),
    // What the view on screen lets a person read (bench/readability_bench.py): boxes
    // (ops, modules, inputs, outputs) wholly on the canvas, those of them whose title
    // is legible (zoom >= LEGIBLE_ZOOM), the layout's size and crossings, and the
    // boxes of the module view as it opens (moduleTopLevel).
    viewStats() {
      const s = viewer.scene, r = viewer.renderer;
      if (!s) return null;
      const z = r.cam.z, { w, h } = r.size, legible = z >= LEGIBLE_ZOOM;
      let boxes = 0, onScreen = 0;
      for (let i = 0; i < s.boxes; i++) {
        if (s.kinds[i] === KIND_FRAME || s.kinds[i] === KIND_GHOST) continue;
        boxes++;
        const a = r.worldToScreen(s.x[i] - s.w[i] / 2, s.y[i] - s.h[i] / 2), b = r.worldToScreen(s.x[i] + s.w[i] / 2, s.y[i] + s.h[i] / 2);
        if (a.x >= 0 && a.y >= 0 && b.x <= w && b.y <= h) onScreen++;
      }
      const [x0, y0, x1, y1] = s.bounds;
      // The module view as it opens (a lone wrapper expanded), whichever mode is on
      // screen: its boxes but graph inputs and outputs; null without modules.
      const g = viewer.doc.graphs[viewer.graph];
      const top = hasGroups(g) ? buildModuleView(viewer.doc, viewer.graph, defaultExpanded(g)).boxes
        .filter((b) => b.kind !== KIND_FRAME && b.kind !== KIND_INPUT && b.kind !== KIND_OUTPUT).length : null;
      return { zoom: z, boxes, onScreen, labelled: legible ? onScreen : 0, width: x1 - x0, height: y1 - y0,
        crossings: s.stats.crossings, mode: viewer.mode, expanded: [...viewer.expanded], moduleTopLevel: top };
    },
    // Every box drawn but ghosts: {name (as nodeNames() gives it), kind, category (its
    // colour: app/graph-view.js CATEGORIES), text (the runs drawn in it: its title, then
    // its lines)}.
    boxes() {
      const s = viewer.scene, kinds = { [KIND_OP]: 'op', [KIND_INPUT]: 'input', [KIND_OUTPUT]: 'output', [KIND_MODULE]: 'module', [KIND_FRAME]: 'frame' };
      const text = s ? boxTexts(s) : [];
      const out = [];
      for (let i = 0; s && i < s.boxes; i++) {
        if (s.kinds[i] === KIND_GHOST) continue;
        out.push({ name: viewer.boxName(i), kind: kinds[s.kinds[i]], category: CATEGORIES[s.vector.category[i]], text: text[i] || [] });
      }
      return out;
    },
    // Benchmarks: ms of `count` full redraws at the current view, each waited for.
    frameTimes: (count = 10) => viewer.renderer.frameTimes(count),
    cancel: () => viewer.cancel(),
    // --- search, export, shareable views (app/search.js, app/export.js, app/share.js) ---
    // Matches of a query (syntax in docs/app.md): [{kind: 'node'|'input'|'output', index, name, op}].
    find: (query) => search.find(String(query)),
    // Select and centre match k of a query, as the search field does; the match or null.
    findAndSelect: (query, k = 0) => search.jumpTo(String(query), k),
    // Mark every match on the canvas (null: stop); the number of boxes marked.
    highlightAll: (query) => search.highlightAll(query == null ? null : String(query)),
    // Promise of the SVG text of the graph ({region: 'graph'|'view', background: 'white'|'transparent'|'theme', theme: 'light'|'dark'}).
    exportSVG: (options = {}) => exportSVG(viewer, options),
    // PNG Blob (same options, plus scale or width in pixels); blob.width/height give its size.
    exportPNG: (options = {}) => exportPNG(viewer, options),
    // {x, y, zoom}: the world point at the canvas centre and the zoom; setViewport moves there.
    viewport: () => viewportOf(viewer.renderer),
    setViewport: (v) => setViewport(viewer.renderer, v),
    // The address of the view on screen (what "Copy link" copies).
    shareUrl: () => { shareLink.write(); return shareUrl(viewer); },
  };
  window.wetron = api;
  return api;
}
