"""The safetensors, GGUF and PyTorch readers in real Pyodide (Node, no numpy): the same
documents and values as in CPython."""
import json
import os
import shutil
import subprocess

import pytest

import formats_weights_models as models
import wetron

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYODIDE = os.path.join(REPO, "node_modules", "pyodide")

SCRIPT = r"""
import { loadPyodide } from "%(pyodide)s/pyodide.mjs";
import fs from "fs";
import path from "path";
const py = await loadPyodide({ indexURL: "%(pyodide)s/" });
function copyDir(src, dst) {
  py.FS.mkdirTree(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === "__pycache__") continue;
    const s = path.join(src, e.name), d = dst + "/" + e.name;
    if (e.isDirectory()) copyDir(s, d); else py.FS.writeFile(d, fs.readFileSync(s));
  }
}
copyDir("%(package)s", "/lib/wetron");
const files = JSON.parse(process.argv[2]);
py.FS.mkdirTree("/models");
for (const f of files) py.FS.writeFile("/models/" + path.basename(f), fs.readFileSync(f));
py.globals.set("names", files.map((f) => path.basename(f)));
console.log(py.runPython(`
import sys, json
sys.path.insert(0, "/lib")
import wetron
out = {"python": sys.version.split()[0]}
for name in names:
    m = wetron.open("/models/" + name)
    values = {}
    for t in m.tensors:
        try:
            values[t.name] = m.tensor_values(t.index, 50)["values"]
        except wetron.ModelError as e:
            values[t.name] = str(e)
    out[name] = {"doc": json.loads(m.dumps()), "values": values}
json.dumps(out)
`));
"""


def _cpython(path):
    m = wetron.open(path)
    values = {}
    for t in m.tensors:
        try:
            values[t.name] = m.tensor_values(t.index, 50)["values"]
        except wetron.ModelError as e:
            values[t.name] = str(e)
    return {"doc": json.loads(m.dumps()), "values": values}


@pytest.mark.skipif(not shutil.which("node") or not os.path.isdir(PYODIDE),
                    reason="node or the pyodide npm package is missing")
def test_same_results_in_pyodide(tmp_path):
    paths = list(models.safetensors_files().values()) + list(models.gguf_files().values()) \
        + list(models.torch_files().values())
    script = tmp_path / "run.mjs"
    script.write_text(SCRIPT % {"pyodide": PYODIDE, "package": os.path.join(REPO, "py", "wetron")})
    run = subprocess.run(["node", str(script), json.dumps([str(p) for p in paths])],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.pop("python").startswith("3.1")
    for p in paths:
        expected = _cpython(p)
        expected["doc"]["model"]["file"] = result[p.name]["doc"]["model"]["file"]
        assert result[p.name] == expected, p.name
