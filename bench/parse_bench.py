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

# Run in a fresh interpreter: argv = [mode, path, py dir, bench dir, iterations]; prints
# one JSON line (or a profile).
CHILD = r"""
import gc, json, sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
import wetron
import reference_workload

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
    for i in range(int(sys.argv[5])):
        gc.collect()
        rss = status("VmRSS")
        c0, t0 = time.process_time(), time.perf_counter()
        m = wetron.open(path)
        t1 = time.perf_counter()
        text = m.dumps()
        t2, c2 = time.perf_counter(), time.process_time()
        runs.append({"open_s": t1 - t0, "dumps_s": t2 - t1, "cpu_s": c2 - c0, "nodes": sum(len(g.nodes) for g in m.graphs),
                     "doc_bytes": len(text)})
        if i == 0:
            runs[0]["rss_delta"] = status("VmHWM") - rss
        del m, text
    print(json.dumps({"runs": runs, "reference_s": reference_workload.run(),
                      "bytecode_s": reference_workload.run(work=reference_workload.bytecode)}))
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
    run = subprocess.run([sys.executable, "-c", CHILD, mode, path, PY, BENCH, str(iters)],
                         capture_output=True, text=True, timeout=600)
    if run.returncode:
        sys.exit(f"{mode} run on {path} failed:\n{run.stderr}")
    return run.stdout if mode == "profile" else json.loads(run.stdout.strip().splitlines()[-1])


def pyodide_child(path, iters, profile=False):
    run = subprocess.run(["node", os.path.join(BENCH, "pyodide_parse.mjs"), str(iters), path]
                         + (["--profile"] if profile else []),
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    if run.returncode:
        sys.exit(f"Pyodide run on {path} failed:\n{run.stderr[-4000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def summary(results):
    """results: per fresh process, {"runs": its parses {open_s, dumps_s, cpu_s, ...},
    "reference_s": ...}."""
    def med(runs, key):
        return statistics.median(key(r) for r in runs)
    cold = [r["runs"][0] for r in results]
    warm = [x for r in results for x in r["runs"][1:]] or cold
    total = lambda r: r["open_s"] + r["dumps_s"]  # noqa: E731
    return {"open": med(cold, lambda r: r["open_s"]), "dumps": med(cold, lambda r: r["dumps_s"]),
            "cold": med(cold, total), "warm": med(warm, total),
            "cold_cpu": med(cold, lambda r: r["cpu_s"]), "warm_cpu": med(warm, lambda r: r["cpu_s"]),
            "reference": med(results, lambda r: r["reference_s"]),
            "bytecode": med(results, lambda r: r["bytecode_s"]),
            "nodes": cold[0]["nodes"], "doc_bytes": cold[0]["doc_bytes"]}


def measure(path, runs, iters, use_pyodide):
    """CPython and Pyodide processes alternate, so both see the same load on the machine."""
    cp, py = [], []
    for _ in range(runs):
        cp.append(child("time", path, iters))
        if use_pyodide:
            py.append(pyodide_child(path, iters))
    c = summary(cp)
    c["rss_mb"] = max(r["runs"][0]["rss_delta"] for r in cp) / 1e6
    c["traced_mb"] = child("trace", path)["tracemalloc_peak"] / 1e6
    if not py:
        return c, None
    y = summary(py)
    y.update(entry=statistics.median(t for r in py for t in r["entry_s"]),
             traced_mb=py[-1]["tracemalloc_peak"] / 1e6,
             heap_growth_mb=max(r["wasm_heap_growth"] for r in py) / 1e6,
             read_cold=statistics.median(r["runs"][0]["read_s"] for r in py),
             read_warm=statistics.median(x["read_s"] for r in py for x in r["runs"][1:]),
             reads=py[0]["runs"][0]["reads"], python=py[0]["python"],
             boot=statistics.median(r["boot_s"] for r in py))
    return c, y


def node_version():
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def ms(seconds):
    return f"{seconds * 1000:.3g}"


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

    print(f"{args.runs} fresh processes x {args.iters} parses per model and side, the two "
          f"sides alternating; times in ms (median)", flush=True)
    cp, py = {}, {}
    for _, p in named:
        cp[p], y = measure(p, args.runs, args.iters, use_pyodide)
        if y:
            py[p] = y

    def table(title, cols, rows):
        print(title)
        widths = [max(len(r[i]) for r in rows + [cols]) for i in range(len(cols))]
        for r in [cols] + rows:
            print("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                                   for i, (v, w) in enumerate(zip(r, widths))))

    head = ["model", "file MB", "nodes", "doc KB", "open", "dumps", "cold", "warm",
            "cold CPU", "warm CPU"]
    rows = []
    for name, p in named:
        c = cp[p]
        rows.append([name, f"{os.path.getsize(p) / 1e6:.1f}", str(c["nodes"]),
                     f"{c['doc_bytes'] / 1e3:.0f}", ms(c["open"]), ms(c["dumps"]), ms(c["cold"]),
                     ms(c["warm"]), ms(c["cold_cpu"]), ms(c["warm_cpu"]),
                     f"{c['rss_mb']:.1f}", f"{c['traced_mb']:.1f}"])
    table(f"CPython {sys.version.split()[0]}: wetron.open(path) + model.dumps()",
          head + ["RSS Δ MB", "traced MB"], rows)
    if py:
        rows, ratios = [], []
        for name, p in named:
            c, y = cp[p], py[p]
            if (y["nodes"], y["doc_bytes"]) != (c["nodes"], c["doc_bytes"]):
                print(f"WARNING {name}: documents differ in size (CPython {c['doc_bytes']}, Pyodide "
                      f"{y['doc_bytes']} bytes): py/wetron changed during the run?")
            rows.append([name, f"{os.path.getsize(p) / 1e6:.1f}", str(y["nodes"]),
                         f"{y['doc_bytes'] / 1e3:.0f}", ms(y["open"]), ms(y["dumps"]), ms(y["cold"]),
                         ms(y["warm"]), ms(y["cold_cpu"]), ms(y["warm_cpu"]), ms(y["entry"]),
                         f"{ms(y['read_cold'])}/{ms(y['read_warm'])}",
                         f"{y['traced_mb']:.1f}", f"{y['heap_growth_mb']:.1f}",
                         f"{y['reads']['bytes'] / 1e6:.1f}/{y['reads']['calls']}"])
            ratios.append([name] + [f"{y[k] / c[k]:.2f}x" for k in ("cold", "warm", "cold_cpu", "warm_cpu",
                                                                    "reference", "bytecode")])
        first = next(iter(py.values()))
        table(f"Pyodide {first['python']} (Node {node_version()}, boot {first['boot']:.1f} s not "
              "included): wetron.open(JS reader) + model.dumps()",
              head + ["entry", "JS read cold/warm", "traced MB", "heap+ MB", "read MB/calls"], rows)
        table("Pyodide / CPython", ["model", "cold", "warm", "cold CPU", "warm CPU", "reference", "bytecode"], ratios)
    print("times in ms, medians. open/dumps: wall time of wetron.open and model.dumps() in the cold "
          "parse; cold: first parse in a fresh process; warm: later parses; CPU: process CPU time "
          "(load on the machine inflates wall times, much less CPU times); entry: warm "
          "wetron.web.open_file called from JS; RSS Δ: peak RSS during the cold parse - RSS before "
          "it; traced: tracemalloc peak; heap+: WebAssembly memory growth; JS read: ms spent in "
          "the JS reader (call + copy) per parse; read: bytes/calls through it in one parse; "
          "reference: bench/reference_workload.py (pure Python, no parser, no I/O) timed in the "
          "same processes: the interpreter's own speed ratio")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs")

    gpt2 = named[0][1]
    c = cp[gpt2]
    checks = [(f"CPython cold parse < {TARGET_S:g} s", c["cold"] < TARGET_S, f"{c['cold']:.3f} s"),
              (f"CPython memory < {TARGET_MB:.0f} MB", max(c["rss_mb"], c["traced_mb"]) < TARGET_MB,
               f"RSS Δ {c['rss_mb']:.1f} MB, traced {c['traced_mb']:.1f} MB")]
    if gpt2 in py:
        for kind in ("cold", "warm", "cold_cpu", "warm_cpu"):
            ratio = py[gpt2][kind] / c[kind]
            checks.append((f"Pyodide/CPython {kind} < {TARGET_RATIO}x", ratio < TARGET_RATIO,
                           f"{ratio:.2f}x"))
    print("targets (gpt2, %.0f MB):" % (os.path.getsize(gpt2) / 1e6))
    missed_cpython = missed_pyodide = False
    for what, ok, got in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {what}: {got}")
        if what.startswith("CPython"):
            missed_cpython |= not ok
        else:
            missed_pyodide |= not ok
    if gpt2 in py:
        y = py[gpt2]
        print(f"  where Pyodide's time goes (gpt2, warm): JS reader {ms(y['read_warm'])} of "
              f"{ms(y['warm'])} ms; the interpreter alone is {y['reference'] / c['reference']:.2f}x "
              f"CPython on the reference workload, {y['bytecode'] / c['bytecode']:.2f}x on plain "
              f"bytecode loops; cold - warm = {ms(y['cold'] - y['warm'])} ms (CPython "
              f"{ms(c['cold'] - c['warm'])} ms)")

    for name, p in named:
        if args.profile or (missed_cpython and p == gpt2):
            print(f"\ncProfile of {name} (CPython, cold, top 20 by own time):")
            print(child("profile", p))
        if use_pyodide and (args.profile or (missed_pyodide and p == gpt2)):
            print(f"\ncProfile of {name} (Pyodide, warm, top 20 by own time):")
            print(pyodide_child(p, 2, profile=True)["profile"])


if __name__ == "__main__":
    main()
