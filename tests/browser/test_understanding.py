"""Understanding a model in the page: search (name, op type, attribute, shape; result
list, jump, highlight all), export (SVG parsed with xml.etree, PNG decoded), and
shareable views (a link reopens the same model, selection and viewport)."""
import base64
import collections
import io
import json
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET

import onnx
import pytest
from fontTools.ttLib import TTFont
from onnx import TensorProto, helper, numpy_helper

import models

from .test_page import OPENED, decode_png, open_file, open_page

pytestmark = pytest.mark.timeout(300)

SVG = "{http://www.w3.org/2000/svg}"

# The node at the canvas centre, within `tolerance` CSS px, once the camera has settled.
NEAR_CENTRE = """([name, tolerance]) => {
  const p = wetron.nodeScreenPosition(name), r = document.getElementById('graph').getBoundingClientRect();
  return p && Math.abs(p.x - (r.left + r.width / 2)) < tolerance && Math.abs(p.y - (r.top + r.height / 2)) < tolerance;
}"""


def attr(node, name):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return None


def search(page, query):
    """Type a query into the search field through the keyboard (Ctrl+F), press Enter."""
    page.locator("#graph").focus()
    page.keyboard.press("Control+f")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type(query)
    header = page.locator("#search-results .search-count").inner_text()
    rows = page.locator("#search-results li[data-result] .search-name").all_inner_texts()
    return header, rows


def test_search_by_name_op_attribute_and_shape_selects_and_centres(page, site):
    path = models.torch_cnn()
    graph = onnx.load(path).graph
    open_page(page, site)
    open_file(page, path)
    names = [n.name for n in graph.node]
    kernel3 = [n.name for n in graph.node if attr(n, "kernel_shape") == [3, 3]]
    cases = [
        ("downsample", [n for n in names if "downsample" in n]),
        ("op:Gemm", [n.name for n in graph.node if n.op_type == "Gemm"]),
        ("attr:kernel_shape=5x5", [n.name for n in graph.node if attr(n, "kernel_shape") == [5, 5]]),
        ("kernel_shape=[3, 3]", kernel3),
        ("3x3", kernel3),
        ("op:conv layer2", [n.name for n in graph.node if n.op_type == "Conv" and "layer2" in n.name]),
        # GlobalAveragePool writes [batch, 32, 1, 1], Flatten reads it
        ("shape:batchx32x1x1", [n.name for n in graph.node if n.op_type in ("GlobalAveragePool", "Flatten")]),
    ]
    for query, expected in cases:
        assert expected, query
        header, rows = search(page, query)
        assert rows == expected, query
        assert header == (f"{len(expected)} matches" if len(expected) > 1 else "1 match"), query
        target = expected[1] if len(expected) > 1 else expected[0]
        if len(expected) > 1:
            page.keyboard.press("ArrowDown")   # jumps to the second match at once
            page.wait_for_function(f"wetron.state().selected === {json.dumps(target)}")
        page.keyboard.press("Enter")
        assert page.evaluate("wetron.state().selected") == target, query
        assert page.is_hidden("#search-results")
        page.wait_for_function(NEAR_CENTRE, arg=[target, 2])   # brought to the centre
        page.wait_for_function("wetron.state().zoom >= 0.999")  # and readable

    _, rows = search(page, "op:NoSuchOp")
    assert rows == [] and page.locator("#search-results .search-count").inner_text() == "0 matches"
    page.keyboard.press("Escape")


def test_highlight_all_marks_every_match(page, site):
    path = models.torch_cnn()
    graph = onnx.load(path).graph
    open_page(page, site)
    open_file(page, path)
    expected = sorted(n.name for n in graph.node if n.op_type == "Conv")
    search(page, "op:Conv")
    page.click("#search-results .search-highlight")
    assert page.get_attribute("#search-results .search-highlight", "aria-pressed") == "true"
    lit = page.evaluate("wetron.highlighted()")
    assert sorted(lit["nodes"]) == expected and lit["inputs"] == lit["outputs"] == []
    assert page.evaluate("wetron.state().highlighted.nodes") == len(expected)
    # Jumping keeps every match marked.
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"wetron.state().selected === {json.dumps(sorted(expected, key=[n.name for n in graph.node].index)[1])}")
    assert sorted(page.evaluate("wetron.highlighted().nodes")) == expected
    # Escape clears the query and the marks.
    page.keyboard.press("Escape")
    assert page.evaluate("wetron.highlighted().nodes") != expected
    assert page.evaluate("wetron.highlightAll('attr:group=1')") == len([n for n in graph.node if attr(n, "group") == 1])


def _plain_model(path):
    """A small model with no module paths in its names (so no module boxes): every node
    and graph input/output is drawn as a box of its own."""
    import numpy as np
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((8,)).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.standard_normal((10, 8)).astype(np.float32), "w2"),
             numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv_a", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu_a"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool_a", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p1"], ["g1"], name="gap"),
        helper.make_node("Reshape", ["g1", "shape"], ["f1"], name="flat"),
        helper.make_node("Gemm", ["f1", "w2"], ["logits"], name="head", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax_out", axis=1),
        helper.make_node("Sigmoid", ["r1"], ["gate"], name="side_gate"),
    ]
    graph = helper.make_graph(nodes, "plain", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10]),
                               helper.make_tensor_value_info("gate", TensorProto.FLOAT, [1, 8, 16, 16])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_exported_svg_parses_and_holds_every_box_label(page, site, tmp_path):
    path = _plain_model(str(tmp_path / "plain.onnx"))
    graph = onnx.load(path).graph
    open_page(page, site)
    state = open_file(page, path)
    assert state["status"] == "ready", state
    svg = page.evaluate("wetron.exportSVG({region: 'graph', background: 'white', theme: 'light'})")
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    titles = collections.Counter(t.text for t in root.iter(SVG + "text") if t.get("class") == "title")
    expected = collections.Counter([n.op_type for n in graph.node] + ["image", "probs", "gate"])
    assert titles == expected
    texts = {t.text for t in root.iter(SVG + "text")}
    assert "kernel 3×3" in texts and "W ⟨8×3×3×3⟩" in texts   # box lines as drawn
    assert "1×10" in texts                                      # an edge's shape label
    arrows = root.find(f"{SVG}g[@class='arrows']")
    assert len(arrows) == state["drawn"]["edges"] > 0
    boxes = root.find(f"{SVG}g[@class='boxes']")
    assert len(boxes) == state["drawn"]["nodes"] + state["drawn"]["inputs"] + state["drawn"]["outputs"] + state["drawn"]["ghosts"] + state["drawn"].get("modules", 0)
    assert root.find(f"{SVG}rect").get("fill") == "#ffffff"
    # Transparent background: no background rectangle; dark colours.
    dark = ET.fromstring(page.evaluate("wetron.exportSVG({background: 'transparent', theme: 'dark'})"))
    assert dark[1].tag != SVG + "rect" and dark.find(f"{SVG}g[@class='edges']").get("stroke") == "#646c78"

    # The current view: zoomed onto one node, the others fall outside and are left out.
    assert page.evaluate("wetron.findAndSelect('name:softmax_out')")["name"] == "softmax_out"
    page.wait_for_function(NEAR_CENTRE, arg=["softmax_out", 2])
    page.evaluate("(v) => wetron.setViewport(v)", {**page.evaluate("wetron.viewport()"), "zoom": 4})
    view = page.evaluate("wetron.viewport()")
    part = ET.fromstring(page.evaluate("wetron.exportSVG({region: 'view'})"))
    part_titles = [t.text for t in part.iter(SVG + "text") if t.get("class") == "title"]
    assert 0 < len(part_titles) < sum(expected.values()), (view, part_titles)


# Rasterise an SVG string as exportPNG does (<img> onto a canvas); the RGBA bytes, base64.
RASTERISE = """async (svg) => {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], {type: 'image/svg+xml'}));
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const bytes = ctx.getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}"""


def test_exported_svg_embeds_the_font_the_page_draws_with(page, site, context, tmp_path):
    path = _plain_model(str(tmp_path / "plain.onnx"))
    loaded = []   # font loads (FontFace in the layout worker), not the service worker's precache
    context.on("request", lambda r: loaded.append(r.url) if r.resource_type == "font" else None)
    open_page(page, site)
    assert open_file(page, path)["status"] == "ready"
    # The site's own font files, from the site's origin (the context fixture also fails
    # the test on any request that leaves it).
    assert sorted(u.rsplit("/", 1)[1] for u in loaded) == ["DejaVuSans-Bold.woff2", "DejaVuSans-Regular.woff2"], loaded
    assert all(u.startswith(site.url + "app/fonts/") for u in loaded), loaded

    svg = page.evaluate("wetron.exportSVG()")
    root = ET.fromstring(svg)
    style = root.find(f"{SVG}style")
    faces = re.findall(r'@font-face \{ font-family: "([^"]+)"; font-weight: (\d+); '
                       r'src: url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\) format\("woff2"\); \}', style.text)
    assert [(f, w) for f, w, _ in faces] == [("Wetron DejaVu Sans", "400"), ("Wetron DejaVu Sans", "700")]
    cmaps = {}
    for _, weight, data in faces:
        font_bytes = base64.b64decode(data)
        assert font_bytes[:4] == b"wOF2"
        font = TTFont(io.BytesIO(font_bytes))
        assert font.flavor == "woff2" and "DejaVu" in font["name"].getDebugName(1)
        cmaps[weight] = font.getBestCmap()
    group = root.find(f"{SVG}g[@class='text']")
    assert group.get("font-family").startswith('"Wetron DejaVu Sans", ')
    texts = list(group)
    assert any(t.get("font-weight") for t in texts) and any("⟨" in t.text for t in texts)
    for t in texts:   # every character drawn is in the embedded face of its weight
        cmap = cmaps["700" if t.get("font-weight") else "400"]
        assert all(ord(ch) in cmap for ch in t.text), t.text

    # embedFont: false names the fonts only: no data, a far smaller file.
    small = page.evaluate("wetron.exportSVG({embedFont: false})")
    assert "data:" not in small and ET.fromstring(small).find(f"{SVG}style") is None
    assert len(small) * 3 < len(svg)
    assert ET.fromstring(small).find(f"{SVG}g[@class='text']").get("font-family").startswith('"DejaVu Sans", ')

    # Rasterised through <img> (as exportPNG does) the embedded font is what draws the
    # text: with monospace as the only fallback the picture is unchanged, while the same
    # SVG without the embedded font falls back to monospace and differs.
    mono = lambda s: re.sub(r'(<g class="text" font-family=")[^"]*"', r'\1&quot;Wetron DejaVu Sans&quot;, monospace"', s)
    assert mono(svg) != svg
    embedded = page.evaluate(RASTERISE, svg)
    assert page.evaluate(RASTERISE, mono(svg)) == embedded
    assert page.evaluate(RASTERISE, mono(small)) != embedded

    # The service worker precaches the font files (keyed by URL and content hash), so
    # offline pages draw in them too.
    assert page.evaluate("""async (urls) => {
      await navigator.serviceWorker.ready;
      const keys = (await (await caches.open("wetron-content")).keys()).map((r) => r.url);
      return urls.map((u) => keys.some((k) => k.startsWith(u + "?sha256=")));
    }""", loaded) == [True, True]


def png_of(page, options):
    data = page.evaluate("""async (o) => {
      const blob = await wetron.exportPNG(o);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return {type: blob.type, width: blob.width, height: blob.height, data: btoa(s)};
    }""", options)
    return data, decode_png(base64.b64decode(data["data"]))


def test_png_export_has_the_requested_size_and_drawn_pixels(page, site):
    open_page(page, site)
    open_file(page, models.torch_cnn())
    svg = ET.fromstring(page.evaluate("wetron.exportSVG()"))
    _, _, vw, vh = map(float, svg.get("viewBox").split())
    meta, (width, height, bpp, rows) = png_of(page, {"width": 900})
    assert bpp == 4
    assert meta["type"] == "image/png" and (width, height) == (meta["width"], meta["height"]) == (900, round(900 * vh / vw))
    pixels = collections.Counter()
    for row in rows:
        for i in range(0, len(row), 4):
            pixels[tuple(row[i:i + 3])] += 1
    assert pixels[(255, 255, 255)] > width * height * 0.5          # white background
    conv = (0x35, 0x66, 0xa8)                                       # the light theme's conv header
    assert sum(n for c, n in pixels.items() if max(abs(a - b) for a, b in zip(c, conv)) < 6) > 500
    assert len(pixels) > 50                                         # text, edges, antialiasing

    meta, (width, height, _, rows) = png_of(page, {"scale": 3, "background": "transparent"})
    assert (width, height) == (round(vw * 3), round(vh * 3))
    assert rows[0][3] == 0 and rows[-1][-1] == 0                    # transparent corners
    assert any(row[i] == 255 for row in rows[::7] for i in range(3, len(row), 4))   # opaque drawing

    # The current view at 2×: twice the canvas as it is on screen.
    canvas = page.locator("#graph").bounding_box()
    meta, (width, height, _, _) = png_of(page, {"region": "view", "scale": 2})
    assert abs(width - 2 * canvas["width"]) <= 1 and abs(height - 2 * canvas["height"]) <= 1


def test_shared_link_reopens_the_same_selection_and_viewport(page, site):
    path = models.torch_cnn()
    url = site.share(path)
    target = "/layer1/layer1.1/conv2/Conv"
    page.set_default_timeout(120_000)
    page.goto(site.url + "?url=" + urllib.parse.quote(url, safe=""))
    page.wait_for_function(OPENED)
    assert page.evaluate(f"wetron.select({json.dumps(target)})")
    page.locator("#graph").focus()
    for key in ["+", "+", "ArrowLeft", "ArrowUp"]:   # zoom and pan as a person would
        page.keyboard.press(key)
        page.wait_for_timeout(250)
    page.wait_for_function("new URLSearchParams(location.search).get('view') !== null")
    page.wait_for_timeout(400)   # the address is rewritten after the view settles
    href = page.evaluate("location.href")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    assert query["url"] == [url] and query["node"] == [target]
    before = page.evaluate("wetron.viewport()")
    position = page.evaluate("(n) => wetron.nodeScreenPosition(n)", target)

    other = page.context.new_page()
    other.set_default_timeout(120_000)
    other.goto(href)
    other.wait_for_function(OPENED)
    other.wait_for_function(f"wetron.state().selected === {json.dumps(target)}")
    after = other.evaluate("wetron.viewport()")
    assert abs(after["x"] - before["x"]) <= 0.06 and abs(after["y"] - before["y"]) <= 0.06
    assert abs(after["zoom"] / before["zoom"] - 1) < 1e-3
    reopened = other.evaluate("(n) => wetron.nodeScreenPosition(n)", target)
    assert abs(reopened["x"] - position["x"]) < 1 and abs(reopened["y"] - position["y"]) < 1
    assert other.evaluate("wetron.highlighted().nodes").count(target) == 1
    other.close()


def test_teacher_link_to_an_example_and_local_files_say_they_cannot_be_linked(page, site):
    with open(os.path.join(site.dist, "examples", "index.json")) as f:
        example = json.load(f)[0]
    open_page(page, site)
    page.locator("#examples .example").nth(0).click()
    page.wait_for_function(OPENED)
    names = page.evaluate("wetron.nodeNames()")
    target = names[len(names) // 2]
    page.evaluate(f"wetron.select({json.dumps(target)})")
    link = page.evaluate("wetron.shareUrl()")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["url"] == [example.get("url") or f"examples/{example['file']}"] and query["node"] == [target]

    student = page.context.new_page()
    student.set_default_timeout(120_000)
    student.goto(link)
    student.wait_for_function(f"wetron.state().status === 'ready' && wetron.state().selected === {json.dumps(target)}")
    assert student.evaluate("wetron.state().file") == example["file"]
    student.close()

    # A local file: the link cannot reopen it, and "Copy link" says so.
    open_file(page, models.torch_cnn())
    page.click("#share-button")
    assert "local file" in page.locator("#share-panel .share-note").inner_text()
    shared = page.locator("#share-panel .share-url").input_value()
    assert "url" not in urllib.parse.parse_qs(urllib.parse.urlsplit(shared).query)


def test_search_and_links_reach_into_collapsed_modules(page, site):
    """In the module view, a match inside a collapsed module is found, its modules are
    expanded to show it, "highlight all" marks the collapsed modules holding matches, and
    a link keeps the mode, the expanded modules, the selection and the viewport."""
    path = models.torch_cnn()
    graph = onnx.load(path).graph
    url = site.share(path)
    page.set_default_timeout(120_000)
    page.goto(site.url + "?url=" + urllib.parse.quote(url, safe=""))
    page.wait_for_function(OPENED)
    page.evaluate("wetron.setMode('modules')")
    modules = page.evaluate("wetron.state().modules")
    assert modules["mode"] == "modules" and modules["expanded"] == [] and modules["collapsed"] == 2   # layer1, layer2

    expected = [n.name for n in graph.node if n.op_type == "Conv" and "layer2.1/" in n.name]
    _, rows = search(page, "op:Conv layer2.1")
    assert rows == expected
    page.keyboard.press("Enter")
    page.wait_for_function(f"wetron.state().selected === {json.dumps(expected[0])}")
    assert sorted(page.evaluate("wetron.state().modules.expanded")) == ["layer2", "layer2/layer2.1"]
    page.wait_for_function(NEAR_CENTRE, arg=[expected[0], 2])

    # Add nodes: one per residual block; layer1 and layer2.0 are collapsed, layer2.1 open.
    assert page.evaluate("wetron.highlightAll('op:Add')") == 3
    lit = page.evaluate("wetron.highlighted()")
    names = set(lit["nodes"]) | set(lit.get("modules", []))
    assert "/layer2/layer2.1/Add" in names and {"layer1", "layer2/layer2.0"} <= names, lit
    page.evaluate("wetron.highlightAll(null)")

    page.wait_for_timeout(400)
    href = page.evaluate("wetron.shareUrl()")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    assert query["mode"] == ["modules"] and sorted(query["expand"]) == ["layer2", "layer2/layer2.1"]
    before = page.evaluate("wetron.viewport()")

    other = page.context.new_page()
    other.set_default_timeout(120_000)
    other.goto(href)
    other.wait_for_function(f"wetron.state().status === 'ready' && wetron.state().selected === {json.dumps(expected[0])}")
    state = other.evaluate("wetron.state()")
    assert state["modules"]["mode"] == "modules" and sorted(state["modules"]["expanded"]) == ["layer2", "layer2/layer2.1"]
    after = other.evaluate("wetron.viewport()")
    assert abs(after["x"] - before["x"]) <= 0.06 and abs(after["y"] - before["y"]) <= 0.06
    assert abs(after["zoom"] / before["zoom"] - 1) < 1e-3
    other.close()


def test_a_link_with_broken_view_parameters_still_opens_the_model(page, site):
    url = site.share(models.torch_cnn())
    query = urllib.parse.urlencode([("url", url), ("graph", "999"), ("node", "no such node"),
                                    ("view", "1e999,abc,-2"), ("mode", "sideways"), ("expand", "x" * 5000)])
    page.set_default_timeout(120_000)
    page.goto(site.url + "?" + query)
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready" and state["graph"] == 0 and state["selected"] is None
    page.wait_for_function("new URLSearchParams(location.search).get('view') !== '1e999,abc,-2'")
    fixed = urllib.parse.parse_qs(urllib.parse.urlsplit(page.evaluate("location.href")).query)
    assert fixed["url"] == [url] and "node" not in fixed and "expand" not in fixed
