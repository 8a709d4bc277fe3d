"""Op metadata in the page, on real models through the real page: every op box gets the
category wetron.ops.metadata gives its op (the document's "operators" table), the
sidebar shows the op's domain and version as the file says them (ONNX: the model's
opset import; TFLite: the operator code's version; OpenVINO: the layer's opset), its slot
names from the frameworks' definitions, and an "Operator" section whose documentation
(opdocs/<domain>.json, fetched only when opened) is onnx.defs' own for ONNX Conv, torch's
schemas for an ExportedProgram's conv2d. A real Caffe, MXNet, OpenVINO, TorchScript and
ExportedProgram model's convolution box is "conv", its ReLU "activation"."""
import pytest

import formats_caffe_models
import formats_mxnet_models
import formats_openvino_models
import formats_tensorflow_models
import formats_weights_models
import models
import wetron
from wetron.ops import metadata
from .test_page import open_file, open_page

pytestmark = pytest.mark.timeout(300)

# The sidebar's node view: header, Node rows, slot names, the Operator section.
SIDEBAR = """() => {
  const root = document.getElementById('sidebar-body');
  const rows = (section) => [...(section ? section.querySelectorAll(':scope > .sb-row') : [])]
    .map((r) => [r.querySelector('.sb-key').textContent, r.querySelector('.sb-value').textContent]);
  const section = (title) => [...root.querySelectorAll('.sb-section')].find((s) => s.querySelector('h3').textContent === title);
  return {
    title: root.querySelector('.sb-header h2').textContent,
    subtitle: (root.querySelector('.sb-subtitle') || {}).textContent || null,
    chip: root.querySelector('.sb-header .sb-chip').className,
    node: Object.fromEntries(rows(section('Node'))),
    inputs: rows(section('Inputs')).map((r) => r[0]),
    outputs: rows(section('Outputs')).map((r) => r[0]),
    operator: !!section('Operator'),
  };
}"""

OPEN_DOCS = """async () => {
  const details = document.querySelector('#sidebar-body .sb-opdoc');
  details.querySelector('summary').click();
  const body = details.querySelector('.sb-opdoc-body');
  while (!body.querySelector('.sb-opdoc-source, .sb-error')) await new Promise((r) => setTimeout(r, 50));
  const names = (sel) => [...body.querySelectorAll(`${sel} .sb-param`)].map((p) => p.dataset.name);
  const attr = (name) => { const p = body.querySelector(`.sb-opdoc-attributes [data-name="${name}"]`); return p ? p.firstChild.textContent : null; };
  return { error: (body.querySelector('.sb-error') || {}).textContent || null, text: body.textContent,
           inputs: names('.sb-opdoc-inputs'), outputs: names('.sb-opdoc-outputs'),
           attributes: names('.sb-opdoc-attributes'), attr: Object.fromEntries(
             [...body.querySelectorAll('.sb-opdoc-attributes .sb-param')].map((p) => [p.dataset.name, attr(p.dataset.name)])) };
}"""


def opset_of(model, domain):
    return {(d or "ai.onnx"): v for d, v in model.imports}.get(domain)


def op_version(model, node, domain):
    """The version describe() takes for a node: ONNX the model's opset import, OpenVINO
    its layer's opset ("opset8")."""
    if model.format == "ONNX":
        return opset_of(model, domain)
    stated = dict(node.metadata).get("version", "")
    return int(stated[len("opset"):]) if model.format == "OpenVINO IR" and stated else None


def check_box_categories(page, model):
    """Each op box has the category describe() gives its node's op."""
    want = []
    for i, n in enumerate(model.graphs[0].nodes):
        domain = metadata.node_domain(model.format, n.domain)
        facts = metadata.describe(domain, n.op, op_version(model, n, domain))
        want.append((n.name or f"#{i}", facts["category"] if facts else "other"))
    boxes = [(b["name"], b["category"]) for b in page.evaluate("wetron.boxes()") if b["kind"] == "op"]
    assert boxes == want   # op boxes are drawn in node order
    assert len({c for _, c in want}) >= 4   # a real spread of categories, not one colour


def test_onnx_conv_categories_domain_opset_and_documentation(page, site):
    path = models.torch_cnn()
    model = wetron.open(path)
    open_page(page, site)
    state = open_file(page, path)
    assert state["status"] == "ready", state
    page.evaluate("wetron.setMode('flat')")
    check_box_categories(page, model)

    conv = next(n for n in model.graphs[0].nodes if n.op == "Conv")
    assert page.evaluate("(n) => wetron.select(n)", conv.name)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=conv.name)
    side = page.evaluate(SIDEBAR)
    opset = opset_of(model, "ai.onnx")
    since = metadata.describe("ai.onnx", "Conv", opset)["since"]
    assert (side["title"], side["subtitle"], side["chip"]) == ("Conv", "ai.onnx", "sb-chip cat-conv")
    assert side["node"]["domain"] == "ai.onnx"
    assert side["node"]["opset"] == f"{opset} (Conv since {since})"
    assert side["inputs"][:2] == ["X", "W"] and side["outputs"] == ["Y"]
    assert side["operator"]
    # nothing fetched for the documentation until it is opened
    assert not [p for p in site.requests if "/opdocs/" in p]

    import onnx.defs
    schema = onnx.defs.get_schema("Conv", opset, "")
    docs = page.evaluate(OPEN_DOCS)
    assert docs["error"] is None
    assert docs["inputs"] == [p.name for p in schema.inputs] == ["X", "W", "B"]
    assert docs["outputs"] == [p.name for p in schema.outputs]
    assert docs["attributes"] == sorted(schema.attributes)
    assert "default 1" in docs["attr"]["group"] and "default \"NOTSET\"" in docs["attr"]["auto_pad"]
    first_words = " ".join(schema.doc.split()[:6]).replace("`", "")
    assert first_words in " ".join(docs["text"].split())
    assert "tensor(float)" in docs["text"]   # type constraints
    assert [p for p in site.requests if p.endswith("/opdocs/ai.onnx.json")]


def test_tflite_names_domain_version_and_documentation(page, site):
    path = formats_tensorflow_models.tflite_files()["cnn"]
    model = wetron.open(path)
    open_page(page, site)
    state = open_file(page, path)
    assert state["status"] == "ready", state
    page.evaluate("wetron.setMode('flat')")
    check_box_categories(page, model)

    nodes = model.graphs[0].nodes
    conv = next(n for n in nodes if n.op == "CONV_2D")
    assert page.evaluate("(n) => wetron.select(n)", conv.name)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=conv.name)
    side = page.evaluate(SIDEBAR)
    assert (side["title"], side["subtitle"], side["chip"]) == ("Conv2D", "tflite", "sb-chip cat-conv")
    assert side["node"]["type"] == "CONV_2D" and side["node"]["domain"] == "tflite"
    assert side["node"]["version"] == "1"   # the file's operator code leaves it at 1
    assert "ai.onnx" not in str(side)
    assert side["inputs"] == ["input", "filter", "bias"] and side["outputs"] == ["output"]
    docs = page.evaluate(OPEN_DOCS)
    assert docs["error"] is None and docs["inputs"] == ["input", "filter", "bias"]
    assert "default \"SAME\"" in docs["attr"]["padding"]
    assert set(docs["attributes"]) >= {"stride_w", "stride_h", "fused_activation_function"}

    # an operator code of another version: as the file says
    resize = next(n for n in nodes if n.op == "RESIZE_BILINEAR")
    version = dict(resize.metadata)["version"]
    assert version != "1"
    assert page.evaluate("(n) => wetron.select(n)", resize.name)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=resize.name)
    side = page.evaluate(SIDEBAR)
    assert (side["title"], side["node"]["version"]) == ("ResizeBilinear", version)
    assert side["inputs"] == ["input", "size"]


def _real_models():
    caffe = formats_caffe_models.caffe_files()["lenet"]
    mxnet = formats_mxnet_models.mxnet_files()["small"]
    xml = formats_openvino_models.ir_models()[0]["cnn"]
    torch_files = formats_weights_models.torch_files()
    return {   # files picked together, the conv op, the relu op
        "caffe": ([caffe["prototxt"], caffe["caffemodel"]], "Convolution", "ReLU"),
        "mxnet": ([mxnet["symbol"], mxnet["params"]], "Convolution", "Activation"),
        "openvino": ([xml, xml[:-4] + ".bin"], "Convolution", "ReLU"),
        "torchscript": ([str(torch_files["cnn_script"])], "Conv2d", "ReLU"),
        "exported_program": ([str(torch_files["cnn_export"])], "conv2d", "relu"),
    }


@pytest.mark.parametrize("which", ["caffe", "mxnet", "openvino", "torchscript", "exported_program"])
def test_real_models_conv_and_relu_boxes(page, site, which):
    paths, conv_op, relu_op = _real_models()[which]
    model = wetron.open(paths[0])
    open_page(page, site)
    state = open_file(page, *paths)
    assert state["status"] == "ready", state
    page.evaluate("wetron.setMode('flat')")
    check_box_categories(page, model)
    boxes = {b["name"]: b["category"] for b in page.evaluate("wetron.boxes()") if b["kind"] == "op"}
    nodes = model.graphs[0].nodes
    conv = next(n for n in nodes if n.op == conv_op)
    relu = next(n for n in nodes if n.op == relu_op)
    assert boxes[conv.name] == "conv" and boxes[relu.name] == "activation"

    assert page.evaluate("(n) => wetron.select(n)", conv.name)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=conv.name)
    side = page.evaluate(SIDEBAR)
    domain = metadata.node_domain(model.format, conv.domain)
    assert (side["subtitle"], side["chip"]) == (domain, "sb-chip cat-conv")
    assert side["node"]["domain"] == domain and side["operator"]
    docs = page.evaluate(OPEN_DOCS)
    assert docs["error"] is None
    if which == "exported_program":   # torch's schemas and docstring for aten::conv2d
        import torch
        schema = next(s for s in torch._C._jit_get_all_schemas() if s.name == "aten::conv2d")
        assert str(schema) in docs["text"] and "Applies a 2D convolution" in docs["text"]
        assert docs["inputs"] == ["input", "weight", "bias"]
        assert side["inputs"][:2] == ["input", "weight"]
    if which == "openvino":   # the layer's opset and the Python API's slot names
        assert side["node"]["version"] == "opset1"
        assert side["inputs"] == ["data", "filters"]
        assert set(docs["attributes"]) >= {"strides", "pads_begin", "pads_end", "dilations"}
    if which == "mxnet":
        assert side["inputs"] == ["data", "weight", "bias"]
        assert set(docs["attributes"]) >= {"kernel", "num_filter", "no_bias"}
    if which == "caffe":
        assert set(docs["attributes"]) >= {"num_output", "kernel_size", "bias_term"}
    assert [p for p in site.requests if p.endswith(f"/opdocs/{domain}.json")]
