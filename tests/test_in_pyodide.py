"""The package's ONNX tests inside real Pyodide (npm `pyodide`, Node): real models go
through the page's entry points (wetron.web.open_file / tensor_values) with the file
read range by range by a JS reader, and every graph document, tensor value list and
error message must be the very same JSON text as CPython's. Nothing is installed in
Pyodide besides wetron (standard library only, and no numpy there to fall back on)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import models
import wetron

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "tests", "pyodide", "run.mjs")
PYODIDE = os.path.join(REPO, "node_modules", "pyodide")
BACKEND_STRIDE = 1      # every one of the onnx backend test models (~2,050)

pytestmark = pytest.mark.skipif(not shutil.which("node") or not os.path.isdir(PYODIDE),
                                reason="node or the pyodide npm package is missing")


def companions(path):
    """Files beside a model in its own folder: what the page would be given with it."""
    folder = os.path.dirname(path)
    if os.path.basename(path) != "model.onnx" or not os.path.isdir(folder):
        return {}
    return {f: os.path.join(folder, f) for f in sorted(os.listdir(folder))
            if f != "model.onnx" and os.path.isfile(os.path.join(folder, f))}


def truncated_and_broken(folder):
    """(key, path) of files that must fail: a real model cut at several points, an
    empty file, bytes that are no model, a model whose external data is missing."""
    data = open(models.torch_cnn(), "rb").read()
    out = []
    for n in (1, 2, 100, len(data) // 3, len(data) // 2, len(data) - 1):
        p = folder / f"cnn-cut-{n}.onnx"
        p.write_bytes(data[:n])
        out.append((f"cut-{n}", str(p)))
    (folder / "empty.onnx").write_bytes(b"")
    (folder / "noise.onnx").write_bytes(bytes((i * 97 + 13) % 251 for i in range(5000)))
    lonely = folder / "lonely"
    lonely.mkdir()
    shutil.copy(dict(models.feature_models())["dtypes_external"], lonely / "model.onnx")
    return out + [("empty", str(folder / "empty.onnx")), ("noise", str(folder / "noise.onnx")),
                  ("missing-external-data", str(lonely / "model.onnx"))]


def cpython_result(path, tensors, limit):
    """What wetron.web hands the page, computed in CPython from wetron.open(path)."""
    def guard(fn):
        try:
            return fn()
        except wetron.ModelError as e:
            return json.dumps({"error": str(e)})
        except Exception as e:   # a bug: must at least fail the same way in Pyodide
            return json.dumps({"exception": f"{type(e).__name__}: {e}"})
    holder = {}

    def parse():   # like wetron.web: only a model that made it to JSON is the open one
        m = wetron.open(path)
        text = m.dumps()
        holder["m"] = m
        return text
    doc = guard(parse)
    m = holder.get("m")
    values = [guard(lambda i=i: json.dumps(m.tensor_values(i, limit), allow_nan=False))
              if m else json.dumps({"error": "no model is open"}) for i in tensors]
    return {"doc": doc, "tensors": values}


def tensor_picks(path, every):
    try:
        n = len(wetron.open(path).tensors)
    except Exception:
        return []
    picks = list(range(n)) if every else sorted({0, n // 3, n // 2, n - 1} - {-1})
    return picks + [n]       # one past the end: an error, the same one on both sides


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pyodide")
    real = models.real_models()
    features = models.feature_models()
    backend = models.backend_node_models()[::BACKEND_STRIDE]
    broken = truncated_and_broken(tmp)
    jobs, expected = [], {}
    for group, pairs in (("real", real), ("feature", features), ("backend", backend),
                         ("broken", broken)):
        for name, path in pairs:
            every = group == "feature" or name.startswith("torch")
            limit = 1000 if group == "feature" else 37   # 37: lists cut short, "truncated"
            tensors = tensor_picks(path, every)
            key = f"{group}:{name}"
            jobs.append({"key": key, "path": path, "companions": companions(path),
                         "tensors": tensors, "limit": limit})
            expected[key] = cpython_result(path, tensors, limit)
    job_file, out_file = tmp / "job.json", tmp / "out.json"
    job_file.write_text(json.dumps({"models": jobs}))
    proc = subprocess.run(["node", RUNNER, str(job_file), str(out_file)],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out_file.read_text()), expected, dict(real), dict(features), dict(broken)


def first_difference(a, b, where="$"):
    """JSON path and values of the first place where two JSON values differ."""
    if type(a) is not type(b):
        return f"{where}: {a!r:.200} != {b!r:.200}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}.{k}: only on one side"
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
    elif isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
    elif a != b:
        return f"{where}: {a!r:.200} != {b!r:.200}"
    return None


def crash_type(text):
    """The exception type of a crash result ({"exception": "Type: message"}), else None:
    the message's wording changes between Python versions, its type does not."""
    if text.startswith('{"exception"'):
        return json.loads(text)["exception"].split(":")[0]
    return None


def assert_same(got, want, what):
    if got != want and not (crash_type(got) and crash_type(got) == crash_type(want)):
        diff = first_difference(json.loads(got), json.loads(want)) or "same JSON, different text"
        pytest.fail(f"{what}: Pyodide differs from CPython at {diff}")


def test_pyodide_has_only_the_standard_library(run):
    out = run[0]
    assert out["python"].startswith("3.14") and out["python"] != sys.version.split()[0]
    assert out["packages"] == []        # nothing loaded from Pyodide's distribution
    assert out["foreign"] == []         # every imported module is stdlib or wetron
    assert out["numpy"] is False        # so the pure-Python tensor decoding is what ran


def test_no_internal_errors(run):
    """A failure that is not a ModelError reaches the page as an internal error: a bug
    (in CPython and Pyodide alike), listed here rather than as a difference."""
    out, expected, *_ = run
    crashes = [f"{key} {side}: {json.loads(text)['exception']}"
               for key, want in expected.items()
               for side, result in (("CPython", want), ("Pyodide", out["results"][key]))
               for text in [result["doc"]] + result["tensors"] if crash_type(text)]
    assert not crashes, "wetron crashed:\n" + "\n".join(crashes[:20])


def test_graph_documents_are_identical(run):
    out, expected, real, features, _ = run
    assert set(out["results"]) == set(expected)
    for key, want in expected.items():
        assert_same(out["results"][key]["doc"], want["doc"], key + " document")
    # the real and feature models parse (a pair of identical errors proves nothing)
    for key in [f"real:{n}" for n in real] + [f"feature:{n}" for n in features]:
        doc = json.loads(expected[key]["doc"])
        assert doc.get("schema") == "wetron-graph" and doc["graphs"][0]["nodes"], (key, doc)


def test_tensor_values_are_identical(run):
    out, expected, _, features, _ = run
    dtypes = set()
    for key, result in expected.items():
        got, want = out["results"][key]["tensors"], result["tensors"]
        assert len(got) == len(want), key
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{key} tensor #{i}")
            value = json.loads(w)
            if "dtype" in value:
                dtypes.add(value["dtype"])
    # the dtype models decode many element types in pure Python inside Pyodide
    assert {"float32", "float64", "float16", "bfloat16", "int4", "uint4", "int8", "int64",
            "uint64", "bool", "string", "complex64", "float8e4m3fn"} <= dtypes, sorted(dtypes)
    assert any(json.loads(t).get("truncated") for r in expected.values() for t in r["tensors"])


def test_broken_files_fail_the_same_way(run):
    out, expected, _, _, broken = run
    for name in broken:
        key = f"broken:{name}"
        want = json.loads(expected[key]["doc"])
        if name == "missing-external-data":   # opens; its tensors say what is missing
            assert any("not found" in t.get("error", "") for t in want["tensors"]), want["tensors"]
            assert any("not found" in json.loads(v).get("error", "")
                       for v in out["results"][key]["tensors"])
        else:
            assert set(want) == {"error"} and want["error"], (name, want)
        assert out["results"][key]["doc"] == expected[key]["doc"], name


# --- tensor viewer: statistics and .npy in Pyodide (wetron.tensor_stats) ---------------
STATS_SCRIPT = """
import fs from "fs";
import path from "path";
import { bootPyodide, fileReader } from "./tests/pyodide/pyodide-env.mjs";
const [job, out] = process.argv.slice(1);
const py = await bootPyodide(process.cwd());
const web = py.pyimport("wetron.web");
const results = {};
for (const [key, file] of Object.entries(JSON.parse(fs.readFileSync(job, "utf8")))) {
  const doc = JSON.parse(web.open_file(fileReader(file), path.basename(file), new Map()));
  results[key] = doc.tensors.map((t, i) => {
    const pieces = [];
    const npy = JSON.parse(web.tensor_npy(i, (piece) => pieces.push(Buffer.from(piece))));
    return { stats: web.tensor_stats(i), npy, base64: Buffer.concat(pieces).toString("base64") };
  });
}
fs.writeFileSync(out, JSON.stringify({ python: py.runPython("import sys; sys.version.split()[0]"), results }));
"""


def test_tensor_stats_and_npy_in_pyodide(tmp_path):
    """wetron.web.tensor_stats / tensor_npy inside Pyodide give CPython's statistics
    (sums may differ in the last bits: math.sumprod there, math.fsum here) and the very
    same .npy files (NaN payloads aside), for every dtype and a real export."""
    import base64
    import io
    import numpy as np
    import math
    from wetron import tensor_stats
    files = {"dtypes_raw": dict(models.feature_models())["dtypes_raw"], "cnn": models.torch_cnn()}
    job, out = tmp_path / "job.json", tmp_path / "out.json"
    job.write_text(json.dumps(files))
    proc = subprocess.run(["node", "--input-type=module", "-e", STATS_SCRIPT, str(job), str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(out.read_text())
    assert got["python"].startswith("3.14")
    dtypes = set()
    for key, path in files.items():
        m = wetron.open(path)
        assert len(got["results"][key]) == len(m.tensors)
        for t, result in zip(m.tensors, got["results"][key]):
            want = json.loads(json.dumps(tensor_stats.tensor_stats(m, t.index)))
            stats = json.loads(result["stats"])     # the text, as big ints lose digits in JS
            for k in ("mean", "std"):
                if isinstance(want.get(k), float):
                    assert math.isclose(stats.pop(k), want.pop(k), rel_tol=1e-12), (key, t.name, k)
            assert stats == want, (key, t.name)
            try:
                npy = tensor_stats.npy_bytes(m, t.index)
            except wetron.ModelError as e:
                assert result["npy"] == {"error": str(e)}, (key, t.name)
                continue
            data = base64.b64decode(result["base64"])
            assert result["npy"]["bytes"] == len(data) == len(npy), (key, t.name)
            a, b = np.load(io.BytesIO(data)), np.load(io.BytesIO(npy))
            assert a.dtype == b.dtype and a.shape == b.shape, (key, t.name)
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), (key, t.name)
            dtypes.add(t.dtype)
    assert {"float16", "bfloat16", "float8e4m3fn", "int4", "int64", "complex64", "bool"} <= dtypes
