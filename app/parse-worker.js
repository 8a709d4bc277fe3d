// Parse worker: Pyodide + the wetron wheel, turning model files into graph documents.
//
// Protocol (the page talks to this module worker with postMessage):
//   page -> worker
//     {type: "open", id, file: File|Blob, name, companions: [{name, file}]}
//     {type: "open-url", id, url}          fetched here (same origin or CORS), then opened
//     {type: "tensor", id, tensor, limit}  values of a tensor of the last model opened
//   worker -> page
//     {type: "ready", ms, snapshot}        Python and wetron loaded (ms since worker start)
//     {type: "progress", id, message}
//     {type: "graph", id, json}            the graph document (docs/graph-schema.md), JSON text
//     {type: "tensor", id, json}           {"dtype", "shape", "count", "values", "truncated"}
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
  return { web: pyodide.pyimport("wetron.web"), pyodide, fromSnapshot };
}

// A file as the reader wetron.web expects: read(offset, length) -> Uint8Array of one
// Blob slice, so a big file is never copied whole into the WebAssembly heap.
function blobReader(blob) {
  const files = new FileReaderSync();
  return {
    size: blob.size,
    read: (offset, length) => new Uint8Array(files.readAsArrayBuffer(blob.slice(offset, offset + length))),
  };
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
function answer(type, id, json) {
  if (json.startsWith('{"error"')) {
    postMessage({ type: "error", id, message: JSON.parse(json).error });
  } else {
    postMessage({ type, id, json });
  }
}

function fileName(url) {
  const path = new URL(url, self.location.href).pathname;
  const last = path.split("/").filter(Boolean).pop() || "model";
  try { return decodeURIComponent(last); } catch { return last; }
}

async function openFile(python, id, file, name, companions) {
  postMessage({ type: "progress", id, message: `Reading ${name}…` });
  const others = new Map();
  for (const c of companions || []) others.set(c.name, blobReader(c.file));
  const json = python.web.open_file(blobReader(file), name, others);
  answer("graph", id, json);
}

async function handle(python, msg) {
  const { id } = msg;
  try {
    if (msg.type === "open") {
      await openFile(python, id, msg.file, msg.name || msg.file.name || "model", msg.companions);
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
    return python;
  },
  (e) => {
    console.error("wetron worker: Python failed to start:", e);
    postMessage({ type: "error", id: null, message: `Python could not start: ${oneLine(e)}` });
    return null;
  });

// one request at a time, in order
let queue = ready;
self.onmessage = (event) => {
  queue = queue.then(async (python) => {
    if (python) await handle(python, event.data);
    else postMessage({ type: "error", id: event.data.id, message: "Python is not available in this page" });
    return python;
  });
};
