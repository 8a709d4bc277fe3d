"""Symbolic sizes (py/wetron/sizes.py, cost.sized_cost): on real torch exports with
symbolic batch, height and width (tests/shape_models.py), the cost at sizes set equals
the cost of the same network exported at those static sizes; without them, what depends
on them is not counted and listed; dims written as sympy expressions by ONNX Runtime's
symbolic shape inference evaluate to the shapes onnxruntime computes; the CLI's --size.
"""
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

import shape_models
import wetron
from wetron import cost, sizes, symbolic, web
from wetron.errors import ModelError

DETECTOR = shape_models.STATIC_DETECTOR
CNN = shape_models.STATIC_CNN


def _by_op(summary, key="macs"):
    return {r["op"]: r[key] for r in summary["by_op"] if r[key]}


@pytest.mark.parametrize("dynamic, static, at", [
    (lambda: shape_models.detector("detector"), lambda: shape_models.detector("detector_static"), DETECTOR),
    (lambda: shape_models.detector("detector_sym"), lambda: shape_models.detector("detector_static"), DETECTOR),
    (shape_models.cnn_dynamic_hw, shape_models.cnn_static, CNN),
], ids=["detector", "detector_sym", "cnn"])
def test_sizes_set_cost_the_static_export(dynamic, static, at):
    """Set to the sizes the static twin was exported at, the dynamic export costs the
    same MACs and FLOPs, op type by op type, and every node is counted."""
    dyn, fixed = wetron.open(dynamic()), wetron.open(static())
    got, want = cost.summary(dyn, dict(at)), cost.summary(fixed)
    assert want["total"]["unknown"] == 0 and want["total"]["macs"] > 0
    assert got["total"]["macs"] == want["total"]["macs"]
    assert got["total"]["flops"] == want["total"]["flops"]
    assert got["total"]["params"] == want["total"]["params"]
    assert _by_op(got) == _by_op(want) and _by_op(got, "flops") == _by_op(want, "flops")
    assert got["total"]["unknown"] == got["total"]["unsized"] == 0 and got["total"]["needs"] == []
    assert got["symbols"] == at and got["sizes"] == {"set": at, "stated": {}}
    # node by node (the static export has fewer shape-computing nodes: same names)
    g, _, c, _, _ = cost.analyse(dyn, dict(at))
    g2, _, c2, _, _ = cost.analyse(fixed)
    static_macs = {n.name: c2.macs[i] for i, n in enumerate(g2.nodes)}
    for i, n in enumerate(g.nodes):
        if n.op in ("Conv", "Gemm", "MatMul", "ConvTranspose"):
            assert c.macs[i] == static_macs[n.name], n.name


def test_unset_sizes_are_not_counted_and_listed():
    model = wetron.open(shape_models.detector("detector_sym"))
    g = model.graphs[0]
    convs = [i for i, n in enumerate(g.nodes) if n.op == "Conv"]
    none = cost.summary(model)
    t = none["total"]
    assert t["macs"] == 0 and t["needs"] == ["batch", "height", "width"]
    assert t["unsized"] == t["unknown"] and t["unsized"] >= len(convs) and t["not_counted"] == {}
    assert none["symbols"] == {"batch": None, "height": None, "width": None}
    c = cost.analyse(model)[2]
    assert all(c.macs[i] is None and c.flops[i] is None for i in convs)
    assert set(convs) <= set(c.wants_sizes)
    # batch alone: still height and width to set, and nothing counted at a guess
    half = cost.analyse(model, {"batch": 2})[2]
    assert half.needs == ["height", "width"] and all(half.macs[i] is None for i in convs)
    # the markdown and CSV reports say so
    md = cost.to_markdown(model, {"batch": 2})
    assert f"Set sizes: height, width to count {len(half.wants_sizes)} more nodes" in md
    assert "Sizes: batch = 2." in md
    rows = cost.to_csv(model, {"batch": 2}).splitlines()
    assert rows[0].endswith(",not_counted")
    assert sum(r.endswith('"needs sizes: height, width"') for r in rows) == len(half.wants_sizes)


def test_not_counted_ops_by_type():
    """Nodes no size would count (an op without a cost rule) are listed by op type, apart
    from those that want sizes."""
    proto = onnx.load(shape_models.detector("detector"))
    for node in proto.graph.node:
        if node.op_type == "MaxPool":
            node.domain = "example.custom"   # an op Wetron has no rule for
    proto.opset_import.add(domain="example.custom", version=1)
    model = wetron.open(wetron.BytesSource(proto.SerializeToString(), "custom.onnx"))
    t = cost.summary(model, dict(DETECTOR))["total"]
    assert t["not_counted"] == {"MaxPool": 3} and t["unsized"] == 0
    assert cost.not_counted_text(t["not_counted"]) == "3 ops of 1 type (MaxPool x3)"
    assert cost.not_counted_text({"NonMaxSuppression": 2, "TopK": 1}) == \
        "3 ops of 2 types (NonMaxSuppression x2, TopK)"
    assert "Not counted: 3 ops of 1 type (MaxPool x3)." in cost.to_markdown(model, dict(DETECTOR))


def test_expressions_evaluate_to_onnxruntime_shapes():
    """ONNX Runtime's symbolic shape inference writes inner shapes as expressions
    ("floor(floor(height/2 - 1/2)/2 + 1/2)"): their symbols are the input's, and at the
    sizes they evaluate to the shapes onnxruntime computes running the model."""
    ort = pytest.importorskip("onnxruntime")
    path = shape_models.detector("detector_sym")
    proto = onnx.load(path)
    declared = {vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
                for vi in proto.graph.value_info}
    expressions = {d for dims in declared.values() for d in dims if isinstance(d, str) and "floor" in d}
    assert len(expressions) >= 4   # the file has the nested floors this is about
    for d in expressions:
        assert set(symbolic.symbols(d)) <= {"batch", "height", "width"} and symbolic.symbols(d), d
        assert symbolic.evaluate(d, {}) is None   # unbound: no value, never 1
    names = [n for n in declared if declared[n]]
    for n in names:
        proto.graph.output.append(onnx.ValueInfoProto(name=n))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.zeros((DETECTOR["batch"], 3, DETECTOR["height"], DETECTOR["width"]), np.float32)
    actual = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": x})))
    checked = 0
    for n in names:
        for d, size in zip(declared[n], actual[n].shape):
            if isinstance(d, str):
                assert symbolic.evaluate(d, DETECTOR) == size, (n, d)
                checked += 1
    assert checked > 40
    # and the document at those sizes shows the same, as numbers
    model = wetron.open(path)
    doc = json.loads(model.dumps(sizes=dict(DETECTOR)))
    g = doc["graphs"][0]
    for name, t, _ in g["values"]:
        if name in actual and t is not None:
            assert doc["types"][t]["shape"] == list(actual[name].shape), name


def test_expression_parser_is_bounded_and_never_evaluates_code():
    assert symbolic.evaluate("((s0 - 1)//2) + 1", {"s0": 9}) == 5
    assert symbolic.evaluate("Max(1, s0) + Mod(s0, 4)", {"s0": 9}) == 10
    assert symbolic.evaluate("floor(2.0*floor(h/2)) + 2", {"h": 9}) == 10
    assert symbolic.evaluate("h/2", {"h": 9}) is None          # not an integer
    assert symbolic.evaluate("h/(h-9)", {"h": 9}) is None      # division by zero
    deep = "floor(" * 100 + "h" + ")" * 100
    assert symbolic.evaluate(deep, {"h": 3}) is None            # nesting bounded
    assert symbolic.evaluate("1+" * 5000 + "h", {"h": 1}) is None   # length bounded
    assert symbolic.evaluate("9**9**9", {}) is None
    for text in ("__import__('os').system('x')", "open(h)", "h.__class__", "lambda: 1"):
        assert symbolic.evaluate(text, {"h": 1, "open": 1}) is None, text
    # a dim that is no expression is one symbol, bindable by its own name
    assert symbolic.symbols("batch size") == ("batch size",)
    assert symbolic.evaluate("batch size", {"batch size": 4}) == 4


def test_check_and_parse_sizes():
    model = wetron.open(shape_models.detector("detector"))
    assert sizes.model_symbols(model) == ["batch", "height", "width"]
    assert sizes.parse(["batch=1", " height = 64 "], model) == {"batch": 1, "height": 64}
    for bad, message in [(["depth=3"], "unknown size 'depth'"), (["batch=0"], "wants an integer"),
                         (["batch=-1"], "wants an integer"), (["batch=1.5"], "wants an integer"),
                         (["batch=99999999999"], "wants an integer"), (["batch"], "wants NAME=N")]:
        with pytest.raises(ModelError, match=message):
            sizes.parse(bad, model)
    with pytest.raises(ModelError):
        sizes.check({"batch": True}, ["batch"])


def test_bind_leaves_the_graph_and_keeps_declarations_without_sizes():
    model = wetron.open(shape_models.detector("detector_sym"))
    g = model.graphs[0]
    before = dict(g.types)
    assert sizes.bind(g, {}) is g and sizes.bind(g, None) is g
    bound = sizes.bind(g, dict(DETECTOR))
    assert g.types == before and bound.nodes is g.nodes
    assert bound.types["images"][2] == (2, 3, 64, 96)
    # inner declarations are left to inference from the input sizes
    inner = [n for n, t in g.types.items() if n not in g.inputs and t[2] and any(isinstance(d, str) for d in t[2])]
    assert inner and all(all(not isinstance(d, str) for d in bound.types[n][2]) for n in inner)


def test_stated_sizes_from_ultralytics_metadata():
    """Ultralytics' ONNX exports state the size they were exported at ("batch", "imgsz"
    metadata, the image input as batch x 3 x height x width): the figures use it, and
    say it is the model's."""
    proto = onnx.load(shape_models.detector("detector"))
    for key, value in (("batch", "2"), ("imgsz", "[64, 96]"), ("task", "detect")):
        proto.metadata_props.add(key=key, value=value)
    model = wetron.open(wetron.BytesSource(proto.SerializeToString(), "yolo.onnx"))
    assert sizes.stated(model) == DETECTOR
    doc = model.to_dict()
    assert doc["model"]["sizes"]["stated"] == DETECTOR
    assert doc["graphs"][0]["cost"]["symbols"] == DETECTOR
    static = cost.summary(wetron.open(shape_models.detector("detector_static")))
    s = cost.summary(model)
    assert s["total"]["macs"] == static["total"]["macs"] and s["sizes"]["stated"] == DETECTOR
    assert "batch = 2 (stated by the model)" in cost.to_markdown(model)
    # the user's size wins over the model's
    s = cost.summary(model, {"height": 32})
    assert s["symbols"]["height"] == 32 and s["sizes"] == {"set": {"height": 32},
                                                            "stated": {"batch": 2, "width": 96}}
    # metadata that does not fit the input is no statement
    proto.metadata_props[1].value = "[64]"
    model = wetron.open(wetron.BytesSource(proto.SerializeToString(), "yolo.onnx"))
    assert sizes.stated(model) == {}


class _Bytes(bytes):
    def to_bytes(self):   # what a Uint8Array proxy offers in Pyodide
        return bytes(self)


class _Reader:
    """The JS reader wetron.web expects: size and read(offset, length)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.size = len(self.data)

    def read(self, offset, length):
        return _Bytes(self.data[offset:offset + length])


def test_web_current_detail_at_sizes():
    """The page's Apply: the parse worker's detail of the open model at the sizes."""
    path = shape_models.detector("detector_sym")
    text = web.open_file(_Reader(path), "detector_sym.onnx")
    assert not text.startswith('{"error"'), text
    model = wetron.open(path)
    at = json.dumps(DETECTOR)
    assert web.current_detail(at) == model.dumps_detail(dict(DETECTOR))
    detail = json.loads(web.current_detail(at))
    assert detail["graphs"][0]["cost"]["total"]["macs"] == \
        cost.summary(wetron.open(shape_models.detector("detector_static")))["total"]["macs"]
    assert json.loads(web.current_detail(None)) == json.loads(model.dumps_detail())
    assert "unknown size 'depth'" in json.loads(web.current_detail('{"depth": 3}'))["error"]
    assert "wants a JSON object" in json.loads(web.current_detail("[1, 2]"))["error"]
    assert "wants an integer" in json.loads(web.current_detail('{"batch": 0}'))["error"]
    report = json.loads(web.cost_export("markdown", at))["text"]
    assert report == cost.to_markdown(model, dict(DETECTOR))


def test_cli_size(wetron_env):
    path = shape_models.detector("detector_sym")
    run = [sys.executable, "-m", "wetron"]

    def cli(*args):
        return subprocess.run(run + list(args), capture_output=True, text=True, env=wetron_env)
    r = cli("cost", path, "--json", "--size", "batch=2", "--size", "height=64", "--size", "width=96")
    assert r.returncode == 0, r.stderr
    want = cost.summary(wetron.open(shape_models.detector("detector_static")))
    assert json.loads(r.stdout)["total"]["macs"] == want["total"]["macs"]
    r = cli("graph", path, "--size", "batch=2", "--size", "height=64", "--size", "width=96")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["graphs"][0]["cost"]["total"]["macs"] == want["total"]["macs"]
    assert all(isinstance(d, int) for t in doc["types"] if t.get("shape") for d in t["shape"])
    for args, message in [(("cost", path, "--size", "heigth=64"), "unknown size 'heigth'"),
                          (("graph", path, "--size", "height=x"), "wants an integer"),
                          (("cost", path, "--csv", "--size", "height"), "wants NAME=N")]:
        r = cli(*args)
        assert r.returncode == 2 and message in r.stderr and not r.stdout, (args, r.stderr)


def _readability(name):
    import readability_models as rm
    try:
        return getattr(rm, name)()
    except rm.VenvUnavailable as e:
        pytest.skip(f"the {rm.VENV_NAME} venv cannot be created: {e}")


def _models_export(name):
    import models
    return getattr(models, name)()


def _bert():
    import bert_models
    return bert_models.minilm_bert()


@pytest.mark.parametrize("path, complete", [
    (lambda: _models_export("torch_cnn"), True), (lambda: _models_export("torch_transformer"), True),
    (_bert, True), (shape_models.transformer, False),
    (lambda: _readability("torchvision_resnet50"), True), (lambda: _readability("hf_gpt2"), True),
], ids=["torch_cnn", "torch_transformer", "bert", "decoder", "resnet50", "gpt2"])
def test_exact_polynomials_are_the_sized_figures(path, complete):
    """Without sizes, the FLOPs and MACs of the nodes that need them are polynomials of
    the sizes (of every one of them, but in the decoder, whose mask is cut to
    min(sequence,64)); evaluated at two bindings they are exactly what sized_cost counts
    there, node by node, and in total and by op (the summary's) where complete."""
    model = wetron.open(path())
    g, _, c, _, _ = cost.analyse(model)
    t = cost.totals(c)
    assert c.needs and t["unsized"] == len(c.wants_sizes) > 0
    assert set(c.exact["flops"]) == set(c.exact["macs"]) <= set(c.wants_sizes)
    assert (set(c.exact["flops"]) == set(c.wants_sizes)) == complete == ("flops_exact" in t)
    assert any(type(v) is symbolic.Poly for v in c.exact["macs"].values())
    whole = {k: symbolic.Poly.make({tuple(m): v for v, m in t[k + "_exact"]})
             for k in ("flops", "macs") if complete}
    s = cost.summary(model)
    for binding in ({n: 2 for n in c.needs}, {n: 3 + 4 * k for k, n in enumerate(c.needs)}):
        _, _, sized, _, _ = cost.analyse(model, binding)
        at = lambda v: v if type(v) is int else v.value(binding)
        assert not sized.needs and all(sized.flops[i] is not None for i in c.wants_sizes)
        for key in ("flops", "macs"):
            figures = getattr(sized, key)
            for i, v in c.exact[key].items():
                assert at(v) == figures[i], (g.nodes[i].name, key, v, figures[i])
            if complete:
                assert at(whole[key]) == cost.totals(sized)[key] > 0
            by_op = {r["op"]: r[key] for r in cost.summary(model, binding)["by_op"]}
            for r in s["by_op"]:
                if key + "_exact" in r:
                    p = symbolic.Poly.make({tuple(m): v for v, m in r[key + "_exact"]})
                    assert at(p) == by_op[r["op"]], r["op"]
    assert ("·" in cost.figure_text(t, "macs")) == complete != ("needs sizes" in cost.figure_text(t, "macs"))


def test_not_exact_figures_need_sizes():
    """Dims written floor((height-1)/2)+1 (strided convs on a symbolic height) are no
    polynomials: those nodes have no exact figure, and the total says what it needs."""
    model = wetron.open(shape_models.cnn_dynamic_hw())
    g, _, c, _, _ = cost.analyse(model)
    t = cost.totals(c)
    assert c.needs == ["batch", "height", "width"]
    missing = [i for i in c.wants_sizes if i not in c.exact["flops"]]
    assert missing and "flops_exact" not in t and "macs_exact" not in t
    assert cost.figure_text(t, "macs") == f"needs sizes: batch, height, width (counted so far: {t['macs']:,})"
    s = cost.summary(model)
    assert [r["op"] for r in s["by_op"]] == sorted(r["op"] for r in s["by_op"])   # not ranked
    assert all(r["share"] is None for r in s["by_op"])


def test_poly_is_exact_or_refuses():
    p = symbolic.Poly.of_dim("2*batch+1", {}, {"batch"})
    assert (p * 3 - 3).to_json() == [[6, ["batch"]]] and (p - 1) // 2 == symbolic.Poly.of_dim("batch", {}, {"batch"})
    assert symbolic.Poly.of_dim("2*batch+1", {"batch": 5}, set()) == 11
    for bad in (lambda: p // 2, lambda: p < 3, lambda: max(p, 1), lambda: bool(p), lambda: p == 1,
                lambda: p * 0.5, lambda: p / 2, lambda: int(p)):
        with pytest.raises(TypeError):
            bad()
    assert symbolic.Poly.of_dim("min(sequence,512)", {}, {"sequence"}) is None
    assert symbolic.Poly.of_dim("unk__3", {}, {"batch"}) is None
    big = symbolic.Poly.of_dim("batch", {}, {"batch"})
    with pytest.raises(ArithmeticError):
        for _ in range(10):
            big = big * big
