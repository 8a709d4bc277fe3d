"""ONNX Runtime .ort: files written by onnxruntime's own converter from torch exports
(tests/formats_ort_models.py), checked against onnxruntime: the graph against the
.optimized.onnx it saves beside each file (nodes, op types with com.microsoft's fused
ops, attributes, initializers' names, shapes and first values, graph inputs and outputs),
the inputs and outputs an InferenceSession on the .ort reports and the output shapes it
computes; MACs and FLOPs equal to those of the ONNX source; the com.microsoft rules'
shapes against the shapes onnxruntime computes for those nodes (and for single-node
models with every optional input and output, float16 too), their cost against the
formulas; hostile files and a bounded fuzz."""
import collections
import math
import struct

import flatbuffers
import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import formats_ort_models
import test_fuzz
import wetron
from wetron import cost, flatbuffers as fb
from wetron.formats import ort as ort_format
from wetron.util import MAX_NODES

pytestmark = pytest.mark.timeout(900)

NAMES = list(formats_ort_models.SIZES)
ORT_TYPES = {"float32": "float", "float64": "double", "int64": "int64", "int32": "int32",
             "bool": "bool", "float16": "float16", "uint8": "uint8", "int8": "int8"}


@pytest.fixture(scope="module")
def files():
    return formats_ort_models.ort_files()


def feeds(path, sizes):
    """Inputs for an InferenceSession at `sizes`: token ids below the vocabulary, a mask
    of ones, normal floats."""
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    out = {}
    for arg in session.get_inputs():
        shape = [d if isinstance(d, int) else sizes[d] for d in arg.shape]
        if arg.type == "tensor(int64)":
            out[arg.name] = (np.ones(shape, np.int64) if "mask" in arg.name
                             else rng.integers(0, 500, shape, dtype=np.int64))
        else:
            out[arg.name] = rng.standard_normal(shape).astype(np.float32)
    return out


def sized(path, sizes):
    """(model, graph, types, GraphCost) of wetron's reading of `path` at `sizes`."""
    m = wetron.open(path)
    g, shaped, result, _, _ = cost.analyse(m, sizes)
    return m, g, shaped.types, result


def onnx_dims(vi):
    t = vi.type.tensor_type
    return ("tensor", helper.tensor_dtype_to_np_dtype(t.elem_type).name,
            tuple(d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value")
                  else None for d in t.shape.dim))


def onnx_attribute(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return ("tensor", v.name, tuple(v.dims))
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode() for x in v]
    return list(v) if isinstance(v, (list, tuple)) or hasattr(v, "__len__") else v


def wetron_attribute(a):
    if a.type == "tensor":
        return ("tensor", a.value.name, tuple(a.value.dims))
    return list(a.value) if isinstance(a.value, (list, tuple)) else a.value


# --- the graph: the .ort against the .optimized.onnx saved with it -----------------------

@pytest.mark.parametrize("name", NAMES)
def test_graph_matches_the_optimized_onnx(files, name):
    e = files[name]
    m = wetron.open(e["ort"])
    om = onnx.load(e["optimized"])
    g, og = m.graphs[0], om.graph
    assert m.format == "ONNX Runtime" and m.format_version.startswith("ORT format ")
    assert not m.warnings and len(m.graphs) == 1
    assert m.producer == f"{om.producer_name} {om.producer_version}"
    assert m.imports == [(o.domain, o.version) for o in om.opset_import]
    assert ["ir_version", str(om.ir_version)] in m.metadata

    assert len(g.nodes) == len(og.node)
    ops = collections.Counter((n.domain, n.op) for n in g.nodes)
    assert ops == collections.Counter((n.domain, n.op_type) for n in og.node)
    assert {op for domain, op in ops if domain == "com.microsoft"} <= set(formats_ort_models.FUSED_OPS)
    ours = {n.name: n for n in g.nodes}
    assert len(ours) == len(g.nodes)
    for n in og.node:
        w = ours[n.name]
        assert (w.op, w.domain, w.inputs, w.outputs) == \
            (n.op_type, n.domain, list(n.input), list(n.output)), n.name
        assert {a.name: wetron_attribute(a) for a in w.attributes} == \
            {a.name: onnx_attribute(a) for a in n.attribute}, n.name
    produced = set(g.inputs) | {t.name for t in g.initializers}
    for n in g.nodes:          # sorted producers first (ORT keeps its node-index order)
        assert all(not x or x in produced for x in n.inputs), n.name
        produced.update(n.outputs)

    weights = {t.name: t for t in g.initializers}
    assert sorted(weights) == sorted(t.name for t in og.initializer)
    for t in og.initializer:
        want = numpy_helper.to_array(t)
        w = weights[t.name]
        assert (w.dims, w.dtype) == (tuple(t.dims), want.dtype.name), t.name
        got = m.tensor_values(w.index, limit=4)["values"]
        assert got == pytest.approx(want.ravel()[:4].tolist(), rel=0, abs=0), t.name

    assert g.inputs == [i.name for i in og.input]
    assert g.outputs == [o.name for o in og.output]
    for vi in list(og.input) + list(og.output) + list(og.value_info):
        assert g.types[vi.name][:3] == onnx_dims(vi), vi.name


@pytest.mark.parametrize("style", ["ort", "runtime_ort"])
@pytest.mark.parametrize("name", NAMES)
def test_inputs_outputs_and_output_shapes_match_onnxruntime(files, name, style):
    """What an InferenceSession on the .ort reports, and the shapes it computes at the
    test's sizes, against wetron's types and inferred shapes at the same sizes."""
    path, sizes = files[name][style], files[name]["sizes"]
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    m, g, types, _ = sized(path, sizes)
    weights = {t.name for t in g.initializers}
    assert [a.name for a in session.get_inputs()] == [x for x in g.inputs if x not in weights]
    assert [a.name for a in session.get_outputs()] == g.outputs
    for arg in session.get_inputs() + session.get_outputs():
        kind, dtype, dims = m.graphs[0].types[arg.name][:3]
        assert (kind, f"tensor({ORT_TYPES[dtype]})", list(dims)) == ("tensor", arg.type, arg.shape)
    results = session.run(None, feeds(path, sizes))
    for arg, value in zip(session.get_outputs(), results):
        assert types[arg.name][2] == value.shape, arg.name


@pytest.mark.parametrize("style", ["ort", "runtime_ort"])
@pytest.mark.parametrize("name", NAMES)
def test_cost_equals_the_onnx_source(files, name, style):
    """The fused graph costs what wetron counts for the ONNX model it came from: the
    same MACs (the fusions add none), and the same FLOPs (each fused op counts the ops
    it replaced), every node counted."""
    e = files[name]
    _, _, _, ours = sized(e[style], e["sizes"])
    _, _, _, source = sized(e["source"], e["sizes"])
    ours, source = cost.totals(ours), cost.totals(source)
    assert ours["unknown"] == source["unknown"] == 0, (ours["not_counted"], source["not_counted"])
    assert ours["macs"] == source["macs"] > 0
    assert ours["flops"] == source["flops"]
    if name == "transformer":
        assert ours["macs"] == 886_784   # batch 2, sequence 16


# --- the com.microsoft rules ---------------------------------------------------------------

# FLOPs per element of the activations FusedConv / FusedGemm fuse: the standalone ONNX
# ops' figures (docs/graph-schema.md, "cost").
ACTIVATION_FLOPS = {"Relu": 1, "Tanh": 1, "Sigmoid": 1, "LeakyRelu": 2, "Clip": 2,
                    "HardSigmoid": 3}


def formula(node, shapes):
    """(FLOPs, MACs) of a com.microsoft node from onnxruntime's shapes, by
    ContribOperators.md's definition of each op and the counting conventions."""
    attrs = {a.name: onnx_attribute(a) for a in node.attribute}
    given = [bool(x) for x in node.input] + [False] * 5
    ins = [shapes.get(x) if x else None for x in node.input]
    out = math.prod(shapes[node.output[0]])
    op = node.op_type
    if op == "FusedConv":       # Conv (X, W, B) + Z + activation
        macs = out * math.prod(ins[1][1:])
        return 2 * macs + out * (given[2] + given[3] + ACTIVATION_FLOPS[attrs["activation"]]), macs
    if op == "FusedGemm":       # Gemm + activation
        macs = out * (ins[0][0] if attrs.get("transA") else ins[0][1])
        return 2 * macs + out * (given[2] + ACTIVATION_FLOPS[attrs["activation"]]), macs
    if op == "FusedMatMul":     # alpha * op(A) op(B)
        assert not attrs.get("transBatchA") and not attrs.get("transBatchB")
        macs = out * (ins[0][-2] if attrs.get("transA") else ins[0][-1])
        return 2 * macs + (out if attrs.get("alpha", 1.0) != 1.0 else 0), macs
    if op == "BiasGelu":        # Gelu(A + B)
        return out * (8 + 1), 0
    if op == "FastGelu":        # Gelu's tanh approximation (+ bias)
        return out * (8 + given[1]), 0
    if op == "QuickGelu":       # x * sigmoid(alpha * x): two products and a sigmoid
        return out * 3, 0
    if op == "SkipLayerNormalization":   # LayerNormalization(input + skip (+ bias))
        return out * (7 + 1 + given[4]), 0
    if op == "SkipSimplifiedLayerNormalization":   # RMSNormalization(input + skip (+ bias))
        return out * (5 + 1 + given[3]), 0
    raise AssertionError(f"no formula for {op}")


def onnxruntime_shapes(path, inputs, values):
    """{value: shape} of `values` as onnxruntime computes them: the optimized model run
    with those values made graph outputs (its own optimizations off, so that the nodes
    run as saved)."""
    model = onnx.load(path)
    present = {o.name for o in model.graph.output}
    for v in values:
        if v not in present:
            model.graph.output.append(onnx.ValueInfoProto(name=v))
            present.add(v)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, (r.shape for r in session.run(names, inputs))))


def test_contrib_op_shapes_and_cost_match_onnxruntime(files):
    seen = collections.Counter()
    for name, e in files.items():
        fused = [n for n in onnx.load(e["optimized"]).graph.node if n.domain == "com.microsoft"]
        values = {x for n in fused for x in list(n.input) + list(n.output) if x}
        actual = onnxruntime_shapes(e["optimized"], feeds(e["ort"], e["sizes"]), values)
        m, g, types, result = sized(e["ort"], e["sizes"])
        index = {n.name: i for i, n in enumerate(g.nodes)}
        for node in fused:
            i = index[node.name]
            for v in node.output:
                assert types[v][2] == actual[v], (name, node.op_type, v)
            assert (result.flops[i], result.macs[i]) == formula(node, actual), (name, node.name)
            seen[node.op_type] += 1
    assert set(seen) == set(formats_ort_models.FUSED_OPS), seen


# One com.microsoft node per model, written with onnx.helper and run by onnxruntime:
# the optional inputs and outputs the converted models leave out, and float16.
# case: (op, element type, inputs [(name, dims, "batch" set to 3)], outputs, attributes)
F32, F16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
CONTRIB_CASES = {
    "FusedConv with Z, LeakyRelu": ("FusedConv", F32, [("X", ["batch", 3, 9, 9]), ("W", [4, 3, 3, 3]),
                                                      ("B", [4]), ("Z", ["batch", 4, 4, 4])],
                                    1, dict(activation="LeakyRelu", activation_params=[0.1],
                                            strides=[2, 2])),
    "FusedConv without bias, grouped": ("FusedConv", F32, [("X", ["batch", 4, 8, 8]),
                                                           ("W", [6, 2, 3, 3])],
                                        1, dict(activation="Relu", group=2, pads=[1, 1, 1, 1])),
    "FusedGemm transA, Tanh": ("FusedGemm", F32, [("A", [6, 5]), ("B", [6, 7]), ("C", [7])],
                               1, dict(activation="Tanh", transA=1)),
    "FusedMatMul transB, alpha": ("FusedMatMul", F32, [("A", ["batch", 3, 4, 5]),
                                                       ("B", ["batch", 3, 6, 5])],
                                  1, dict(transB=1, alpha=0.5)),
    "FusedMatMul transA, broadcast": ("FusedMatMul", F32, [("A", ["batch", 1, 5, 4]),
                                                           ("B", [3, 5, 6])], 1, dict(transA=1)),
    "BiasGelu": ("BiasGelu", F32, [("A", ["batch", 4, 8]), ("B", [8])], 1, {}),
    "FastGelu with bias": ("FastGelu", F32, [("X", ["batch", 4, 8]), ("bias", [8])], 1, {}),
    "FastGelu": ("FastGelu", F32, [("X", ["batch", 4, 8])], 1, {}),
    "QuickGelu": ("QuickGelu", F32, [("X", ["batch", 4, 8])], 1, dict(alpha=1.5)),
    "SkipLayerNormalization, all outputs": (
        "SkipLayerNormalization", F32, [("input", ["batch", 4, 8]), ("skip", ["batch", 4, 8]),
                                        ("gamma", [8]), ("beta", [8]), ("bias", [8])],
        4, dict(epsilon=1e-5)),
    "SkipLayerNormalization float16": (
        "SkipLayerNormalization", F16, [("input", ["batch", 4, 8]), ("skip", ["batch", 4, 8]),
                                        ("gamma", [8]), ("beta", [8]), ("bias", [8])],
        4, dict(epsilon=1e-5)),
    "SkipSimplifiedLayerNormalization with bias": (
        "SkipSimplifiedLayerNormalization", F32, [("input", ["batch", 4, 8]),
                                                  ("skip", ["batch", 4, 8]), ("gamma", [8]),
                                                  ("bias", [8])], 4, dict(epsilon=1e-5)),
}


def contrib_model(op, elem, inputs, outputs, attrs):
    names = [f"y{k}" for k in range(outputs)]
    node = helper.make_node(op, [n for n, _ in inputs], names, name="node",
                            domain="com.microsoft", **attrs)
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info(n, elem, dims) for n, dims in inputs],
        [onnx.ValueInfoProto(name=n) for n in names])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 9        # what this onnxruntime reads
    return model, node


@pytest.mark.parametrize("case", list(CONTRIB_CASES))
def test_contrib_rule_of_one_node_matches_onnxruntime(case):
    op, elem, inputs, outputs, attrs = CONTRIB_CASES[case]
    model, node = contrib_model(op, elem, inputs, outputs, attrs)
    data = model.SerializeToString()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    results = session.run(None, {n: rng.standard_normal([3 if d == "batch" else d for d in dims])
                                 .astype(dtype) for n, dims in inputs})
    m = wetron.open(wetron.BytesSource(data, "contrib.onnx"))
    _, shaped, result, _, _ = cost.analyse(m, {"batch": 3})
    for name, value in zip(node.output, results):
        assert shaped.types[name][1:3] == (value.dtype.name, value.shape), name
    actual = {n: (3,) + tuple(dims[1:]) if dims[0] == "batch" else tuple(dims) for n, dims in inputs}
    actual.update(zip(node.output, (r.shape for r in results)))
    assert (result.flops[0], result.macs[0]) == formula(node, actual)


def test_operators_table_names_the_onnx_domain_and_opset(files):
    m = wetron.open(files["cnn"]["ort"])
    ops = m.to_dict()["operators"]
    opset = dict(m.imports)[""]
    assert ops[":Conv"]["domain"] == "ai.onnx" and ops[":Conv"]["opset"] == opset
    assert ops[":Conv"]["category"] == "conv" and ops[":MaxPool"]["category"] == "pooling"
    assert ops["com.microsoft:FusedConv"]["domain"] == "com.microsoft"
    assert ops["com.microsoft:FusedConv"]["inputs"] == ["X", "W", "B", "Z"]


# --- hostile files ------------------------------------------------------------------------
# Made with the flatbuffers package's Builder, field ids of ort.fbs (formats/ort.py).

def _strings(b, names):
    offsets = [b.CreateString(s) for s in names]
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _offsets(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _node(b, op="Relu", inputs=("x",), outputs=("y",), attributes=None, input_vector=None):
    op = b.CreateString(op)
    ins = input_vector if input_vector is not None else _strings(b, inputs)
    outs = _strings(b, outputs)
    b.StartObject(13)
    b.PrependUOffsetTRelativeSlot(5, op, 0)
    b.PrependUOffsetTRelativeSlot(8, ins, 0)
    b.PrependUOffsetTRelativeSlot(9, outs, 0)
    if attributes is not None:
        b.PrependUOffsetTRelativeSlot(10, attributes, 0)
    return b.EndObject()


def _graph(b, nodes=None, initializers=None, node_args=None):
    nodes = _offsets(b, [_node(b)]) if nodes is None else nodes
    b.StartObject(9)
    b.PrependUOffsetTRelativeSlot(2, nodes, 0)
    if initializers is not None:
        b.PrependUOffsetTRelativeSlot(0, initializers, 0)
    if node_args is not None:
        b.PrependUOffsetTRelativeSlot(1, node_args, 0)
    return b.EndObject()


def _tensor(b, name, dims, raw=b"\x00" * 4):
    name = b.CreateString(name)
    data = b.CreateByteVector(raw)
    b.StartVector(8, len(dims), 8)
    for d in reversed(dims):
        b.PrependInt64(d)
    dims = b.EndVector()
    b.StartObject(7)
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependUOffsetTRelativeSlot(2, dims, 0)
    b.PrependInt32Slot(3, 1, 0)            # float
    b.PrependUOffsetTRelativeSlot(4, data, 0)
    return b.EndObject()


def _session(b, graph):
    version = b.CreateString("6")
    b.StartObject(10)
    b.PrependUOffsetTRelativeSlot(7, graph, 0)
    b.PrependInt64Slot(0, 9, 0)
    model = b.EndObject()
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, version, 0)
    b.PrependUOffsetTRelativeSlot(1, model, 0)
    b.Finish(b.EndObject(), file_identifier=b"ORTM")
    return bytes(b.Output())


def built(make):
    b = flatbuffers.Builder(1024)
    return _session(b, make(b))


def nested_graphs(depth):
    """Graph > node > attribute (type graph) > graph ... `depth` times."""
    def make(b):
        g = _graph(b)
        for _ in range(depth):
            name = b.CreateString("body")
            b.StartObject(13)
            b.PrependUOffsetTRelativeSlot(0, name, 0)
            b.PrependInt32Slot(2, 5, 0)            # GRAPH
            b.PrependUOffsetTRelativeSlot(7, g, 0)
            attributes = _offsets(b, [b.EndObject()])
            g = _graph(b, nodes=_offsets(b, [_node(b, "Loop", attributes=attributes)]))
        return g
    return built(make)


def nested_types(depth):
    """A node arg whose type is a sequence of a sequence of ... `depth` deep."""
    def make(b):
        b.StartObject(3)
        t = b.EndObject()
        for _ in range(depth):
            b.StartObject(1)
            b.PrependUOffsetTRelativeSlot(0, t, 0)
            seq = b.EndObject()
            b.StartObject(3)
            b.PrependUint8Slot(1, 2, 0)            # TypeInfoValue.sequence_type
            b.PrependUOffsetTRelativeSlot(2, seq, 0)
            t = b.EndObject()
        name = b.CreateString("x")
        b.StartObject(3)
        b.PrependUOffsetTRelativeSlot(0, name, 0)
        b.PrependUOffsetTRelativeSlot(2, t, 0)
        return _graph(b, node_args=_offsets(b, [b.EndObject()]))
    return built(make)


def many_nodes(count):
    """`count` entries of the nodes vector, all one node table."""
    def make(b):
        node = _node(b)
        b.StartVector(4, count, 4)
        for _ in range(count):
            b.PrependUOffsetTRelative(node)
        return _graph(b, nodes=b.EndVector())
    return built(make)


def shared_vectors(nodes, refs, length):
    """`nodes` nodes sharing one inputs vector of `refs` entries naming one string of
    `length` bytes: a few kB that would read as nodes * refs names."""
    def make(b):
        s = b.CreateString("x" * length)
        b.StartVector(4, refs, 4)
        for _ in range(refs):
            b.PrependUOffsetTRelative(s)
        inputs = b.EndVector()
        return _graph(b, nodes=_offsets(b, [_node(b, input_vector=inputs)
                                            for _ in range(nodes)]))
    return built(make)


def overlapping_strings(count, length):
    """A node whose inputs are `count` strings that overlap, each `length` bytes, all
    inside one stretch of the file whose every word reads as the length `length`."""
    def make(b):
        stretch = b.CreateByteVector(struct.pack("<I", length) * (count + length // 4 + 1))
        b.StartVector(4, count, 4)
        for k in reversed(range(count)):
            b.PrependUOffsetTRelative(stretch - 4 * (k + 1))   # the k-th word of the stretch
        return _graph(b, nodes=_offsets(b, [_node(b, input_vector=b.EndVector())]))
    return built(make)


def patched(data, position, value):
    out = bytearray(data)
    out[position:position + 4] = struct.pack("<I", value)
    return bytes(out)


def _real_positions(data):
    """Length words of some vectors and strings of a real .ort file."""
    r = fb.Reader(wetron.BytesSource(data, "x.ort"), "ONNX Runtime")
    graph = r.root().table(1).table(7)
    node = graph.tables(2)[0]
    initializer = graph.tables(0)[0]
    return {"nodes": graph._target(2), "node inputs": node._target(8),
            "node name": node._target(0), "raw data": initializer._target(4),
            "dims": initializer._target(2), "root": 0}


def test_not_an_ort_file_is_clear():
    with pytest.raises(wetron.ModelError, match="no 'ORTM' identifier"):
        ort_format.parse(wetron.BytesSource(b"\x10\x00\x00\x00ABCD" + b"\x00" * 40, "x.ort"))
    with pytest.raises(wetron.ModelError, match="outside the file"):
        wetron.open(wetron.BytesSource(b"\xf0\xff\xff\x7fORTM" + b"\x00" * 40, "y.ort"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("field", ["nodes", "node inputs", "node name", "raw data", "dims"])
@pytest.mark.parametrize("value", [0x7FFFFFFF, 0xFFFFFFFF, 1 << 28])
def test_huge_lengths_in_a_real_file(files, field, value):
    data = open(files["fusions"]["ort"], "rb").read()
    position = _real_positions(data)[field]
    with pytest.raises(wetron.ModelError, match="outside the file") as info:
        wetron.open(wetron.BytesSource(patched(data, position, value), "huge.ort"))
    test_fuzz.check_error(info.value, "huge.ort")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("value", [0xFFFFFFF0, 0x7FFFFFFF, 3, 1 << 20])
def test_offsets_out_of_range_in_a_real_file(files, value):
    """The root offset, and the offset of the session's model, pointing off the file or
    into the middle of something else."""
    data = open(files["fusions"]["ort"], "rb").read()
    r = fb.Reader(wetron.BytesSource(data, "x.ort"), "ONNX Runtime")
    model_field = r.root().field(1)
    for position in (0, model_field):
        test_fuzz.exercise(patched(data, position, value), "offset.ort")


@pytest.mark.timeout(120)
def test_truncated_real_files(files):
    for name in ("fusions", "transformer"):
        data = open(files[name]["ort"], "rb").read()
        # the file ends with the version string "6": its length word, "6", NUL, padding
        assert data[-8:] == b"\x01\x00\x00\x006\x00\x00\x00"
        for cut in (1, 7, 8, 12, 64, 1000, len(data) // 3, len(data) // 2, len(data) - 4):
            with pytest.raises(wetron.ModelError) as info:
                wetron.open(wetron.BytesSource(data[:cut], "cut.ort"))
            test_fuzz.check_error(info.value, "cut.ort")
        whole = wetron.open(files[name]["ort"])
        cut = test_fuzz.exercise(data[:-1], "cut.ort")   # only padding lost
        assert cut is not None and len(cut.graphs[0].nodes) == len(whole.graphs[0].nodes)


HOSTILE = {
    # (bytes, what the error says)
    "graphs nested 40 deep": (lambda: nested_graphs(40), "nested deeper than 32"),
    "types nested 40 deep": (lambda: nested_types(40), "nested too deeply"),
    "a million and one nodes": (lambda: many_nodes(MAX_NODES + 1), "nodes"),
    "rank 65": (lambda: built(lambda b: _graph(b, initializers=_offsets(
        b, [_tensor(b, "w", [1] * 65)]))), "more than 64 dimensions"),
    "negative dim": (lambda: built(lambda b: _graph(b, initializers=_offsets(
        b, [_tensor(b, "w", [-3, 2])]))), "negative dimension"),
    "nodes sharing one inputs vector": (lambda: shared_vectors(1000, 1000, 1000),
                                        "tables sharing vectors"),
    "overlapping strings": (lambda: overlapping_strings(20000, 40000), "overlapping strings"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(case):
    make, message = HOSTILE[case]
    data = make()
    with pytest.raises(wetron.ModelError, match=message) as info:
        wetron.open(wetron.BytesSource(data, "hostile.ort"))
    test_fuzz.check_error(info.value, "hostile.ort")


def test_within_the_limits_opens():
    """The builder's files are real ORT files: at the limits they open."""
    m = test_fuzz.exercise(nested_graphs(30), "nested.ort")
    assert m is not None and len(m.graphs) == 31
    m = test_fuzz.exercise(nested_types(30), "types.ort")
    assert m is not None and m.graphs[0].types["x"][0] == "sequence"
    m = test_fuzz.exercise(shared_vectors(10, 100, 100), "shared.ort")
    assert m is not None and len(m.graphs[0].nodes) == 10
    assert m.graphs[0].nodes[0].inputs == ["x" * 100] * 100


# --- fuzz -------------------------------------------------------------------------------
SEEDS = {}
_WORDS = [0, 1, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000]


def _seed(files, name):
    if name not in SEEDS:
        with open(files[name]["ort"], "rb") as f:
            SEEDS[name] = f.read()
    return SEEDS[name]


@pytest.mark.timeout(300)
def test_mutated_ort_files_fail_cleanly(files):
    """Words and bytes of real .ort files overwritten at random places, and cut: they
    open or fail with one ModelError line naming the file (test_fuzz.exercise)."""
    @settings(max_examples=4 * test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(name=st.sampled_from(["fusions", "cnn", "transformer"]),
           edits=st.lists(st.tuples(st.floats(0, 1), st.one_of(
               st.binary(min_size=1, max_size=4),
               st.sampled_from(_WORDS).map(lambda w: struct.pack("<I", w)))),
               min_size=1, max_size=6),
           cut=st.one_of(st.none(), st.floats(0, 1)))
    def run(name, edits, cut):
        data = bytearray(_seed(files, name))
        for where, new in edits:
            at = int(where * (len(data) - 1))
            data[at:at + len(new)] = new
        if cut is not None:
            data = data[:max(8, int(cut * len(data)))]
        test_fuzz.exercise(bytes(data), "fuzzed.ort")
    run()
