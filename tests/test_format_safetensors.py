"""safetensors: files written by safetensors.torch.save_file from real torch modules,
checked against safetensors.safe_open as the oracle."""
import json
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings

import formats_weights_models as models
import wetron
from wetron.formats import safetensors as st_format

pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402


@pytest.fixture(scope="module")
def files():
    return models.safetensors_files()


def _close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, str) or isinstance(b, str):   # non-finite travel as strings
        return str(a) == str(b) or (a in ("NaN",) and b != b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _oracle_values(t):
    import torch
    if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16, torch.float16):
        t = t.float()
    return t.flatten().tolist()


@pytest.mark.parametrize("which", ["bert", "cnn", "dtypes"])
def test_tensors_match_safe_open(files, which):
    path = files[which]
    m = wetron.open(path)
    assert m.format == "safetensors"
    by_name = {t.name: t for t in m.tensors}
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        assert sorted(by_name) == sorted(keys)
        assert dict(m.metadata) == (f.metadata() or {})
        for k in keys:
            ref = f.get_tensor(k)
            t = by_name[k]
            assert list(t.dims) == list(ref.shape), k
            assert t.dtype == _DTYPE[str(ref.dtype)], k
            got = m.tensor_values(t.index, None)
            want = _oracle_values(ref)
            assert got["count"] == len(want) and not got["truncated"]
            assert all(_close(a, b) for a, b in zip(got["values"], want)), k


_DTYPE = {"torch.float64": "float64", "torch.float32": "float32", "torch.float16": "float16",
          "torch.bfloat16": "bfloat16", "torch.int64": "int64", "torch.int32": "int32",
          "torch.int16": "int16", "torch.int8": "int8", "torch.uint8": "uint8",
          "torch.bool": "bool", "torch.float8_e4m3fn": "float8e4m3fn",
          "torch.float8_e5m2": "float8e5m2"}


def test_module_tree_of_bert(files):
    m = wetron.open(files["bert"])
    g = m.graphs[0]
    ops = {n.name: n.op for n in g.nodes}
    assert ops["embeddings/word_embeddings/Embedding"] == "Embedding"
    assert ops["encoder/layers.0/self_attn/MultiheadAttention"] == "MultiheadAttention"
    assert ops["encoder/layers.1/linear1/Linear"] == "Linear"
    assert ops["encoder/layers.0/norm1/LayerNorm"] == "LayerNorm"
    # every tensor is an input of exactly one module node, and an initializer
    inputs = [i for n in g.nodes for i in n.inputs]
    assert sorted(inputs) == sorted(t.name for t in m.tensors)
    assert {t.name for t in g.initializers} == set(inputs)
    doc = m.to_dict()
    repeats = [gr for gr in doc["graphs"][0]["groups"] if "repeat" in gr]
    assert {gr["path"] for gr in repeats} == {"encoder/layers.0", "encoder/layers.1"}
    assert doc["model"]["producer"] == "PyTorch"
    assert ["model", "bert-like"] in doc["model"]["metadata"]


def test_cnn_kinds_and_parameter_count(files):
    m, _ = models.cnn()
    model = wetron.open(files["cnn"])
    ops = {n.name: n.op for n in model.graphs[0].nodes}
    assert ops == {"0/Conv2d": "Conv2d", "1/BatchNorm": "BatchNorm", "3/Conv2d": "Conv2d",
                   "7/Linear": "Linear"}
    assert model.parameters == sum(v.numel() for v in m.state_dict().values())


def test_data_offsets_are_lazy_and_exact(files):
    path = files["cnn"]
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    m = wetron.open(path)
    for t in m.tensors:
        b, e = header[t.name]["data_offsets"]
        assert t.data == (8 + n + b, e - b)


def _file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("header,data,message", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "outside"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "need 12"),
    ({"a": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown dtype"),
    ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "bad shape"),
    ({"a": [1, 2]}, b"", "not a JSON object"),
    ({"__metadata__": [1]}, b"", "__metadata__"),
])
def test_corrupt_headers_are_model_errors(header, data, message):
    with pytest.raises(wetron.ModelError, match=message):
        wetron.open(wetron.BytesSource(_file(header, data), "bad.safetensors"))


def test_header_length_limits():
    too_long = struct.pack("<Q", 1000) + b"{}"
    with pytest.raises(wetron.ModelError, match="past the end"):
        st_format.parse(wetron.BytesSource(too_long, "x.safetensors"))
    huge = struct.pack("<Q", 200 << 20) + b"{}"
    with pytest.raises(wetron.ModelError, match="limit"):
        st_format.parse(wetron.BytesSource(huge, "x.safetensors"))
    with pytest.raises(wetron.ModelError, match="JSON"):
        st_format.parse(wetron.BytesSource(struct.pack("<Q", 3) + b"{x}", "x.safetensors"))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=models.mutations())
def test_fuzz_mutated_files_fail_cleanly(files, change):
    data = files["bert"].read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    models.open_everything(models.mutate(data, change, focus=8 + n), "bert.safetensors")
