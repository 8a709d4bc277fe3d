"""LightGBM's boosters (domain "lightgbm", op the `boosting` type of the model's
parameters: gbdt, rf, dart, goss) and the nodes of their drawn trees (Split, Leaf;
wetron.trees): shape rules. The Split rule is XGBoost's (ops/xgboost.py TreeSplit),
registered here for LightGBM's own nodes: a split routes rows the same way in both.

Nodes come from formats/lightgbm.py: a booster reads "features" [batch, num_feature]
and has the attributes objective (the first word of the model's objective line) and
num_class. Its output is what Booster.predict returns (float64): [batch, num_class] for
the multiclass objectives (multiclass, softmax, multiclassova, multiclass_ova, ova,
ovr), [batch] for the single-output ones (regression and its variants, binary,
cross_entropy, lambdarank, rank_xendcg ...); another objective's is unknown.

Cost: not counted, for the reason ops/xgboost.py gives: a prediction is comparisons
along one path per tree (at most the booster's `comparisons_at_most`), no FLOPs.
"""
from . import register
from .base import Rule, Unknown
from .xgboost import TreeSplit

DOMAIN = "lightgbm"
ATTR_TYPES = {"objective": "string", "num_class": "int"}
MULTICLASS = {"multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"}
SINGLE_OUTPUT = {
    "regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root",
    "root_mean_squared_error", "rmse", "regression_l1", "l1", "mean_absolute_error", "mae",
    "huber", "fair", "poisson", "quantile", "mape", "mean_absolute_percentage_error",
    "gamma", "tweedie", "binary", "cross_entropy", "xentropy", "cross_entropy_lambda",
    "xentlambda", "lambdarank", "rank_xendcg", "xendcg", "xe_ndcg", "xe_ndcg_mart",
    "xendcg_mart"}


@register
class Booster(Rule):
    ops = ("gbdt", "rf", "dart", "goss")
    domain = DOMAIN
    attr_types = ATTR_TYPES

    def shape(self, c):
        x = c.dims(0)
        batch = x[0] if x else None
        objective = c.attr("objective", "")
        if objective in MULTICLASS:
            classes = c.attr("num_class", 0)
            if classes < 1:
                raise Unknown("num_class")
            return [("float64", (batch, classes))]
        if objective in SINGLE_OUTPUT:
            return [("float64", (batch,))]
        raise Unknown("objective")


register(type("Split", (TreeSplit,), {"domain": DOMAIN}))
