"""ONNX's op families (py/wetron/ops/onnx/), driven by the registry itself:

- every ai.onnx op with a shape rule is run on the onnx wheel's backend node test cases
  of that op (onnx.backend.test.case.node.collect_testcases(), the one-node models
  tests/models.py writes), its output types removed, at the model's opset: the
  inferred outputs must be the declared (reference) ones; an op without a test case
  is listed in NO_CASE with the reason, and its rule is checked against the output
  shapes and dtypes onnxruntime gives on one-node models built here (ORT_CASES);
- every op with a shape rule has a cost rule, or is in NO_COST with the reason;
- each family's cost rule against the formula written here, on small models built with
  onnx.helper;
- a real Hugging Face BERT export (MiniLM's size, tests/bert_models.py): with the
  sequence length bound, its MACs are BERT's analytic count.
"""
import collections
import functools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import bert_models
import models
import wetron
from wetron import cost, ops, shapes

# Ops with a shape rule and no backend node test case in the onnx wheel, and why (each
# checked against onnxruntime instead: ORT_CASES).
NO_CASE = {
    "GlobalLpPool": "the onnx wheel has no test case for it",
    "MaxRoiPool": "the onnx wheel has no test case for it",
    "Multinomial": "random output: no reference data, so no test case",
    "RandomNormal": "random output: no reference data, so no test case",
    "RandomNormalLike": "random output: no reference data, so no test case",
    "RandomUniform": "random output: no reference data, so no test case",
    "RandomUniformLike": "random output: no reference data, so no test case",
}
# Ops with a shape rule and no cost rule (their nodes are "not counted"), and why.
NO_COST = {
    "If": "control flow: the cost of a subgraph is not counted in its parent's node",
    "Loop": "control flow: the cost of a subgraph is not counted in its parent's node",
    "Det": "the work depends on the runtime's method (LU, ...)",
    "MaxRoiPool": "the windows' sizes depend on the boxes' values",
    "RoiAlign": "the samples per bin depend on the boxes' values (sampling_ratio 0)",
    "NonMaxSuppression": "the work depends on the boxes' values",
    "SoftmaxCrossEntropyLoss": "training op; the work depends on the labels ignored",
    "NegativeLogLikelihoodLoss": "training op; the work depends on the labels ignored",
    "GridSample": "the taps depend on the mode and on samples out of bounds",
    "AffineGrid": "not described (a small generator of the sampling grid)",
    "RandomNormal": "the work of a random number generator depends on the runtime's",
    "RandomUniform": "the work of a random number generator depends on the runtime's",
    "RandomNormalLike": "the work of a random number generator depends on the runtime's",
    "RandomUniformLike": "the work of a random number generator depends on the runtime's",
    "Bernoulli": "the work of a random number generator depends on the runtime's",
    "Multinomial": "the work of a random number generator depends on the runtime's",
}
# Ops whose outputs' sizes depend on input values (the test cases feed axes, shapes,
# sizes as inputs): for them a known rank counts as inferred.
DATA_DEPENDENT = {"NonZero", "Compress", "NonMaxSuppression", "Unique", "Range",
                  "ConstantOfShape", "Expand", "Reshape", "Tile", "OneHot", "Resize",
                  "Upsample", "Slice", "Pad", "TopK", "Split", "CenterCropPad", "Squeeze",
                  "Unsqueeze", "AffineGrid", "Loop", "If", "ReduceL1", "ReduceL2",
                  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
                  "ReduceProd", "ReduceSum", "ReduceSumSquare"}


def _shape_rules():
    return sorted({op for domain, op, _, rule in ops.all_rules()
                   if domain == "ai.onnx" and rule.shape is not None})


@functools.lru_cache(maxsize=None)
def _cases():
    """op -> [(name, path)] of the backend node models made of one node of that op."""
    out = collections.defaultdict(list)
    for name, path in models.backend_node_models():
        if name.startswith("data/"):
            continue
        try:
            m = wetron.open(path)
        except wetron.ModelError:
            continue
        nodes = m.graphs[0].nodes
        if len(nodes) == 1 and nodes[0].domain in ("", "ai.onnx"):
            out[nodes[0].op].append((name, path))
    return out


def test_the_exemptions_are_current():
    """Each NO_CASE op really has no case (else the entry is stale), each NO_COST op
    really has no cost rule, and all are ops with a shape rule."""
    rules = set(_shape_rules())
    assert set(NO_CASE) <= rules and set(NO_COST) <= rules
    assert not set(NO_CASE) & set(_cases())
    for op in NO_COST:
        assert ops.lookup("ai.onnx", op).cost is None, op


@pytest.mark.parametrize("op", _shape_rules())
def test_shape_rule_on_backend_cases(op):
    if op in NO_CASE:
        pytest.skip(NO_CASE[op])
    cases = _cases()[op]
    assert cases, f"{op} has a shape rule but no backend test case: list it in NO_CASE"
    wrong, compared, known = [], 0, 0
    for name, path in cases:
        m = wetron.open(path)
        g = m.graphs[0]
        expected = {o: g.types.pop(o) for o in g.outputs if o in g.types}
        result = shapes.infer(g, opsets=m.opsets(g))
        for out, t in expected.items():
            if t[0] != "tensor" or t[2] is None:
                continue
            compared += 1
            ours = result.types.get(out)
            if ours is None or ours[2] is None:
                continue
            if len(ours[2]) != len(t[2]) or ours[1] not in (t[1], "undefined") or \
                    any(a is not None and a != b for a, b in zip(ours[2], t[2])):
                wrong.append((name, out, ours[1:3], t[1:3]))
            elif None not in ours[2] or op in DATA_DEPENDENT:
                known += 1
    assert not wrong, wrong[:10]
    if compared:
        assert known > 0, f"{op}: no output of its {len(cases)} cases inferred"


# --- the ops without a backend test case, against onnxruntime -----------------------------
# (op, attributes, inputs [(name, numpy array, fed: else an initializer)], case label):
# one node with output "y", opset ORT_OPSET; onnxruntime's output is the oracle.
ORT_OPSET = 21
_RNG = np.random.default_rng(0)
_F = lambda *s: _RNG.standard_normal(s).astype(np.float32)  # noqa: E731
ORT_CASES = [
    ("GlobalLpPool", {}, [("x", _F(2, 3, 5, 4), True)], "2-d, p=2"),
    ("GlobalLpPool", {"p": 1}, [("x", _F(1, 4, 7), True)], "1-d, p=1"),
    ("GlobalLpPool", {"p": 3}, [("x", _F(1, 2, 3, 4, 5), True)], "3-d, p=3"),
    ("MaxRoiPool", {"pooled_shape": [2, 3]},
     [("x", _F(1, 3, 8, 8), True),
      ("rois", np.array([[0, 0, 0, 4, 4], [0, 1, 2, 7, 6]], np.float32), True)], "two rois"),
    ("MaxRoiPool", {"pooled_shape": [4, 4], "spatial_scale": 0.5},
     [("x", _F(2, 5, 16, 12), True),
      ("rois", np.array([[1, 0, 0, 20, 20], [0, 2, 2, 8, 10], [1, 4, 4, 6, 6]], np.float32),
       True)], "scaled, three rois"),
    ("Multinomial", {"sample_size": 4}, [("x", np.log(np.full((3, 5), 0.2, np.float32)), True)],
     "int32 samples (default)"),
    ("Multinomial", {"sample_size": 2, "dtype": TensorProto.INT64},
     [("x", np.log(np.full((2, 6), 1 / 6, np.float32)), True)], "int64 samples"),
    ("RandomNormal", {"shape": [2, 3, 4]}, [], "float (default)"),
    ("RandomNormal", {"shape": [5], "dtype": TensorProto.DOUBLE, "mean": 1.0, "scale": 2.0},
     [], "double"),
    ("RandomUniform", {"shape": [3, 1, 2]}, [], "float (default)"),
    ("RandomUniform", {"shape": [4, 4], "dtype": TensorProto.DOUBLE, "low": -1.0, "high": 1.0},
     [], "double"),
    ("RandomNormalLike", {}, [("x", _F(3, 4), True)], "dtype of its input"),
    ("RandomNormalLike", {"dtype": TensorProto.DOUBLE}, [("x", _F(2, 1, 5), True)],
     "dtype attribute"),
    ("RandomUniformLike", {}, [("x", _F(6), True)], "dtype of its input"),
    ("RandomUniformLike", {"dtype": TensorProto.DOUBLE}, [("x", _F(2, 2, 2, 2), True)],
     "dtype attribute"),
]
_NP_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64",
              np.dtype(np.int32): "int32", np.dtype(np.int64): "int64"}


def test_every_op_without_a_backend_case_has_an_onnxruntime_case():
    assert {case[0] for case in ORT_CASES} == set(NO_CASE)


@pytest.mark.parametrize("op, attrs, inputs, label", ORT_CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in ORT_CASES])
def test_shape_rule_against_onnxruntime(op, attrs, inputs, label):
    """The op's inferred output type is the shape and dtype onnxruntime computes."""
    ort = pytest.importorskip("onnxruntime")
    node = helper.make_node(op, [n for n, _, _ in inputs], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a, fed in inputs if fed],
        [onnx.ValueInfoProto(name="y")],   # untyped: ours inferred, ORT's from running it
        [numpy_helper.from_array(a, n) for n, a, fed in inputs if not fed])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ORT_OPSET)],
                              ir_version=10)   # (what this onnxruntime reads, for opset 21)
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {n: a for n, a, fed in inputs if fed})
    m = wetron.open(wetron.BytesSource(data, "m.onnx"))
    g = m.graphs[0]
    ours = shapes.infer(g, opsets=m.opsets(g)).types.get("y")
    assert ours is not None and ours[0] == "tensor", (op, label, ours)
    assert (ours[1], ours[2]) == (_NP_DTYPES[y.dtype], y.shape), (op, label)


@pytest.mark.parametrize("op", _shape_rules())
def test_every_shape_rule_has_a_cost_rule(op):
    rule = ops.lookup("ai.onnx", op)
    assert (rule.cost is not None) != (op in NO_COST), op


# --- cost rules against their formulas ---------------------------------------------------

def _cost(nodes, inputs, outputs, inits=(), opset=23):
    """(flops, macs) per node of a model built with onnx.helper."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [onnx.ValueInfoProto(name=n) for n in outputs],   # untyped: inferred
        [numpy_helper.from_array(np.ones(s, np.float32), n) for n, s in inits])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m = wetron.open(wetron.BytesSource(proto.SerializeToString(), "m.onnx"))
    g, shaped, c, _, _ = cost.analyse(m)
    return list(zip(c.flops, c.macs))


def test_conv_cost():
    n, cin, h, w, cout, k, group = 2, 6, 9, 7, 4, 3, 2
    oh, ow = (h + 2 - k) // 2 + 1, (w + 2 - k) // 2 + 1   # pads 1, stride 2
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2],
                            group=group)
    macs = n * cout * oh * ow * (cin // group) * k * k
    out = n * cout * oh * ow
    assert _cost([conv], [("x", [n, cin, h, w])], ["y"],
                 [("w", [cout, cin // group, k, k]), ("b", [cout])]) == [(2 * macs + out, macs)]
    t = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])
    macs = n * cin * h * w * cout * k * k           # each input spread over Cout x k x k
    assert _cost([t], [("x", [n, cin, h, w])], ["y"], [("w", [cin, cout, k, k])]) == \
        [(2 * macs, macs)]


def test_matmul_and_gemm_cost():
    mm = helper.make_node("MatMul", ["a", "b"], ["y"])
    assert _cost([mm], [("a", [3, 5, 6]), ("b", [6, 7])], ["y"]) == \
        [(2 * 3 * 5 * 7 * 6, 3 * 5 * 7 * 6)]
    gemm = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1)
    m, k, n = 4, 10, 3
    assert _cost([gemm], [("a", [m, k])], ["y"], [("b", [n, k]), ("c", [n])]) == \
        [(2 * m * n * k + m * n, m * n * k)]
    ein = helper.make_node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik")
    assert _cost([ein], [("a", [2, 3, 4]), ("b", [2, 4, 5])], ["y"]) == \
        [(2 * 2 * 3 * 4 * 5, 2 * 3 * 4 * 5)]


def test_pool_cost():
    mp = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    out = 1 * 3 * 3 * 3                              # (8 - 3) // 2 + 1 = 3
    assert _cost([mp], [("x", [1, 3, 8, 8])], ["y"]) == [(out * 9, 0)]
    gp = helper.make_node("GlobalAveragePool", ["x"], ["y"])
    assert _cost([gp], [("x", [1, 3, 8, 8])], ["y"]) == [(3 * 64, 0)]


def test_reduce_cost():
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["s"]),
             helper.make_node("ReduceL2", ["x", "axes"], ["l2"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [4, 5, 6])],
                              [onnx.ValueInfoProto(name=o) for o in ("s", "l2")],
                              [axes])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    m = wetron.open(wetron.BytesSource(proto.SerializeToString(), "m.onnx"))
    _, shaped, c, _, _ = cost.analyse(m)
    assert shaped.types["s"][2] == (4, 1, 6)
    assert list(zip(c.flops, c.macs)) == [(120, 0), (2 * 120, 0)]   # in_elems, x2 squared


def test_elementwise_cost():
    nodes = [helper.make_node("Add", ["x", "b"], ["s"]),
             helper.make_node("Gelu", ["s"], ["g"]),
             helper.make_node("Sum", ["x", "s", "g"], ["t"])]
    n = 2 * 3 * 4
    assert _cost(nodes, [("x", [2, 3, 4])], ["t"], [("b", [4])]) == \
        [(n, 0), (8 * n, 0), (2 * n, 0)]   # 1 per element, Gelu 8, Sum of 3: 2


def test_normalization_cost():
    nodes = [helper.make_node("LayerNormalization", ["x", "s", "b"], ["ln"], axis=-1),
             helper.make_node("Softmax", ["ln"], ["sm"], axis=-1),
             helper.make_node("BatchNormalization", ["x4", "c", "c", "c", "c"], ["bn"])]
    n, n4 = 2 * 3 * 8, 2 * 3 * 4 * 4
    assert _cost(nodes, [("x", [2, 3, 8]), ("x4", [2, 3, 4, 4])], ["sm", "bn"],
                 [("s", [8]), ("b", [8]), ("c", [3])]) == [(7 * n, 0), (5 * n, 0), (2 * n4, 0)]


def test_attention_cost():
    b, heads, q_seq, kv_seq, hk, hv = 2, 4, 5, 7, 8, 6
    att = helper.make_node("Attention", ["q", "k", "v"], ["y"])
    scores = b * heads * q_seq * kv_seq
    macs = scores * (hk + hv)
    assert _cost([att], [("q", [b, heads, q_seq, hk]), ("k", [b, heads, kv_seq, hk]),
                         ("v", [b, heads, kv_seq, hv])], ["y"]) == [(2 * macs + 5 * scores, macs)]


def test_rnn_cost():
    seq, batch, inputs, hidden = 5, 2, 3, 4
    for op, gates, cell in (("LSTM", 4, 9), ("GRU", 3, 8), ("RNN", 1, 1)):
        node = helper.make_node(op, ["x", "w", "r"], ["y"], hidden_size=hidden)
        steps = seq * batch * 1
        macs = steps * gates * hidden * (inputs + hidden)
        assert _cost([node], [("x", [seq, batch, inputs])], ["y"],
                     [("w", [1, gates * hidden, inputs]), ("r", [1, gates * hidden, hidden])]) \
            == [(2 * macs + steps * hidden * (2 * gates + cell), macs)], op


# --- since-versions ---------------------------------------------------------------------

@pytest.mark.parametrize("opset, want", [(11, (4, 1, 6)), (18, (4, 5, 6))])
def test_each_form_reads_its_own_version(opset, want):
    """ReduceMean's axes are an attribute before opset 18 and an input from 18 on: the
    same node read at 11 reduces axis 1; at 18 the attribute is not part of the op, no
    axes input is given and noop_with_empty_axes passes the input through."""
    node = helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], noop_with_empty_axes=1)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [4, 5, 6])],
                              [onnx.ValueInfoProto(name="y")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m = wetron.open(wetron.BytesSource(proto.SerializeToString(), "m.onnx"))
    _, shaped, _, _, _ = cost.analyse(m)
    assert shaped.types["y"][2] == want


# --- a real BERT ------------------------------------------------------------------------

def test_minilm_bert_macs_are_berts():
    """A Hugging Face BERT export of MiniLM's size: the position ids are a Slice of a
    [1, 512] buffer to the sequence length, min(sequence,512), which broadcasts against
    the word embeddings to `sequence`; so every MatMul is counted, and with the sequence
    bound the MACs are BERT's: per layer 4*s*h*h (Q, K, V, output projections) +
    2*s*s*h (scores, context) + 2*s*h*i (FFN), plus the pooler's h*h (embeddings are
    lookups). The shapes are inferred symbolically and evaluated at the bindings
    (graph_cost); cost.analyse, which substitutes the sizes first, agrees."""
    m = wetron.open(bert_models.minilm_bert())
    g = m.graphs[0]
    cfg = bert_models.CONFIG
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    result = shapes.infer(g, opsets=m.opsets(g))
    slices = [n for n in g.nodes if n.op == "Slice" and "embeddings" in n.name]
    assert [result.types[n.outputs[0]][2] for n in slices] == [(1, "min(sequence,512)")]
    embeddings = [n for n in g.nodes if n.op == "LayerNormalization" and "embeddings" in n.name]
    assert [result.types[n.outputs[0]][2] for n in embeddings] == [("batch", "sequence", h)]
    matmuls = [k for k, n in enumerate(g.nodes) if n.op in ("MatMul", "Gemm")]
    assert len(matmuls) == layers * 8 + 1   # Q, K, V, scores, context, out, FFN x 2; pooler
    for b, s in ((1, 128), (2, 40)):
        expected = b * (layers * (4 * s * h * h + 2 * s * s * h + 2 * s * h * i) + h * h)
        bindings = {"batch": b, "sequence": s}
        c = cost.graph_cost(g, result.types, bindings, m.opsets(g))
        assert all(c.macs[k] for k in matmuls) and c.flops.count(None) == 0
        assert abs(cost.totals(c)["macs"] - expected) <= expected // 100, \
            (cost.totals(c)["macs"], expected)
        assert cost.totals(cost.analyse(m, bindings)[2])["macs"] == cost.totals(c)["macs"]
