"""Op metadata (wetron.ops.metadata, tools/gen_op_metadata.py): the committed files are
what the generator writes from the frameworks of the test setup, their facts are the
frameworks' own (onnx.defs' slot names and since-versions, the LiteRT schema's builtin
operators, TensorFlow's OpDefs, torch's dispatcher schemas and the arguments
torch.export.load gives a real program's nodes, torch.nn's classes, caffe.proto as protoc
compiles it, the inputs MXNet lists for a real symbol's nodes, OpenVINO's op versions of
a real IR), every category is one the page's palette has, and the graph document carries
the table for the ops a real model holds: a real Caffe, MXNet, OpenVINO, TorchScript,
ExportedProgram and state-dict model's convolution is "conv", its ReLU "activation"."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import formats_caffe_models
import formats_mxnet_models
import formats_openvino_models
import formats_weights_models
import models
import op_metadata_oracles
import wetron
from conftest import PY
from wetron import weights
from wetron.ops import metadata

REPO = os.path.dirname(PY)
GENERATOR = os.path.join(REPO, "tools", "gen_op_metadata.py")
FRAMEWORKS = ("onnx", "onnxruntime", "tensorflow", "keras", "ai_edge_litert", "torch")


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
    assert {"ai.onnx", "com.microsoft", "tflite", "keras", "tf", "aten", "prims", "torch.nn",
            "wetron", "caffe", "mxnet", "openvino"} <= set(documented)
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


def _generator():
    spec = importlib.util.spec_from_file_location("gen_op_metadata", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_skips_a_generator_whose_framework_is_missing(monkeypatch, capsys):
    """--check compares what it can: a framework that does not import, or a venv that
    cannot be made, skips its domains rather than failing."""
    gen = _generator()
    framework_venvs = gen.tests_module("framework_venvs")

    def unavailable(name, pins):
        raise framework_venvs.VenvUnavailable(f"{name}: pip install failed: no registry")
    monkeypatch.setattr(framework_venvs, "venv_python", unavailable)
    monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` raises ImportError
    assert gen.main(["--check", "mxnet", "openvino", "torch", "caffe", "wetron"]) == 0
    err = capsys.readouterr().err
    for key in ("mxnet", "openvino", "torch"):
        assert f"{key}: skipped" in err
    assert "caffe: skipped" not in err and "wetron: skipped" not in err


# --- PyTorch ---------------------------------------------------------------------------

def test_aten_ops_are_the_dispatchers():
    torch = pytest.importorskip("torch")
    # in a fresh interpreter, as the generator runs: what else a test process imported
    # (torch._inductor, torch.export) registers more ops
    out = subprocess.run([sys.executable, "-c", "import json, torch; print(json.dumps("
                          "torch._C._dispatch_get_all_op_names()))"],
                         capture_output=True, text=True, check=True)
    dispatched = set(json.loads(out.stdout.strip().splitlines()[-1]))
    for ns in ("aten", "prims"):
        names = {n.split("::", 1)[1].split(".", 1)[0]
                 for n in dispatched if n.startswith(ns + "::")}
        assert set(metadata.table(ns)["ops"]) == names, ns
    assert metadata.describe("aten", "conv2d")["category"] == "conv"
    assert metadata.describe("aten", "linear")["inputs"] == ["input", "weight", "bias"]
    assert metadata.describe("aten", "cat")["inputs"] == ["tensors..."]
    # an absent optional weight would move running_mean into its place: names stop before it
    assert metadata.describe("aten", "batch_norm")["inputs"] == ["input"]
    assert metadata.describe("aten", "relu_")["category"] == "activation"   # in-place form
    with open(os.path.join(REPO, "opdocs", "aten.json"), encoding="utf-8") as f:
        conv = json.load(f)["ops"]["conv2d"][0]
    schemas = [str(s) for s in torch._C._jit_get_all_schemas() if s.name == "aten::conv2d"]
    assert all(s in conv["description"] for s in schemas) and len(schemas) == 2
    assert [p["name"] for p in conv["inputs"]] == ["input", "weight", "bias"]
    groups = next(a for a in conv["attributes"] if a["name"] == "groups")
    assert groups["default"] == 1 and groups["type"] == "SymInt"


def _export_with_absent_weights(path):
    import torch
    nn = torch.nn
    m = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4, affine=False),
                      nn.LayerNorm([4, 4], bias=False), nn.ReLU()).eval()
    torch.export.save(torch.export.export(m, (torch.randn(1, 3, 6, 6),)), str(path))


def _tensor_arguments(node):
    """The names of the arguments torch passes a graph value for, in the serializer's order
    (schema order; a list argument once per element)."""
    import torch
    schema = node.target._schema
    names = []
    for i, arg in enumerate(schema.arguments):
        value = node.args[i] if i < len(node.args) else node.kwargs.get(arg.name)
        if isinstance(value, torch.fx.Node):
            names.append(arg.name)
        elif isinstance(value, (list, tuple)) and any(isinstance(v, torch.fx.Node) for v in value):
            names += [arg.name + "..."] * len(value)
    return names


@pytest.mark.parametrize("which", ["cnn_export", "bert_export", "absent_weights"])
def test_aten_slots_name_what_torch_passes(which):
    """Each slot name the metadata gives a real ExportedProgram's node input is the
    argument torch.export.load says that input is (oracle: the loaded program's nodes
    against their schemas); a None weight (affine=False) does not shift the names."""
    torch = pytest.importorskip("torch")
    if which == "absent_weights":
        path = formats_weights_models._cached("pytorch", "absent_weights.pt2",
                                              _export_with_absent_weights)
    else:
        path = formats_weights_models.torch_files()[which]
    calls = [n for n in torch.export.load(str(path)).graph.nodes if n.op == "call_function"]
    g = wetron.open(path).graphs[0]
    named = 0
    for node, call in zip(g.nodes, calls, strict=True):
        truth = _tensor_arguments(call)
        assert len(node.inputs) == len(truth), node.name
        slots = metadata.describe(node.domain, node.op)["inputs"]
        fixed = slots[:next((i for i, s in enumerate(slots) if s.endswith("...")), len(slots))]
        for i, name in enumerate(fixed[:len(truth)]):
            assert name == truth[i], (node.name, i)
            named += 1
    assert named >= len(calls)


def test_torch_nn_holds_torch_nn_modules_classes_and_every_guess():
    torch = pytest.importorskip("torch")
    import torch.nn.modules as modules
    classes = {n for n in modules.__all__ if isinstance(getattr(modules, n), type)
               and issubclass(getattr(modules, n), torch.nn.Module)}
    ops = metadata.table("torch.nn")["ops"]
    assert classes <= set(ops)
    assert metadata.describe("torch.nn", "Conv2d")["category"] == "conv"
    assert metadata.describe("torch.nn", "ReLU")["category"] == "activation"
    assert set(metadata.table("wetron")["ops"]) >= weights.WETRON_KINDS | {"Constant"}
    # every module of real weights-only files and pickled modules: a torch.nn class or
    # one of Wetron's kinds, each with its metadata
    files = [*formats_weights_models.torch_files().values(),
             *formats_weights_models.safetensors_files().values(),
             *formats_weights_models.gguf_files().values()]
    seen = set()
    for path in files:
        m = wetron.open(path)
        if m.format == "PyTorch ExportedProgram":
            continue
        for n in m.graphs[0].nodes:
            if n.domain in ("torch.nn", "wetron"):
                assert metadata.describe(n.domain, n.op) is not None, (path, n.op)
                assert n.domain == "wetron" or n.op in ops
                seen.add((n.domain, n.op))
            else:   # a model's own class, named by the file
                assert n.domain == "" and m.format in ("PyTorch", "TorchScript"), (path, n.op)
    assert {("torch.nn", "Linear"), ("torch.nn", "Conv2d"), ("wetron", "BatchNorm"),
            ("torch.nn", "MultiheadAttention"), ("torch.nn", "Embedding")} <= seen


# --- Caffe, MXNet, OpenVINO -----------------------------------------------------------

def test_caffe_layer_types_are_caffe_protos():
    """Oracle: caffe.proto compiled by protoc: every LayerParameter *_param message names
    a layer type whose documented parameters are that message's fields with its defaults;
    every V1 LayerType is a type."""
    proto = op_metadata_oracles.caffe_proto()
    from wetron.formats.caffe import V1_TYPES
    ops = metadata.table("caffe")["ops"]
    with open(os.path.join(REPO, "opdocs", "caffe.json"), encoding="utf-8") as f:
        docs = json.load(f)["ops"]
    shared = {"TransformationParameter", "LossParameter", "RecurrentParameter"}
    checked = 0
    for field, message in proto["params"].items():
        if message in shared:
            continue
        op = message[:-len("Parameter")]
        attrs = {a["name"]: a for a in docs[op][0]["attributes"]}
        for name, default in proto["messages"][message]:
            assert name in attrs, (op, name)
            if default is None:
                assert "default" not in attrs[name], (op, name)
            elif isinstance(default, float):
                assert attrs[name]["default"] == pytest.approx(default, rel=1e-6), (op, name)
            else:
                assert attrs[name]["default"] == default, (op, name)
            checked += 1
    assert {V1_TYPES[v] for v in proto["v1_types"] if V1_TYPES[v]} <= set(ops)
    assert checked > 100


def test_mxnet_slots_are_the_inputs_mxnet_lists():
    """Oracle: MXNet's own input names for each op node of real symbols, computed for
    that node's parameters (mx.sym.<op>(**attrs).list_inputs())."""
    files = formats_mxnet_models.mxnet_files()
    symbols = [files[k]["symbol"] for k in ("small", "resnet18_v1")]
    named = 0
    for path, nodes in op_metadata_oracles.mxnet_inputs(symbols).items():
        g = wetron.open(path).graphs[0]
        assert [(n.op, n.name) for n in g.nodes] == [(op, name) for op, name, _ in nodes]
        for n, (_, _, truth) in zip(g.nodes, nodes):
            assert len(n.inputs) == len(truth), n.name
            for i, slot in enumerate(metadata.describe("mxnet", n.op)["inputs"][:len(truth)]):
                if not slot.endswith("..."):   # a list: MXNet names its items arg0, arg1 ...
                    assert slot == truth[i], (n.name, i)
                    named += 1
    assert named > 50


def test_openvino_ops_are_known_at_their_layers_opset():
    """Every op of real IRs has metadata at the opset its layer names, documented as the
    type OpenVINO itself reads it as (oracle: Core().read_model's type names: ReLU is
    OpenVINO's Relu)."""
    irs, _ = formats_openvino_models.ir_models()
    with open(os.path.join(REPO, "opdocs", "openvino.json"), encoding="utf-8") as f:
        docs = json.load(f)["ops"]
    for path in irs.values():
        with open(path[:-4] + ".oracle.json", encoding="utf-8") as f:
            read = {op["name"]: op["type"] for op in json.load(f)["ops"]}
        doc = wetron.open(path).to_dict(detail=False)
        for n in wetron.open(path).graphs[0].nodes:
            version = dict(n.metadata)["version"]
            facts = metadata.describe("openvino", n.op, int(version[len("opset"):]))
            assert facts is not None, (n.op, version)
            entry = next(d for d in docs[n.op] if d["since"] == facts["since"])
            assert f"OpenVINO's {read[n.name]}" in entry["description"], n.name
            assert doc["operators"][f"openvino:{n.op}"]["since"] == facts["since"]
    assert metadata.describe("openvino", "Interpolate", 4)["inputs"] == \
        ["image", "output_shape", "scales", "axes"]
    assert metadata.describe("openvino", "Interpolate", 11)["inputs"] == \
        ["image", "scales_or_sizes", "axes"]


def _real_models():
    caffe = formats_caffe_models.caffe_files()["lenet"]
    mxnet = formats_mxnet_models.mxnet_files()["small"]
    torch_files = formats_weights_models.torch_files()
    return {
        "caffe": (caffe["prototxt"], "Convolution", "ReLU"),
        "mxnet": (mxnet["symbol"], "Convolution", "Activation"),
        "openvino": (formats_openvino_models.ir_models()[0]["cnn"], "Convolution", "ReLU"),
        "torchscript": (torch_files["cnn_script"], "Conv2d", "ReLU"),
        "exported_program": (torch_files["cnn_export"], "conv2d", "relu"),
        "state_dict": (torch_files["cnn_sd"], "Conv2d", None),
    }


REAL_MODELS = ("caffe", "mxnet", "openvino", "torchscript", "exported_program", "state_dict")


@pytest.mark.parametrize("which", REAL_MODELS)
def test_real_models_convolution_and_relu_categories(which):
    path, conv, relu = _real_models()[which]
    m = wetron.open(path)   # companions (.caffemodel, .params, .bin) found beside it
    ops = m.to_dict(detail=False)["operators"]
    by_op = {key.split(":", 1)[1]: entry for key, entry in ops.items()}
    assert by_op[conv]["category"] == "conv"
    if relu:
        assert by_op[relu]["category"] == "activation"
        if which == "mxnet":   # the Activation of act_type relu
            acts = [n for n in m.graphs[0].nodes if n.op == "Activation"]
            assert {a.value for n in acts for a in n.attributes if a.name == "act_type"} == {"relu"}
    unknown = [key for key, entry in ops.items() if "category" not in entry]
    assert not unknown   # every op of these models has metadata
