"""Benchmark: parse-worker start-up in Chromium, memory snapshot vs cold start.

    python tests/browser/bench_startup.py [--runs 5]

Builds dist/ if needed, serves it, and for each mode starts the worker in a fresh
browser context (first visit: empty HTTP cache), then again in the same context (warm
cache: the files come from the HTTP cache, the WebAssembly code from V8's cache).
Prints the time from `new Worker()` to its 'ready' message (median, min, max in ms).
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE]

from harness import CHROMIUM, CHROMIUM_ARGS, ParseWorker, Site, ensure_built  # noqa: E402

MODES = {"snapshot": "app/parse-worker.js", "cold": "app/parse-worker.js?snapshot=0"}


def start(page, site, worker_path):
    worker = ParseWorker(page, site, site.url + worker_path)
    ready = worker.ready()
    assert ready["type"] == "ready", ready
    page.evaluate("window.__parseWorker.worker.terminate()")
    return ready


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    site = Site(ensure_built())
    results = {(mode, phase): [] for mode in MODES for phase in ("first visit", "warm cache")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _run in range(args.runs):
            for mode, path in MODES.items():
                context = browser.new_context()
                page = context.new_page()
                page.goto(site.blank_url)
                first = start(page, site, path)
                assert first["snapshot"] is (mode == "snapshot"), first
                results[(mode, "first visit")].append(first["wallMs"])
                page.reload()
                results[(mode, "warm cache")].append(start(page, site, path)["wallMs"])
                context.close()
        browser.close()
    site.close()
    print(f"parse worker start-up in Chromium ({args.runs} runs; ms from new Worker() to 'ready')")
    print(f"{'mode':10} {'phase':12} {'median':>8} {'min':>8} {'max':>8}")
    for (mode, phase), times in results.items():
        print(f"{mode:10} {phase:12} {statistics.median(times):8.0f} {min(times):8.0f} {max(times):8.0f}")


if __name__ == "__main__":
    main()
