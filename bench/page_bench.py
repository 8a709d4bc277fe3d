#!/usr/bin/env python3
"""Page benchmark: open real models in the built site (headless Chromium, software
WebGL) through the real file input, as a user would, and print per model: wall time
from file chosen to graph drawn (split into parse / layout / draw as the page measures
them), the layout worker's phases, frame times at fit and zoomed in, the main thread's
JS heap, and the renderer processes' resident memory (page + workers + WebAssembly).

    python bench/page_bench.py [MODEL ...]      (default: bench/.cache models)
Models: bench/make_models.py writes resnet50.onnx (~100 MB) and gpt2.onnx (~650 MB).
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built, timed_open  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def renderer_rss_mb():
    """Resident memory of Chromium's renderer processes (the tab and its workers)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            if b"chromium" not in cmd or b"--type=renderer" not in cmd:
                continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def main(paths):
    if not paths:
        import glob
        paths = sorted(glob.glob(os.path.join(HERE, ".cache", "*", "*.onnx")), reverse=True)
        paths = [p for p in paths if os.path.exists(p)]
        if not paths:
            sys.exit("no models: run python bench/make_models.py first, or name models")
    site = Site(ensure_built())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in paths:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(600_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(site.url)
            t = time.time()
            page.evaluate("wetron.ready()")
            ready = time.time() - t
            rss_before = renderer_rss_mb()
            wall, s = timed_open(page, path)
            if s["status"] != "ready":
                print(os.path.basename(path), "error:", s["error"])
                continue
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            heap = metrics.get("JSHeapUsedSize", 0) / 2**20
            rss = renderer_rss_mb()
            tm, w = s["timings"], s["timings"].get("worker", {})
            fit = statistics.median(page.evaluate("wetron.frameTimes(5)"))
            print(f"{os.path.basename(path)} ({os.path.getsize(path) / 1e6:.0f} MB): "
                  f"{s['nodes']} nodes, {s['edges']} edges | Python ready {ready * 1000:.0f} ms "
                  f"after page load | file chosen -> drawn {wall * 1000:.0f} ms = parse "
                  f"{tm['parse']:.0f} + layout {tm['layout']:.0f} + draw {tm['draw']:.0f} | "
                  f"layout worker {w.get('layoutMs', 0):.0f} ms | frame at fit {fit:.1f} ms | "
                  f"JS heap (main) {heap:.0f} MB | renderer RSS {rss:.0f} MB "
                  f"(+{rss - rss_before:.0f} MB for the model)", flush=True)
            page.close()
        browser.close()
    site.close()


if __name__ == "__main__":
    main(sys.argv[1:])
