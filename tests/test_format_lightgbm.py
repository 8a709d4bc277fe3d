"""LightGBM: text models saved by LightGBM itself (tests/formats_trees_models.py), checked
against LightGBM's own dump_model (trees, leaves, depths, root splits and their
categories, feature names, num_class, objective); hostile files; a bounded fuzz."""
import collections

import pytest

import formats_trees_models
import test_fuzz
import wetron
from wetron import shapes, trees

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def files():
    return formats_trees_models.tree_files()


def attrs(node):
    return {a.name: a.value for a in node.attributes}


def modules(sub):
    out = collections.OrderedDict()
    for n in sub.nodes:
        out.setdefault(n.name.rsplit("/", 1)[0], []).append(n)
    return out


def depth(nodes):
    """Edges on the longest path of one drawn tree."""
    level = {"features": 0}
    deepest = 0
    for n in nodes:
        d = level[n.inputs[0]]
        deepest = max(deepest, d)
        for o in n.outputs:
            level[o] = d + 1
    return deepest


@pytest.mark.parametrize("name", ["lgb_multi.txt", "lgb_cat.txt"])
def test_trees_match_lightgbm(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["path"])
    assert m.format == "LightGBM" and m.format_version == "v4" and not m.warnings
    g = m.graphs[0]
    (node,) = g.nodes
    a = attrs(node)
    assert node.op == "gbdt" and node.domain == "lightgbm"
    objective = o["objective"].split()      # "multiclass num_class:3"
    assert a["objective"] == objective[0] and a["num_class"] == o["num_class"]
    assert a.get("objective_parameters", "") == " ".join(objective[1:])
    assert a["feature_names"] == o["feature_names"]
    assert a["num_trees"] == o["num_trees"]
    assert a["depth"] == max(t["depth"] for t in o["trees"])
    assert a["comparisons_at_most"] == sum(t["depth"] for t in o["trees"])
    drawn = modules(a["trees"])
    assert len(drawn) == o["num_trees"]
    for (module, nodes), want in zip(drawn.items(), o["trees"]):
        assert len(nodes) == want["nodes"], module
        assert sum(n.op == "Leaf" for n in nodes) == want["leaves"], module
        assert depth(nodes) == want["depth"], module
        root = attrs(nodes[0])
        fname = o["feature_names"][want["root_feature"]]
        assert root["feature"] == fname
        if want["root_decision"] == "<=":
            assert root["if"] == f"{fname} <= {trees.number(want['root_threshold'])}"
        else:   # categorical: "1||4" in dump_model, the categories sent left
            cats = ", ".join(want["root_threshold"].split("||"))
            assert root["if"] == f"{fname} in {{{cats}}}"
    out = shapes.infer(g).types["prediction"]
    assert out[1:3] == ("float64", (None, 3) if o["num_class"] == 3 else (None,))
    parameters = dict(m.metadata)
    assert parameters["parameter.objective"] == objective[0]
    assert parameters["parameter.boosting"] == "gbdt"


def text_of(files, name="lgb_multi.txt"):
    return open(files[name]["path"]).read()


def _replace_first(text, key, value):
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith(key + "="))
    lines[i] = f"{key}={value}"
    return "\n".join(lines)


HOSTILE = {
    "num_leaves huge": lambda t: _replace_first(t, "num_leaves", str(1 << 40)),
    "counts do not match": lambda t: _replace_first(t, "split_feature", "0"),
    "child out of range": lambda t: _replace_first(t, "left_child", " ".join(["7"] * 5)),
    "child is the root": lambda t: _replace_first(t, "right_child", " ".join(["0"] * 5)),
    "not numbers": lambda t: _replace_first(t, "threshold", " ".join(["x"] * 5)),
    "category bitset missing": lambda t: _replace_first(t, "num_cat", "1"),
    "num_class absurd": lambda t: _replace_first(t, "num_class", "-3"),
    "only the first line": lambda t: "tree\nversion=v4\n",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files(files, case):
    data = HOSTILE[case](text_of(files)).encode()
    model = test_fuzz.exercise(data, "h.txt")
    if case == "only the first line":
        assert model is None or not model.graphs[0].nodes[0].attributes[0].name == "trees"
    else:
        assert model is None


def test_text_that_is_not_lightgbm_is_not_taken():
    for head in (b"tree\n", b"Tree=0\nnum_leaves=3\n", b"hello\nversion=v4\n"):
        with pytest.raises(wetron.ModelError):
            wetron.open(wetron.BytesSource(head, "notes.txt"))


@pytest.mark.timeout(180)
def test_mutated_models(files):
    from hypothesis import HealthCheck, given, settings
    test_fuzz.SEEDS["lgb_multi.txt"] = text_of(files).encode()

    @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.mutated("lgb_multi.txt"))
    def run(data):
        test_fuzz.exercise(data, "fuzzed.txt")
    run()
