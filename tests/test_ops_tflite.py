"""The "tflite" domain's rules (py/wetron/ops/tflite.py) on models written by the real
TFLite converter (tests/tflite_ops_models.py, tests/formats_tensorflow_models.py), with
LiteRT's Interpreter as the oracle for tensor shapes and Keras's layers for the
architecture's MACs."""
import copy
import inspect
import json
import math
import os
import re
import shutil
import subprocess

import pytest

import formats_tensorflow_models
import tflite_ops_models
import wetron
from wetron import cost, ops, shapes
from wetron.symbolic import evaluate
from wetron.formats import tflite
from wetron.ops import tflite as rules

pytest.importorskip("ai_edge_litert")
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

# What each fused activation adds per output element (RELU max; RELU6/RELU_N1_TO_1 a clip).
ACTIVATION = {"NONE": 0, "RELU": 1, "RELU6": 2, "RELU_N1_TO_1": 2, "TANH": 1}


@pytest.fixture(scope="module")
def op_files():
    return tflite_ops_models.files()


@pytest.fixture(scope="module")
def all_files(op_files):
    return {**formats_tensorflow_models.tflite_files(), **op_files}


def _interpreted(path):
    """[(op name, [input dims or None], [output dims])] by the interpreter, after
    allocate_tensors (dynamic dims at their default 1), and its tensor details."""
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    details = it.get_tensor_details()
    dims = {d["index"]: [int(x) for x in d["shape"]] for d in details}
    out = [(op["op_name"], [dims[i] if i >= 0 else None for i in op["inputs"]],
            [dims[i] if i >= 0 else None for i in op["outputs"]])
           for op in it._get_ops_details()]
    return out, details


def _costs(path, graph=0):
    """(model, graph, GraphCost): the main graph's at the sizes the model states, a
    subgraph's at its own declared shapes."""
    m = wetron.open(path)
    if graph == 0:
        g, _, c, _, _ = cost.analyse(m)
        return m, g, c
    g = m.graphs[graph]
    return m, g, cost.graph_cost(g, shapes.infer(g).types)


def _attrs(node):
    return {a.name: a.value for a in node.attributes}


def _expected(op, ins, outs, attrs):
    """(macs, flops) of a node from the interpreter's shapes, by TFLite's layouts."""
    out_n = math.prod(outs[0])
    act = ACTIVATION[attrs.get("fused_activation_function", "NONE")] * out_n
    if op == "CONV_2D":                                   # filter OHWI [out, kh, kw, in/groups]
        x, w = ins[0], ins[1]
        assert w[0] == outs[0][3] and x[3] % w[3] == 0
        macs = out_n * w[1] * w[2] * w[3]
        bias_at = 2
    elif op == "DEPTHWISE_CONV_2D":                       # filter [1, kh, kw, in * multiplier]
        x, w = ins[0], ins[1]
        assert w[0] == 1 and w[3] == x[3] * attrs["depth_multiplier"] == outs[0][3]
        macs = out_n * w[1] * w[2]
        bias_at = 2
    elif op == "TRANSPOSE_CONV":                          # (output_shape, [out, kh, kw, in], x)
        w, x = ins[1], ins[2]
        assert w[0] == outs[0][3] and w[3] == x[3]
        macs = math.prod(x) * w[0] * w[1] * w[2]
        bias_at = 3
    elif op == "CONV_3D":                                 # filter DHWIO
        w = ins[1]
        assert w[4] == outs[0][4] and w[3] == ins[0][4]
        macs = out_n * w[0] * w[1] * w[2] * w[3]
        bias_at = 2
    elif op == "FULLY_CONNECTED":                         # weights [out, in]
        x, w = ins[0], ins[1]
        assert w[0] == outs[0][-1] and math.prod(x) % w[1] == 0
        macs = out_n * w[1]
        bias_at = 2
    elif op == "BATCH_MATMUL":
        x = ins[0]
        k = x[-2] if attrs["adj_x"] == "true" else x[-1]
        y = ins[1]
        assert k == (y[-1] if attrs["adj_y"] == "true" else y[-2])
        return out_n * k, 2 * out_n * k
    else:
        return None
    bias = out_n if len(ins) > bias_at and ins[bias_at] is not None else 0
    return macs, 2 * macs + bias + act


MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "CONV_3D", "FULLY_CONNECTED",
           "BATCH_MATMUL")


@pytest.mark.parametrize("which", ["mobilenet_v2", "ops"])   # static shapes
def test_macs_of_conv_depthwise_fc_batch_matmul(op_files, which):
    path = op_files[which]
    interpreted, _ = _interpreted(path)
    m, g, c = _costs(path)
    seen = set()
    for i, (node, (op, ins, outs)) in enumerate(zip(g.nodes, interpreted)):
        assert node.op == op and node.domain == "tflite"
        want = _expected(op, ins, outs, _attrs(node))
        if want is not None:
            seen.add(op)
            assert (c.macs[i], c.flops[i]) == want, (i, op, ins, outs)
    assert seen == ({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"} if which == "mobilenet_v2"
                    else set(MAC_OPS))
    if which == "ops":   # the layouts the rules must get right are all there
        by_op = {}
        for n in g.nodes:
            by_op.setdefault(n.op, []).append(_attrs(n))
        assert any(a["depth_multiplier"] == 2 for a in by_op["DEPTHWISE_CONV_2D"])
        assert {a["keep_num_dims"] for a in by_op["FULLY_CONNECTED"]} == {"true", "false"}
        assert by_op["BATCH_MATMUL"][0]["adj_y"] == "true"
        assert {a["fused_activation_function"] for a in by_op["CONV_2D"]} >= {"RELU6", "NONE"}
        assert any(a["dilation_h_factor"] == 2 for a in by_op["CONV_2D"])


def _keras_macs(layers):
    """MobileNetV2's multiply-accumulates counted from what Keras says of its layers."""
    total = 0
    for layer in layers:
        cfg, out = layer["config"], layer["outputs"][0]
        if layer["class"] == "Conv2D":
            kh, kw = cfg["kernel_size"]
            cin = layer["inputs"][0][-1]
            total += math.prod(out[1:]) * kh * kw * cin // cfg["groups"]
        elif layer["class"] == "DepthwiseConv2D":
            kh, kw = cfg["kernel_size"]
            total += math.prod(out[1:]) * kh * kw
        elif layer["class"] == "Dense":
            total += cfg["units"] * layer["inputs"][0][-1]
    return total


def test_mobilenet_v2_total_macs_match_the_architecture(op_files):
    want = _keras_macs(tflite_ops_models.keras_layers())
    m = wetron.open(op_files["mobilenet_v2"])
    s = cost.summary(m)
    got = s["total"]["macs"]
    print(f"MobileNetV2 .tflite: {got:,} MACs; Keras layers: {want:,}")
    assert abs(got - want) <= 0.02 * want
    assert 290e6 < got < 310e6          # the paper's 300 M multiply-adds
    assert s["total"]["unknown"] == 0 and m.sizes == {}
    # Keras's own batch is dynamic: the input's -1 is the symbol, stated as 1 by the file.
    d = wetron.open(op_files["mobilenet_v2_dynamic"])
    assert d.sizes == {tflite.DYNAMIC: 1}
    g = d.graphs[0]
    assert g.types[g.inputs[0]][2] == (tflite.DYNAMIC, 224, 224, 3)
    # Its inner shapes (batch -1 in the file) follow from the rules: the same count, and
    # 8 images cost 8 times one.
    assert cost.summary(d)["total"]["macs"] == got
    assert cost.summary(d, {tflite.DYNAMIC: 8})["total"]["macs"] == 8 * got


@pytest.mark.parametrize("which", formats_tensorflow_models.TFLITE + list(tflite_ops_models.MODELS))
def test_shapes_are_what_the_interpreter_reports(all_files, which):
    """The value types after shape inference: the file's, dynamic dims as the symbol, and
    evaluated (symbol = 1) the interpreter's allocated shapes; nothing overwritten."""
    path = all_files[which]
    m = wetron.open(path)
    it = Interpreter(model_path=path)
    try:
        it.allocate_tensors()
        allocated = True
    except RuntimeError:    # Flex ops need the TF delegate
        allocated = False
    for sg, g in enumerate(m.graphs):
        shaped = shapes.infer(g)
        assert set(shaped.inferred) <= {t.name for t in g.initializers}
        names = list(g.types)
        details = it.get_tensor_details(sg)[:len(names)]
        assert len(details) == len(names)
        for name, d in zip(names, details):
            declared, dims = g.types[name][2], shaped.types[name][2]
            sig = d["shape_signature"] if len(d["shape_signature"]) == len(d["shape"]) \
                else d["shape"]
            entry = name in g.inputs and (sg == 0 or "signature" in dict(g.metadata))
            assert list(declared) == [int(x) if x >= 0 else tflite.DYNAMIC if entry and x == -1
                                      and s == 1 else None for x, s in zip(sig, d["shape"])]
            # Inference only completes the file's unknown dims (never changes a stored one),
            # and what it completes is what the interpreter allocates (dynamic = 1).
            assert len(dims) == len(declared)
            assert all(a is None or a == b for a, b in zip(declared, dims)), name
            if allocated and sg == 0:
                default = [int(x) for x in d["shape"]]
                got = [evaluate(x, {tflite.DYNAMIC: 1}) for x in dims]
                assert got == [None if x is None else s for x, s in zip(got, default)], name


def _from_inputs(m, g):
    """The graph with only its inputs' declared types, bound at the stated sizes: what
    the shape rules derive from the inputs alone."""
    bare = copy.copy(g)
    bare.types = {}
    for n in g.inputs:
        kind, dtype, dims, *rest = g.types[n]
        bare.types[n] = (kind, dtype, tuple(m.sizes[d] if d == tflite.DYNAMIC else d
                                            for d in dims), *rest)
    return bare


@pytest.mark.parametrize("which", formats_tensorflow_models.TFLITE + list(tflite_ops_models.MODELS))
def test_shape_rules_agree_with_the_interpreter(all_files, which):
    """Shapes inferred from the graph inputs alone (every stored inner shape removed)
    are the interpreter's allocated ones wherever a rule gives a dim."""
    path = all_files[which]
    m = wetron.open(path)
    g = m.graphs[0]
    it = Interpreter(model_path=path)
    try:
        it.allocate_tensors()
    except RuntimeError:
        pytest.skip("Flex ops need the TF delegate")
    allocated = {name: [int(x) for x in d["shape"]]
                 for name, d in zip(g.types, it.get_tensor_details())}
    shaped = shapes.infer(_from_inputs(m, g))
    weights = {t.name for t in g.initializers}
    derived = 0
    for name in shaped.inferred:
        dims = shaped.types[name][2]
        if name in weights or dims is None:
            continue
        assert len(dims) == len(allocated[name]), name
        assert all(d is None or d == a for d, a in zip(dims, allocated[name])), \
            (name, dims, allocated[name])
        derived += None not in dims
    if which.startswith("mobilenet_v2"):   # every tensor of the network follows
        assert derived == len(g.nodes)
        c = cost.graph_cost(g, shaped.types)
        assert None not in c.macs


def test_every_op_of_the_test_models_is_counted_or_says_why(all_files):
    seen = {}
    for name, path in all_files.items():
        m = wetron.open(path)
        for sg, g in enumerate(m.graphs):
            c = _costs(path, sg)[2]
            for i, node in enumerate(g.nodes):
                seen.setdefault((node.domain, node.op), name)
                rule = ops.lookup(node.domain, node.op)
                if node.domain == tflite.CUSTOM_DOMAIN:
                    assert rule is None and c.flops[i] is None
                    continue
                assert node.domain == "tflite"
                if rule is None or rule.cost is None:
                    assert node.op in rules.NOT_COUNTED, (name, node.op)
                    assert c.flops[i] is None
                else:
                    assert node.op not in rules.NOT_COUNTED
                    known = all(g.types[v][2] is not None and
                                all(type(d) is int or sg == 0 and d == tflite.DYNAMIC
                                    for d in g.types[v][2])
                                for v in node.inputs + node.outputs if v in g.types)
                    if known:   # (else a dim only the shape rules would give: not yet)
                        assert c.flops[i] is not None and c.macs[i] is not None, (name, node.op)
    assert ("tflite.custom", "FlexMatrixDeterminant") in seen
    assert {"WHILE", "IF", "UNIDIRECTIONAL_SEQUENCE_LSTM"} <= {op for _, op in seen}
    # A rule of another domain never answers for a TFLite op, nor the other way round.
    assert ops.lookup("", "CONV_2D") is None and ops.lookup("tflite", "Conv") is None


def test_lstm_macs(all_files):
    """UNIDIRECTIONAL_SEQUENCE_LSTM: steps * 4 gates * cell * (in + output), from the
    interpreter's weight shapes (tf_keras LSTM: no projection, no CIFG)."""
    path = all_files["lstm"]
    interpreted, _ = _interpreted(path)
    m, g, c = _costs(path)
    checked = 0
    for i, (op, ins, outs) in enumerate(interpreted):
        if op == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            steps = ins[0][0] * ins[0][1]
            cell, inputs = ins[2]
            assert ins[6][0] == cell and ins[1] is not None and ins[16] is None
            macs = steps * 4 * cell * (inputs + ins[6][1])
            assert c.macs[i] == macs and c.flops[i] == 2 * macs + steps * cell * (2 * 4 + 9)
            checked += 1
    assert checked == 3


def test_rules_read_attributes_of_the_types_tflite_writes():
    """Every attribute the rules read is in ATTR_TYPES with the type formats/tflite.py
    gives that option field (enums and booleans as strings)."""
    read = set(re.findall(r'attr\("(\w+)"', inspect.getsource(rules)))
    assert read and read <= set(rules.ATTR_TYPES)
    for table, fields in tflite.OPTIONS:
        for _, name, ftype, _ in fields:
            if name in rules.ATTR_TYPES:
                kind = ("string" if ftype in tflite.ENUMS or ftype == "bool" else
                        "float" if ftype == "float" else "ints" if ftype == "[int]" else "int")
                assert rules.ATTR_TYPES[name] == kind, (table, name)
    assert set(rules.ACTIVATION_FLOPS) == set(tflite.ENUMS["Activation"][1])


SHOWN = {"RELU": "Relu", "RELU6": "Relu6", "RELU_N1_TO_1": "ReluN1To1", "TANH": "Tanh"}
BOX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "box_check.mjs")


def _box_lines(path):
    """(nodes, box lines per node) of graph 0, the lines as the document carries them."""
    model = wetron.open(path)
    doc = model.to_dict(detail=False)
    return model.graphs[0].nodes, [n.get("box", []) for n in doc["graphs"][0]["nodes"]]


def test_box_lines_read_the_fused_activation_and_the_window(all_files):
    """The tflite rules' box lines (TFLiteRule.box_lines, in the document): "+ Relu6" for
    a fused activation, the window options that differ from the defaults, the matmul
    flags; the options' plumbing never."""
    cnn_nodes, cnn = _box_lines(all_files["cnn"])
    op_nodes, op_boxes = _box_lines(all_files["ops"])
    assert cnn[0] == ["+ Relu"]
    assert [b for b in cnn if b[:1] == ["+ Relu6"]] == [["+ Relu6", "stride 2, VALID"]]
    assert any(n.op == "MAX_POOL_2D" and b == ["kernel 2×2, stride 2, VALID"]
               for n, b in zip(cnn_nodes, cnn))
    by_op = {n.op: b for n, b in zip(op_nodes, op_boxes)}
    assert by_op["DEPTHWISE_CONV_2D"] == ["+ Relu", "stride 2", "multiplier 2"]
    assert by_op["BATCH_MATMUL"] == ["adj_y"]
    # Every fused activation is on its box, and the options' plumbing never is.
    for nodes, boxes in ((cnn_nodes, cnn), (op_nodes, op_boxes)):
        for node, lines in zip(nodes, boxes):
            act = _attrs(node).get("fused_activation_function", "NONE")
            assert (lines[:1] == [f"+ {SHOWN.get(act)}"]) == (act != "NONE"), lines
            assert not any(line.split()[0] in ("fused_activation_function", "padding",
                                               "stride_w", "quantized_bias_type")
                           for line in lines), lines


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_boxes_draw_the_display_name_the_box_lines_and_the_weights(all_files, tmp_path):
    """app/graph-view.js's op boxes for TFLite nodes (tests/box_check.mjs in node, on the
    parser's documents): the display name, the document's box lines, then slot names for
    the weights."""
    paths, lines = [], []
    for which in ("cnn", "ops"):
        path = tmp_path / f"{which}.json"
        path.write_text(wetron.open(all_files[which]).dumps())
        paths.append(str(path))
        lines.append(_box_lines(all_files[which])[1])
    run = subprocess.run(["node", "--no-warnings", BOX_SCRIPT, *paths], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    cnn, op_boxes = (json.loads(line) for line in run.stdout.splitlines())
    assert cnn[0] == {"op": "CONV_2D", "title": "Conv2D",
                      "lines": ["+ Relu", "filter ⟨8×3×3×3⟩", "bias ⟨8⟩"]}
    dw = next(b for b in op_boxes if b["op"] == "DEPTHWISE_CONV_2D")
    assert dw["title"] == "DepthwiseConv2D"
    assert dw["lines"][3].startswith("filter ⟨1×3×3×32⟩")
    for boxes, given in zip((cnn, op_boxes), lines):
        for box, want in zip(boxes, given):
            assert box["lines"][:len(want)] == want, box
