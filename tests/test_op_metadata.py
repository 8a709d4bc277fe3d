"""Op metadata (wetron.ops.metadata, tools/gen_op_metadata.py): the committed files are
what the generator writes from the frameworks of the test setup, their facts are the
frameworks' own (onnx.defs' slot names and since-versions, the LiteRT schema's builtin
operators, TensorFlow's OpDefs), every category is one the page's palette has, and the
graph document carries the table for the ops a real model holds."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import models
import wetron
from conftest import PY
from wetron.ops import metadata

REPO = os.path.dirname(PY)
GENERATOR = os.path.join(REPO, "tools", "gen_op_metadata.py")
FRAMEWORKS = ("onnx", "onnxruntime", "tensorflow", "keras", "ai_edge_litert")


def page_categories():
    with open(os.path.join(REPO, "app", "graph-view.js")) as f:
        text = f.read()
    listing = re.search(r"export const CATEGORIES = \[(.*?)\];", text, re.S).group(1)
    return tuple(re.findall(r"'([a-z]+)'", listing))


def test_every_category_is_one_of_the_pages_palette():
    assert metadata.CATEGORIES == page_categories()
    seen = set()
    for domain in metadata.DOMAINS:
        for op, entry in metadata.table(domain)["ops"].items():
            cat = entry.get("category", "other")
            assert cat in metadata.CATEGORIES, (domain, op, cat)
            seen.add(cat)
    assert seen == set(metadata.CATEGORIES)   # every colour is used by some op


def test_generated_files_are_up_to_date():
    missing = [m for m in FRAMEWORKS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the generator needs {', '.join(missing)} (requirements-test.txt)")
    run = subprocess.run([sys.executable, GENERATOR, "--check"], capture_output=True, text=True,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert run.returncode == 0, f"regenerate with python tools/gen_op_metadata.py:\n{run.stdout}"


def test_onnx_facts_are_onnx_defs():
    import onnx.defs
    for s in onnx.defs.get_all_schemas_with_history():
        domain = s.domain or "ai.onnx"
        if s.deprecated or domain not in metadata.DOMAINS:
            continue
        d = metadata.describe(domain, s.name, s.since_version)
        variadic = lambda p: p.name + ("..." if p.option == p.option.Variadic else "")  # noqa: E731
        assert d["since"] == s.since_version, (s.name, s.since_version)
        assert d["inputs"] == [variadic(p) for p in s.inputs], s.name
        assert d["outputs"] == [variadic(p) for p in s.outputs], s.name
    assert metadata.describe("", "Conv", 17) == {
        "name": "Conv", "category": "conv", "inputs": ["X", "W", "B"], "outputs": ["Y"], "since": 11}
    assert metadata.describe("ai.onnx", "Gelu", 17) is None   # Gelu came in opset 20
    assert metadata.describe("ai.onnx", "NoSuchOp") is None
    assert metadata.describe("../../etc", "passwd") is None


def test_tflite_ops_are_the_schemas_builtin_operators():
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    builtins = {k for k, v in vars(schema.BuiltinOperator).items()
                if not k.startswith("_") and isinstance(v, int)}
    ops = metadata.table("tflite")["ops"]
    assert set(ops) == builtins - {"CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES"}
    conv = metadata.describe("tflite", "CONV_2D")
    assert conv == {"name": "Conv2D", "category": "conv", "inputs": ["input", "filter", "bias"],
                    "outputs": ["output"]}
    assert metadata.describe("tflite", "DEPTHWISE_CONV_2D")["name"] == "DepthwiseConv2D"
    assert metadata.describe("tflite", "FULLY_CONNECTED")["name"] == "FullyConnected"


def test_tf_slots_are_the_op_registrys():
    pytest.importorskip("tensorflow")
    from tensorflow.python.framework import op_def_registry
    for name in ("Conv2D", "ConcatV2", "MatMul", "FusedBatchNormV3", "Placeholder"):
        op = op_def_registry.get(name)
        d = metadata.describe("tf", name)
        slot = lambda a: a.name + ("..." if a.number_attr or a.type_list_attr else "")  # noqa: E731
        assert d["inputs"] == [slot(a) for a in op.input_arg]
        assert d["outputs"] == [slot(a) for a in op.output_arg]
    assert metadata.describe("tf", "ConcatV2")["inputs"] == ["values...", "axis"]


def test_docs_files_hold_every_compact_op():
    """opdocs/<domain>.json (the page's, fetched on demand) has every op and version of
    the compact file, and is not in the Python package."""
    documented = [d for d in metadata.DOMAINS if metadata.table(d).get("docs")]
    assert {"ai.onnx", "com.microsoft", "tflite", "keras", "tf"} <= set(documented)
    for domain in documented:
        assert metadata.table(domain)["docs"] == f"opdocs/{domain}.json"
        with open(os.path.join(REPO, "opdocs", f"{domain}.json"), encoding="utf-8") as f:
            docs = json.load(f)["ops"]
        for op, entry in metadata.table(domain)["ops"].items():
            assert [v[0] for v in entry["versions"]] == [v["since"] for v in docs[op]], (domain, op)
    assert not os.path.exists(os.path.join(PY, "wetron", "opdocs"))


def test_document_lists_the_operators_of_a_real_model():
    path = models.torch_cnn()
    model = wetron.open(path)
    doc = model.to_dict(detail=False)
    opset = dict(model.imports)[""]
    ops = {f"{n.domain}:{n.op}" for g in model.graphs for n in g.nodes}
    assert set(doc["operators"]) == ops
    conv = doc["operators"][":Conv"]
    assert conv == {"domain": "ai.onnx", "opset": opset, **metadata.describe("ai.onnx", "Conv", opset)}
    assert conv["inputs"] == ["X", "W", "B"]
