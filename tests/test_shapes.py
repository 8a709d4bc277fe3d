"""Shape inference (py/wetron/shapes.py) on real models, against two oracles:
onnx.shape_inference.infer_shapes (where it knows a dim) and the shapes onnxruntime
actually produces when it runs the model (every node output exposed as a graph
output); and against the declared outputs of the onnx package's backend test models
(the shapes of their reference outputs)."""
import collections
import io

import numpy as np
import onnx
import pytest

import models
import shape_models
import wetron
from wetron import shapes, symbolic

RUN = shape_models.RUN_DIMS
TORCH = {"cnn": shape_models.cnn, "cnn_hw": shape_models.cnn_dynamic_hw,
         "transformer": shape_models.transformer, "rnn": shape_models.rnn,
         "bert": models.torch_transformer, "resnetish": models.torch_cnn}
# Dims we do not derive, on purpose (never guessed), and why:
#  cnn_hw: after a strided conv/pool a symbolic height or width is floor((h-1)/2)+1,
#    not a simple expression; batch and channels stay known everywhere.
# (transformer: its causal mask buffer is sliced [:t, :t] from 64 x 64, which is
#  min(sequence,64); broadcast against the scores that is `sequence`, known.)
ALLOWED_UNKNOWN = {"cnn_hw": lambda name, axis: axis >= 2}


def _stripped(path):
    """The model without value_info, as bytes, and its onnx proto."""
    proto = onnx.load(path)
    del proto.graph.value_info[:]
    return proto


def _infer(proto):
    model = wetron.open(wetron.BytesSource(proto.SerializeToString(), "model.onnx"))
    return model, shapes.infer(model.graphs[0], keep_values=True)


def _onnx_dims(vi):
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else
            (d.dim_param if d.HasField("dim_param") else None) for d in tt.shape.dim]


def _feeds(graph):
    """Inputs at the RUN sizes: floats random, integers 0/1 (valid ids and masks)."""
    rng = np.random.default_rng(0)
    feeds = {}
    for name in graph.inputs:
        t = graph.types[name]
        dims = [RUN[d] if isinstance(d, str) else d for d in t[2]]
        if t[1] == "float32":
            feeds[name] = rng.standard_normal(dims).astype(np.float32)
        else:
            feeds[name] = rng.integers(0, 2, dims).astype(np.int64)
    return feeds


@pytest.fixture(scope="module", params=list(TORCH))
def export(request):
    path = TORCH[request.param]()
    proto = _stripped(path)
    model, result = _infer(proto)
    return request.param, proto, model, result


def test_no_handler_failed(export):
    name, proto, model, result = export
    assert result.errors == 0
    assert len(result.inferred) > 20


def test_agrees_with_onnx_shape_inference(export):
    name, proto, model, result = export
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    compared = 0
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        expected = _onnx_dims(vi)
        if expected is None:
            continue
        ours = result.types.get(vi.name)
        assert ours is not None and ours[2] is not None, f"{name}: no shape for {vi.name}"
        assert len(ours[2]) == len(expected), f"{name}: rank of {vi.name}"
        want_dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type).name
        assert ours[1] == want_dtype, f"{name}: dtype of {vi.name}"
        for axis, (e, o) in enumerate(zip(expected, ours[2])):
            if e is None or (isinstance(e, str) and e.startswith("unk__")):
                continue   # onnx does not know it either
            compared += 1
            assert o == e, f"{name}: {vi.name} axis {axis}: onnx {expected}, ours {ours[2]}"
    assert compared > 40


def test_agrees_with_onnxruntime(export):
    ort = pytest.importorskip("onnxruntime")
    name, proto, model, result = export
    graph = model.graphs[0]
    declared_outputs = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for out in node.output:
            if out and out not in declared_outputs:
                proto.graph.output.append(onnx.ValueInfoProto(name=out))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    inferred = set(result.inferred)
    allowed = ALLOWED_UNKNOWN.get(name, lambda n, a: False)
    checked = unknown = 0
    for out, array in zip(session.get_outputs(), session.run(None, _feeds(graph))):
        if out.name not in inferred:
            continue   # the file's own declaration (never overridden), not ours
        ours = result.types[out.name]
        actual = np.asarray(array)
        assert ours[2] is not None, f"{name}: {out.name} has rank {actual.ndim}, ours unknown"
        assert len(ours[2]) == actual.ndim, f"{name}: {out.name}: {ours[2]} vs {actual.shape}"
        if ours[1] != "undefined":
            assert ours[1] == actual.dtype.name, f"{name}: dtype of {out.name}"
        for axis, (d, n) in enumerate(zip(ours[2], actual.shape)):
            if d is None:
                unknown += 1
                assert allowed(out.name, axis), \
                    f"{name}: {out.name} axis {axis} unknown; actual shape {actual.shape}"
                continue
            checked += 1
            assert symbolic.evaluate(d, RUN, None) == n, \
                f"{name}: {out.name} axis {axis}: ours {ours[2]} at {RUN}, actual {actual.shape}"
    assert checked > 60
    if name in ALLOWED_UNKNOWN:
        assert unknown > 0   # (else the exemption is stale: tighten it)


def test_reshape_targets_resolve_through_shape_chains():
    """Reshape targets built as Shape -> Gather -> Unsqueeze -> Concat resolve to the
    input's symbols (not just a rank)."""
    proto = _stripped(models.torch_transformer())
    model, result = _infer(proto)
    g = model.graphs[0]
    reshapes = [n for n in g.nodes if n.op == "Reshape"]
    assert len(reshapes) >= 12
    seen = set()
    for n in reshapes:
        dims = result.types[n.outputs[0]][2]
        assert None not in dims
        seen.add(dims)
    assert ("batch", "sequence", 4, 8) in seen and ("batch", "sequence", 32) in seen
    # the folded targets themselves hold the symbols
    targets = [result.values.get(n.inputs[1]) for n in reshapes]
    assert all(t is not None for t in targets)
    assert any("sequence" in t[1] for t in targets)


def test_backend_models_outputs():
    """Every backend test model (one node, or a function expanded into many): with the
    declared output types removed, inference at the model's opsets gives the declared
    (reference) shapes. (Per op, from the registry: test_ops_onnx.py.)"""
    stats, wrong = collections.Counter(), []
    for name, path in models.backend_node_models():
        try:
            model = wetron.open(path)
        except wetron.ModelError:
            continue
        g = model.graphs[0]
        expected = {o: g.types.pop(o) for o in g.outputs if o in g.types}
        result = shapes.infer(g, opsets=model.opsets(g))
        for out, t in expected.items():
            if t[0] != "tensor" or t[2] is None:
                continue
            ours = result.types.get(out)
            if ours is None or ours[2] is None:
                stats["unknown"] += 1
                continue
            if len(ours[2]) != len(t[2]) or any(a is not None and a != b
                                                for a, b in zip(ours[2], t[2])) \
                    or ours[1] not in (t[1], "undefined"):
                wrong.append((name, out, ours[1:3], t[1:3]))
            elif None in ours[2]:
                stats["partly known"] += 1
            else:
                stats["known"] += 1
    assert not wrong, wrong[:20]
    assert stats["known"] > 1800, stats


def test_declared_types_are_never_overridden():
    """A value_info in the file wins, even where inference would say otherwise; only
    values without one are listed in the document's "inferred"."""
    proto = onnx.shape_inference.infer_shapes(_stripped(models.torch_cnn()))
    target = proto.graph.value_info[3]
    target.type.tensor_type.shape.dim[0].dim_param = "declared_batch"
    doc = wetron.open(wetron.BytesSource(proto.SerializeToString(), "m.onnx")).to_dict()
    g = doc["graphs"][0]
    names = [v[0] for v in g["values"]]
    i = names.index(target.name)
    assert doc["types"][g["values"][i][1]]["shape"][0] == "declared_batch"
    assert i not in g["inferred"]
    declared = {v.name for v in proto.graph.value_info} | {v.name for v in proto.graph.output} \
        | {v.name for v in proto.graph.input}
    assert not {names[k] for k in g["inferred"]} & declared
    # without value_info the same value is inferred, with the input's symbol
    doc = wetron.open(models.torch_cnn()).to_dict()
    g = doc["graphs"][0]
    names = [v[0] for v in g["values"]]
    i = names.index(target.name)
    assert i in g["inferred"]
    assert doc["types"][g["values"][i][1]]["shape"][0] == "batch"


def test_nodes_out_of_order_and_deep_chains():
    """Inference is iterative: a 20,000-node chain, and nodes listed in reverse order,
    give the same shapes as the ordered graph."""
    from onnx import TensorProto, helper
    n = 20_000
    nodes = [helper.make_node("Relu" if k % 2 else "Neg", [f"v{k}"], [f"v{k + 1}"])
             for k in range(n)]
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("v0", TensorProto.FLOAT, ["b", 7])],
        [helper.make_tensor_value_info(f"v{n}", TensorProto.FLOAT, None)])
    ordered = _infer(helper.make_model(graph))[1]
    assert ordered.types[f"v{n - 1}"][1:3] == ("float32", ("b", 7))
    graph.node.reverse()
    backwards = _infer(helper.make_model(graph))[1]
    assert backwards.types == ordered.types


def test_folding_is_bounded():
    """Huge shapes are propagated as shapes, never materialised as values."""
    from onnx import TensorProto, helper, numpy_helper
    big = numpy_helper.from_array(np.array([10 ** 12, 3], np.int64), "shape")
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["zeros"]),
             helper.make_node("Shape", ["zeros"], ["s"]),
             helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Reshape", ["x", "s"], ["y"])]
    inits = [big, numpy_helper.from_array(np.array(0, np.int64), "start"),
             numpy_helper.from_array(np.array(10 ** 10, np.int64), "limit"),
             numpy_helper.from_array(np.array(1, np.int64), "delta")]
    graph = helper.make_graph(
        nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [10 ** 12, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    result = _infer(helper.make_model(graph))[1]
    assert result.types["zeros"][1:3] == ("float32", (10 ** 12, 3))
    assert result.types["r"][2] == (10 ** 10,)
    assert "zeros" not in result.values and "r" not in result.values
    assert result.values["s"][1] == [10 ** 12, 3]


@pytest.mark.parametrize("a, b, op, want", [
    ("seq", 1, symbolic.dim_add, "seq+1"),
    (2, "batch", symbolic.dim_mul, "2*batch"),
    ("batch", "seq", symbolic.dim_mul, "batch*seq"),
    ("seq+1", 1, symbolic.dim_sub, "seq"),
    ("2*batch", 2, symbolic.dim_div, "batch"),
    ("batch*seq*32", "4*batch*seq", symbolic.dim_div, 8),
    ("seq", 2, symbolic.dim_div, None),            # floor(seq/2): not simple, unknown
    ("seq", None, symbolic.dim_add, None),
    ("batch size", 2, symbolic.dim_mul, "2*(batch size)"),
])
def test_symbolic_arithmetic(a, b, op, want):
    got = op(a, b)
    assert got == want
    if isinstance(got, str):   # what we write reads back as the same expression
        bind = {"seq": 5, "batch": 3, "batch size": 7}
        assert symbolic.evaluate(got, bind) == op(symbolic.evaluate(a, bind), symbolic.evaluate(b, bind))


def test_cli_graph_document_has_inferred_types(wetron_env):
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "wetron", "graph", models.torch_transformer()],
                         capture_output=True, text=True, env=wetron_env, check=True).stdout
    doc = json.load(io.StringIO(out))
    g = doc["graphs"][0]
    assert g["inferred"]
    for i in g["inferred"]:
        assert g["values"][i][1] is not None
    shapes_seen = {tuple(doc["types"][g["values"][i][1]]["shape"] or ()) for i in g["inferred"]}
    assert ("batch", 4, "sequence", "sequence") in shapes_seen   # attention scores
