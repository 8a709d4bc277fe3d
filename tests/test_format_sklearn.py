"""scikit-learn: pickles and joblib files written by scikit-learn 1.9 itself
(tests/formats_trees_models.py), read by the restricted unpickler and checked against the
fitted objects (steps, coef_ / intercept_ / classes_ / n_features_in_, the PCA's
components_, feature names, every tree's nodes, depth and leaves and its root split);
PyTorch pickles stay PyTorch's; hostile pickles are refused and nothing in them runs
(the same bytes do run under Python's own pickle); hostile structures; a bounded fuzz;
the op metadata is what the generator writes from scikit-learn."""
import collections
import os
import struct
import subprocess

import pytest

import formats_trees_models
import formats_weights_models
import test_fuzz
import wetron
from conftest import REPO
from wetron import formats, hierarchy, shapes, trees
from wetron.errors import Refused
from wetron.formats import sklearn

pytestmark = pytest.mark.timeout(900)
PIPES = ["pipe.p2.pkl", "pipe.p4.pkl", "pipe.p5.pkl", "pipe.joblib", "pipe.zlib.joblib",
         "pipe.gz.joblib"]


@pytest.fixture(scope="module")
def files():
    return formats_trees_models.tree_files()


def attrs(node):
    return {a.name: a.value for a in node.attributes}


def values(m, name):
    t = next(t for t in m.tensors if t.name == name)
    return t, m.tensor_values(t.index, limit=None)["values"]


def flat(x):
    return [v for row in x for v in (row if isinstance(row, list) else [row])]


def tree_modules(sub):
    out = collections.OrderedDict()
    for n in sub.nodes:
        out.setdefault(n.name.rsplit("/", 1)[0], []).append(n)
    return out


def depth(nodes):
    level, deepest = {"features": 0}, 0
    for n in nodes:
        d = level[n.inputs[0]]
        deepest = max(deepest, d)
        for o in n.outputs:
            level[o] = d + 1
    return deepest


@pytest.mark.parametrize("name", PIPES)
def test_pipeline_matches_the_fitted_object(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["path"])
    assert m.format == "scikit-learn" and m.producer == "scikit-learn 1.9.1" and not m.warnings
    g = m.graphs[0]
    assert [[n.name, n.op] for n in g.nodes] == o["steps"]
    assert {n.domain for n in g.nodes} == {"sklearn"}
    scaler, clf = g.nodes
    assert scaler.inputs[0] == "features" and clf.inputs[0] == scaler.outputs[0]
    assert g.types["features"] == ("tensor", "float64", (None, o["n_features_in"]), "")
    assert attrs(clf)["n_features_in_"] == o["n_features_in"]
    assert values(m, "clf/coef_")[1] == pytest.approx(flat(o["coef"]), rel=1e-12)
    assert values(m, "clf/intercept_")[1] == pytest.approx(o["intercept"], rel=1e-12)
    assert values(m, "clf/classes_")[1] == o["classes"]
    assert values(m, "scaler/mean_")[1] == pytest.approx(o["scaler_mean"], rel=1e-12)
    assert shapes.infer(g).types[g.outputs[0]] == ("tensor", "int64", (None,), "")
    joblib = ".joblib" in name
    assert m.format_version.startswith("joblib" if joblib else "pickle protocol")
    if name == "pipe.joblib":
        # bytes read lazily from the file, where joblib wrote them (coef_ is in Fortran
        # order there: its values are reordered when read, so it has no raw window)
        mean, _ = values(m, "scaler/mean_")
        assert mean.data is not None and mean.data[0] + mean.data[1] <= m.size
        assert values(m, "clf/coef_")[0].data is None


def test_arrays_of_a_plain_pickle_are_read_in_place():
    """A numpy array pickled by numpy (protocol 3: _reconstruct + BUILD with its bytes):
    the tensor's bytes are known by their place in the file and read from there."""
    import pickle

    import numpy as np
    arr = np.arange(100, dtype="<f8") / 7
    body = pickle.dumps(arr, protocol=3)[2:-1]
    data = b"\x80\x04" + new("sklearn.linear_model._base", "LinearRegression",
                              dict_of((S("coef_"), body))) + b"."
    m = sklearn.parse(wetron.BytesSource(data, "lr.pkl"))
    t, got = values(m, "LinearRegression/coef_")
    assert t.data is not None and data[t.data[0]:t.data[0] + t.data[1]] == arr.tobytes()
    assert got == arr.tolist()


@pytest.mark.parametrize("name", ["forest.p4.pkl", "forest.joblib", "gboost.p4.pkl",
                                  "gboost.joblib", "big_forest.joblib"])
def test_trees_match_the_fitted_estimators(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["path"])
    (node,) = m.graphs[0].nodes
    a = attrs(node)
    assert node.op == o["class"]
    assert a["num_trees"] == len(o["trees"])
    assert a["nodes"] == sum(t["nodes"] for t in o["trees"])
    assert a["leaves"] == sum(t["leaves"] for t in o["trees"])
    assert a["depth"] == max(t["depth"] for t in o["trees"])
    assert a["comparisons_at_most"] == sum(t["depth"] for t in o["trees"])
    drawn = tree_modules(a["trees"])
    if name == "big_forest.joblib":
        assert a["trees_drawn"] == len(drawn) < len(o["trees"])
        assert len(a["trees"].nodes) <= trees.MAX_DRAWN_NODES
    else:
        assert "trees_drawn" not in a and len(drawn) == len(o["trees"])
    if name.startswith("gboost"):   # estimators_[stage, class], flattened stage by stage
        assert list(drawn)[:4] == ["class 0/tree 0", "class 1/tree 0", "class 2/tree 0",
                                   "class 0/tree 1"]
    for (module, nodes), want in zip(drawn.items(), o["trees"]):
        assert len(nodes) == want["nodes"] and want["depth"] == want["estimator_depth"]
        assert sum(n.op == "Leaf" for n in nodes) == want["leaves"] == want["estimator_leaves"]
        assert depth(nodes) == want["depth"], module
        root = attrs(nodes[0])
        f = want["root_feature"]
        assert root["if"] == f"x[{f}] <= {trees.threshold(want['root_threshold'])}"
    if "classes" in o and name.startswith("forest"):
        leaves = [attrs(n) for n in a["trees"].nodes if n.op == "Leaf"]
        assert {x["class"] for x in leaves} <= {str(c) for c in o["classes"]}


@pytest.mark.parametrize("name", ["frame.p4.pkl", "frame.joblib"])
def test_column_transformer_with_feature_names(files, name):
    e = files[name]
    o = e["oracle"]
    m = wetron.open(e["path"])
    g = m.graphs[0]
    assert [n.name for n in g.nodes] == ["prep/num", "prep/pca", "prep/ColumnTransformer", "tree"]
    num, pca, join, tree = g.nodes
    assert join.inputs == [num.outputs[0], pca.outputs[0]] and tree.inputs == join.outputs
    assert attrs(join)["feature_names_in_"] == o["feature_names"]
    assert attrs(join)["columns.num"] == o["feature_names"][:2]
    assert ["features", ", ".join(o["feature_names"])] in m.metadata
    assert values(m, "prep/pca/components_")[1] == pytest.approx(flat(o["pca_components"]),
                                                                rel=1e-12)
    # labels are strings: an object array read as strings; the leaves name them
    assert attrs(tree)["classes_"] == o["classes"]
    assert g.types["tree"] == ("tensor", "string", (None,), "")
    assert g.types[join.outputs[0]][2] == (None, 4)   # what the tree reads
    leaves = {attrs(n)["class"] for n in attrs(tree)["trees"].nodes if n.op == "Leaf"}
    assert leaves <= set(o["classes"]) and len(leaves) == 3
    groups, _ = hierarchy.derive(g)
    assert [grp["path"] for grp in groups] == ["prep"]


def test_voting_members_side_by_side(files):
    m = wetron.open(files["voting.joblib"]["path"])
    g = m.graphs[0]
    vote, lr, nb = g.nodes
    assert (vote.op, lr.op, nb.op) == ("VotingClassifier", "LogisticRegression", "GaussianNB")
    assert vote.inputs[:3] == ["features", lr.outputs[0], nb.outputs[0]]
    assert lr.name == "VotingClassifier/lr" and g.types["features"][2] == (None, 4)


def test_pytorch_pickles_stay_pytorch(files):
    torch_files = formats_weights_models.torch_files()
    for key in ("cnn_legacy", "cnn_sd", "cnn_module", "checkpoint"):
        path = torch_files[key]
        head = open(path, "rb").read(4096)
        assert sklearn.match(head, os.path.basename(path)) == 0, key
        assert wetron.open(path).format in ("PyTorch", "TorchScript"), key
    for name in ("pipe.p4.pkl", "forest.joblib"):
        path = files[name]["path"]
        best = formats.candidates(open(path, "rb").read(4096), name)[0][1]
        assert best.FORMAT == "scikit-learn"


# --- hostile pickles ----------------------------------------------------------------------

def G(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def S(text):
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def new(module, name, state):
    """module.name() with `state` (pickled bytes of a dict) as its __dict__."""
    return G(module, name) + b")\x81" + state + b"b"


def dict_of(*pairs):
    return b"}(" + b"".join(k + v for k, v in pairs) + b"u"


def call(module, name, *args):
    return G(module, name) + b"(" + b"".join(args) + b"tR"


def pipeline(payload):
    """A Pipeline whose steps are `payload`, as a protocol-4 pickle."""
    return b"\x80\x04" + new("sklearn.pipeline", "Pipeline", dict_of((S("steps"), payload))) + b"."


def payloads(marker):
    return {
        "os.system": call("posix", "system", S(f"touch {marker}")),
        "eval": call("builtins", "eval", S(f"open({str(marker)!r}, 'w')")),
        "subprocess": call("subprocess", "Popen", b"(" + S("touch") + S(str(marker)) + b"l"),
        "nested pickle": call("pickle", "loads", b"C\x00"),
        "getattr": call("builtins", "getattr", G("os", "path"), S("join")),
    }


@pytest.mark.parametrize("case", ["os.system", "eval", "subprocess", "nested pickle", "getattr"])
def test_hostile_pickles_are_refused_and_nothing_runs(tmp_path, case):
    marker = tmp_path / "ran"
    data = pipeline(payloads(marker)[case])
    for name in ("model.pkl", "model.joblib", "model.pt"):
        with pytest.raises(Refused, match="refused \\(nothing was run\\)") as e:
            wetron.open(wetron.BytesSource(data, name))
        assert str(e.value).startswith(f"{name}: scikit-learn: the pickle names ")
        assert "\n" not in str(e.value)
    assert not marker.exists()


def test_the_hostile_pickle_does_run_under_pythons_own_pickle(tmp_path):
    """The payload is real: Python's unpickler (with scikit-learn importable) runs it."""
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pipeline(payloads(marker)["os.system"]))
    subprocess.run([formats_trees_models.venv_python(), "-c",
                    f"import pickle\ntry: pickle.load(open({str(path)!r}, 'rb'))\n"
                    "except Exception: pass"], timeout=120, capture_output=True)
    assert marker.exists()


def _nested(depth):
    inner = new("sklearn.preprocessing._data", "StandardScaler", dict_of())
    for _ in range(depth):
        inner = new("sklearn.pipeline", "Pipeline", dict_of(
            (S("steps"), b"](" + S("p") + inner + b"\x86e")))
    return b"\x80\x04" + inner + b"."


def _wrapper(shape):
    dtype = call("numpy", "dtype", S("f8"), b"\x89\x88")
    state = dict_of((S("subclass"), G("numpy", "ndarray")), (S("shape"), shape),
                    (S("order"), S("C")), (S("dtype"), dtype), (S("allow_mmap"), b"\x88"))
    return b"\x80\x04" + new("sklearn.linear_model._base", "LinearRegression", dict_of(
        (S("coef_"), new("joblib.numpy_pickle", "NumpyArrayWrapper", state)))) + b"."


HOSTILE = {   # case -> (bytes, what the error says)
    "pipelines nested 100 deep": (_nested(100), "nested deeper than 32"),
    "an array past the end": (_wrapper(b"J\x00\x00\x00\x40\x85"), "runs past the end"),
    "an array of negative shape": (_wrapper(b"J\xff\xff\xff\xff\x85"), "without a dtype and shape"),
    "not an estimator": (b"\x80\x04" + S("sklearn.is.mentioned") + b".", "holds a str"),
    "truncated": (_nested(3)[:-20], "ends before its STOP"),
    "deflate bomb": (None, "inflates to more than 256 MB"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_structures(case):
    """Refused by this reader with a message naming the file (the registry may then show
    the pickle as plain Python objects: PyTorch's reader); never a crash."""
    data, said = HOSTILE[case]
    if data is None:
        import zlib
        z = zlib.compressobj(9)
        chunk = b"N" * (1 << 20)
        data = z.compress(b"\x80\x04" + S("sklearn.x")) + b"".join(
            z.compress(chunk) for _ in range(300)) + z.flush()
    with pytest.raises(wetron.ModelError, match=said) as e:
        sklearn.parse(wetron.BytesSource(data, "h.joblib"))
    test_fuzz.check_error(e.value, "h.joblib")
    test_fuzz.exercise(data, "h.joblib")


def test_a_tree_that_loops_is_refused(files):
    e = files["forest.p4.pkl"]
    data = bytearray(open(e["path"], "rb").read())
    root = e["oracle"]["trees"][0]
    at = data.find(struct.pack("<qd", root["root_feature"], root["root_threshold"]))
    assert at > 16
    data[at - 16:at - 8] = struct.pack("<q", 0)       # node 0's left child: node 0
    with pytest.raises(wetron.ModelError, match="tree 0: node 0 is reached twice"):
        sklearn.parse(wetron.BytesSource(bytes(data), "loop.pkl"))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("seed", ["pipe.joblib", "forest.p4.pkl"])
def test_mutated_pickles(files, seed):
    from hypothesis import HealthCheck, given, settings
    with open(files[seed]["path"], "rb") as f:
        test_fuzz.SEEDS[seed] = f.read()

    @settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.mutated(seed))
    def run(data):
        test_fuzz.exercise(data, "fuzzed" + seed[seed.index("."):])
    run()


def test_op_metadata_is_what_the_generator_writes():
    """tools/gen_op_metadata.py --check of the tree domains, in the venv that has
    scikit-learn, XGBoost and LightGBM."""
    run = subprocess.run([formats_trees_models.venv_python(),
                          os.path.join(REPO, "tools", "gen_op_metadata.py"), "--check",
                          "sklearn", "xgboost", "lightgbm"], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    from wetron.ops import metadata
    assert metadata.describe("sklearn", "LogisticRegression")["category"] == "activation"
    assert metadata.describe("sklearn", "StandardScaler")["category"] == "normalization"
    assert metadata.describe("sklearn", "RandomForestRegressor")["category"] == "matmul"
    assert metadata.describe("xgboost", "gbtree")["outputs"] == ["prediction"]
