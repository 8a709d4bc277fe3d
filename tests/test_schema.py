"""The graph document against its contract: py/wetron/graph-schema.json (JSON Schema
draft 2020-12, the machine form of docs/graph-schema.md) and the index rules the
schema cannot express (every type, tensor, graph and value index in range, parents
before children, every subgraph hung exactly once)."""
import copy
import importlib
import json
import os

import jsonschema
import pytest

import models
import wetron
from conftest import PY

SCHEMA_PATH = os.path.join(PY, "wetron", "graph-schema.json")


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))]


# --- index rules ------------------------------------------------------------------

ATTR_TARGETS = {"tensor": "tensors", "tensors": "tensors", "sparse_tensor": "tensors",
                "sparse_tensors": "tensors", "graph": "graphs", "graphs": "graphs",
                "type_proto": "types", "type_protos": "types"}


def index_errors(doc):
    """Every index in the document points at something, and the tree is a tree."""
    errors = []
    sizes = {k: len(doc[k]) for k in ("types", "tensors", "graphs")}

    def check(ok, message):
        if not ok:
            errors.append(message)

    def valid(i, kind, allow_none=False):
        if i is None:
            return allow_none
        return isinstance(i, int) and not isinstance(i, bool) and 0 <= i < sizes[kind]

    for i, t in enumerate(doc["types"]):
        for key in ("elem", "value"):
            if key in t and t["kind"] in ("sequence", "optional", "map"):
                # interned bottom-up: an element type comes before the type holding it
                check(valid(t[key], "types") and t[key] < i, f"types[{i}].{key} = {t[key]!r}")
    for i, t in enumerate(doc["tensors"]):
        if "sparse" in t:
            for key in ("values", "indices"):
                j = t["sparse"][key]
                check(valid(j, "tensors") and j != i, f"tensors[{i}].sparse.{key} = {j!r}")

    hung = [0] * sizes["graphs"]        # how often each graph is referenced
    for gi, g in enumerate(doc["graphs"]):
        where = f"graphs[{gi}]"
        nv = len(g["values"])
        names = [v[0] for v in g["values"]]
        check(len(set(names)) == len(names), f"{where}.values: duplicate names")
        for k, (name, type_index, tensor) in enumerate(g["values"]):
            check(valid(type_index, "types", True), f"{where}.values[{k}] type {type_index!r}")
            check(valid(tensor, "tensors", True), f"{where}.values[{k}] tensor {tensor!r}")
        for key in ("inputs", "outputs", "initializers", "inferred"):
            for i in g.get(key, []):
                check(0 <= i < nv, f"{where}.{key}: value {i} of {nv}")
        for i in g["initializers"]:
            if 0 <= i < nv:
                check(g["values"][i][2] is not None, f"{where}.initializers: value {i} "
                      "has no tensor")
        for n, node in enumerate(g["nodes"]):
            for key in ("in", "out"):
                for i in node[key]:
                    check(i == -1 or 0 <= i < nv, f"{where}.nodes[{n}].{key}: value {i} of {nv}")
            for a in node["attrs"]:
                kind = ATTR_TARGETS.get(a["type"])
                if kind is None or "value" not in a:
                    continue
                targets = a["value"] if isinstance(a["value"], list) else [a["value"]]
                for t in targets:
                    check(valid(t, kind), f"{where}.nodes[{n}].attrs[{a['name']!r}]: "
                          f"{kind} {t!r}")
                    if kind == "graphs" and valid(t, "graphs"):
                        hung[t] += 1
                        sub = doc["graphs"][t]
                        check(sub["parent"] == [gi, n, a["name"]],
                              f"graphs[{t}].parent = {sub['parent']!r}, hangs at "
                              f"{[gi, n, a['name']]}")
        parent = g["parent"]
        if parent is not None:
            pg, pn, attr = parent
            check(valid(pg, "graphs") and pg != gi and 0 <= pn < len(doc["graphs"][pg]["nodes"])
                  if valid(pg, "graphs") else False, f"{where}.parent = {parent!r}")
        groups = g.get("groups")
        if groups is not None:
            ng = len(groups)
            for k, grp in enumerate(groups):
                check(-1 <= grp["parent"] < k, f"{where}.groups[{k}].parent = {grp['parent']} "
                      "(parents precede children)")
            check(len(g["node_group"]) == len(g["nodes"]),
                  f"{where}.node_group has {len(g['node_group'])} entries for "
                  f"{len(g['nodes'])} nodes")
            counts = [0] * ng
            for n, k in enumerate(g["node_group"]):
                check(-1 <= k < ng, f"{where}.node_group[{n}] = {k}")
                seen = 0
                while 0 <= k < ng and seen <= ng:
                    counts[k] += 1
                    k = groups[k]["parent"]
                    seen += 1
            for k, grp in enumerate(groups):
                check(counts[k] == grp["nodes"], f"{where}.groups[{k}].nodes = {grp['nodes']}, "
                      f"{counts[k]} nodes are inside it")
        cost = g.get("cost")
        if cost is not None:
            for key, figures in cost["nodes"].items():
                check(len(figures) == len(g["nodes"]), f"{where}.cost.nodes.{key}: "
                      f"{len(figures)} entries for {len(g['nodes'])} nodes")
            if "groups" in cost:
                for key, figures in cost["groups"].items():
                    check(len(figures) == len(groups or []), f"{where}.cost.groups.{key}: "
                          f"{len(figures)} entries for {len(groups or [])} groups")
    for k, f in enumerate(doc["functions"]):
        check(valid(f["graph"], "graphs"), f"functions[{k}].graph = {f['graph']!r}")
        if valid(f["graph"], "graphs"):
            hung[f["graph"]] += 1
    for k, t in enumerate(doc["training"]):
        for key in ("initialization", "algorithm"):
            check(valid(t[key], "graphs", True), f"training[{k}].{key} = {t[key]!r}")
            if valid(t[key], "graphs"):
                hung[t[key]] += 1
    for k, gi in enumerate(doc.get("whole_graphs", [])):
        check(valid(gi, "graphs") and gi > 0 and doc["graphs"][gi]["parent"] is None,
              f"whole_graphs[{k}] = {gi!r}")
        if valid(gi, "graphs"):
            hung[gi] += 1
    check(doc["graphs"][0]["parent"] is None and hung[0] == 0, "graphs[0] is not the main graph")
    for gi in range(1, sizes["graphs"]):
        check(hung[gi] == 1, f"graphs[{gi}] is referenced {hung[gi]} times")
    return errors


def check_document(validator, path):
    model = wetron.open(path)
    doc = json.loads(wetron.dumps(model))     # what crosses to the page
    problems = schema_errors(validator, doc) + index_errors(doc)
    assert not problems, f"{path}:\n" + "\n".join(problems[:20])
    return doc


# --- the models ---------------------------------------------------------------------

def onnx_models():
    backend = models.backend_node_models()
    # all models with subgraphs, functions or shipped data, and every 4th of the rest
    picked = [(n, p) for k, (n, p) in enumerate(backend)
              if n.startswith("data/") or k % 4 == 0 or any(
                  w in n for w in ("loop", "if", "scan", "sequence", "optional", "expanded"))]
    return picked + models.feature_models() + [
        ("torch_cnn", models.torch_cnn()), ("torch_transformer", models.torch_transformer()),
        ("torch_transformer_external", models.torch_transformer_external())]


ONNX = onnx_models()


@pytest.mark.parametrize("path", [p for _, p in ONNX], ids=[n for n, _ in ONNX])
def test_onnx_document_matches_schema(validator, path):
    check_document(validator, path)


def other_format_files(kind):
    """Files of the other formats, from their own test-model modules (generated and
    cached by them); skipped where their framework is not installed."""
    if kind in ("safetensors", "gguf", "pytorch"):
        mod = importlib.import_module("formats_weights_models")
        files = {"safetensors": mod.safetensors_files, "gguf": mod.gguf_files,
                 "pytorch": mod.torch_files}[kind]()
        return list(files.values()) if isinstance(files, dict) else list(files)
    if kind == "keras":
        mod = importlib.import_module("formats_keras_models")
        folder = mod.keras_dir()
        return [os.path.join(folder, f) for f in mod.keras_files()]
    if kind == "hdf5":
        mod = importlib.import_module("formats_keras_models")
        return [os.path.join(mod.h5py_dir(), f) for f in mod.H5PY_FILES]
    mod = importlib.import_module("formats_tensorflow_models")
    files = mod.tflite_files() if kind == "tflite" else mod.tensorflow_files()
    return list(files.values())


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", ["safetensors", "gguf", "pytorch", "keras", "hdf5", "tflite",
                                  "tensorflow"])
def test_other_format_documents_match_schema(validator, kind):
    files = other_format_files(kind)
    assert files
    for path in files:
        check_document(validator, path)


# --- the schema is not vacuous --------------------------------------------------------

def _first_node(doc):
    return next(n for g in doc["graphs"] for n in g["nodes"] if n["attrs"])


BREAKAGES = {
    "unknown top-level key": lambda d: d.update(extra=1),
    "wrong schema name": lambda d: d.update(schema="other"),
    "model key missing": lambda d: d["model"].pop("parameters"),
    "unknown model key": lambda d: d["model"].update(flops=1),
    "bad dtype": lambda d: d["tensors"][0].update(dtype="flaot32"),
    "negative dim in tensor": lambda d: d["tensors"][0].update(shape=[-1]),
    "tensor location": lambda d: d["tensors"][0].update(location="cloud"),
    "type kind": lambda d: d["types"][0].update(kind="matrix"),
    "value triple too long": lambda d: d["graphs"][0]["values"][0].append(None),
    "node index below -1": lambda d: d["graphs"][0]["nodes"][0]["in"].append(-2),
    "attribute type": lambda d: _first_node(d)["attrs"][0].update(type="complex"),
    "attribute with value and ref": lambda d: _first_node(d)["attrs"][0].update(ref="x"),
    "int attribute as float": lambda d: next(
        a for n in d["graphs"][0]["nodes"] for a in n["attrs"] if a["type"] == "int"
    ).update(value=1.5),
    "NaN as a number": lambda d: next(
        a for n in d["graphs"][0]["nodes"] for a in n["attrs"] if a["type"] == "float"
    ).update(value="nan"),
    "unknown node key": lambda d: d["graphs"][0]["nodes"][0].update(color="red"),
    "repeat count 1": lambda d: d["graphs"][0].update(
        groups=[{"name": "a", "path": "a", "parent": -1, "nodes": 0,
                 "repeat": {"of": "a#", "index": 0, "count": 1}}],
        node_group=[-1] * len(d["graphs"][0]["nodes"])),
}

INDEX_BREAKAGES = {
    "type index out of range": lambda d: d["graphs"][0]["values"][0].__setitem__(1, 10_000),
    "tensor index out of range": lambda d: d["graphs"][0]["values"][0].__setitem__(2, 10_000),
    "value index out of range": lambda d: d["graphs"][0]["inputs"].append(10_000),
    "graph attribute out of range": lambda d: next(
        a for n in d["graphs"][0]["nodes"] for a in n["attrs"] if a["type"] == "graph"
    ).update(value=10_000),
    "subgraph hung twice": lambda d: d["functions"][0].update(graph=1),
    "group parent after child": lambda d: d["graphs"][0].update(
        groups=[{"name": "a", "path": "a", "parent": 1, "nodes": 0},
                {"name": "b", "path": "b", "parent": -1, "nodes": 0}],
        node_group=[-1] * len(d["graphs"][0]["nodes"])),
    "group node count": lambda d: d["graphs"][0].update(
        groups=[{"name": "a", "path": "a", "parent": -1, "nodes": 5}],
        node_group=[-1] * len(d["graphs"][0]["nodes"])),
    "type cycle": lambda d: d["types"].append({"kind": "sequence", "elem": len(d["types"])}),
}


@pytest.fixture(scope="module")
def structure_doc():
    return json.loads(wetron.dumps(wetron.open(dict(models.feature_models())["structure"])))


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_schema_rejects(validator, structure_doc, name):
    doc = copy.deepcopy(structure_doc)
    for k in list(doc["graphs"][0]["nodes"]):   # keep only documented keys
        for key in set(k) - {"op", "domain", "name", "in", "out", "attrs", "doc", "overload",
                             "metadata"}:
            k.pop(key)
        for a in k["attrs"]:
            a.pop("doc", None)
    assert not any(e.startswith("graphs/0/nodes") for e in schema_errors(validator, doc))
    BREAKAGES[name](doc)
    assert schema_errors(validator, doc)


@pytest.mark.parametrize("name", list(INDEX_BREAKAGES))
def test_index_rules_reject(structure_doc, name):
    doc = copy.deepcopy(structure_doc)
    assert not index_errors(doc)
    INDEX_BREAKAGES[name](doc)
    assert index_errors(doc)
