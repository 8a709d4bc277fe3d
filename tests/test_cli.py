"""The command line, run as a user runs it: `python -m wetron ...` in a child process.
Expected figures come from onnx.load, not from wetron."""
import collections
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import models
from conftest import subprocess_env
from test_fuzz import encode_varint, parse_tree, serialize, tag
from test_onnx_oracle import all_graphs, expected_values, same_values


def wetron(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "wetron", *map(str, args)], capture_output=True,
                          env=subprocess_env(), timeout=timeout, text=True, encoding="utf-8")


def cli_models():
    node = dict(models.backend_node_models())
    features = dict(models.feature_models())
    return {
        "light_resnet50": node["data/light/light_resnet50"],
        "light_inception_v2": node["data/light/light_inception_v2"],
        "test_loop11": node["test_loop11"],
        "structure": features["structure"],
        "torch_cnn": models.torch_cnn(),
        "torch_transformer": models.torch_transformer(),
        "torch_transformer_external": models.torch_transformer_external(),
    }


def expected_info(path):
    m = onnx.load(path, load_external_data=False)
    weights = {t.name for t in m.graph.initializer} | \
        {s.values.name for s in m.graph.sparse_initializer}
    params = sum(math.prod(t.dims) for g in all_graphs(m) for t in g.initializer) + \
        sum(math.prod(s.dims) for g in all_graphs(m) for s in g.sparse_initializer)
    return {
        "format": "ONNX",
        "producer": " ".join(p for p in (m.producer_name, m.producer_version) if p),
        "nodes": len(m.graph.node),
        "ops": dict(collections.Counter(n.op_type for n in m.graph.node)),
        "inputs": [i.name for i in m.graph.input if i.name not in weights],
        "outputs": [o.name for o in m.graph.output],
        "parameters": params,
    }


@pytest.fixture(scope="module")
def paths():
    return cli_models()


@pytest.mark.parametrize("name", list(cli_models()))
def test_info_json(paths, name):
    path = paths[name]
    r = wetron("info", path, "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    info = json.loads(r.stdout)
    exp = expected_info(path)
    assert info["format"] == exp["format"]
    assert info["producer"] == exp["producer"]
    assert info["file"] == os.path.basename(path)
    assert info["graph"]["nodes"] == exp["nodes"]
    assert info["graph"]["ops"] == exp["ops"]
    assert info["graph"]["inputs"] == exp["inputs"]
    assert info["graph"]["outputs"] == exp["outputs"]
    assert info["parameters"] == exp["parameters"]


@pytest.mark.parametrize("name", ["light_resnet50", "torch_transformer"])
def test_info_summary_is_readable(paths, name):
    path = paths[name]
    r = wetron("info", path)
    assert r.returncode == 0, r.stderr
    exp = expected_info(path)
    out = r.stdout
    assert os.path.basename(path) in out and "ONNX" in out
    assert str(exp["nodes"]) in out
    assert f"{exp['parameters']:,}" in out
    for name in exp["inputs"] + exp["outputs"]:
        assert name in out
    most_common = max(exp["ops"], key=exp["ops"].get)
    assert most_common in out
    assert not out.lstrip().startswith("{")        # prose, not JSON
    assert len(out.splitlines()) < 40


@pytest.mark.parametrize("name", list(cli_models()))
def test_graph_prints_the_document(paths, name):
    import wetron as lib
    path = paths[name]
    r = wetron("graph", path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["schema"] == "wetron-graph" and doc["version"] == 1
    assert doc == json.loads(lib.dumps(lib.open(path)))
    assert len(doc["graphs"][0]["nodes"]) == expected_info(path)["nodes"]


def test_tensor_values(paths):
    path = paths["torch_cnn"]
    m = onnx.load(path)
    t = max(m.graph.initializer, key=lambda t: math.prod(t.dims))
    r = wetron("tensor", path, t.name, "--limit", 50)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    arr = numpy_helper.to_array(t)
    assert got["shape"] == list(t.dims) and got["count"] == arr.size and got["truncated"]
    assert same_values(expected_values(arr.reshape(-1)[:50], "float32"), got["values"],
                       "float32") is None


def _bad_files(tmp):
    good = open(models.torch_cnn(), "rb").read()
    # the main graph's length (ModelProto field 7) pointing far past the end of the file
    tree = parse_tree(good)
    graph = next(i for i, f in enumerate(tree) if f[0] == 7)
    head = serialize(tree[:graph])
    payload = serialize(tree[graph][2])
    corrupt = head + tag(7) + encode_varint(1 << 40) + payload + serialize(tree[graph + 1:])
    assert len(corrupt) == len(good) + len(encode_varint(1 << 40)) - len(
        encode_varint(len(payload)))
    files = {
        "empty.onnx": b"",
        "truncated.onnx": good[: len(good) // 2],
        "corrupted.onnx": bytes(corrupt),
        "notes.txt": b"these are my notes, not a model\n",
        "picture.onnx": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "m\u00f6del with space.onnx": b"\x07\x07\x07garbage",
    }
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    return list(files) + ["missing.onnx"]


@pytest.mark.parametrize("command", [["info"], ["info", "--json"], ["graph"]])
def test_bad_files_fail_cleanly(tmp_path, command):
    for name in _bad_files(tmp_path):
        path = tmp_path / name
        r = wetron(command[0], path, *command[1:])
        assert r.returncode == 2, (name, r.returncode, r.stdout[:200], r.stderr[-2000:])
        lines = r.stderr.splitlines()
        assert len(lines) == 1, (name, r.stderr)
        assert name in lines[0], (name, lines[0])
        assert "Traceback" not in r.stderr
        assert r.stdout == "", (name, r.stdout[:200])


def test_directory_is_not_a_model(tmp_path):
    r = wetron("info", tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_external_data_missing_still_summarises(tmp_path):
    """Without its companion file the model still opens: the summary says what is
    missing instead of failing."""
    shutil.copy(models.torch_transformer_external(), tmp_path / "model.onnx")
    r = wetron("info", tmp_path / "model.onnx", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert any("model.onnx.data" in w for w in info["warnings"])
    assert info["parameters"] == expected_info(models.torch_transformer_external())["parameters"]


def test_expected_values_helper_sanity():
    # the helper used above really distinguishes values
    assert same_values(expected_values(np.array([1.0, 2.0], np.float32), "float32"),
                       [1.0, 2.5], "float32") == 1
