"""Invariants of the module view and its nested layout (app/module-view.js,
app/module-layout.js), checked by tests/layout_invariants.mjs in node over generated
transformer documents with a module hierarchy and over the documents the parser writes
for real models: every op inside exactly one drawn box, aggregated edges accounting
for every flat edge, no overlapping boxes within a layout (so no overlapping sibling
frames), children inside their module's frame, edges going downward."""
import json
import os
import shutil
import subprocess

import pytest

import formats_weights_models
import models
import wetron

TESTS = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(TESTS, "layout_invariants.mjs")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def run(*args):
    result = subprocess.run(["node", "--no-warnings", SCRIPT, *args], capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert result.returncode == 0 and not failures, "\n".join(failures) or result.stderr
    return lines


def test_generated_documents():
    lines = run("--generated")
    assert [line["name"] for line in lines] == ["generated-12", "generated-200"]
    for line in lines:
        assert line["cases"] >= 5 and line["frames"] > 0 and line["boxes"] > 0
        assert line["cached"] > 0   # the cache was used, and gave the layout made from scratch


def real_documents():
    picks = [("torch_transformer", models.torch_transformer()), ("torch_cnn", models.torch_cnn())]
    picks += [(name, path) for name, path in models.real_models() if name.startswith("data/light/")]
    torch_files = formats_weights_models.torch_files()   # torch.export (.pt2) and a state dict
    picks += [("bert_export", torch_files["bert_export"]), ("bert_state_dict", torch_files["bert_sd"])]
    return picks


def test_real_documents(tmp_path):
    files, with_groups = [], []
    for name, path in real_documents():
        doc = json.loads(wetron.open(path).dumps())
        out = tmp_path / (name.replace("/", "_") + ".json")
        out.write_text(json.dumps(doc))
        files.append(str(out))
        if doc["graphs"][0].get("groups"):
            with_groups.append(out.name)
    for name in ("torch_transformer.json", "bert_export.json", "bert_state_dict.json"):
        assert name in with_groups, f"{name}: the export should carry its module hierarchy"
    lines = run(*files)
    checked = [line["name"] for line in lines if line["cases"]]
    assert sorted(checked) == sorted(with_groups)
