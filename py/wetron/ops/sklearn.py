"""scikit-learn's estimators (domain "sklearn", op the class name) and the nodes of
their drawn trees (Split, Leaf; wetron.trees): shape rules where the fitted state says
the shape. The Split rule is XGBoost's (ops/xgboost.py TreeSplit), registered here for
scikit-learn's own tree nodes.

Nodes come from formats/sklearn.py, which already declares what the pickle states (the
input's width, a step's output width from the next step's n_features_in_, a
classifier's labels). These rules add, for a transformer as the last step:
- the scalers and per-feature transforms (StandardScaler, MinMaxScaler, MaxAbsScaler,
  RobustScaler, Normalizer, Binarizer, PowerTransformer, QuantileTransformer): the
  input's shape (float64);
- the decompositions whose fitted components_ is [n_components, n_features] (PCA,
  IncrementalPCA, TruncatedSVD, FastICA, NMF, MiniBatchNMF, SparsePCA,
  MiniBatchSparsePCA, FactorAnalysis, LatentDirichletAllocation): [batch, n_components].

Cost: not counted. What an estimator costs depends on the method called (predict,
predict_proba, transform, decision_function), which the pickle does not say, and for
trees it is comparisons, not FLOPs (ops/xgboost.py says why); the trees' bound is the
node's `comparisons_at_most`.
"""
from . import register
from .base import Rule, Unknown
from .xgboost import TreeSplit

DOMAIN = "sklearn"
SAME_SHAPE = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer",
              "Binarizer", "PowerTransformer", "QuantileTransformer")
DECOMPOSITIONS = ("PCA", "IncrementalPCA", "TruncatedSVD", "FastICA", "NMF", "MiniBatchNMF",
                  "SparsePCA", "MiniBatchSparsePCA", "FactorAnalysis",
                  "LatentDirichletAllocation")


class SKLearnRule(Rule):
    domain = DOMAIN


@register
class SameShape(SKLearnRule):
    ops = SAME_SHAPE

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        return [("float64", tuple(x))]


@register
class Decomposition(SKLearnRule):
    ops = DECOMPOSITIONS

    def shape(self, c):
        x = c.dims(0)
        inputs = c.node.inputs
        k = next((i for i, name in enumerate(inputs) if name.endswith("/components_")), None)
        w = c.dims(k) if k is not None else None
        if x is None or w is None or len(w) != 2:
            raise Unknown("components_")
        return [("float64", (x[0], w[0]))]


register(type("Split", (TreeSplit,), {"domain": DOMAIN}))
