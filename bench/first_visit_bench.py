#!/usr/bin/env python3
"""First-visit benchmark: the built site over a throttled connection in a fresh browser
profile (empty HTTP cache on disk, no service worker yet), as a new visitor sees it.
Prints:

  - bytes the server wrote, by kind of file (and files sent more than once), split into
    before the first model was drawn and after (the service worker's precache, ...); a
    download the page aborted counts whole (the link is shaped in the browser, not at
    the socket)
  - time to the start page usable: the "Open model…" button visible and wired
    (window.wetron defined)
  - time to Python ready: window.wetron.ready() resolved
  - time to the first model drawn: an example (dist/examples) chosen through the page's
    #file-input as soon as the start page is usable (the open waits for Python itself)
  - optionally, the second visit: the same context reloaded (HTTP cache and service worker)

Times are in ms on the page's clock (from navigation start). The connection is shaped
through CDP (Network.emulateNetworkConditions) on the page; Chromium applies it to the
page's dedicated workers' requests too, but not to the service worker's (its own target),
whose bytes are still counted by the server.

    python bench/first_visit_bench.py [--down 20] [--up 5] [--latency 20] [--runs 3]
                                      [--example resnet-mini.onnx] [--no-sw] [--second]
                                      [--dist DIR]   (default dist/, or $WETRON_DIST)
"""
import argparse
import collections
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
import harness  # noqa: E402
from harness import CHROMIUM, CHROMIUM_ARGS, OPENED, PREFIX, Site  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


# --- what the server sent: SimpleHTTPRequestHandler copies every file body through
# copyfile, so counting there sees every response of harness.Site (page, workers and
# service worker alike) ---

class Traffic:
    def __init__(self):
        self.lock = threading.Lock()
        self.log = []          # (time, path, status, body bytes)

    def install(self):
        traffic = self
        base = http.server.SimpleHTTPRequestHandler
        send_response, copyfile = base.send_response, base.copyfile

        def counting_send_response(self, code, message=None):
            self._bench_status = code
            if code != 200:    # 304 and errors have no file body
                with traffic.lock:
                    traffic.log.append((time.time(), self.path, code, 0))
            return send_response(self, code, message)

        def counting_copyfile(self, source, outputfile):
            sent = 0
            while chunk := source.read(1 << 16):
                outputfile.write(chunk)
                sent += len(chunk)
            with traffic.lock:
                traffic.log.append((time.time(), self.path, getattr(self, "_bench_status", 200), sent))

        base.send_response, base.copyfile = counting_send_response, counting_copyfile

    def mark(self):
        with self.lock:
            return len(self.log)

    def since(self, start, end=None):
        with self.lock:
            return self.log[start:end]


def kind(path):
    name = path.split("?")[0][len(PREFIX):] if path.startswith(PREFIX) else path
    if name.endswith("snapshot.bin.gz"):
        return "snapshot"
    if name.endswith((".wasm", ".wasm.gz")):
        return "pyodide wasm"
    if name.endswith("python_stdlib.zip"):
        return "stdlib zip"
    if name.startswith("pyodide/"):
        return "pyodide js/json"
    if name.startswith("wheels/"):
        return "wheel"
    if name.startswith("examples/"):
        return "examples"
    if name.startswith("app/") or name in ("", "index.html"):
        return "page (html/js/css)"
    if name == "sw.js":
        return "sw.js"
    return "other"


def summarize(entries):
    by_kind = collections.defaultdict(lambda: [0, 0])   # kind -> [bytes, full responses]
    per_path = collections.Counter()
    for _t, path, status, size in entries:
        k = by_kind[kind(path)]
        k[0] += size
        if status == 200:
            k[1] += 1
            per_path[path.split("?")[0]] += 1
    repeated = {p: n for p, n in per_path.items() if n > 1}
    return dict(by_kind), repeated


def fmt_bytes(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


# --- one visit ------------------------------------------------------------------------

USABLE = """() => {
  const b = document.getElementById('start-open');
  const r = b && b.getBoundingClientRect();
  return window.wetron !== undefined && r && r.width > 0 && r.height > 0 && !b.disabled
    && getComputedStyle(b).visibility === 'visible' ? performance.now() : false;
}"""
DRAWN = f"() => {OPENED} ? performance.now() : false"
SW_SETTLED = """async () => {
  if (!('serviceWorker' in navigator)) return 'none';
  const r = await navigator.serviceWorker.getRegistration();
  if (!r) return 'none';
  const w = r.installing || r.waiting || r.active;
  if (w.state === 'activated') return 'activated';
  await new Promise((ok) => w.addEventListener('statechange', () => w.state === 'activated' || w.state === 'redundant' ? ok() : 0));
  return w.state;
}"""


def shape(page, args):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": args.latency,
        "downloadThroughput": args.down * 1e6 / 8, "uploadThroughput": args.up * 1e6 / 8})
    return cdp


def visit(page, site, traffic, example, args, goto=True):
    start = traffic.mark()
    page.set_default_timeout(600_000)
    t_nav = time.time()
    if goto:
        page.goto(site.url, wait_until="commit")
    else:
        page.reload(wait_until="commit")
    usable = page.wait_for_function(USABLE, polling=10).json_value()
    page.set_input_files("#file-input", example)
    # both promises started now; the drawn one resolves last
    ready = page.evaluate("wetron.ready().then(() => performance.now())")
    drawn = page.wait_for_function(DRAWN, polling=10).json_value()
    state = page.evaluate("wetron.state()")
    if state["status"] != "ready":
        raise SystemExit(f"the example did not open: {state.get('error')}")
    at_drawn = traffic.mark()
    sw = "blocked"
    if not args.no_sw:
        # the page registers sw.js once Python is up; wait for its precache to end
        page.wait_for_function("navigator.serviceWorker.getRegistration().then((r) => !!r)", polling=100,
                               timeout=60_000)
        sw = page.evaluate(SW_SETTLED)
    time.sleep(0.5)   # late responses (a worker's warm-up) reach the log
    settled_s = time.time() - t_nav
    return {"usable": usable, "ready": ready, "drawn": drawn, "sw": sw, "settled_s": settled_s,
            "before": traffic.since(start, at_drawn), "after": traffic.since(at_drawn)}


def report(title, results):
    print(f"\n{title}")
    med = lambda key: statistics.median(r[key] for r in results)
    spread = lambda key: f"{min(r[key] for r in results):.0f}-{max(r[key] for r in results):.0f}"
    print(f"  start page usable  {med('usable'):7.0f} ms   ({spread('usable')})")
    print(f"  Python ready       {med('ready'):7.0f} ms   ({spread('ready')})")
    print(f"  first model drawn  {med('drawn'):7.0f} ms   ({spread('drawn')})")
    last = results[-1]
    before, repeated = summarize(last["before"])
    after, repeated_after = summarize(last["after"])
    kinds = sorted(set(before) | set(after), key=lambda k: -(before.get(k, [0])[0] + after.get(k, [0])[0]))
    print(f"  bytes sent (last run)        until drawn      after (service worker: {last['sw']})")
    for k in kinds:
        b, a = before.get(k, [0, 0]), after.get(k, [0, 0])
        print(f"    {k:20s} {fmt_bytes(b[0]):>10s} ({b[1]:2d} files) {fmt_bytes(a[0]):>10s} ({a[1]:2d} files)")
    tb = sum(v[0] for v in before.values()); ta = sum(v[0] for v in after.values())
    print(f"    {'total':20s} {fmt_bytes(tb):>10s}            {fmt_bytes(ta):>10s}")
    if repeated:
        print("  sent in full more than once before the model was drawn: "
              + ", ".join(f"{p[len(PREFIX):]} x{n}" for p, n in sorted(repeated.items())))
    if repeated_after:
        print("  sent in full again after it: "
              + ", ".join(f"{p[len(PREFIX):]} x{n}" for p, n in sorted(repeated_after.items())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dist", default=None, help="the built site (default: harness.DIST, built if stale)")
    parser.add_argument("--down", type=float, default=20, help="Mbit/s down")
    parser.add_argument("--up", type=float, default=5, help="Mbit/s up")
    parser.add_argument("--latency", type=float, default=20, help="ms added to each request")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--example", default=None, help="a file of dist/examples (default: the smallest)")
    parser.add_argument("--no-sw", action="store_true", help="block the service worker")
    parser.add_argument("--second", action="store_true", help="also time a second visit (reload)")
    args = parser.parse_args()
    dist = os.path.abspath(args.dist) if args.dist else harness.ensure_built()

    with open(os.path.join(dist, "examples", "index.json")) as f:
        examples = json.load(f)
    pick = (next(e for e in examples if e["file"] == args.example) if args.example
            else min(examples, key=lambda e: e["size"]))
    example = os.path.join(dist, "examples", pick["file"])

    traffic = Traffic()
    traffic.install()
    site = Site(dist)
    print(f"{dist}: {args.down:g} Mbit/s down, {args.up:g} up, {args.latency:g} ms latency; "
          f"example {pick['file']} ({pick['size'] / 1e6:.1f} MB); service worker "
          f"{'blocked' if args.no_sw else 'allowed'}; {args.runs} runs, each in a fresh context")
    firsts, seconds = [], []
    with sync_playwright() as p:
        for _ in range(args.runs):
            # a persistent profile, new each run: its HTTP cache is on disk, as a visitor's
            # (an off-the-record context keeps no entry of more than a few MB in memory,
            # so Pyodide's 9.6 MB would be downloaded by each worker and the service worker)
            with tempfile.TemporaryDirectory() as profile:
                context = p.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                    viewport={"width": 1400, "height": 900},
                    service_workers="block" if args.no_sw else "allow")
                page = context.new_page()
                shape(page, args)
                firsts.append(visit(page, site, traffic, example, args))
                if args.second:
                    seconds.append(visit(page, site, traffic, example, args, goto=False))
                context.close()
    site.close()
    report("first visit", firsts)
    if seconds:
        report("second visit (reload: HTTP cache, service worker)", seconds)


if __name__ == "__main__":
    main()
