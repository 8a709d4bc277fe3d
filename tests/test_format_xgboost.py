"""XGBoost: JSON and UBJSON models saved by XGBoost itself (tests/formats_trees_models.py),
checked against XGBoost's own view of them (trees_to_dataframe: the trees, their nodes
and leaves, the root splits; feature names; a categorical split's categories against
the leaves predict(pred_leaf=True) reaches); other formats' JSON left alone; hostile
documents; a bounded fuzz."""
import collections
import json
import struct

import pytest

import formats_trees_models
import test_fuzz
import wetron
from wetron import formats, shapes, trees
from wetron.formats import xgboost

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def files():
    return formats_trees_models.tree_files()


def attrs(node):
    return {a.name: a.value for a in node.attributes}


def tree_modules(sub):
    """module name ("tree 3", "class 1/tree 4") -> its nodes, in tree order."""
    out = collections.OrderedDict()
    for n in sub.nodes:
        out.setdefault(n.name.rsplit("/", 1)[0], []).append(n)
    return out


@pytest.mark.parametrize("name", ["xgb_multi.json", "xgb_multi.ubj", "xgb_binary.ubj",
                                  "xgb_cat.json"])
def test_trees_match_xgboost(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["path"])
    assert m.format == "XGBoost" and m.producer.startswith("XGBoost 3.") and not m.warnings
    assert m.format_version == ("UBJSON" if name.endswith(".ubj") else "JSON")
    g = m.graphs[0]
    (node,) = g.nodes
    a = attrs(node)
    assert node.op == "gbtree" and node.domain == "xgboost"
    assert a["objective"] == o["objective"] and a["num_feature"] == o["num_features"]
    assert a["num_trees"] == o["num_trees"] and "trees_drawn" not in a
    assert a.get("feature_names") == o["feature_names"]
    sub = a["trees"]
    assert sub is m.graphs[1] and sub.parent == (g, 0, "trees")
    modules = tree_modules(sub)
    assert len(modules) == o["num_trees"]
    names = o["feature_names"] or [f"f{i}" for i in range(o["num_features"])]
    for (module, nodes), want in zip(modules.items(), o["trees"]):
        assert len(nodes) == want["nodes"], module
        assert sum(n.op == "Leaf" for n in nodes) == want["leaves"], module
        root = nodes[0]
        if want["root_feature"] == "Leaf":
            assert root.op == "Leaf"
            continue
        assert root.op == "Split" and attrs(root)["feature"] == want["root_feature"]
        assert want["root_feature"] in names
        test = attrs(root)["if"]
        if want["root_split"] is not None:    # numerical: feature < threshold (float32)
            assert test == f"{want['root_feature']} < {trees.number(want['root_split'], 32)}"
    assert a["leaves"] == sum(t["leaves"] for t in o["trees"])
    assert a["nodes"] == sum(t["nodes"] for t in o["trees"])
    if o["num_class"] > 1:     # one module per class: XGBoost's tree_info
        assert list(modules)[:3] == ["class 0/tree 0", "class 1/tree 1", "class 2/tree 2"]
    out = shapes.infer(g).types["prediction"]
    assert out[1] == "float32"
    assert out[2] == ((None, 3) if o["objective"] == "multi:softprob" else (None,))


def test_json_and_ubjson_give_the_same_graph(files):
    a = wetron.open(files["xgb_multi.json"]["path"]).to_dict()
    b = wetron.open(files["xgb_multi.ubj"]["path"]).to_dict()
    for d in (a, b):
        d["model"].pop("file"), d["model"].pop("size"), d["model"].pop("format_version")
    assert a == b


def test_categorical_split_lists_the_categories_going_right(files):
    """XGBoost sends the categories of a partition split to the right child: checked
    against the leaf predict(pred_leaf=True) reaches for each category."""
    e = files["xgb_cat.json"]
    o = e["oracle"]
    m = wetron.open(e["path"])
    root = m.graphs[1].nodes[0]
    test = attrs(root)["if"]
    assert test.startswith("c not in {"), test
    listed = {int(x) for x in test[len("c not in {"):-1].split(", ")}
    right = set(o["right_subtree"])
    went_right = {c for c, leaf in enumerate(o["leaf_of_category"]) if leaf in right}
    assert listed == went_right and 0 < len(listed) < 6


def test_gblinear_weights(files):
    e = files["xgb_linear.json"]
    m = wetron.open(e["path"])
    (node,) = m.graphs[0].nodes
    assert node.op == "gblinear" and node.inputs == ["features", "weight", "bias"]
    w = {t.name: t for t in m.tensors}
    n = e["oracle"]["num_features"]
    assert w["weight"].dims == (n, 1) and w["bias"].dims == (1,)
    got = m.tensor_values(w["weight"].index)["values"] + m.tensor_values(w["bias"].index)["values"]
    assert got == pytest.approx(e["oracle"]["weights"], rel=1e-6)


def test_other_json_models_are_not_taken(files):
    """TF.js model.json and MXNet -symbol.json stay theirs; an XGBoost JSON is not theirs."""
    import formats_mxnet_models
    import formats_tensorflow_models
    tfjs = formats_tensorflow_models.tensorflow_files()["tfjs"]
    symbol = formats_mxnet_models.mxnet_files()["small"]["symbol"]
    for path, fmt in ((tfjs, "TensorFlow.js"), (symbol, "MXNet"),
                      (files["xgb_multi.json"]["path"], "XGBoost")):
        head = open(path, "rb").read(4096)
        name = path.rsplit("/", 1)[1]
        assert (xgboost.match(head, name) > 0) == (fmt == "XGBoost"), path
        assert formats.candidates(head, name)[0][1].FORMAT == fmt
        assert wetron.open(path).format == fmt


# --- hostile documents -------------------------------------------------------------------

def ubj_key(k):
    return b"L" + struct.pack(">q", len(k)) + k.encode()


def ubj_doc(body):
    """{"learner": <body>} in UBJSON."""
    return b"{" + ubj_key("learner") + body + b"}"


def small_model():
    return json.loads(open(formats_trees_models.tree_files()["xgb_multi.json"]["path"]).read())


def mutated_json(change):
    doc = small_model()
    change(doc)
    return json.dumps(doc).encode()


def _tree(doc, k=0):
    return doc["learner"]["gradient_booster"]["model"]["trees"][k]


HOSTILE_UBJ = {
    "count past the end": ubj_doc(b"[$d#L" + struct.pack(">q", 1 << 40)),
    "negative count": ubj_doc(b"[#L" + struct.pack(">q", -5)),
    "string past the end": ubj_doc(b"SL" + struct.pack(">q", 1 << 50) + b"x"),
    "nested deeply": b"{" + ubj_key("learner") + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "unknown marker": ubj_doc(b"Q"),
    "typed without count": ubj_doc(b"[$d]"),
    "key length not an int": b"{" + b"Slearner" + b"}",
    "cut short": ubj_doc(b"{" + ubj_key("x"))[:-1],
    "many nulls": ubj_doc(b"[$Z#L" + struct.pack(">q", 1 << 40)),
    "high precision junk": ubj_doc(b"HL" + struct.pack(">q", 3) + b"1e9999999"[:3]),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE_UBJ))
def test_hostile_ubjson(case):
    model = test_fuzz.exercise(HOSTILE_UBJ[case], "h.ubj")
    assert model is None


HOSTILE_JSON = {
    "trees not a list": lambda d: d["learner"]["gradient_booster"]["model"].update(trees=3),
    "child out of range": lambda d: _tree(d)["left_children"].__setitem__(0, 10 ** 6),
    "child is the root (a cycle)": lambda d: _tree(d)["right_children"].__setitem__(0, 0),
    "fewer conditions than nodes": lambda d: _tree(d)["split_conditions"].pop(),
    "children not integers": lambda d: _tree(d)["left_children"].__setitem__(0, "x"),
    "unknown booster": lambda d: d["learner"]["gradient_booster"].update(name="rm -rf"),
    "vector leaves without weights": lambda d: _tree(d)["tree_param"].update(size_leaf_vector="4"),
    "categories that do not add up": lambda d: _tree(d).update(
        categories_nodes=[0], categories_segments=[5], categories_sizes=[9], categories=[1]),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE_JSON))
def test_hostile_json(case):
    assert test_fuzz.exercise(mutated_json(HOSTILE_JSON[case]), "h.json") is None


def test_old_binary_format_is_refused_clearly():
    with pytest.raises(wetron.ModelError, match="old binary format is not read.*save_model"):
        wetron.open(wetron.BytesSource(b"binf" + bytes(200), "model.bin"))


def test_a_big_forest_is_summed_up_not_drawn_whole():
    doc = small_model()
    model = doc["learner"]["gradient_booster"]["model"]
    model["trees"] = model["trees"] * 800                 # 9,600 trees
    model["tree_info"] = model["tree_info"] * 800
    m = wetron.open(wetron.BytesSource(json.dumps(doc).encode(), "big.json"))
    a = attrs(m.graphs[0].nodes[0])
    assert a["num_trees"] == 9600 and a["trees_drawn"] == trees.MAX_DRAWN_TREES
    assert len(m.graphs[1].nodes) <= trees.MAX_DRAWN_NODES
    assert m.graphs[1].name == f"trees 0–{trees.MAX_DRAWN_TREES - 1} of 9600"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("seed", ["xgb_multi.ubj", "xgb_multi.json"])
def test_mutated_models(files, seed):
    from hypothesis import HealthCheck, given, settings
    with open(files[seed]["path"], "rb") as f:
        test_fuzz.SEEDS[seed] = f.read()

    @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.mutated(seed))
    def run(data):
        test_fuzz.exercise(data, "fuzzed" + seed[seed.index("."):])
    run()
