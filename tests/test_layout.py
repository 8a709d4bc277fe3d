"""Invariants of the flat layered layout (app/layout.js), checked in node by
tests/flat_layout_check.mjs over generated model-like graphs (transformer with
mask/rotary fan-out, ResNet), hand-made corner cases
(a cycle, self-loops, isolated boxes) and the graph documents the parser writes for
real models: output arrays sized right, no overlapping boxes, every edge leaving the
bottom of its source (or its ghost) and entering the top of its target, going down in
rank order, never through a box. Module frames are checked by test_layout_invariants.py."""
import json
import os
import shutil
import subprocess

import pytest

import models
import wetron

TESTS = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(TESTS, "flat_layout_check.mjs")
EXAMPLES = os.path.join(os.path.dirname(TESTS), "examples")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def check(specs, tmp_path):
    spec_file = tmp_path / "specs.json"
    spec_file.write_text(json.dumps(specs))
    result = subprocess.run(["node", "--no-warnings", SCRIPT, str(spec_file)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["name"] for r in report] == [s["name"] for s in specs]
    for r in report:
        assert not r["problems"], f"{r['name']}: {r['problems']}"
    return {r["name"]: r for r in report}


def test_generated_graphs(tmp_path):
    specs = [
        {"name": "transformer-3000", "graph": {"kind": "transformer", "size": 3000}},
        {"name": "resnet-2000", "graph": {"kind": "resnet", "size": 2000}},
        {"name": "transformer-600-no-ghosts", "graph": {"kind": "transformer", "size": 600},
         "options": {"fanout": 1e9, "maxSpan": 1e9}},
    ]
    report = check(specs, tmp_path)
    assert report["transformer-3000"]["ghosts"] > 0            # mask/rotary fan-out is ghosted
    assert report["transformer-600-no-ghosts"]["ghosts"] == 0
    assert report["resnet-2000"]["ghosts"] == 0
    for r in report.values():
        assert r["drawn"] == r["edges"] and r["upward"] == 0   # DAGs: every edge drawn, downward


def test_corner_cases(tmp_path):
    specs = [
        # a cycle 0 -> 1 -> 2 -> 0, a self-loop on 1, 3 and 4 without edges
        {"name": "cycle", "graph": {"kind": "edges", "n": 5, "edges": [[0, 1], [1, 2], [2, 0], [1, 1]]}},
        {"name": "no-edges", "graph": {"kind": "edges", "n": 7, "edges": []}},
        {"name": "parallel", "graph": {"kind": "edges", "n": 3, "edges": [[0, 1], [0, 1], [1, 2], [0, 2]]}},
    ]
    report = check(specs, tmp_path)
    assert report["cycle"]["drawn"] == 3 and report["cycle"]["upward"] == 1
    assert report["no-edges"]["drawn"] == 0 and report["parallel"]["drawn"] == 4


def test_real_models(tmp_path):
    paths = {"torch_cnn": models.torch_cnn(), "torch_transformer": models.torch_transformer()}
    for name in sorted(os.listdir(EXAMPLES)):
        if name.endswith(".onnx"):
            paths[name] = os.path.join(EXAMPLES, name)
    specs = []
    for name, path in paths.items():
        out = tmp_path / (name + ".json")
        out.write_text(wetron.open(path).dumps())
        specs.append({"name": name, "graph": {"kind": "doc", "path": str(out)}})
    report = check(specs, tmp_path)
    for r in report.values():
        assert r["boxes"] > 10 and r["drawn"] == r["edges"]
