// The open model and everything done with it: opening through the workers, swapping
// in a new scene only once it is complete (a failed open leaves the previous model
// usable), selection with upstream/downstream highlighting, and the status the
// automation API reports.

import { KIND_INPUT, KIND_OP } from './graph-view.js';
import { LayoutWorker, ParseWorker } from './workers.js';
import { STATE_DIM, STATE_PATH, STATE_SELECTED } from './renderer.js';

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export class Viewer {
  constructor({ renderer, sidebar, onStatus, onProgress, viewportSize }) {
    this.viewportSize = viewportSize;   // () => {width, height}: the canvas as it will be with a model open
    this.renderer = renderer;
    this.sidebar = sidebar;
    this.onStatus = onStatus;       // () => void, whenever status/error/model changes
    this.onProgress = onProgress;   // (message | null)
    this.parse = new ParseWorker((message) => this.onProgress(message));
    this.layout = new LayoutWorker();
    this.status = 'idle';
    this.error = null;
    this.doc = null;
    this.json = null;
    this.graph = 0;          // index in doc.graphs of the graph on screen
    this.scene = null;
    this.selected = -1;      // box index
    this.highlight = null;   // {states: Uint8Array per item, boxes: count lit, edges: count lit}
    this.timings = null;
    this.openCount = 0;
  }

  ready() { return this.parse.readyPromise; }

  setStatus(status, error = null) {
    this.status = status; this.error = error;
    this.onStatus();
  }

  // source: File/Blob, URL string, or {file, name, companions}. Resolves when drawn.
  async open(source) {
    const token = ++this.openCount;
    if (this.parse.busy) this.parse.cancel();
    this.layout.cancel();
    this.setStatus('loading');
    const t0 = performance.now();
    const stale = () => token !== this.openCount;
    try {
      if (!this.parse.isReady) this.onProgress('Loading Python…');
      await this.parse.readyPromise;
      if (stale()) throw cancelled();
      this.onProgress('Parsing…');
      let json;
      if (typeof source === 'string') {
        json = await this.parse.openUrl(new URL(source, document.baseURI).href);
      } else if (source instanceof Blob) {
        json = await this.parse.open(source, source.name || 'model', []);
      } else {
        json = await this.parse.open(source.file, source.name || source.file.name || 'model', source.companions || []);
      }
      if (stale()) throw cancelled();
      const t1 = performance.now();
      const doc = this.acceptDocument(json);
      const scene = await this.present(json, doc, 0, token);
      const t3 = performance.now(), t2 = t3 - scene.drawMs;
      this.timings = { parse: t1 - t0, layout: t2 - t1, draw: t3 - t2, total: t3 - t0, worker: scene.stats };
      this.onProgress(null);
      this.setStatus('ready');
    } catch (error) {
      if (error.cancelled || stale()) throw error;
      this.onProgress(null);
      this.setStatus('error', error.message || String(error));
      throw error;
    }
  }

  // A graph document produced elsewhere (JSON text): skips the parse worker.
  openDocument(json) { return this.relayout(() => [json, this.acceptDocument(json), 0]); }

  // Show graphs[index] of the open model (a subgraph: If/Loop/Scan bodies, functions).
  async openGraph(index, selectNode = -1) {
    if (!this.doc || !this.doc.graphs[index]) return;
    await this.relayout(() => [this.json, this.doc, index]);
    if (selectNode >= 0) this.selectBox(this.boxOfNode(selectNode), { center: true });
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

  // Lays out and shows what() -> [json, doc, graph], as one cancellable step.
  async relayout(what) {
    const token = ++this.openCount;
    this.layout.cancel();
    this.setStatus('loading');
    try {
      const [json, doc, graph] = what();
      await this.present(json, doc, graph, token);
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
    this.layout.cancel();
    this.onProgress(null);
    this.setStatus(this.doc ? 'ready' : 'idle');
  }

  dismissError() {
    if (this.status === 'error') this.setStatus(this.doc ? 'ready' : 'idle');
  }

  // Tall graphs are wrapped into columns to fit the canvas as it is now.
  layoutOptions() {
    return { viewport: this.viewportSize() };
  }

  // Lays out graphs[graph] of the document (in the worker) and shows it.
  async present(json, doc, graph, token) {
    this.onProgress('Laying out…');
    const scene = await this.layout.layout(json, this.layoutOptions(), graph);
    if (token !== this.openCount) throw cancelled();
    this.onProgress('Drawing…');
    const t0 = performance.now();
    await this.show(json, doc, scene, graph);
    if (token !== this.openCount) throw cancelled();
    scene.drawMs = performance.now() - t0;
    return scene;
  }

  acceptDocument(json) {
    const doc = JSON.parse(json);
    if (doc.error) throw new Error(doc.error);
    if (doc.schema !== 'wetron-graph' || !Array.isArray(doc.graphs) || !doc.graphs.length) {
      throw new Error('not a wetron graph document');
    }
    return doc;
  }

  async show(json, doc, scene, graph) {
    this.json = json;   // kept to lay out subgraphs later
    this.doc = doc;
    this.graph = graph;
    this.onStatus();           // the page shows its model layout (sidebar) ...
    this.renderer.resize();    // ... so the canvas has its final size before fitting
    this.renderer.setScene(scene);
    this.scene = scene;
    this.indexScene();
    this.selected = -1;
    this.highlight = null;
    this.sidebar.showModel(doc, graph);
    this.renderer.requestDraw();
    await nextFrame();   // runs after the renderer's callback: the new scene is drawn
  }

  // Adjacency and name lookup for the boxes of the scene.
  indexScene() {
    const s = this.scene, B = s.boxes;
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
      const name = g.values[s.refs[i]][0];
      if (name && !this.byName.has(name)) this.byName.set(name, i);
    }
  }

  // A node's name, or "#<node index>" for a node without one; a graph input's or
  // output's value name.
  boxName(i) {
    const s = this.scene, g = this.doc.graphs[this.graph];
    if (i < 0 || !s) return null;
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
    this.applyHighlight(i);
    const g = this.doc.graphs[this.graph];
    if (s.kinds[i] === KIND_OP) {
      const group = g.node_group && g.groups ? g.node_group[s.refs[i]] : -1;
      this.sidebar.showNode(this.doc, this.graph, s.refs[i], group >= 0 ? g.groups[group].path.split('/').join(' › ') : null);
    } else this.sidebar.showGraphValue(this.doc, this.graph, s.refs[i], s.kinds[i] === KIND_INPUT);
    if (center) this.renderer.centerOn(s.x[i], s.y[i], true, 1);
    this.onStatus();
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

  // Names of the boxes lit by the current selection, by kind.
  highlighted() {
    const out = { nodes: [], inputs: [], outputs: [], edges: 0 };
    if (!this.highlight) return out;
    const s = this.scene;
    for (let i = 0; i < s.boxes; i++) {
      if (this.highlight.states[i] < STATE_PATH) continue;
      const list = s.kinds[i] === KIND_OP ? out.nodes : s.kinds[i] === KIND_INPUT ? out.inputs : out.outputs;
      list.push(this.boxName(i));
    }
    out.edges = this.highlight.edges;
    return out;
  }

  state() {
    const doc = this.doc, s = this.scene;
    return {
      status: this.status,
      error: this.error,
      format: doc ? doc.model.format : null,
      file: doc ? doc.model.file : null,
      graph: doc ? this.graph : null,
      nodes: doc ? doc.graphs[this.graph].nodes.length : 0,
      edges: s ? s.edges : 0,
      drawn: s ? { ...this.renderer.drawn } : { nodes: 0, inputs: 0, outputs: 0, ghosts: 0, edges: 0 },
      selected: this.selected >= 0 ? this.boxName(this.selected) : null,
      highlighted: this.highlight ? { nodes: this.highlight.boxes, edges: this.highlight.edges } : null,
      timings: this.timings,
      zoom: this.renderer.cam.z,
    };
  }
}

function cancelled() {
  const e = new Error('cancelled');
  e.cancelled = true;
  return e;
}

