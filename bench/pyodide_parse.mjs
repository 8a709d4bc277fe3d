// Parse benchmark, Pyodide half: the same structure parse as in CPython, inside real
// Pyodide under Node, reading the file through a JS reader {size, read(offset, length)}
// backed by fs.readSync — the shape of the page's FileReaderSync reader (app/parse-worker.js).
//
//   node bench/pyodide_parse.mjs ITERS FILE [--profile]     prints one JSON object
//
// One fresh Pyodide per call: iteration 0 is the cold parse (as a page's first file),
// the rest are warm; then ITERS timed calls of wetron.web.open_file from JS (the page's
// own entry point, which also hands the JSON text to JS), then one traced run, then
// bench/reference_workload.py (the interpreter's own speed, no parser); with --profile,
// a cProfile of one more (warm) parse.
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
import { bootPyodide, fileReader } from "../tests/pyodide/pyodide-env.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [iters, file, option] = process.argv.slice(2);

const t0 = performance.now();
const py = await bootPyodide(REPO);
const boot = (performance.now() - t0) / 1000;

py.runPython(`
import gc, json, time, tracemalloc
import js
import wetron
from wetron.web import JsSource

def cpu_time():
    """CPU seconds of the Node process (time.process_time is wall time in Pyodide)."""
    u = js.process.cpuUsage()
    return (u.user + u.system) / 1e6

class TimedSource(JsSource):
    """JsSource that adds up the time spent in the JS reader (call + copy to bytes)."""
    spent = 0.0

    def _read(self, offset, length):
        t = time.perf_counter()
        data = super()._read(offset, length)
        TimedSource.spent += time.perf_counter() - t
        return data

def timed_run(reader, name):
    """open and dumps timed apart, as bench/parse_bench.py does in CPython."""
    gc.collect()
    TimedSource.spent = 0.0
    c0, t0 = cpu_time(), time.perf_counter()
    m = wetron.open(TimedSource(reader, name))
    t1 = time.perf_counter()
    text = m.dumps()
    t2, c2 = time.perf_counter(), cpu_time()
    nodes = sum(len(g.nodes) for g in m.graphs)
    return json.dumps({"open_s": t1 - t0, "dumps_s": t2 - t1, "cpu_s": c2 - c0, "read_s": TimedSource.spent, "nodes": nodes,
                       "doc_bytes": len(text)})

def profiled_run(reader, name):
    import cProfile, io, pstats
    gc.collect()
    prof = cProfile.Profile()
    prof.enable()
    wetron.open(JsSource(reader, name)).dumps()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()

def traced_run(reader, name):
    gc.collect()
    tracemalloc.start()
    wetron.open(JsSource(reader, name)).dumps()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak
`);
const timedRun = py.globals.get("timed_run");
const tracedRun = py.globals.get("traced_run");
const web = py.pyimport("wetron.web");
const heap = () => py._module.HEAP8.buffer.byteLength;

const name = path.basename(file);
const reader = fileReader(file);
const heapBefore = heap();
const runs = [];
for (let i = 0; i < Number(iters); i++) {
  runs.push(JSON.parse(timedRun(reader, name)));
  if (i === 0) runs[0].reads = { calls: reader.calls, bytes: reader.bytes };
}
const heapAfter = heap();
const entry = [];
for (let i = 0; i < Number(iters); i++) {
  py.runPython("import gc; gc.collect()");
  const t = performance.now();
  const text = web.open_file(reader, name);
  entry.push((performance.now() - t) / 1000);
  if (text.startsWith('{"error"')) throw new Error(`${name}: ${text}`);
}
const tracemallocPeak = tracedRun(reader, name);
const profile = option === "--profile" ? py.globals.get("profiled_run")(reader, name) : null;
reader.close();
py.FS.writeFile("/lib/reference_workload.py", fs.readFileSync(path.join(REPO, "bench", "reference_workload.py")));
const reference = py.runPython("import reference_workload; reference_workload.run()");
const bytecode = py.runPython("reference_workload.run(work=reference_workload.bytecode)");
console.log(JSON.stringify({
  file, boot_s: boot, python: py.runPython("import sys; sys.version.split()[0]"),
  runs, entry_s: entry, reference_s: reference, bytecode_s: bytecode, profile, tracemalloc_peak: tracemallocPeak,
  wasm_heap_growth: heapAfter - heapBefore, wasm_heap: heapAfter,
}));
