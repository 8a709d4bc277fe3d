"""pnnx: .pnnx.param/.pnnx.bin files pnnx wrote from torch models
(tests/formats_ncnn_models.py): the shapes pnnx writes are kept, the graph's outputs are
torch's, the weights are the torch parameters bit for bit, MACs equal the ncnn file's
and the ONNX export's; without the .bin; hostile files and a bounded fuzz."""
import json

import pytest

import formats_ncnn_models
import models
import test_fuzz
import wetron
from wetron import cost, shapes

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def files():
    return formats_ncnn_models.ncnn_models()


def _path(files, name, suffix=".pnnx.param"):
    return formats_ncnn_models.path(files, name, suffix)


def _declared(path):
    """'#operand=(dims)type' of every line, as the file writes them."""
    out = {}
    with open(path) as f:
        for line in f.read().splitlines()[2:]:
            for token in line.split():
                if token.startswith("#"):
                    key, value = token[1:].split("=", 1)
                    out[key] = value
    return out


@pytest.mark.parametrize("name", ["cnn", "block", "more", "transformer", "transformer_b1"])
def test_the_files_shapes_are_kept(files, name):
    o = files[name]["oracle"]
    m = wetron.open(_path(files, name))
    g = m.graphs[0]
    assert m.format == "pnnx" and not m.warnings, m.warnings
    assert {n.domain for n in g.nodes} == {"pnnx"}
    types = shapes.infer(g).types
    for value, text in _declared(_path(files, name)).items():
        dims = tuple(int(d) for d in text[1:text.index(")")].split(",") if d)
        assert types[value][2] == dims, value
    assert [list(types[v][2]) for v in g.inputs] == o["input_shapes"]
    produced = [n for n in g.nodes if n.outputs and n.outputs[0] in g.outputs]
    if produced and produced[0].op == "prim::TupleConstruct":      # (transformer: a tuple)
        outs = produced[0].inputs
    else:
        outs = g.outputs
    assert [list(types[v][2]) for v in outs] == o["output_shapes"]


def test_parameters_and_weights(files):
    m = wetron.open(_path(files, "cnn"))
    g = m.graphs[0]
    conv = g.nodes[0]
    attrs = {a.name: (a.type, a.value) for a in conv.attributes}
    assert conv.op == "nn.Conv2d" and attrs["in_channels"] == ("int", 3)
    assert attrs["kernel_size"] == ("ints", [5, 5]) and attrs["bias"] == ("string", "true")
    assert attrs["padding_mode"] == ("string", "zeros")
    for name in ("cnn", "block", "more", "transformer"):
        m = wetron.open(_path(files, name))
        weights = {t.name: t for t in m.graphs[0].initializers}
        for key, want in files[name]["oracle"]["torch_params"].items():
            if key not in weights:
                continue   # (folded into another op by pnnx)
            t = weights[key]
            assert list(t.dims) == want["shape"] and t.dtype == "float32"
            got = m.tensor_values(t.index, limit=64)["values"]
            assert got == want["values"][:len(got)], key      # exact: pnnx keeps float32
    assert "fc.weight" in {t.name for t in wetron.open(_path(files, "cnn")).graphs[0].initializers}


def test_macs_equal_the_onnx_export(files):
    """The transformer at the sizes pnnx traced it (2 x 8) and the CNN at batch 1: the
    MACs of the ONNX exports of the same torch modules."""
    for name, onnx_path, sizes in (("transformer", models.torch_transformer(),
                                    {"batch": 2, "sequence": 8}),
                                   ("cnn", models.torch_cnn(), {"batch": 1})):
        _, _, c, _, _ = cost.analyse(wetron.open(_path(files, name)))
        assert None not in c.macs, name
        _, _, oc, _, _ = cost.analyse(wetron.open(onnx_path), sizes)
        assert sum(c.macs) == sum(x for x in oc.macs if x) > 0, name


def test_param_alone(files):
    with open(_path(files, "block"), "rb") as f:
        m = wetron.open(wetron.BytesSource(f.read(), "block.pnnx.param"))
    assert any(".pnnx.bin was not given" in w for w in m.warnings)
    assert m.parameters == wetron.open(_path(files, "block")).parameters > 0
    assert all(t.decoder is None for t in m.tensors)


def test_ncnn_and_pnnx_files_open_as_themselves(files):
    assert wetron.open(_path(files, "cnn")).format == "pnnx"
    assert wetron.open(_path(files, "cnn", ".ncnn.param")).format == "ncnn"
    with open(_path(files, "cnn"), "rb") as f:      # by content, whatever the name
        assert wetron.open(wetron.BytesSource(f.read(), "model.param")).format == "pnnx"


HOSTILE = {
    "a billion operators": b"7767517\n1000000000 1\n",
    "bad counts": b"7767517\nx y\npnnx.Input in 0 1 0 #0=(1)f32\n",
    "operators missing": b"7767517\n3 3\npnnx.Input in 0 1 0 #0=(1)f32\n",
    "a huge input count": b"7767517\n1 1\nnn.ReLU r 999999999 1 a #0=(1)f32\n",
    "a bad shape": b"7767517\n1 1\npnnx.Input in 0 1 0 #0=(1,2f32\n",
    "rank 100": b"7767517\n1 1\npnnx.Input in 0 1 0 #0=(" + b",".join([b"1"] * 100) + b")f32\n",
    "an attribute of 2^70 elements": b"7767517\n2 2\npnnx.Input in 0 1 0 #0=(1)f32\n"
                                     b"nn.Linear l 1 1 0 1 "
                                     b"@weight=(1073741824,1073741824,1024)f32\n",
    "not key=value": b"7767517\n1 1\npnnx.Input in 0 1 0 junk #0=(1)f32\n",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(case):
    test_fuzz.exercise(HOSTILE[case], "h.pnnx.param")


def test_a_bin_that_is_no_zip(files, tmp_path):
    (tmp_path / "z.pnnx.param").write_bytes(open(_path(files, "cnn"), "rb").read())
    (tmp_path / "z.pnnx.bin").write_bytes(b"PK\x03\x04 not really a zip")
    m = wetron.open(str(tmp_path / "z.pnnx.param"))
    assert any("not a readable zip" in w for w in m.warnings)


@pytest.mark.timeout(300)
def test_mutated_param_and_bin(files):
    from hypothesis import HealthCheck, given, settings
    with open(_path(files, "block"), "rb") as f:
        test_fuzz.SEEDS["pnnx-param"] = param = f.read()
    with open(_path(files, "block", ".pnnx.bin"), "rb") as f:
        test_fuzz.SEEDS["pnnx-bin"] = f.read()
    opts = dict(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

    @settings(**opts)
    @given(test_fuzz.mutated("pnnx-param"))
    def text(data):
        test_fuzz.exercise(data, "fuzzed.pnnx.param")

    @settings(**opts)
    @given(test_fuzz.mutated("pnnx-bin"))
    def archive(data):
        try:
            m = wetron.open(wetron.BytesSource(param, "f.pnnx.param"),
                            companions=lambda n: wetron.BytesSource(data, n))
        except wetron.ModelError as e:
            test_fuzz.check_error(e, "f.pnnx.param")
            return
        json.loads(wetron.dumps(m))
        for t in m.tensors:
            try:
                m.tensor_values(t.index, limit=64)
            except wetron.ModelError as e:
                test_fuzz.check_error(e, "f.pnnx.param")
    text()
    archive()


def test_module_paths_are_the_hierarchy(files):
    """pnnx names operators by their torch module path: the modules are the groups, the
    three encoder layers repeats of one another; pnnx's own names stay unscoped."""
    from wetron import hierarchy
    g = wetron.open(_path(files, "transformer")).graphs[0]
    names = [n.name for n in g.nodes]
    assert "encoder/layer.0/attention/self/query" in names and "pnnx_expr_99" in names
    groups, _ = hierarchy.derive(g)
    layers = [x for x in groups if x["path"].startswith("encoder/layer.") and
              x["path"].count("/") == 1]
    assert [x["path"] for x in layers] == [f"encoder/layer.{i}" for i in range(3)]
    assert all(x["repeat"]["count"] == 3 for x in layers)
