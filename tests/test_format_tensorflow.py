"""TensorFlow: frozen GraphDefs and SavedModels written by TensorFlow from real Keras
models and tf.functions, checked against TensorFlow's own protobuf parsing and
checkpoint reader; a TF.js graph model written from the same frozen graph."""
import json
import os
import shutil
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formats_tensorflow_models as models
import wetron
from wetron.formats import tensorflow as tf_format

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
np = pytest.importorskip("numpy")
from tensorflow.core.framework import graph_pb2  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402


@pytest.fixture(scope="module")
def files():
    return models.tensorflow_files()


def _values(m, t):
    got = m.tensor_values(t.index, None)
    assert got["count"] == t.count and not got["truncated"]
    return got["values"]


def _same(ours, array):
    flat = array.reshape(-1).tolist()
    if array.dtype.kind in "SO":
        return ours == [b.decode("utf-8", "replace") for b in flat]
    if array.dtype.kind == "f":
        return np.allclose(np.array(ours, dtype=np.float64), array.reshape(-1), rtol=1e-6)
    return ours == flat


def _check_graph(m, g, nodes, in_function=False, atol=None):
    """Our graph against TensorFlow's parse of the same NodeDefs."""
    weights = {t.name: t for t in g.initializers}
    ours = {n.name: n for n in g.nodes}
    for nd in nodes:
        if nd.op == "Const" and not any(i.startswith("^") for i in nd.input):
            name = f"{nd.name}:output:0" if in_function else nd.name
            t = weights.get(name) or next(w for w in weights.values()
                                          if w.name.startswith(nd.name + ":"))
            array = tf.make_ndarray(nd.attr["value"].tensor)
            assert t.dtype == tf.dtypes.as_dtype(nd.attr["value"].tensor.dtype).name \
                .replace("float8_", "float8").replace("_", "") or t.dtype == "string"
            assert list(t.dims) == list(array.shape), nd.name
            if atol and nd.name in atol:     # quantized TF.js weights: within a step
                assert np.allclose(_values(m, t), array.reshape(-1), atol=atol[nd.name])
            else:
                assert _same(_values(m, t), array), nd.name
            continue
        n = ours[nd.name]
        assert n.op == nd.op
        want = [i[:-2] if not in_function and i.endswith(":0") and i.count(":") == 1 else i
                for i in nd.input]
        assert n.inputs[:len(want)] == want, nd.name
        assert sorted(a.name for a in n.attributes) == sorted(nd.attr), nd.name
        for a in n.attributes:
            _check_attr(m, a, nd.attr[a.name])
    assert len(g.nodes) == len([nd for nd in nodes if nd.name in ours])


def _check_attr(m, a, v):
    kind = v.WhichOneof("value")
    if kind == "s":
        assert a.value == v.s.decode("utf-8", "replace") or a.value == f"{len(v.s)} bytes"
    elif kind == "i":
        assert a.value == v.i
    elif kind == "f":
        assert a.value == pytest.approx(v.f)
    elif kind == "b":
        assert a.value == ("true" if v.b else "false")
    elif kind == "type":
        assert a.value == tf_format.dtype_name(v.type)
    elif kind == "shape":
        if v.shape.unknown_rank:
            assert a.value == "?"
        else:
            assert a.value == [d.size for d in v.shape.dim]
    elif kind == "func":
        assert a.type == "string" and a.value == v.func.name
        assert v.func.name in {f.name for f in m.functions}
    elif kind == "list":
        lst = v.list
        if lst.i:
            assert a.value == list(lst.i)
        elif lst.type:
            assert a.value == [tf_format.dtype_name(t) for t in lst.type]
        elif lst.s:
            assert [x if x.endswith(" bytes") else x for x in a.value] == [
                x.decode("utf-8", "replace") if b"\0" not in x else f"{len(x)} bytes"
                for x in lst.s]
        elif lst.shape:
            assert len(a.value) == len(lst.shape)
    elif kind == "tensor":
        assert a.type == "tensor"
        assert _same(_values(m, a.value), tf.make_ndarray(v.tensor))


def test_dtype_codes_match_tensorflow():
    for code, name in tf_format.DTYPES.items():
        theirs = tf.dtypes.as_dtype(code).name
        assert name == theirs.replace("float8_", "float8").replace("float4_e2m1fn",
                                                                    "float4e2m1"), code
        assert tf_format.dtype_name(code + 100) == name    # reference types


@pytest.mark.parametrize("which", ["frozen_cnn", "frozen_control"])
def test_frozen_graph_matches_tensorflow(files, which):
    path = files[which]
    gd = graph_pb2.GraphDef()
    gd.ParseFromString(open(path, "rb").read())
    m = wetron.open(path)
    assert m.format == "TensorFlow" and m.format_version.startswith("GraphDef")
    _check_graph(m, m.graphs[0], gd.node)
    fns = {f.name: f for f in m.functions}
    assert sorted(fns) == sorted(f.signature.name for f in gd.library.function)
    for fdef in gd.library.function:
        fn = fns[fdef.signature.name]
        assert fn.inputs == [a.name for a in fdef.signature.input_arg]
        assert fn.outputs == [a.name for a in fdef.signature.output_arg]
        assert fn.graph.outputs == [fdef.ret[a.name] for a in fdef.signature.output_arg]
        _check_graph(m, fn.graph, fdef.node_def, in_function=True)
    json.loads(m.dumps())


def test_control_flow_bodies_are_functions(files):
    m = wetron.open(files["frozen_control"])
    ops = {n.op: n for n in m.graphs[0].nodes}
    body = {a.name: a.value for a in ops["StatelessWhile"].attributes}["body"]
    assert body.startswith("while_body")
    doc = m.to_dict()
    fn = next(f for f in doc["functions"] if f["name"] == body)
    assert doc["graphs"][fn["graph"]]["name"] == body and doc["graphs"][fn["graph"]]["nodes"]
    strings = next(t for t in m.graphs[0].initializers if t.dtype == "string")
    assert _values(m, strings) == ["a", "bc", ""]
    splat = next(t for t in m.graphs[0].initializers if t.dtype == "int64" and t.count == 6)
    assert _values(m, splat) == [0] * 6     # tf.zeros: no values stored, all zero


@pytest.mark.parametrize("which", ["saved_keras", "saved_module"])
def test_saved_model_matches_tensorflow(files, which):
    path = files[which]
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(open(path, "rb").read())
    m = wetron.open(path)
    assert m.format == "TensorFlow" and m.format_version == "SavedModel v1"
    mg = sm.meta_graphs[0]
    assert m.producer == f"TensorFlow {mg.meta_info_def.tensorflow_version}"
    g = _full(m)
    _check_graph(m, g, mg.graph_def.node)
    fns = {f.name: f for f in m.functions}
    for fdef in mg.graph_def.library.function:
        _check_graph(m, fns[fdef.signature.name].graph, fdef.node_def, in_function=True)
    meta = dict(g.metadata)
    for key, sig in mg.signature_def.items():
        assert ["signature", key] in g.metadata
        for alias, info in sig.inputs.items():
            want = info.name[:-2] if info.name.endswith(":0") else info.name
            assert meta[f"signature.{key}.input.{alias}"].split(" ")[0] == want
    # Variables: names, dtypes, shapes and values from the checkpoint reader.
    reader = tf.train.load_checkpoint(os.path.join(os.path.dirname(path), "variables",
                                                   "variables"))
    shapes, types = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    variables = {t.name: t for t in m.tensors if t.file and t.file.startswith("variables/")}
    assert sorted(variables) == sorted(k for k in shapes if k != "_CHECKPOINTABLE_OBJECT_GRAPH")
    for key, t in variables.items():
        assert list(t.dims) == shapes[key] and t.dtype == types[key].name
        assert _same(_values(m, t), reader.get_tensor(key)), key
        assert t in g.initializers
    # Each variable feeds the VarHandleOps that hold it: those a signature's call passes
    # for its function's captures (TensorFlow's loader binds them by the object graph)
    # and those the graph's own restore op fills.
    bound, restored = models.check_variable_handles(path, m)
    assert bound >= 1 and restored == len(variables)
    assert not m.warnings


def _full(m):
    """A SavedModel's meta graph whole (its main graph is the default signature's)."""
    return next(g for g in m.graphs if g.name == tf_format.FULL_GRAPH)


PLUMBING = {"VarHandleOp", "RestoreV2", "SaveV2", "MergeV2Checkpoints", "AssignVariableOp",
            "StatefulPartitionedCall", "PartitionedCall", "Placeholder"}


@pytest.mark.parametrize("which", ["saved_keras", "saved_module"])
def test_saved_model_main_graph_is_the_default_signature(files, which):
    """The main graph is what the default signature runs: the functions it calls inlined
    (the nodes of the forward pass, none of the saver's, no call left; the op counts
    are the frozen graph's: tests/test_ops_tf_keras.py), inputs and
    outputs named and typed as TensorFlow's loader gives the signature, each variable
    the signature captures a weight of the checkpoint its ReadVariableOp reads; the
    meta graph whole is another graph of the model."""
    m = wetron.open(files[which])
    g, full = m.graphs[0], _full(m)
    key = "serving_default" if which == "saved_keras" else "add_them"
    assert g.name == key and ["signature", key] in g.metadata
    oracle = models.signature_oracle(files[which], key)
    batch = lambda dims: tuple("batch" if d is None and i == 0 else d  # noqa: E731
                               for i, d in enumerate(dims))
    assert {v: (g.types[v][1], g.types[v][2]) for v in g.inputs} == {
        a: (dtype, batch(dims)) for a, (dtype, dims) in oracle["inputs"].items()}
    assert sorted(g.outputs) == sorted(oracle["outputs"])
    analysed = wetron.cost.analyse(m, {"batch": 3})[1]
    for alias, (dtype, dims) in oracle["outputs"].items():
        assert analysed.types[alias][1:3] == (dtype, tuple(3 if d is None else d for d in dims))
    ops = {n.op for n in g.nodes}
    assert not ops & PLUMBING, ops & PLUMBING
    variables = [t for t in g.initializers if t.file]
    assert {id(t) for t in variables} <= {id(t) for t in full.initializers}
    assert sorted((t.dtype, tuple(t.dims)) for t in variables) == oracle["variables"]
    for t in variables:
        readers = [n.op for n in g.nodes if t.name in n.inputs]
        assert readers and set(readers) == {"ReadVariableOp"}, (t.name, readers)
    assert len({t.name for t in variables}) == len(variables)
    assert m.parameters == sum(t.count for t in {id(t): t for graph in m.graphs
                                                  for t in graph.initializers}.values())


def test_saved_model_missing_companions(files, tmp_path):
    src = os.path.dirname(files["saved_keras"])
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(files["saved_keras"], alone)
    m = wetron.open(str(alone / "saved_model.pb"))
    assert any("variables/variables.index" in w for w in m.warnings)
    partial = tmp_path / "partial"
    (partial / "variables").mkdir(parents=True)
    shutil.copy(files["saved_keras"], partial)
    shutil.copy(os.path.join(src, "variables", "variables.index"), partial / "variables")
    m = wetron.open(str(partial / "saved_model.pb"))
    missing = "variables/variables.data-00000-of-00001"
    assert any(missing in w for w in m.warnings)
    t = next(t for t in m.tensors if t.file == missing)
    assert missing in t.error
    with pytest.raises(wetron.ModelError, match="not found"):
        m.tensor_values(t.index, 3)


def test_tfjs_graph_model(files):
    path = files["tfjs"]
    m = wetron.open(path)
    assert m.format == "TensorFlow.js" and m.format_version == "graph-model"
    gd = graph_pb2.GraphDef()
    gd.ParseFromString(open(files["frozen_cnn"], "rb").read())
    manifest = json.load(open(path))["weightsManifest"][0]
    atol = {w["name"]: w["quantization"].get("scale", 2e-3) / 2 + 1e-7
            for w in manifest["weights"] if "quantization" in w}
    _check_graph(m, m.graphs[0], gd.node, atol=atol)     # values come from the shards
    by_name = {t.name: t for t in m.tensors}
    quantized = [w for w in manifest["weights"] if "quantization" in w]
    assert {w["quantization"]["dtype"] for w in quantized} == {"uint8", "float16"}
    spans = sorted(t.data[1] for t in by_name.values())
    assert sum(spans) == sum(os.path.getsize(os.path.join(os.path.dirname(path), p))
                             for p in manifest["paths"])
    assert dict(m.graphs[0].metadata)["signature.input.image:0"] == "image"


def test_tfjs_layers_model(files):
    path = files["tfjs_layers"]
    m = wetron.open(path)
    assert m.format == "TensorFlow.js" and m.format_version == "layers-model"
    g = m.graphs[0]
    topology = json.load(open(path))["modelTopology"]
    layers = {lay["name"]: lay for lay in topology["config"]["layers"]}
    nodes = {n.name: n for n in g.nodes}
    assert set(nodes) == {name for name, lay in layers.items()
                          if lay["class_name"] != "InputLayer"}
    for name, n in nodes.items():
        assert n.op == layers[name]["class_name"]
    assert nodes["cat"].inputs[:2] == ["d1", "d2"]
    oracle = np.load(os.path.join(os.path.dirname(path), "oracle.npz"))
    by_name = {t.name: t for t in m.tensors}
    assert sorted(by_name) == sorted(oracle.files)
    for key in oracle.files:
        assert _same(_values(m, by_name[key]), oracle[key]), key
        assert key in nodes[key.split("/")[0]].inputs


def test_tfjs_missing_shard(files, tmp_path):
    folder = tmp_path / "js"
    shutil.copytree(os.path.dirname(files["tfjs"]), folder)
    os.remove(folder / "group1-shard2of2.bin")
    m = wetron.open(str(folder / "model.json"))
    assert any("group1-shard2of2.bin" in w for w in m.warnings)
    t = m.tensors[0]
    with pytest.raises(wetron.ModelError, match="group1-shard2of2.bin"):
        m.tensor_values(t.index, 3)


def test_hierarchy_from_scopes(files):
    doc = wetron.open(files["frozen_cnn"]).to_dict()
    paths = {g["path"] for g in doc["graphs"][0]["groups"]}
    assert {"mnist_1", "mnist_1/conv_1", "mnist_1/bn_1", "mnist_1/fc_1"} <= paths


def test_recognition(files):
    pytest.importorskip("onnx")
    from onnx import helper
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                                [helper.make_tensor_value_info("x", 1, [1])],
                                                [helper.make_tensor_value_info("y", 1, [1])]))
    head = model.SerializeToString()[:4096]
    assert not tf_format.match(head, "model.onnx")
    for which in ("frozen_cnn", "frozen_control", "saved_keras", "saved_module"):
        head = open(files[which], "rb").read(4096)
        assert tf_format.match(head, "x.pb") >= 0.8, which
        assert wetron.open(files[which]).format == "TensorFlow"
    with pytest.raises(wetron.ModelError):
        wetron.open(wetron.BytesSource(b'{"modelTopology": 3}', "model.json"))
    # A GraphDef whose first field is not a node: recognised by the name, and said so.
    gd = graph_pb2.GraphDef()
    gd.ParseFromString(open(files["frozen_control"], "rb").read())
    reordered = graph_pb2.GraphDef(library=gd.library).SerializeToString() + \
        graph_pb2.GraphDef(node=gd.node).SerializeToString()
    assert not tf_format.looks_like_graph_def(reordered[:4096])
    m = wetron.open(wetron.BytesSource(reordered, "graph.pb"))
    assert len(m.graphs[0].nodes) == 12 and "by the .pb name only" in m.warnings[0]
    with pytest.raises(wetron.ModelError, match="by the .pb name only"):
        wetron.open(wetron.BytesSource(b"\x12\x05hello world", "notes.pb"))


@pytest.mark.parametrize("which", ["frozen_cnn", "frozen_control", "saved_keras",
                                   "saved_module", "tfjs", "tfjs_layers"])
def test_documents_follow_the_schema(files, which):
    """JSON Schema and index rules of tests/test_schema.py, with two additions that
    graph-schema.json lacks yet: node metadata (model.py writes it) and the TensorFlow
    dtype names documented in docs/graph-schema.md."""
    import jsonschema
    import test_schema
    schema = json.load(open(test_schema.SCHEMA_PATH))
    schema["$defs"]["node"]["properties"]["metadata"] = {"type": "array"}
    schema["$defs"]["dtype"]["anyOf"].append({"enum": [
        "resource", "variant", "qint8", "quint8", "qint16", "quint16", "qint32",
        "float8e4m3b11fnuz"]})
    doc = json.loads(wetron.open(files[which]).dumps())
    problems = test_schema.schema_errors(jsonschema.Draft202012Validator(schema), doc) + \
        test_schema.index_errors(doc)
    assert not problems, problems[:10]


def test_cli_info(files, wetron_env):
    out = subprocess.run([sys.executable, "-m", "wetron", "info", files["saved_keras"],
                          "--json"], capture_output=True, text=True, env=wetron_env,
                         check=True).stdout
    s = json.loads(out)
    assert s["format"] == "TensorFlow" and s["functions"] >= 1 and s["parameters"] > 0


# --- robustness --------------------------------------------------------------------
SEEDS = {}


def _seed(files, which):
    if which not in SEEDS:
        SEEDS[which] = open(files[which], "rb").read()
    return SEEDS[which]


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(which=st.sampled_from(["frozen_control", "saved_module", "tfjs"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=4)),
                      min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_fuzz_mutated_files_fail_cleanly(files, which, edits, cut):
    data = bytearray(_seed(files, which))
    for where, new in edits:
        at = int(where * (len(data) - 1))
        data[at:at + len(new)] = new
    if cut is not None:
        data = data[:max(1, int(cut * len(data)))]
    name = "model.json" if which == "tfjs" else "saved_model.pb"
    folder = os.path.dirname(files[which])

    def companions(rel):
        full = os.path.join(folder, rel)
        return wetron.FileSource(full) if os.path.isfile(full) else None
    try:
        m = wetron.open(wetron.BytesSource(bytes(data), name), companions)
    except wetron.ModelError as e:
        assert name in str(e) and "\n" not in str(e)
        return
    json.loads(m.dumps())
    for t in m.tensors[:50]:
        try:
            m.tensor_values(t.index, 16)
        except wetron.ModelError as e:
            assert "\n" not in str(e)


def test_bundle_index_corruptions(files):
    index = open(os.path.join(os.path.dirname(files["saved_keras"]), "variables",
                              "variables.index"), "rb").read()
    for bad in (index[:-1], index[:40], b"\0" * 60, index[:10] + b"\xff" * 20 + index[30:]):
        try:
            tf_format.read_bundle_index(wetron.BytesSource(bad, "variables.index"))
        except wetron.ModelError as e:
            assert "variables.index" in str(e)
    entries, shards = tf_format.read_bundle_index(wetron.BytesSource(index, "variables.index"))
    assert shards == 1 and "_CHECKPOINTABLE_OBJECT_GRAPH" in entries
    assert struct.unpack("<Q", index[-8:])[0] == 0xdb4775248b80fb57
