"""ExecuTorch .pte: programs written by ExecuTorch 1.5.1 (tests/formats_executorch_models.py),
checked against ExecuTorch's own reading of them (deserialize_pte_binary: operators,
values, instructions, delegates, constants), its runtime's method meta (input and output
sizes) and torch's FlopCounterMode on the eager models (MACs); the field ids against the
program.fbs it ships, the argument names against torch's operator schemas; hostile files
and a bounded fuzz."""
import json
import os
import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formats_executorch_models
import test_fuzz
import wetron
from wetron import cost, shapes
from wetron.formats import executorch, executorch_schema
from wetron.ops import aten

pytestmark = pytest.mark.timeout(900)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ["cnn", "mlp", "block", "mutable", "cnn_xnnpack", "cnn_inline"]
# scalar_type.fbs names -> the dtype names the document uses for them
DTYPES = {"BYTE": "uint8", "CHAR": "int8", "SHORT": "int16", "INT": "int32", "LONG": "int64",
          "HALF": "float16", "FLOAT": "float32", "DOUBLE": "float64", "BOOL": "bool",
          "QINT8": "int8", "QUINT8": "uint8", "QINT32": "int32", "BFLOAT16": "bfloat16",
          "FLOAT8E5M2": "float8e5m2", "FLOAT8E4M3FN": "float8e4m3fn",
          "FLOAT8E5M2FNUZ": "float8e5m2fnuz", "FLOAT8E4M3FNUZ": "float8e4m3fnuz",
          "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64"}


@pytest.fixture(scope="module")
def files():
    return formats_executorch_models.executorch_files()


def _fbs(path):
    """(tables {name: [field ids' names]}, unions {name: [members]}, enums {name: {k: v}})
    of a .fbs file, fields numbered as flatc numbers them."""
    text = re.sub(r"//[^\n]*", "", open(path).read())
    text = re.sub(r"\([^)]*\)", "", text)   # field attributes: (force_align: 16)
    unions = {m[0]: [x.strip() for x in m[1].split(",") if x.strip()]
              for m in re.findall(r"union\s+(\w+)\s*\{([^}]*)\}", text)}
    enums = {}
    for name, body in re.findall(r"enum\s+(\w+)\s*:\s*\w+\s*\{([^}]*)\}", text):
        enums[name] = {k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    tables = {}
    for name, body in re.findall(r"table\s+(\w+)\s*\{([^}]*)\}", text):
        fields = []
        for field, kind in re.findall(r"(\w+)\s*:\s*([\w\[\]]+)", body):
            fields += [field + "_type", field] if kind in unions else [field]
        tables[name] = fields
    return tables, unions, enums


def test_schema_matches_the_program_fbs_executorch_ships():
    """The generated tables (tools/gen_fbs_schema.py) come from the .fbs files this
    ExecuTorch ships, and number fields as this simpler reading of them does."""
    paths = formats_executorch_models.schema_files()
    for name, path in paths.items():
        with open(path) as shipped, open(os.path.join(ROOT, "tools", "schemas", name)) as ours:
            assert ours.read() == shipped.read(), f"update tools/schemas/{name}"
    tables, unions, _ = _fbs(paths["program.fbs"])
    assert {t: list(f) for t, f in executorch_schema.TABLES.items()} == tables
    assert list(executorch.KERNEL_TYPES) == unions["KernelTypes"]
    assert list(executorch.INSTRUCTIONS) == unions["InstructionArguments"]
    scalar = _fbs(paths["scalar_type.fbs"])[2]["ScalarType"]
    assert {code: DTYPES[name] for name, code in scalar.items() if name in DTYPES} == \
        executorch.SCALAR_TYPES
    assert set(scalar) - set(DTYPES) == {"QUINT4X2", "QUINT2X4", "BITS16"}   # not decoded


def test_argument_names_match_torch_schemas():
    torch = pytest.importorskip("torch")
    for key, names in aten.ARGUMENTS.items():
        op, overload = key.split(".")
        schema = getattr(getattr(torch.ops.aten, op), overload)._schema
        assert tuple(a.name for a in schema.arguments) == names, key


def _values(plan):
    return plan["values"]


def _base(name):
    """'%12' / '%12.1' -> 12."""
    return int(name[1:].split(".")[0])


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_matches_executorch(files, name):
    e = files[name]
    o = e["oracle"]
    plan = o["program"]["plans"][0]
    values = _values(plan)
    m = wetron.open(e["path"])
    g = m.graphs[0]
    assert m.format == "ExecuTorch" and not m.warnings
    assert [x.name for x in m.graphs] == [p["name"] for p in o["program"]["plans"]]
    # one node per kernel or delegate call, in program order (views between them)
    calls = [n for n in g.nodes if n.op != "view"]
    want = []
    for ins in plan["instructions"]:
        if ins["kind"] == "KernelCall":
            full, overload = plan["operators"][ins["op_index"]]
            want.append((full.split("::")[0], full.split("::")[1], overload))
        elif ins["kind"] == "DelegateCall":
            want.append(("executorch.delegate", plan["delegates"][ins["delegate_index"]]["id"],
                         ""))
    assert [(n.domain, n.op, n.overload) for n in calls] == want
    assert all(n.domain == "executorch" for n in g.nodes if n.op == "view")
    # every tensor value: its type from the file, as ExecuTorch reads it
    codes = {v: k for k, v in executorch.SCALAR_TYPES.items() if k < 12 or k == 15}
    for value, t in g.types.items():
        if t[0] == "tensor":
            v = values[_base(value)]
            assert list(t[2]) == v["sizes"] and codes[t[1]] == v["scalar_type"], value
    # inputs and outputs as the runtime's method meta gives them
    if name == "cnn_inline":   # the runtime refuses it: its inputs are cnn.pte's
        assert "0x:23" in o["method_meta"]["error"]
        meta = files["cnn"]["oracle"]["method_meta"][g.name]
    else:
        meta = o["method_meta"][g.name]
    assert [list(g.types[x][2]) for x in g.inputs] == [i["sizes"] for i in meta["inputs"]]
    assert [list(g.types[x][2]) for x in g.outputs] == [i["sizes"] for i in meta["outputs"]]
    # every input of every node comes from somewhere: no broken edges
    produced = set(g.inputs) | {t.name for t in g.initializers}
    for n in g.nodes:
        state = [x for x in n.inputs if x and x not in produced]
        if name == "mutable" and n.op == "add" and state:
            assert [values[_base(x)]["allocated"] for x in state] == [True]   # the buffer
            produced.update(state)
        else:
            assert not state, (n.name, state)
        produced.update(n.outputs)
    assert set(g.outputs) <= produced
    # constants: their shapes and first values as ExecuTorch reads them
    constants = {i: v for i, v in enumerate(values)
                 if v["kind"] == "Tensor" and v["data_buffer_idx"] and not v["allocated"]}
    weights = {_base(t.name): t for t in g.initializers}
    first = {}   # values with the same data (ExecuTorch stores equal bytes once) share it
    for i, v in constants.items():
        first.setdefault(v["data_buffer_idx"], i)
    assert set(weights) == set(first.values())
    for i, v in constants.items():
        t = weights[first[v["data_buffer_idx"]]]
        assert list(t.dims) == v["sizes"] and t.error is None
        head = o["program"]["constants"][str(v["data_buffer_idx"])]
        assert m.tensor_values(t.index, limit=4)["values"] == pytest.approx(head, rel=1e-6)
    # delegates: one node each, with its backend and the size of its blob
    for n, d in zip([n for n in calls if n.domain == "executorch.delegate"],
                    plan["delegates"]):
        attrs = {a.name: a.value for a in n.attributes}
        assert attrs["processed"].startswith(f"{d['size']:,} bytes")
    json.loads(m.dumps())


@pytest.mark.parametrize("name", ["cnn", "mlp", "block", "cnn_inline"])
def test_macs_match_torch_flop_counter(files, name):
    e = files[name]
    m = wetron.open(e["path"])
    g = m.graphs[0]
    c = cost.graph_cost(g, shapes.infer(g).types)
    by_op = {}
    for n, macs in zip(g.nodes, c.macs):
        if n.op in ("convolution", "addmm", "mm", "bmm"):
            assert macs, n.name
            by_op[f"aten.{n.op}"] = by_op.get(f"aten.{n.op}", 0) + 2 * macs
    assert by_op == e["oracle"]["flops"]


def test_convolutions_read_their_schema_arguments(files):
    g = wetron.open(files["cnn"]["path"]).graphs[0]
    convs = [{a.name: a.value for a in n.attributes} for n in g.nodes if n.op == "convolution"]
    assert [(c["stride"], c["groups"], c["transposed"]) for c in convs] == \
        [([1, 1], 1, 0), ([2, 2], 4, 0), ([2, 2], 1, 1)]


def test_stack_traces_are_node_docs(files):
    g = wetron.open(files["mlp"]["path"]).graphs[0]
    assert files["mlp"]["oracle"]["program"]["plans"][0]["stacktraces"] == len(g.nodes)
    assert all("formats_executorch_models.py" in n.doc and "in forward" in n.doc
               for n in g.nodes)


def test_an_in_place_write_is_a_new_version(files):
    g = wetron.open(files["mutable"]["path"]).graphs[0]
    copy = [n for n in g.nodes if n.op == "copy_"]
    assert len(copy) == 1 and copy[0].outputs == ["%2.1"] and "%2" in copy[0].inputs
    assert g.types["%2.1"] == g.types["%2"]


def test_xnnpack_program_is_one_delegate_node(files):
    m = wetron.open(files["cnn_xnnpack"]["path"])
    g = m.graphs[0]
    assert [(n.domain, n.op) for n in g.nodes] == [("executorch.delegate", "XnnpackBackend")]
    assert g.nodes[0].inputs == g.inputs and g.nodes[0].outputs == g.outputs
    assert dict(m.metadata)["named data"].startswith("8 blobs")


@pytest.mark.parametrize("name", PROGRAMS)
def test_documents_follow_the_schema(files, name):
    import jsonschema
    import test_schema
    schema = json.load(open(test_schema.SCHEMA_PATH))
    schema["$defs"]["node"]["properties"]["metadata"] = {"type": "array"}
    doc = json.loads(wetron.open(files[name]["path"]).dumps())
    problems = test_schema.schema_errors(jsonschema.Draft202012Validator(schema), doc) + \
        test_schema.index_errors(doc)
    assert not problems, problems[:10]


def test_not_executorch_is_clear():
    with pytest.raises(wetron.ModelError, match="x.pte"):
        wetron.open(wetron.BytesSource(b"\x10\x00\x00\x00TFL3" + bytes(40), "x.pte"))


# --- hostile files ----------------------------------------------------------------------

def _header(data, program_size=None, base=None, length=32):
    """`data` with its extended header's fields replaced."""
    out = bytearray(data)
    struct.pack_into("<I", out, 12, length)
    if program_size is not None:
        struct.pack_into("<Q", out, 16, program_size)
    if base is not None:
        struct.pack_into("<Q", out, 24, base)
    return bytes(out)


def _hostile(files):
    cnn = open(files["cnn"]["path"], "rb").read()
    return {
        "identifier only": b"\x08\x00\x00\x00ET12",
        "root past the end": b"\xff\xff\xff\x7fET12" + bytes(24),
        "header length 3": _header(cnn, length=3),
        "segments past the end": _header(cnn, base=1 << 40),
        "segments cut off": cnn[:len(cnn) - 4000],
        "header says a huge program": _header(cnn, program_size=(1 << 64) - 1),
        "flatbuffer cut in the middle": cnn[:3000],
    }


@pytest.mark.timeout(120)
def test_hostile_files(files):
    for case, data in _hostile(files).items():
        model = test_fuzz.exercise(data, "h.pte")
        if case == "segments cut off":   # the graph opens, its weights say what is wrong
            assert model is not None and any(t.error for t in model.tensors), case


@pytest.mark.timeout(300)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True, database=None)
@given(which=st.sampled_from(["cnn", "mlp", "cnn_xnnpack", "mutable"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.one_of(
           st.binary(min_size=1, max_size=4),
           st.sampled_from([0, 1, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF]).map(
               lambda w: struct.pack("<I", w)))), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_fuzz_mutated_programs_fail_cleanly(files, which, edits, cut):
    data = bytearray(_seed(files, which))
    for where, new in edits:
        at = int(where * (len(data) - 1))
        data[at:at + len(new)] = new
    if cut is not None:
        data = data[:max(8, int(cut * len(data)))]
    test_fuzz.exercise(bytes(data), "fuzz.pte")


SEEDS = {}


def _seed(files, which):
    if which not in SEEDS:
        SEEDS[which] = open(files[which]["path"], "rb").read()
    return SEEDS[which]


def test_aten_rules_count_a_torch_export_graph_too(tmp_path):
    """The same aten rules apply to a torch.export ExportedProgram's nodes (linear here),
    against FlopCounterMode on the eager model."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(),
                                torch.nn.Linear(30, 5, bias=False)).eval()
    x = torch.randn(3, 7, 20)
    path = str(tmp_path / "m.pt2")
    torch.export.save(torch.export.export(model, (x,)), path)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    g = wetron.open(path).graphs[0]
    c = cost.graph_cost(g, shapes.infer(g).types)
    linear = [(f, macs) for n, f, macs in zip(g.nodes, c.flops, c.macs) if n.op == "linear"]
    assert 2 * sum(macs for _, macs in linear) == sum(counter.get_flop_counts()["Global"].values())
    assert [f - 2 * macs for f, macs in linear] == [3 * 7 * 30, 0]   # the bias adds
