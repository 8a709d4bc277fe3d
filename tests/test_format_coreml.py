"""Core ML (.mlmodel, .mlpackage) against coremltools 9.0, which wrote the files and
reads them back for the oracles (formats_coreml_models.py): layers, operations, their
inputs and outputs, weights with their element counts and values, declared and
inferred shapes, metadata; plus hostile files and a bounded fuzz."""
import json
import math
import os
import shutil
import struct
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wetron
from wetron import cost, formats, shapes
from wetron.formats import coreml
from wetron.source import BytesSource

import formats_coreml_models as models

np = pytest.importorskip("numpy")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARRAY_DTYPES = {"FLOAT32": "float32", "DOUBLE": "float64", "INT32": "int32",
                "FLOAT16": "float16", "INT8": "int8"}


@pytest.fixture(scope="module")
def cdir():
    return models.coreml_dir()


def path_of(cdir, name):
    return os.path.join(cdir, name)


def model_file(cdir, name):
    """The protobuf file itself (a package's Data/com.apple.CoreML/model.mlmodel)."""
    p = path_of(cdir, name)
    return os.path.join(p, "Data", "com.apple.CoreML", "model.mlmodel") if os.path.isdir(p) else p


def meta(m):
    return dict((k, v) for k, v in m.metadata)


# --- the table and the op metadata are coremltools' -------------------------------------
def test_schema_and_op_metadata_are_what_coremltools_defines(cdir):
    proc = subprocess.run([models.venv_python(), os.path.join(REPO, "tools", "gen_coreml_schema.py"),
                           "--check"], capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


# --- every file as coremltools reads it ----------------------------------------------------
@pytest.mark.parametrize("name", models.FILES)
def test_opens_as_core_ml_with_coremltools_description(cdir, name):
    o = models.oracle(cdir, name)
    m = wetron.open(path_of(cdir, name))       # a package opens as its folder
    assert m.format == "Core ML"
    assert m.format_version.startswith(f"specification version {o['specificationVersion']}")
    g = m.graphs[0]
    assert g.inputs == [f["name"] for f in o["inputs"]]
    assert g.outputs == [f["name"] for f in o["outputs"]]
    for f in o["inputs"] + o["outputs"]:
        t = g.types[f["name"]]
        if f["kind"] == "multiArrayType":
            assert t[0] == "tensor" and t[1] == ARRAY_DTYPES[f["dtype"]]
            assert t[2] == (tuple(f["shape"]) if f["shape"] else None)
        elif f["kind"] == "imageType":
            assert t[0] == "opaque" and f"{f['width']}x{f['height']}" in t[2]
    md = meta(m)
    for key in ("author", "license", "shortDescription", "versionString"):
        if o["metadata"][key]:
            assert md[key] == o["metadata"][key]
    for key, value in o["metadata"]["userDefined"].items():
        assert md[key] == value
    if o["metadata"]["shortDescription"]:
        assert m.doc == o["metadata"]["shortDescription"]
    assert not m.warnings
    json.loads(m.dumps())


NN_FILES = [n for n in models.FILES if n.startswith("nn_")]


def weights_of(m, node):
    return {t.name: t for t in m.weights() if t.name in node.inputs}


@pytest.mark.parametrize("name", NN_FILES + ["pipeline.mlmodel"])
def test_layers_are_coremltools_layers(cdir, name):
    o = models.oracle(cdir, name)
    m = wetron.open(path_of(cdir, name))
    nodes = m.graphs[0].nodes
    if name == "pipeline.mlmodel":
        layers = [(f"model{i}/", layer) for i, s in enumerate(o["stages"]) for layer in s["layers"]]
    else:
        layers = [("", layer) for layer in o["layers"]]
    assert len(nodes) == len(layers)
    total = 0
    for node, (prefix, layer) in zip(nodes, layers):
        assert (node.op, node.domain, node.name) == (layer["type"], "coreml", prefix + layer["name"])
        assert node.inputs[:len(layer["inputs"])] == layer["inputs"]
        assert node.outputs == layer["outputs"]
        weights = weights_of(m, node)
        assert {w[len(node.name) + 1:]: t.count for w, t in weights.items()} == layer["weights"]
        total += sum(layer["weights"].values())
    assert m.parameters == total


@pytest.mark.parametrize("name, dtype", [("nn_cnn.mlmodel", "float32"),
                                         ("nn_fp16.mlmodel", "float16"),
                                         ("nn_quant8.mlmodel", "uint8")])
def test_weights_decode_as_stored(cdir, name, dtype):
    m = wetron.open(path_of(cdir, name))
    data = open(path_of(cdir, name), "rb").read()
    for t in m.weights():
        assert t.dtype == dtype
        values = m.tensor_values(t.index, limit=None)["values"]
        offset, length = t.data
        raw = data[offset:offset + length]
        expect = np.frombuffer(raw, {"float32": "<f4", "float16": "<f2", "uint8": "u1"}[dtype])
        assert values == expect[:t.count].astype(np.float64).tolist()
    if name == "nn_quant8.mlmodel":
        q = m.graphs[0].quantization
        assert q["fc/weights"]["bits"] == 8 and len(q["fc/weights"]["scale"]) in (1, 4)
    conv = m.graphs[0].nodes[0]
    assert weights_of(m, conv)[f"{conv.name}/weights"].dims[0] == \
        dict((a.name, a.value) for a in conv.attributes)["outputChannels"]


def test_nn_shapes_are_coremltools_mil_shapes(cdir):
    """coremltools' type inference of the same network (its float32 ML program twin)
    gives each layer's output shape: the NeuralNetwork rules give the same."""
    o = models.oracle(cdir, "nn_cnn.mlmodel")
    m = wetron.open(path_of(cdir, "nn_cnn.mlmodel"))
    g = m.graphs[0]
    inferred = shapes.infer(g).types
    got = [list(inferred[n.outputs[0]][2]) for n in g.nodes]
    assert got == o["mil_shapes"]


def test_builder_shapes_follow_the_layer_definitions(cdir):
    """A rank-5 network (inputs [C, H, W]): same and valid convolutions, a
    deconvolution with its outputShape, global pooling."""
    m = wetron.open(path_of(cdir, "nn_builder.mlmodel"))
    g = m.graphs[0]
    t = shapes.infer(g).types
    by = {n.name: t.get(n.outputs[0]) for n in g.nodes}
    assert by["conv"][2] == (4, 8, 8)              # same padding
    assert by["down"][2] == (6, 3, 3)              # (8 - 3) // 2 + 1
    assert by["deconv"][2] == (2, 6, 6)            # outputShape
    assert by["gp"][2] == (2, 1, 1)


def test_cost_of_the_compute_layers(cdir):
    """MACs by the layers' own layouts: conv out_elems * kernelChannels * kh * kw,
    innerProduct out_elems * inputChannels; the float32 ML program of the same torch
    model (MIL conv / linear) gives the same figures."""
    def macs(path):
        m = wetron.open(path)
        g = m.graphs[0]
        c = cost.graph_cost(g, shapes.infer(g).types)
        return [(n.op, c.macs[i]) for i, n in enumerate(g.nodes) if c.macs[i]]
    nn = macs(path_of(cdir, "nn_cnn.mlmodel"))
    o = models.oracle(cdir, "nn_cnn.mlmodel")
    shapes_ = o["mil_shapes"]
    conv1 = math.prod(shapes_[0]) * 3 * 3 * 3          # 8x32x32 outputs, 3 channels, 3x3
    conv2 = math.prod(shapes_[2]) * 4 * 3 * 3          # groups 2: 4 channels each
    fc = math.prod(shapes_[5]) * 392
    assert nn == [("convolution", conv1), ("convolution", conv2), ("innerProduct", fc)]
    ml = macs(path_of(cdir, "ml_cnn.mlpackage"))
    assert ml == [("conv", conv1), ("conv", conv2), ("linear", fc)]
    mlp = macs(path_of(cdir, "ml_mlp.mlpackage"))
    assert mlp == [("linear", 2 * 5 * 24 * 16), ("linear", 2 * 5 * 6 * 24)]
    b = macs(path_of(cdir, "nn_builder.mlmodel"))
    assert b[0] == ("convolution", 4 * 8 * 8 * 3 * 3 * 3)        # out_elems * Cin * k
    assert b[2] == ("convolution", 6 * 3 * 3 * 2 * 2 * 2)        # deconv: in_elems * Cout * k
    q = macs(path_of(cdir, "nn_quant8.mlmodel"))
    assert q[-1] == ("batchedMatmul", 3 * 4)


# --- ML programs ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ml_cnn.mlpackage", "ml_mlp.mlpackage"])
def test_operations_are_coremltools_operations(cdir, name):
    o = models.oracle(cdir, name)["functions"]["main"]
    m = wetron.open(path_of(cdir, name))
    g = m.graphs[0]
    assert g.name == "main" and ["opset", o["opset"]] in g.metadata
    assert [(n.op, n.name) for n in g.nodes] == [(op["type"], op["name"]) for op in o["ops"]]
    for node, op in zip(g.nodes, o["ops"]):
        assert node.domain == "coreml.mil"
        assert node.outputs == [x["name"] for x in op["outputs"]]
        for x in op["outputs"]:
            assert list(g.types[x["name"]][2]) == x["shape"]
        bound = [n for names in op["inputs"].values() for n in names]
        assert sorted(n for n in node.inputs if n) == sorted(bound)
    weights = {t.name: t for t in g.initializers}
    assert {c["name"]: c["count"] for c in o["consts"]} == {k: t.count for k, t in weights.items()}
    assert m.parameters == sum(c["count"] for c in o["consts"])
    blobs = [c for c in o["consts"] if "blob" in c]
    assert blobs
    blob = open(os.path.join(path_of(cdir, name), "Data", "com.apple.CoreML", "weights",
                             "weight.bin"), "rb").read()
    for c in blobs:
        t = weights[c["name"]]
        assert t.location == "external" and t.file == "weights/weight.bin"
        assert c["blob"] == ["@model_path/weights/weight.bin", t.data[0] - 64]
        sentinel, code, size, offset = struct.unpack_from("<IIQQ", blob, c["blob"][1])
        assert (sentinel, size, offset) == (0xDEADBEEF, t.data[1], t.data[0])
        values = m.tensor_values(t.index, limit=None)["values"]
        np_dtype = {"float16": "<f2", "float32": "<f4"}[t.dtype]
        expect = np.frombuffer(blob, np_dtype, t.count, offset).astype(np.float64).tolist()
        assert values == expect


def test_conv_inputs_are_in_their_slot_order(cdir):
    m = wetron.open(path_of(cdir, "ml_cnn.mlpackage"))
    conv = next(n for n in m.graphs[0].nodes if n.op == "conv")
    weights = {t.name: t for t in m.weights()}
    x, w, b, strides, pad_type = conv.inputs[:5]
    assert weights[w].dims == (8, 3, 3, 3) and weights[b].dims == (8,)
    assert m.tensor_values(weights[strides].index)["values"] == [1, 1]
    assert m.tensor_values(weights[pad_type].index)["values"] == ["custom"]


def test_package_files_given_together_and_apart(cdir):
    """The page gives the model file with its companions by path; without the weight
    file the graph opens, with a warning, and its weights say why they have no values."""
    package = path_of(cdir, "ml_cnn.mlpackage")
    model = model_file(cdir, "ml_cnn.mlpackage")
    data = open(model, "rb").read()
    weight = os.path.join(os.path.dirname(model), "weights", "weight.bin")
    given = {"weights/weight.bin": weight}
    with_weights = wetron.open(BytesSource(data, "model.mlmodel"),
                               lambda p: wetron.FileSource(given[p]) if p in given else None)
    assert not with_weights.warnings
    alone = wetron.open(BytesSource(data, "model.mlmodel"), lambda p: None)
    assert len(alone.graphs[0].nodes) == len(with_weights.graphs[0].nodes)
    assert alone.warnings == ["weight file 'weights/weight.bin' not given: the weights' "
                              "values cannot be shown"]
    blob = next(t for t in alone.tensors if t.location == "external")
    with pytest.raises(wetron.ModelError, match="weight file 'weights/weight.bin' not given"):
        alone.tensor_values(blob.index)
    assert formats.main_file(package) == model


# --- not TensorFlow -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nn_cnn.mlmodel", "ml_cnn.mlpackage", "pipeline.mlmodel"])
def test_a_core_ml_file_is_not_tensorflow(cdir, name):
    data = open(model_file(cdir, name), "rb").read()
    for file_name in ("model.mlmodel", "model", "model.pb"):
        best = formats.candidates(data[:4096], file_name)[0][1]
        assert best is coreml, file_name
        m = wetron.open(BytesSource(data, file_name), lambda p: None)
        assert m.format == "Core ML" and m.graphs[0].nodes


# --- hostile files ---------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def model_bytes(body, spec=4):
    description = field(1, field(1, b"x") + field(3, field(5, b"")))
    return b"\x08" + bytes([spec]) + field(2, description) + body


def open_bytes(data, name="hostile.mlmodel"):
    return wetron.open(BytesSource(data, name), lambda p: None)


def test_nested_pipelines_are_bounded():
    inner = model_bytes(field(500, b""))
    for _ in range(coreml.MAX_DEPTH + 2):
        inner = model_bytes(field(202, field(1, inner)))
    with pytest.raises(wetron.ModelError, match="nested deeper than 32") as e:
        open_bytes(inner)
    assert "hostile.mlmodel" in str(e.value) and "Core ML" in str(e.value)


def test_layer_count_is_bounded_before_parsing(monkeypatch):
    monkeypatch.setattr(coreml, "MAX_NODES", 1000)
    layers = field(1, field(1, b"a") + field(130, b"")) * 1001
    with pytest.raises(wetron.ModelError, match="more than 1,000 layers"):
        open_bytes(model_bytes(field(500, layers)))


def test_broken_blobs_are_tensor_errors(cdir, tmp_path):
    package = tmp_path / "p.mlpackage"
    shutil.copytree(path_of(cdir, "ml_mlp.mlpackage"), package)
    weight = package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    blob = bytearray(weight.read_bytes())
    first = 64
    blob[first:first + 4] = b"\0\0\0\0"                       # sentinel
    struct.pack_into("<Q", blob, 128 + 64 + 16, 1 << 40)      # a later blob's offset
    weight.write_bytes(bytes(blob))
    m = wetron.open(str(package))
    errors = [t.error for t in m.tensors if t.error]
    assert any("sentinel" in e for e in errors), errors
    for t in m.tensors:
        if t.error:
            with pytest.raises(wetron.ModelError):
                m.tensor_values(t.index)
    weight.write_bytes(bytes(blob[:40]))
    with pytest.raises(wetron.ModelError, match="shorter than a blob storage header"):
        wetron.open(str(package))


def test_values_past_the_file_are_errors(cdir):
    data = bytearray(open(path_of(cdir, "nn_cnn.mlmodel"), "rb").read())
    with pytest.raises(wetron.ModelError) as e:
        open_bytes(bytes(data[:len(data) // 2]))
    assert "Core ML" in str(e.value) and "\n" not in str(e.value)


# --- fuzz ------------------------------------------------------------------------------------
SEEDS = ("nn_cnn.mlmodel", "nn_builder.mlmodel", "pipeline.mlmodel", "ml_mlp.mlpackage")


def length_fields(data, start, end, depth, out):
    p = start
    while p < end and len(out) < 2000:
        tag, p = _varint(data, p, end)
        if tag is None:
            return
        wire = tag & 7
        if wire == 0:
            _, p = _varint(data, p, end)
        elif wire == 1:
            p += 8
        elif wire == 5:
            p += 4
        elif wire == 2:
            at = p
            n, p = _varint(data, p, end)
            if n is None or p + n > end:
                return
            out.append((at, p - at))
            if depth < 10:
                length_fields(data, p, p + n, depth + 1, out)
            p += n
        else:
            return


def _varint(data, p, end):
    v = shift = 0
    while p < end and shift < 70:
        b = data[p]
        p += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, p
        shift += 7
    return None, end


@pytest.fixture(scope="module")
def seeds(cdir):
    out = {}
    for name in SEEDS:
        data = open(model_file(cdir, name), "rb").read()
        spots = []
        length_fields(data, 0, len(data), 0, spots)
        out[name] = (data, spots)
    return out


@settings(max_examples=int(os.environ.get("WETRON_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_files_open_or_fail_cleanly(seeds, data):
    name = data.draw(st.sampled_from(SEEDS))
    raw, spots = seeds[name]
    b = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        if spots and data.draw(st.booleans()):   # a length set to an interesting value
            at, size = spots[data.draw(st.integers(0, len(spots) - 1))]
            value = data.draw(st.sampled_from([0, 1, 127, 128, 1 << 21, 1 << 31, 1 << 63]))
            b[at:at + size] = varint(value)
        else:
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] = data.draw(st.integers(0, 255))
    try:
        m = open_bytes(bytes(b), "fuzzed.mlmodel")
    except wetron.ModelError as e:
        assert "\n" not in str(e) and "fuzzed.mlmodel" in str(e)
        return
    json.loads(m.dumps())
    for t in m.tensors[:50]:
        try:
            m.tensor_values(t.index, limit=64)
        except wetron.ModelError as e:
            assert "\n" not in str(e)
