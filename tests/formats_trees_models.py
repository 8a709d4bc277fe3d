"""Real tree and classical models for the tests, written by scikit-learn, XGBoost and
LightGBM themselves on small data they ship or make (load_iris is bundled with
scikit-learn: nothing is downloaded).

  scikit-learn (pickle.dump at protocols 2, 4 and 5, joblib.dump plain, zlib- and
  gzip-compressed):
    pipe.*        Pipeline(StandardScaler, LogisticRegression) on iris
    forest.*      RandomForestClassifier(10 trees, max_depth 4)
    gboost.*      GradientBoostingClassifier(5 stages x 3 classes, max_depth 2)
    frame.*       a DataFrame's ColumnTransformer (StandardScaler on two named columns,
                  PCA on the others) then a DecisionTreeClassifier, labels as strings
    voting        VotingClassifier(LogisticRegression, GaussianNB) (joblib)
    big_forest    RandomForestRegressor(300 trees, max_depth 8) (joblib): more trees than
                  Wetron draws
  XGBoost:
    xgb_multi.json/.ubj   multi:softprob on iris with feature names, 4 rounds, depth 3
    xgb_binary.ubj        binary:logistic without feature names
    xgb_linear.json       gblinear, reg:squarederror
    xgb_cat.json          a categorical feature (partition splits)
  LightGBM:
    lgb_multi.txt         multiclass on iris with feature names, 4 rounds
    lgb_cat.txt           regression with a categorical feature

Oracles from the same tools: per tree the node count, depth and leaves
(tree_.node_count, get_depth(), get_n_leaves(); XGBoost's trees_to_dataframe; LightGBM's
dump_model), the root's feature and threshold, feature names, coef_ / intercept_ /
classes_ / n_features_in_, the arrays' first values.

The frameworks have a venv of their own (tests/framework_venvs.py, VENV_PINS), cached in
tests/.cache/trees-GENERATION-sklearn-<version>/ with complete.json the index.
"""
import json
import os
import sys

import framework_venvs

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_NAME = "trees-1"
VENV_PINS = ["scikit-learn==1.9.1", "xgboost-cpu==3.2.0", "lightgbm==4.7.0", "joblib==1.6.0",
             "numpy==2.4.6", "scipy==1.17.1", "pandas==3.1.2"]
GENERATION = "3"


def venv_python():
    return framework_venvs.venv_python(VENV_NAME, VENV_PINS)


def trees_index():
    """(folder, index), written on first use (VenvUnavailable if the venv cannot be had)."""
    python = venv_python()
    v = framework_venvs.venv_info(VENV_NAME, VENV_PINS)["versions"]

    return framework_venvs.child_set(python, os.path.abspath(__file__),
                                     f"trees-{GENERATION}-sklearn-{v['scikit-learn']}")


def tree_files():
    """name -> {"path", "oracle"}."""
    folder, index = trees_index()
    return {name: dict(e, path=os.path.join(folder, e["file"]))
            for name, e in index["models"].items()}


# --- the child (runs in the venv) ----------------------------------------------------------

def _sk_tree(t, estimator=None):
    out = {"nodes": int(t.node_count), "depth": int(t.max_depth),
           "leaves": int((t.children_left == -1).sum()),
           "root_feature": int(t.feature[0]), "root_threshold": float(t.threshold[0])}
    if estimator is not None:
        out["estimator_depth"] = int(estimator.get_depth())
        out["estimator_leaves"] = int(estimator.get_n_leaves())
    return out


def _sk_oracle(est):
    import numpy as np
    from sklearn.pipeline import Pipeline
    o = {"class": type(est).__name__, "n_features_in": int(est.n_features_in_),
         "sklearn_version": est._sklearn_version if hasattr(est, "_sklearn_version") else None}
    if isinstance(est, Pipeline):
        o["steps"] = [[name, type(step).__name__] for name, step in est.steps]
        final = est.steps[-1][1]
    else:
        final = est
    if hasattr(final, "classes_"):
        o["classes"] = [c.item() if hasattr(c, "item") else c for c in final.classes_]
    if hasattr(final, "coef_"):
        o["coef"] = np.asarray(final.coef_).tolist()
        o["intercept"] = np.asarray(final.intercept_).tolist()
    if hasattr(est, "feature_names_in_"):
        o["feature_names"] = [str(x) for x in est.feature_names_in_]
    if hasattr(final, "estimators_") and hasattr(final, "n_estimators"):
        flat = np.asarray(final.estimators_, dtype=object).reshape(-1)
        if all(hasattr(e, "tree_") for e in flat):
            o["trees"] = [_sk_tree(e.tree_, e) for e in flat]
    if hasattr(final, "tree_"):
        o["trees"] = [_sk_tree(final.tree_, final)]
    return o


def _xgb_oracle(b):
    df = b.trees_to_dataframe()
    trees = []
    for k, t in df.groupby("Tree", sort=True):
        leaves = int((t["Feature"] == "Leaf").sum())
        root = t[t["Node"] == 0].iloc[0]
        trees.append({"nodes": int(len(t)), "leaves": leaves,
                      "root_feature": str(root["Feature"]),
                      "root_split": None if root["Feature"] == "Leaf" else
                      (float(root["Split"]) if root["Split"] == root["Split"] else None)})
    return {"num_trees": len(trees), "trees": trees, "num_features": int(b.num_features()),
            "feature_names": list(b.feature_names) if b.feature_names else None}


def _lgb_oracle(b):
    d = b.dump_model()

    def depth(node):
        todo, deepest = [(node, 0)], 0
        while todo:
            n, k = todo.pop()
            deepest = max(deepest, k)
            for side in ("left_child", "right_child"):
                if side in n:
                    todo.append((n[side], k + 1))
        return deepest
    trees = []
    for t in d["tree_info"]:
        s = t["tree_structure"]
        trees.append({"leaves": int(t["num_leaves"]), "nodes": 2 * int(t["num_leaves"]) - 1,
                      "depth": depth(s), "root_feature": s.get("split_feature"),
                      "root_threshold": s.get("threshold"), "root_decision": s.get("decision_type")})
    return {"num_trees": int(b.num_trees()), "trees": trees, "feature_names": b.feature_name(),
            "num_class": int(d["num_class"]), "objective": d.get("objective")}


def _subtree(tree, node):
    """The node ids of an XGBoost JSON tree below and with `node`."""
    out, todo = [], [node]
    while todo:
        i = todo.pop()
        out.append(i)
        if tree["left_children"][i] != -1:
            todo += [tree["left_children"][i], tree["right_children"][i]]
    return out


def _child(folder):
    import pickle

    import joblib
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    import sklearn
    import xgboost as xgb
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_iris
    from sklearn.decomposition import PCA
    from sklearn.ensemble import (GradientBoostingClassifier, RandomForestClassifier,
                                  RandomForestRegressor, VotingClassifier)
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    iris = load_iris()
    X, y = iris.data, iris.target
    names = list(iris.feature_names)
    models = {}
    index = {"versions": {"sklearn": sklearn.__version__, "xgboost": xgb.__version__,
                          "lightgbm": lgb.__version__}, "models": models}

    def save(name, est, how, oracle):
        path = os.path.join(folder, name)
        if how.startswith("pickle"):
            with open(path, "wb") as f:
                pickle.dump(est, f, protocol=int(how[-1]))
        elif how == "joblib":
            joblib.dump(est, path)
        else:
            joblib.dump(est, path, compress=(how.split("-")[1], 3))
        models[name] = {"file": name, "how": how, "oracle": oracle}

    pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=300))]).fit(X, y)
    o = _sk_oracle(pipe)
    o["scaler_mean"] = pipe.named_steps["scaler"].mean_.tolist()
    for how, ext in (("pickle2", "p2.pkl"), ("pickle4", "p4.pkl"), ("pickle5", "p5.pkl"),
                     ("joblib", "joblib"), ("joblib-zlib", "zlib.joblib"),
                     ("joblib-gzip", "gz.joblib")):
        save(f"pipe.{ext}", pipe, how, o)
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    for how, ext in (("pickle4", "p4.pkl"), ("joblib", "joblib")):
        save(f"forest.{ext}", forest, how, _sk_oracle(forest))
    gboost = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    for how, ext in (("pickle4", "p4.pkl"), ("joblib", "joblib")):
        save(f"gboost.{ext}", gboost, how, _sk_oracle(gboost))
    frame = pd.DataFrame(X, columns=names)
    labels = iris.target_names[y]
    prep = ColumnTransformer([("num", StandardScaler(), names[:2]), ("pca", PCA(2), names[2:])])
    framed = Pipeline([("prep", prep), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))])
    framed.fit(frame, labels)
    o = _sk_oracle(framed)
    o["pca_components"] = framed.named_steps["prep"].named_transformers_["pca"].components_.tolist()
    for how, ext in (("pickle4", "p4.pkl"), ("joblib", "joblib")):
        save(f"frame.{ext}", framed, how, o)
    voting = VotingClassifier([("lr", LogisticRegression(max_iter=300)), ("nb", GaussianNB())]).fit(X, y)
    save("voting.joblib", voting, "joblib", _sk_oracle(voting))
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(400, 6))
    yr = Xr[:, 0] * 2 + np.sin(Xr[:, 1]) + rng.normal(scale=0.1, size=400)
    big = RandomForestRegressor(n_estimators=300, max_depth=8, random_state=0).fit(Xr, yr)
    save("big_forest.joblib", big, "joblib", _sk_oracle(big))

    xnames = [n.replace(" (cm)", "") for n in names]
    d = xgb.DMatrix(X, label=y, feature_names=xnames)
    b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "seed": 0}, d, 4)
    for ext in ("json", "ubj"):
        b.save_model(os.path.join(folder, f"xgb_multi.{ext}"))
        models[f"xgb_multi.{ext}"] = {"file": f"xgb_multi.{ext}", "oracle": dict(
            _xgb_oracle(b), objective="multi:softprob", num_class=3)}
    yb = (y == 2).astype(float)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 0}, xgb.DMatrix(X, label=yb), 3)
    b.save_model(os.path.join(folder, "xgb_binary.ubj"))
    models["xgb_binary.ubj"] = {"file": "xgb_binary.ubj", "oracle": dict(
        _xgb_oracle(b), objective="binary:logistic", num_class=0)}
    b = xgb.train({"booster": "gblinear", "objective": "reg:squarederror"},
                  xgb.DMatrix(X, label=X[:, 0]), 5)
    b.save_model(os.path.join(folder, "xgb_linear.json"))
    raw = json.loads(b.save_raw("json"))
    models["xgb_linear.json"] = {"file": "xgb_linear.json", "oracle": {
        "objective": "reg:squarederror", "num_features": int(b.num_features()),
        "weights": raw["learner"]["gradient_booster"]["model"]["weights"]}}
    c = rng.integers(0, 6, 600)
    cat = pd.DataFrame({"c": pd.Categorical(c), "v": rng.normal(size=600)})
    target = np.isin(c, [1, 4]).astype(float) + cat["v"].to_numpy() * 0.1
    b = xgb.train({"max_depth": 2, "tree_method": "hist", "max_cat_to_onehot": 1, "seed": 0},
                  xgb.DMatrix(cat, target, enable_categorical=True), 2)
    b.save_model(os.path.join(folder, "xgb_cat.json"))
    leaves = b.predict(xgb.DMatrix(pd.DataFrame({"c": pd.Categorical(range(6), categories=range(6)),
                                                 "v": np.zeros(6)}), enable_categorical=True),
                       pred_leaf=True)
    t0 = json.loads(b.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"][0]
    models["xgb_cat.json"] = {"file": "xgb_cat.json", "oracle": dict(
        _xgb_oracle(b), objective="reg:squarederror", num_class=0,
        # per category of feature c: the node id of the leaf tree 0 sends it to, and the
        # node ids under the root's right child
        leaf_of_category=[int(v) for v in leaves[:, 0]],
        right_subtree=_subtree(t0, t0["right_children"][0]))}

    ds = lgb.Dataset(X, y, feature_name=[n.replace(" (cm)", "").replace(" ", "_") for n in names])
    lb = lgb.train({"objective": "multiclass", "num_class": 3, "num_leaves": 6, "verbose": -1,
                    "seed": 0}, ds, 4)
    lb.save_model(os.path.join(folder, "lgb_multi.txt"))
    models["lgb_multi.txt"] = {"file": "lgb_multi.txt", "oracle": _lgb_oracle(lb)}
    cf = pd.DataFrame({"c": pd.Categorical(c), "v": rng.normal(size=600)})
    lb = lgb.train({"objective": "regression", "num_leaves": 4, "verbose": -1, "seed": 0,
                    "min_data_per_group": 5, "cat_smooth": 1},
                   lgb.Dataset(cf, target, categorical_feature=["c"]), 3)
    lb.save_model(os.path.join(folder, "lgb_cat.txt"))
    models["lgb_cat.txt"] = {"file": "lgb_cat.txt", "oracle": _lgb_oracle(lb)}
    with open(os.path.join(folder, "_index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2])
        sys.exit(0)
    sys.path.insert(0, HERE)
    print(json.dumps({k: v["path"] for k, v in tree_files().items()}, indent=1))
