"""Everyday interactions in the page, on real models through the real page: clicking an
edge selects its tensor (the sidebar's fields against the document the CLI writes),
tensors in search, the selected node's own colour (pixels), search results never
hiding the node they centre, boxes labelled by node name, Ctrl+O, the tab title, the
brand back to the start page, recent files, and a 390 px wide page (toolbar, drawer).

Screenshots of a real model with a selection, 1400x900 and 390x844, are written to
$WETRON_SCREENSHOTS (a folder) when it is set."""
import json
import os

import pytest

import formats_weights_models
import models
import wetron

from .test_page import OPENED, decode_png, open_file, open_page, pixel

pytestmark = pytest.mark.timeout(300)

# The node at `at` = {x, y} (page px) within `tolerance` once the camera has settled.
NODE_AT = """([name, x, y, tolerance]) => {
  const p = wetron.nodeScreenPosition(name);
  return p && Math.abs(p.x - x) < tolerance && Math.abs(p.y - y) < tolerance;
}"""

# A page point on edge `index` where a click selects it: the middle of one of its drawn
# segments (the longest first), on the canvas itself (no panel or box over it).
CLICK_POINT = """(index) => {
  const pts = wetron.edgeScreenPoints(index), c = document.getElementById('graph').getBoundingClientRect();
  const segments = [];
  for (let k = 0; k + 1 < pts.length; k++) {
    const a = pts[k], b = pts[k + 1];
    segments.push({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, len: Math.hypot(b.x - a.x, b.y - a.y) });
  }
  segments.sort((a, b) => b.len - a.len);
  for (const p of segments) {
    if (p.x < c.left + 2 || p.x > c.right - 2 || p.y < c.top + 2 || p.y > c.bottom - 2) continue;
    if (document.elementFromPoint(p.x, p.y) !== document.getElementById('graph')) continue;
    if (wetron.boxAt(p.x, p.y) === null && wetron.edgeAt(p.x, p.y) === index) return { x: p.x, y: p.y };
  }
  return null;
}"""


def document(path):
    return json.loads(wetron.open(str(path)).dumps())


def node_name(g, i):
    return g["nodes"][i]["name"] or f"#{i}"


def dims_text(shape):
    return "?" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def tensor_truth(doc, v, graph=0):
    """What the sidebar should say of value v, from the document."""
    g = doc["graphs"][graph]
    name, type_index, tensor = g["values"][v]
    t = doc["types"][type_index] if type_index is not None else None
    if t and t["kind"] in ("tensor", "sparse_tensor"):
        dtype, shape = t["dtype"], t.get("shape")
    elif tensor is not None:
        dtype, shape = doc["tensors"][tensor]["dtype"], doc["tensors"][tensor]["shape"]
    else:
        dtype, shape = None, None
    producer = next((node_name(g, i) for i, n in enumerate(g["nodes"]) if v in n["out"]), None)
    if producer is None and v in g["inputs"] and tensor is None:
        producer = name
    consumers = [node_name(g, i) for i, n in enumerate(g["nodes"]) if v in n["in"]]
    consumers += [name for o in g["outputs"] if o == v]
    return {"name": name, "dtype": dtype or "?", "shape": dims_text(shape), "producer": producer, "consumers": consumers}


def sidebar_tensors(page):
    """The tensor sections of the sidebar: [{name, dtype, shape, producer, consumers}]."""
    return page.evaluate("""() => [...document.querySelectorAll('#sidebar .sb-tensor')].map((s) => {
      const field = (f) => { const e = s.querySelector(`[data-field="${f}"]`); return e ? e.firstChild.textContent : null; };
      const rows = [...s.querySelectorAll('.sb-row')];
      const row = (key) => rows.find((r) => r.querySelector('.sb-key').textContent.startsWith(key));
      const producer = row('producer').querySelector('a');
      return { name: field('name'), dtype: field('dtype'), shape: field('shape'),
        producer: producer ? producer.textContent : null,
        consumers: [...row('consumer').querySelectorAll('a')].map((a) => a.textContent) };
    })""")


def settle(page, ms=450):
    page.wait_for_timeout(ms)   # a camera animation (260 ms) ends


def screenshot_dir(tmp_path):
    folder = os.environ.get("WETRON_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        return folder
    return str(tmp_path)


# --- edges: click one, see its tensor ------------------------------------------------

def test_clicking_an_edge_selects_its_tensor_and_the_sidebar_matches_the_document(page, site):
    path = models.torch_cnn()
    page.set_viewport_size({"width": 1400, "height": 900})
    open_page(page, site)
    open_file(page, path)
    doc = document(path)
    g = doc["graphs"][0]
    # A tensor read by two nodes (a residual block's input: its first conv and its Add).
    v = next(v for v, (name, _, t) in enumerate(g["values"])
             if t is None and sum(v in n["in"] for n in g["nodes"]) == 2 and any(v in n["out"] for n in g["nodes"]))
    truth = tensor_truth(doc, v)
    edges = [e for e in page.evaluate("wetron.edges()") if e["tensors"] == [truth["name"]]]
    assert len(edges) == 2 and {e["to"] for e in edges} == set(truth["consumers"])
    assert all(e["from"] == truth["producer"] for e in edges)
    # Bring the first of them into view and click it where it is drawn.
    ends = [page.evaluate("(n) => wetron.nodeScreenPosition(n)", n) for n in (edges[0]["from"], edges[0]["to"])]
    box = page.locator("#graph").bounding_box()
    view = page.evaluate("wetron.viewport()")
    page.evaluate("(v) => wetron.setViewport(v)", {"x": view["x"] + ((ends[0]["x"] + ends[1]["x"]) / 2 - (box["x"] + box["width"] / 2)) / view["zoom"],
                                                   "y": view["y"] + ((ends[0]["y"] + ends[1]["y"]) / 2 - (box["y"] + box["height"] / 2)) / view["zoom"],
                                                   "zoom": view["zoom"]})
    at = page.evaluate(CLICK_POINT, edges[0]["index"])
    assert at, "no point of the edge to click"
    png = decode_png(page.screenshot())
    background = pixel(png, box["x"] + 3, box["y"] + 3)
    near = [pixel(png, at["x"] + dx, at["y"] + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert any(p != background for p in near), "the edge is drawn where it is clicked"
    page.mouse.click(at["x"], at["y"])
    selection = page.evaluate("wetron.state().selection")
    assert selection == {"kind": "tensor", "name": truth["name"], "tensors": [truth["name"]], "edge": edges[0]["index"]}
    assert page.evaluate("wetron.state().selected") == truth["name"]
    # Both of its edges are selected; its producer and both consumers are lit.
    lit = page.evaluate("wetron.highlighted()")
    assert lit["edges"] == 2 and set(lit["nodes"]) == {truth["producer"], *truth["consumers"]}
    shown = sidebar_tensors(page)
    assert shown == [{k: truth[k] for k in ("name", "dtype", "shape", "producer", "consumers")}]
    assert "Tensor" in page.inner_text("#sidebar .sb-header")
    # A consumer in the sidebar selects that node.
    page.locator("#sidebar .sb-tensor a.sb-link", has_text=truth["consumers"][1]).click()
    page.wait_for_function(f"wetron.state().selected === {json.dumps(truth['consumers'][1])}")
    assert page.evaluate("wetron.state().selection.kind") == "node"
    # The background clears; Escape after an edge clears too.
    assert page.evaluate("(i) => wetron.selectEdge(i)", edges[1]["index"]) is True
    assert page.evaluate("wetron.state().selection.edge") == edges[1]["index"]
    page.keyboard.press("Escape")
    assert page.evaluate("wetron.state().selection") is None


def test_a_graph_input_edge_and_a_weight_from_the_api(page, site):
    path = models.torch_cnn()
    open_page(page, site)
    open_file(page, path)
    doc = document(path)
    g = doc["graphs"][0]
    first = page.evaluate("wetron.edges()")[0]
    assert first["from"] == "input" and first["tensors"] == ["input"]
    assert page.evaluate("(i) => wetron.selectEdge(i)", first["index"]) is True
    assert sidebar_tensors(page) == [{k: tensor_truth(doc, g["inputs"][0])[k] for k in ("name", "dtype", "shape", "producer", "consumers")}]
    assert page.evaluate("(i) => wetron.selectEdge(i)", 10_000) is False
    # A weight: no edge, no producer; its consumer is lit and it has a values card.
    weight = next(v for v, (_, _, t) in enumerate(g["values"]) if t is not None and g["values"][v][0].startswith("onnx::Conv"))
    truth = tensor_truth(doc, weight)
    assert page.evaluate("(n) => wetron.selectTensor(n)", truth["name"]) is True
    assert page.evaluate("wetron.state().selection.tensors") == [truth["name"]]
    assert page.evaluate("wetron.highlighted().nodes") == truth["consumers"]
    shown = sidebar_tensors(page)[0]
    assert shown["producer"] is None and shown["consumers"] == truth["consumers"]
    assert (shown["dtype"], shown["shape"]) == (truth["dtype"], truth["shape"])
    assert page.locator("#sidebar button", has_text="Show values").count() == 1


def _module_box(g, expanded, node):
    """The box of node `node` in the module view with `expanded` open: the outermost
    collapsed module on its path, else the node itself."""
    groups = g["groups"]
    chain, k = [], g["node_group"][node]
    while k is not None and k >= 0:
        chain.insert(0, k)
        k = groups[k].get("parent", -1)
    for k in chain:
        if groups[k]["path"] not in expanded:
            return groups[k]["path"]
    return node_name(g, node)


def _two_tensor_model(path):
    """A torch export whose module `gate` hands two tensors to module `head`: in the
    module view one edge of two tensors joins them."""
    import torch
    from torch import nn

    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8)

        def forward(self, x):
            a = self.proj(x)
            return torch.relu(a), torch.sigmoid(a)

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = nn.Linear(8, 4)

        def forward(self, a, b):
            return self.out(a * b + a)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate, self.head = Gate(), Head()

        def forward(self, x):
            return self.head(*self.gate(x))

    torch.manual_seed(0)
    models._export(Net(), (torch.randn(2, 8),), path, ["x"], ["y"], {"x": {0: "batch"}, "y": {0: "batch"}})
    return path


def test_an_aggregated_module_edge_lists_its_tensors(page, site, tmp_path):
    path = _two_tensor_model(str(tmp_path / "gated.onnx"))
    page.set_viewport_size({"width": 1400, "height": 900})
    open_page(page, site)
    open_file(page, path)
    state = page.evaluate("wetron.setMode('modules')")
    expanded = set(state["modules"]["expanded"])
    doc = document(path)
    g = doc["graphs"][0]
    edges = page.evaluate("wetron.edges()")
    several = [e for e in edges if len(e["tensors"]) > 1]
    assert several, "the module view has an edge of several tensors"
    edge = several[0]
    # The tensors flowing from the edge's source box to its target box, worked out here.
    producer = {v: i for i, n in enumerate(g["nodes"]) for v in n["out"]}
    expected = set()
    for c, n in enumerate(g["nodes"]):
        if _module_box(g, expanded, c) != edge["to"]:
            continue
        for v in n["in"]:
            if v in producer and _module_box(g, expanded, producer[v]) == edge["from"]:
                expected.add(g["values"][v][0])
    assert set(edge["tensors"]) == expected and len(expected) > 1
    # Click it on screen.
    ends = [page.evaluate("(n) => wetron.nodeScreenPosition(n)", n) for n in (edge["from"], edge["to"])]
    box = page.locator("#graph").bounding_box()
    view = page.evaluate("wetron.viewport()")
    page.evaluate("(v) => wetron.setViewport(v)", {"x": view["x"] + ((ends[0]["x"] + ends[1]["x"]) / 2 - (box["x"] + box["width"] / 2)) / view["zoom"],
                                                   "y": view["y"] + ((ends[0]["y"] + ends[1]["y"]) / 2 - (box["y"] + box["height"] / 2)) / view["zoom"],
                                                   "zoom": view["zoom"]})
    at = page.evaluate(CLICK_POINT, edge["index"])
    assert at
    page.mouse.click(at["x"], at["y"])
    selection = page.evaluate("wetron.state().selection")
    assert selection["kind"] == "tensor" and selection["edge"] == edge["index"]
    assert selection["tensors"] == edge["tensors"]
    header = page.inner_text("#sidebar .sb-header")
    assert f"{len(expected)} tensors" in header and edge["from"] in header and edge["to"] in header
    shown = sidebar_tensors(page)
    by_name = {g["values"][v][0]: v for v in range(len(g["values"]))}
    assert [s["name"] for s in shown] == edge["tensors"]
    for s in shown:
        t = tensor_truth(doc, by_name[s["name"]])
        assert (s["dtype"], s["shape"], s["producer"], s["consumers"]) == (t["dtype"], t["shape"], t["producer"], t["consumers"])


def test_edge_picking_stays_fast_on_a_50k_edge_graph(app_page):
    """The picking grid (app/edge-pick.js) for 50,000 edges of 8 control points each,
    each wandering sideways (so most spans are curves)."""
    result = app_page.evaluate("""async () => {
      const { edgeIndex, nearestEdge } = await import('./app/edge-pick.js');
      const E = 50000, per = 8, points = new Float32Array(E * per * 2), pointStart = new Int32Array(E + 1);
      let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let e = 0; e < E; e++) {
        pointStart[e + 1] = (e + 1) * per;
        let x = rnd() * 20000, y = rnd() * 60000;
        for (let k = 0; k < per; k++) { points[2 * (e * per + k)] = x; points[2 * (e * per + k) + 1] = y; x += (rnd() - 0.5) * 300; y += 40 + rnd() * 60; }
      }
      const scene = { edges: E, vector: { points, pointStart } };
      let t0 = performance.now();
      const ix = edgeIndex(scene);
      const build = performance.now() - t0;
      t0 = performance.now();
      let hits = 0;
      for (let k = 0; k < 2000; k++) {
        const e = Math.floor(rnd() * E), i = e * per + 1;
        const hit = nearestEdge(scene, points[2 * i], points[2 * i + 1], 5);
        if (hit && hit.distance < 1e-3) hits++;
      }
      return { build, pick: (performance.now() - t0) / 2000, hits, spans: ix.spans };
    }""")
    assert result["hits"] == 2000   # a point on an edge finds an edge through it
    assert result["spans"] == 50_000 * 7   # one per pair of control points
    # ~0.1 s and ~20 µs on this 2-core machine's Chromium; generous bounds
    assert result["build"] < 1500 and result["pick"] < 1, result


# --- the selected node stands out from its trace ----------------------------------------

def _colour(hex_):
    return tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5))


def _distance(a, b):
    return sum(abs(x - y) for x, y in zip(a, b))


def _border_scan(png, pos):
    """Pixels across a box's left border, at a quarter of its height below the centre."""
    left, y = pos["x"] - pos["width"] / 2, pos["y"] + pos["height"] / 4
    return [pixel(png, left + dx, y) for dx in (0.5, 1.2, 1.9, 2.6)]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_selected_node_has_its_own_colour_and_outline(page, site, theme, tmp_path):
    path = models.torch_cnn()
    page.set_viewport_size({"width": 1400, "height": 900})
    open_page(page, site)
    open_file(page, path)
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.click("#theme-toggle")
    palette = page.evaluate("async (t) => (await import('./app/renderer.js')).PALETTES[t]", theme)
    select, accent = _colour(palette["select"]), _colour(palette["accent"])
    assert _distance(select, accent) > 200   # far apart colours
    name, upstream = "/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/conv1/Conv"
    assert page.evaluate("(n) => wetron.findAndSelect('name:' + n)", name)["name"] == name
    settle(page)
    assert upstream in page.evaluate("wetron.highlighted().nodes")
    png = decode_png(page.screenshot(path=os.path.join(screenshot_dir(tmp_path), f"selected-{theme}-1400x900.png")))
    selected = _border_scan(png, page.evaluate("(n) => wetron.nodeScreenPosition(n)", name))
    traced = _border_scan(png, page.evaluate("(n) => wetron.nodeScreenPosition(n)", upstream))
    # The selected box's outline is the selection colour, a thick one (several pixels);
    # the trace's is the accent colour; neither has the other's.
    assert sum(_distance(p, select) < 60 for p in selected) >= 2, (selected, select)
    assert min(_distance(p, accent) for p in selected) > 120, (selected, accent)
    assert min(_distance(p, accent) for p in traced) < 60, (traced, accent)
    assert min(_distance(p, select) for p in traced) > 120, (traced, select)
    # Its body is tinted: the pixel inside the border, below the text lines, is the
    # selection's body colour, not the plain body.
    pos = page.evaluate("(n) => wetron.nodeScreenPosition(n)", name)
    inside = pixel(png, pos["x"] + pos["width"] / 2 - 8, pos["y"] + pos["height"] / 2 - 7)
    assert _distance(inside, _colour(palette["selectFill"])) < 24, inside


# --- search: tensors, and the centred node beside the result list ------------------------

def test_search_finds_tensors_and_weights(page, site):
    path = models.torch_cnn()
    open_page(page, site)
    open_file(page, path)
    doc = document(path)
    g = doc["graphs"][0]
    # Tensor names no node name contains: found as tensors of their own kind.
    query = "relu_output_0"
    expected = [n for n, _, t in g["values"] if query in n.lower()]
    found = page.evaluate("(q) => wetron.find(q)", query)
    assert [r["name"] for r in found] == expected and {r["kind"] for r in found} == {"tensor"}
    page.locator("#graph").focus()
    page.keyboard.press("Control+f")
    page.keyboard.type(query)
    rows = page.locator("#search-results li[data-result]").all_inner_texts()
    assert [r.split()[0] for r in rows] == ["tensor"] * len(expected)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    truth = tensor_truth(doc, next(v for v, e in enumerate(g["values"]) if e[0] == expected[1]))
    page.wait_for_function(f"wetron.state().selected === {json.dumps(expected[1])}")
    assert page.evaluate("wetron.state().selection.kind") == "tensor"
    assert sidebar_tensors(page)[0]["name"] == expected[1]
    # its producer is brought to the middle of the canvas
    box = page.locator("#graph").bounding_box()
    page.wait_for_function(NODE_AT, arg=[truth["producer"], box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 2])
    # A weight (an initializer): jumps to its consumer.
    weight = next(n for n, _, t in g["values"] if t is not None and n.startswith("onnx::Conv"))
    found = page.evaluate("(q) => wetron.find(q)", weight)
    assert [(r["kind"], r["op"], r["name"]) for r in found] == [("tensor", "weight", weight)]
    assert page.evaluate("(q) => wetron.findAndSelect(q)", weight)["name"] == weight
    consumer = tensor_truth(doc, next(v for v, e in enumerate(g["values"]) if e[0] == weight))["consumers"][0]
    page.wait_for_function(NODE_AT, arg=[consumer, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 2])
    # A node matching stands for its outputs (their names hold its name): no tensor rows.
    assert {r["kind"] for r in page.evaluate("wetron.find('/layer1/layer1.0/conv1')")} == {"node"}
    assert all(r["kind"] == "node" for r in page.evaluate("wetron.find('op:Conv')"))


@pytest.mark.parametrize("size", [(1400, 900), (390, 844)])
def test_search_results_never_hide_the_node_they_centre(page, site, size):
    path = models.torch_transformer()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, site)
    open_file(page, path)
    page.locator("#graph").focus()
    page.keyboard.press("/")
    page.keyboard.type("op:MatMul")
    names = page.locator("#search-results li[data-result] .search-name").all_inner_texts()
    assert len(names) > 5
    canvas = page.locator("#graph").bounding_box()
    for k in range(4):
        page.keyboard.press("ArrowDown")
        page.wait_for_function(f"wetron.state().selected === {json.dumps(names[k + 1])}")
        settle(page)
        panel = page.locator("#search-results").bounding_box()
        assert panel, "the list stays open while arrowing"
        p = page.evaluate("(n) => wetron.nodeScreenPosition(n)", names[k + 1])
        half_w, half_h = min(p["width"], 60) / 2, p["height"] / 2
        # on the canvas, and outside the list
        assert canvas["x"] <= p["x"] - half_w and p["x"] + half_w <= canvas["x"] + canvas["width"], (p, canvas)
        assert canvas["y"] <= p["y"] - half_h and p["y"] + half_h <= canvas["y"] + canvas["height"], (p, canvas)
        inside = (panel["x"] - half_w < p["x"] < panel["x"] + panel["width"] + half_w
                  and panel["y"] - half_h < p["y"] < panel["y"] + panel["height"] + half_h)
        assert not inside, (p, panel)
    # Enter closes the list: the node comes to the middle of the whole canvas.
    page.keyboard.press("Enter")
    assert page.is_hidden("#search-results")
    page.wait_for_function(NODE_AT, arg=[names[4], canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2, 2])


# --- boxes labelled by node name ----------------------------------------------------------

def name_title(name, limit=32):
    """app/graph-view.js nameTitle."""
    if len(name) <= limit:
        return name
    tail = name[len(name) - (limit - 1):]
    cut = min((tail.find(c) for c in "/.:" if tail.find(c) >= 0), default=-1)
    if 0 < cut < len(tail) - 12:
        tail = tail[cut:]
    return "…" + tail


def svg_titles(page):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(page.evaluate("wetron.exportSVG({embedFont: false})"))
    return sorted(t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "title")


def test_name_labels_toggle_with_the_button_and_n(page, site):
    path = models.torch_cnn()
    open_page(page, site)
    open_file(page, path)
    g = document(path)["graphs"][0]
    io = ["input", *[g["values"][v][0] for v in g["outputs"]]]
    ops = sorted([n["op"] for n in g["nodes"]] + io)
    names = sorted([name_title(n["name"]) for n in g["nodes"]] + io)
    assert any(t.startswith("…") for t in names)   # a long name is shown by its end
    assert svg_titles(page) == ops
    # The selected node stays where it is on screen while the boxes change width.
    target = "/layer1/layer1.0/conv2/Conv"
    page.evaluate("(n) => wetron.select(n)", target)
    before = page.evaluate("(n) => wetron.nodeScreenPosition(n)", target)
    page.locator("#graph").focus()
    page.keyboard.press("n")
    page.wait_for_function("wetron.state().labels === 'names' && wetron.state().status === 'ready'")
    assert svg_titles(page) == names
    assert page.get_attribute("#labels-toggle", "aria-pressed") == "true"
    after = page.evaluate("(n) => wetron.nodeScreenPosition(n)", target)
    assert page.evaluate("wetron.state().selected") == target
    assert abs(after["x"] - before["x"]) < 1 and abs(after["y"] - before["y"]) < 1
    assert after["width"] != before["width"]   # its box is as wide as its name now
    assert "labels=names" in page.evaluate("wetron.shareUrl()")
    page.click("#labels-toggle")
    page.wait_for_function("wetron.state().labels === 'ops' && wetron.state().status === 'ready'")
    assert svg_titles(page) == ops
    assert "labels=" not in page.evaluate("wetron.shareUrl()")


def test_weights_only_file_shows_its_layer_names(page, site):
    path = formats_weights_models.safetensors_files()["cnn"]
    open_page(page, site)
    open_file(page, str(path))
    g = document(path)["graphs"][0]
    assert svg_titles(page) == sorted(n["op"] for n in g["nodes"])
    page.click("#labels-toggle")
    page.wait_for_function("wetron.state().labels === 'names' && wetron.state().status === 'ready'")
    assert svg_titles(page) == sorted(name_title(n["name"]) for n in g["nodes"])
    # a link with labels=names opens labelled by name
    link = page.evaluate("wetron.shareUrl()")
    assert "labels=names" in link


# --- opening, the title, the brand, recent files --------------------------------------------

def test_ctrl_o_title_brand_and_recent_files(page, site):
    cnn, transformer = models.torch_cnn(), models.torch_transformer()
    open_page(page, site)
    assert page.title() == "Wetron"
    assert page.is_hidden("#recent-block")   # nothing opened yet in this browser
    # Playwright turns on file chooser interception without waiting for it (a message
    # with no reply) when the first listener comes: listen first, then a round trip.
    page.on("filechooser", lambda _: None)
    page.evaluate("1")
    page.focus("#start-open")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Control+o")
    chooser.value.set_files(cnn)
    page.wait_for_function("wetron.state().status === 'ready' && wetron.state().file === 'cnn.onnx'")
    assert page.title() == "cnn.onnx — Wetron"
    with page.expect_file_chooser():   # Cmd+O as well (metaKey)
        page.keyboard.press("Meta+o")
    open_file(page, transformer)
    assert page.title() == "transformer.onnx — Wetron"
    # The brand goes back to the start page: the model is closed.
    page.click("#brand")
    assert page.is_visible("#start") and page.title() == "Wetron"
    state = page.evaluate("wetron.state()")
    assert state["status"] == "idle" and state["file"] is None and state["drawn"]["nodes"] == 0
    assert "?" not in page.url
    recent = page.locator("#recent .recent-name").all_inner_texts()
    assert recent == ["transformer.onnx", "cnn.onnx"]
    # A file cannot be reopened by name: choosing it opens the file chooser.
    with page.expect_file_chooser() as chooser:
        page.locator("#recent .recent-item").nth(1).click()
    chooser.value.set_files(cnn)
    page.wait_for_function("wetron.state().status === 'ready' && wetron.state().file === 'cnn.onnx'")
    # A model opened by link is reopened by it.
    assert page.evaluate("(u) => wetron.open(u).then((s) => s.file)", site.share(transformer)) == "transformer.onnx"
    page.click("#brand")
    assert page.locator("#recent .recent-name").all_inner_texts() == ["transformer.onnx", "cnn.onnx", "transformer.onnx"]
    assert "link" in page.locator("#recent .recent-item").nth(0).inner_text()
    page.locator("#recent .recent-item").nth(0).click()
    page.wait_for_function(OPENED)
    assert page.evaluate("wetron.state().file") == "transformer.onnx" and page.is_hidden("#start")
    # At most 10, kept in localStorage; "clear" empties the list.
    page.evaluate("""() => { const list = []; for (let i = 0; i < 14; i++) list.push({name: `m${i}.onnx`, url: null, format: 'ONNX'});
                       localStorage.setItem('wetron-recent', JSON.stringify(list)); }""")
    page.click("#brand")
    assert page.locator("#recent .recent-item").count() == 10
    page.click("#recent-clear")
    assert page.is_hidden("#recent-block") and page.evaluate("localStorage.getItem('wetron-recent')") == "[]"


# --- a 390 px wide page ------------------------------------------------------------------------

def test_a_phone_wide_page_has_no_horizontal_overflow_and_a_drawer(page, site, tmp_path):
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, site)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    open_file(page, models.torch_cnn())
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    # every toolbar control is on the page
    for b in page.locator("#toolbar button:visible, #toolbar input:visible").all():
        r = b.bounding_box()
        assert r["x"] >= 0 and r["x"] + r["width"] <= 390 + 0.5, b.get_attribute("id")
    # The sidebar is a drawer: closed, opened over the canvas by "Properties".
    assert page.is_hidden("#sidebar")
    canvas = page.locator("#graph").bounding_box()
    assert canvas["width"] >= 389
    name = "/layer1/layer1.0/conv2/Conv"
    assert page.evaluate("(n) => wetron.findAndSelect('name:' + n)", name)["name"] == name
    settle(page)
    page.click("#sidebar-toggle")
    assert page.is_visible("#sidebar") and page.get_attribute("#sidebar-toggle", "aria-pressed") == "true"
    drawer = page.locator("#sidebar").bounding_box()
    assert drawer["x"] >= 0 and drawer["x"] + drawer["width"] <= 390.5 and drawer["width"] < 390
    assert name in page.inner_text("#sidebar")
    assert page.locator("#graph").bounding_box()["width"] == canvas["width"]   # over the canvas, not beside it
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.screenshot(path=os.path.join(screenshot_dir(tmp_path), "drawer-390x844.png"))
    page.click("#drawer-close")
    assert page.is_hidden("#sidebar") and page.get_attribute("#sidebar-toggle", "aria-pressed") == "false"
    page.screenshot(path=os.path.join(screenshot_dir(tmp_path), "selected-390x844.png"))
    # The search list and the popovers fit too.
    page.locator("#graph").focus()
    page.keyboard.press("/")
    page.keyboard.type("conv")
    r = page.locator("#search-results").bounding_box()
    assert r["x"] >= 0 and r["x"] + r["width"] <= 390.5
    page.keyboard.press("Escape")
    for button, panel in (("#export-button", "#export-panel"), ("#share-button", "#share-panel")):
        page.click(button)
        r = page.locator(panel).bounding_box()
        assert r["x"] >= 0 and r["x"] + r["width"] <= 390.5, panel
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
        page.mouse.click(5, canvas["y"] + canvas["height"] - 5)   # closes it
