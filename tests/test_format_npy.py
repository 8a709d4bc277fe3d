"""NumPy .npy / .npz: files written by numpy itself (np.save, np.savez,
np.savez_compressed), checked against np.load as the oracle."""
import os
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings

import formats_weights_models as models
import wetron
from wetron import tensor_stats
from conftest import subprocess_env

np = pytest.importorskip("numpy")

STATE = {   # a small CNN's state dict, as people save one with np.savez(**state)
    "features.0.weight": ((16, 3, 3, 3), np.float32),
    "features.0.bias": ((16,), np.float32),
    "features.1.running_mean": ((16,), np.float32),
    "features.1.running_var": ((16,), np.float32),
    "classifier.weight": ((10, 16), np.float16),
    "classifier.bias": ((10,), np.float64),
    "steps": ((), np.int64),
    "mask": ((4, 4), np.bool_),
    "phase": ((3,), np.complex64),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("npy")
    rng = np.random.default_rng(7)
    state = {}
    for name, (shape, dtype) in STATE.items():
        if dtype is np.bool_:
            state[name] = rng.random(shape) > 0.5
        elif dtype is np.complex64:
            state[name] = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
        elif dtype is np.int64:
            state[name] = np.array(12345, dtype)
        else:
            state[name] = rng.standard_normal(shape).astype(dtype)
    out = {}
    for name, array in {"plain": state["features.0.weight"],
                        "fortran": np.asfortranarray(rng.standard_normal((3, 4, 5))),
                        "big_endian": np.arange(24, dtype=">i4").reshape(2, 3, 4),
                        "big_float": rng.standard_normal((5, 2)).astype(">f8"),
                        "scalar": np.array(2.5, np.float32),
                        "empty": np.zeros((0, 3), np.float32)}.items():
        out[name] = root / f"{name}.npy"
        np.save(out[name], array)
    out["v2"] = root / "v2.npy"
    with open(out["v2"], "wb") as f:   # the 4-byte header length of format 2.0
        np.lib.format.write_array(f, state["classifier.weight"], version=(2, 0))
    out["state"] = root / "state.npz"
    np.savez(out["state"], **state)
    out["compressed"] = root / "compressed.npz"
    np.savez_compressed(out["compressed"], **state)
    return out


def _values(m, t):
    return m.tensor_values(t.index, t.count)["values"] if t.count else []


def _same(got, want):
    want = np.asarray(want)
    if want.dtype.kind == "c":
        got = np.array([complex(a, b) for a, b in got]).reshape(want.shape)
    else:
        got = np.array(got, dtype=np.float64 if want.dtype.kind == "f" else want.dtype).reshape(want.shape)
    return np.array_equal(got, want.astype(got.dtype))


@pytest.mark.parametrize("which", ["plain", "fortran", "big_endian", "big_float", "scalar",
                                   "empty", "v2"])
def test_npy_matches_np_load(files, which):
    want = np.load(files[which])
    m = wetron.open(str(files[which]))
    assert m.format == "NumPy"
    (t,) = m.tensors
    assert t.name == which and list(t.dims) == list(want.shape)
    assert t.dtype == {"f": "float", "i": "int"}[want.dtype.kind] + str(8 * want.dtype.itemsize)
    assert _same(_values(m, t), want)


@pytest.mark.parametrize("which", ["state", "compressed"])
def test_npz_matches_np_load(files, which):
    want = np.load(files[which])
    m = wetron.open(str(files[which]))
    by_name = {t.name: t for t in m.tensors}
    assert sorted(by_name) == sorted(want.files)
    for name in want.files:
        t = by_name[name]
        assert list(t.dims) == list(want[name].shape), name
        assert _same(_values(m, t), want[name]), name
    # the module tree of the names, one box per module (wetron.weights)
    ops = sorted(n.name for n in m.graphs[0].nodes)
    assert "features.0/Conv2d" in ops and "classifier/Linear" in ops, ops


def test_npz_statistics_read_stored_arrays_in_windows(files):
    m = wetron.open(str(files["state"]))
    t = next(t for t in m.tensors if t.name == "features.0.weight")
    stats = tensor_stats.tensor_stats(m, t.index)
    want = np.load(files["state"])["features.0.weight"]
    assert stats["count"] == want.size
    assert abs(stats["min"] - float(want.min())) < 1e-6 and abs(stats["max"] - float(want.max())) < 1e-6


def test_object_arrays_are_never_unpickled(tmp_path):
    """An object array's pickle would run code on np.load(allow_pickle=True); Wetron lists
    the array and never reads it."""
    marker = tmp_path / "ran"
    script = f"""
import numpy as np, os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
np.save("{tmp_path / 'evil.npy'}", np.array([Evil(), None], dtype=object), allow_pickle=True)
np.savez("{tmp_path / 'evil.npz'}", ok=np.arange(3), evil=np.array([Evil()], dtype=object))
"""
    subprocess.run([sys.executable, "-c", script], check=True, env=subprocess_env())
    assert not marker.exists()
    for name in ("evil.npy", "evil.npz"):
        m = wetron.open(str(tmp_path / name))
        m.dumps()
        evil = next(t for t in m.tensors if t.name.startswith("evil"))
        assert evil.decoder is None and "pickled" in evil.doc
        with pytest.raises(wetron.ModelError):
            m.tensor_values(evil.index, 1)
    assert not marker.exists()


@pytest.mark.parametrize("header, says", [
    (b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured"),
    (b"{'descr': '<f4', 'shape': (2,), }", "lacks"),
    (b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"1, " * 70 + b"), }", "dimensions"),
    (b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "int64"),
    (b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }", "needs"),
    (b"__import__('os').system('true')", "dict literal"),
])
def test_bad_headers_are_clear_errors(tmp_path, header, says):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 16)
    with pytest.raises(wetron.ModelError) as e:
        wetron.open(str(path))
    assert "bad.npy" in str(e.value) and "NumPy" in str(e.value) and says in str(e.value)


def test_header_length_past_the_file(tmp_path):
    path = tmp_path / "cut.npy"
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b"{}")
    with pytest.raises(wetron.ModelError, match="runs past the end"):
        wetron.open(str(path))


def test_cli_lists_the_arrays(files):
    out = subprocess.run([sys.executable, "-m", "wetron", "graph", str(files["state"])],
                         capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "features" in out.stdout and "NumPy" in out.stdout


@settings(max_examples=60, deadline=None)
@given(change=models.mutations())
def test_fuzz_mutated_npz_fails_cleanly(files, change):
    for which, focus in (("state", None), ("compressed", None), ("v2", 64)):
        data = files[which].read_bytes()
        models.open_everything(models.mutate(data, change, focus=focus),
                               os.path.basename(files[which]))
