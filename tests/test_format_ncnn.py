"""ncnn: .param/.bin files pnnx wrote from torch models (tests/formats_ncnn_models.py),
checked against ncnn's own Python binding: its layers (type, name, type index, blobs),
every blob's shape as ncnn's Extractor computes it, the binary .param.bin it loads; the
weights against the torch parameters they came from; MACs against the pnnx file's and
the ONNX export's; hostile files and a bounded fuzz."""
import json
import math
import os

import pytest

import formats_ncnn_models
import models
import test_fuzz
import wetron
from wetron import cost, shapes
from wetron.formats import ncnn_schema
from wetron.source import FileSource

pytestmark = pytest.mark.timeout(900)
SHAPED = ("cnn", "block", "more", "transformer_b1")


@pytest.fixture(scope="module")
def files():
    return formats_ncnn_models.ncnn_models()


def _path(files, name, suffix):
    return formats_ncnn_models.path(files, name, suffix)


def _with_bin(files, name, param_suffix):
    """The .param file `name + param_suffix` with <name>.ncnn.bin as its weights."""
    weights = _path(files, name, ".ncnn.bin")
    return wetron.open(_path(files, name, param_suffix),
                       companions=lambda n: FileSource(weights) if n.endswith(".bin") else None)


def _row_major(e):
    return {1: (e["w"],), 2: (e["h"], e["w"]), 3: (e["c"], e["h"], e["w"]),
            4: (e["c"], e["d"], e["h"], e["w"])}[e["dims"]]


@pytest.mark.parametrize("name", ["cnn", "cnn_fp32", "block", "more", "transformer_b1"])
def test_layers_match_ncnn(files, name):
    o = files[name]["oracle"]["ncnn"]
    assert o["load_param"] == 0 and o["load_model"] == 0
    m = wetron.open(_path(files, name, ".ncnn.param"))     # <name>.ncnn.bin beside it
    g = m.graphs[0]
    assert m.format == "ncnn" and m.format_version == "param (text)"
    assert not m.warnings, m.warnings    # the .bin read to its last byte
    blobs = o["blobs"]
    layers = [x for x in o["layers"] if x["type"] != "Input"]
    assert [(n.op, n.name) for n in g.nodes] == [(x["type"], x["name"]) for x in layers]
    assert {n.domain for n in g.nodes} == {"ncnn"}
    for n, x in zip(g.nodes, layers):
        bottoms = [i for i in n.inputs if "/" not in i]
        assert bottoms == [blobs[b] for b in x["bottoms"]], n.name
        assert n.outputs == [blobs[t] for t in x["tops"]], n.name
    inputs = [blobs[x["tops"][0]] for x in o["layers"] if x["type"] == "Input"]
    assert g.inputs == inputs
    # ncnn's type indices are the generated registry's order (a .param.bin names types so)
    for x in o["layers"]:
        assert ncnn_schema.LAYER_TYPES[x["typeindex"]] == x["type"]


def test_parameters_are_named_as_ncnn_names_them(files):
    m = wetron.open(_path(files, "cnn", ".ncnn.param"))
    conv = m.graphs[0].nodes[0]
    attrs = {a.name: (a.type, a.value) for a in conv.attributes}
    assert conv.op == "Convolution"
    assert attrs["num_output"] == ("int", 16) and attrs["kernel_w"] == ("int", 5)
    assert attrs["kernel_h"] == ("int", 5) and attrs["stride_w"] == ("int", 2)
    assert attrs["bias_term"] == ("int", 1) and attrs["weight_data_size"] == ("int", 1200)
    assert attrs["activation_type"] == ("int", 1)                 # ReLU fused by pnnx
    bn = next(n for n in m.graphs[0].nodes if n.op == "BatchNorm")
    assert {a.name: a.value for a in bn.attributes} == {"channels": 32, "eps": 1e-5}


@pytest.mark.parametrize("name", SHAPED)
def test_every_blob_shape_is_ncnns(files, name):
    """At the input shape the Input layer states (the .shaped copy), every blob's shape
    as the rules compute it is the one ncnn's Extractor gives."""
    o = files[name]["oracle"]["ncnn"]["shapes"]
    m = _with_bin(files, name, ".shaped.ncnn.param")
    types = shapes.infer(m.graphs[0]).types
    assert len(o) == len(files[name]["oracle"]["ncnn"]["blobs"])
    for blob, e in o.items():
        assert e["ret"] == 0
        assert types[blob][2] == _row_major(e), blob


def test_param_bin_is_what_ncnn_reads(files):
    o = files["block"]["oracle"]["param_bin"]
    assert o["load_param_bin"] == 0 and o["load_model"] == 0
    m = _with_bin(files, "block", ".param.bin")
    text = _with_bin(files, "block", ".shaped.ncnn.param")
    g, t = m.graphs[0], text.graphs[0]
    assert m.format_version == "param (binary)" and not m.warnings
    layers = [x for x in o["layers"] if ncnn_schema.LAYER_TYPES[x["typeindex"]] != "Input"]
    assert [n.op for n in g.nodes] == [ncnn_schema.LAYER_TYPES[x["typeindex"]] for x in layers]
    for n, x in zip(g.nodes, layers):
        assert [i for i in n.inputs if "/" not in i] == [f"blob{b}" for b in x["bottoms"]]
        assert n.outputs == [f"blob{b}" for b in x["tops"]]
    for a, b in zip(g.nodes, t.nodes):   # ids typed by the layer's load_param, as ncnn reads
        assert [(x.name, x.type) for x in a.attributes] == [(x.name, x.type) for x in b.attributes]
        for x, y in zip(a.attributes, b.attributes):
            assert x.value == pytest.approx(y.value, rel=1e-7), (a.op, x.name)
    assert m.parameters == text.parameters
    types = shapes.infer(g).types
    for blob, e in o["shapes"].items():
        assert types[blob][2] == _row_major(e), blob


def _values(m, name, n=64):
    t = next(t for t in m.graphs[0].initializers if t.name == name)
    return t, m.tensor_values(t.index, limit=n)["values"]


def test_weights_are_the_torch_parameters(files):
    """Parameters pnnx keeps as they are: float16 in .ncnn.bin where it wrote float16,
    float32 with fp16=0."""
    for name, layer, key in (("cnn", "linear_12/weight_data", "fc.weight"),
                             ("cnn", "linear_12/bias_data", "fc.bias"),
                             ("block", "ln_10/gamma_data", "norm.weight"),
                             ("block", "gemm_1/B_data", "head.weight")):
        m = wetron.open(_path(files, name, ".ncnn.param"))
        want = files[name]["oracle"]["torch_params"][key]
        t, got = _values(m, layer)
        assert math.prod(t.dims) == math.prod(want["shape"])
        if t.dtype == "float16":
            assert got == want["float16"][:len(got)], layer
        else:
            assert got == pytest.approx(want["values"][:len(got)], rel=1e-6), layer
    m = wetron.open(_path(files, "cnn_fp32", ".ncnn.param"))
    t, got = _values(m, "linear_12/weight_data")
    assert t.dtype == "float32" and t.dims == (10, 32)
    assert got == pytest.approx(files["cnn_fp32"]["oracle"]["torch_params"]["fc.weight"]["values"],
                                rel=1e-6)
    # float16 tags: every convolution's weights, fp32 file: none
    fp16 = wetron.open(_path(files, "cnn", ".ncnn.param"))
    assert {t.dtype for t in fp16.graphs[0].initializers if t.name.endswith("weight_data")} == \
        {"float16"}
    assert {t.dtype for t in m.graphs[0].initializers} == {"float32"}


@pytest.mark.parametrize("name", SHAPED)
def test_macs_equal_the_pnnx_files(files, name):
    m = _with_bin(files, name, ".shaped.ncnn.param")
    _, _, c, _, _ = cost.analyse(m)
    assert None not in c.macs, [n.op for n, x in zip(m.graphs[0].nodes, c.macs) if x is None]
    p = wetron.open(_path(files, name, ".pnnx.param"))
    _, _, pc, _, _ = cost.analyse(p)
    assert sum(c.macs) == sum(pc.macs) > 0
    if name == "cnn":   # and the ONNX export's at batch 1
        _, _, oc, _, _ = cost.analyse(wetron.open(models.torch_cnn()), {"batch": 1})
        assert sum(c.macs) == sum(x for x in oc.macs if x) == 1_421_632


def test_param_alone_opens_without_weights(files):
    with open(_path(files, "cnn", ".ncnn.param"), "rb") as f:
        m = wetron.open(wetron.BytesSource(f.read(), "cnn.ncnn.param"))
    assert m.parameters == 0 and len(m.graphs[0].nodes) == 26
    assert any(".bin was not given" in w for w in m.warnings)
    types = shapes.infer(m.graphs[0]).types      # pnnx's Input states no shape
    assert types["in0"][2] is None


def test_a_layer_ncnn_cannot_load_still_opens(files):
    """pnnx keeps a Tensor.to in the transformer's .ncnn.param: ncnn refuses the file;
    Wetron shows it, and says why the weights after that layer are not read."""
    assert files["transformer"]["oracle"]["ncnn"]["load_param"] == -1
    m = wetron.open(_path(files, "transformer", ".ncnn.param"))
    ops = [n.op for n in m.graphs[0].nodes]
    assert "Tensor.to" in ops and "MultiHeadAttention" not in ops and "Embed" in ops
    assert any("Tensor.to" in w and "not read" in w for w in m.warnings)


def test_truncated_bin_is_a_warning(files, tmp_path):
    with open(_path(files, "cnn", ".ncnn.bin"), "rb") as f:
        data = f.read()
    (tmp_path / "cut.param").write_bytes(open(_path(files, "cnn", ".ncnn.param"), "rb").read())
    (tmp_path / "cut.bin").write_bytes(data[:len(data) // 2])
    m = wetron.open(str(tmp_path / "cut.param"))
    assert any("bytes needed" in w for w in m.warnings)
    assert 0 < m.parameters < 43882
    (tmp_path / "cut.bin").write_bytes(data + bytes(8))
    m = wetron.open(str(tmp_path / "cut.param"))
    assert any("8 bytes after the last weight" in w for w in m.warnings)


def test_quantized_and_int8_loads(tmp_path):
    """ModelBin's other tags: a 256-entry table with uint8 indices, and int8 (padded)."""
    import struct
    table = [float(i) / 2 for i in range(256)]
    weights = (struct.pack("<I", 0x00000101) + struct.pack("<256f", *table) + bytes([3, 7, 9, 0])
               + struct.pack("<I", 0x000D4B38) + struct.pack("<3b", -1, 2, -3) + bytes(1)
               + struct.pack("<4f", 1, 2, 3, 4))
    (tmp_path / "q.param").write_text(
        "7767517\n3 3\nInput in 0 1 in 0=4\nInnerProduct fc 1 1 in a 0=1 1=0 2=4\n"
        "Convolution1D c 1 1 a b 0=1 1=3 5=1 6=3\n")
    (tmp_path / "q.bin").write_bytes(weights[:-16])
    m = wetron.open(str(tmp_path / "q.param"))
    g = m.graphs[0]
    ts = {t.name: t for t in g.initializers}
    assert m.tensor_values(ts["fc/weight_data"].index)["values"] == [1.5, 3.5, 4.5, 0.0]
    assert ts["c/weight_data"].dtype == "int8"
    assert m.tensor_values(ts["c/weight_data"].index)["values"] == [-1, 2, -3]
    assert any("bytes needed" in w for w in m.warnings)    # c/bias_data: 4 bytes missing


def test_text_values_as_paramdict_reads_them(tmp_path):
    (tmp_path / "v.param").write_text(
        '7767517\n2 2\nInput in 0 1 x 0=8 1=4 2=3\n'
        'Interp i 1 1 x y 0=2 1=2.5 2=1e1 -23303=3,1,2,3 9="a b" 7=1,2.0,3\n')
    m = wetron.open(str(tmp_path / "v.param"))
    n = m.graphs[0].nodes[0]
    assert m.graphs[0].types["x"][2] == (3, 4, 8)
    got = {a.name: (a.type, a.value) for a in n.attributes}
    assert got["resize_type"] == ("int", 2) and got["height_scale"] == ("float", 2.5)
    assert got["width_scale"] == ("float", 10.0) and got["output_height"] == ("ints", [1, 2, 3])
    assert got["size_expr"] == ("string", "a b")
    assert got["7"] == ("ints", [1, 2, 3])    # the first element decides: ints (sscanf %d)


HOSTILE = {
    "a billion layers": b"7767517\n1000000000 1\n",
    "no blobs": b"7767517\n1 0\nInput in 0 1 in\n",
    "layers missing": b"7767517\n3 3\nInput in 0 1 in\n",
    "more bottoms than names": b"7767517\n1 1\nReLU r 9 1 a b\n",
    "a huge bottom count": b"7767517\n1 1\nReLU r 99999999 1 a\n",
    "id 40": b"7767517\n1 1\nReLU r 0 1 a 40=1\n",
    "array id -23340": b"7767517\n1 1\nReLU r 0 1 a -23340=1,1\n",
    "array count past its elements": b"7767517\n1 1\nReLU r 0 1 a -23300=9,1\n",
    "array count huge": b"7767517\n1 1\nReLU r 0 1 a -23300=99999999999,1\n",
    "a long string": b"7767517\n1 1\nReLU r 0 1 a 0=" + b"x" * 400 + b"\n",
    "not key=value": b"7767517\n1 1\nReLU r 0 1 a zz\n",
    "more blobs than declared": b"7767517\n2 1\nInput a 0 1 a\nReLU r 1 1 a b\n",
    "weights of 2^40 elements": b"7767517\n2 2\nInput a 0 1 a\n"
                                b"InnerProduct f 1 1 a b 0=1 2=2000000000000\n",
    "binary: layers past the file": b"\x1d\x2f\x75\x00" + (10 ** 8).to_bytes(4, "little") * 2,
    "binary: blob index out of range": bytes.fromhex("1d2f7500 01000000 01000000") +
        (26).to_bytes(4, "little") + (1).to_bytes(4, "little") * 2 + (7).to_bytes(4, "little") * 2,
    "binary: array of a billion": bytes.fromhex("1d2f7500 01000000 01000000") +
        (26).to_bytes(4, "little") + bytes(4) + (1).to_bytes(4, "little") + bytes(4) +
        (-23300).to_bytes(4, "little", signed=True) + (10 ** 9).to_bytes(4, "little"),
    "binary: no end of parameters": bytes.fromhex("1d2f7500 01000000 01000000") +
        (26).to_bytes(4, "little") + bytes(4) + (1).to_bytes(4, "little") + bytes(4) + bytes(8),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(case):
    name = "h.param.bin" if case.startswith("binary") else "h.param"
    test_fuzz.exercise(HOSTILE[case], name)


def _exercise_pair(param, weights):
    """Open a .param with its .bin (both bytes), build the document, read every tensor:
    success or ModelError only."""
    try:
        m = wetron.open(wetron.BytesSource(param, "f.param"),
                        companions=lambda n: wetron.BytesSource(weights, n)
                        if n == "f.bin" else None)
    except wetron.ModelError as e:
        test_fuzz.check_error(e, "f.param")
        return
    json.loads(wetron.dumps(m))
    for t in m.tensors:
        try:
            m.tensor_values(t.index, limit=64)
        except wetron.ModelError as e:
            test_fuzz.check_error(e, "f.param")


@pytest.mark.timeout(300)
def test_mutated_param_and_bin(files):
    """test_fuzz's byte-level mutations of a real .param, then of its .bin."""
    from hypothesis import HealthCheck, given, settings
    with open(_path(files, "block", ".shaped.ncnn.param"), "rb") as f:   # shapes: rules run
        test_fuzz.SEEDS["ncnn-param"] = param = f.read()
    with open(_path(files, "block", ".ncnn.bin"), "rb") as f:
        test_fuzz.SEEDS["ncnn-bin"] = weights = f.read()
    with open(_path(files, "block", ".param.bin"), "rb") as f:
        test_fuzz.SEEDS["ncnn-param-bin"] = f.read()
    opts = dict(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

    @settings(**opts)
    @given(test_fuzz.mutated("ncnn-param"))
    def text(data):
        _exercise_pair(data, weights)

    @settings(**opts)
    @given(test_fuzz.mutated("ncnn-bin"))
    def model_bin(data):
        _exercise_pair(param, data)

    @settings(**opts)
    @given(test_fuzz.mutated("ncnn-param-bin"))
    def binary(data):
        test_fuzz.exercise(data, "fuzzed.param.bin")
    text()
    model_bin()
    binary()
    assert os.path.exists(_path(files, "block", ".ncnn.bin"))


@pytest.mark.timeout(300)
def test_hostile_parameter_values_leave_nodes_unknown(files):
    """Each parameter of each layer of a real shaped .param set, one at a time, to 0, -1,
    -233 (ncnn's "not given"), 2^31-1 and a float: the graph document is built (shape and
    cost rules run) and nothing but a clean result comes out."""
    with open(_path(files, "block", ".shaped.ncnn.param")) as f:
        lines = f.read().splitlines()
    with open(_path(files, "block", ".ncnn.bin"), "rb") as f:
        weights = f.read()
    cases = 0
    for i, line in enumerate(lines[2:], 2):
        tokens = line.split()
        for j, token in enumerate(tokens):
            if "=" not in token or token.startswith("-233"):
                continue
            key = token.split("=", 1)[0]
            for value in ("0", "-1", "-233", "2147483647", "0.5"):
                mutated = list(lines)
                mutated[i] = " ".join(tokens[:j] + [f"{key}={value}"] + tokens[j + 1:])
                _exercise_pair("\n".join(mutated).encode(), weights)
                cases += 1
    assert cases > 300


def test_op_metadata_is_ncnns(files):
    """Every layer type of the real files is in the generated metadata, its weights the
    input slots after the bottom (from each layer's load_model), its parameters with
    their ParamDict ids (opdocs)."""
    from wetron.ops import metadata
    for name in ("cnn", "block"):
        for x in files[name]["oracle"]["ncnn"]["layers"]:
            assert metadata.describe("ncnn", x["type"]) is not None, x["type"]
    assert metadata.describe("ncnn", "Convolution") == {
        "name": "Convolution", "category": "conv",
        "inputs": ["input", "weight_data", "bias_data"], "outputs": []}
    assert metadata.describe("ncnn", "BatchNorm")["inputs"] == \
        ["input", "slope_data", "mean_data", "var_data", "bias_data"]
    assert metadata.describe("ncnn", "MultiHeadAttention")["inputs"] == []
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "opdocs", "ncnn.json"), encoding="utf-8") as f:
        docs = json.load(f)["ops"]
    conv = {a["name"]: a for a in docs["Convolution"][0]["attributes"]}
    assert conv["num_output"]["id"] == 0 and conv["kernel_h"] == {
        "name": "kernel_h", "type": "int", "id": 11, "default": "kernel_w"}
    assert docs["Convolution"][0]["code"] == ncnn_schema.LAYER_TYPES.index("Convolution") == 6
