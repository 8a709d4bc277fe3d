"""What a box reads in the page: the op's title, the lines the document gives its node
(wetron.ops box_lines: a window's kernel and stride, TFLite's fused activation, ...),
then its weights, drawn for real models: a torch CNN exported to ONNX and a TFLite CNN
written by TensorFlow's converter."""
import pytest

import formats_tensorflow_models
import models
import wetron
from .test_page import open_file, open_page

pytestmark = pytest.mark.timeout(300)

CLIP = 32   # app/graph-view.js BOX_LINE


def clip(text):
    return text if len(text) <= CLIP else text[:CLIP - 1] + "…"


def drawn_op_boxes(page, site, path):
    open_page(page, site)
    state = open_file(page, path)
    assert state["status"] == "ready", state
    page.evaluate("wetron.setMode('flat')")
    return [b for b in page.evaluate("wetron.boxes()") if b["kind"] == "op"]


@pytest.mark.parametrize("which", ["onnx", "tflite"])
def test_boxes_show_the_documents_lines(page, site, which):
    path = models.torch_cnn() if which == "onnx" else formats_tensorflow_models.tflite_files()["cnn"]
    doc = wetron.open(path).to_dict(detail=False)
    nodes = doc["graphs"][0]["nodes"]
    boxes = drawn_op_boxes(page, site, path)
    assert len(boxes) == len(nodes)   # op boxes are drawn in node order
    shown = 0
    for node, b in zip(nodes, boxes):
        want = [clip(line) for line in node.get("box", [])]
        assert b["text"][1:1 + len(want)] == want, (node["op"], b["text"])
        shown += bool(want)
    assert shown >= 3
    texts = [line for b in boxes for line in b["text"][1:]]
    if which == "onnx":
        assert any(t.startswith("kernel 3×3") for t in texts), texts
    else:
        assert "+ Relu" in texts and any(t.endswith("VALID") for t in texts), texts
