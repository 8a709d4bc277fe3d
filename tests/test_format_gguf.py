"""GGUF: files written by gguf.GGUFWriter (quantized with gguf.quants), checked against
gguf.GGUFReader and gguf.quants.dequantize as the oracle."""
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import formats_weights_models as models
import wetron
from wetron.formats import gguf as gguf_format

gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def files():
    return models.gguf_files()


@pytest.mark.parametrize("which", ["llama", "dtypes"])
def test_tensors_match_reader(files, which):
    path = files[which]
    m = wetron.open(path)
    assert m.format == "GGUF" and m.format_version == "v3"
    r = gguf.GGUFReader(str(path))
    by_name = {t.name: t for t in m.tensors}
    assert [t.name for t in m.tensors] == [t.name for t in r.tensors]
    for rt in r.tensors:
        t = by_name[rt.name]
        assert list(t.dims) == [int(d) for d in reversed(rt.shape)], rt.name
        assert t.dtype == gguf_format.GGML_TYPES[int(rt.tensor_type)][0]
        assert t.data == (rt.data_offset, rt.n_bytes), rt.name
        assert t.count == rt.n_elements
        if gguf_format.GGML_TYPES[int(rt.tensor_type)][1] == 1 and rt.tensor_type != 30:
            want = np.asarray(rt.data).astype(np.float64).ravel()    # plain types as read
        else:
            want = gguf.quants.dequantize(rt.data, rt.tensor_type).astype(np.float64).ravel()
        if t.dtype in gguf_format.DEQUANTIZE or gguf_format.GGML_TYPES[int(rt.tensor_type)][1] == 1:
            got = m.tensor_values(t.index, None)
            assert got["count"] == want.size and not got["truncated"]
            np.testing.assert_allclose(np.array(got["values"], dtype=np.float64), want,
                                       rtol=1e-5, atol=1e-6, err_msg=rt.name)
        else:   # quantized types whose values are not decoded say so
            with pytest.raises(wetron.ModelError, match="not decoded"):
                m.tensor_values(t.index, 10)


def test_all_writable_types_present(files):
    m = wetron.open(files["dtypes"])
    dtypes = {t.dtype for t in m.tensors}
    for name in models.GGUF_QUANTIZE + list(models.GGUF_RANDOM_BLOCKS):
        assert name.lower() in dtypes
    assert {"float32", "float16", "bfloat16", "float64", "int8", "int16", "int32",
            "int64"} <= dtypes
    assert ["general.alignment", "64"] in m.metadata


def test_metadata_matches_reader(files):
    path = files["llama"]
    m = wetron.open(path)
    meta = dict(m.metadata)
    r = gguf.GGUFReader(str(path))
    assert [k for k, _ in m.metadata] == list(r.fields)[3:]   # after the 3 header fields
    assert meta["general.architecture"] == "llama"
    assert meta["general.name"] == "tiny-llama-test"
    assert meta["llama.block_count"] == "2"
    assert meta["test.flag"] == "true"
    assert meta["test.f64"] == "2.5"
    assert meta["test.i8"] == "-3"
    assert meta["test.u64"] == str(1 << 40)
    assert meta["test.nested"] == "[[1, 2], [3, 4, 5]]"
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    shown = meta["tokenizer.ggml.tokens"]
    assert shown.startswith('["tok0", "tok1"') and shown.endswith(f"… {len(tokens)} items]")
    assert m.graphs[0].name == "tiny-llama-test" and m.domain == "llama"


def test_module_tree_per_block(files):
    m = wetron.open(files["llama"])
    names = {n.name: n.op for n in m.graphs[0].nodes}
    assert names["token_embd/Embedding"] == "Embedding"
    assert names["blk.0/attn_q/Linear"] == "Linear"
    assert names["blk.1/ffn_down/Linear"] == "Linear"
    assert names["blk.0/attn_norm/RMSNorm"] == "RMSNorm"
    assert names["output/Linear"] == "Linear"
    doc = m.to_dict()
    repeats = {g["path"]: g["repeat"] for g in doc["graphs"][0]["groups"] if "repeat" in g}
    assert repeats == {"blk.0": {"of": "blk.#", "index": 0, "count": 2},
                       "blk.1": {"of": "blk.#", "index": 1, "count": 2}}
    r = gguf.GGUFReader(str(files["llama"]))
    assert m.parameters == sum(int(t.n_elements) for t in r.tensors)
    assert m.weight_bytes == sum(int(t.n_bytes) for t in r.tensors)


def test_truncated_values_read_only_needed_blocks(files):
    m = wetron.open(files["llama"])
    t = next(t for t in m.tensors if t.dtype == "q8_0")
    got = m.tensor_values(t.index, 5)
    assert got["truncated"] and len(got["values"]) == 5


def _header(version=3, tensors=0, kvs=0):
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


@pytest.mark.parametrize("data,message", [
    (_header(version=7), "unsupported GGUF version 7"),
    (b"GGUF" + struct.pack(">IQQ", 3, 0, 0), "big-endian"),
    (_header(kvs=1) + struct.pack("<Q", 5) + b"a", "string of 5 bytes runs past"),
    (_header(kvs=1), "unexpected end of file"),
    (_header(kvs=1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 99), "unknown metadata"),
    (_header(kvs=1) + struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", 9, 4, 1 << 40),
     "past the end"),
    (_header(tensors=1 << 40), "more than the 1,000,000 Wetron opens"),
    (_header(tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 32, 99, 0),
     "unknown"),
    (_header(tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 32, 8, 0),
     "run past the end"),
    (_header(tensors=1) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 30, 8, 0),
     "whole number"),
])
def test_corrupt_files_are_model_errors(data, message):
    with pytest.raises(wetron.ModelError, match=message):
        wetron.open(wetron.BytesSource(data, "bad.gguf"))


def test_nested_arrays_are_bounded():
    kv = struct.pack("<Q", 1) + b"k" + struct.pack("<I", 9)
    kv += struct.pack("<IQ", 9, 1) * 20 + struct.pack("<IQ", 0, 0)
    with pytest.raises(wetron.ModelError, match="nested deeper"):
        wetron.open(wetron.BytesSource(_header(kvs=1) + kv, "deep.gguf"))


def test_version_1_counts_are_32_bit():
    kv = struct.pack("<I", 1) + b"k" + struct.pack("<I", 8) + struct.pack("<I", 2) + b"hi"
    info = struct.pack("<I", 1) + b"t" + struct.pack("<IIIQ", 1, 4, 0, 0)
    head = b"GGUF" + struct.pack("<III", 1, 1, 1) + kv + info
    pad = (-len(head)) % 32
    data = head + b"\0" * pad + struct.pack("<4f", 1, 2, 3, 4)
    m = wetron.open(wetron.BytesSource(data, "v1.gguf"))
    assert m.metadata == [["k", "hi"]] and m.format_version == "v1"
    assert m.tensor_values(0, None)["values"] == [1.0, 2.0, 3.0, 4.0]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=models.mutations())
def test_fuzz_mutated_files_fail_cleanly(files, change):
    data = files["llama"].read_bytes()
    r_end = 2048   # header, metadata and tensor infos of the small test file
    models.open_everything(models.mutate(data, change, focus=r_end), "llama.gguf")


def test_version_2_reads_like_version_3(files):
    """v2 and v3 share the layout (v3 allowed big-endian files): a real file relabelled."""
    data = bytearray(files["llama"].read_bytes())
    data[4:8] = struct.pack("<I", 2)
    m2 = wetron.open(wetron.BytesSource(bytes(data), "v2.gguf"))
    m3 = wetron.open(files["llama"])
    assert m2.format_version == "v2"
    assert [(t.name, t.dims, t.data) for t in m2.tensors] == \
        [(t.name, t.dims, t.data) for t in m3.tensors]
    assert m2.metadata == m3.metadata
