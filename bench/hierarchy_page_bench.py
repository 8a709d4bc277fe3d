#!/usr/bin/env python3
"""Module hierarchy in the page, end to end (headless Chromium, the built site): a
generated 50,000-node BERT-like graph document (bench/module_docs.mjs, 1170 layers) is
opened with wetron.openDocument (it opens as modules), then modules are expanded and
collapsed through wetron.expand / wetron.collapse. Printed per step: wall time from
the call to the new scene drawn, the layout worker's share (view, layout, vertex
buffers), the module layouts computed / reused, and the boxes and edges drawn.

    python bench/hierarchy_page_bench.py [--layers 1170] [graph-document.json]

bench/hierarchy_bench.mjs measures the same view + layout steps alone in node.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

STEP = """async ([call, path]) => {
  const t0 = performance.now();
  const s = await wetron[call](path);
  await new Promise((r) => requestAnimationFrame(() => r()));
  return {ms: performance.now() - t0, drawn: s.drawn, modules: s.modules};
}"""


def generated(layers):
    script = f"import('./bench/module_docs.mjs').then((m) => process.stdout.write(JSON.stringify(m.transformerDoc({layers}))))"
    return subprocess.run(["node", "--no-warnings", "--input-type=module", "-e", script], cwd=os.path.join(HERE, ".."),
                          check=True, capture_output=True, text=True).stdout


def main(args):
    layers, text = 1170, None
    if "--layers" in args:
        layers = int(args[args.index("--layers") + 1])
    files = [a for a in args if a.endswith(".json")]
    text = open(files[0]).read() if files else generated(layers)
    doc = json.loads(text)
    g = doc["graphs"][0]
    top = [x["path"] for x in g["groups"] if x["parent"] < 0]
    nodes_in = {}
    for k in g["node_group"]:
        while k is not None and k >= 0:
            nodes_in[k] = nodes_in.get(k, 0) + 1
            k = g["groups"][k]["parent"]
    biggest = max(top, key=lambda p: nodes_in.get(next(i for i, x in enumerate(g["groups"]) if x["path"] == p), 0))
    big_index = next(i for i, x in enumerate(g["groups"]) if x["path"] == biggest)
    children = [x["path"] for x in g["groups"] if x["parent"] == big_index]
    picks = [children[int(f * (len(children) - 1))] for f in (0.5, 0.1, 0.3, 0.7, 0.9)] if children else []
    print(f"{doc['model']['file']}: {len(g['nodes'])} nodes, {len(g['groups'])} modules")

    site = Site(ensure_built())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(600_000)
        page.goto(site.url)

        def report(label, r):
            m, d = r["modules"], r["drawn"]
            w = m["workerPhases"] or {"view": 0, "layout": 0, "buffers": 0}
            print(f"  {label:<40} {r['ms']:8.1f} ms  worker {m['workerMs']:7.1f} ms (view+text {w['view']:6.1f},"
                  f" layout {w['layout']:6.1f}, buffers {w['buffers']:6.1f})  laid out {m['laidOut']:3}"
                  f" cached {m['cached']:3}  {d['nodes'] + d['modules'] + d['inputs'] + d['outputs']:6} boxes"
                  f" {d['edges']:6} edges {d['frames']:4} frames")

        r = page.evaluate("""async (text) => {
          const t0 = performance.now();
          const s = await wetron.openDocument(text);
          await new Promise((r) => requestAnimationFrame(() => r()));
          return {ms: performance.now() - t0, drawn: s.drawn, modules: s.modules};
        }""", text)
        report("open (as modules)", r)
        report(f"expand {biggest}", page.evaluate(STEP, ["expand", biggest]))
        times = []
        for child in picks:
            r = page.evaluate(STEP, ["expand", child])
            times.append(r["ms"])
            report(f"expand {child}", r)
            report("  collapse it", page.evaluate(STEP, ["collapse", child]))
        if times:
            print(f"  expand one module, end to end: median {statistics.median(times):.1f} ms over {len(times)}")
        report("flat (every node)", page.evaluate(STEP, ["setMode", "flat"]))
        browser.close()
    site.close()


if __name__ == "__main__":
    main(sys.argv[1:])
