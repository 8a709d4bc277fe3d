"""Tensor statistics, histograms and .npy files (wetron.tensor_stats) against numpy, on
real tensors of real files: torch ONNX exports, onnx-written models of every dtype
(float16, bfloat16, float8, int4, NaN/Inf), the onnx backend models' initializers,
safetensors, GGUF (quantized) and PyTorch files (strided views). The oracles are the
frameworks' own readers (onnx.numpy_helper, safetensors, gguf, torch) and numpy."""
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper, TensorProto

import formats_weights_models as weights_models
import models
import wetron
from conftest import subprocess_env
from wetron import tensor_stats

pytestmark = pytest.mark.timeout(600)


# --- oracles -------------------------------------------------------------------------

def onnx_arrays(path):
    """{initializer name: numpy array} as onnx reads them (strings left out)."""
    m = onnx.load(path, load_external_data=False)
    folder = os.path.dirname(path)
    out = {}
    for t in m.graph.initializer:
        if t.data_type != TensorProto.STRING:
            out[t.name] = numpy_helper.to_array(t, base_dir=folder)
    return out


def torch_array(t):
    import torch
    if t.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
        return t.float().numpy()       # exact: float32 holds every such value
    return t.numpy()


def as_float64(a):
    with np.errstate(invalid="ignore"):      # NaN codes of ml_dtypes' small floats
        return np.asarray(a).astype(np.float64).ravel()


def check_stats(s, arr, what, histogram=True):
    """The statistics of wetron equal numpy's on the same elements (and the histogram,
    unless it was binned on a subset of them)."""
    a = np.asarray(arr)
    assert s["count"] == a.size, what
    kind = str(a.dtype)
    if a.dtype == bool:
        assert (s["zeros"], s["ones"]) == (int((~a).sum()), int(a.sum())), what
        return
    if a.dtype.kind == "c":
        nan = np.isnan(a)
        assert s["zeros"] == int((a == 0).sum()) and s["nan"] == int(nan.sum()), what
        assert s["inf"] == int((np.isinf(a) & ~nan).sum()), what
        return
    f = as_float64(a)
    finite = f[np.isfinite(f)]
    assert s["nan"] == int(np.isnan(f).sum()), what
    assert (s["posinf"], s["neginf"]) == (int((f == np.inf).sum()), int((f == -np.inf).sum())), what
    assert s["zeros"] == int((f == 0).sum()), what
    assert s["finite"] == finite.size, what
    if finite.size == 0:
        assert s["min"] is None and s["histogram"] is None, what
        return
    if a.dtype.kind in "iu":                 # integers: min/max exact
        assert (s["min"], s["max"]) == (int(a.min()), int(a.max())), what
    else:
        assert (s["min"], s["max"]) == (finite.min(), finite.max()), (what, kind)
    # mean, population std: numpy's in float64, to its own rounding (scale: the data)
    scale = float(np.abs(finite).max())
    with np.errstate(over="ignore"):          # a float64 max squared is inf, as std says
        figures = (("mean", finite.mean()), ("std", finite.std()))
    for key, want in figures:
        got = s[key]
        got = math.inf if got == "Infinity" else got
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12 * scale), \
            (what, kind, key, got, want)
    if histogram:
        check_histogram(s["histogram"], finite, what)


def check_histogram(h, finite, what):
    """numpy's counts for the same bins, which are numpy's equal bins over [min, max]."""
    edges = np.array(h["edges"])
    lo, hi = finite.min(), finite.max()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(hi - lo):
            equal_bins = np.linspace(lo, hi, tensor_stats.BINS + 1)
            assert np.allclose(edges, equal_bins, rtol=1e-12, atol=0), what
    counts, _ = np.histogram(finite, bins=edges)
    assert h["counts"] == counts.tolist(), what
    assert sum(h["counts"]) == finite.size, what


# numpy dtype a tensor's .npy must have (the nearest numpy has, holding every value)
NPY_DTYPE = {"bfloat16": "float32", "float8e4m3fn": "float16", "float8e4m3fnuz": "float16",
             "float8e5m2": "float16", "float8e5m2fnuz": "float16", "float8e8m0": "float32",
             "float4e2m1": "float16", "float6e2m3": "float16", "float6e3m2": "float16",
             "int4": "int8", "int2": "int8", "uint4": "uint8", "uint2": "uint8"}


def check_npy(model, t, arr, what):
    data = tensor_stats.npy_bytes(model, t.index)
    assert len(data) == tensor_stats.npy_size(model, t.index)
    got = np.load(io.BytesIO(data), allow_pickle=False)
    want = np.asarray(arr)
    assert got.shape == want.shape, what
    expected_dtype = NPY_DTYPE.get(t.dtype) or ("float32" if model.format == "GGUF"
                                               and t.dtype.startswith(("q", "tq", "mxfp"))
                                               else str(want.dtype))
    assert str(got.dtype) == expected_dtype, (what, got.dtype)
    if got.dtype.kind in "fc":
        assert np.array_equal(got, want.astype(got.dtype), equal_nan=True), what
    else:
        assert np.array_equal(got, want.astype(got.dtype)), what


def check_model(path, arrays, npy=True):
    m = wetron.open(path)
    checked = set()
    for t in m.tensors:
        if t.name in arrays and t.name not in checked:
            s = tensor_stats.tensor_stats(m, t.index)
            assert not s["sampled"] and s["read"] == t.count
            check_stats(s, arrays[t.name], f"{os.path.basename(path)}:{t.name}")
            if npy:
                check_npy(m, t, arrays[t.name], f"{os.path.basename(path)}:{t.name}")
            json.dumps(s, allow_nan=False)        # what the page receives is valid JSON
            checked.add(t.name)
    return m, checked


# --- ONNX ------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["cnn", "transformer", "transformer_external"])
def test_torch_exports(which):
    path = {"cnn": models.torch_cnn, "transformer": models.torch_transformer,
            "transformer_external": models.torch_transformer_external}[which]()
    arrays = onnx_arrays(path)
    m, checked = check_model(path, arrays)
    assert len(checked) == len(arrays) > 10


@pytest.mark.parametrize("which", ["dtypes_raw", "dtypes_typed", "dtypes_external"])
def test_every_onnx_dtype(which):
    """float16/bfloat16 specials, every float8 and sub-byte code, int extremes, NaN,
    Inf, signed zeros, complex, bool; raw, typed fields and external data."""
    path = dict(models.feature_models())[which]
    arrays = onnx_arrays(path)
    m, checked = check_model(path, arrays)
    dtypes = {t.dtype for t in m.tensors if t.name in checked}
    assert {"float16", "bfloat16", "float8e4m3fn", "float8e5m2", "float8e8m0", "int4", "uint4",
            "int2", "float4e2m1", "float6e3m2", "int8", "int64", "uint64", "bool",
            "complex64"} <= dtypes
    strings = next(t for t in m.tensors if t.dtype == "string")
    s = tensor_stats.tensor_stats(m, strings.index)
    assert s["count"] == strings.count and len(s["preview"]) == strings.count
    with pytest.raises(wetron.ModelError, match="cannot be saved as .npy"):
        tensor_stats.npy_bytes(m, strings.index)


def test_backend_light_models():
    """The onnx wheel's "light" models (resnet50, densenet121, inception...): real
    architectures' initializers. (The backend node models hold no float16/int4/float8
    initializers; test_every_onnx_dtype covers those, written by onnx.numpy_helper.)"""
    light = [(n, p) for n, p in models.backend_node_models() if n.startswith("data/light/")]
    assert len(light) >= 5
    total = 0
    for name, path in light:
        arrays = onnx_arrays(path)
        _, checked = check_model(path, arrays, npy=name.endswith("resnet50"))
        assert checked == set(arrays), name
        total += len(checked)
    assert total > 100


def nonfinite_model(path):
    """A model whose initializers hold NaN, +-Inf, zeros and -0.0 (float32, float16,
    bfloat16, float64), an all-NaN tensor, and a constant one."""
    import ml_dtypes
    rng = np.random.default_rng(5)
    base = rng.standard_normal(1000) * 3
    base[::7] = 0.0
    base[3::50] = -0.0
    base[5::97] = np.nan
    base[11::131] = np.inf
    base[13::151] = -np.inf
    inits = [numpy_helper.from_array(base.astype(np.float32).reshape(10, 100), "f32"),
             numpy_helper.from_array(base.astype(np.float16), "f16"),
             numpy_helper.from_array(base.astype(ml_dtypes.bfloat16), "bf16"),
             numpy_helper.from_array(base, "f64"),
             numpy_helper.from_array(np.full(64, np.nan, np.float32), "all_nan"),
             numpy_helper.from_array(np.full((4, 4), 2.5, np.float32), "constant")]
    graph = helper.make_graph([helper.make_node("Identity", ["f32"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [10, 100])],
                              inits)
    onnx.save(helper.make_model(graph), path)
    return path


def test_nan_inf_and_zeros(tmp_path):
    path = nonfinite_model(str(tmp_path / "nonfinite.onnx"))
    arrays = onnx_arrays(path)
    m, checked = check_model(path, arrays)
    assert len(checked) == 6
    f32 = tensor_stats.tensor_stats(m, tensor_stats.find_tensor(m, "f32").index)
    assert f32["nan"] > 0 and f32["posinf"] > 0 and f32["neginf"] > 0 and f32["zeros"] > 100
    all_nan = tensor_stats.tensor_stats(m, tensor_stats.find_tensor(m, "all_nan").index)
    assert all_nan["nan"] == 64 and all_nan["mean"] is None and all_nan["histogram"] is None
    const = tensor_stats.tensor_stats(m, tensor_stats.find_tensor(m, "constant").index)
    assert const["std"] == 0.0 and const["histogram"]["edges"][0] == 2.0


# --- sampling past the cap -------------------------------------------------------------

def big_model(path, shape, dtype=np.float32):
    rng = np.random.default_rng(11)
    w = (rng.standard_normal(int(np.prod(shape))) * 0.02 + 0.001).astype(dtype).reshape(shape)
    w[0, :50] = 0
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
                              [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph), path)
    return w


def test_past_the_cap_windows_are_sampled_and_said(tmp_path):
    """A 5M-element tensor (over the 4M cap): evenly spaced windows, said in the result;
    the figures are numpy's over exactly the elements read, and close to the whole's."""
    path = str(tmp_path / "big.onnx")
    w = big_model(path, (2500, 2000))
    m = wetron.open(path)
    s = tensor_stats.tensor_stats(m, 0)
    assert s["sampled"] and s["method"] == "windows" and s["count"] == w.size
    assert s["read"] == tensor_stats.ELEMENT_CAP == sum(n for _, n in s["windows"])
    starts = [a for a, _ in s["windows"]]
    assert starts[0] == 0 and starts[-1] + s["windows"][-1][1] <= w.size
    assert len(set(np.diff(starts))) == 1 and starts[1] >= s["windows"][0][1]   # even, no overlap
    flat = w.ravel()
    read = np.concatenate([flat[a:a + n] for a, n in s["windows"]])
    check_stats(dict(s, count=read.size), read, "sampled", histogram=False)
    assert math.isclose(s["std"], flat.astype(np.float64).std(), rel_tol=1e-2)
    assert abs(s["mean"] - flat.mean()) < 5 * flat.std() / math.sqrt(s["read"])
    # the histogram bins evenly spaced windows among those read, and says how many
    h = s["histogram"]
    assert h["read"] == tensor_stats.HIST_CAP and sum(h["counts"]) == h["read"]


def test_histogram_subset_equals_numpy(tmp_path):
    """Read in full (under the cap) but more than HIST_CAP: the histogram is numpy's over
    the windows it says it binned."""
    path = str(tmp_path / "mid.onnx")
    w = big_model(path, (1500, 1000))
    m = wetron.open(path)
    s = tensor_stats.tensor_stats(m, 0)
    assert not s["sampled"] and s["read"] == w.size
    check_stats(s, w, "mid", histogram=False)
    h = s["histogram"]
    reader = tensor_stats._Reader(m, m.tensors[0])
    plan = reader.histogram_plan(reader.plan(tensor_stats.ELEMENT_CAP)[0], "all")
    flat = w.ravel().astype(np.float64)
    binned = np.concatenate([flat[a:a + n] for a, n in plan])
    assert h["read"] == binned.size <= tensor_stats.HIST_CAP
    assert h["counts"] == np.histogram(binned, bins=np.array(h["edges"]))[0].tolist()


def test_decoders_that_cannot_seek_read_the_first_elements(monkeypatch, tmp_path):
    """PyTorch strided views are read through their decoder from the start (a window
    of raw bytes would be wrong); past PREFIX_CAP only the first elements, said so."""
    import torch
    path = weights_models.torch_files()["strided"]
    m = wetron.open(path)
    loaded = torch.load(path, weights_only=True)
    by_name = {"base": loaded["base"], "t": loaded["t"], "row": loaded["row"],
               "col": loaded["col"], "slice": loaded["slice"], "expand": loaded["expand"]}
    seekable = {}
    for name, tensor in by_name.items():
        t = tensor_stats.find_tensor(m, name)
        seekable[name] = tensor_stats._Reader(m, t).seekable
        check_stats(tensor_stats.tensor_stats(m, t.index), torch_array(tensor), name)
        check_npy(m, t, torch_array(tensor), name)
    assert seekable["base"] and seekable["row"]
    assert not (seekable["t"] or seekable["slice"] or seekable["expand"])
    # a big transposed weight: two windows would read the storage's order, not the view's
    big = tmp_path / "transposed.pt"
    torch.save({"w": torch.randn(700, 600).t()}, big)
    mb = wetron.open(str(big))
    assert not tensor_stats._Reader(mb, mb.tensors[0]).seekable
    w = torch.load(big, weights_only=True)["w"]
    check_stats(tensor_stats.tensor_stats(mb, 0), w.numpy(), "transposed")
    check_npy(mb, mb.tensors[0], w.numpy(), "transposed")
    monkeypatch.setattr(tensor_stats, "PREFIX_CAP", 7)
    t = tensor_stats.find_tensor(m, "t")
    s = tensor_stats.tensor_stats(m, t.index)
    assert s["sampled"] and s["method"] == "first" and s["read"] == 7
    check_stats(dict(s, count=7), torch_array(by_name["t"]).ravel()[:7], "t first 7")


# --- other formats -------------------------------------------------------------------

def test_safetensors_every_dtype():
    from safetensors.torch import load_file
    files = weights_models.safetensors_files()
    for which in ("dtypes", "bert"):
        arrays = {k: torch_array(v) for k, v in load_file(str(files[which])).items()}
        _, checked = check_model(files[which], arrays)
        assert checked == set(arrays)


def test_gguf_quantized_blocks():
    import gguf
    from wetron.formats import gguf as gguf_format
    files = weights_models.gguf_files()
    r = gguf.GGUFReader(str(files["dtypes"]))
    arrays = {}
    for rt in r.tensors:
        name, block, _ = gguf_format.GGML_TYPES[int(rt.tensor_type)]
        if block == 1 and rt.tensor_type != 30:
            a = np.asarray(rt.data)
        elif name in gguf_format.DEQUANTIZE:
            a = gguf.quants.dequantize(rt.data, rt.tensor_type).astype(np.float32)
        else:
            continue
        arrays[rt.name] = a.reshape([int(d) for d in reversed(rt.shape)])
    m, checked = check_model(files["dtypes"], arrays)
    assert any(t.dtype == "q4_k" for t in m.tensors if t.name in checked)
    assert any(t.dtype == "q8_0" for t in m.tensors if t.name in checked)


# --- errors and the command line -------------------------------------------------------

def test_unknown_tensor_and_errors():
    m = wetron.open(models.torch_cnn())
    with pytest.raises(wetron.ModelError, match="no tensor named 'nope'"):
        tensor_stats.find_tensor(m, "nope")
    with pytest.raises(wetron.ModelError, match="no tensor 999"):
        tensor_stats.tensor_stats(m, 999)
    with pytest.raises(wetron.ModelError, match=r"limit is 0 MiB \(the file is built in memory\)"):
        tensor_stats.npy_bytes(m, 0, max_bytes=100)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "wetron", *map(str, args)], capture_output=True,
                          env=subprocess_env(), timeout=120, text=True)


def test_cli_stats_and_npy(tmp_path):
    path = models.torch_cnn()
    arrays = onnx_arrays(path)
    name = next(n for n, a in arrays.items() if a.ndim == 4)
    r = run_cli("tensor", path, name, "--stats")
    assert r.returncode == 0, r.stderr
    check_stats(json.loads(r.stdout), arrays[name], name)
    out = tmp_path / "w.npy"
    r = run_cli("tensor", path, name, "--npy", out)
    assert r.returncode == 0 and "wrote" in r.stderr, r.stderr
    assert np.array_equal(np.load(out), arrays[name])
    r = run_cli("tensor", path, "conv1.weightt", "--stats")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("wetron: cnn.onnx: ONNX: no tensor named 'conv1.weightt'")
    assert len(r.stderr.strip().splitlines()) == 1


def decoded_array(m, t):
    """The tensor's values as its format's decoder gives them whole (checked against
    each framework in tests/test_format_*.py), as numpy."""
    values = m.tensor_values(t.index, None)["values"]
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    values = [special.get(v, v) if isinstance(v, str) else v for v in values]
    return np.array(values, dtype=np.float64 if t.dtype not in tensor_stats._INTS
                    else np.int64).reshape(t.dims)


@pytest.mark.parametrize("family", ["tflite", "tensorflow", "keras"])
def test_other_formats_read_in_windows_agree(family):
    """TFLite, TensorFlow (frozen, SavedModel, TF.js) and Keras files: the statistics
    read window by window (or from the start, for decoders that cannot seek) equal
    numpy's over the values the format's decoder gives for the whole tensor."""
    if family == "keras":
        import formats_keras_models as keras_models
        folder = keras_models.keras_dir()
        paths = [os.path.join(folder, f) for f in keras_models.keras_files()]
    else:
        import formats_tensorflow_models as tf_models
        files = tf_models.tflite_files() if family == "tflite" else tf_models.tensorflow_files()
        paths = list(files.values())
    methods, checked = set(), 0
    for path in paths:
        if not os.path.exists(path):
            continue
        m = wetron.open(path)
        for t in m.tensors:
            if t.error or t.decoder is None or t.dtype in ("string", "bool") \
                    or t.dtype.startswith("complex") or t.count > 300_000:
                continue
            try:
                truth = decoded_array(m, t)
            except wetron.ModelError:
                continue
            s = tensor_stats.tensor_stats(m, t.index)
            check_stats(s, truth, f"{os.path.basename(path)}:{t.name}")
            methods.add((m.format, tensor_stats._Reader(m, t).seekable))
            checked += 1
    assert checked > 10, checked
    expect = {"tflite": {("TensorFlow Lite", True)},
              "tensorflow": {("TensorFlow", True), ("TensorFlow.js", False)},
              "keras": {("Keras", False)}}[family]     # HDF5 and TF.js: read from the start
    assert expect <= methods, methods


@pytest.mark.parametrize("which", ["onnx", "safetensors", "gguf"])
def test_damaged_files_fail_with_model_errors(which):
    """Bytes changed at random in real files (headers, dims, offsets, data): statistics
    and .npy either work or raise ModelError, never anything else."""
    import random
    path = {"onnx": models.torch_cnn(),
            "safetensors": weights_models.safetensors_files()["dtypes"],
            "gguf": weights_models.gguf_files()["dtypes"]}[which]
    data = open(path, "rb").read()
    rng = random.Random(17)
    opened = 0
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(min(len(data), 4096) if rng.random() < 0.3 else len(data))
            n = rng.randint(1, 4)
            damaged[at:at + n] = rng.randbytes(n)[:len(data) - at]
        try:
            m = wetron.open(wetron.BytesSource(bytes(damaged), os.path.basename(path)))
        except wetron.ModelError:
            continue
        opened += 1
        for t in m.tensors:
            try:
                json.dumps(tensor_stats.tensor_stats(m, t.index), allow_nan=False)
            except wetron.ModelError as e:
                assert "\n" not in str(e)
            try:
                tensor_stats.npy_bytes(m, t.index, max_bytes=1 << 24)
            except wetron.ModelError as e:
                assert "\n" not in str(e)
    assert opened > 10
