"""PyTorch: state dicts, checkpoints and whole modules from torch.save (zip and legacy),
TorchScript from torch.jit.save, ExportedProgram from torch.export.save — checked
against torch.load(weights_only=True), torch.jit.load and torch.export.load. And files
that would run code if unpickled: opened, nothing runs."""
import os
import pickle
import subprocess
import sys
import uuid
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import formats_weights_models as models
import wetron
from wetron import pickle_reader

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def files():
    return models.torch_files()


def _flat(t):
    if t.is_quantized:
        t = t.int_repr()
    if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16, torch.float16):
        t = t.float()
    return t.flatten().tolist()


_DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
           torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
           torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
           torch.float8_e4m3fn: "float8e4m3fn", torch.float8_e5m2: "float8e5m2"}


def _flatten_dict(d, prefix=""):
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten_dict(v, name + ".")
        elif isinstance(v, torch.Tensor):
            yield name, v


def _check_tensors(m, expected):
    """wetron's tensors == the oracle's {name: torch.Tensor}: names, dtypes, shapes,
    every value."""
    got = {t.name: t for t in m.tensors}
    assert sorted(got) == sorted(expected)
    for name, ref in expected.items():
        t = got[name]
        assert t.dtype == _DTYPES[ref.dtype], name
        assert list(t.dims) == list(ref.shape), name
        values = m.tensor_values(t.index, None)
        assert values["values"] == _flat(ref), name


@pytest.mark.parametrize("which", ["bert_sd", "cnn_sd", "cnn_legacy", "strided",
                                   "strided_legacy", "checkpoint"])
def test_state_dicts_match_torch_load(files, which):
    path = files[which]
    m = wetron.open(path)
    ref = torch.load(path, weights_only=True)
    _check_tensors(m, dict(_flatten_dict(ref)))
    assert m.format == "PyTorch"
    assert m.format_version.startswith("legacy" if "legacy" in which else "zip")
    m.dumps()


def test_tensor_records_are_lazy_zip_offsets(files):
    path = files["cnn_sd"]
    m = wetron.open(path)
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
    w = next(t for t in m.tensors if t.name == "0.weight")
    # its bytes are exactly the zip member's bytes (stored, uncompressed)
    member = next(i for n, i in infos.items() if n.endswith("/data/0"))
    raw = path.read_bytes()[w.data[0]:w.data[0] + w.data[1]]
    with zipfile.ZipFile(path) as z:
        assert raw == z.read(member)[:w.data[1]]


def test_strided_views(files):
    m = wetron.open(files["strided"])
    got = {t.name: t for t in m.tensors}
    ref = torch.load(files["strided"], weights_only=True)
    for name in ("t", "col", "slice", "step", "expand"):
        assert not ref[name].is_contiguous() or name in ("step",) or ref[name].storage_offset()
        out = m.tensor_values(got[name].index, 5)
        assert out["values"] == _flat(ref[name])[:5] and out["truncated"] == (ref[name].numel() > 5)


def test_module_tree_of_state_dict(files):
    m = wetron.open(files["bert_sd"])
    ops = {n.name: n.op for n in m.graphs[0].nodes}
    assert ops["encoder/layers.1/self_attn/MultiheadAttention"] == "MultiheadAttention"
    assert ops["embeddings/word_embeddings/Embedding"] == "Embedding"
    doc = m.to_dict()
    repeats = {g["path"] for g in doc["graphs"][0]["groups"] if "repeat" in g}
    assert repeats == {"encoder/layers.0", "encoder/layers.1"}


def test_checkpoint_metadata_and_paths(files):
    m = wetron.open(files["checkpoint"])
    meta = dict(m.metadata)
    assert meta["epoch"] == "7" and meta["arch"] == "cnn" and meta["best_acc"] == "0.875"
    names = {t.name for t in m.tensors}
    assert "model.0.weight" in names and "optimizer.state.0.momentum_buffer" in names


def test_whole_module_pickle_shows_classes_and_attributes(files):
    m = wetron.open(files["cnn_module"])
    nodes = {n.name: n for n in m.graphs[0].nodes}
    assert [n.op for n in m.graphs[0].nodes] == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d",
                                                  "ReLU", "AdaptiveAvgPool2d", "Flatten",
                                                  "Linear"]
    conv = {a.name: a.value for a in nodes["3/Conv2d"].attributes}
    assert conv["in_channels"] == 8 and conv["groups"] == 2 and conv["kernel_size"] == [3, 3]
    ref = torch.load(files["cnn_module"], weights_only=False)   # the oracle (trusted file)
    _check_tensors(m, dict(ref.state_dict()))
    assert "torch.nn.modules.conv.Conv2d" in dict(m.metadata)["pickle.globals"]


@pytest.mark.parametrize("which", ["cnn_script", "bert_trace"])
def test_torchscript_matches_jit_load(files, which):
    path = files[which]
    m = wetron.open(path)
    assert m.format == "TorchScript"
    ref = torch.jit.load(str(path))
    expected = dict(ref.named_parameters())
    expected.update(dict(ref.named_buffers()))
    got = {t.name: t for t in m.tensors if not t.name.startswith("constants.")}
    assert set(expected) <= set(got)
    for name, r in expected.items():
        t = got[name]
        assert list(t.dims) == list(r.shape) and t.dtype == _DTYPES[r.dtype], name
        assert m.tensor_values(t.index, None)["values"] == _flat(r.detach()), name
    # modules by their TorchScript class names, leaf modules without weights included
    kinds = {n.op for n in m.graphs[0].nodes}
    expect = {type_name.rsplit(".", 1)[-1] for _, mod in ref.named_modules()
              if not list(mod.children()) for type_name in [mod.original_name]}
    assert expect <= kinds
    assert "def forward" in m.graphs[0].doc


@pytest.mark.parametrize("which", ["cnn_export", "bert_export"])
def test_exported_program_matches_export_load(files, which):
    path = files[which]
    m = wetron.open(path)
    assert m.format == "PyTorch ExportedProgram"
    ep = torch.export.load(str(path))
    calls = [n for n in ep.graph.nodes if n.op == "call_function"]
    g = m.graphs[0]
    assert len(g.nodes) == len(calls)
    assert [f"torch.ops.{n.domain}.{n.op}.{n.overload}" for n in g.nodes] == \
        [str(n.target).replace("aten.", "torch.ops.aten.", 1) for n in calls]
    # real edges: every node input is a graph input, a weight, or another node's output
    produced = {o for n in g.nodes for o in n.outputs}
    weights = {t.name for t in g.initializers}
    for n in g.nodes:
        for i in n.inputs:
            assert i in produced or i in weights or i in g.inputs, (n.name, i)
    user_inputs = [s.arg.name for s in ep.graph_signature.input_specs
                   if s.kind.name == "USER_INPUT"]
    assert g.inputs == user_inputs
    state = dict(ep.state_dict)
    _check_tensors_subset(m, state)


def _check_tensors_subset(m, expected):
    got = {t.name: t for t in m.tensors}
    assert set(expected) <= set(got)
    for name, ref in expected.items():
        t = got[name]
        assert list(t.dims) == list(ref.shape) and t.dtype == _DTYPES[ref.dtype], name
        assert m.tensor_values(t.index, None)["values"] == _flat(ref.detach()), name


def test_exported_program_module_groups(files):
    doc = wetron.open(files["bert_export"]).to_dict()
    paths = {g["path"] for g in doc["graphs"][0]["groups"]}
    assert {"embeddings", "encoder/layers.0/self_attn", "encoder/layers.1"} <= paths


# --- files that would run code --------------------------------------------------------
def _marker():
    return f"/tmp/pwned-{uuid.uuid4().hex}"


def _write_payloads(tmp_path, marker):
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps({"w": [1, 2], "run": models.Payload(marker)}, protocol=4))
    zipped = tmp_path / "evil.pt"
    torch.save({"weight": torch.ones(2), "run": models.Payload(marker)}, str(zipped))
    legacy = tmp_path / "evil_legacy.pt"
    torch.save({"weight": torch.ones(2), "run": models.Payload(marker)}, str(legacy),
               _use_new_zipfile_serialization=False)
    return [plain, zipped, legacy]


def test_payloads_are_live(tmp_path):
    """The payload files really run code under pickle/torch.load(weights_only=False):
    so the test below could fail."""
    marker = _marker()
    for path in _write_payloads(tmp_path, marker):
        loader = ("import pickle,sys; pickle.load(open(sys.argv[1],'rb'))" if path.suffix == ".pkl"
                  else "import torch,sys; torch.load(sys.argv[1], weights_only=False)")
        subprocess.run([sys.executable, "-c", loader, str(path)], check=True,
                       capture_output=True, timeout=120)
        assert os.path.exists(marker), path
        os.remove(marker)


def test_payloads_do_not_run_in_wetron(tmp_path):
    marker = _marker()
    for path in _write_payloads(tmp_path, marker):
        m = wetron.open(path)
        doc = m.to_dict()
        text = m.dumps()
        assert not os.path.exists(marker), path
        # the global is shown by name
        assert "posix.system" in dict(m.metadata)["pickle.globals"], path
        assert any("posix.system" in w for w in m.warnings), path
        assert "posix.system" in text
        if path.suffix == ".pkl":
            assert m.format == "Python pickle"
            nodes = {n["name"]: n for n in doc["graphs"][0]["nodes"]}
            assert nodes["run"]["op"] == "posix.system"
            assert nodes["run"]["attrs"][0]["value"] == repr(f"touch {marker}")
            assert nodes["w"]["op"] == "list"
        else:
            assert [t.name for t in m.tensors] == ["weight"]
            assert m.tensor_values(0)["values"] == [1.0, 1.0]
    assert not os.path.exists(marker)


def test_reader_never_imports(monkeypatch):
    """Globals are names: a pickle naming a module that does not exist loads fine, and
    one naming builtins.eval with code yields a placeholder, not a call."""
    import builtins
    calls = []
    monkeypatch.setattr(builtins, "__import__",
                        lambda *a, **k: calls.append(a[0]) or pytest.fail(f"import {a[0]}"))
    data = (b"\x80\x02cno_such_module\nThing\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00aK\x01sb"
            b"cbuiltins\neval\nX\x0b\x00\x00\x00__import__(\x85R\x86.")
    obj = pickle_reader.load(pickle_reader.Input(wetron.BytesSource(data)))
    monkeypatch.undo()
    assert not calls
    thing, call = obj
    assert thing.to_dict() == {"__class__": "no_such_module.Thing", "args": [], "state": {"a": 1}}
    assert call.name == "builtins.eval" and call.args == ("__import__(",)


@pytest.mark.parametrize("data,message", [
    (b"\x80\x02(" * 20000, "marks"),
    (b"\x80\x02" + b"h\x05", "memo has no entry"),
    (b"\x80\x02]\x94", "ends before"),
    (b"\x80\x02]00.", "pops a MARK"),
    (b"\x80\x02" + b"\xff", "unknown pickle opcode"),
    (b"\x80\x02.", "empty stack"),
    (b"\x80\x02]K\x01\x85\x85\x85\x85}(h\x00K\x01u.", "memo has no entry"),
    (b"\x80\x02]q\x00]q\x01\x86}q\x02(h\x00K\x01u.", "as a key"),
    (b"\x80\x02X\xff\xff\xff\x7fabc.", "ends before"),
])
def test_hostile_pickles_are_model_errors(data, message):
    with pytest.raises(wetron.ModelError, match=message):
        wetron.open(wetron.BytesSource(data, "bad.pkl"))


def test_deeply_nested_tuples_cannot_crash_hashing():
    data = b"\x80\x02}K\x01" + b"\x85" * 200_000 + b"K\x02s."
    with pytest.raises(wetron.ModelError, match="key"):
        wetron.open(wetron.BytesSource(data, "deep.pkl"))
    # and as a value: loads, shown bounded
    m = wetron.open(wetron.BytesSource(b"\x80\x02K\x01" + b"\x85" * 200_000 + b".", "d.pkl"))
    assert len(m.dumps()) < 10_000


def test_zip_that_is_not_pytorch():
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/version", "3")
    with pytest.raises(wetron.ModelError, match="data.pkl"):
        wetron.open(wetron.BytesSource(buf.getvalue(), "x.pt"))


# --- fuzzing -------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=models.mutations(), which=st.sampled_from(["cnn_sd", "cnn_legacy", "cnn_export",
                                                          "cnn_script"]))
def test_fuzz_mutated_files_fail_cleanly(files, change, which):
    data = files[which].read_bytes()
    models.open_everything(models.mutate(data, change), files[which].name)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=models.mutations())
def test_fuzz_mutated_pickles_fail_cleanly(files, change):
    with zipfile.ZipFile(files["checkpoint"]) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    models.open_everything(models.mutate(pkl, change), "checkpoint.pkl")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=200))
def test_fuzz_random_pickle_opcodes(body):
    models.open_everything(b"\x80\x04" + body, "random.pkl")
