"""The page opens a file with two parse workers at once: one writes the graph document
without its detail (Model.to_dict(detail=False)), the other the detail alone
(Model.detail_dict(): value types, inferred shapes, per-node cost), and app/document.js
merges them, summing cost per module itself. Checked in node over real models (torch
exports with a module hierarchy, ONNX test models with subgraphs, sequences, maps,
optional types and functions): the merged document is the one the CLI writes."""
import json
import os
import shutil
import subprocess

import pytest

import models
import wetron

TESTS = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(TESTS, "document_merge_check.mjs")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def split_cases(paths, folder):
    cases = []
    for name, path in paths:
        model = wetron.open(path)
        texts = {"json": model.dumps(detail=False), "detail": model.dumps_detail(),
                 "full": model.dumps()}
        case = {"name": name}
        for key, text in texts.items():
            case[key] = str(folder / f"{len(cases)}-{key}.json")
            with open(case[key], "w") as f:
                f.write(text)
        cases.append(case)
    return cases


def test_merged_document_is_the_whole_document(tmp_path):
    node_models = dict(models.backend_node_models())
    paths = [("torch transformer", models.torch_transformer()), ("torch cnn", models.torch_cnn())]
    paths += [(name, node_models[name]) for name in (
        "test_if", "test_loop11", "test_scan9_sum", "test_sequence_map_add_2_sequences",
        "test_optional_get_element_optional_sequence", "test_identity_sequence")
        if name in node_models]
    paths += [(name, path) for name, path in models.feature_models()]
    assert len(paths) >= 8
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps(split_cases(paths, tmp_path)))
    result = subprocess.run(["node", "--no-warnings", SCRIPT, str(spec)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["name"] for r in report] == [name for name, _ in paths]
    for r in report:
        assert not r["problems"], f"{r['name']}: {r['problems']}"


def test_the_detail_holds_what_the_document_leaves_out():
    model = wetron.open(models.torch_transformer())
    doc = json.loads(model.dumps(detail=False))
    detail = json.loads(model.dumps_detail())
    g, d = doc["graphs"][0], detail["graphs"][0]
    assert "cost" not in g and "inferred" not in g and g["groups"]
    assert all(v[1] is None for v in g["values"])
    assert len(d["value_types"]) == len(g["values"]) and d["inferred"]
    # per node, every figure the module sums need; no per-module sums (the page adds them)
    assert set(d["cost"]["nodes"]) == {"flops", "macs", "params", "weight_bytes",
                                       "activation_bytes"}
    assert "groups" not in d["cost"]
    sizes = {"batch": 2, "sequence": 16}   # (unset symbolic sizes are not counted)
    full = json.loads(model.dumps(sizes=sizes))["graphs"][0]
    assert full["cost"]["groups"]["flops"][0] > 0
    assert json.loads(model.dumps_detail(sizes))["graphs"][0]["cost"]["nodes"]["flops"] == \
        full["cost"]["nodes"]["flops"]
