"""The tensor viewer in the page (app/tensor-view.js): a real model opened through the
file input, a Conv node selected, its weight's statistics computed by the parse worker
(Pyodide) and shown, checked against numpy; the histogram drawn; "Save .npy" downloads a
file numpy loads equal to the tensor; a tensor over the read cap says it was sampled."""
import math

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper, TensorProto

import models
import wetron

from .harness import open_in_page

pytestmark = pytest.mark.timeout(300)


def shown_stats(page):
    """{stat: (text shown, exact value)} of the statistics on screen."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#sidebar .tv-value[data-stat]')]
        .map((e) => [e.dataset.stat, [e.textContent, JSON.parse(e.dataset.exact)]]))""")


def close(text, want, digits=6):
    """A figure shown with `digits` significant digits is numpy's figure."""
    return math.isclose(float(text), want, rel_tol=10 ** (1 - digits), abs_tol=1e-30)


def test_conv_weight_statistics_histogram_and_npy(page, site, tmp_path):
    path = models.torch_cnn()
    open_in_page(page, site, path)
    m = wetron.open(path)
    node = next(n for n in m.graphs[0].nodes if n.op == "Conv" and n.name.endswith("conv2/Conv"))
    assert page.evaluate("(n) => wetron.select(n)", node.name)
    weight = next(t for t in onnx.load(path).graph.initializer if t.name == node.inputs[1])
    truth = numpy_helper.to_array(weight)
    flat = truth.astype(np.float64).ravel()

    # the first weight card's Statistics button (W comes before B)
    page.locator("#sidebar .tv-stats-button").first.click()
    page.wait_for_selector("#sidebar .tv-stats")
    stats = shown_stats(page)
    for key, want in (("min", flat.min()), ("max", flat.max()), ("mean", flat.mean()),
                      ("std", flat.std())):
        text, exact = stats[key]
        assert close(text, want), (key, text, want)
        assert math.isclose(exact, want, rel_tol=1e-9, abs_tol=1e-15), (key, exact, want)
    assert stats["zeros"][1] == int((flat == 0).sum())
    assert stats["nan"][1] == stats["posinf"][1] == stats["neginf"][1] == 0
    sidebar = page.inner_text("#sidebar")
    assert "sampled" not in sidebar
    preview = page.inner_text("#sidebar .tv-preview")
    shown = [float(v) for v in preview.split(":", 1)[1].replace("…", "").split(",") if v.strip()]
    assert all(close(a, b) for a, b in zip(shown, flat[:len(shown)])) and len(shown) == 64

    # the histogram canvas: a bar drawn in exactly the bins numpy counts something in
    counts, _ = np.histogram(flat, bins=np.linspace(flat.min(), flat.max(), 65))
    bottom = page.evaluate("""() => {
        const c = document.querySelector('#sidebar .tv-histogram');
        const d = c.getContext('2d').getImageData(0, c.height - 1, c.width, 1).data;
        const w = c.width / 64, out = [];
        for (let i = 0; i < 64; i++) out.push(d[(Math.floor(i * w) + 1) * 4 + 3] > 0);
        return out;
    }""")
    assert bottom == [bool(c) for c in counts]
    drawn = page.evaluate("""() => {
        const c = document.querySelector('#sidebar .tv-histogram');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""")
    assert drawn > 200
    page.locator("#sidebar .sb-weight").first.screenshot(path=str(tmp_path / "weight.png"))

    # Save .npy: a real download that numpy loads equal to the tensor
    with page.expect_download() as download:
        page.locator("#sidebar .tv-npy-button").first.click()
    d = download.value
    assert d.suggested_filename.endswith(".npy")
    saved = tmp_path / d.suggested_filename
    d.save_as(saved)
    loaded = np.load(saved, allow_pickle=False)
    assert loaded.dtype == truth.dtype and np.array_equal(loaded, truth)
    page.wait_for_function("document.querySelector('#sidebar .tv-note[role=status]').textContent.startsWith('Saved')")


def test_sampled_tensor_says_so(page, site, tmp_path):
    """A 5M-element weight (over the 4M-element cap): the page says how many elements
    were read and binned, and the figures are the tensor's."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2500, 2000)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="big_matmul")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2500])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2000])],
                              [numpy_helper.from_array(w, "w")])
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph), path)
    open_in_page(page, site, str(path))
    assert page.evaluate("wetron.select('big_matmul')")
    page.locator("#sidebar .tv-stats-button").first.click()
    page.wait_for_selector("#sidebar .tv-stats")
    sidebar = page.inner_text("#sidebar")
    assert "sampled: 4,194,304 of 5,000,000 elements, in 64 evenly spaced windows" in sidebar
    assert "histogram of 1,048,576 of the elements read" in sidebar
    page.locator("#sidebar .sb-weight").first.screenshot(path=str(tmp_path / "sampled.png"))
    stats = shown_stats(page)
    assert math.isclose(stats["std"][1], 1.0, rel_tol=0.01)
    assert stats["nan"][1] == 0
    assert page.evaluate("wetron.state().status") == "ready"
