// The page's two workers behind promises. Cancelling means terminating the worker and
// starting a fresh one (a parse cannot be interrupted inside Python).

// Parse worker (app/parse-worker.js, Pyodide): protocol in docs/app.md.
export class ParseWorker {
  constructor(onProgress) {
    this.onProgress = onProgress;   // (message) for the request in flight
    this.nextId = 1;
    this.start();
  }

  start() {
    this.pending = new Map();   // id -> {resolve, reject}
    this.worker = new Worker(new URL('./parse-worker.js', import.meta.url), { type: 'module' });
    this.isReady = false;
    this.readyPromise = new Promise((resolve, reject) => { this.readyResolve = resolve; this.readyReject = reject; });
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      const message = `parse worker failed: ${event.message || 'could not start'}`;
      event.preventDefault();
      this.readyReject(new Error(message));
      for (const p of this.pending.values()) p.reject(new Error(message));
      this.pending.clear();
    };
    this.readyPromise.catch(() => {});
  }

  receive(msg) {
    if (msg.type === 'ready') { this.isReady = true; this.readyMs = msg.ms; this.readyResolve(msg.ms); return; }
    if (msg.type === 'error' && msg.id == null) { this.readyReject(new Error(msg.message)); return; }   // Python did not start
    const p = this.pending.get(msg.id);
    if (!p) return;   // a request that was cancelled
    if (msg.type === 'progress') { (p.onProgress || this.onProgress)(msg.message, msg); return; }
    if (msg.type === 'opened') { if (p.onOpened) p.onOpened(msg); return; }
    this.pending.delete(msg.id);
    if (msg.wasmBytes != null) this.wasmBytes = msg.wasmBytes;   // Pyodide's memory after the last parse
    if (msg.timing) this.timing = msg.timing;   // {start, end}: when Python took and answered the last open
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve(msg.type === 'tensor-npy' ? { json: msg.json, blob: msg.blob } : msg.json);
  }

  // -> a promise of the answer, with its requestId (for abandon)
  request(message, onProgress = null, onOpened = null) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, onOpened });
      this.worker.postMessage({ ...message, id });
    });
    promise.requestId = id;
    return promise;
  }

  // A request whose answer nobody needs any more: it never settles, and the worker is
  // not busy for it (a parse cannot be stopped; its answer is dropped when it comes).
  abandon(request) { this.pending.delete(request.requestId); }

  // -> graph document JSON text; detail false: without the part detail() gives; 'auto':
  // without it for big models only. onOpened({nodes, detail}) once the file is parsed.
  open(file, name, companions = [], detail = true, onOpened = null) {
    return this.request({ type: 'open', file, name, companions, detail }, null, onOpened);
  }
  // -> JSON text of the document detail (app/document.js) of a file; detailCurrent(): of
  // the model this worker opened last, at sizes ({symbol: int} the user set) if given
  detail(file, name, companions = []) { return this.request({ type: 'detail', file, name, companions }); }
  detailCurrent(sizes = null) { return this.request({ type: 'detail-current', sizes }); }
  openUrl(url) { return this.request({ type: 'open-url', url }); }
  // -> JSON text {dtype, shape, count, values, truncated} or {error}
  tensor(index, limit) { return this.request({ type: 'tensor', tensor: index, limit }); }
  // tensor viewer: -> JSON text of the statistics; onProgress(message, {fraction}) meanwhile
  tensorStats(index, onProgress) { return this.request({ type: 'tensor-stats', tensor: index }, onProgress); }
  // -> {json: '{"bytes", "note"}', blob: the .npy file}
  tensorNpy(index) { return this.request({ type: 'tensor-npy', tensor: index }); }
  // cost summary: format 'csv' | 'markdown' -> JSON text {"text"}, as `wetron cost --csv/--md`
  // at sizes ({symbol: int}, the Sizes panel's) if given
  costExport(format, sizes = null) { return this.request({ type: 'cost-export', format, sizes }); }

  // Ends the worker's warm-up (app/parse-worker.js), so it leaves the cores to a file
  // being opened; nothing is answered.
  stopWarmUp() { this.worker.postMessage({ type: 'stop-warm-up' }); }

  get busy() { return this.pending.size > 0; }

  cancel() {
    const error = new Error('cancelled');
    error.cancelled = true;
    for (const p of this.pending.values()) p.reject(error);
    this.worker.terminate();
    this.start();
  }
}

// Layout worker (app/layout-worker.js): graph document texts in, scene out.
export class LayoutWorker {
  constructor() { this.nextId = 1; this.labels = 'ops'; this.start(); }

  start() {
    this.pending = new Map();
    this.warming = new Map();   // warm-up layouts: not cancelled (nobody waits for them)
    this.sentTexts = null;   // the document the worker holds
    this.worker = new Worker(new URL('./layout-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => {
      const p = this.pending.get(data.id) || this.warming.get(data.id);
      if (!p) return;
      this.pending.delete(data.id);
      this.warming.delete(data.id);
      if (data.error) { this.sentTexts = null; p.reject(new Error(data.error)); } else p.resolve(data.scene);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      for (const p of [...this.pending.values(), ...this.warming.values()]) p.reject(new Error(`layout worker failed: ${event.message}`));
      this.pending.clear();
      this.warming.clear();
    };
  }

  // The page's warm-up (app/viewer.js): a small document laid out once, after the worker
  // has prepared its glyphs, so the first model's layout runs optimised code and only
  // packs glyphs. A layout asked for meanwhile waits for it; cancel() leaves it be.
  warmUp(texts, options) {
    const id = this.nextId++;
    this.sentTexts = texts;
    return new Promise((resolve, reject) => {
      this.warming.set(id, { resolve, reject });
      this.worker.postMessage({ id, json: texts.json, detail: texts.detail, graph: 0, options, modules: 'default', warmUp: true });
    });
  }

  // texts: {json, detail} (app/document.js). modules: null (flat), {expanded: [paths]}
  // (module view, app/module-view.js), or 'default' (the graph's default mode, returned
  // as scene.mode).
  layout(texts, options = {}, graph = 0, modules = null) {
    const id = this.nextId++;
    // The worker keeps the last document: the same texts are not sent (and parsed) again.
    const send = texts === this.sentTexts ? null : texts;
    this.sentTexts = texts;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // labels: 'names' titles op boxes by node name (app/viewer.js setLabels)
      const withLabels = this.labels === 'names' ? { ...options, labels: 'names' } : options;
      this.worker.postMessage({ id, json: send && send.json, detail: send && send.detail, graph, options: withLabels, modules });
    });
  }

  cancel() {
    if (!this.pending.size) return;
    const error = new Error('cancelled');
    error.cancelled = true;
    for (const p of [...this.pending.values(), ...this.warming.values()]) p.reject(error);
    this.worker.terminate();
    this.start();
  }
}
