// Run wetron inside real Pyodide under Node, through the page's own entry points
// (wetron.web.open_file / tensor_values), on host files read range by range.
//
//   node tests/pyodide/run.mjs JOB.json OUT.json [--wheel path/to/wetron.whl]
//
// JOB: {"models": [{"key", "path", "companions": {name: path}, "tensors": [index...],
//        "limit": n}]}
// OUT: {"python", "packages", "foreign", "numpy", "results": {key: {"doc": text,
//        "tensors": [text...]}}}; texts are exactly what the page would receive. A Python
//        exception that is not a ModelError is recorded as {"exception": last line}.
// Nothing is installed besides wetron: "packages" lists what Pyodide loaded, "foreign"
// any imported module from outside the standard library and wetron.
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
import { bootPyodide, fileReader, foreignModules } from "./pyodide-env.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const wheelAt = args.indexOf("--wheel");
const wheel = wheelAt >= 0 ? args.splice(wheelAt, 2)[1] : null;
const [jobFile, outFile] = args;
const job = JSON.parse(fs.readFileSync(jobFile, "utf8"));

const py = await bootPyodide(REPO, { wheel });
const web = py.pyimport("wetron.web");

function lastLine(error) {
  const lines = String(error && error.message || error).trim().split("\n");
  return lines[lines.length - 1].trim();
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    return JSON.stringify({ exception: lastLine(e) });
  }
}

const results = {};
for (const m of job.models) {
  const reader = fileReader(m.path);
  const companions = new Map();
  for (const [name, p] of Object.entries(m.companions || {})) companions.set(name, fileReader(p));
  const doc = call(() => web.open_file(reader, path.basename(m.path), companions));
  const tensors = (m.tensors || []).map((i) => call(() => web.tensor_values(i, m.limit ?? 1000)));
  results[m.key] = { doc, tensors };
  reader.close();
  for (const r of companions.values()) r.close();
}

const out = {
  python: py.runPython("import sys; sys.version.split()[0]"),
  packages: Object.keys(py.loadedPackages),
  foreign: JSON.parse(foreignModules(py)),
  numpy: py.runPython("import importlib.util; importlib.util.find_spec('numpy') is not None"),
  results,
};
fs.writeFileSync(outFile, JSON.stringify(out));
