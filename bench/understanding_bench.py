#!/usr/bin/env python3
"""Search and export benchmark: open models in the built site (headless Chromium) and
print, per model, the milliseconds of search queries (app/search.js, the whole flat node
list), of "highlight all", of the SVG export of the whole graph (and its size), and of
the PNG export (rasterised SVG) at scale 1.

    python bench/understanding_bench.py [MODEL ...]
Default: bench/.cache's resnet50.onnx (python bench/make_models.py) if present, and the
tests' transformer (tests/models.py). Graphs with modules are shown flat, so every node
is drawn and exported.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

QUERIES = ["relu", "op:MatMul", "op:Conv", "attr:kernel_shape=3x3", "3x3", "shape:768", "shape:1x64x56x56"]

TIMED = """async ([what, arg]) => {
  const runs = [];
  let result;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    result = await wetron[what](...arg);
    runs.push(performance.now() - t);
  }
  const size = typeof result === 'string' ? result.length : result instanceof Blob ? result.size
    : Array.isArray(result) ? result.length : result;
  return { ms: Math.min(...runs), size, width: result && result.width, height: result && result.height };
}"""


def default_models():
    paths = []
    resnet = os.path.join(HERE, ".cache", "torch-2.13.0_cpu-onnx-1.23.2", "resnet50.onnx")
    if os.path.exists(resnet):
        paths.append(resnet)
    import models
    paths.append(models.torch_transformer())
    return paths


def main(paths):
    paths = paths or default_models()
    site = Site(ensure_built())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in paths:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(600_000)
            page.goto(site.url)
            page.evaluate("wetron.ready()")
            page.set_input_files("#file-input", [path])
            page.wait_for_function("['ready', 'error'].includes(wetron.state().status)")
            state = page.evaluate("wetron.state()")
            if state["status"] != "ready":
                print(f"{os.path.basename(path)}: {state['error']}")
                continue
            if state.get("modules", {}).get("mode") == "modules":
                state = page.evaluate("wetron.setMode('flat')")
            print(f"\n{os.path.basename(path)}: {state['nodes']} nodes, {state['edges']} edges drawn")
            for q in QUERIES:
                r = page.evaluate(TIMED, ["find", [q]])
                print(f"  find {q!r:28} {r['size']:6} matches  {r['ms']:8.1f} ms")
            r = page.evaluate(TIMED, ["highlightAll", ["relu"]])
            print(f"  highlightAll 'relu'           {r['size']:6} boxes    {r['ms']:8.1f} ms")
            page.evaluate("wetron.highlightAll(null)")
            r = page.evaluate(TIMED, ["exportSVG", [{}]])
            print(f"  exportSVG whole graph         {r['size'] / 1e6:6.2f} MB      {r['ms']:8.1f} ms")
            r = page.evaluate(TIMED, ["exportPNG", [{"scale": 1}]])
            print(f"  exportPNG scale 1             {r['width']}×{r['height']} px, {r['size'] / 1e6:.2f} MB  {r['ms']:8.1f} ms")
            page.close()
        browser.close()
    site.close()


if __name__ == "__main__":
    main(sys.argv[1:])
