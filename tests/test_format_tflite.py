"""TensorFlow Lite: models converted from real Keras models and tf.functions by
tf.lite.TFLiteConverter, checked against LiteRT's own Interpreter and its generated
FlatBuffers reader (ai_edge_litert.schema_py_generated) as oracles."""
import json
import math
import re
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formats_tensorflow_models as models
import wetron
from wetron.formats import tflite

pytest.importorskip("ai_edge_litert")
np = pytest.importorskip("numpy")
from ai_edge_litert import schema_py_generated as schema  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

ALL = models.TFLITE


@pytest.fixture(scope="module")
def files():
    return models.tflite_files()


def _generated_tables():
    """{class name: {vtable offset: (method name, kind)}} from the generated reader."""
    src = open(schema.__file__).read()
    parts = re.split(r"\nclass (\w+)\(object\):\n", src)
    tables = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        fields = {}
        for method, offset, rest in re.findall(
                r"    def (\w+)\(self[^)]*\):\n        o = flatbuffers\.number_types\."
                r"UOffsetTFlags\.py_type\(self\._tab\.Offset\((\d+)\)\)\n        if o != 0:\n"
                r"((?:            .*\n)+)", body):
            flags = re.findall(r"number_types\.(\w+)Flags", rest)
            kind = ("string" if "self._tab.String" in rest else
                    "vector" if "self._tab.Vector(" in rest else
                    "table" if "Indirect" in rest else flags[0] if flags else "?")
            elem = re.findall(r"Get\(flatbuffers\.number_types\.(\w+)Flags, a \+", rest)
            if "Vector(" in rest and elem:
                kind = "vector:" + elem[0]
            fields.setdefault(int(offset), (method, kind))
        tables[name] = fields
    return tables


def _enum(name):
    return {v: k for k, v in vars(getattr(schema, name)).items() if not k.startswith("_")}


_FLAGS = {"Bool": "bool", "Int8": "byte", "Uint8": "ubyte", "Int16": "short",
          "Uint16": "ushort", "Int32": "int", "Uint32": "uint", "Int64": "long",
          "Uint64": "ulong", "Float32": "float", "Float64": "double"}


def test_schema_tables_match_litert_generated_code():
    ops = _enum("BuiltinOperator")
    assert tflite.OPERATORS == [ops[i] for i in range(len(ops))]
    types = _enum("TensorType")
    assert len(tflite.TENSOR_TYPES) == len(types)
    for code, name in types.items():
        ours = tflite.TENSOR_TYPES[code]
        assert ours.replace("float", "FLOAT").replace("bfloat", "BFLOAT").upper() \
            .replace("FLOAT8E", "FLOAT8_E") == name, (code, name, ours)
    generated = _generated_tables()
    for union, ours in (("BuiltinOptions", tflite.OPTIONS), ("BuiltinOptions2", tflite.OPTIONS_2)):
        members = _enum(union)
        assert len(ours) == len(members) - 1
        for code, (table, fields) in enumerate(ours, 1):
            assert members[code] == table
            gen = generated[table]
            assert {f[0] for f in fields} == {(o - 4) // 2 for o in gen}, table
            for fid, name, ftype, default in fields:
                method, kind = gen[4 + 2 * fid]
                assert method.lower() == name.replace("_", "").lower(), (table, name, method)
                storage = tflite.ENUMS[ftype][0] if ftype in tflite.ENUMS else ftype
                if ftype.startswith("["):
                    inner = ftype[1:-1]
                    inner = tflite.ENUMS[inner][0] if inner in tflite.ENUMS else inner
                    assert kind == "vector:" + {v: k for k, v in _FLAGS.items()}[inner], \
                        (table, name, kind)
                elif ftype == "string":
                    assert kind == "string", (table, name)
                else:
                    assert _FLAGS[kind] == storage, (table, name, kind, storage)
    # Defaults: the generated object API carries them.
    for table, fields in tflite.OPTIONS + tflite.OPTIONS_2:
        obj = getattr(schema, table + "T")()
        for fid, name, ftype, default in fields:
            value = getattr(obj, _camel(name))
            if ftype.startswith("[") or ftype == "string":
                continue
            assert value == default, (table, name, value, default)


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_NP_DTYPES = {"float32": np.float32, "float16": np.float16, "int32": np.int32,
              "uint8": np.uint8, "int64": np.int64, "string": np.bytes_, "bool": np.bool_,
              "int16": np.int16, "int8": np.int8, "float64": np.float64,
              "complex64": np.complex64, "uint32": np.uint32, "resource": np.object_,
              "variant": np.object_}


def _interpreter(path):
    it = Interpreter(model_path=path)
    try:
        it.allocate_tensors()
        return it, True
    except RuntimeError:   # Flex ops need the TF delegate: structure is still readable
        return it, False


def _value_names(model, subgraph):
    """Our value name of each tensor index (names are made unique by '#index')."""
    return list(model.graphs[subgraph].types)


@pytest.mark.parametrize("which", ALL)
def test_tensors_match_interpreter(files, which):
    path = files[which]
    m = wetron.open(path)
    assert m.format == "TensorFlow Lite"
    it, allocated = _interpreter(path)
    packed = schema.ModelT.InitFromPackedBuf(open(path, "rb").read(), 0)
    assert len(m.graphs) == it.num_subgraphs() == len(packed.subgraphs)
    constants = 0
    for sg in range(it.num_subgraphs()):
        g = m.graphs[sg]
        names = _value_names(m, sg)
        weights = {t.name: t for t in g.initializers}
        # Kernels may add scratch tensors after the file's own (LSTM does).
        details = it.get_tensor_details(sg)[:len(packed.subgraphs[sg].tensors)]
        assert len(details) == len(names)
        for d, name, fb in zip(details, names, packed.subgraphs[sg].tensors):
            assert name == d["name"] or name.startswith(f"{d['name']}#"), (name, d["name"])
            kind, dtype, dims, _ = g.types[name]
            assert _NP_DTYPES[dtype] == d["dtype"], (name, dtype, d["dtype"])
            sig = d["shape_signature"] if len(d["shape_signature"]) == len(d["shape"]) \
                else d["shape"]
            entry = name in g.inputs and (sg == 0 or "signature" in dict(g.metadata))
            assert list(dims) == [int(x) if x >= 0 else tflite.DYNAMIC if entry and x == -1
                                  and s == 1 else None for x, s in zip(sig, d["shape"])], name
            q = d["quantization_parameters"]
            ours = g.quantization.get(name, {})
            assert ours.get("scale", []) == pytest.approx(list(q["scales"]), rel=1e-7)
            assert ours.get("zero_point", []) == [int(z) for z in q["zero_points"]]
            if len(q["scales"]):
                assert ours["quantized_dimension"] == q["quantized_dimension"]
            if fb.quantization is not None and fb.quantization.min is not None:
                assert ours["min"] == pytest.approx(list(fb.quantization.min))
            if name in weights:
                t = weights[name]
                assert list(t.dims) == [int(x) for x in d["shape"]]
                if allocated:
                    constants += 1
                    _check_values(m, t, it.get_tensor(d["index"], sg))
            else:
                # Not a weight: the tensor has no data in the file.
                buf = packed.buffers[fb.buffer] if fb.buffer < len(packed.buffers) else None
                assert buf is None or (buf.data is None and buf.offset <= 1)
    if allocated:
        assert constants > 0


def _check_values(m, t, want):
    got = m.tensor_values(t.index, None)
    assert got["count"] == want.size and not got["truncated"]
    flat = want.reshape(-1).tolist()
    if want.dtype.kind == "S" or want.dtype == object:
        assert got["values"] == [b.decode("utf-8") for b in flat], t.name
    elif want.dtype.kind == "f":
        assert all(_same_float(a, b) for a, b in zip(got["values"], flat)), t.name
    else:
        assert got["values"] == flat, t.name


def _same_float(a, b):
    if isinstance(a, str):     # non-finite values travel as strings
        return {"NaN": math.isnan(b), "Infinity": b == math.inf,
                "-Infinity": b == -math.inf}.get(a, False)
    return a == b or math.isclose(a, b, rel_tol=1e-7)


@pytest.mark.parametrize("which", ALL)
def test_operators_match_interpreter_and_generated_reader(files, which):
    path = files[which]
    m = wetron.open(path)
    it = Interpreter(model_path=path)
    g = m.graphs[0]
    names = _value_names(m, 0)
    ops = it._get_ops_details()
    assert len(ops) == len(g.nodes)
    for op, node in zip(ops, g.nodes):
        assert node.op == op["op_name"]
        assert node.inputs == [names[i] if i >= 0 else "" for i in op["inputs"]]
        assert node.outputs == [names[i] for i in op["outputs"]]
    # Every subgraph's operators and their options, against the generated object API.
    packed = schema.ModelT.InitFromPackedBuf(open(path, "rb").read(), 0)
    codes = packed.operatorCodes
    ops_enum = _enum("BuiltinOperator")
    for sg, (graph, fb) in enumerate(zip(m.graphs, packed.subgraphs)):
        names = _value_names(m, sg)
        assert len(graph.nodes) == len(fb.operators or [])
        for node, op in zip(graph.nodes, fb.operators or []):
            code = codes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            want = code.customCode.decode() if builtin == 32 else ops_enum[builtin]
            assert node.op == want
            assert node.inputs == [names[i] if i >= 0 else "" for i in op.inputs]
            attrs = {a.name: a for a in node.attributes}
            for options in (op.builtinOptions, op.builtinOptions2):
                if options is None:
                    continue
                spec = {f[1]: f[2] for f in _SPECS[type(options).__name__[:-1]]}
                for key, value in vars(options).items():
                    name = re.sub(r"([A-Z])", lambda x: "_" + x.group(1).lower(), key)
                    if name in ("new_height", "new_width"):
                        continue
                    _check_attr(m, attrs[name], value, spec[name])
            if op.customOptions is not None:
                size = len(op.customOptions)
                assert attrs["custom_options"].value == f"{size} bytes (flexbuffers)"


_SPECS = dict(tflite.OPTIONS + tflite.OPTIONS_2)


def _check_attr(m, a, value, ftype):
    if a.type == "graph":
        assert a.value is m.graphs[value] and a.value.parent[2] == a.name
    elif a.type == "graphs":
        assert [g.index for g in a.value] == list(value)
    elif a.name in tflite._SUBGRAPH_FIELDS:     # a shared subgraph: a function by name
        names = [m.graphs[i].name for i in (value if ftype == "[int]" else [value])]
        assert a.value == (names if ftype == "[int]" else names[0])
        assert set(names) <= {f.name for f in m.functions}
    elif ftype == "bool":
        assert a.value == ("true" if value else "false")
    elif ftype in tflite.ENUMS:
        assert a.value == tflite.ENUMS[ftype][1][value], (a.name, a.value, value)
    elif ftype == "[ubyte]":
        assert a.value == f"{0 if value is None else len(value)} bytes"
    elif ftype == "string":
        assert a.value == (value or b"").decode()
    elif a.type == "float":
        assert a.value == pytest.approx(value)
    elif a.type in ("ints", "floats"):
        assert list(a.value) == pytest.approx(list(value if value is not None else []))
    else:
        assert a.value == value, (a.name, a.value, value)


def test_named_options(files):
    """Enum options by name, against what the Keras model asked for."""
    m = wetron.open(files["cnn"])
    by_op = {}
    for n in m.graphs[0].nodes:
        by_op.setdefault(n.op, []).append({a.name: a.value for a in n.attributes})
    stem = by_op["CONV_2D"][0]
    assert stem["padding"] == "SAME" and stem["fused_activation_function"] == "RELU"
    assert any(c["stride_w"] == 2 and c["fused_activation_function"] == "RELU6"
               and c["padding"] == "VALID" for c in by_op["CONV_2D"])
    assert by_op["LEAKY_RELU"][0]["alpha"] == pytest.approx(0.2)
    assert by_op["MAX_POOL_2D"][0]["filter_width"] == 2
    assert by_op["RESIZE_BILINEAR"][0]["half_pixel_centers"] in ("true", "false")
    assert by_op["SOFTMAX"][0]["beta"] == 1.0
    assert by_op["FULLY_CONNECTED"][0]["keep_num_dims"] == "false"
    ops = wetron.open(files["ops"]).graphs[0].nodes
    opts = {n.op: {a.name: a.value for a in n.attributes} for n in ops}
    assert opts["BATCH_MATMUL"]["adj_x"] == "false"
    assert opts["LEAKY_RELU"]["alpha"] == pytest.approx(0.3)
    assert opts["MEAN"]["keep_dims"] == "true"
    assert opts["SPLIT"]["num_splits"] == 2
    assert opts["PACK"]["axis"] == 3 or opts["PACK"]["axis"] == 0
    assert opts["UNPACK"] == {"num": 2, "axis": 3}
    assert opts["CUMSUM"] == {"exclusive": "true", "reverse": "true"}
    assert opts["ARG_MAX"]["output_type"] == "int64"
    assert opts["GATHER"]["axis"] == 1
    assert opts["RESIZE_NEAREST_NEIGHBOR"]["half_pixel_centers"] == "true"
    slices = [{a.name: a.value for a in n.attributes} for n in ops if n.op == "STRIDED_SLICE"]
    assert any(s["begin_mask"] == 1 and s["end_mask"] == 1 for s in slices)


def test_subgraphs_are_graphs_with_parents(files):
    m = wetron.open(files["control_flow"])
    nodes = {n.op: n for n in m.graphs[0].nodes}
    attrs = {a.name: a for a in nodes["WHILE"].attributes}
    cond, body = attrs["cond_subgraph_index"].value, attrs["body_subgraph_index"].value
    assert cond.name.startswith("while_cond") or "cond" in cond.name
    assert body.parent == (m.graphs[0], m.graphs[0].nodes.index(nodes["WHILE"]),
                           "body_subgraph_index")
    iff = {a.name: a.value for a in nodes["IF"].attributes}
    assert {iff["then_subgraph_index"].index, iff["else_subgraph_index"].index} == {1, 2}
    doc = m.to_dict()
    assert doc["graphs"][body.index]["parent"][2] == "body_subgraph_index"
    json.loads(m.dumps())
    # The second signature's subgraph is called by nothing: a function.
    sig = wetron.open(files["signatures"])
    assert [f.graph.index for f in sig.functions] == [1]
    assert dict(sig.graphs[1].metadata)["signature"] == sig.functions[0].graph.metadata[0][1]


@pytest.mark.parametrize("which", ALL)
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


def test_signatures_and_metadata(files):
    path = files["signatures"]
    m = wetron.open(path)
    it = Interpreter(model_path=path)
    packed = schema.ModelT.InitFromPackedBuf(open(path, "rb").read(), 0)
    full = it._get_full_signature_list()
    for sig in packed.signatureDefs:
        key = sig.signatureKey.decode()
        g = m.graphs[sig.subgraphIndex]
        meta = dict(g.metadata)
        assert meta["signature"] == key
        names = _value_names(m, sig.subgraphIndex)
        for alias, index in full[key]["inputs"].items():
            assert meta[f"signature.input.{alias}"] == names[index]
        for alias, index in full[key]["outputs"].items():
            assert meta[f"signature.output.{alias}"] == names[index]
    md = dict(m.metadata)
    want = {x.name.decode(): bytes(packed.buffers[x.buffer].data) for x in packed.metadata}
    assert md["min_runtime_version"] == want["min_runtime_version"].rstrip(b"\0").decode()
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", md["conversion.tensorflow_version"])
    assert m.producer.startswith("TensorFlow Lite converter")


def test_quantized_models(files):
    q = wetron.open(files["cnn_int8"])
    g = q.graphs[0]
    assert g.types[g.inputs[0]][1] == "int8"
    assert g.quantization[g.inputs[0]]["scale"][0] > 0
    per_channel = [t for t in g.initializers if len(g.quantization.get(t.name, {})
                                                     .get("scale", [])) > 1]
    assert per_channel and all(t.doc.startswith("quantization:") for t in per_channel)
    assert ["conversion.optimization_modes", "PTQ_FULL_INTEGER"] in q.metadata
    h = wetron.open(files["cnn_fp16"])
    assert {t.dtype for t in h.graphs[0].initializers} >= {"float16"}
    assert "DEQUANTIZE" in {n.op for n in h.graphs[0].nodes}


def test_buffer_offset_model(files):
    """Buffers written after the FlatBuffer (the >2 GB layout): offset/size fields."""
    path = files["buffer_offset"]
    packed = schema.ModelT.InitFromPackedBuf(open(path, "rb").read(), 0)
    assert any(b.offset > 1 for b in packed.buffers)
    m = wetron.open(path)
    spans = {(b.offset, b.size) for b in packed.buffers if b.offset > 1}
    assert {t.data for t in m.tensors} <= spans and m.tensors


def test_fused_lstm(files):
    m = wetron.open(files["lstm"])
    lstm = [n for n in m.graphs[0].nodes if n.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert len(lstm) == 3
    attrs = {a.name: a.value for a in lstm[0].attributes}
    assert attrs["fused_activation_function"] == "TANH" and attrs["time_major"] == "false"
    assert "" in lstm[0].inputs            # omitted optional inputs (peepholes, projection)
    assert len(lstm[0].inputs) == 24


def test_custom_op(files):
    m = wetron.open(files["flex"])
    node = next(n for n in m.graphs[0].nodes if n.op == "FlexMatrixDeterminant")
    assert node.domain == tflite.CUSTOM_DOMAIN == "tflite.custom"
    assert {n.domain for n in m.graphs[0].nodes} == {"tflite", "tflite.custom"}
    assert node.attributes[0].name == "custom_options"


def test_hierarchy_from_scopes(files):
    doc = wetron.open(files["cnn"]).to_dict()
    paths = {g["path"] for g in doc["graphs"][0]["groups"]}
    assert {"cnn_1", "cnn_1/flatten_1", "cnn_1/up_nearest_1/Repeat"} <= paths, paths


def test_cli_info(files, wetron_env):
    out = subprocess.run([sys.executable, "-m", "wetron", "info", files["cnn_int8"], "--json"],
                         capture_output=True, text=True, env=wetron_env, check=True).stdout
    s = json.loads(out)
    assert s["format"] == "TensorFlow Lite" and s["graph"]["ops"]["CONV_2D"] == 3


def test_not_tflite_is_clear():
    with pytest.raises(wetron.ModelError, match="no 'TFL3' identifier"):
        wetron.open(wetron.BytesSource(b"\x10\x00\x00\x00ABCD" + b"\xff" * 40, "x.tflite"))
    with pytest.raises(wetron.ModelError, match="outside the file"):
        wetron.open(wetron.BytesSource(b"\xf0\x00\x00\x00TFL3" + b"\x00" * 40, "y.tflite"))


# --- robustness --------------------------------------------------------------------
SEEDS = {}


def _seed(files, which):
    if which not in SEEDS:
        SEEDS[which] = open(files[which], "rb").read()
    return SEEDS[which]


def _exercise(data):
    try:
        m = wetron.open(wetron.BytesSource(data, "fuzz.tflite"))
    except wetron.ModelError as e:
        assert "fuzz.tflite" in str(e) and "\n" not in str(e)
        return
    json.loads(m.dumps())
    for t in m.tensors:
        try:
            m.tensor_values(t.index, 64)
        except wetron.ModelError as e:
            assert "\n" not in str(e)


_WORDS = [0, 1, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000]


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(which=st.sampled_from(["cnn_int8", "control_flow", "strings", "signatures"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.one_of(
           st.binary(min_size=1, max_size=4),
           st.sampled_from(_WORDS).map(lambda w: struct.pack("<I", w)))), min_size=1,
           max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_fuzz_mutated_tflite_fails_cleanly(files, which, edits, cut):
    data = bytearray(_seed(files, which))
    for where, new in edits:
        at = int(where * (len(data) - 1))
        data[at:at + len(new)] = new
    if cut is not None:
        data = data[:max(8, int(cut * len(data)))]
    _exercise(bytes(data))


# --- the same in Pyodide -----------------------------------------------------------
def test_same_results_in_pyodide(files, tmp_path):
    """Real Pyodide (Node, standard library only): TFLite models and frozen TensorFlow
    graphs give the same documents and values as in CPython."""
    import os
    import shutil
    pytest.importorskip("test_format_weights_pyodide")
    from test_format_weights_pyodide import PYODIDE, REPO, SCRIPT, _cpython
    if not shutil.which("node") or not os.path.isdir(PYODIDE):
        pytest.skip("node or the pyodide npm package is missing")
    tf_files = models.tensorflow_files()
    paths = [files[k] for k in ALL] + [tf_files["frozen_cnn"], tf_files["frozen_control"]]
    script = tmp_path / "run.mjs"
    script.write_text(SCRIPT % {"pyodide": PYODIDE, "package": os.path.join(REPO, "py", "wetron")})
    run = subprocess.run(["node", str(script), json.dumps(paths)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.pop("python").startswith("3.1")
    for p in paths:
        name = os.path.basename(p)
        expected = _cpython(p)
        expected["doc"]["model"]["file"] = result[name]["doc"]["model"]["file"]
        assert result[name] == expected, name
