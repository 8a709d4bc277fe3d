"""The module hierarchy in the page (app/module-view.js, app/module-layout.js): a real
torch transformer export opened through the file input, drawn as collapsed modules,
expanded and collapsed in place. The counts the page reports are checked against the
parser's document (an independent computation here in Python), and against what the
renderer put into its vertex buffers (state().drawn)."""
import json

import pytest

import models
import wetron

from .test_page import decode_png

pytestmark = pytest.mark.timeout(300)

OPENED = "['ready', 'error'].includes(wetron.state().status)"


def document(path):
    return json.loads(wetron.open(path).dumps())


def expected_view(doc, expanded):
    """What the module view must draw for graphs[0] with `expanded` module paths open,
    worked out from the document: every op inside exactly one visible box; the flat
    edges (value, consumer) mapped onto those boxes, aggregated per box pair."""
    g = doc["graphs"][0]
    groups, node_group, values = g["groups"], g["node_group"], g["values"]
    parent = [grp["parent"] for grp in groups]
    # top[k]: outermost collapsed group on k's path, None when all of it is expanded
    top = []
    for k, grp in enumerate(groups):
        p = parent[k]
        if p >= 0 and top[p] is not None:
            top.append(top[p])
        else:
            top.append(None if grp["path"] in expanded else k)
    box_of_node = {}
    for i in range(len(g["nodes"])):
        k = node_group[i]
        box_of_node[i] = ("op", i) if k < 0 or top[k] is None else ("module", top[k])
    weights = {v for v, (_, _, t) in enumerate(values) if t is not None}
    producer = {v: ("input", v) for v in g["inputs"] if v not in weights}
    for i, node in enumerate(g["nodes"]):
        for v in node["out"]:
            if v >= 0:
                producer[v] = box_of_node[i]
    pairs, hidden, flat = {}, 0, 0
    for i, node in enumerate(g["nodes"]):
        for v in node["in"]:
            if v < 0 or v not in producer or v in node["out"]:
                continue
            flat += 1
            a, b = producer[v], box_of_node[i]
            if a == b:
                hidden += 1
            else:
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
    for n, v in enumerate(g["outputs"]):
        if v in producer:
            flat += 1
            pairs[(producer[v], ("output", n))] = pairs.get((producer[v], ("output", n)), 0) + 1
    ops = sum(1 for b in box_of_node.values() if b[0] == "op")
    modules = len({b for b in box_of_node.values() if b[0] == "module"})
    frames = sum(1 for k in range(len(groups)) if top[k] is None)
    return {"ops": ops, "hidden": len(g["nodes"]) - ops, "modules": modules, "frames": frames,
            "edges": len(pairs), "flat": flat, "hiddenEdges": hidden}


def check(state, want):
    drawn, m = state["drawn"], state["modules"]
    assert drawn["nodes"] == want["ops"] == m["ops"]
    assert m["hiddenOps"] == want["hidden"]
    assert drawn["nodes"] + m["hiddenOps"] == state["nodes"]          # every op in exactly one box
    assert drawn["modules"] == want["modules"] == m["collapsed"]
    assert drawn["frames"] == want["frames"]
    assert drawn["edges"] == want["edges"] == state["edges"]
    assert m["flatEdges"] == want["flat"] and m["hiddenEdges"] == want["hiddenEdges"]


@pytest.fixture
def transformer_page(app_page):
    path = models.torch_transformer()
    doc = document(path)
    g = doc["graphs"][0]
    assert g.get("groups") and len(g["groups"]) > 5, "the transformer export should carry its module hierarchy"
    app_page.set_default_timeout(120_000)
    app_page.set_input_files("#file-input", [path])
    app_page.wait_for_function(OPENED)
    return app_page, doc


def test_modules_expand_collapse_counts(transformer_page):
    page, doc = transformer_page
    g = doc["graphs"][0]
    state = page.evaluate("wetron.state()")
    # 230 nodes: under the 300-node threshold, so it opens flat, everything drawn
    assert len(g["nodes"]) <= 300 and state["modules"]["mode"] == "flat"
    assert state["drawn"]["nodes"] == len(g["nodes"]) and state["drawn"]["modules"] == 0

    state = page.evaluate("wetron.setMode('modules')")
    assert state["status"] == "ready" and state["modules"]["mode"] == "modules"
    assert state["modules"]["expanded"] == []
    want = expected_view(doc, set())
    assert want["modules"] >= 3   # embeddings, encoder, pooler
    check(state, want)
    assert page.evaluate("wetron.nodeNames()").count("encoder") == 1

    expanded = set()
    for path in ["encoder", "encoder/layer.1", "encoder/layer.1/attention/self"]:
        state = page.evaluate("(p) => wetron.expand(p)", path)
        expanded.add(path)
        if path == "encoder/layer.1/attention/self":
            expanded.add("encoder/layer.1/attention")   # ancestors open with it
        assert set(state["modules"]["expanded"]) == expanded
        check(state, expected_view(doc, expanded))
    assert state["drawn"]["frames"] == 4

    # The screenshot shows the frames: zoomed in on each header, most of the pixels
    # around its centre are the header bar's colour, not the background.
    background = (246, 247, 249)   # the light theme's (app/renderer.js PALETTES)
    for path in ["encoder", "encoder/layer.1"]:
        page.evaluate("""(p) => {
          const v = wetron.viewport(), s = wetron.nodeScreenPosition(p);
          const r = document.getElementById('graph').getBoundingClientRect();
          wetron.setViewport({x: v.x + (s.x - r.left - r.width / 2) / v.zoom, y: v.y + (s.y - r.top - r.height / 2) / v.zoom, zoom: 3});
        }""", path)
        page.wait_for_timeout(300)
        header = page.evaluate("(p) => wetron.nodeScreenPosition(p)", path)
        width, height, bpp, rows = decode_png(page.screenshot())
        cx, cy = round(header["x"]), round(header["y"])
        block = [tuple(rows[y][x * bpp:x * bpp + 3]) for y in range(cy - 12, cy + 13, 3) for x in range(cx - 30, cx + 31, 3)]
        common = max(set(block), key=block.count)
        assert block.count(common) > len(block) // 2, f"{path}: no uniform header bar at {header}"
        assert sum(abs(a - b) for a, b in zip(common, background)) > 12, f"{path}: the header is the background colour {common}"
    page.evaluate("wetron.fit()")

    # Collapsing a module closes what is inside it too.
    state = page.evaluate("wetron.collapse('encoder/layer.1')")
    expanded = {"encoder"}
    assert set(state["modules"]["expanded"]) == expanded
    check(state, expected_view(doc, expanded))

    # Selecting a node hidden in a collapsed module expands its modules.
    hidden = next(i for i, k in enumerate(g["node_group"]) if k >= 0 and g["groups"][k]["path"].startswith("encoder/layer.2/attention/self"))
    name = g["nodes"][hidden]["name"]
    assert page.evaluate("(n) => wetron.select(n)", name) is True
    page.wait_for_function("(n) => wetron.state().selected === n", arg=name)
    state = page.evaluate("wetron.state()")
    assert "encoder/layer.2/attention/self" in state["modules"]["expanded"]
    check(state, expected_view(doc, set(state["modules"]["expanded"])))

    # Flat mode draws every node again.
    state = page.evaluate("wetron.setMode('flat')")
    assert state["modules"]["mode"] == "flat"
    assert state["drawn"]["nodes"] == len(g["nodes"]) and state["drawn"]["modules"] == 0 and state["drawn"]["frames"] == 0


def test_module_clicks_and_sidebar(transformer_page):
    page, doc = transformer_page
    page.evaluate("wetron.setMode('modules')")
    # Click a collapsed module: it is selected and the sidebar shows its figures.
    pos = page.evaluate("wetron.nodeScreenPosition('encoder')")
    assert pos is not None
    page.mouse.click(pos["x"], pos["y"])
    assert page.evaluate("wetron.state().selected") == "encoder"
    sidebar = page.inner_text("#sidebar")
    encoder = next(grp for grp in doc["graphs"][0]["groups"] if grp["path"] == "encoder")
    assert "encoder" in sidebar and "MatMul" in sidebar and str(encoder["nodes"]) in sidebar
    # Double-click expands it in place; the sidebar's button collapses it again.
    page.mouse.dblclick(pos["x"], pos["y"])
    page.wait_for_function("wetron.state().modules.expanded.includes('encoder') && wetron.state().status === 'ready'")
    assert page.evaluate("wetron.state().drawn.frames") == 1
    assert page.evaluate("wetron.state().selected") == "encoder"   # the selection follows the module
    page.get_by_role("button", name="Collapse").click()
    page.wait_for_function("!wetron.state().modules.expanded.includes('encoder') && wetron.state().status === 'ready'")
    assert page.evaluate("wetron.state().drawn.frames") == 0
    # A click on a frame's header collapses its module.
    page.evaluate("wetron.expand('encoder')")
    header = page.evaluate("wetron.nodeScreenPosition('encoder')")   # a frame: its header's centre
    page.mouse.click(header["x"], header["y"])
    page.wait_for_function("!wetron.state().modules.expanded.includes('encoder') && wetron.state().status === 'ready'")
    assert page.evaluate("wetron.state().drawn.modules") >= 3


def test_large_graph_opens_as_modules(app_page):
    """Over 300 nodes with groups: the page opens on the top-level modules. The graph is
    a document written by bench/module_docs.mjs (a 60-layer BERT-like encoder in the
    shape torch exports it), opened through wetron.openDocument."""
    import os
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = "import('./bench/module_docs.mjs').then((m) => process.stdout.write(JSON.stringify(m.transformerDoc(60))))"
    text = subprocess.run(["node", "--no-warnings", "--input-type=module", "-e", script], cwd=root,
                          check=True, capture_output=True, text=True, timeout=120).stdout
    doc = json.loads(text)
    page = app_page
    page.set_default_timeout(120_000)
    state = page.evaluate("(t) => wetron.openDocument(t)", text)
    assert len(doc["graphs"][0]["nodes"]) > 300
    assert state["modules"]["mode"] == "modules" and state["modules"]["expanded"] == []
    check(state, expected_view(doc, set()))
    assert state["drawn"]["modules"] == 3   # embeddings, encoder, pooler
    state = page.evaluate("wetron.expand('encoder/layer.30/attention')")
    check(state, expected_view(doc, {"encoder", "encoder/layer.30", "encoder/layer.30/attention"}))
    assert state["modules"]["laidOut"] == 4 and state["modules"]["cached"] == 0   # the top level, encoder, layer.30, attention
    state = page.evaluate("wetron.collapse('encoder/layer.30')")
    check(state, expected_view(doc, {"encoder"}))
    # Expanding it again reuses every module layout made for it before.
    state = page.evaluate("wetron.expand('encoder/layer.30/attention')")
    assert state["modules"]["laidOut"] == 0 and state["modules"]["cached"] == 4
    check(state, expected_view(doc, {"encoder", "encoder/layer.30", "encoder/layer.30/attention"}))
