"""What a person sees first (issue 11), on real exports of at least four formats written
by the real frameworks (tests/readability_models.py: torchvision, Hugging Face, YOLO,
Keras, TFLite; the test suite's TensorFlow frozen graph and torch exports), opened
through the page's file input at 1400x900: the first view is legible (zoom >= 0.7, at
least 8 boxes on screen with a readable title), the module view as it opens has at most
40 boxes, and a GPT-2-like export's blocks read top to bottom in one column.
`python bench/readability_bench.py` prints the same figures as a table."""
import pytest

import formats_tensorflow_models
import models
import readability_models
import wetron

pytestmark = pytest.mark.timeout(900)

OPENED = "['ready', 'error'].includes(wetron.state().status)"


def real_models():
    try:
        chosen = dict(readability_models.readability_models())
    except readability_models.VenvUnavailable as e:   # the torch-side exports need their venv
        pytest.fail(f"the readability models could not be written: {e}")
    chosen["torch transformer"] = models.torch_transformer()
    chosen["tensorflow frozen cnn"] = formats_tensorflow_models.tensorflow_files()["frozen_cnn"]
    return chosen


MODELS = list(readability_models.NAMES) + ["torch transformer", "tensorflow frozen cnn"]


def open_model(page, site, path):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.set_default_timeout(300_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    page.set_input_files("#file-input", path)
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready", state["error"]
    return state


@pytest.fixture(scope="module")
def paths():
    return real_models()


@pytest.mark.parametrize("name", MODELS)
def test_first_view_is_legible(name, paths, page, site):
    path = paths[name]
    state = open_model(page, site, path)
    stats = page.evaluate("wetron.viewStats()")
    assert stats["zoom"] >= 0.7 and stats["labelled"] >= 8, (name, stats)
    # the module view as it opens, counted independently from the document
    if stats["moduleTopLevel"] is not None:
        assert stats["moduleTopLevel"] <= 40, (name, stats)
    assert state["nodes"] == len(wetron.open(path).graphs[0].nodes)


def test_gpt2_blocks_read_top_to_bottom_in_one_column(paths, page, site):
    open_model(page, site, paths["hf gpt2"])
    if page.evaluate("wetron.state().modules.mode") != "modules":
        page.evaluate("wetron.setMode('modules')")
    blocks = [n for n in page.evaluate("wetron.nodeNames()") if n.rsplit("/", 1)[-1].startswith("h.")]
    assert len(blocks) == 12, blocks
    at = [page.evaluate("(n) => wetron.nodeScreenPosition(n)", b) for b in blocks]
    ordered = sorted(zip(blocks, at), key=lambda item: int(item[0].rsplit(".", 1)[1]))
    ys = [p["y"] for _, p in ordered]
    xs = [p["x"] for _, p in ordered]
    assert ys == sorted(ys) and len(set(ys)) == 12, ordered   # h.0 above h.1 above ...
    # one column: each block's centre within 100 px of the others' (a block is wider),
    # the blocks after the first on one line
    assert max(xs) - min(xs) < 100 and max(xs[1:]) - min(xs[1:]) < 2, ordered
