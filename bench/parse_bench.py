"""Parse benchmark: structure parse (wetron.open + model.dumps()) of big real ONNX
exports, in CPython and inside real Pyodide under Node. Prints a table.

    python bench/parse_bench.py [--runs 5] [--iters 5] [--no-pyodide] [--profile] [extra.onnx ...]

Each run is a fresh process (CPython: a subprocess that imports wetron first; Pyodide:
bench/pyodide_parse.mjs, a fresh Node + Pyodide) that parses the file --iters times with
gc.collect() between: "cold" is the median over runs of the first parse (what a user
opening one file gets), "warm" the median of all later parses.
Memory above the interpreter (CPython): peak RSS during the cold parse minus RSS before
it (/proc VmHWM, reset first), and the tracemalloc peak of a separate run (tracing
slows Python down). Pyodide reads the file range by range through a JS reader
{size, read(offset, length)} over fs.readSync — the page's FileReaderSync path
(py/wetron/web.py); "entry" times wetron.web.open_file called from JS, as the page does.
Targets (650 MB model): < 1 s and < 100 MB above the interpreter in CPython,
Pyodide within 1.5x of CPython. A missed target prints a cProfile of the parse.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
PY = os.path.join(REPO, "py")
TARGET_S, TARGET_MB, TARGET_RATIO = 1.0, 100.0, 1.5

# Run in a fresh interpreter: argv = [mode, path, py dir, iterations]; prints one JSON line.
CHILD = r"""
import gc, json, sys, time
sys.path.insert(0, sys.argv[3])
import wetron

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

mode, path = sys.argv[1], sys.argv[2]
gc.collect()
if mode == "time":
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")          # reset VmHWM to the current RSS
    except OSError:
        pass
    runs = []
    for i in range(int(sys.argv[4])):
        gc.collect()
        rss = status("VmRSS")
        t0 = time.perf_counter()
        m = wetron.open(path)
        t1 = time.perf_counter()
        text = m.dumps()
        t2 = time.perf_counter()
        runs.append({"open_s": t1 - t0, "dumps_s": t2 - t1, "nodes": sum(len(g.nodes) for g in m.graphs),
                     "doc_bytes": len(text)})
        if i == 0:
            runs[0]["rss_delta"] = status("VmHWM") - rss
        del m, text
    print(json.dumps(runs))
elif mode == "trace":
    import tracemalloc
    tracemalloc.start()
    wetron.open(path).dumps()
    print(json.dumps({"tracemalloc_peak": tracemalloc.get_traced_memory()[1]}))
elif mode == "profile":
    import cProfile, pstats
    prof = cProfile.Profile()
    prof.enable()
    wetron.open(path).dumps()
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(20)
"""


def child(mode, path, iters=1):
    run = subprocess.run([sys.executable, "-c", CHILD, mode, path, PY, str(iters)],
                         capture_output=True, text=True, timeout=600)
    if run.returncode:
        sys.exit(f"{mode} run on {path} failed:\n{run.stderr}")
    return run.stdout if mode == "profile" else json.loads(run.stdout.strip().splitlines()[-1])


def summary(processes):
    """processes: per fresh process, its list of parses {open_s, dumps_s, ...}."""
    def med(runs, key):
        return statistics.median(key(r) for r in runs)
    cold = [p[0] for p in processes]
    warm = [r for p in processes for r in p[1:]] or cold
    total = lambda r: r["open_s"] + r["dumps_s"]  # noqa: E731
    return {"open": med(cold, lambda r: r["open_s"]), "dumps": med(cold, lambda r: r["dumps_s"]),
            "cold": med(cold, total), "warm": med(warm, total),
            "nodes": cold[0]["nodes"], "doc_bytes": cold[0]["doc_bytes"]}


def cpython(path, runs, iters):
    processes = [child("time", path, iters) for _ in range(runs)]
    out = summary(processes)
    out["rss_mb"] = max(p[0]["rss_delta"] for p in processes) / 1e6
    out["traced_mb"] = child("trace", path)["tracemalloc_peak"] / 1e6
    return out


def pyodide(path, runs, iters):
    script = os.path.join(BENCH, "pyodide_parse.mjs")
    results = []
    for _ in range(runs):
        run = subprocess.run(["node", script, str(iters), path], capture_output=True, text=True,
                             timeout=600, cwd=REPO)
        if run.returncode:
            sys.exit(f"Pyodide run on {path} failed:\n{run.stderr[-4000:]}")
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    out = summary([r["runs"] for r in results])
    out.update(entry=statistics.median(t for r in results for t in r["entry_s"]),
               traced_mb=results[-1]["tracemalloc_peak"] / 1e6,
               heap_growth_mb=max(r["wasm_heap_growth"] for r in results) / 1e6,
               reads=results[0]["runs"][0]["reads"], python=results[0]["python"],
               boot=statistics.median(r["boot_s"] for r in results))
    return out


def ms(seconds):
    return f"{seconds * 1000:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", help="extra model files to include")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per model and side")
    ap.add_argument("--iters", type=int, default=5, help="parses per process (1 cold, rest warm)")
    ap.add_argument("--no-pyodide", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile every model")
    args = ap.parse_args()

    sys.path.insert(0, BENCH)
    import make_models
    named = [(name, make_models.model_path(name)) for name in ("gpt2", "resnet50")]
    named += [(os.path.basename(p), os.path.abspath(p)) for p in args.models]
    use_pyodide = not args.no_pyodide and shutil.which("node")

    print(f"CPython {sys.version.split()[0]}; {args.runs} fresh processes x {args.iters} parses "
          f"per model and side; times in ms (median), memory in MB", flush=True)
    cp = {p: cpython(p, args.runs, args.iters) for _, p in named}
    py = {p: pyodide(p, args.runs, args.iters) for _, p in named} if use_pyodide else {}
    if py:
        first = next(iter(py.values()))
        print(f"Pyodide: Python {first['python']}, boot {first['boot']:.1f} s (not in the times)")

    cols = ["model", "file MB", "nodes", "doc KB",
            "CPy open", "dumps", "cold", "warm", "RSS Δ", "traced",
            "Pyo open", "dumps", "cold", "warm", "entry", "traced", "read MB/calls",
            "ratio cold", "warm"]
    rows = []
    for name, p in named:
        c, y = cp[p], py.get(p)
        row = [name, f"{os.path.getsize(p) / 1e6:.1f}", str(c["nodes"]), f"{c['doc_bytes'] / 1e3:.0f}",
               ms(c["open"]), ms(c["dumps"]), ms(c["cold"]), ms(c["warm"]), f"{c['rss_mb']:.1f}",
               f"{c['traced_mb']:.1f}"]
        if y:
            assert (y["nodes"], y["doc_bytes"]) == (c["nodes"], c["doc_bytes"]), (name, y, c)
            row += [ms(y["open"]), ms(y["dumps"]), ms(y["cold"]), ms(y["warm"]), ms(y["entry"]),
                    f"{y['traced_mb']:.1f}", f"{y['reads']['bytes'] / 1e6:.1f}/{y['reads']['calls']}",
                    f"{y['cold'] / c['cold']:.2f}x", f"{y['warm'] / c['warm']:.2f}x"]
        else:
            row += ["-"] * 9
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [cols]) for i in range(len(cols))]
    for r in [cols] + rows:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print("open/dumps: cold wetron.open and model.dumps(); cold: first parse in a fresh process; "
          "warm: later parses; entry: warm wetron.web.open_file from JS; RSS Δ: peak RSS during "
          "the cold parse - RSS before it; traced: tracemalloc peak; read: bytes/calls through "
          "the JS reader in one parse; ratio: Pyodide/CPython")

    gpt2 = named[0][1]
    c = cp[gpt2]
    checks = [(f"CPython cold parse < {TARGET_S:g} s", c["cold"] < TARGET_S, f"{c['cold']:.3f} s"),
              (f"CPython memory < {TARGET_MB:.0f} MB", max(c["rss_mb"], c["traced_mb"]) < TARGET_MB,
               f"RSS Δ {c['rss_mb']:.1f} MB, traced {c['traced_mb']:.1f} MB")]
    if gpt2 in py:
        for kind in ("cold", "warm"):
            ratio = py[gpt2][kind] / c[kind]
            checks.append((f"Pyodide/CPython {kind} < {TARGET_RATIO}x", ratio < TARGET_RATIO,
                           f"{ratio:.2f}x"))
    print("targets (gpt2, %.0f MB):" % (os.path.getsize(gpt2) / 1e6))
    missed = False
    for what, ok, got in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {what}: {got}")
        missed |= not ok

    for name, p in named:
        if args.profile or (missed and p == gpt2):
            print(f"\ncProfile of {name} (CPython, cold, top 20 by own time):")
            print(child("profile", p))


if __name__ == "__main__":
    main()
