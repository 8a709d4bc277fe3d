"""The lines a node's box shows under its op's name (a node's "box" in the document),
given by each op's rule (Rule.box_lines, py/wetron/ops/box.py): checked against the
attributes as the onnx package reads them from its own backend test models, on models
written by ONNX Runtime, Keras, MXNet, Caffe, Core ML, OpenVINO, Paddle and TensorFlow,
and on hostile attributes."""
import json
import os
import shutil
import subprocess

import onnx
import pytest
from onnx import helper

import formats_caffe_models
import formats_coreml_models
import formats_crossformat_models
import formats_mxnet_models
import formats_openvino_models
import formats_ort_models
import formats_paddle_models
import models
import wetron
from wetron import ops
from wetron.model import Attribute, Node
from wetron.ops import box

WINDOW_OPS = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "DeformConv", "MaxPool",
              "AveragePool", "LpPool")
CHECKED = WINDOW_OPS + ("Cast", "Transpose", "Gemm", "Constant")


def _dtype(code):
    """Wetron's name of a TensorProto.DataType, from onnx's own name of it."""
    name = onnx.TensorProto.DataType.Name(code)
    return {"FLOAT": "float32", "DOUBLE": "float64"}.get(name, name.lower())


def _number(x):
    return box.js_number(float(x)) if isinstance(x, float) else str(x)


def _expected(node):
    """The box lines of an onnx NodeProto, from its attributes as onnx reads them."""
    a = {p.name: helper.get_attribute_value(p) for p in node.attribute}
    op = node.op_type
    if op in WINDOW_OPS:
        lines, parts = [], []
        if "kernel_shape" in a:
            parts.append("kernel " + "×".join(map(str, a["kernel_shape"])))
        s = list(a.get("strides", []))
        if s and any(x != 1 for x in s):
            parts.append("stride " + (str(s[0]) if len(set(s)) == 1 else "×".join(map(str, s))))
        if parts:
            lines.append(", ".join(parts))
        if a.get("group", 1) != 1:
            lines.append(f"groups {a['group']}")
        d = list(a.get("dilations", []))
        if d and any(x != 1 for x in d):
            lines.append("dilation " + "×".join(map(str, d)))
        return lines or None          # None: the default lines, checked elsewhere
    if op == "Cast":
        return [f"to {_dtype(a['to'])}"]
    if op == "Transpose":
        return ["perm " + ",".join(map(str, a["perm"]))] if "perm" in a else []
    if op == "Gemm":
        flags = [f for f in ("transA", "transB") if a.get(f)]
        return [", ".join(flags)] if flags else []
    if op == "Constant":
        p = node.attribute[0]
        if p.type == onnx.AttributeProto.TENSOR:
            dims = "×".join(map(str, p.t.dims)) or "scalar"
            return [f"{_dtype(p.t.data_type)} ⟨{dims}⟩"]
        if p.type == onnx.AttributeProto.SPARSE_TENSOR:
            return [f"sparse {_dtype(p.sparse_tensor.values.data_type)} "
                    f"⟨{'×'.join(map(str, p.sparse_tensor.dims))}⟩"]
        v = a[p.name]
        if isinstance(v, bytes):
            text = json.dumps(v.decode(), ensure_ascii=False)
        elif isinstance(v, list):
            text = json.dumps([x.decode() for x in v], ensure_ascii=False, separators=(",", ":")) \
                if v and isinstance(v[0], bytes) else "[" + ",".join(map(_number, v)) + "]"
        else:
            text = _number(v)
        return [box.line(f"{p.name} {text}")]
    raise AssertionError(op)


def _cases():
    out = []
    for name, path in models.backend_node_models():
        base = name.rsplit("/", 1)[-1]
        if base.startswith(("test_conv", "test_maxpool", "test_averagepool", "test_lppool",
                            "test_cast", "test_transpose", "test_gemm", "test_constant",
                            "test_qlinearconv", "test_deform_conv", "test_basic_conv")) \
                or base.endswith("_expanded"):   # (their Constants hold every form)
            out.append((name, path))
    return out


def test_onnx_box_lines_come_from_the_rules_as_onnx_reads_the_attributes():
    """Conv and pooling windows, Cast's type, Transpose's perm, Gemm's flags and
    Constant's value on the box of every such node of the onnx package's backend test
    models, as onnx itself reads their attributes; the lines are the rule's."""
    checked = {op: 0 for op in CHECKED}
    for name, path in _cases():
        proto = onnx.load(path, load_external_data=False)
        model = wetron.open(path)
        doc = model.to_dict(detail=False)
        opsets = model.opsets()
        for proto_node, node, d in zip(proto.graph.node, model.graphs[0].nodes,
                                       doc["graphs"][0]["nodes"]):
            if node.op not in CHECKED or node.domain not in ("", "ai.onnx"):
                continue
            rule = ops.lookup(node.domain, node.op, opsets.get(node.domain))
            lines = d.get("box", [])
            assert lines == rule.box_lines(node), name
            want = _expected(proto_node)
            if want is not None:
                assert lines == want, (name, lines, want)
                checked[node.op] += 1
    # (the ConvInteger and QLinearConv cases have no window attributes)
    assert [op for op, n in checked.items() if n == 0] == ["ConvInteger", "QLinearConv"], checked
    assert checked["Constant"] >= 20, checked
    assert sum(checked.values()) > 200, checked


def test_a_window_without_window_attributes_shows_its_other_attributes():
    """A Conv whose kernel comes from its weight and whose strides are 1 shows its first
    small attributes as any op (the page's old rule, kept)."""
    node = Node("Conv", "", "c", ["x", "w"], ["y"],
                [Attribute("pads", "ints", [1, 1, 1, 1]), Attribute("strides", "ints", [1, 1])])
    assert ops.box_lines(node, 17) == ["pads 1,1,1,1", "strides 1,1"]


def test_contrib_ops_show_the_fused_activation_and_the_window():
    """ONNX Runtime's FusedConv (its optimizer's output of a torch CNN) shows "+ Relu"
    and its window."""
    path = formats_ort_models.ort_files()["cnn"]["optimized"]
    doc = wetron.open(path).to_dict(detail=False)
    fused = [n for n in doc["graphs"][0]["nodes"] if n["op"] == "FusedConv"]
    assert fused and all(n["box"][0] == "+ Relu" and n["box"][1].startswith("kernel ")
                         for n in fused), fused[:2]


def _boxes(path):
    """[(op, box lines)] of graph 0's nodes of a model file, the lines as the document
    carries them."""
    doc = wetron.open(path).to_dict(detail=False)
    return [(n["op"], n.get("box", [])) for n in doc["graphs"][0]["nodes"]]


def _of(boxes, op):
    return [lines for o, lines in boxes if o == op]


def test_keras_layers_show_kernel_strides_filters_and_activation():
    """layers.keras (formats_crossformat_models: Conv2D(8, 3, strides=2,
    activation="relu"), Conv2D(6, 3, groups=2, dilation_rate=2), MaxPooling2D(),
    Dense(10, activation="tanh")): the config's kernel_size / pool_size, strides, groups,
    dilation_rate, filters, units and activation; dtype, on every layer, never."""
    boxes = _boxes(formats_crossformat_models.files()["layers"])
    conv = _of(boxes, "Conv2D")
    assert ["+ relu", "kernel 3×3, stride 2", "filters 8"] in conv
    assert ["kernel 3×3", "groups 2", "dilation 2×2", "filters 6"] in conv
    assert _of(boxes, "MaxPooling2D") == [["kernel 2×2, stride 2"]]   # strides None: pool_size
    assert ["+ tanh", "units 10"] in _of(boxes, "Dense")
    assert not any(line.startswith("dtype") for _, lines in boxes for line in lines)


def _window_examples():
    """(model file, op, a box's lines) of models their own frameworks wrote (the
    formats_*_models modules)."""
    mxnet = formats_mxnet_models.mxnet_files()["resnet18_v1"]["symbol"]
    lenet = formats_caffe_models.caffe_files()["lenet"]["prototxt"]
    ir = formats_openvino_models.ir_models()[0]["cnn"]
    paddle = formats_paddle_models.paddle_files()
    tf = formats_crossformat_models.files()
    return [
        (mxnet, "Convolution", ["kernel 7×7, stride 2", "num_filter 64"]),
        (mxnet, "Pooling", ["max, kernel 3×3, stride 2"]),
        (mxnet, "Pooling", ["avg, global"]),
        (lenet, "Convolution", ["kernel 5", "num_output 20"]),
        (lenet, "Pooling", ["MAX, kernel 2×2, stride 2"]),
        (ir, "MaxPool", ["kernel 3×3, stride 2"]),
        (ir, "Convolution", ["stride 2"]),
        (os.path.join(formats_coreml_models.coreml_dir(), "nn_cnn.mlmodel"), "pooling",
         ["MAX, kernel 2×2, stride 2"]),
        (paddle["resnet18"]["legacy"]["model"], "pool2d", ["max, kernel 3×3, stride 2"]),
        (paddle["mobilenet_v2"]["legacy"]["model"], "depthwise_conv2d", ["stride 2", "groups 96"]),
        (paddle["mobilenet_v2"]["legacy"]["model"], "pool2d", ["avg, adaptive 1×1"]),
        (tf["pb"], "DepthwiseConv2dNative", ["stride 2, VALID"]),
        (tf["ops"], "MaxPool", ["kernel 2×2, stride 2, VALID"]),
    ]


def test_other_frameworks_show_their_windows():
    """Convolution and pooling windows of MXNet, Caffe, OpenVINO, Core ML, Paddle and
    TensorFlow models, each from its own module's attribute names."""
    for path, op, want in _window_examples():
        lines = _of(_boxes(path), op)
        assert want in lines, (path, op, lines[:5])


def test_tensorflow_boxes_leave_out_kernel_type_parameters():
    """An Identity, a Relu6 or an AddV2 of a TF-written graph has nothing to say on its box
    (its T float32 is on the edges), a Cast its target type."""
    boxes = _boxes(formats_crossformat_models.files()["pb"])
    for op in ("Identity", "Relu6", "AddV2"):
        assert _of(boxes, op) and all(lines == [] for lines in _of(boxes, op)), op


def test_hostile_attributes_give_bounded_lines_never_a_crash():
    """Attributes of other types than the rules read, huge lists and long strings: the
    lines stay within box.MAX_LINE characters and a few in number."""
    huge = list(range(100_000))
    cases = [
        Node("Conv", "", "", ["x"], ["y"], [Attribute("kernel_shape", "string", "3x3"),
                                            Attribute("strides", "ints", huge),
                                            Attribute("group", "float", 2.5)]),
        Node("Cast", "", "", ["x"], ["y"], [Attribute("to", "string", "x" * 10_000)]),
        Node("Transpose", "", "", ["x"], ["y"], [Attribute("perm", "ints", huge)]),
        Node("Constant", "", "", [], ["y"], [Attribute("value_floats", "floats", [0.5] * 100_000)]),
        Node("Constant", "", "", [], ["y"], [Attribute("value_string", "string", "s" * 100_000)]),
        Node("Custom", "x.y", "", [], ["y"], [Attribute("name", "string", "n" * 100_000),
                                             Attribute("big", "int", 10 ** 30)]),
        Node("CONV_2D", "tflite", "", [], ["y"], [Attribute("fused_activation_function", "ints", [1]),
                                                  Attribute("stride_h", "string", "2")]),
        Node("convolutional", "darknet", "", [], ["y"], [Attribute("layers", "ints", huge),
                                                         Attribute("size", "string", "3" * 1000)]),
        Node("Conv2D", "tf", "", [], ["y"], [Attribute("strides", "ints", [1, 2]),
                                             Attribute("data_format", "string", "??")]),
        Node("Conv2D", "keras", "", [], ["y"], [Attribute("kernel_size", "ints", huge)]),
        Node("pooling", "coreml", "", [], ["y"], [Attribute("kernelSize", "ints", [0, -1, 5])]),
    ]
    for node in cases:
        lines = ops.box_lines(node)
        assert len(lines) <= 6 and all(isinstance(s, str) and len(s) <= box.MAX_LINE
                                       for s in lines), (node.op, lines)


def test_every_rule_gives_lines_for_a_node_without_attributes():
    for domain, op, since, rule in ops.all_rules():
        lines = rule.box_lines(Node(op, domain, "", ["x"], ["y"], []))
        assert isinstance(lines, list) and all(isinstance(s, str) for s in lines), (domain, op)


def test_numbers_read_as_the_page_writes_them():
    """box.js_number is JavaScript's Number#toString, checked in node."""
    values = [1.0, 0.5, 1e-5, 1e-7, 2.5e-6, 1.5e21, 1e21, 123456789012345680000.0, 0.1,
              1.702, 3.4028234663852886e38, -0.00001, 100.0, 5e-324, 1.7976931348623157e308]
    if shutil.which("node") is None:
        pytest.skip("needs node")
    run = subprocess.run(["node", "-e", f"console.log(JSON.stringify({json.dumps(values)}.map(String)))"],
                         capture_output=True, text=True, timeout=60)
    assert json.loads(run.stdout) == [box.js_number(v) for v in values]
