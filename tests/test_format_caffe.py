"""Caffe: nets written with BVLC's caffe.proto compiled by protoc (tests/formats_caffe_models.py),
checked against OpenCV's Caffe importer (cv2.dnn.readNetFromCaffe): layer names and
types, blobs, the shapes it computes; MACs from its shapes and blobs; hostile files."""
import math
import os
import sys

import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

import formats_caffe_models
import test_fuzz
import wetron
from wetron import cost, shapes
from wetron.formats import caffe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = ["lenet", "resnet", "v1"]
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def files():
    return formats_caffe_models.caffe_files()


def test_schema_table_is_generated_from_caffe_proto():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import gen_proto_schema
    with open(formats_caffe_models.PROTO) as f:
        text = gen_proto_schema.generate(f.read(), "tools/schemas/caffe.proto")
    with open(caffe.schema.__file__) as f:
        assert f.read() == text, "run tools/gen_proto_schema.py (see its docstring)"


def _layers(m):
    """Nodes OpenCV lists as layers (it makes an Input layer the net's input)."""
    return [n for n in m.graphs[0].nodes if n.op != "Input"]


def _open(files, name, given):
    e = files[name]
    return wetron.open(e["prototxt"] if given == "prototxt+caffemodel" else e["caffemodel"])


@pytest.mark.parametrize("given", ["prototxt+caffemodel", "caffemodel"])
@pytest.mark.parametrize("name", ORACLE)
def test_layers_and_blobs_match_opencv(files, name, given):
    oracle = files[name]["oracle"]
    m = _open(files, name, given)
    assert m.format == "Caffe" and not m.warnings
    nodes = _layers(m)
    assert [(n.name, n.op) for n in nodes] == [(x["name"], x["type"]) for x in oracle["layers"]]
    assert {n.domain for n in m.graphs[0].nodes} == {"caffe"}
    weights = {t.name: t for t in m.graphs[0].initializers}
    for n, layer in zip(nodes, oracle["layers"]):
        blobs = [weights[x] for x in n.inputs if x in weights]
        assert [t.count for t in blobs] == [math.prod(s) for s in layer["blobs"]], n.name
        for t, values in zip(blobs, layer["values"]):
            assert t.dtype == "float32"
            if layer["type"] in ("Convolution", "Deconvolution", "InnerProduct"):
                got = m.tensor_values(t.index, limit=4)["values"]
                assert got == pytest.approx(values, rel=1e-6), t.name   # as OpenCV read them
    assert m.parameters == sum(math.prod(s) for x in oracle["layers"] for s in x["blobs"])
    if given == "prototxt+caffemodel":
        assert ["weights", os.path.basename(files[name]["caffemodel"])] in m.metadata


@pytest.mark.parametrize("given", ["prototxt+caffemodel", "caffemodel"])
@pytest.mark.parametrize("name", ORACLE)
def test_shapes_match_opencv(files, name, given):
    """Every layer's output shape as OpenCV's getLayersShapes computes it (Caffe's ceil
    rounding for pooling included), and the forward pass's output."""
    oracle = files[name]["oracle"]
    m = _open(files, name, given)
    g = m.graphs[0]
    if name == "lenet" and given == "caffemodel":
        # the trained net keeps its Input layer, whose shapes are the prototxt's
        assert g.nodes[0].op == "Input"
    types = shapes.infer(g).types
    for n in _layers(m):
        got = types[n.outputs[0]]
        assert list(got[2]) == oracle["output_shapes"][n.name][0], n.name
    producers = {o: n.name for n in g.nodes for o in n.outputs}
    assert [producers[o] for o in g.outputs] == oracle["output_names"]
    assert list(types[g.outputs[0]][2]) == oracle["forward_shape"]


@pytest.mark.parametrize("name", ORACLE)
def test_macs_follow_from_opencvs_shapes_and_blobs(files, name):
    """Convolution out_elems * (C/group) * kh * kw = out_elems * prod(weight[1:]);
    Deconvolution in_elems * prod(weight[1:]); InnerProduct out_elems * weight[1]."""
    oracle = files[name]["oracle"]
    m = _open(files, name, "prototxt+caffemodel")
    g = m.graphs[0]
    c = cost.graph_cost(g, shapes.infer(g).types)
    by_name = {n.name: i for i, n in enumerate(g.nodes)}
    shape_of = oracle["output_shapes"]
    previous = {}
    order = ["_input"] + [x["name"] for x in oracle["layers"]]
    for a, b in zip(order, order[1:]):
        previous[b] = a
    total = 0
    for layer in oracle["layers"]:
        i = by_name[layer["name"]]
        out = math.prod(shape_of[layer["name"]][0])
        if layer["type"] == "Convolution":
            want = out * math.prod(layer["blobs"][0][1:])
        elif layer["type"] == "Deconvolution":
            bottom = g.nodes[i].inputs[0]
            producer = next(n.name for n in g.nodes if bottom in n.outputs)
            want = math.prod(shape_of[producer][0]) * math.prod(layer["blobs"][0][1:])
        elif layer["type"] == "InnerProduct":
            want = out * layer["blobs"][0][1]
        else:
            assert c.macs[i] in (0, None), layer["name"]
            continue
        assert c.macs[i] == want, layer["name"]
        bias = out if len(layer["blobs"]) > 1 else 0
        assert c.flops[i] == 2 * want + bias, layer["name"]
        total += want
    assert sum(x or 0 for x in c.macs) == total
    assert None not in c.flops, [n.op for n, f in zip(g.nodes, c.flops) if f is None]


def test_lenet_macs(files):
    """LeNet's well-known figure: 2.29 M MACs (conv 288 K + 1.6 M, ip 400 K + 5 K)."""
    m = _open(files, "lenet", "prototxt+caffemodel")
    g = m.graphs[0]
    c = cost.graph_cost(g, shapes.infer(g).types)
    assert sum(x or 0 for x in c.macs) == 288_000 + 1_600_000 + 400_000 + 5_000


def test_in_place_layers_write_new_values(files):
    m = _open(files, "resnet", "prototxt+caffemodel")
    g = m.graphs[0]
    producers = {}
    for n in g.nodes:
        for o in n.outputs:
            assert o not in producers, o
            producers[o] = n.name
    relu = next(n for n in g.nodes if n.name == "conv1_relu")
    assert relu.inputs == ["conv1@scale_conv1"] and relu.outputs == ["conv1@conv1_relu"]
    pool = next(n for n in g.nodes if n.name == "pool1")
    assert pool.inputs == ["conv1@conv1_relu"]


def test_attributes_are_typed_by_caffe_proto(files):
    m = _open(files, "resnet", "caffemodel")
    attrs = {n.name: {a.name: (a.type, a.value) for a in n.attributes} for n in m.graphs[0].nodes}
    assert attrs["conv1"]["kernel_size"] == ("ints", [7])
    assert attrs["conv1"]["bias_term"] == ("string", "false")
    assert attrs["pool1"]["pool"] == ("string", "MAX")
    assert attrs["pool1"]["kernel_size"] == ("int", 3)
    assert attrs["res2a_branch2a_relu"]["negative_slope"] == ("float", 0.1)   # float32 0.1
    assert attrs["reshape"]["shape"] == ("ints", [0, -1, 3])
    assert attrs["res2a"]["operation"] == ("string", "SUM")


def test_prototxt_alone_is_the_graph_without_weights(files):
    e = files["resnet"]
    with open(e["prototxt"], "rb") as f:
        data = f.read()
    m = wetron.open(wetron.BytesSource(data, "resnet_block.prototxt"))
    assert m.parameters == 0 and not m.tensors
    assert [n.name for n in _layers(m)] == [x["name"] for x in e["oracle"]["layers"]]
    types = shapes.infer(m.graphs[0]).types
    assert list(types[m.graphs[0].outputs[0]][2]) == e["oracle"]["forward_shape"]


def test_the_caffemodel_named_like_the_prototxt_is_chosen(files, tmp_path):
    e = files["resnet"]
    for name in ("resnet_block.prototxt", "resnet_block.caffemodel"):
        with open(e["prototxt" if name.endswith("txt") else "caffemodel"], "rb") as f:
            (tmp_path / name).write_bytes(f.read())
    (tmp_path / "other.caffemodel").write_bytes(b"\x0a\x01x")
    m = wetron.open(str(tmp_path / "resnet_block.prototxt"))
    assert ["weights", "resnet_block.caffemodel"] in m.metadata and m.parameters > 0
    os.remove(tmp_path / "resnet_block.caffemodel")   # two others: none is guessed
    (tmp_path / "third.caffemodel").write_bytes(b"\x0a\x01x")
    m = wetron.open(str(tmp_path / "resnet_block.prototxt"))
    assert m.parameters == 0 and "2 .caffemodel files" in m.warnings[0]


def test_double_data_blobs(files):
    e = files["double"]
    m = wetron.open(e["caffemodel"])
    ts = {t.name: t for t in m.tensors}
    assert [(t.dtype, t.dims) for t in ts.values()] == [("float64", (3, 5)), ("float64", (3,))]
    for name, values in e["values"].items():
        assert m.tensor_values(ts[name].index, limit=None)["values"] == values
    types = shapes.infer(m.graphs[0]).types
    assert types["y"][2] == (2, 3)


def test_match_scores(files):
    def head(path):
        with open(path, "rb") as f:
            return f.read(4096)
    for name in ORACLE:
        e = files[name]
        assert caffe.match(head(e["prototxt"]), os.path.basename(e["prototxt"])) >= 0.9
        assert caffe.match(head(e["caffemodel"]), os.path.basename(e["caffemodel"])) >= 0.9
        assert caffe.match(head(e["caffemodel"]), "weights") >= 0.5   # by content alone
    onnx_path = test_fuzz.seed_models()["structure"]
    assert caffe.match(head(onnx_path), "model.onnx") == 0
    assert caffe.match(b"node {\n  name: \"x\"\n  op: \"Const\"\n}\n", "graph.pbtxt") == 0


# --- hostile files ---------------------------------------------------------------------------
def _net_text(*layers, inputs='input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'):
    return (inputs + "".join(layers)).encode()


def _layer(name, type, bottom="data", top=None, extra=""):
    return (f'layer {{ name: "{name}" type: "{type}" bottom: "{bottom}" '
            f'top: "{top or name}" {extra} }}\n')


MUST_FAIL = {
    "empty prototxt": b"",
    "prose": b"this is not a net, just words\n",
    "solver": b'net: "train_val.prototxt"\nbase_lr: 0.01\nmax_iter: 100\n',
    "unbalanced braces": _net_text(_layer("c", "ReLU")) + b"layer { name: \"x\"",
    "a string where a message goes": b'input_shape: "big"\n',
    "a message where a number goes": b'input_dim { x: 1 }\n',
    "an integer of 40 digits": b"input_dim: " + b"9" * 40 + b"\n",
    "a uint32 out of range": _net_text(_layer("c", "Convolution", extra=
                                              "convolution_param { num_output: -3 }")),
    "negative input dim": _net_text(inputs='input: "x"\ninput_shape { dim: -5 }\n'),
    "nested 100000 deep": b"layer { " * 100_000,
    "nul bytes": bytes(64),
}

MAY_OPEN = {
    "unknown layer type and fields (a fork)": _net_text(_layer(
        "p", "Permute", extra="permute_param { order: 0 order: 2 order: 3 order: 1 }")),
    "kernel larger than the blob": _net_text(_layer("c", "Convolution", extra=
                                                    "convolution_param { num_output: 4 "
                                                    "kernel_size: 99 }")),
    "stride 0": _net_text(_layer("p", "Pooling", extra="pooling_param { kernel_size: 2 "
                                 "stride: 0 }")),
    "kernel_size for 5 axes on 2": _net_text(_layer("c", "Convolution", extra=
                                                    "convolution_param { num_output: 4 "
                                                    + "kernel_size: 3 " * 5 + "}")),
    "a bottom nobody writes": _net_text(_layer("r", "ReLU", bottom="ghost")),
    "a cycle": _net_text(_layer("a", "ReLU", bottom="b", top="a"),
                         _layer("b", "ReLU", bottom="a", top="b")),
    "reshape with two -1": _net_text(_layer("r", "Reshape", extra=
                                            "reshape_param { shape { dim: -1 dim: -1 } }")),
    "flatten end before start": _net_text(_layer("f", "Flatten", extra=
                                                 "flatten_param { axis: 3 end_axis: 1 }")),
    "concat of different ranks": _net_text(_layer("f", "Flatten"), _layer(
        "c", "Concat", bottom='data" bottom: "f')),
    "V1 type number Caffe never had": b'input: "d"\ninput_dim: 1 input_dim: 1 input_dim: 2 '
                                      b'input_dim: 2\nlayers { name: "x" type: 99 bottom: "d" '
                                      b'top: "x" }\n',
    "V0 layers": b'input: "d"\nlayers { layer { name: "c" type: "conv" num_output: 2 } '
                 b'bottom: "d" top: "c" }\n',
    "a prototxt blob shorter than its shape": _net_text(_layer(
        "s", "Scale", extra="blobs { shape { dim: 3 } data: 1 data: 2 }")),
    "escapes and comments": b'# a comment\nname: "n\\x41\\101\\u00e9"  # more\n'
                            b"input: 'd' input_dim: [1, 3, 4, 4]\n"
                            + _layer("r", "ReLU", "d").encode(),
    "inf and nan": _net_text(_layer("p", "Power", extra="power_param { power: inf "
                                    "scale: -inf shift: nan }")),
    "many layers": _net_text(*[_layer(f"r{i}", "ReLU") for i in range(20_000)]),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(MUST_FAIL))
def test_not_a_net_is_rejected(case):
    with pytest.raises(wetron.ModelError) as info:
        wetron.open(wetron.BytesSource(MUST_FAIL[case], "hostile.prototxt"))
    test_fuzz.check_error(info.value, "hostile.prototxt")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(MAY_OPEN))
def test_hostile_net(case):
    m = test_fuzz.exercise(MAY_OPEN[case], "hostile.prototxt")
    assert m is not None and m.format == "Caffe"


def _blob_net(blob):
    """A binary NetParameter: one InnerProduct layer holding `blob` (BlobProto bytes)."""
    f = test_fuzz.field
    layer = f(1, b"ip") + f(2, b"InnerProduct") + f(3, b"x") + f(4, b"y") + f(7, blob)
    return f(1, b"hostile") + f(3, b"x") + f(100, layer)


def _shape(*dims):
    packed = b"".join(test_fuzz.encode_varint(d) for d in dims)
    return test_fuzz.field(7, test_fuzz.field(1, packed))


BINARY = {
    "values fewer than the shape": _blob_net(_shape(4, 4) + test_fuzz.field(5, b"\0" * 8)),
    "values in two pieces": _blob_net(_shape(4) + test_fuzz.field(5, b"\0" * 8) * 2),
    "2**62 x 2**62 dims": _blob_net(_shape(1 << 62, 1 << 62)),
    "a negative dim": _blob_net(_shape((1 << 64) - 3)),
    "40 dims": _blob_net(_shape(*[1] * 40)),
    "packed floats of 7 bytes": _blob_net(_shape(2) + test_fuzz.field(5, b"\0" * 7)),
    "a legacy shape": _blob_net(test_fuzz.field(1, 2) + test_fuzz.field(2, 3) +
                                test_fuzz.field(5, b"\0" * 24)),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(BINARY))
def test_hostile_caffemodel(case):
    test_fuzz.exercise(BINARY[case], "hostile.caffemodel")


FUZZ = settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["lenet", "v1"])
def test_mutated_caffemodels(files, name):
    """test_fuzz's byte-level and protobuf-aware mutations of a real caffemodel."""
    key = f"caffe-{name}"
    with open(files[name]["caffemodel"], "rb") as f:
        test_fuzz.SEEDS[key] = f.read()
    assert test_fuzz.exercise(test_fuzz.SEEDS[key], "fuzzed.caffemodel") is not None

    @FUZZ
    @given(st.one_of(test_fuzz.mutated(key), test_fuzz.restructured(key)))
    def run(data):
        test_fuzz.exercise(data, "fuzzed.caffemodel")
    run()


@st.composite
def mutated_text(draw, data):
    """Line and character mutations of a prototxt."""
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "char", "number", "brace", "swap"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "char" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(st.binary(min_size=0, max_size=3)) + lines[i][j + 1:]
        elif kind == "number":
            n = draw(st.sampled_from([b"0", b"-1", b"99999999999", b"1e308", b"nan", b"-0"]))
            lines[i] = bytes(c for c in lines[i] if not 48 <= c <= 57) + b" " + n
        elif kind == "brace":
            lines.insert(i, draw(st.sampled_from([b"{", b"}", b"layer {", b"<", b"[", b":"])))
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["resnet", "v1"])
def test_mutated_prototxts(files, name):
    with open(files[name]["prototxt"], "rb") as f:
        data = f.read()

    @FUZZ
    @given(mutated_text(data))
    def run(sample):
        test_fuzz.exercise(sample, "fuzzed.prototxt")
    run()
