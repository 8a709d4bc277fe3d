"""Multi-gigabyte models: the ~5.4 GB sparse ONNX files of tests/big_models.py (weights
inline in one protobuf beyond the 2 GB that onnx.save allows, and weights in an
external data file), with weights at offsets beyond 2^32. In CPython (the `wetron`
command) and in the page, through the real file input: the graph is shown, a weight
stored beyond 4 GiB reads back its real values, progress shows bytes read, and a
cancelled load leaves the page usable."""
import json
import os
import re
import subprocess
import sys

import jsonschema
import onnx
import pytest

import big_models
import models
import wetron
from wetron.errors import ModelError
from wetron.protobuf import Reader
from wetron.source import FileSource

UNAVAILABLE = big_models.unavailable()   # None, or why the big files cannot be written here
pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif(UNAVAILABLE is not None, reason=f"big models cannot be written: {UNAVAILABLE}")]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENED = "['ready', 'error'].includes(wetron.state().status)"
FOUR_GIB = 1 << 32
LAST = "lm_head.weight"     # the last big weight: its data starts past 4 GiB in both files


@pytest.fixture(scope="module")
def inline():
    return big_models.big_inline()


@pytest.fixture(scope="module")
def external():
    return big_models.big_external()


def node_count(external_model):
    """The graph's node count by the onnx package (both files hold the same graph; only
    the small external-data one can be loaded by onnx)."""
    return len(onnx.load(external_model, load_external_data=False).graph.node)


def last_weight(doc):
    index = next(i for i, t in enumerate(doc["tensors"]) if t["name"] == LAST)
    return index, doc["tensors"][index]


def open_page(page, site):
    page.set_default_timeout(300_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    # every text the progress bar shows from now on
    page.evaluate("""() => { window.__progress = [];
      new MutationObserver(() => window.__progress.push(document.getElementById('progress-text').textContent))
        .observe(document.getElementById('progress-text'), { childList: true, characterData: true, subtree: true }); }""")


def assert_graph_shown(state, nodes):
    """The page shows the parser's graph: every op drawn, or inside a drawn (collapsed)
    module, since a graph over 300 nodes opens as its modules (docs/app.md)."""
    assert state["nodes"] == nodes, state
    modules = state["modules"]
    assert modules["ops"] + modules["hiddenOps"] == nodes, modules
    assert state["drawn"]["nodes"] > 0 and state["drawn"]["edges"] == state["edges"] > 0, state


def weight_values_shown(page, node):
    """Select `node` and press its weight's "Show values": the text the sidebar shows."""
    assert page.evaluate("(n) => wetron.select(n)", node)
    page.locator("#sidebar button", has_text="Show values").first.click()
    page.wait_for_selector("#sidebar .sb-values:not(:empty)")
    return page.inner_text("#sidebar .sb-values")


def expected_text(values):
    return ", ".join(f"{v:g}" for v in values)


# --- the files and CPython ----------------------------------------------------------

def test_files_are_big_sparse_and_cross_4gib(inline, external):
    path, index = inline
    model, data, ext_index = external
    assert wetron.open(path).size > 5 * 10 ** 9 > FOUR_GIB
    assert index["weights"][-1]["offset"] > FOUR_GIB
    assert ext_index["weights"][-1]["offset"] > FOUR_GIB
    for p in (path, data):
        assert big_models.disk_used(p) < 16 << 20, f"{p} is not sparse"


def test_cli_opens_both(inline, external, wetron_env):
    for path in (inline[0], external[0]):
        out = subprocess.run([sys.executable, "-m", "wetron", "info", path, "--json"], cwd=REPO,
                             env=wetron_env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["graph"]["nodes"] == node_count(external[0]) == 15 * big_models.LAYERS + 3
        assert info["weight_bytes"] > 5 * 10 ** 9 and info["warnings"] == []


@pytest.mark.parametrize("which", ["inline", "external"])
def test_offsets_beyond_4gib_are_exact_and_values_decode(which, inline, external):
    path, index = inline if which == "inline" else (external[0], external[2])
    model = wetron.open(path)
    doc = json.loads(model.dumps())
    i, t = last_weight(doc)
    offset = next(w["offset"] for w in index["weights"] if w["name"] == LAST)
    assert t["data"] == [offset, 4 * big_models.HIDDEN * big_models.VOCAB] and offset > FOUR_GIB
    assert t["location"] == which
    # the schema's integer bounds allow offsets past 4 GiB
    with open(os.path.join(REPO, "py", "wetron", "graph-schema.json")) as f:
        jsonschema.Draft202012Validator(json.load(f)).validate(doc)
    values = model.tensor_values(i, 20)
    n = big_models.VALUES_WRITTEN
    assert values["values"][:n] == big_models.expected_values(len(index["weights"]) - 1)
    assert values["values"][n:] == [0.0] * (20 - n)     # the hole reads as zeros


@pytest.fixture(scope="module")
def unfilled(inline, tmp_path_factory):
    """The big inline model as an interrupted pre-allocated download leaves it: the
    model's header and graph length written, everything after them still zeros."""
    path, index = inline
    source = FileSource(path)
    try:
        graph_start = next(a for f, w, a, b in Reader(source).fields(0, source.size) if f == 7)
        head = source.read(0, graph_start)
    finally:
        source.close()
    out = tmp_path_factory.mktemp("unfilled") / "unfilled.onnx"
    with open(out, "wb") as f:
        f.write(head)
        f.truncate(index["size"])
    return str(out)


def test_zero_filled_model_fails_with_one_clear_line(unfilled):
    # without the field-0 check the parse walked 5 GB of zeros as 2-byte fields
    with pytest.raises(ModelError) as e:
        wetron.open(unfilled).dumps()
    message = str(e.value)
    assert "unfilled.onnx" in message and "invalid field number 0" in message, message
    assert "\n" not in message


# --- the page -----------------------------------------------------------------------

def test_page_opens_5gb_inline_model(page, site, inline, external):
    path, index = inline
    open_page(page, site)
    page.set_input_files("#file-input", path)
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state
    assert state["file"] == "big_inline.onnx"
    assert_graph_shown(state, node_count(external[0]))
    # progress: bytes read, rising as the parse skips weights towards the end
    reads = [m for m in page.evaluate("window.__progress") if m.startswith("Reading big_inline.onnx")]
    total = f"{index['size'] / 1e9:.2f} GB"
    done = [float(x) for m in reads for x in re.findall(rf"([\d.]+) GB of {re.escape(total)}", m)]
    assert len(done) >= 5 and done == sorted(done) and done[-1] * 1e9 > FOUR_GIB, reads
    # the tab stays small: Pyodide's heap is a tiny fraction of the file
    assert 0 < state["wasmBytes"] < 256 << 20
    # a weight stored beyond 4 GiB: its real values, read by the worker
    shown = weight_values_shown(page, "/lm_head/MatMul")
    assert expected_text(big_models.expected_values(len(index["weights"]) - 1)) in shown, shown


def test_page_opens_external_data_model(page, site, external):
    model, data, index = external
    open_page(page, site)
    page.set_input_files("#file-input", [model, data])   # chosen together
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state
    assert state["file"] == "big_external.onnx"
    assert_graph_shown(state, node_count(model))
    assert page.is_hidden("#banner"), page.inner_text("#banner")   # no missing-file warning
    shown = weight_values_shown(page, "/lm_head/MatMul")
    assert expected_text(big_models.expected_values(len(index["weights"]) - 1)) in shown, shown
    assert "external (big_external.onnx.data)" in page.inner_text("#sidebar")


def test_cancelling_a_big_load_leaves_the_page_usable(page, site, inline):
    open_page(page, site)
    page.set_input_files("#file-input", inline[0])
    # cancel while Python is reading the file (the first bytes-read line is posted at a
    # tenth of the file, long before the parse ends)
    page.wait_for_function("document.getElementById('progress-text').textContent.includes('GB of')", polling=5)
    page.click("#progress-cancel")
    assert page.evaluate("wetron.state().status") == "idle"
    assert page.is_hidden("#progress")
    page.wait_for_timeout(3000)    # the cancelled load must not show up later
    state = page.evaluate("wetron.state()")
    assert (state["status"], state["file"], state["nodes"]) == ("idle", None, 0)
    assert page.is_visible("#start")
    # a small real model then opens normally
    small = models.torch_cnn()
    page.set_input_files("#file-input", small)
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    expected = len(json.loads(wetron.open(small).dumps())["graphs"][0]["nodes"])
    assert (state["status"], state["file"]) == ("ready", "cnn.onnx"), state
    assert state["nodes"] == state["drawn"]["nodes"] == expected == 28
