#!/usr/bin/env python3
"""Scale benchmark: a 100,000-node ONNX model in the built site (headless Chromium,
software WebGL: SwiftShader) opened through the real file input. Prints the time from
file chosen to graph drawn (parse / layout / draw as the page splits it, and the layout
worker's phases), then frame times (full redraws, each waited for) at the fitted view,
zoomed out part way, zoomed in to 100 %, and while panning and zooming there.

    python bench/scale_bench.py [--nodes 100000] [--screenshots DIR]

The model is written once (bench/.cache/scale/) with the onnx helper API: a deep
stack of small attention-like layers (MatMul, Transpose, Add of a mask shared by
every layer, Softmax, residual Add, LayerNormalization, Relu) with tiny shared weights,
so the file is small and the graph is what costs. A frame at 16 ms or less is the
figure to beat on a real GPU; SwiftShader draws on the CPU.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
from harness import CHROMIUM, CHROMIUM_ARGS, Site, ensure_built, timed_open  # noqa: E402

NODES_PER_LAYER = 14


def write_model(nodes, names="flat"):
    """Path of a model with about `nodes` nodes (written once, then cached)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    folder = os.path.join(HERE, ".cache", "scale")
    path = os.path.join(folder, f"layers-{nodes}{'-torch' if names == 'torch' else ''}.onnx")
    if os.path.exists(path):
        return path
    os.makedirs(folder, exist_ok=True)
    d = 8
    rng = np.random.default_rng(0)
    weights = {name: numpy_helper.from_array(rng.standard_normal((d, d)).astype(np.float32), name)
               for name in ("Wq", "Wk", "Wv", "Wo", "W1", "W2")}
    weights["scale"] = numpy_helper.from_array(np.ones(d, np.float32), "scale")
    weights["bias"] = numpy_helper.from_array(np.zeros(d, np.float32), "bias")
    graph_nodes = [helper.make_node("MatMul", ["x", "Wq"], ["mask_raw"], name="mask_proj"),
                   helper.make_node("Sigmoid", ["mask_raw"], ["mask"], name="mask")]
    h = "x"
    for i in range(max(1, (nodes - 2) // NODES_PER_LAYER)):
        # flat: "l3.q" (no module scopes: the page draws every node); torch: the names
        # torch.onnx.export gives, "/model/layers.3/q/MatMul" (the page opens modules)
        p = f"/model/layers.{i}/" if names == "torch" else f"l{i}."

        def node(op, inputs, attrs=None, name=None):
            out = p + (name or op.lower()) + (f"/{op}" if names == "torch" else "")
            graph_nodes.append(helper.make_node(op, inputs, [out], name=out, **(attrs or {})))
            return out
        q = node("MatMul", [h, "Wq"], name="q")
        k = node("MatMul", [h, "Wk"], name="k")
        v = node("MatMul", [h, "Wv"], name="v")
        kt = node("Transpose", [k], {"perm": [1, 0]})
        s = node("MatMul", [q, kt], name="scores")
        s = node("Add", [s, "mask"], name="masked")
        a = node("Softmax", [s], {"axis": -1})
        o = node("MatMul", [a, v], name="attn")
        o = node("MatMul", [o, "Wo"], name="out")
        h2 = node("Add", [h, o], name="residual1")
        n = node("LayerNormalization", [h2, "scale", "bias"], {"axis": -1}, name="norm")
        m = node("Relu", [node("MatMul", [n, "W1"], name="up")])
        h = node("Add", [h2, node("MatMul", [m, "W2"], name="down")], name="residual2")
    graph = helper.make_graph(
        graph_nodes, "layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [d, d])],
        [helper.make_tensor_value_info(h, TensorProto.FLOAT, [d, d])],
        initializer=list(weights.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)
    return path


def frames(page, count=5):
    times = page.evaluate(f"wetron.frameTimes({count})")
    return statistics.median(times), max(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--screenshots", help="folder for PNGs of the views measured")
    ap.add_argument("--names", choices=["flat", "torch"], default="flat",
                    help="flat: names without scopes, the graph opens flat (the worst case); torch: "
                         "torch.onnx.export-style scoped names, it opens as modules, then is switched "
                         "to flat for the frame times")
    ap.add_argument("--think", type=float, default=3.0,
                    help="seconds between Python ready and the file chosen, as a user takes to pick "
                         "a file (the parse worker warms up meanwhile; 0: chosen at once)")
    args = ap.parse_args()
    t = time.time()
    path = write_model(args.nodes, args.names)
    print(f"model: {path} ({os.path.getsize(path) / 1e6:.1f} MB, ready in {time.time() - t:.1f} s)", flush=True)
    from playwright.sync_api import sync_playwright
    site = Site(ensure_built())
    rows = []
    shot = lambda page, name: args.screenshots and page.screenshot(path=os.path.join(args.screenshots, f"scale-{name}.png"))
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(600_000)
        page.goto(site.url)
        page.evaluate("wetron.ready()")
        page.wait_for_timeout(args.think * 1000)
        print(f"file chosen {args.think:g} s after Python was ready", flush=True)
        wall, s = timed_open(page, path)
        if s["status"] != "ready":
            sys.exit(f"open failed: {s['error']}")
        tm, w = s["timings"], s["timings"].get("worker", {})
        print(f"{s['nodes']} nodes, {s['edges']} edges, drawn {s['drawn']}")
        print(f"file chosen -> drawn: {wall * 1000:.0f} ms = parse {tm['parse']:.0f} + layout {tm['layout']:.0f} "
              f"+ draw {tm['draw']:.0f} (page's split); layout worker: JSON parse {w.get('parseMs', 0):.0f}, "
              f"measure {w.get('measureMs', 0):.0f}, layout {w.get('layoutMs', 0):.0f}, buffers {w.get('buildMs', 0):.0f} ms",
              flush=True)
        if args.names == "torch":
            t0 = time.time()
            page.evaluate("wetron.setMode('flat')")
            print(f"switch to flat (every node drawn): {(time.time() - t0) * 1000:.0f} ms, "
                  f"drawn {page.evaluate('wetron.state().drawn')}", flush=True)
            s = page.evaluate("wetron.state()")   # the fitted flat view, for zooming out to it
        measures = page.evaluate("performance.getEntriesByType('measure').map((m) => [m.name, m.duration])")
        print("  " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in measures if name.startswith("renderer")))
        canvas = page.locator("#graph").bounding_box()
        cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2

        def measure(label):
            med, worst = frames(page)
            rows.append((label, page.evaluate("wetron.state().zoom"), med, worst))
            print(f"  {label:<28} zoom {rows[-1][1]:.4f}  frame median {med:.1f} ms, max {worst:.1f} ms", flush=True)
            shot(page, label.split()[0])

        page.evaluate("wetron.fit()")
        page.wait_for_timeout(300)
        measure("fit (whole graph)")
        # Zoom in around a node half way down (the wheel keeps the point under the
        # pointer in place), so the views below are full of graph.
        names = page.evaluate("wetron.nodeNames()")
        target = names[len(names) // 2]
        for limit, label in ((0.1, "mid (zoom ~0.1)"), (1, "in (zoom ~1)")):
            while page.evaluate("wetron.state().zoom") < limit:
                p = page.evaluate("(n) => wetron.nodeScreenPosition(n)", target)
                page.mouse.move(p["x"], p["y"])
                page.mouse.wheel(0, -300)
                page.wait_for_timeout(250)
            measure(label)
        # Panning at 100 %: drag the canvas, measuring after each step.
        pans = []
        for step in range(6):
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + 150, cy - 250, steps=3)
            page.mouse.up()
            pans.append(frames(page, 3)[0])
        rows.append(("pan at zoom ~1", page.evaluate("wetron.state().zoom"), statistics.median(pans), max(pans)))
        print(f"  {'pan at zoom ~1':<28} frame median {statistics.median(pans):.1f} ms, max {max(pans):.1f} ms")
        # Zooming out from there to the whole graph, measuring at each wheel step.
        zooms = []
        while page.evaluate("wetron.state().zoom") > s["zoom"] * 1.2:
            page.mouse.wheel(0, 400)
            page.wait_for_timeout(200)
            zooms.append(frames(page, 2)[0])
        rows.append(("zoom out to fit", None, statistics.median(zooms), max(zooms)))
        print(f"  {'zoom out to fit':<28} {len(zooms)} steps, frame median {statistics.median(zooms):.1f} ms, "
              f"max {max(zooms):.1f} ms")
        browser.close()
    site.close()
    print("\n| view | zoom | frame median ms | frame max ms |\n|---|---|---|---|")
    for label, zoom, med, worst in rows:
        print(f"| {label} | {'' if zoom is None else f'{zoom:.4f}'} | {med:.1f} | {worst:.1f} |")


if __name__ == "__main__":
    main()
