// The open model and everything done with it: opening through the workers, swapping
// in a new scene only once it is complete (a failed open leaves the previous model
// usable), selection with upstream/downstream highlighting, and the status the
// automation API reports.

import { parseDocument } from './document.js';
import { KIND_FRAME, KIND_INPUT, KIND_MODULE, KIND_OP } from './graph-view.js';
import { FRAME_HEADER } from './module-layout.js';
import { defaultExpanded, defaultMode, groupCategories, groupChain, groupTree, hasGroups } from './module-view.js';
import { LayoutWorker, ParseWorker } from './workers.js';
import { STATE_DIM, STATE_PATH, STATE_SELECTED } from './renderer.js';
import { consumerBoxes, edgeTensors, producerBox, sceneBoxes, tensorEdges, tensorInfo, valueIndex } from './tensors.js';

const SIDEBAR_TENSORS = 64;    // tensors of an aggregated edge shown in the sidebar (the rest counted)
const DETAIL_AFTER_MS = 150;   // the second parse worker is asked this far into a parse (openBoth)
const WARM_DOCUMENT = 'examples/warm-document.json';   // build.py write_warm_document
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export class Viewer {
  constructor({ renderer, sidebar, onStatus, onProgress }) {
    this.renderer = renderer;
    this.sidebar = sidebar;
    this.onStatus = onStatus;       // () => void, whenever status/error/model changes
    this.onProgress = onProgress;   // (message | null)
    this.parse = new ParseWorker((message) => this.onProgress(message));
    // A second parse worker opens the same file at the same time for the document's
    // detail (shapes and cost: app/document.js), on the other core. (On a first visit
    // both ask for Pyodide at once: the HTTP cache makes the second wait for the first's
    // download rather than download again.)
    this.detail = new ParseWorker(() => {});
    this.layout = new LayoutWorker();
    // An example's document, written by build.py, is laid out and drawn once, unseen,
    // as the page loads (while Python starts in the workers), so that the first model's
    // layout and frame do not pay for cold code, glyph rasterising and GPU program
    // compiles, and a file chosen once Python is ready never waits behind them.
    fetch(new URL(WARM_DOCUMENT, document.baseURI))
      .then((response) => (response.ok ? response.text() : null))
      .then((json) => json && this.warmUp(json), () => {});
    this.status = 'idle';
    this.error = null;
    this.doc = null;
    this.texts = null;     // {json, detail}: the document's JSON texts (app/document.js)
    this.graph = 0;          // index in doc.graphs of the graph on screen
    this.scene = null;
    this.selected = -1;      // box index
    // A selected tensor (an edge clicked, a tensor search result): {doc, graph, values:
    // [value indices], edge: the edge clicked or -1}, or null. Exclusive with `selected`.
    this.tensorSelection = null;
    this.labels = 'ops';     // box titles: 'ops' (op type) or 'names' (node name); setLabels
    // () => {x, y} | null: the canvas pixel to centre a found node on (the middle of what
    // the search results and the drawer leave uncovered; app/main.js). null: the centre.
    this.centerTarget = null;
    this.highlight = null;   // {states: Uint8Array per item, boxes: count lit, edges: count lit}
    this.timings = null;
    this.openCount = 0;
    // Module hierarchy (app/module-view.js): 'modules' draws collapsed modules as boxes
    // and expanded ones as frames; 'flat' draws every node. Per graph on screen.
    this.mode = 'flat';
    this.expanded = new Set();   // paths of expanded modules
    this.sizes = {};             // symbolic sizes the user set (setSizes), {symbol: int}
    this.warmedUp = false;       // the example's document was laid out and drawn unseen
  }

  ready() { return this.parse.readyPromise; }

  async warmUp(json) {
    if (this.doc || this.status === 'loading') return;   // a model is coming: it warms up itself
    try {
      const scene = await this.layout.warmUp({ json, detail: null }, {});
      if (!this.renderer.scene) {
        this.renderer.warmUp(scene);
        this.warmedUp = true;
      }
    } catch (error) {
      if (!error.cancelled) console.warn('wetron: layout warm-up failed:', error);
    }
  }

  setStatus(status, error = null) {
    this.status = status; this.error = error;
    this.onStatus();
  }

  // source: File/Blob, URL string, or {file, name, companions}. Resolves when drawn.
  // chosenAt: when the user chose it (an event's timeStamp), for the timings.
  async open(source, chosenAt = null) {
    const token = ++this.openCount;
    if (this.parse.busy) this.parse.cancel();
    if (this.detail.busy) this.detail.cancel();
    this.layout.cancel();
    this.setStatus('loading');
    const t0 = performance.now();
    const stale = () => token !== this.openCount;
    try {
      if (!this.parse.isReady) this.onProgress('Loading Python…');
      await this.parse.readyPromise;
      if (stale()) throw cancelled();
      this.onProgress('Parsing…');
      let texts;
      if (typeof source === 'string') {   // downloaded once, by one worker: the whole document
        texts = { json: await this.parse.openUrl(new URL(source, document.baseURI).href), detail: null };
      } else {
        const file = source instanceof Blob ? source : source.file;
        texts = await this.openBoth(file, source.name || file.name || 'model', source.companions || []);
      }
      if (stale()) throw cancelled();
      const t1 = performance.now();
      const scene = await this.present(texts, null, 0, token);
      const t3 = performance.now(), t2 = t3 - scene.drawMs;
      this.timings = { parse: t1 - t0, layout: t2 - t1, draw: t3 - t2, total: t3 - t0, worker: scene.stats,
        phases: openPhases(chosenAt ?? t0, t0, t1, t2, t3, texts.arrived, this.parse.timing, this.detail.timing, scene.stats) };
      this.sourceUrl = typeof source === 'string' ? source : null;   // app/share.js: a link can reopen it
      this.sizes = {};   // a new model: at the sizes it states (setSizes)
      this.onProgress(null);
      this.setStatus('ready');
    } catch (error) {
      if (error.cancelled || stale()) throw error;
      this.onProgress(null);
      this.setStatus('error', error.message || String(error));
      throw error;
    }
  }

  // A small model's document comes whole from the first parse worker (its parse tells
  // how big the model is: wetron.web.INLINE_DETAIL_NODES). A bigger one's detail comes
  // from the second worker, parsing the file at the same time: it is asked once the
  // first says the model is big, or DETAIL_AFTER_MS into the parse (a big model takes
  // longer to parse). Asked at once, both workers read a small model's file together,
  // each read waiting for the other's. The first worker computes the detail itself if
  // the second could not.
  async openBoth(file, name, companions) {
    const arrived = {};   // when each part reached the page (timings)
    let request = null, detail = null, inline = false;
    this.detail.stopWarmUp();
    const askDetail = () => {
      if (request || inline) return;
      request = this.detail.detail(file, name, companions);
      detail = request.then((text) => { arrived.detail = performance.now(); return text; });
      detail.catch(() => {});   // a bad file is reported by the first worker
    };
    const timer = setTimeout(askDetail, DETAIL_AFTER_MS);
    let json;
    try {
      json = await this.parse.open(file, name, companions, 'auto', (opened) => {
        if (opened.detail) { inline = true; clearTimeout(timer); } else askDetail();
      });
    } finally {
      clearTimeout(timer);
    }
    arrived.json = performance.now();
    if (inline) {
      if (request) this.detail.abandon(request);
      arrived.inline = true;
      return { json, detail: null, arrived };
    }
    askDetail();
    let detailJson;
    try {
      detailJson = await detail;
    } catch (error) {
      if (error.cancelled) throw error;
      console.warn('wetron: the second parse worker failed; computing the detail here:', error);
      detailJson = await this.parse.detailCurrent();
    }
    return { json, detail: detailJson, arrived };
  }

  // A graph document produced elsewhere (JSON text): skips the parse worker.
  openDocument(json) {
    const texts = { json, detail: null };
    return this.relayout(() => [texts, parseDocument(json), 0]);
  }

  // Show graphs[index] of the open model (a subgraph: If/Loop/Scan bodies, functions).
  async openGraph(index, selectNode = -1) {
    if (!this.doc || !this.doc.graphs[index]) return;
    await this.relayout(() => [this.texts, this.doc, index]);
    if (selectNode >= 0) await this.revealNode(selectNode);
  }

  // The graph holding the one on screen, with the node it hangs from selected.
  async openParent() {
    const parent = this.doc && this.doc.graphs[this.graph].parent;
    if (parent) await this.openGraph(parent[0], parent[1]);
    else if (this.graph !== 0) await this.openGraph(0);   // a function body
  }

  // [{index, name}] from the main graph down to the one on screen.
  graphPath() {
    const path = [];
    for (let i = this.graph, guard = 0; i != null && guard < 64; guard++) {
      const g = this.doc.graphs[i];
      path.unshift({ index: i, name: g.name || `graph ${i}` });
      i = g.parent ? g.parent[0] : null;
    }
    return path;
  }

  // Lays out and shows what() -> [texts, doc, graph], as one cancellable step.
  async relayout(what) {
    const token = ++this.openCount;
    this.layout.cancel();
    this.setStatus('loading');
    try {
      const [texts, doc, graph, modules = null] = what();
      await this.present(texts, doc, graph, token, modules);
      this.onProgress(null);
      this.setStatus('ready');
    } catch (error) {
      if (error.cancelled || token !== this.openCount) throw error;
      this.onProgress(null);
      this.setStatus('error', error.message || String(error));
      throw error;
    }
  }

  cancel() {
    this.openCount++;
    if (this.parse.busy) this.parse.cancel();
    if (this.detail.busy) this.detail.cancel();
    this.layout.cancel();
    this.onProgress(null);
    this.setStatus(this.doc ? 'ready' : 'idle');
  }

  dismissError() {
    if (this.status === 'error') this.setStatus(this.doc ? 'ready' : 'idle');
  }

  // Lays out graphs[graph] of the document (in the worker) and shows it. modules:
  // {mode, expanded: Set, anchor?: path} or null: the graph's default (as it is when the
  // same graph is shown again). doc null: a new document, parsed here while the layout
  // worker parses and lays it out (it picks the default mode itself).
  async present(texts, doc, graph, token, modules = null) {
    this.onProgress('Laying out…');
    let layout;
    if (doc === null) {
      layout = this.layout.layout(texts, {}, graph, 'default');
      layout.catch(() => {});   // awaited below, unless the document is refused first
      try {
        doc = parseDocument(texts.json, texts.detail);
      } catch (error) {
        this.layout.cancel();
        throw error;
      }
    } else {
      const g = doc.graphs[graph];
      if (!modules) {
        const same = doc === this.doc && graph === this.graph;
        modules = same ? { mode: this.mode, expanded: this.expanded } : { mode: defaultMode(g), expanded: new Set(defaultExpanded(g)) };
      }
      if (!hasGroups(g)) modules = { mode: 'flat', expanded: new Set() };
      const request = modules.mode === 'modules' ? { expanded: [...modules.expanded] } : null;
      layout = this.layout.layout(texts, {}, graph, request);
    }
    const scene = await layout;
    if (token !== this.openCount) throw cancelled();
    if (!modules) modules = { mode: scene.mode, expanded: new Set(scene.modules ? scene.modules.expanded : []) };
    this.onProgress('Drawing…');
    const t0 = performance.now();
    await this.show(texts, doc, scene, graph, modules);
    if (token !== this.openCount) throw cancelled();
    scene.drawMs = performance.now() - t0;
    return scene;
  }

  async show(texts, doc, scene, graph, modules = { mode: 'flat', expanded: new Set() }) {
    // Expanding or collapsing keeps the module in place on screen and the selection.
    const same = doc === this.doc && graph === this.graph && this.scene;
    const anchor = same && modules.anchor != null ? this.moduleAnchor(modules.anchor) : null;
    const keep = same && this.selected >= 0 ? this.boxName(this.selected) : null;
    const cam = { ...this.renderer.cam };
    this.texts = texts;   // kept to lay out subgraphs later
    this.doc = doc;
    this.graph = graph;
    this.mode = modules.mode;
    this.expanded = new Set(modules.expanded);
    const t0 = performance.now();
    this.onStatus();           // the page shows its model layout (sidebar) ...
    this.renderer.resize();    // ... so the canvas has its final size before fitting
    const t1 = performance.now();
    this.renderer.setScene(scene);
    this.scene = scene;
    this.indexScene();
    this.selected = -1;
    this.highlight = null;
    const t2 = performance.now();
    this.sidebar.showModel(doc, graph);
    // for profiles (performance.getEntriesByType('measure')), as the renderer's own
    performance.measure('show: page status', { start: t0, end: t1 });
    performance.measure('show: scene', { start: t1, end: t2 });
    performance.measure('show: sidebar', { start: t2, end: performance.now() });
    if (same && modules.anchor !== undefined) {   // not refitted: the anchor stays where it was
      const now = anchor ? this.moduleAnchor(modules.anchor) : null;
      const dx = anchor && now ? now.x - anchor.x : 0, dy = anchor && now ? now.y - anchor.y : 0;
      this.renderer.setCamera({ x: cam.x + dx, y: cam.y + dy, z: cam.z });
      this.renderer.fitted = false;
    }
    if (keep != null) { const i = this.findBox(keep); if (i >= 0) this.selectBox(i); }
    this.renderer.requestDraw();
    const t3 = performance.now();
    await nextFrame();   // runs after the renderer's callback: the new scene is drawn
    performance.measure('show: to the frame drawn', { start: t3, end: performance.now() });
  }

  // Adjacency and name lookup for the boxes of the scene.
  indexScene() {
    const s = this.scene, B = s.boxes;
    // A tensor selected in the scene replaced: selected again in this one (same graph)
    // once show() has finished with it (expanding a module, relabelling, keep it).
    const tensor = this.tensorSelection;
    this.tensorSelection = null;
    if (tensor && tensor.doc === this.doc && tensor.graph === this.graph) {
      queueMicrotask(() => { if (this.scene === s && this.selected < 0 && !this.tensorSelection) this.selectTensors(tensor.values); });
    }
    const count = (keys) => {
      const start = new Int32Array(B + 1);
      for (const k of keys) start[k + 1]++;
      for (let i = 0; i < B; i++) start[i + 1] += start[i];
      const fill = start.slice(0, B), items = new Int32Array(keys.length);
      keys.forEach((k, e) => { items[fill[k]++] = e; });
      return { start, items };
    };
    this.outEdges = count(s.edgeSrc);
    this.inEdges = count(s.edgeDst);
    const g = this.doc.graphs[this.graph];
    this.byName = new Map();
    for (let i = 0; i < B; i++) {
      if (s.kinds[i] !== KIND_OP) continue;
      const name = g.nodes[s.refs[i]].name;
      if (name && !this.byName.has(name)) this.byName.set(name, i);
    }
    for (let i = 0; i < B; i++) {
      if (s.kinds[i] === KIND_OP) continue;
      const name = this.boxName(i);
      if (name && !this.byName.has(name)) this.byName.set(name, i);
    }
  }

  // A node's name, or "#<node index>" for a node without one; a graph input's or
  // output's value name.
  boxName(i) {
    const s = this.scene, g = this.doc.graphs[this.graph];
    if (i < 0 || !s) return null;
    if (s.kinds[i] === KIND_MODULE || s.kinds[i] === KIND_FRAME) return g.groups[s.refs[i]].path;
    return s.kinds[i] === KIND_OP ? g.nodes[s.refs[i]].name || `#${s.refs[i]}` : g.values[s.refs[i]][0];
  }

  boxOfNode(nodeIndex) {
    const s = this.scene;
    for (let i = 0; i < s.boxes; i++) if (s.kinds[i] === KIND_OP && s.refs[i] === nodeIndex) return i;
    return -1;
  }

  findBox(name) {
    if (!this.byName) return -1;
    const i = this.byName.get(name);
    if (i !== undefined) return i;
    return /^#\d+$/.test(name) ? this.boxOfNode(Number(name.slice(1))) : -1;
  }

  // Select box i (a ghost selects the box it stands for, and brings it into view).
  selectBox(i, { center = false } = {}) {
    const s = this.scene;
    if (!s) return;
    if (i >= s.boxes) { i = s.ghostSource[i - s.boxes]; center = true; }
    if (i < 0) { this.clearSelection(); return; }
    this.selected = i;
    this.tensorSelection = null;
    if (s.kinds[i] === KIND_FRAME) {   // a frame has no edges of its own: nothing is dimmed
      const states = new Uint8Array(s.boxes + s.ghosts + s.edges);
      states[i] = STATE_SELECTED;
      this.highlight = { states, boxes: 1, edges: 0 };
      this.renderer.setStates(states);
    } else this.applyHighlight(i);
    const g = this.doc.graphs[this.graph];
    if (s.kinds[i] === KIND_MODULE || s.kinds[i] === KIND_FRAME) this.showModule(s.refs[i]);
    else if (s.kinds[i] === KIND_OP) {
      const group = g.node_group && g.groups ? g.node_group[s.refs[i]] : -1;
      this.sidebar.showNode(this.doc, this.graph, s.refs[i], group >= 0 ? g.groups[group].path.split('/').join(' › ') : null);
    } else this.sidebar.showGraphValue(this.doc, this.graph, s.refs[i], s.kinds[i] === KIND_INPUT);
    if (center) this.centerOnWorld(s.x[i], s.y[i]);
    this.onStatus();
  }

  // Bring a world point to the middle of the canvas (or of the part of it left
  // uncovered: centerTarget), readable (zoom at least 1).
  centerOnWorld(x, y) {
    const at = this.centerTarget ? this.centerTarget() : null;
    this.renderer.centerOn(x, y, true, 1, at);
  }

  // Select the box producing value v (sidebar links).
  selectValueProducer(v) {
    const s = this.scene;
    for (let e = 0; e < s.edges; e++) {
      if (s.edgeValue[e] === v) { this.selectBox(s.edgeSrc[e], { center: true }); return; }
    }
  }

  clearSelection() {
    this.selected = -1;
    this.tensorSelection = null;
    this.highlight = null;
    if (this.scene) this.renderer.setStates(null);
    if (this.doc) this.sidebar.showModel(this.doc, this.graph);
    this.onStatus();
  }

  // Everything upstream and downstream of box s stays lit; the rest is dimmed.
  applyHighlight(sel) {
    const s = this.scene, B = s.boxes, G = s.ghosts, E = s.edges;
    const states = new Uint8Array(B + G + E).fill(STATE_DIM);
    const up = new Uint8Array(B), down = new Uint8Array(B);
    const walk = (mark, adjacency, next) => {
      const stack = [sel];
      mark[sel] = 1;
      while (stack.length) {
        const v = stack.pop();
        for (let k = adjacency.start[v]; k < adjacency.start[v + 1]; k++) {
          const e = adjacency.items[k];
          states[B + G + e] = STATE_PATH;
          const w = next[e];
          if (!mark[w]) { mark[w] = 1; stack.push(w); }
        }
      }
    };
    walk(up, this.inEdges, s.edgeSrc);
    walk(down, this.outEdges, s.edgeDst);
    let boxes = 0, edges = 0;
    for (let i = 0; i < B; i++) if (up[i] || down[i]) { states[i] = STATE_PATH; boxes++; }
    states[sel] = STATE_SELECTED;
    for (let e = 0; e < E; e++) {
      if (states[B + G + e] !== STATE_PATH) continue;
      edges++;
      if (s.edgeGhost[e] >= 0) states[s.edgeGhost[e]] = STATE_PATH;
    }
    this.highlight = { states, boxes, edges };
    this.renderer.setStates(states);
  }

  // app/search.js "Highlight all": boxes lit as on a path, the rest dimmed, the selected
  // box (if any) kept; highlighted() and state() then report them.
  highlightBoxes(boxes) {
    const s = this.scene;
    if (!s) return;
    const states = new Uint8Array(s.boxes + s.ghosts + s.edges).fill(STATE_DIM);
    let count = 0;
    for (const i of boxes) if (i >= 0 && i < s.boxes && states[i] !== STATE_PATH) { states[i] = STATE_PATH; count++; }
    if (this.selected >= 0) states[this.selected] = STATE_SELECTED;
    this.highlight = { states, boxes: count, edges: 0 };
    this.renderer.setStates(states);
    this.onStatus();
  }

  // Names of the boxes lit by the current selection, by kind.
  highlighted() {
    const out = { nodes: [], inputs: [], outputs: [], modules: [], edges: 0 };
    if (!this.highlight) return out;
    const s = this.scene;
    for (let i = 0; i < s.boxes; i++) {
      if (this.highlight.states[i] < STATE_PATH) continue;
      if (s.kinds[i] === KIND_MODULE || s.kinds[i] === KIND_FRAME) { out.modules.push(this.boxName(i)); continue; }
      const list = s.kinds[i] === KIND_OP ? out.nodes : s.kinds[i] === KIND_INPUT ? out.inputs : out.outputs;
      list.push(this.boxName(i));
    }
    out.edges = this.highlight.edges;
    return out;
  }

  // --- module hierarchy (app/module-view.js) ---------------------------------------

  moduleTree() {
    const g = this.doc && this.doc.graphs[this.graph];
    return g && hasGroups(g) ? groupTree(g) : null;
  }

  // Top centre of a module's box or frame in the scene on screen, or null.
  moduleAnchor(path) {
    const tree = this.moduleTree(), s = this.scene;
    const k = tree ? tree.byPath.get(path) : undefined;
    if (k === undefined || !s) return null;
    for (let i = 0; i < s.boxes; i++) {
      if ((s.kinds[i] === KIND_MODULE || s.kinds[i] === KIND_FRAME) && s.refs[i] === k) return { x: s.x[i], y: s.y[i] - s.h[i] / 2 };
    }
    return null;
  }

  // Lays out the graph on screen again in `mode` with `expanded` (a Set of paths);
  // anchor: the module kept in place on screen (undefined: fit the graph).
  async relayoutModules(mode, expanded, anchor) {
    if (!this.doc) return;
    const modules = { mode, expanded };
    if (anchor !== undefined) modules.anchor = anchor;
    await this.relayout(() => [this.texts, this.doc, this.graph, modules]);
  }

  // Expands the module at `path` (and its ancestors, so that it shows); false if the
  // graph has no such module.
  async expand(path) {
    const tree = this.moduleTree(), k = tree ? tree.byPath.get(path) : undefined;
    if (k === undefined) return false;
    const expanded = new Set(this.expanded);
    for (const a of groupChain(tree, k)) expanded.add(this.doc.graphs[this.graph].groups[a].path);
    await this.relayoutModules('modules', expanded, path);
    return true;
  }

  // Collapses the module at `path` (its expanded descendants too).
  async collapse(path) {
    const tree = this.moduleTree(), k = tree ? tree.byPath.get(path) : undefined;
    if (k === undefined) return false;
    const expanded = new Set([...this.expanded].filter((p) => p !== path && !p.startsWith(`${path}/`)));
    await this.relayoutModules('modules', expanded, path);
    return true;
  }

  async setMode(mode) {
    if (mode !== 'modules' && mode !== 'flat') throw new Error(`unknown mode '${mode}' (modules or flat)`);
    await this.relayoutModules(mode, this.expanded);
  }

  // Sizes the user set (the Sizes panel, app/sidebar.js; a shared link): the parse worker
  // that opened the model computes its shapes and cost again with them substituted
  // (wetron Model.detail_dict), and the same graph is laid out again with the same
  // modules, selection and view (edge labels are shapes: their widths are part of the
  // layout). {} returns to the sizes the model states. Rejects on a size the model
  // does not have; the document on screen is then unchanged.
  async setSizes(sizes) {
    if (!this.doc || !this.texts) throw new Error('no model is open');
    const detail = await this.parse.detailCurrent(sizes);
    const texts = { json: this.texts.json, detail };
    const doc = parseDocument(texts.json, detail);
    doc.userSizes = { ...sizes };
    this.sizes = { ...sizes };
    this.doc = doc;   // the same model: show() keeps the selection and the camera
    await this.relayout(() => [texts, doc, this.graph, { mode: this.mode, expanded: this.expanded, anchor: null }]);
  }

  // For shareable links (app/share.js): the expanded modules, and a way to restore them.
  expandedPaths() { return [...this.expanded]; }
  async setExpanded(paths) {
    const tree = this.moduleTree();
    const known = tree ? paths.filter((p) => tree.byPath.has(p)) : [];
    await this.relayoutModules(tree ? 'modules' : this.mode, new Set(known), null);
  }

  // Selects node `nodeIndex`, expanding the modules that hide it first.
  async revealNode(nodeIndex, { center = true } = {}) {
    let i = this.boxOfNode(nodeIndex);
    const tree = this.moduleTree();
    if (i < 0 && tree && this.mode === 'modules' && tree.nodeGroup[nodeIndex] >= 0) {
      await this.expand(this.doc.graphs[this.graph].groups[tree.nodeGroup[nodeIndex]].path);
      i = this.boxOfNode(nodeIndex);
    }
    if (i >= 0) this.selectBox(i, { center });
    return i >= 0;
  }

  // Index of the node with this name (or "#12") in the graph on screen, or -1.
  nodeIndexOf(name) {
    const g = this.doc && this.doc.graphs[this.graph];
    if (!g) return -1;
    if (!this.nodeNameIndex || this.nodeNameIndex.graph !== g) {
      this.nodeNameIndex = { graph: g, map: new Map() };
      g.nodes.forEach((n, i) => { if (n.name && !this.nodeNameIndex.map.has(n.name)) this.nodeNameIndex.map.set(n.name, i); });
    }
    const i = this.nodeNameIndex.map.get(name);
    if (i !== undefined) return i;
    const m = /^#(\d+)$/.exec(name);
    return m && Number(m[1]) < g.nodes.length ? Number(m[1]) : -1;
  }

  // A click on the canvas: a frame's header collapses its module, anything else selects.
  clickBox(i, world) {
    const s = this.scene;
    if (i >= 0 && i < s.boxes && s.kinds[i] === KIND_FRAME && world.y < s.y[i] - s.h[i] / 2 + FRAME_HEADER) {
      this.collapsedAt = performance.now();
      return this.collapse(this.boxName(i));
    }
    if (i < 0) this.clearSelection(); else this.selectBox(i);
    return Promise.resolve();
  }

  // A click at canvas pixel (sx, sy): a box (a frame's header collapses its module),
  // else the edge within a few pixels (its tensor), else nothing (clears). Inside an
  // expanded module's frame, an edge near the click wins over the frame.
  click(sx, sy) {
    const s = this.scene, r = this.renderer;
    if (!s) return Promise.resolve();
    const i = r.pick(sx, sy), world = r.screenToWorld(sx, sy);
    const frameBody = i >= 0 && i < s.boxes && s.kinds[i] === KIND_FRAME && world.y >= s.y[i] - s.h[i] / 2 + FRAME_HEADER;
    if (i < 0 || frameBody) {
      const e = r.pickEdge(sx, sy);
      if (e >= 0) { this.selectEdge(e); return Promise.resolve(); }
    }
    return this.clickBox(i, world);
  }

  // --- tensors: an edge clicked, a tensor found by search (app/tensors.js) -------------

  // Selects the tensor(s) drawn edge e carries (several for an aggregated edge of the
  // module view); false if there is no such edge.
  selectEdge(e) {
    const s = this.scene;
    if (!s || !Number.isInteger(e) || e < 0 || e >= s.edges) return false;
    const g = this.doc.graphs[this.graph];
    this.selectTensors(edgeTensors(s, g, e), { edge: e });
    return true;
  }

  // Selects tensors (value indices of the graph on screen): the edges carrying them in
  // the selection colour, their producer and consumer boxes lit, the rest dimmed, the
  // sidebar showing them. A tensor read by several nodes has an edge to each: all are
  // selected. edge: the edge clicked (reported by state().selection); centerOn: a box to
  // bring into view.
  selectTensors(values, { edge = -1, centerOn = -1 } = {}) {
    const s = this.scene, g = this.doc && this.doc.graphs[this.graph];
    if (!s || !g || !values.length) return false;
    this.selected = -1;
    const B = s.boxes, G = s.ghosts, E = s.edges;
    const states = new Uint8Array(B + G + E).fill(STATE_DIM);
    const edges = tensorEdges(s, g, values);
    if (edge >= 0 && !edges.includes(edge)) edges.push(edge);
    let boxes = 0;
    const light = (b) => { if (b >= 0 && b < B && states[b] !== STATE_PATH) { states[b] = STATE_PATH; boxes++; } };
    for (const v of values) { light(producerBox(s, g, v)); for (const c of consumerBoxes(s, g, v)) light(c); }
    for (const e of edges) {
      states[B + G + e] = STATE_SELECTED;
      light(s.edgeSrc[e]); light(s.edgeDst[e]);
      if (s.edgeGhost[e] >= 0) states[s.edgeGhost[e]] = STATE_PATH;
    }
    this.tensorSelection = { doc: this.doc, graph: this.graph, values: [...values], edge };
    this.highlight = { states, boxes, edges: edges.length };
    this.renderer.setStates(states);
    const info = values.slice(0, SIDEBAR_TENSORS).map((v) => tensorInfo(this.doc, this.graph, v));
    info.more = Math.max(0, values.length - SIDEBAR_TENSORS);
    const ends = edge >= 0 ? { from: this.boxName(s.edgeSrc[edge]), to: this.boxName(s.edgeDst[edge]) } : null;
    this.sidebar.showTensors(this.doc, this.graph, info, ends);
    if (centerOn >= 0) this.centerOnWorld(s.x[centerOn], s.y[centerOn]);
    this.onStatus();
    return true;
  }

  // The value with this name in the graph on screen (its first), or -1.
  valueIndexOf(name) {
    const g = this.doc && this.doc.graphs[this.graph];
    if (!g) return -1;
    if (!this.valueNameIndex || this.valueNameIndex.graph !== g) {
      this.valueNameIndex = { graph: g, map: new Map() };
      g.values.forEach((v, i) => { if (v[0] && !this.valueNameIndex.map.has(v[0])) this.valueNameIndex.map.set(v[0], i); });
    }
    return this.valueNameIndex.map.get(name) ?? -1;
  }

  // Selects tensor v and brings its producer's box into view (or, for a weight or a graph
  // input, its first consumer's), expanding the modules that hide that node first.
  async revealTensor(v, { center = true } = {}) {
    const g = this.doc && this.doc.graphs[this.graph];
    if (!g || !g.values[v]) return false;
    const ix = valueIndex(g);
    let node = ix.producer[v];
    if (node < 0 && ix.consumerStart[v + 1] > ix.consumerStart[v]) node = ix.consumers[ix.consumerStart[v]];
    let box = node >= 0 ? this.boxOfNode(node) : producerBox(this.scene, g, v);
    const tree = this.moduleTree();
    if (node >= 0 && box < 0 && tree && this.mode === 'modules' && tree.nodeGroup[node] >= 0) {
      await this.expand(g.groups[tree.nodeGroup[node]].path);
      box = this.boxOfNode(node);
    }
    if (box < 0 && node >= 0) box = sceneBoxes(this.scene, g).nodeBox[node];
    if (box < 0 && ix.isOutput[v]) box = sceneBoxes(this.scene, g).outputBox.get(v) ?? -1;
    return this.selectTensors([v], { centerOn: center ? box : -1 });
  }

  // --- box labels: op type or node name (the toolbar's "Names", key N) ---

  // Lays the graph on screen out again with boxes titled by node name ('names') or op
  // type ('ops'). Box widths follow their titles, so the layout changes; the selected
  // box (or the selected tensor's first edge) keeps its place on screen, else the view
  // stays where it is.
  async setLabels(labels) {
    if (labels !== 'names' && labels !== 'ops') throw new Error(`unknown labels '${labels}' (names or ops)`);
    if (labels === this.labels) return;
    this.labels = labels;
    this.layout.labels = labels;
    if (!this.doc) { this.onStatus(); return; }
    const s = this.scene, before = this.selected >= 0 ? this.boxName(this.selected) : null;
    const tensor = this.tensorSelection;
    const at = before != null ? this.renderer.worldToScreen(s.x[this.selected], s.y[this.selected]) : null;
    await this.relayoutModules(this.mode, this.expanded, null);
    if (at && this.selected >= 0 && this.boxName(this.selected) === before) {
      const n = this.scene, i = this.selected, z = this.renderer.cam.z;
      this.renderer.setCamera({ x: n.x[i] - at.x / z, y: n.y[i] - at.y / z, z });
    }
    if (tensor && !this.tensorSelection && this.selected < 0) this.selectTensors(tensor.values);
  }

  // Closes the model: the start page shows again (the brand in the toolbar). The page
  // lets go of the document, the scene and its GPU buffers; an open in progress is
  // cancelled. (The parse worker keeps its last model until the next open.)
  close() {
    this.openCount++;
    if (this.parse.busy) this.parse.cancel();
    if (this.detail.busy) this.detail.cancel();
    this.layout.cancel();
    this.renderer.releaseScene();
    this.renderer.notify('scene');
    this.renderer.requestDraw();
    this.doc = null; this.texts = null; this.scene = null; this.graph = 0; this.sizes = {};
    this.selected = -1; this.highlight = null; this.tensorSelection = null;
    this.sourceUrl = null; this.timings = null;
    this.mode = 'flat'; this.expanded = new Set();
    this.sidebar.clear();
    this.onProgress(null);
    this.setStatus('idle');
  }

  // A double click: a module box expands, anything else selects.
  doubleClickBox(i) {
    const s = this.scene;
    // A double click on a frame's header: its first click collapsed the module already.
    if (performance.now() - (this.collapsedAt || -1e9) < 600) return Promise.resolve();
    if (i >= 0 && i < s.boxes && s.kinds[i] === KIND_MODULE) return this.expand(this.boxName(i));
    return Promise.resolve();
  }

  showModule(k) {
    const g = this.doc.graphs[this.graph], tree = this.moduleTree(), path = g.groups[k].path;
    const ops = new Map();
    for (let n = 0; n < g.nodes.length; n++) {
      let inside = false;
      for (let p = tree.nodeGroup[n]; p >= 0 && !inside; p = tree.parent[p]) inside = p === k;
      if (inside) ops.set(g.nodes[n].op, (ops.get(g.nodes[n].op) || 0) + 1);
    }
    const expanded = this.mode === 'modules' && this.expanded.has(path);
    const quiet = (promise) => promise.catch(() => {});   // failures show in the banner
    this.sidebar.showModule(this.doc, this.graph, k, { path, nodes: tree.nodes[k], ops, expanded, category: groupCategories(this.doc, g)[k],
      onToggle: () => quiet(expanded ? this.collapse(path) : this.expand(path)) });
  }

  modulesState() {
    const s = this.scene, m = s && s.modules;
    let collapsed = 0;
    if (s) for (let i = 0; i < s.boxes; i++) if (s.kinds[i] === KIND_MODULE) collapsed++;
    return {
      mode: this.mode, expanded: [...this.expanded], collapsed,
      // what the boxes stand for: ops drawn as boxes, ops inside collapsed modules, flat
      // edges (value, consumer) in all, inside one collapsed module, drawn aggregated
      ops: m ? m.opsDrawn : (this.doc ? this.doc.graphs[this.graph].nodes.length : 0),
      hiddenOps: m ? m.opsHidden : 0,
      flatEdges: m ? m.flatEdges : (s ? s.edges : 0),
      hiddenEdges: m ? m.hiddenEdges : 0,
      // the last layout: module layouts computed and reused, ms in the layout worker
      laidOut: m ? m.laidOut : 0, cached: m ? m.cached : 0, workerMs: s ? s.stats.totalMs : 0,
      workerPhases: s ? { view: s.stats.measureMs, layout: s.stats.layoutMs, buffers: s.stats.buildMs } : null,
    };
  }

  tensorName(v) {
    const entry = this.doc.graphs[this.graph].values[v];
    return entry ? entry[0] : null;
  }

  // What is selected: null, {kind: 'node'|'input'|'output'|'module', name} or
  // {kind: 'tensor', name (the first), tensors: [names], edge (the edge clicked, or -1)}.
  selectionState() {
    const s = this.scene;
    if (this.selected >= 0 && s) {
      const k = s.kinds[this.selected];
      const kind = k === KIND_OP ? 'node' : k === KIND_INPUT ? 'input' : k === KIND_MODULE || k === KIND_FRAME ? 'module' : 'output';
      return { kind, name: this.boxName(this.selected) };
    }
    const t = this.tensorSelection;
    if (!t || !this.doc) return null;
    const names = t.values.map((v) => this.tensorName(v));
    return { kind: 'tensor', name: names[0], tensors: names, edge: t.edge };
  }

  state() {
    const doc = this.doc, s = this.scene;
    return {
      status: this.status,
      error: this.error,
      warmedUp: this.warmedUp,
      format: doc ? doc.model.format : null,
      file: doc ? doc.model.file : null,
      graph: doc ? this.graph : null,
      nodes: doc ? doc.graphs[this.graph].nodes.length : 0,
      edges: s ? s.edges : 0,
      drawn: s ? { ...this.renderer.drawn } : { nodes: 0, inputs: 0, outputs: 0, ghosts: 0, edges: 0 },
      selected: this.selected >= 0 ? this.boxName(this.selected) : this.tensorSelection ? this.tensorName(this.tensorSelection.values[0]) : null,
      selection: this.selectionState(),
      labels: this.labels,
      highlighted: this.highlight ? { nodes: this.highlight.boxes, edges: this.highlight.edges } : null,
      timings: this.timings,
      // WebAssembly memory of the parse workers (the one that opened the file, and the one
      // that computed its detail), each its peak
      wasmBytes: this.parse.wasmBytes != null ? this.parse.wasmBytes + (this.detail.wasmBytes ?? 0) : null,
      zoom: this.renderer.cam.z,
      modules: this.modulesState(),
    };
  }
}

// Where an open's time went, in ms on the page's clock, from the file chosen to drawn:
// input (chosen -> open started), toPython (-> the first worker's Python starts: message,
// and a warm-up step under way), python (its parse + document), fromPython (the text to
// the page), detailWait (-> the second worker's detail, after the document), layout
// (layout worker, message to scene back), draw (sidebar, buffers, first frame).
function openPhases(chosen, t0, t1, t2, t3, arrived, parse, detail, stats) {
  const page = (abs) => abs - performance.timeOrigin;
  const out = { input: t0 - chosen, layout: t2 - t1, draw: t3 - t2, total: t3 - chosen };
  if (parse && arrived) {
    out.toPython = page(parse.start) - t0;
    out.python = parse.end - parse.start;
    out.reads = parse.reads; out.readMs = parse.readMs;   // of python: reading the file
    out.fromPython = arrived.json - page(parse.end);
    out.detailWait = Math.max(0, (arrived.detail ?? arrived.json) - arrived.json);
    if (detail && !arrived.inline) out.detailPython = detail.end - detail.start;
  }
  if (stats.received) { out.toLayout = page(stats.received) - t1; out.layoutWorker = stats.posted - stats.received; }
  return out;
}

function cancelled() {
  const e = new Error('cancelled');
  e.cancelled = true;
  return e;
}

