"""The page (index.html + app/) in Chromium: real models opened through the real file
input, a ?url= link, drag and drop and the examples; what the renderer put into its
buffers, picking, selection highlighting, the sidebar, subgraphs, search, errors,
themes, keyboard; and the layout module's invariants on real graphs."""
import json
import os
import struct
import urllib.parse
import zlib

import onnx
import pytest
from onnx import numpy_helper

import models
import wetron

pytestmark = pytest.mark.timeout(300)

OPENED = "['ready', 'error'].includes(wetron.state().status)"


def document(path):
    return json.loads(wetron.open(path).dumps())


def expected_counts(doc):
    """Boxes and edges the page should draw for graphs[0], worked out here from the
    document: graph inputs that are not weights and graph outputs are boxes of their
    own; an edge joins a value's producer (node or graph input) to each consumer
    (node or graph output)."""
    g = doc["graphs"][0]
    values = g["values"]
    weights = {v for v, (_, _, tensor) in enumerate(values) if tensor is not None}
    inputs = list(dict.fromkeys(v for v in g["inputs"] if v not in weights))
    produced = set(inputs)
    for node in g["nodes"]:
        produced.update(v for v in node["out"] if v >= 0)
    edges = 0
    for i, node in enumerate(g["nodes"]):
        own = set(node["out"])
        edges += sum(1 for v in node["in"] if v >= 0 and v in produced and v not in own)
    edges += sum(1 for v in g["outputs"] if v in produced)
    return {"nodes": len(g["nodes"]), "inputs": len(inputs), "outputs": len(g["outputs"]), "edges": edges}


def open_page(page, site, query=""):
    page.set_default_timeout(120_000)
    page.goto(site.url + query)
    page.evaluate("wetron.ready()")


def open_file(page, *paths):
    page.set_input_files("#file-input", list(paths))
    page.wait_for_function(OPENED)
    return page.evaluate("wetron.state()")


def decode_png(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG (a screenshot)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    rows, prev, stride = [], bytearray(width * bpp), width * bpp
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def pixel(png, x, y):
    _, _, bpp, rows = png
    return tuple(rows[int(y)][int(x) * bpp:int(x) * bpp + 3])


# --- opening ----------------------------------------------------------------------

def test_file_input_draws_every_node_and_edge(page, site):
    path = models.torch_cnn()
    open_page(page, site)
    state = open_file(page, path)
    assert state["status"] == "ready", state
    expected = expected_counts(document(path))
    assert state["format"] == "ONNX" and state["file"] == "cnn.onnx"
    assert state["nodes"] == expected["nodes"] == 28
    drawn = state["drawn"]
    assert (drawn["nodes"], drawn["inputs"], drawn["outputs"]) == \
        (expected["nodes"], expected["inputs"], expected["outputs"])
    assert drawn["edges"] == state["edges"] == expected["edges"]
    assert page.is_hidden("#start") and page.is_visible("#graph")
    assert "cnn.onnx" in page.inner_text("#model-name")
    # the sidebar shows the model's properties
    sidebar = page.inner_text("#sidebar")
    assert "pytorch" in sidebar and "43,882" in sidebar


def test_url_parameter_opens_a_model(page, site):
    path = models.torch_transformer()
    page.set_default_timeout(120_000)
    page.goto(site.url + "?url=" + urllib.parse.quote(site.share(path), safe=""))
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state
    expected = expected_counts(document(path))
    assert state["file"] == "transformer.onnx"
    assert state["drawn"]["nodes"] == state["nodes"] == expected["nodes"]
    assert state["drawn"]["edges"] == expected["edges"]


def test_dropping_a_model_with_its_external_data(page, site):
    path = models.torch_transformer_external()
    data = os.path.join(os.path.dirname(path), "model.onnx.data")
    open_page(page, site)
    page.evaluate("""async (files) => {
      const transfer = new DataTransfer();
      for (const [name, url] of files) transfer.items.add(new File([await (await fetch(url)).blob()], name));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", [["model.onnx.data", site.share(data)], ["model.onnx", site.share(path)]])
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state
    assert state["file"] == "model.onnx"   # the .onnx file is the model, the other its data
    assert state["drawn"]["nodes"] == expected_counts(document(path))["nodes"]


def test_examples_on_the_start_screen_open(page, site):
    with open(os.path.join(site.dist, "examples", "index.json")) as f:
        examples = json.load(f)
    open_page(page, site)
    buttons = page.locator("#examples .example")
    assert buttons.count() == len(examples) > 0
    buttons.nth(0).click()
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready" and state["file"] == examples[0]["file"]
    doc = document(os.path.join(site.dist, "examples", examples[0]["file"]))
    assert state["drawn"]["nodes"] == len(doc["graphs"][0]["nodes"])


def test_drawing_warms_up_from_the_build_s_example_document(page, site, context):
    """The page lays out and draws the first example's document (written by build.py)
    unseen as it loads, not waiting for Python's warm-up to hand one over: its GPU
    programs are compiled before a file can come. The start page stays as it is."""
    with open(os.path.join(site.dist, "examples", "index.json")) as f:
        first = json.load(f)[0]
    with open(os.path.join(site.dist, "examples", "warm-document.json")) as f:
        warm = json.load(f)
    assert warm["model"]["file"] == first["file"]
    assert warm == document(os.path.join(site.dist, "examples", first["file"]))
    page.goto(site.url)
    page.wait_for_function("!!(window.wetron && wetron.state().warmedUp)")
    assert any(u.endswith("/examples/warm-document.json") for u in context.requested_urls)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "idle" and state["file"] is None and state["drawn"]["nodes"] == 0
    assert page.locator("#examples .example").count() > 0


def test_api_open_takes_a_url_and_rejects_with_the_error(page, site, tmp_path):
    open_page(page, site)
    state = page.evaluate("(url) => wetron.open(url)", site.share(models.torch_cnn()))
    assert state["status"] == "ready" and state["file"] == "cnn.onnx"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    message = page.evaluate("(url) => wetron.open(url).then(() => null, (e) => e.message)", site.share(str(bad)))
    assert message and page.evaluate("wetron.state().error") == message


# --- interaction ------------------------------------------------------------------------

def test_clicking_a_node_selects_it_and_fills_the_sidebar(page, site):
    path = models.torch_cnn()
    open_page(page, site)
    open_file(page, path)
    doc = document(path)
    g = doc["graphs"][0]
    node = next(n for n in g["nodes"] if n["op"] == "Conv" and n["name"].endswith("conv2/Conv"))
    pos = page.evaluate("(n) => wetron.nodeScreenPosition(n)", node["name"])
    page.mouse.click(pos["x"], pos["y"])
    assert page.evaluate("wetron.state().selected") == node["name"]
    sidebar = page.inner_text("#sidebar")
    assert node["name"] in sidebar and "Conv" in sidebar and "kernel_shape" in sidebar
    weight = doc["tensors"][g["values"][node["in"][1]][2]]
    assert f"{weight['dtype']} [{', '.join(map(str, weight['shape']))}]" in sidebar
    # the weight's values, read by the worker, are the file's values
    page.locator("#sidebar button", has_text="Show values").first.click()
    page.wait_for_selector("#sidebar .sb-values:not(:empty)")
    text = page.inner_text("#sidebar .sb-values")
    shown = [float(v) for v in text.split(":", 1)[1].replace("…", "").split(",") if v.strip()]
    initializer = next(t for t in onnx.load(path).graph.initializer if t.name == weight["name"])
    truth = numpy_helper.to_array(initializer).ravel()
    assert len(shown) == min(256, truth.size)
    assert all(abs(a - b) <= 1e-5 * max(1, abs(b)) for a, b in zip(shown, truth[:len(shown)]))
    # clicking the background clears the selection and shows the model again
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + box["height"] - 5)
    assert page.evaluate("wetron.state().selected") is None
    assert "parameters" in page.inner_text("#sidebar")


def _paths(doc, start):
    """Names of the op nodes upstream and downstream of node `start` (itself included)."""
    g = doc["graphs"][0]
    producer, consumers = {}, {}
    for i, n in enumerate(g["nodes"]):
        for v in n["out"]:
            producer[v] = i
        for v in n["in"]:
            consumers.setdefault(v, []).append(i)
    seen = set()
    for step in ("up", "down"):
        stack, mark = [start], {start}
        while stack:
            i = stack.pop()
            n = g["nodes"][i]
            nxt = [producer[v] for v in n["in"] if v in producer] if step == "up" else \
                [c for v in n["out"] for c in consumers.get(v, [])]
            for j in nxt:
                if j not in mark:
                    mark.add(j)
                    stack.append(j)
        seen |= mark
    return {g["nodes"][i]["name"] for i in seen}


def test_selection_highlights_upstream_and_downstream(page, site):
    path = models.torch_transformer()
    open_page(page, site)
    open_file(page, path)
    doc = document(path)
    g = doc["graphs"][0]
    index = next(i for i, n in enumerate(g["nodes"]) if n["op"] == "Softmax")
    name = g["nodes"][index]["name"]
    assert page.evaluate("(n) => wetron.select(n)", name) is True
    lit = page.evaluate("wetron.highlighted()")
    expected = _paths(doc, index)
    assert set(lit["nodes"]) == expected
    assert 1 < len(expected) < len(g["nodes"])   # some nodes are dimmed
    assert lit["outputs"], "a Softmax feeds the outputs"
    assert page.evaluate("wetron.state().highlighted.nodes") == len(expected) + len(lit["inputs"]) + len(lit["outputs"])
    page.keyboard.press("Escape")
    assert page.evaluate("wetron.state().selected") is None


def test_corrupt_file_shows_its_error_and_keeps_the_previous_model(page, site, tmp_path):
    path = models.torch_cnn()
    open_page(page, site)
    open_file(page, path)
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(open(path, "rb").read()[:700])   # cut off in the middle of a record
    state = open_file(page, str(bad))
    assert state["status"] == "error" and state["error"]
    assert page.is_visible("#banner")
    assert page.inner_text("#banner-text") == state["error"]
    with pytest.raises(wetron.ModelError):
        wetron.open(str(bad))
    # the previous model is still there, and still usable
    assert state["file"] == "cnn.onnx" and state["drawn"]["nodes"] == 28
    page.evaluate("wetron.fit()")   # the last node: below the first view
    pos = page.evaluate("wetron.nodeScreenPosition('/fc/Gemm')")
    page.mouse.click(pos["x"], pos["y"])
    assert page.evaluate("wetron.state().selected") == "/fc/Gemm"
    page.click("#banner-close")
    assert page.is_hidden("#banner") and page.evaluate("wetron.state().status") == "ready"


def test_screenshot_shows_the_graph_where_the_nodes_are(page, site):
    path = models.torch_cnn()
    page.set_viewport_size({"width": 1280, "height": 800})
    open_page(page, site)
    open_file(page, path)
    box = page.locator("#graph").bounding_box()
    names = page.evaluate("wetron.nodeNames()")
    assert len(names) == 30

    def drawn_where_named(png):
        background = pixel(png, box["x"] + 3, box["y"] + 3)
        shown = []
        for name in names:
            p = page.evaluate("(n) => wetron.nodeScreenPosition(n)", name)
            if box["x"] <= p["x"] < box["x"] + box["width"] and box["y"] <= p["y"] < box["y"] + box["height"]:
                # a few pixels left of the centre: box fill or text, never the background
                assert pixel(png, p["x"] - 3, p["y"]) != background, name
                shown.append(name)
        return shown

    # The first view: too long to fit legibly, so at 100 % from the input down (the
    # graph input's box at the top of the canvas), with readable boxes on screen.
    stats = page.evaluate("wetron.viewStats()")
    assert stats["zoom"] == 1 and stats["labelled"] >= 8, stats
    shown = drawn_where_named(decode_png(page.screenshot()))
    assert shown[0] == names[0] and len(shown) >= 8, shown   # names[0]: the graph input
    top = page.evaluate("(n) => wetron.nodeScreenPosition(n)", names[0])["y"] - box["y"]
    assert 0 < top < 80, top
    # Fit ("0") shows every node
    page.locator("#graph").focus()
    page.keyboard.press("0")
    page.wait_for_timeout(400)
    assert drawn_where_named(decode_png(page.screenshot())) == names


def test_theme_toggle_and_keyboard(page, site):
    open_page(page, site)
    open_file(page, models.torch_cnn())
    before = page.evaluate("document.documentElement.dataset.theme")
    box = page.locator("#graph").bounding_box()
    corner = (box["x"] + 3, box["y"] + 3)
    bg_before = pixel(decode_png(page.screenshot()), *corner)
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") != before
    page.wait_for_timeout(100)
    bg_after = pixel(decode_png(page.screenshot()), *corner)
    assert sum(bg_after) != sum(bg_before)
    page.locator("#graph").focus()
    page.keyboard.press("0")
    page.wait_for_timeout(400)
    fitted = page.evaluate("wetron.state().zoom")
    page.keyboard.press("+")
    page.wait_for_timeout(400)
    assert page.evaluate("wetron.state().zoom") > fitted * 1.2
    page.keyboard.press("0")
    page.wait_for_timeout(400)
    assert abs(page.evaluate("wetron.state().zoom") - fitted) < 1e-6


def test_search_finds_and_selects_a_node(page, site):
    open_page(page, site)
    open_file(page, models.torch_transformer())
    page.keyboard.press("/")
    page.keyboard.type("softmax")
    texts = page.locator("#search-results li").all_inner_texts()
    softmax = [n["name"] for n in document(models.torch_transformer())["graphs"][0]["nodes"] if n["op"] == "Softmax"]
    assert len(texts) == len(softmax) == 3
    assert [t.split()[-1] for t in texts] == softmax
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.evaluate("wetron.state().selected") == softmax[1]
    assert page.is_hidden("#search-results")
    page.wait_for_function("wetron.state().zoom >= 0.999")   # brought into view, readable
    box = page.locator("#graph").bounding_box()
    # to the centre of the canvas once the list has closed (while it was open, beside it)
    page.wait_for_function("""([name, x, y]) => { const p = wetron.nodeScreenPosition(name);
      return Math.abs(p.x - x) < 2 && Math.abs(p.y - y) < 2; }""", arg=[softmax[1], box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])


# --- the layout, run by the page's own module in Chromium ----------------------------------

LAYOUT_CHECK = r"""
async (json) => {
  const { buildView } = await import('./app/graph-view.js');
  const { layoutGraph } = await import('./app/layout.js');
  const view = buildView(JSON.parse(json));
  const n = view.boxes.length;
  const width = Float32Array.from(view.boxes, (b) => 40 + 7 * Math.max(b.title.length, ...b.lines.map((l) => l.length)));
  const height = Float32Array.from(view.boxes, (b) => 24 + 13 * b.lines.length);
  const lay = layoutGraph({ n, width, height, ghostWidth: new Float32Array(n).fill(50), ghostHeight: 18,
    src: view.edgeSrc, dst: view.edgeDst, value: view.edgeValue });
  const N = n + lay.ghostSource.length;
  // boxes that overlap (sorted by row, then x)
  const order = [...Array(N).keys()].sort((a, b) => lay.y[a] - lay.y[b] || lay.x[a] - lay.x[b]);
  let overlaps = 0;
  for (let i = 1; i < N; i++) {
    const a = order[i - 1], b = order[i];
    if (Math.abs(lay.y[a] - lay.y[b]) < 1e-3 && lay.x[a] + lay.w[a] / 2 > lay.x[b] - lay.w[b] / 2) overlaps++;
  }
  // every edge runs downwards from its source's (or ghost's) bottom to its target's top
  let bad = 0;
  for (let e = 0; e < view.edgeSrc.length; e++) {
    const a = lay.pointStart[e], b = lay.pointStart[e + 1];
    const s = lay.edgeGhost[e] >= 0 ? lay.edgeGhost[e] : view.edgeSrc[e], t = view.edgeDst[e];
    if (lay.edgeGhost[e] >= 0 && lay.ghostSource[lay.edgeGhost[e] - n] !== view.edgeSrc[e]) bad++;
    const P = lay.points;
    if (Math.abs(P[2 * a + 1] - (lay.y[s] + lay.h[s] / 2)) > 1e-3) bad++;
    if (Math.abs(P[2 * b - 1] - (lay.y[t] - lay.h[t] / 2)) > 1e-3) bad++;
    for (let i = a + 1; i < b; i++) if (P[2 * i + 1] < P[2 * i - 1] - 1e-3) bad++;
  }
  return { n, edges: view.edgeSrc.length, ghosts: lay.ghostSource.length, overlaps, bad, ranks: lay.ranks,
    finite: [...lay.x, ...lay.y].every(Number.isFinite) };
}
"""


def _deep_chain_model(path, blocks):
    """A residual chain (onnx.helper): 2 nodes and 2 ranks per block."""
    from onnx import TensorProto, helper
    nodes, x = [], "x"
    for i in range(blocks):
        nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"/b{i}/Relu"))
        nodes.append(helper.make_node("Add", [f"r{i}", x], [f"a{i}"], name=f"/b{i}/Add"))
        x = f"a{i}"
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 8])])
    onnx.save(helper.make_model(graph), path)
    return path


@pytest.mark.parametrize("which", ["torch_cnn", "torch_transformer", "data/light/light_inception_v2", "deep_chain"])
def test_layout_has_no_overlaps_and_edges_run_downwards(page, site, which, tmp_path):
    if which == "deep_chain":   # 20k ranks: nothing in the layout may recurse
        path = _deep_chain_model(str(tmp_path / "deep.onnx"), 10_000)
    elif which.startswith("data/"):
        path = dict(models.shipped_data_models()).get(which) or pytest.skip(f"{which} not in this onnx")
    else:
        path = getattr(models, which)()
    doc = wetron.open(path).dumps()
    open_page(page, site)
    result = page.evaluate(LAYOUT_CHECK, doc)
    expected = expected_counts(json.loads(doc))
    assert result["n"] == expected["nodes"] + expected["inputs"] + expected["outputs"]
    assert result["edges"] == expected["edges"]
    assert result["finite"] and result["overlaps"] == 0 and result["bad"] == 0, result
    if which == "deep_chain":
        assert result["ranks"] >= 20_000


def test_subgraphs_open_from_the_sidebar_and_lead_back_up(page, site):
    path = dict(models.backend_node_models())["test_loop11"]
    doc = document(path)
    loop = next(i for i, n in enumerate(doc["graphs"][0]["nodes"]) if n["op"] == "Loop")
    body = next(a["value"] for a in doc["graphs"][0]["nodes"][loop]["attrs"] if a["name"] == "body")
    open_page(page, site)
    open_file(page, path)
    name = doc["graphs"][0]["nodes"][loop]["name"] or f"#{loop}"
    pos = page.evaluate("(n) => wetron.nodeScreenPosition(n)", name)
    page.mouse.click(pos["x"], pos["y"])
    page.click(f"#sidebar a.sb-link:has-text('{doc['graphs'][body]['name']}')")
    page.wait_for_function(f"wetron.state().status === 'ready' && wetron.state().graph === {body}")
    state = page.evaluate("wetron.state()")
    expected = expected_counts({**doc, "graphs": [doc["graphs"][body]]})
    assert state["nodes"] == state["drawn"]["nodes"] == expected["nodes"] == len(doc["graphs"][body]["nodes"])
    assert state["drawn"]["edges"] == expected["edges"]
    assert doc["graphs"][body]["name"] in page.inner_text("#graph-path")
    page.click("#graph-path button")
    page.wait_for_function("wetron.state().status === 'ready' && wetron.state().graph === 0")
    assert page.evaluate("wetron.state().selected") == name
    assert page.is_hidden("#graph-path")
