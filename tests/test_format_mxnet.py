"""MXNet: symbols and parameters exported by MXNet 1.9.1 (tests/formats_mxnet_models.py),
checked against MXNet itself: arguments, auxiliary states and outputs, infer_shape of
every internal output, the parameters mx.nd.load reads; MACs from its shapes; hostile
files."""
import math

import pytest

import formats_mxnet_models
import test_fuzz
import wetron
from wetron import cost, shapes

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def files():
    return formats_mxnet_models.mxnet_files()


@pytest.mark.parametrize("name", ["small", "resnet18_v1"])
def test_symbol_with_params_matches_mxnet(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["symbol"])      # <prefix>-<epoch>.params found beside it
    g = m.graphs[0]
    assert m.format == "MXNet" and m.producer == "MXNet 1.9.1" and not m.warnings
    assert ["parameters", e["params"].rsplit("/", 1)[1]] in m.metadata
    weights = {t.name: t for t in g.initializers}
    assert sorted(g.inputs + list(weights)) == sorted(o["arguments"] + o["auxiliary"])
    assert g.outputs == o["outputs"]
    assert {n.domain for n in g.nodes} == {"mxnet"}
    for key, p in o["params"].items():
        t = weights[key.split(":", 1)[1]]
        assert list(t.dims) == p["shape"] and t.dtype in p["dtype"], key
        assert m.tensor_values(t.index, limit=4)["values"] == pytest.approx(p["head"], rel=1e-6)
    ops = {v for n in g.nodes for v in n.outputs}
    internal = set(o["internal_shapes"]) - set(o["arguments"]) - set(o["auxiliary"])
    assert ops == internal


@pytest.mark.parametrize("name", ["small_shaped", "resnet18_v1_shaped"])
def test_shapes_and_macs_match_mxnet(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["symbol"])
    g = m.graphs[0]
    types = shapes.infer(g).types
    for value, dims in o["internal_shapes"].items():
        if value in o["arguments"] or value in o["auxiliary"]:
            continue   # variables: their types are the file's (__shape__), weights unread
        assert types[value][2] is not None and list(types[value][2]) == dims, value
    c = cost.graph_cost(g, types)
    arg = o["argument_shapes"]
    for i, n in enumerate(g.nodes):
        out = math.prod(o["internal_shapes"][n.outputs[0]])
        if n.op == "Convolution":
            want = out * math.prod(arg[n.inputs[1]][1:])
        elif n.op == "Deconvolution":
            want = math.prod(o["internal_shapes"][n.inputs[0]]) * math.prod(arg[n.inputs[1]][1:])
        elif n.op == "FullyConnected":
            want = out * arg[n.inputs[1]][1]
        else:
            assert c.macs[i] in (0, None), n.name
            continue
        assert c.macs[i] == want, n.name
    assert None not in c.flops, [n.op for n, f in zip(g.nodes, c.flops) if f is None]
    if name == "resnet18_v1_shaped":
        assert sum(c.macs) == 1_814_073_344     # ResNet-18's well-known 1.8 G MACs


def test_symbol_alone_and_params_alone(files):
    e = files["resnet18_v1"]
    with open(e["symbol"], "rb") as f:
        m = wetron.open(wetron.BytesSource(f.read(), "resnet18_v1-symbol.json"))
    assert m.parameters == 0 and len(m.graphs[0].nodes) == 68
    m = wetron.open(e["params"])
    assert m.parameters == sum(math.prod(p["shape"]) for p in e["oracle"]["params"].values())
    assert {n.op for n in m.graphs[0].nodes} == {"Conv2d", "BatchNorm", "Linear"}


def test_sparse_arrays_are_listed_not_decoded(files):
    e = files["sparse"]
    m = wetron.open(e["params"])
    ts = {t.name: t for t in m.tensors}
    for name, p in e["oracle"]["params"].items():
        assert list(ts[name].dims) == p["shape"] and ts[name].dtype in p["dtype"]
        assert (ts[name].error is None) == (p["stype"] == "default")
    assert m.tensor_values(ts["dense"].index)["values"] == [0, 1, 2, 3, 4, 5]


def _params(*arrays, names=None):
    out = (0x112).to_bytes(8, "little") + bytes(8) + len(arrays).to_bytes(8, "little")
    out += b"".join(arrays)
    names = names if names is not None else [f"arg:a{i}".encode() for i in range(len(arrays))]
    out += len(names).to_bytes(8, "little")
    return out + b"".join(len(n).to_bytes(8, "little") + n for n in names)


def _array(dims, dtype=0, data=None, ndim=None):
    head = (0xF993FAC9).to_bytes(4, "little") + bytes(4)
    head += (len(dims) if ndim is None else ndim).to_bytes(4, "little", signed=True)
    head += b"".join(d.to_bytes(8, "little", signed=True) for d in dims)
    head += (1).to_bytes(4, "little") + bytes(4) + dtype.to_bytes(4, "little")
    return head + (data if data is not None else bytes(4 * math.prod(dims)))


HOSTILE = {
    "count past the file": (0x112).to_bytes(8, "little") + bytes(8) + (10 ** 9).to_bytes(8, "little"),
    "ndim 1000": _params(_array([2], ndim=1000)),
    "negative dim": _params(_array([-7, 2], data=b"")),
    "values past the end": _params(_array([1 << 40], data=bytes(16))),
    "unknown dtype": _params(_array([2], dtype=99)),
    "names count mismatch": _params(_array([2]), names=[b"a", b"b"]),
    "a huge name": _params(_array([1]))[:-9] + (1 << 40).to_bytes(8, "little") + b"x",
    "symbol with a node out of range": b'{"nodes": [{"op": "relu", "name": "r", "inputs": [[5, 0, 0]]}]}',
    "symbol nodes not a list": b'{"nodes": 3, "heads": []}',
    "symbol nested deeply": b'{"nodes": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(case):
    name = "h-symbol.json" if HOSTILE[case].startswith(b"{") else "h.params"
    test_fuzz.exercise(HOSTILE[case], name)


@pytest.mark.timeout(120)
def test_mutated_params(files):
    """test_fuzz's byte-level mutations of a real .params file."""
    from hypothesis import HealthCheck, given, settings
    with open(files["small"]["params"], "rb") as f:
        test_fuzz.SEEDS["mxnet-small"] = f.read()

    @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.mutated("mxnet-small"))
    def run(data):
        test_fuzz.exercise(data, "fuzzed.params")
    run()
