"""The op rules of the "tf" and "keras" domains (wetron.ops.tf, wetron.ops.keras) on
files the real frameworks wrote (tests/formats_crossformat_models.py): shapes against
TensorFlow's shape inference and Keras' layer.output.shape, costs against formulas
written here, and one architecture (MobileNetV2) giving the same MACs from .keras,
frozen .pb (batch 1, and a free batch), SavedModel (its main graph the default
signature's forward pass, the functions it calls inlined), .tflite and ONNX (tf2onnx)."""
import math
import os
import re

import pytest

import formats_crossformat_models as xf
import formats_tensorflow_models as tf_models
import wetron
from wetron import cost, ops, shapes
from wetron.ops import keras as keras_rules, tf as tf_rules

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def files():
    return xf.files()


# The batch: Keras' free one ("batch"), TFLite's -1 of size 1 ("dynamic").
SIZES = {"batch": 1, "dynamic": 1}


def _analysed(path, declared=True):
    """(graph, types, per-node cost) of a file's main graph at batch 1; declared=False
    drops the types the file declares for values other than graph inputs and weights,
    so every other shape is the rules' own."""
    g = wetron.open(path).graphs[0]
    if not declared:
        keep = set(g.inputs) | {t.name for t in g.initializers}
        g.types = {k: v for k, v in g.types.items() if k in keep}
    s = shapes.infer(g)
    return g, s, cost.graph_cost(g, s.types, SIZES)


def _node(g, name):
    return next(i for i, n in enumerate(g.nodes) if n.name == name)


def _keras_dims(dims):
    return tuple("batch" if d is None and i == 0 else d for i, d in enumerate(dims))


# --- domains and attribute types ----------------------------------------------------

def test_nodes_carry_their_frameworks_domain(files):
    for key in ("pb", "ops", "saved"):
        m = wetron.open(files[key])
        assert {n.domain for g in m.graphs for n in g.nodes} == {"tf"}, key
    for key in ("keras", "layers"):
        assert {n.domain for n in wetron.open(files[key]).graphs[0].nodes} == {"keras"}, key
    # a rule of one domain never serves another's op of the same name
    assert ops.lookup("tf", "Transpose").domain == "tf"
    assert ops.lookup("ai.onnx", "Transpose").domain == "ai.onnx"
    assert ops.lookup("tf", "Relu").domain == "tf" and ops.lookup("keras", "Dense").domain == "keras"


def test_rules_read_attributes_of_the_types_the_parsers_store(files):
    """Every attribute a tf/keras rule reads is in its attr_types (or validated by the
    rule itself), with the type formats/tensorflow.py and formats/keras.py give it."""
    unchecked = {"axis", "size", "output_padding", "output_shape", "attention_axes",
                 "padding", "cropping"}
    for module, allowed in ((tf_rules, set()), (keras_rules, unchecked)):
        with open(module.__file__, encoding="utf-8") as f:
            read = set(re.findall(r'attr\("(\w+)"', f.read()))
        assert read and read <= set(module.ATTR_TYPES) | allowed, read - set(module.ATTR_TYPES)
    seen = 0
    for key, types in (("pb", tf_rules.ATTR_TYPES), ("ops", tf_rules.ATTR_TYPES),
                       ("keras", keras_rules.ATTR_TYPES), ("layers", keras_rules.ATTR_TYPES)):
        for n in wetron.open(files[key]).graphs[0].nodes:
            for a in n.attributes:
                if a.name in types:
                    seen += 1
                    assert a.type == types[a.name], (key, n.op, a.name, a.type)
    assert seen > 500


@pytest.mark.parametrize("key", ["ops", "layers"])
def test_hostile_attributes_make_nodes_unknown_not_crash(files, key):
    """Every attribute a rule reads given the wrong type, or sizes past int64: shapes
    and costs still come out, the nodes concerned unknown / not counted."""
    from wetron.model import Attribute
    for mutate in ("type", "size"):
        g = wetron.open(files[key]).graphs[0]
        keep = set(g.inputs) | {t.name for t in g.initializers}
        g.types = {k: v for k, v in g.types.items() if k in keep}
        for n in g.nodes:
            n.attributes = [Attribute(a.name, "int", 7) if mutate == "type" and a.type != "int"
                            else Attribute(a.name, "ints", [2 ** 62] * len(a.value))
                            if a.type == "ints" else a for a in n.attributes]
        s = shapes.infer(g)
        c = cost.graph_cost(g, s.types, SIZES)
        if mutate == "type":
            assert c.macs.count(None) >= 3, key
        else:   # windows larger than their input: never a negative size
            assert all(d is None or type(d) is not int or d >= 0 for name in s.inferred
                       for d in (s.types[name][2] or ())), key


# --- TensorFlow semantics, not ONNX's -------------------------------------------------

def test_tf_transpose_reads_its_perm_input(files):
    g, s, _ = _analysed(files["ops"])
    assert s.types["transpose"][2] == (1, 1, 10)        # [1, 10, 1] by perm [0, 2, 1]
    assert "transpose" in s.inferred
    assert s.types["transpose3"][2] == (5, 1, 2)        # [2, 5, 1] by perm [1, 2, 0]


def test_tf_mean_is_a_reduction(files):
    g, s, c = _analysed(files["ops"])
    i = _node(g, "mean")
    assert g.nodes[i].op == "Mean" and s.types["mean"][2] == (1, 10)   # axes [1, 2]
    assert (c.flops[i], c.macs[i]) == (6 * 6 * 10, 0)   # one per input element
    assert s.types["sum"][2] == (1, 6, 6, 1)             # keep_dims
    assert s.types["max"][2] == (1, 6, 1)


# --- shapes: what the frameworks report ---------------------------------------------------

@pytest.mark.parametrize("key", ["ops", "pb"])
def test_tf_shapes_match_tensorflow_shape_inference(files, key):
    g, s, _ = _analysed(files[key])
    oracle = xf.oracle(files[key])
    compared = 0
    for n in g.nodes:
        for out in n.outputs:
            if out in oracle:
                compared += 1
                assert s.types.get(out, (0, 0, None))[2] == tuple(oracle[out]["dims"]), \
                    (n.op, out)
    # every tensor but the weights and the batch norm's statistics (read by nothing)
    assert compared == sum(1 for v in oracle.values() if v["op"] != "Const") - \
        (5 if key == "ops" else 0)


@pytest.mark.parametrize("key", ["keras", "layers"])
def test_keras_shapes_match_layer_output_shape(files, key):
    g, s, _ = _analysed(files[key], declared=False)
    oracle = xf.oracle(files[key])
    compared = 0
    for n in g.nodes:
        if n.name in oracle:
            for out, dims in zip(n.outputs, oracle[n.name]["dims"]):
                compared += 1
                assert s.types.get(out, (0, 0, None))[2] == _keras_dims(dims), (n.op, n.name)
    assert compared == len(oracle)


def test_keras_declared_shapes_are_kept(files):
    g = wetron.open(files["keras"]).graphs[0]
    declared = dict(g.types)
    s = shapes.infer(g)
    assert declared[g.inputs[0]][2] == ("batch", 224, 224, 3)
    for name, t in declared.items():
        assert s.types[name] == t


# --- costs against formulas -----------------------------------------------------------------

def test_tf_costs(files):
    g, s, c = _analysed(files["ops"])
    o = xf.oracle(files["ops"])
    n = {k: math.prod(v["dims"]) for k, v in o.items() if v["dims"] is not None}

    def check(name, flops, macs):
        i = _node(g, name)
        assert (c.flops[i], c.macs[i]) == (flops, macs), name

    m = n["conv_same"] * 3 * 3 * 3                   # out * Cin * kh * kw
    check("conv_same", 2 * m, m)
    m = n["conv_dilated"] * 3 * 3 * 3
    check("conv_dilated", 2 * m, m)
    m = n["conv_explicit"] * 4 * 3 * 3
    check("conv_explicit", 2 * m, m)
    m = n["depthwise"] * 3 * 3                       # out * kh * kw
    check("depthwise", 2 * m, m)
    m = n["fbn"] * 5 * 3 * 3                         # out_backprop * Cout * kh * kw
    check("deconv", 2 * m, m)
    m = n["matmul"] * 360                            # out * K (transpose_b)
    check("matmul", 2 * m, m)
    m = n["batch_matmul"] * 2                        # adj_x: K = a[-2]
    check("batch_matmul", 2 * m, m)
    check("bias", n["bias"], 0)
    check("relu6", 2 * n["relu6"], 0)
    check("fbn", 2 * n["fbn"], 0)                    # is_training false
    check("maxpool", 2 * 2 * n["maxpool"], 0)
    check("avgpool", 3 * 3 * n["avgpool"], 0)
    check("softmax", 5 * n["softmax"], 0)
    check("add", n["add"], 0)
    for name in ("concat", "flatten", "transpose", "pad", "slice", "squeeze", "expand"):
        check(name, 0, 0)
    assert cost.totals(c)["unknown"] == 0


def test_keras_costs(files):
    g, s, c = _analysed(files["layers"])
    o = xf.oracle(files["layers"])

    def out(name):
        return math.prod(d or 1 for d in o[name]["dims"][0])

    def inp(name, k=0):
        return o[name]["inputs"][k]

    def check(name, flops, macs):
        i = _node(g, name)
        assert (c.flops[i], c.macs[i]) == (flops, macs), name

    m = out("conv") * 3 * 3 * 3                      # out * Cin * kh * kw
    check("conv", 2 * m + out("conv") * 2, m)        # + bias + relu
    cin = inp("sep")[-1]
    mid = math.prod(o["sep"]["dims"][0][1:3]) * cin  # the depthwise part's output
    m = mid * 3 * 3 + out("sep") * cin               # depthwise + pointwise
    check("sep", 2 * m + out("sep") * 2, m)          # + bias + sigmoid
    m = math.prod(inp("deconv")[1:]) * 6 * 3 * 3     # in * filters * kh * kw
    check("deconv", 2 * m + out("deconv"), m)
    m = out("grouped") * (6 // 2) * 3 * 3            # groups 2, no bias
    check("grouped", 2 * m, m)
    m = out("proj") * inp("proj")[-1]                # Dense on [batch, 16, 6]
    check("proj", 2 * m + 2 * out("proj"), m)        # + bias + tanh
    m = out("fc") * inp("fc")[-1]
    check("fc", 2 * m + out("fc"), m)
    b, t, d = 1, inp("mha")[1], inp("mha")[2]
    heads, kd = 2, 4
    proj = 3 * b * t * d * heads * kd + b * t * heads * kd * d
    att = b * heads * t * t * (kd + kd)
    m = proj + att
    bias = 3 * b * t * heads * kd + b * t * d
    check("mha", 2 * m + 5 * b * heads * t * t + bias, m)
    m = out("conv1d") * inp("conv1d")[-1] * 2
    check("conv1d", 2 * m + out("conv1d"), m)
    check("avg", out("avg") * 9, 0)
    check("max", out("max") * 4, 0)
    check("ln", out("ln") * 7, 0)
    check("gelu", out("gelu") * 8, 0)
    check("softmax", out("softmax") * 5, 0)
    check("gmp", math.prod(inp("gmp")[1:]), 0)
    for name in ("tokens", "flat", "cat", "emb"):
        check(name, 0, 0)
    assert cost.totals(c)["unknown"] == 0


# --- the acceptance figure: one architecture, every format ------------------------------

MOBILENET_MACS = 59_285_808   # MobileNetV2 alpha 0.35 at 224x224, batch 1 (the ONNX export's)


@pytest.mark.parametrize("key", ["keras", "pb", "free_batch", "saved", "tflite"])
def test_same_macs_in_every_format(files, key):
    """MobileNetV2 (alpha 0.35, 224x224) as keras, TensorFlow (frozen at batch 1, frozen
    with a free batch, SavedModel), TFLite and tf2onnx write it: at batch 1 the MACs are
    exactly the ONNX export's, every node counted."""
    reference = cost.summary(wetron.open(files["onnx"]), SIZES)["total"]
    assert reference["unknown"] == 0 and reference["macs"] == MOBILENET_MACS
    total = cost.summary(wetron.open(files[key]), SIZES)["total"]
    assert total["unknown"] == 0 and total["not_counted"] == {}
    assert total["macs"] == reference["macs"], key


# --- a SavedModel: its main graph is the default signature's forward pass ----------------

def _full(m):
    from wetron.formats.tensorflow import FULL_GRAPH
    return next(g for g in m.graphs if g.name == FULL_GRAPH)


def test_saved_model_main_graph_is_the_forward_pass(files):
    """The meta graph holds both signatures' calls (serve, serving_default: wrappers of
    the same __call__ function) and the saver's (save, restore); the main graph is what
    the default signature runs, its functions inlined: the frozen graph's ops (its
    Consts read through Identity, here the variables through ReadVariableOp) plus the
    Identity of the signature wrapper, no call, no saver. Counted once, every node run:
    the MACs at batch 1 and 2 as TensorFlow's run of the signature gives its output."""
    import collections
    m = wetron.open(files["saved"])
    g = m.graphs[0]
    assert _full(m).run == ("signature 'serving_default'", ["StatefulPartitionedCall_1"])
    frozen = wetron.open(files["pb"]).graphs[0]
    ours = collections.Counter(n.op for n in g.nodes)
    theirs = collections.Counter(n.op for n in frozen.nodes)
    weights = {t.name for t in frozen.initializers}
    reads = sum(1 for n in frozen.nodes if n.op == "Identity" and n.inputs[0] in weights)
    variables = [t for t in g.initializers if t.file]
    assert ours.pop("ReadVariableOp") == reads == len(variables) == 262
    assert ours.pop("Identity") == theirs.pop("Identity") - reads + 1
    assert theirs.pop("Placeholder") == 1 and len(g.inputs) == 1
    assert ours == theirs and ours["Conv2D"] == 35 and ours["DepthwiseConv2dNative"] == 17
    oracle = xf.oracle(files["saved"])["signatures"]["serving_default"]
    for batch in (1, 2):
        _, shaped, c, _, _ = cost.analyse(m, {"batch": batch})
        total = cost.totals(c)
        assert total["macs"] == batch * MOBILENET_MACS and not c.not_run
        assert total["unknown"] == 0 and total["not_run"] == {}
        t = shaped.types[g.outputs[0]]
        assert g.outputs == ["output_0"] and (t[1], list(t[2])) == ("float32", oracle[str(batch)]["output_0"])
    # unset, the batch is asked for, never taken at 1
    t = cost.summary(m)["total"]
    assert t["needs"] == ["batch"] and t["macs"] == 0 and t["unsized"] > 0


def test_saved_model_parameters_are_its_variables_once(files):
    """Keras' export writes each variable twice (variables/N: the Keras object, and
    _all_variables/K: the tf.Variable under it): one parameter tensor each, its other
    key noted. The parameters are Keras' count_params() and TensorFlow's own reading
    (tf.saved_model.load: trainable + non-trainable variables, those the default
    signature captures): the main graph's variables; each handle the signature's call
    passes holds the value of the variable TensorFlow binds to that capture, and each
    handle the graph's own restore op (TF1's loader) fills holds the value it restores."""
    import numpy as np
    import tensorflow as tf
    import keras
    m = wetron.open(files["saved"])
    g, full = m.graphs[0], _full(m)
    folder = os.path.dirname(files["saved"])
    loaded = tf.saved_model.load(folder)
    signature = loaded.signatures["serving_default"]
    tf_variables = list(loaded.trainable_variables) + list(loaded.non_trainable_variables)
    tf_params = sum(int(np.prod(v.shape)) for v in tf_variables)
    assert tf_params == keras.saving.load_model(files["keras"]).count_params()
    assert len(signature.variables) == len(tf_variables)
    variables = [t for t in full.initializers if t.file]
    assert len(variables) == len(tf_variables) and sum(t.count for t in variables) == tf_params
    assert {id(t) for t in g.initializers if t.file} == {id(t) for t in variables}
    keys = {k for k, _ in tf.train.list_variables(os.path.join(folder, "variables", "variables"))}
    noted = {k for t in variables for k in re.findall(r"\S+/\.ATTRIBUTES/VARIABLE_VALUE", t.doc)}
    assert len(noted) == len(variables) and not noted & {t.name for t in variables}
    assert {t.name for t in variables} | noted == keys - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    # counted once: the cost's parameters are the variables and the forward function's
    # constants its nodes read (paddings, axes), the model's every weight once
    c = cost.analyse(m, SIZES)[2]
    others = [t for t in g.initializers if not t.file]
    forward = next(f for f in m.functions if f.name.startswith("__inference___call__"))
    assert {id(t) for t in others} == {id(t) for t in forward.graph.initializers}
    read = {v for n in g.nodes for v in n.inputs}
    assert cost.totals(c)["params"] == tf_params + sum(t.count for t in others if t.name in read)
    assert sum(t.count for t in others) < 200
    assert m.parameters == tf_params + sum(t.count for t in {
        id(t): t for graph in m.graphs for t in graph.initializers if not t.file}.values())
    # each handle given a weight holds it when TensorFlow runs the file, either way:
    # both signatures' calls pass one handle per variable; the restore op fills those
    # and the Keras objects' own (initialised from them)
    bound, restored = tf_models.check_variable_handles(files["saved"], m)
    assert bound == 2 * len(variables) and restored == 2 * len(variables)


def test_saved_model_activations_are_the_forward_pass(files):
    """The activation bytes of the main graph: at batch 1 the frozen graph's (the same
    nodes; its variables read by ReadVariableOp where the frozen graph reads Consts
    through Identity), plus the one tensor TF's signature wrapper adds around the forward
    pass: the Identity of its output; less the image, a node's output there (its
    Placeholder's) and the graph's input here, as in the ONNX export. The frozen graph's
    is TensorFlow's own shape inference of each node's outputs."""
    frozen_model = wetron.open(files["pb"])
    frozen = cost.summary(frozen_model, SIZES)["total"]
    tf_shapes = xf.oracle(files["pb"])
    dtypes = {n.name: frozen_model.graphs[0].types.get(n.outputs[0], ("", "float32"))[1]
              for n in frozen_model.graphs[0].nodes}
    assert set(dtypes.values()) == {"float32"}
    assert frozen["activation_bytes"] == sum(
        4 * math.prod(v["dims"]) for name, v in tf_shapes.items() if v["op"] != "Const")
    m = wetron.open(files["saved"])
    output = xf.oracle(files["saved"])["signatures"]["serving_default"]["1"]["output_0"]
    image = next(v["dims"] for v in tf_shapes.values() if v["op"] == "Placeholder")
    assert image == [1, 224, 224, 3]
    c = cost.analyse(m, SIZES)[2]
    assert cost.totals(c)["activation_bytes"] == \
        frozen["activation_bytes"] + 4 * math.prod(output) - 4 * math.prod(image)
    # the batch unset: each tensor it sizes unknown, never taken at a size
    g = m.graphs[0]
    c = cost.analyse(m)[2]
    convs = [i for i, n in enumerate(g.nodes) if n.op == "Conv2D"]
    assert convs and all(c.activation_bytes[i] is None for i in convs)


def test_shapes_flow_into_the_forward_pass(files):
    """In the main graph, every value TensorFlow's own shape inference typed when it
    traced the forward function (each node's _output_shapes, the batch None) has that
    shape with the batch the signature's input has. The file's declarations are
    dropped, but for the variables' reads (ReadVariableOp: TensorFlow declares them)."""
    m = wetron.open(files["saved"])
    g = m.graphs[0]
    traced = {}
    for n in g.nodes:
        shapes_attr = next((a.value for a in n.attributes if a.name == "_output_shapes"), None)
        outs = [o for o in n.outputs if not o.startswith("^")]
        if shapes_attr and n.op != "ReadVariableOp" and len(outs) == len(shapes_attr) == 1:
            traced[outs[0]] = shapes_attr[0]
    g.types = {k: v for k, v in g.types.items() if k not in traced}
    for batch, sizes in ((2, {"batch": 2}), ("batch", None)):
        _, inner, _, _, _ = cost.analyse(m, sizes)
        assert inner.types[g.inputs[0]][2] == (batch, 224, 224, 3)
        compared = 0
        for name, text in traced.items():
            dims = [None if d == "?" else int(d) for d in text[1:-1].split(",") if d]
            ours = inner.types.get(name, (0, 0, None))[2]
            assert ours == tuple(batch if d is None else d for d in dims), (name, ours, text)
            compared += 1
        assert compared > 450   # (the convolutions, batch norms, activations, the head)


def test_called_functions_are_bounded(monkeypatch):
    """A function calling itself is not inferred inside itself, nor a chain of calls
    deeper than MAX_CALL_DEPTH, nor calls past MAX_CALLED_NODES nodes: the calls there
    are unknown, never a hang or a crash."""
    from wetron.model import Attribute, Graph, Node

    def chain(n, last_calls=None):
        functions = {}
        for k in range(n):
            g = Graph(f"f{k}")
            g.inputs, g.outputs = ["x"], ["y:output:0"]
            g.types["x"] = ("tensor", "float32", None, "")
            callee = f"f{k + 1}" if k + 1 < n else last_calls
            g.nodes.append(Node("PartitionedCall", "tf", "y", ["x"], ["y:output:0"],
                                [Attribute("f", "string", callee)]) if callee else
                           Node("Relu", "tf", "y", ["x"], ["y:output:0"]))
            functions[g.name] = (g, {})
        main = Graph("main")
        main.types["x"] = ("tensor", "float32", (2, 3), "")
        main.inputs = ["x"]
        main.nodes.append(Node("PartitionedCall", "tf", "call", ["x"], ["call"],
                               [Attribute("f", "string", "f0")]))
        return main, functions

    for depth, counted in ((shapes.MAX_CALL_DEPTH, True), (shapes.MAX_CALL_DEPTH + 1, False)):
        main, functions = chain(depth)
        shaped, c = cost.sized_cost(main, functions=functions)
        assert (shaped.types.get("call", (0, 0, None))[2] == (2, 3)) == counted, depth
        assert c.flops[0] == (6 if counted else None), depth
    main, functions = chain(3, last_calls="f0")   # f0 -> f1 -> f2 -> f0
    shaped, c = cost.sized_cost(main, functions=functions)
    assert "call" not in shaped.types and c.flops == [None]
    assert c.not_counted == {"PartitionedCall": 1}
    main, functions = chain(3)
    assert cost.sized_cost(main, functions=functions)[1].flops == [6]
    monkeypatch.setattr(shapes, "MAX_CALLED_NODES", 2)   # three nodes in the chain
    assert cost.sized_cost(main, functions=functions)[1].flops == [None]


# --- a free batch in a frozen graph ------------------------------------------------------

def test_free_batch_of_a_frozen_graph_is_a_size(files, wetron_env):
    """A GraphDef whose input TensorFlow leaves free (-1, None in its shape inference):
    the Placeholder's dim is the symbol "batch", every shape TensorFlow gives with a
    None batch ours with "batch"; its cost is asked for, counted once it is set."""
    import json
    import subprocess
    import sys
    path = files["free_batch"]
    g = wetron.open(path).graphs[0]
    image = next(n for n in g.nodes if n.op == "Placeholder")
    assert g.types[image.outputs[0]][2] == ("batch", 224, 224, 3)
    s = shapes.infer(g)
    oracle = xf.oracle(path)
    compared = 0
    for n in g.nodes:
        for out in n.outputs:
            if out in oracle and oracle[out]["dims"] is not None:
                want = tuple("batch" if d is None else d for d in oracle[out]["dims"])
                assert s.types.get(out, (0, 0, None))[2] == want, (n.op, out)
                compared += 1
    assert compared > 200

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "wetron", "cost", path, *args],
                              capture_output=True, text=True, env=wetron_env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    text = run()
    assert "FLOPs and MACs are exact in batch" in text and "(`--size batch=N`)" in text
    assert f"| MACs | {MOBILENET_MACS:,}·batch (" in text   # the polynomial of the unset batch
    assert f"| MACs | {MOBILENET_MACS:,} " in run("--size", "batch=1")
    total = json.loads(run("--json", "--size", "batch=3"))["total"]
    assert total["macs"] == 3 * MOBILENET_MACS and total["needs"] == [] and total["unknown"] == 0


def _field(number, payload):
    """A protobuf length-delimited field (bytes) or varint field (int)."""
    def varint(v):
        v &= (1 << 64) - 1
        out = b""
        while True:
            out += bytes([(v & 0x7F) | (0x80 if v > 0x7F else 0)])
            v >>= 7
            if not v:
                return out
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_each_free_dim_but_the_batch_is_its_own_size():
    """A Placeholder [-1, -1, 3] (GraphDef, field numbers of graph.proto / node_def.proto /
    attr_value.proto / tensor_shape.proto): dim 0 is "batch", dim 1 "x.1", both sizes to
    set; counted once both are."""
    dims = b"".join(_field(2, _field(1, d)) for d in (-1, -1, 3))
    attr = lambda k, v: _field(5, _field(1, k.encode()) + _field(2, v))  # noqa: E731
    placeholder = _field(1, b"x") + _field(2, b"Placeholder") + attr("dtype", _field(6, 1)) + \
        attr("shape", _field(7, dims))
    relu = _field(1, b"y") + _field(2, b"Relu") + _field(3, b"x") + attr("T", _field(6, 1))
    data = _field(1, placeholder) + _field(1, relu)
    m = wetron.open(wetron.BytesSource(data, "free.pb"))
    assert m.graphs[0].types["x"][2] == ("batch", "x.1", 3)
    from wetron import sizes
    assert sizes.model_symbols(m) == ["batch", "x.1"]
    assert cost.summary(m, {"batch": 2})["total"]["needs"] == ["x.1"]
    assert cost.summary(m, {"batch": 2, "x.1": 5})["total"]["flops"] == 2 * 5 * 3


if __name__ == "__main__":   # the figures of each format
    for k in ("keras", "pb", "tflite", "onnx", "saved"):
        path = xf.files()[k]
        t = cost.summary(wetron.open(path), SIZES)["total"]
        print(f"{k:7} {os.path.basename(path):18} MACs {t['macs']:,}  FLOPs {t['flops']:,}  "
              f"not counted {t['unknown']}")
