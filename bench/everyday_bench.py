#!/usr/bin/env python3
"""Everyday models, Wetron beside Netron: file chosen -> graph drawn, the file chosen
1 s after the page says Python is ready, through each page's own file input, in
headless Chromium (software WebGL). Each run is a fresh browser and server; Wetron's
and Netron's runs are interleaved model by model, and medians are printed with the
phases of Wetron's time (app/viewer.js openPhases):

  input       the change event -> the open starts (the page's main thread)
  toPython    -> the first parse worker's Python starts (message; a warm-up step)
  python      its parse + document (without detail); reads, readMs: of it, reading the file
  fromPython  the JSON text back to the page
  detailWait  the second worker's detail (shapes, cost), after the document came
  toLayout    -> the layout worker starts; layoutWorker its layout; layout: both + back
  draw        sidebar, GPU buffers, the first frame

    python bench/everyday_bench.py [--runs 3] [--no-netron] [--baseline DIST] [MODEL ...]
--baseline: a site built from an earlier commit (git worktree add /tmp/before REV &&
python /tmp/before/build.py --out /tmp/dist-before), run interleaved with this one, to
show that nothing got slower (its wall times, and its phases' total as the page
measures it: steadier than the wall time, which includes the browser automation's own
file transfer).
Models: names of bench/make_models.py (default: one_node resnet50 vit_b16 bert_base gpt2)
or paths. Netron: ../shared/bench/netron_timing.py run by NETRON_PYTHON (default
../peer-venv/bin/python: python -m venv ../peer-venv && ../peer-venv/bin/pip install netron playwright).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "browser"))
sys.path.insert(0, HERE)
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built, timed_open  # noqa: E402

NETRON_TIMING = os.path.join(REPO, "..", "shared", "bench", "netron_timing.py")
NETRON_PYTHON = os.environ.get("NETRON_PYTHON", os.path.join(REPO, "..", "peer-venv", "bin", "python"))
DEFAULT = ["one_node", "resnet50", "vit_b16", "bert_base", "gpt2"]
# issue 14: Wetron's time at most this fraction of Netron's
TARGET = {"one_node": 1 / 2, "resnet50": 1 / 2, "vit_b16": 1 / 3, "gpt2": 1 / 3}
PHASES = ["input", "toPython", "python", "reads", "readMs", "fromPython", "detailWait", "toLayout", "layoutWorker",
          "layout", "draw"]


def wetron_once(dist, path, think=1.0):
    """One fresh browser and server: seconds from file chosen to drawn, and the phases."""
    from playwright.sync_api import sync_playwright
    site = Site(dist)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            page.goto(site.url)
            page.evaluate("wetron.ready()")
            time.sleep(think)
            wall, state = timed_open(page, path)
            browser.close()
    finally:
        site.close()
    if state["status"] != "ready":
        raise SystemExit(f"{path}: {state['error']}")
    return wall, state["timings"]["phases"]


def netron_once(path):
    """Netron's time (s) for one fresh browser, or None if it failed."""
    out = subprocess.run([NETRON_PYTHON, NETRON_TIMING, path], capture_output=True, text=True, timeout=600)
    m = re.search(r"\tok\t([\d.]+)s", out.stdout)
    if not m:
        print(f"  netron failed on {os.path.basename(path)}: {out.stdout.strip()} {out.stderr.strip()[-200:]}")
        return None
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=DEFAULT)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--think", type=float, default=1.0, help="seconds between Python ready and the file chosen")
    ap.add_argument("--no-netron", action="store_true")
    ap.add_argument("--baseline", metavar="DIST", help="an earlier commit's built site, timed in the same run")
    args = ap.parse_args()
    from make_models import model_path
    paths = {(os.path.splitext(os.path.basename(m))[0] if os.path.exists(m) else m):
             (m if os.path.exists(m) else model_path(m)) for m in args.models}
    netron = not args.no_netron and os.path.exists(NETRON_TIMING) and os.path.exists(NETRON_PYTHON)
    if not args.no_netron and not netron:
        print(f"(Netron skipped: needs {NETRON_TIMING} and {NETRON_PYTHON})")
    dist = ensure_built()
    wall = {k: [] for k in paths}
    phases = {k: [] for k in paths}
    peer = {k: [] for k in paths}
    before = {k: [] for k in paths}
    before_phases = {k: [] for k in paths}
    for run in range(args.runs):
        for name, path in paths.items():
            w, ph = wetron_once(dist, path, args.think)
            wall[name].append(w)
            phases[name].append(ph)
            b, bph = wetron_once(args.baseline, path, args.think) if args.baseline else (None, None)
            if b is not None:
                before[name].append(b)
                before_phases[name].append(bph)
            n = netron_once(path) if netron else None
            if n is not None:
                peer[name].append(n)
            print(f"run {run + 1}  {name:10} wetron {w:6.2f} s" + (f"   before {b:6.2f} s" if b else "")
                  + (f"   netron {n:6.2f} s" if n else ""), flush=True)
    med = statistics.median
    print(f"\nfile chosen -> drawn, medians of {args.runs} (chosen {args.think:g} s after Python ready)")
    print(f"{'model':12}{'MB':>8}{'wetron s':>10}{'before s':>10}{'netron s':>10}{'ratio':>8}{'target':>8}")
    for name, path in paths.items():
        w = med(wall[name])
        b = med(before[name]) if before[name] else None
        n = med(peer[name]) if peer[name] else None
        target = TARGET.get(name)
        cells = [f"{name:12}", f"{os.path.getsize(path) / 1e6:8.1f}", f"{w:10.2f}",
                 f"{b:10.2f}" if b else f"{'-':>10}",
                 f"{n:10.2f}" if n else f"{'-':>10}", f"{w / n:8.2f}" if n else f"{'-':>8}",
                 f"{target:8.2f}" if target else f"{'-':>8}"]
        print("".join(cells))
    print("\nWetron's phases, ms (medians)")
    print(f"{'model':12}" + "".join(f"{p:>12}" for p in PHASES) + f"{'total':>8}"
          + (f"{'before':>8}" if args.baseline else ""))
    for name in paths:
        row = [med([ph.get(p, 0) for ph in phases[name]]) for p in PHASES]
        print(f"{name:12}" + "".join(f"{v:12.0f}" for v in row) + f"{med([ph['total'] for ph in phases[name]]):8.0f}"
              + (f"{med([ph['total'] for ph in before_phases[name]]):8.0f}" if before_phases[name] else ""))


if __name__ == "__main__":
    main()
