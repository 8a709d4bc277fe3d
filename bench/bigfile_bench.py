#!/usr/bin/env python3
"""Large-file benchmark: the ~5 GB sparse ONNX models of tests/big_models.py (weights
inline, and in an external data file) opened in the built site (headless Chromium)
through the real file input. Prints per model: file chosen -> drawn (parse / layout /
draw as the page measures them), then the tab's memory:

  JS heap      used JS heap of the page's main thread and of each worker (CDP
               Runtime.getHeapUsage on every target of the tab), the main thread's
               peak sampled every ~50 ms during the load;
  wasm         the parse workers' WebAssembly memory (Pyodide's heaps; they never
               shrink, so these are their peaks), reported by the page (state().wasmBytes);
  renderer RSS resident memory of Chromium's renderer processes, for reference
               (includes code, GPU/software-GL buffers and the Pyodide runtime).

Target: JS heaps + wasm < 500 MB for a 5 GB model. First, for reference, the same files
through the command line (CPython): wall time and peak memory of `wetron info --json`.

    WETRON_DIST=/tmp/dist-x python bench/bigfile_bench.py [MODEL.onnx [COMPANION ...]]
With no arguments both big models are generated (sparse; a few MB of disk) and opened.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

MB = 2 ** 20


def renderer_rss_mb():
    """Resident memory of the renderer processes (tab and workers) of the Chromium this
    script started: descendants of this process, so other browsers are not counted."""
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    total = 0
    for pid in parent:
        p, mine = pid, False
        while p > 1 and not mine:
            p = parent.get(p, 0)
            mine = p == os.getpid()
        if not mine:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"--type=renderer" not in f.read():
                    continue
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024
OPENED = "['ready', 'error'].includes(wetron.state().status)"


def worker_heaps(page, browser_cdp, page_url_prefix):
    """{worker file (#n for a second one): (used JS heap, ArrayBuffer backing stores incl.
    wasm memory) bytes}
    for the dedicated workers of the site, by
    attaching to each worker target (non-flattened CDP sessions; page.wait_for_timeout
    lets Playwright deliver the answers, which come as events)."""
    targets = browser_cdp.send("Target.getTargets")["targetInfos"]
    out, answers = {}, {}
    def receive(event):
        message = json.loads(event["message"])
        if message.get("id") == 1:          # our request's answer, not an event
            answers[event["sessionId"]] = message
    browser_cdp.on("Target.receivedMessageFromTarget", receive)
    for t in targets:
        if t["type"] != "worker" or not t["url"].startswith(page_url_prefix):
            continue
        session = browser_cdp.send("Target.attachToTarget", {"targetId": t["targetId"], "flatten": False})["sessionId"]
        browser_cdp.send("Target.sendMessageToTarget", {
            "sessionId": session, "message": json.dumps({"id": 1, "method": "Runtime.getHeapUsage"})})
        deadline = time.time() + 5
        while session not in answers and time.time() < deadline:
            page.wait_for_timeout(20)
        result = answers.get(session, {}).get("result")
        if result:   # two parse workers: "parse-worker.js", "parse-worker.js #2"
            name = t["url"].rsplit("/", 1)[-1]
            key = name if name not in out else f"{name} #{sum(k.startswith(name) for k in out) + 1}"
            out[key] = (result["usedSize"], result.get("backingStorageSize", 0))
        browser_cdp.send("Target.detachFromTarget", {"sessionId": session})
    return out


def measure(browser, site, files):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(600_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    rss_before = renderer_rss_mb()

    def main_heap():
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return metrics.get("JSHeapUsedSize", 0)

    t0 = time.time()
    page.set_input_files("#file-input", files)
    peak_main, progress = 0, []   # progress lines in the order shown
    while not page.evaluate(OPENED):   # poll: peak heap and the progress lines shown
        peak_main = max(peak_main, main_heap())
        line = page.inner_text("#progress-text") if page.is_visible("#progress") else ""
        if line and line not in progress:
            progress.append(line)
        time.sleep(0.05)
    wall = time.time() - t0
    s = page.evaluate("wetron.state()")
    name = os.path.basename(files[0])
    size = sum(os.path.getsize(f) for f in files)
    if s["status"] != "ready":
        print(f"{name}: error: {s['error']}")
        page.close()
        return
    heap_main = main_heap()
    peak_main = max(peak_main, heap_main)
    workers = worker_heaps(page, browser.new_browser_cdp_session(), site.url)
    wasm = s.get("wasmBytes") or 0
    rss = renderer_rss_mb()
    tm = s["timings"]
    total = heap_main + sum(used for used, _ in workers.values()) + wasm
    print(f"{name} ({size / 1e9:.2f} GB in {len(files)} file(s)): {s['nodes']} nodes | "
          f"file chosen -> drawn {wall * 1000:.0f} ms = parse {tm['parse']:.0f} + layout "
          f"{tm['layout']:.0f} + draw {tm['draw']:.0f}", flush=True)
    print(f"  JS heap main {heap_main / MB:.1f} MB (peak during load {peak_main / MB:.1f} MB)"
          + "".join(f", {w} {used / MB:.1f} MB (ArrayBuffers {buffers / MB:.0f} MB)"
                    for w, (used, buffers) in sorted(workers.items()))
          + f" | wasm (Pyodide) {wasm / MB:.1f} MB | JS heaps + wasm {total / MB:.0f} MB "
          f"(target < 500 MB: {'met' if total < 500 * MB else 'NOT met'}) | renderer RSS "
          f"{rss:.0f} MB (+{rss - rss_before:.0f} MB for the model)", flush=True)
    print(f"  progress shown (sampled every ~50 ms): {progress[:8]}", flush=True)
    page.close()


# Runs `python -m wetron ARGS...` and, as it exits, prints the process's peak resident
# memory (VmHWM of its own address space: rusage would count the parent's pages at fork).
CLI = """import runpy, sys
sys.argv = ["wetron"] + sys.argv[1:]
try:
    runpy.run_module("wetron", run_name="__main__")
finally:
    peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    print("VmHWM", peak, file=sys.stderr)
"""


def measure_cli(files):
    """`python -m wetron info MODEL --json` in a child process (companions beside the
    model): wall time (interpreter start included) and the child's peak resident memory."""
    path = files[0]
    import subprocess
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "py"))
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", CLI, "info", path, "--json"], env=env,
                         capture_output=True, text=True)
    wall = time.time() - t0
    if out.returncode:
        print(f"CPython {os.path.basename(path)}: error: {out.stderr.strip()}")
        return
    peak = int(out.stderr.split("VmHWM")[-1]) / 1024
    nodes = json.loads(out.stdout)["graph"]["nodes"]
    print(f"CPython `wetron info --json` {os.path.basename(path)} ({sum(map(os.path.getsize, files)) / 1e9:.2f} GB): "
          f"{nodes} nodes, {wall * 1000:.0f} ms wall incl. interpreter start, peak RSS {peak:.0f} MB", flush=True)


def main(args):
    if args:
        runs = [args]
    else:
        import big_models
        inline, _ = big_models.big_inline()
        external, data, _ = big_models.big_external()
        runs = [[inline], [external, data]]
    for files in runs:
        measure_cli(files)
    site = Site(ensure_built())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for files in runs:
            measure(browser, site, files)
        browser.close()
    site.close()


if __name__ == "__main__":
    main(sys.argv[1:])
