// Parse worker: Pyodide + the wetron wheel, turning model files into graph documents.
//
// Protocol (the page talks to this module worker with postMessage):
//   page -> worker
//     {type: "open", id, file: File|Blob, name, companions: [{name, file}], detail}
//                                          detail false: the document without its detail;
//                                          "auto": without it only for big models
//     {type: "detail", id, file, name, companions}   the detail alone (another worker
//                                          opens the same file meanwhile: app/document.js)
//     {type: "detail-current", id, sizes}  the detail of the last model opened here;
//                                          sizes: {symbol: int} the user set (Sizes panel)
//     {type: "open-url", id, url}          fetched here (same origin or CORS), then opened
//     {type: "tensor", id, tensor, limit}  values of a tensor of the last model opened
//     {type: "tensor-stats", id, tensor}   statistics + histogram (py/wetron/tensor_stats.py)
//     {type: "tensor-npy", id, tensor}     the tensor as a .npy file
//     {type: "cost-export", id, format, sizes}  "csv" | "markdown": the CLI's cost report text
//     {type: "stop-warm-up"}               no answer: ends the warm-up (a file is coming)
//   worker -> page
//     {type: "ready", ms, snapshot}        Python and wetron loaded (ms since worker start)
//     {type: "progress", id, message}      while reading a file also {done, total}: bytes
//     {type: "opened", id, nodes, detail}  the file is parsed; detail: the document will hold it
//     {type: "graph", id, json, wasmBytes} the graph document (docs/graph-schema.md), JSON text;
//     {type: "detail", id, json, wasmBytes} wetron Model.detail_dict, JSON text;
//                                          wasmBytes: Pyodide's WebAssembly memory size (peak)
//     {type: "tensor", id, json}           {"dtype", "shape", "count", "values", "truncated"}
//     {type: "tensor-stats", id, json}     the statistics (docs/app.md, "Tensor viewer");
//                                          before it {type: "progress", id, message, fraction}
//     {type: "tensor-npy", id, json, blob} json: {"bytes", "note"}; blob: the .npy file
//     {type: "cost-export", id, json}      {"text"}: wetron.cost.to_csv / to_markdown
//     {type: "error", id, message}         one line for the user; tracebacks go to the console
// Requests sent before "ready" wait for it. To cancel, the page terminates this worker
// and starts a new one.
//
// Every URL is relative to this file, so the site works under any sub-path.
import { loadPyodide } from "../pyodide/pyodide.mjs";

const started = performance.now();
const SITE = new URL("../", import.meta.url);
const PYODIDE = new URL("pyodide/", SITE).href;
// parse-worker.js?snapshot=0 boots Python without the snapshot (for measuring)
const USE_SNAPSHOT = new URL(import.meta.url).searchParams.get("snapshot") !== "0";

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Pyodide's runtime is served gzipped (build.py: 9.6 -> 3.6 MB, whether the host
// compresses or not); its loader fetches pyodide.asm.wasm, and that one request is
// answered here from the .gz, decompressed as it streams into the compiler.
const WASM = PYODIDE + "pyodide.asm.wasm";
const plainFetch = self.fetch.bind(self);
self.fetch = (input, init) => {
  if (String(input instanceof Request ? input.url : input) !== WASM) return plainFetch(input, init);
  return plainFetch(WASM + ".gz", init).then((response) => !response.ok ? response : new Response(
    response.body.pipeThrough(new DecompressionStream("gzip")), { headers: { "Content-Type": "application/wasm" } }));
};

async function fetchGunzipped(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// The snapshot (built by build.py) is Python's memory right after these same steps:
// boot, unpack the wheel, import every wetron module. Restoring it skips booting and
// importing; the files still have to be unpacked, since the file system is not in it.
async function startPython() {
  const manifest = await (await fetch(new URL("manifest.json", SITE))).json();
  const wheel = fetchBytes(new URL(manifest.wheel, SITE));
  const options = { indexURL: PYODIDE, stdout: (s) => console.log(s), stderr: (s) => console.warn(s) };
  let pyodide = null;
  if (manifest.snapshot && USE_SNAPSHOT) {
    // a promise: Pyodide fetches its runtime while the snapshot downloads and unzips
    const snapshot = fetchGunzipped(new URL(manifest.snapshot, SITE));
    snapshot.catch(() => {});   // a failure is handled below, once loadPyodide awaits it
    try {
      pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot });
    } catch (e) {
      console.warn("wetron: memory snapshot failed, starting Python cold:", e);
    }
  }
  const fromSnapshot = pyodide !== null;
  if (!pyodide) pyodide = await loadPyodide(options);
  pyodide.unpackArchive(await wheel, "wheel");
  pyodide.runPython("import importlib; importlib.invalidate_caches()");
  return { web: pyodide.pyimport("wetron.web"), pyodide, fromSnapshot, manifest };
}

// The first big parse after start ran ~50% slower than later ones (a 100k-node model:
// 6-7 s, then 4-4.5 s): V8 optimises a WebAssembly function only once it has run hot.
// So, once Python is ready, the site's example models are parsed and thrown away a few
// rounds while the user is still choosing a file. That must never delay the file: a
// step is one small example (~10-50 ms), after each the worker rests as long as the
// step took (the page's main thread and the other worker keep a core), and a request
// ends it at once (during a rest) or after the step under way.
const WARM_UP_ROUNDS = 8;
const WARM_UP_MAX_BYTES = 4 << 20;
let requestsWaiting = 0;
let wake = null;   // ends the warm-up's rest or download early: a request came

async function warmUp(python) {
  if (!python.manifest.examples || requestsWaiting) return;   // a file is waiting already
  const t0 = performance.now();
  const rest = (ms) => new Promise((resolve) => { wake = resolve; setTimeout(resolve, ms); }).then(() => { wake = null; });
  // downloading the examples (a first visit: seconds on a slow link) is aborted by a request too
  const download = new AbortController();
  wake = () => download.abort();
  const get = (url) => fetch(new URL(url, SITE), { signal: download.signal });
  try {
    const index = await (await get(python.manifest.examples)).json();
    const examples = [];
    for (const example of index.slice(0, 3)) {
      if (example.size <= WARM_UP_MAX_BYTES) examples.push([await (await get(example.url)).blob(), example.file]);
    }
    wake = null;
    let steps = 0;
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      for (const [blob, name] of examples) {
        if (requestsWaiting) {
          console.log(`wetron: warm-up stopped for a request after ${Math.round(performance.now() - t0)} ms, ${steps} steps`);
          python.web.warm_up_done();
          return;
        }
        const start = performance.now();
        python.web.warm_up(blobReader(blob), name);
        steps++;
        await rest(performance.now() - start);
      }
    }
    console.log(`wetron: warmed up in ${Math.round(performance.now() - t0)} ms, ${steps} steps`);
  } catch (e) {
    if (!download.signal.aborted) console.warn("wetron: warm-up skipped:", e); else console.log("wetron: warm-up stopped for a request while downloading the examples");
  }
  wake = null;
  python.web.warm_up_done();
}

// A file as the reader wetron.web expects: read(offset, length) -> Uint8Array of one
// Blob slice, so a big file is never copied whole into the WebAssembly heap.
// Offsets are plain numbers: exact up to 2^53, and Blob.slice takes 64-bit positions.
// onRead(end), if given, is told how far into the file each read reached.
// reads, readMs: how many reads, and the time spent in them (the page's timings).
function blobReader(blob, onRead = null) {
  const files = new FileReaderSync();
  const reader = {
    size: blob.size, reads: 0, readMs: 0,
    read: (offset, length) => {
      if (onRead) onRead(offset + length);
      const start = performance.now();
      const bytes = new Uint8Array(files.readAsArrayBuffer(blob.slice(offset, offset + length)));
      reader.reads++; reader.readMs += performance.now() - start;
      return bytes;
    },
  };
  return reader;
}

// --- large files: how far the parse has read, as progress ---
// Python reads a model mostly front to back, skipping weights by offset, so the furthest
// byte read is the parse's progress. Posted every PROGRESS_MS and at each tenth of the
// file passed (files over TENTHS_FROM bytes), while Python runs (postMessage works from
// inside the synchronous parse).
const PROGRESS_MS = 100;
const TENTHS_FROM = 64 << 20;

function formatSize(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

function readProgress(id, name, total) {
  let furthest = 0, tenth = 0, last = performance.now();
  return (end) => {
    if (end <= furthest) return;
    furthest = end;
    const now = performance.now(), reached = total >= TENTHS_FROM ? Math.floor((10 * furthest) / total) : 0;
    if (now - last < PROGRESS_MS && reached <= tenth) return;
    last = now; tenth = reached;
    postMessage({ type: "progress", id, message: `Reading ${name}… ${formatSize(furthest)} of ${formatSize(total)}`,
                  done: furthest, total });
  };
}

// Size of Pyodide's WebAssembly memory: it never shrinks, so after a parse it is the
// parse's peak. Reported with each graph (benchmarks, the automation API's state()).
function wasmBytes(python) {
  const heap = python.pyodide._module && python.pyodide._module.HEAPU8;
  return heap ? heap.length : null;
}

// --- tensor viewer: statistics and .npy (app/tensor-view.js) ---
function tensorView(python, msg) {
  const { id } = msg;
  if (msg.type === "tensor-stats") {
    let last = 0;
    const progress = (fraction) => {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      postMessage({ type: "progress", id, message: `Reading… ${Math.round(fraction * 100)}%`, fraction });
    };
    answer("tensor-stats", id, python.web.tensor_stats(msg.tensor, progress));
    return;
  }
  // Python hands the file over in pieces; a Blob of them crosses to the page cheaply
  const pieces = [];
  const json = python.web.tensor_npy(msg.tensor, (piece) => { pieces.push(piece.slice()); });
  if (json.startsWith('{"error"')) answer("tensor-npy", id, json);
  else postMessage({ type: "tensor-npy", id, json, blob: new Blob(pieces, { type: "application/octet-stream" }) });
}

// A failure to tell the user as it is (anything else is reported as an internal error).
class Failure extends Error {}

// The one line a user sees for an unexpected failure; the full story goes to the console.
function oneLine(error) {
  const text = String(error && error.message || error);
  const lines = text.trim().split("\n").filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1].trim() : "unknown error";
}

// Python answers with the document or {"error": message}; the document starts with
// {"schema", so the (possibly huge) text need not be parsed here to tell them apart.
function answer(type, id, json, extra = {}) {
  if (json.startsWith('{"error"')) {
    postMessage({ type: "error", id, message: JSON.parse(json).error });
  } else {
    postMessage({ type, id, json, ...extra });
  }
}

function fileName(url) {
  const path = new URL(url, self.location.href).pathname;
  const last = path.split("/").filter(Boolean).pop() || "model";
  try { return decodeURIComponent(last); } catch { return last; }
}

function companionReaders(companions) {
  const others = new Map();
  for (const c of companions || []) others.set(c.name, blobReader(c.file));
  return others;
}

// Absolute times (ms since the epoch, comparable across the page's threads) of a request
// reaching Python and Python answering: the page's timings (app/viewer.js) split on them.
const now = () => performance.timeOrigin + performance.now();

async function openFile(python, id, file, name, companions, detail = true) {
  postMessage({ type: "progress", id, message: `Reading ${name}…` });
  const reader = blobReader(file, readProgress(id, name, file.size));
  const start = now();
  const opened = (nodes, withDetail) => postMessage({ type: "opened", id, nodes, detail: withDetail });
  const json = python.web.open_file(reader, name, companionReaders(companions), detail, opened);
  answer("graph", id, json, { wasmBytes: wasmBytes(python), timing: { start, end: now(), reads: reader.reads, readMs: reader.readMs } });
}

async function handle(python, msg) {
  try {
    await answerRequest(python, msg);
  } finally {
    if (msg.type === "open" || msg.type === "open-url" || msg.type === "detail") python.web.collect_garbage();
  }
}

async function answerRequest(python, msg) {
  const { id } = msg;
  try {
    if (msg.type === "stop-warm-up") {
      return;   // arriving stopped it
    } else if (msg.type === "open") {
      await openFile(python, id, msg.file, msg.name || msg.file.name || "model", msg.companions, msg.detail ?? true);
    } else if (msg.type === "detail") {
      const start = now();
      const json = python.web.open_detail(blobReader(msg.file), msg.name || msg.file.name || "model",
        companionReaders(msg.companions));
      answer("detail", id, json, { wasmBytes: wasmBytes(python), timing: { start, end: now() } });
    } else if (msg.type === "detail-current") {
      answer("detail", id, python.web.current_detail(msg.sizes ? JSON.stringify(msg.sizes) : null));
    } else if (msg.type === "open-url") {
      const name = fileName(msg.url);
      postMessage({ type: "progress", id, message: `Downloading ${name}…` });
      let response;
      try {
        response = await fetch(msg.url);
      } catch (e) {
        throw new Failure(`could not download ${msg.url} (network error, or the server does not allow cross-origin requests)`);
      }
      if (!response.ok) throw new Failure(`could not download ${msg.url}: HTTP ${response.status}`);
      await openFile(python, id, await response.blob(), name, []);
    } else if (msg.type === "tensor") {
      answer("tensor", id, python.web.tensor_values(msg.tensor, msg.limit ?? 1000));
    } else if (msg.type === "tensor-stats" || msg.type === "tensor-npy") {
      tensorView(python, msg);
    } else if (msg.type === "cost-export") {   // cost summary: downloads (app/cost-view.js)
      answer("cost-export", id, python.web.cost_export(msg.format, msg.sizes ? JSON.stringify(msg.sizes) : null));
    } else {
      postMessage({ type: "error", id, message: `unknown request type '${msg.type}'` });
    }
  } catch (e) {
    if (e instanceof Failure) {
      postMessage({ type: "error", id, message: e.message });
    } else {
      console.error("wetron worker:", e);   // a Python traceback, if any, is in e.message
      postMessage({ type: "error", id, message: `Internal error: ${oneLine(e)}` });
    }
  }
}

const ready = startPython().then(
  (python) => {
    const ms = Math.round(performance.now() - started);
    console.log(`wetron: Python ready in ${ms} ms (${python.fromSnapshot ? "memory snapshot" : "cold start"})`);
    postMessage({ type: "ready", ms, snapshot: python.fromSnapshot });
    return warmUp(python).then(() => python, () => python);   // requests are answered whatever happened to it
  },
  (e) => {
    console.error("wetron worker: Python failed to start:", e);
    postMessage({ type: "error", id: null, message: `Python could not start: ${oneLine(e)}` });
    return null;
  });

// one request at a time, in order
let queue = ready;
self.onmessage = (event) => {
  requestsWaiting++;
  if (wake) wake();
  queue = queue.then(async (python) => {
    requestsWaiting--;
    if (python) await handle(python, event.data);
    else postMessage({ type: "error", id: event.data.id, message: "Python is not available in this page" });
    return python;
  });
};
