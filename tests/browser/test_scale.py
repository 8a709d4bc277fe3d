"""Rendering at scale in Chromium: the minimap (app/minimap.js) shows the whole graph
and the part in view (and stays hidden while all of the graph is in view), and
clicking or dragging on it moves the view; level of detail keeps a far-out view drawing. Modest graph sizes (SwiftShader draws ~2.5 µs a quad);
bench/scale_bench.py measures 100,000 nodes."""
import pytest

import models

from .test_page import decode_png

pytestmark = pytest.mark.timeout(300)

OPENED = "['ready', 'error'].includes(wetron.state().status)"
VIEW_CENTER = """() => { const c = document.getElementById('graph').getBoundingClientRect();
  return { x: c.left + c.width / 2, y: c.top + c.height / 2, w: c.width, h: c.height }; }"""


def open_model(page, path):
    page.set_input_files("#file-input", path)
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state["error"]
    return state


def minimap_box(page):
    assert page.locator("#minimap").is_visible()
    box = page.locator("#minimap").bounding_box()
    stage = page.locator("#stage").bounding_box()
    assert box["width"] >= 30 and box["height"] >= 30
    # in the stage's bottom right corner
    assert box["x"] + box["width"] <= stage["x"] + stage["width"] + 1
    assert box["y"] + box["height"] <= stage["y"] + stage["height"] + 1
    assert box["x"] > stage["x"] + stage["width"] / 2
    return box


def test_minimap_click_and_drag_move_the_view(app_page):
    page = app_page
    assert page.locator("#minimap").is_hidden()   # no model yet
    state = open_model(page, models.torch_transformer())
    assert page.locator("#minimap").is_visible()   # the first view shows its top only
    page.evaluate("wetron.fit()")
    page.wait_for_function("document.getElementById('minimap').hidden")   # fitted: the whole graph is in view
    state = page.evaluate("wetron.state()")
    names = page.evaluate("wetron.nodeNames()")
    first, last = names[0], names[-1]   # a graph input at the top, an output at the bottom
    # Zoom in on the middle, so the top and the bottom of the graph are out of view.
    center = page.evaluate(VIEW_CENTER)
    for _ in range(6):
        page.evaluate("document.getElementById('zoom-in').click()")
    page.wait_for_function(f"wetron.state().zoom > {state['zoom'] * 3}")
    page.wait_for_timeout(400)   # the zoom animation settles
    zoom = page.evaluate("wetron.state().zoom")
    box = minimap_box(page)

    def offset(name):
        p = page.evaluate("(n) => wetron.nodeScreenPosition(n)", name)
        return p["x"] - center["x"], p["y"] - center["y"]

    # Click near the top of the minimap: the top of the graph comes to the middle.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 5)
    dx, dy = offset(first)
    assert abs(dy) < center["h"] / 3, f"input {first} is {dy:.0f} px from the centre"
    assert page.evaluate("wetron.state().zoom") == pytest.approx(zoom)   # zoom kept
    # Drag down the minimap to its bottom: the output comes into the middle.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.75, steps=4)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 5, steps=4)
    page.mouse.up()
    dx, dy = offset(last)
    assert abs(dy) < center["h"] / 3, f"output {last} is {dy:.0f} px from the centre"
    top_dy = offset(first)[1]
    assert top_dy < -center["h"] / 2, "the top of the graph should now be above the view"


def test_minimap_follows_the_view_and_far_zoom_still_draws(app_page):
    page = app_page
    open_model(page, models.torch_cnn())
    for _ in range(2):
        page.evaluate("document.getElementById('zoom-in').click()")
    page.wait_for_timeout(500)
    minimap_box(page)
    before = page.locator("#minimap").screenshot()
    page.evaluate("document.getElementById('zoom-in').click()")
    page.wait_for_timeout(500)
    after = page.locator("#minimap").screenshot()
    assert before != after, "the view rectangle should move with the view"
    # Far out, where boxes are points and edges aggregated lines (the far level of
    # detail): the graph still shows, in its colours.
    page.evaluate("wetron.fit()")
    view = page.evaluate(VIEW_CENTER)
    page.mouse.move(view["x"], view["y"])
    for _ in range(6):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(250)
    zoom = page.evaluate("wetron.state().zoom")
    assert zoom < 0.05
    clip = {"x": view["x"] - 60, "y": view["y"] - 60, "width": 120, "height": 120}
    width, height, bpp, rows = decode_png(page.screenshot(clip=clip))
    background = rows[0][0:3]
    drawn = sum(1 for row in rows for i in range(0, width * bpp, bpp)
                if sum(abs(row[i + k] - background[k]) for k in range(3)) > 30)
    assert drawn >= 10, f"only {drawn} pixels of graph at zoom {zoom:.4f}"
    times = page.evaluate("wetron.frameTimes(3)")
    assert len(times) == 3
