"""The cost summary in the model's properties (app/cost-view.js): a real model opened in
the page, the background clicked, the tables by op type and by module equal to
wetron.cost.summary() in CPython at the sizes set, unknown counts marked ("≥", "not
counted"), and the CSV / Markdown downloads byte for byte what `wetron cost --csv / --md`
writes at those sizes.
Plus wetron.web.cost_export() in CPython (no browser)."""
import json
import os

import pytest

import models
import wetron
from wetron import cost, web

from .harness import open_in_page

pytestmark = pytest.mark.timeout(300)


def open_and_click_background(page, site, path):
    open_in_page(page, site, path)
    # select something first (a named node, else a graph input), so the summary below
    # comes from the background click
    g = wetron.open(path).graphs[0]
    first = next((n.name for n in g.nodes if n.name), g.inputs[0])
    assert page.evaluate("(n) => wetron.select(n)", first)
    assert "Cost summary" not in page.inner_text("#sidebar")
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + box["height"] - 5)
    assert page.evaluate("wetron.state().selected") is None
    page.wait_for_selector("#sidebar .cs-by-op")


def table_rows(page, selector):
    """[[(text, data-value or None) per cell] per row] of a summary table."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' tbody tr')].map((tr) =>
        [...tr.cells].map((td) => [td.textContent, td.dataset.value ?? null]))""", selector)


def test_tables_equal_cost_summary_and_downloads_equal_the_cli(page, site, tmp_path):
    path = models.torch_transformer()
    model = wetron.open(path)
    sizes = {"batch": 2, "sequence": 16}   # (symbolic sizes unset are not counted)
    want = cost.summary(model, sizes)
    assert want["by_module"], "the transformer has modules: the module table is tested"
    open_and_click_background(page, site, path)
    assert page.evaluate("(s) => wetron.setSizes(s)", sizes)["status"] == "ready"
    page.wait_for_selector("#sidebar .cs-by-op")

    rows = table_rows(page, "#sidebar .cs-by-op")
    shown = [(r[0][0], int(r[1][1]), int(r[2][1]), int(r[3][1])) for r in rows]
    assert shown == [(r["op"], r["nodes"], r["params"], r["flops"]) for r in want["by_op"]]
    total = want["total"]["flops"]
    for r, w in zip(rows, want["by_op"]):
        assert r[4][0] == f"{100 * w['flops'] / total:.1f}%", (w["op"], r[4][0])
        assert not r[3][0].startswith("≥") and r[3][0] != "not counted"   # all counted here
    # sorted by FLOPs, largest first
    assert [s[3] for s in shown] == sorted((s[3] for s in shown), reverse=True)

    rows = table_rows(page, "#sidebar .cs-by-module")
    shown = [(r[0][0], int(r[1][1]), int(r[2][1]), int(r[3][1])) for r in rows]
    assert shown == [(r["module"], r["nodes"], r["params"], r["flops"]) for r in want["by_module"]]

    # the downloads: the CLI's text, byte for byte, named after the model
    base = os.path.splitext(model.file)[0]
    for label, ext, text in (("Download CSV", "csv", cost.to_csv(model, sizes)),
                             ("Download Markdown", "md", cost.to_markdown(model, sizes))):
        with page.expect_download() as download:
            page.locator("#sidebar button", has_text=label).click()
        d = download.value
        assert d.suggested_filename == f"{base}-cost.{ext}"
        saved = tmp_path / d.suggested_filename
        d.save_as(saved)
        assert saved.read_bytes() == text.encode("utf-8"), label
    page.wait_for_function("document.querySelector('#sidebar .cs-status').textContent.startsWith('Saved')")


def test_unknown_costs_are_marked(page, site):
    """A model whose FLOPs are partly unknown (shapes computed from an input's value):
    partial sums say "≥", ops with nothing countable say "not counted"."""
    path = dict(models.backend_node_models())["test_hannwindow_expanded"]
    want = {r["op"]: r for r in cost.summary(wetron.open(path))["by_op"]}
    kinds = {"none": 0, "partial": 0, "all": 0}
    open_and_click_background(page, site, path)
    rows = table_rows(page, "#sidebar .cs-by-op")
    assert sorted(r[0][0] for r in rows) == sorted(want)
    for r in rows:
        w, flops = want[r[0][0]], r[3][0]
        assert int(r[3][1]) == w["flops"]
        if w["unknown"] == w["nodes"]:
            kinds["none"] += 1
            assert flops == "not counted" and len(r) == 4, (w, r)   # it spans the % column
        elif w["unknown"]:
            kinds["partial"] += 1
            assert flops.startswith("≥ "), (w, r)
        else:
            kinds["all"] += 1
            assert not flops.startswith("≥") and flops != "not counted", (w, r)
    assert all(kinds.values()), kinds   # each case was seen


# --- wetron.web.cost_export in CPython (the worker's entry point, no Pyodide) ---------

class Bytes(bytes):
    def to_bytes(self):   # what a Uint8Array proxy offers in Pyodide
        return bytes(self)


class Reader:
    """The JS reader wetron.web expects: size and read(offset, length)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.size = len(self.data)

    def read(self, offset, length):
        return Bytes(self.data[offset:offset + length])


def test_web_cost_export_is_the_cli_text():
    path = models.torch_cnn()
    model = wetron.open(path)
    doc = web.open_file(Reader(path), os.path.basename(path))
    assert not doc.startswith('{"error"'), doc
    assert json.loads(web.cost_export("csv")) == {"text": cost.to_csv(model)}
    assert json.loads(web.cost_export("markdown")) == {"text": cost.to_markdown(model)}
    assert "unknown cost report format" in json.loads(web.cost_export("xlsx"))["error"]
    # a failed open leaves no model to report on
    assert "error" in json.loads(web.open_file(Reader(__file__), "not-a-model.onnx"))
    assert json.loads(web.cost_export("csv")) == {"error": "no model is open"}


# --- op names, and one run of a SavedModel ------------------------------------------------

def test_op_rows_show_display_names(page, site):
    """A TFLite model: each row of the table by op type shows the op's display name from
    the op metadata (CONV_2D as Conv2D), the raw type in its title where it differs."""
    import formats_crossformat_models as xf
    from wetron.ops import metadata
    path = xf.files()["tflite"]
    model = wetron.open(path)
    domain = metadata.node_domain(model.format, model.graphs[0].nodes[0].domain)
    want = [(r["op"], metadata.describe(domain, r["op"])["name"])
            for r in cost.summary(model)["by_op"]]
    assert ("CONV_2D", "Conv2D") in want
    open_and_click_background(page, site, path)
    shown = page.evaluate("""() => [...document.querySelectorAll('#sidebar .cs-by-op tbody tr')]
        .map((tr) => [tr.cells[0].dataset.op, tr.cells[0].textContent, tr.cells[0].title])""")
    assert shown == [[op, name, name if name == op else f"{name} ({op})"] for op, name in want]


def test_saved_model_counts_its_default_signature_in_the_page(page, site):
    """A SavedModel (its folder picked) opens on its default signature's forward pass:
    at batch 1 the summary's table by op type equals wetron.cost.summary(), the
    network's ops (no call, nothing not run), the MobileNetV2's MACs."""
    import formats_crossformat_models as xf
    path = xf.files()["saved"]
    model = wetron.open(path)
    want = cost.summary(model, {"batch": 1})
    assert want["total"]["macs"] == 59_285_808 and not want["total"]["not_run"]
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    page.set_input_files("#folder-input", [os.path.dirname(path)])
    page.wait_for_function("['ready', 'error'].includes(wetron.state().status)")
    assert page.evaluate("wetron.state().status") == "ready"
    assert page.evaluate("(s) => wetron.setSizes(s)", {"batch": 1})["status"] == "ready"
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + box["height"] - 5)
    page.wait_for_selector("#sidebar .cs-by-op")
    assert page.locator("#sidebar .cs-not-run").count() == 0
    rows = table_rows(page, "#sidebar .cs-by-op")
    shown = [(r[0][0], int(r[1][1]), int(r[3][1])) for r in rows]
    assert shown == [(r["op"], r["nodes"], r["flops"]) for r in want["by_op"]]
    assert {"Conv2D", "DepthwiseConv2dNative"} <= {op for op, _, _ in shown}
    assert "StatefulPartitionedCall" not in {op for op, _, _ in shown}
