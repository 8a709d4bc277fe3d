#!/usr/bin/env python3
"""What a person sees first (issue 11): each real model opened through the page's file
input at 1400x900 in headless Chromium, and per model:

  zoom        the first view's zoom (target >= 0.7)
  labelled    boxes wholly on screen with a legible title (target >= 8)
  mode        how the graph opened (flat / modules), and the modules opened expanded
  top         boxes at the top of the module view as it opens (target <= 40): the
              boxes of the top level, inside a lone wrapper opened for the reader
  crossings   edge crossings of the layout; width x height: the layout's size (px)

    python bench/readability_bench.py [--shots DIR] [--netron] [NAME ...]
Models: tests/readability_models.py (torchvision, Hugging Face, YOLO, Keras, TFLite
exports, written on first use) and the test suite's own real exports. --shots writes
a 1400x900 screenshot of each first view (and Netron's with --netron, run by
NETRON_PYTHON, default ../peer-venv/bin/python with `netron` and `playwright`).
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "browser"))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, "py"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built, timed_open  # noqa: E402

NETRON_PYTHON = os.environ.get("NETRON_PYTHON", os.path.join(REPO, "..", "peer-venv", "bin", "python"))
NETRON_SHOT = os.path.join(HERE, "netron_screenshot.py")

def models_to_measure():
    """name -> [paths] of the real exports measured, in a stable order."""
    out = {}
    try:
        import readability_models
        for name, path in readability_models.readability_models().items():
            out[name] = [path] if isinstance(path, str) else list(path)
    except ImportError:
        print("(tests/readability_models.py missing: only the test suite's models)")
    import models
    out.setdefault("torch cnn", [models.torch_cnn()])
    out.setdefault("torch transformer", [models.torch_transformer()])
    return out


def measure(page, site, paths, shot=None):
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    _, state = timed_open(page, paths)
    if state["status"] != "ready":
        return {"error": state["error"]}
    stats = page.evaluate("wetron.viewStats()")
    stats["top"] = stats.pop("moduleTopLevel")
    stats["nodes"] = state["nodes"]
    if shot:
        page.screenshot(path=shot)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="models to measure (default: all), or model paths")
    ap.add_argument("--shots", help="folder for 1400x900 screenshots of each first view")
    ap.add_argument("--netron", action="store_true", help="Netron's first view beside each (needs --shots)")
    args = ap.parse_args()
    chosen = models_to_measure() if not args.names or not all(map(os.path.exists, args.names)) else {}
    if args.names:   # names of those, or paths of other model files
        chosen = {k: ([k] if os.path.exists(k) and k not in chosen else chosen[k]) for k in args.names}
    if args.shots:
        os.makedirs(args.shots, exist_ok=True)
    slug = lambda name: "".join(c if c.isalnum() else "_" for c in name)
    from playwright.sync_api import sync_playwright
    site = Site(ensure_built())
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, paths in chosen.items():
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(300_000)
                shot = os.path.join(args.shots, f"{slug(name)}.wetron.png") if args.shots else None
                rows.append((name, measure(page, site, paths, shot)))
                page.close()
                if args.netron and args.shots:
                    subprocess.run([NETRON_PYTHON, NETRON_SHOT, paths[0],
                                    os.path.join(args.shots, f"{slug(name)}.netron.png")], timeout=600)
                r = rows[-1][1]
                print(f"{name}: {r}", flush=True)
            browser.close()
    finally:
        site.close()
    print(f"\n{'model':26}{'nodes':>7}{'zoom':>7}{'labelled':>10}{'mode':>9}{'top':>6}{'crossings':>11}"
          f"{'width x height':>18}  expanded")
    for name, r in rows:
        if "error" in r:
            print(f"{name:26}  error: {r['error']}")
            continue
        top = "-" if r["top"] is None else str(r["top"])
        size = f"{r['width']:.0f} x {r['height']:.0f}"
        print(f"{name:26}{r['nodes']:7}{r['zoom']:7.2f}{r['labelled']:10}{r['mode']:>9}{top:>6}"
              f"{r['crossings']:11}{size:>18}  {', '.join(r['expanded'])}")
    bad = [n for n, r in rows if "error" in r or r["zoom"] < 0.7 or r["labelled"] < 8
           or (r["top"] is not None and r["top"] > 40)]
    print(f"\ntargets (zoom >= 0.7, >= 8 labelled boxes, <= 40 top-level boxes): "
          f"{len(rows) - len(bad)} of {len(rows)} models" + (f"; missed: {', '.join(bad)}" if bad else ""))


if __name__ == "__main__":
    main()
