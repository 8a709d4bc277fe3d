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
    this.pending.delete(msg.id);
    if (msg.wasmBytes != null) this.wasmBytes = msg.wasmBytes;   // Pyodide's memory after the last parse
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve(msg.type === 'tensor-npy' ? { json: msg.json, blob: msg.blob } : msg.json);
  }

  request(message, onProgress = null) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...message, id });
    });
  }

  // -> graph document JSON text; detail false: without the part detail() gives
  open(file, name, companions = [], detail = true) { return this.request({ type: 'open', file, name, companions, detail }); }
  // -> JSON text of the document detail (app/document.js) of a file; detailCurrent(): of
  // the model this worker opened last
  detail(file, name, companions = []) { return this.request({ type: 'detail', file, name, companions }); }
  detailCurrent() { return this.request({ type: 'detail-current' }); }
  openUrl(url) { return this.request({ type: 'open-url', url }); }
  // -> JSON text {dtype, shape, count, values, truncated} or {error}
  tensor(index, limit) { return this.request({ type: 'tensor', tensor: index, limit }); }
  // tensor viewer: -> JSON text of the statistics; onProgress(message, {fraction}) meanwhile
  tensorStats(index, onProgress) { return this.request({ type: 'tensor-stats', tensor: index }, onProgress); }
  // -> {json: '{"bytes", "note"}', blob: the .npy file}
  tensorNpy(index) { return this.request({ type: 'tensor-npy', tensor: index }); }
  // cost summary: format 'csv' | 'markdown' -> JSON text {"text"}, as `wetron cost --csv/--md`
  costExport(format) { return this.request({ type: 'cost-export', format }); }

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
  constructor() { this.nextId = 1; this.start(); }

  start() {
    this.pending = new Map();
    this.sentTexts = null;   // the document the worker holds
    this.worker = new Worker(new URL('./layout-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      this.pending.delete(data.id);
      if (data.error) { this.sentTexts = null; p.reject(new Error(data.error)); } else p.resolve(data.scene);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      for (const p of this.pending.values()) p.reject(new Error(`layout worker failed: ${event.message}`));
      this.pending.clear();
    };
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
      this.worker.postMessage({ id, json: send && send.json, detail: send && send.detail, graph, options, modules });
    });
  }

  cancel() {
    if (!this.pending.size) return;
    const error = new Error('cancelled');
    error.cancelled = true;
    for (const p of this.pending.values()) p.reject(error);
    this.worker.terminate();
    this.start();
  }
}
