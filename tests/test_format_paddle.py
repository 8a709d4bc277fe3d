"""PaddlePaddle: ProgramDesc (.pdmodel) and PIR (.json) programs with their .pdiparams,
written by PaddlePaddle 3.3.1 itself (tests/formats_paddle_models.py), checked against
Paddle's own reading: load_inference_model's ops, slots, attributes, variables, feed and
fetch targets, the parameters it loads (names, shapes, values); the shapes of every
intermediate variable when Paddle runs the program; paddle.flops' Conv2D and Linear
counts; the generated framework.proto table and op metadata; hostile files and fuzz."""
import math
import os

import pytest

import formats_paddle_models
import test_fuzz
import wetron
from conftest import PY
from wetron import cost, shapes, sizes
from wetron.ops import metadata

pytestmark = pytest.mark.timeout(900)
REPO = os.path.dirname(PY)
NAMES = list(formats_paddle_models.MODELS)


@pytest.fixture(scope="module")
def files():
    try:
        return formats_paddle_models.paddle_files()
    except formats_paddle_models.framework_venvs.VenvUnavailable as e:
        pytest.skip(str(e))


def test_schema_table_is_generated_from_framework_proto():
    import sys
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import gen_proto_schema
    path = os.path.join(REPO, "tools", "schemas", "paddle_framework.proto")
    with open(path) as f:
        text = gen_proto_schema.generate(f.read(), "tools/schemas/paddle_framework.proto")
    with open(os.path.join(PY, "wetron", "formats", "paddle_schema.py")) as f:
        assert f.read() == text, "run tools/gen_proto_schema.py (see its docstring)"


def test_op_metadata_is_what_gen_paddle_writes(files):
    """ops/metadata/paddle.json and opdocs/paddle.json are tools/gen_op_metadata.py's
    output from this Paddle (its OpProto registry and op_compat mapping)."""
    import subprocess
    run = subprocess.run([formats_paddle_models.paddle_python(),
                          os.path.join(REPO, "tools", "gen_op_metadata.py"), "--check", "paddle"],
                         capture_output=True, text=True, timeout=600,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0, f"regenerate: <paddle venv python> tools/gen_op_metadata.py " \
        f"paddle\n{run.stdout}{run.stderr[-2000:]}"
    assert metadata.describe("paddle", "conv2d")["inputs"] == ["Input", "Filter"]
    assert metadata.describe("paddle", "concat")["inputs"] == ["X...", "AxisTensor"]


def _figures(m, batch=1, seq=16):
    g = m.graphs[0]
    bound = sizes.bind(g, {s: batch if s == "batch" else seq for s in sizes.input_symbols(g)})
    types = shapes.infer(bound).types
    return g, types, cost.graph_cost(bound, types)


@pytest.mark.parametrize("name", NAMES)
def test_legacy_program_matches_paddle(files, name):
    e = files[name]["legacy"]
    o = e["oracle"]
    m = wetron.open(e["model"])          # <name>_legacy.pdiparams found beside it
    assert m.format == "PaddlePaddle" and m.format_version == "ProgramDesc"
    assert m.producer == "PaddlePaddle 3.3.1" and not m.warnings
    assert ["parameters", os.path.basename(e["params"])] in m.metadata
    g = m.graphs[0]
    assert g.inputs == o["feeds"] and g.outputs == o["fetches"]
    assert len(m.graphs) == len(o["blocks"])
    for graph, block in zip(m.graphs, o["blocks"]):
        ops = [op for op in block["ops"] if op["type"] not in ("feed", "fetch")]
        assert [n.op for n in graph.nodes] == [op["type"] for op in ops]
        assert {n.domain for n in graph.nodes} <= {"paddle"}
        for n, op in zip(graph.nodes, ops):
            want = {a for a in op["attrs"] if a != "op_callstack"}
            assert {a.name for a in n.attributes} == want, n.op
            slots = metadata.describe("paddle", n.op)["inputs"]
            # every argument of every slot, in the definition's slot order
            args = [a for s in slots for a in op["inputs"].get(s.rstrip("."), [])]
            assert [x.split("@")[0] for x in n.inputs if x] == args, n.op
            outs = [a for s in metadata.describe("paddle", n.op)["outputs"]
                    for a in op["outputs"].get(s.rstrip("."), [])]
            assert [x.split("@")[0] for x in n.outputs if x] == outs, n.op
        # declared shapes are Paddle's, the free batch of an input the symbol "batch"
        for var, v in block["vars"].items():
            if "shape" not in v or var not in graph.types:
                continue
            dims = graph.types[var][2]
            want = tuple(("batch" if var in graph.inputs and i == 0 else
                          f"{var}.dim{i}" if var in graph.inputs else None) if d == -1 else d
                         for i, d in enumerate(v["shape"]))
            assert dims == want, var
    weights = {t.name: t for t in m.weights()}
    assert set(weights) == set(o["params"])
    for key, p in o["params"].items():
        t = weights[key]
        assert list(t.dims) == p["shape"] and t.dtype == p["dtype"], key
        got = m.tensor_values(t.index, limit=4)["values"]
        assert got == pytest.approx(p["head"], rel=1e-6), key


@pytest.mark.parametrize("name", NAMES)
def test_pir_program_matches_paddle(files, name):
    e = files[name]["pir"]
    o = e["oracle"]
    m = wetron.open(e["model"])
    assert m.format_version == "PIR program, version 4" and not m.warnings
    g = m.graphs[0]
    assert g.inputs == o["feeds"]
    ours = []
    for graph in m.graphs:
        ours.extend(graph.nodes)
    folded = ("builtin.parameter", "builtin.combine", "builtin.split", "pd_op.data",
              "pd_op.fetch", "cf.yield")
    theirs = [op for op in o["ops"] if op["name"] not in folded]
    assert sorted(n.op for n in ours) == sorted(op["name"] for op in theirs)
    for op in theirs:        # the slot names are the ones Paddle gives each PIR op
        if op["input_names"] is not None:
            slots = metadata.describe("paddle", op["name"])["inputs"]
            assert [s[:-3] if s.endswith("...") else s for s in slots] == op["input_names"], \
                op["name"]
    regions = sum(op["regions"] for op in o["ops"])
    assert len(m.graphs) == 1 + regions
    weights = {t.name: t for t in m.weights()}
    assert set(weights) == set(o["params"])
    for key, p in o["params"].items():
        t = weights[key]
        assert list(t.dims) == p["shape"] and t.dtype == p["dtype"], key
        got = m.tensor_values(t.index, limit=4)["values"]
        assert got == pytest.approx(p["head"], rel=1e-6), key


@pytest.mark.parametrize("name", ["small", "transformer", "resnet18", "mobilenet_v2"])
def test_shapes_are_the_ones_paddle_runs(files, name):
    """At batch 2 (and seq 16), every variable's inferred shape is the one the legacy
    program has when Paddle runs it."""
    e = files[name]["legacy"]
    m = wetron.open(e["model"])
    g = m.graphs[0]
    bound = sizes.bind(g, {s: 2 if s == "batch" else 16 for s in sizes.input_symbols(g)})
    types = shapes.infer(bound).types
    checked = 0
    weights = {t.name for t in g.initializers}
    for var, dims in e["oracle"]["runtime_shapes"].items():
        t = types.get(var)
        if t is None or var in weights:
            continue
        if t[2] and t[2][0] == 0:
            continue     # reshape2's / transpose2's XShape ([0] + the input's dims): no data
        assert t[2] is not None and list(t[2]) == dims, var
        checked += 1
    assert checked >= len(g.nodes) // 2


@pytest.mark.parametrize("mode", ["legacy", "pir"])
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_macs_are_paddle_flops(files, name, mode):
    """paddle.flops counts a bias-free Conv2D out_elems * C/groups * kernel and a Linear
    out_elems * in_features: the MACs, which are all of these models' MACs."""
    e = files[name][mode]
    g, types, c = _figures(wetron.open(e["model"]))
    assert None not in c.flops, [n.op for n, f in zip(g.nodes, c.flops) if f is None]
    assert sum(c.macs) == e["oracle"]["paddle_flops"]
    assert sum(c.macs) == {"resnet18": 1_814_073_344, "mobilenet_v2": 300_774_272}[name]


@pytest.mark.parametrize("mode", ["legacy", "pir"])
def test_small_cnn_macs_and_paddle_flops(files, mode):
    """paddle.flops counts a biased Conv2D's bias add inside it; the program has it as
    the add that follows the conv: paddle.flops = conv and matmul MACs + those adds."""
    e = files["small"][mode]
    g, types, c = _figures(wetron.open(e["model"]))
    assert None not in c.flops
    convs = {"conv2d", "depthwise_conv2d", "pd_op.conv2d", "pd_op.depthwise_conv2d"}
    produced = {o: n.op for n in g.nodes for o in n.outputs}
    macs = sum(c.macs[i] for i, n in enumerate(g.nodes)
               if n.op in convs | {"matmul_v2", "pd_op.matmul"})
    bias = sum(c.flops[i] for i, n in enumerate(g.nodes)
               if n.op in ("elementwise_add", "pd_op.add") and produced.get(n.inputs[0]) in convs)
    assert macs + bias == e["oracle"]["paddle_flops"]
    # the transposed conv: in_elems * C_out/groups * kernel
    i = next(i for i, n in enumerate(g.nodes) if "conv2d_transpose" in n.op)
    x = types[g.nodes[i].inputs[0]][2]
    assert c.macs[i] == math.prod(x) * 4 * 4 * 4


def test_legacy_and_pir_agree(files):
    for name in NAMES:
        a = _figures(wetron.open(files[name]["legacy"]["model"]))[2]
        b = _figures(wetron.open(files[name]["pir"]["model"]))[2]
        assert sum(x or 0 for x in a.macs) == sum(x or 0 for x in b.macs), name


def test_control_flow_blocks_are_subgraphs(files):
    m = wetron.open(files["control"]["legacy"]["model"])
    ops = {n.op: n for n in m.graphs[0].nodes}
    loop, branch = ops["while"], ops["conditional_block"]
    body = next(a.value for a in loop.attributes if a.name == "sub_block")
    then = next(a.value for a in branch.attributes if a.name == "sub_block")
    blocks = files["control"]["legacy"]["oracle"]["blocks"]
    assert body.parent[0] is m.graphs[0] and [n.op for n in body.nodes] == \
        [op["type"] for op in blocks[1]["ops"]] == ["mul", "elementwise_add", "assign", "increment"]
    assert [n.op for n in then.nodes] == ["relu", "assign"]
    # a sub-block reads outer variables and writes new values of them
    assert "fc_0.tmp_1" in body.inputs and "fc_0.tmp_1@1" in body.outputs
    m = wetron.open(files["control"]["pir"]["model"])
    ops = {n.op: n for n in m.graphs[0].nodes}
    assert [a.name for a in ops["pd_op.if"].attributes if a.type == "graph"] == \
        ["region0", "region1"]
    body = next(a.value for a in ops["pd_op.while"].attributes if a.type == "graph")
    assert body.inputs and body.inputs[0].startswith("%arg") and body.outputs
    c = cost.graph_cost(m.graphs[0], shapes.infer(m.graphs[0]).types)
    i = [n.op for n in m.graphs[0].nodes].index("pd_op.while")
    assert c.flops[i] is None                 # NOT_COUNTED: a trip count of run time


def test_fluid_names(files, tmp_path):
    """A __model__ with its __params__ (fluid's combined names) opens as .pdmodel does."""
    import shutil
    e = files["resnet18"]["legacy"]
    shutil.copy(e["model"], tmp_path / "__model__")
    shutil.copy(e["params"], tmp_path / "__params__")
    m = wetron.open(str(tmp_path))          # the folder: __model__ is its main file
    assert m.file == "__model__" and not m.warnings
    assert ["parameters", "__params__"] in m.metadata
    assert m.parameters == sum(math.prod(p["shape"]) for p in e["oracle"]["params"].values())


def test_program_alone_and_params_alone(files):
    e = files["resnet18"]["legacy"]
    with open(e["model"], "rb") as f:
        m = wetron.open(wetron.BytesSource(f.read(), "resnet18_legacy.pdmodel"))
    assert m.parameters == 0 and len(m.graphs[0].nodes) == 70
    m = wetron.open(e["params"])
    assert m.format_version == "parameters (save_combine)"
    shapes_sorted = [p["shape"] for _, p in sorted(e["oracle"]["params"].items())]
    assert [list(t.dims) for t in m.tensors] == shapes_sorted
    assert m.parameters == sum(math.prod(s) for s in shapes_sorted)


def test_pir_modules_and_boxes(files):
    m = wetron.open(files["resnet18"]["pir"]["model"])
    doc = m.to_dict()
    g = doc["graphs"][0]
    names = {gr["name"] for gr in g.get("groups", [])}
    assert "BasicBlock" in names or any(n.startswith("Sequential") for n in names)
    conv = doc["operators"]["paddle:pd_op.conv2d"]
    assert conv["category"] == "conv" and conv["inputs"] == ["input", "filter"]
    pool = next(n for n in m.graphs[0].nodes if n.op == "pd_op.pool2d")
    assert next(a.value for a in pool.attributes if a.name == "kernel_size") == [3, 3]


# --- hostile files ---------------------------------------------------------------------------

def _record(dims, dtype=5, data=None, lod=()):
    desc = bytes([0x08, dtype]) + b"".join(bytes([0x10]) + _varint(d) for d in dims)
    out = bytes(4) + len(lod).to_bytes(8, "little")
    for level in lod:
        out += len(level).to_bytes(8, "little") + level
    out += bytes(4) + len(desc).to_bytes(4, "little") + desc
    return out + (data if data is not None else bytes(4 * math.prod(dims)))


def _varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _program(block):
    return b"\x0a" + _varint(len(block)) + block


_BLOCK = b"\x08\x00\x10" + _varint(-1)
HOSTILE = {
    "params: values past the end": (_record([1 << 40], data=bytes(16)), "h.pdiparams"),
    "params: a huge lod": (_record([2])[:4] + (1).to_bytes(8, "little") +
                           (1 << 60).to_bytes(8, "little"), "h.pdiparams"),
    "params: 1000 lod levels": (bytes(4) + (1000).to_bytes(8, "little") + bytes(64),
                                "h.pdiparams"),
    "params: a negative dim": (_record([-3], data=b""), "h.pdiparams"),
    "params: unknown dtype": (_record([2], dtype=99), "h.pdiparams"),
    "params: a huge desc": (bytes(16) + (1 << 30).to_bytes(4, "little"), "h.pdiparams"),
    "program: no blocks": (b"\x22\x02\x08\x01", "h.pdmodel"),
    "program: nested deeply": (b"\x0a\x80\x80\x04" + b"\x0a\xff\xff\x03" * 8, "h.pdmodel"),
    "pir: not a program": (b'{"base_code":{"magic":"pir","version":4},"program":3}', "h.json"),
    "pir: an op without a name": (b'{"base_code":{"magic":"pir"},"program":{"regions":[{'
                                  b'"blocks":[{"ops":[{"I":[]}]}]}]}}', "h.json"),
    "pir: a bad value id": (b'{"base_code":{"magic":"pir"},"program":{"regions":[{"blocks":'
                            b'[{"ops":[{"#":"1.relu","I":[{"%":"x"}],"O":[]}]}]}]}}', "h.json"),
    "pir: regions nested deeply": (b'{"base_code":{"magic":"pir"},"program":{"regions":' +
                                   b'[{"blocks":[{"ops":[{"#":"1.if","regions":' * 40 +
                                   b'[]' + b'}]}]}]' * 40 + b'}}', "h.json"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(case):
    data, name = HOSTILE[case]
    test_fuzz.exercise(data, name)


def test_block_cycles_and_bad_block_indices_are_not_followed():
    # an op of block 0 whose sub_block is block 0 itself: kept as an index, not followed
    attr = b"\x0a\x09sub_block\x10\x08\x60\x00"
    op = b"\x1a\x05while" + b"\x22" + _varint(len(attr)) + attr
    m = wetron.open(wetron.BytesSource(_program(_BLOCK + b"\x22" + _varint(len(op)) + op),
                                       "loop.pdmodel"))
    node = m.graphs[0].nodes[0]
    assert node.op == "while" and len(m.graphs) == 1
    assert [(a.name, a.type, a.value) for a in node.attributes] == [("sub_block", "ints", [0])]


@pytest.mark.timeout(180)
def test_mutated_files(files):
    """test_fuzz's byte-level mutations of a real .pdmodel, .json and .pdiparams, and its
    protobuf-aware restructuring of the .pdmodel."""
    from hypothesis import HealthCheck, given, settings
    seeds = {"paddle-pdmodel": (files["small"]["legacy"]["model"], "fuzzed.pdmodel"),
             "paddle-json": (files["control"]["pir"]["model"], "fuzzed.json"),
             "paddle-params": (files["small"]["legacy"]["params"], "fuzzed.pdiparams")}
    def fuzz(key, name):
        @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(test_fuzz.mutated(key))
        def run(data):
            test_fuzz.exercise(data, name)
        run()
    for key, (path, name) in seeds.items():
        with open(path, "rb") as f:
            test_fuzz.SEEDS[key] = f.read()
        fuzz(key, name)

    @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.restructured("paddle-pdmodel"))
    def restructured(data):
        test_fuzz.exercise(data, "fuzzed.pdmodel")
    restructured()
