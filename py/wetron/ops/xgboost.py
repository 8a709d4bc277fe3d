"""XGBoost's boosters (domain "xgboost", the `booster` parameter: gbtree, dart,
gblinear) and the nodes of their drawn trees (Split, Leaf; wetron.trees): shape rules.

Nodes come from formats/xgboost.py: a booster reads "features" [batch, num_feature] and
has the attributes objective (its name, "multi:softprob"), num_class and num_target.
Its output is what Booster.predict returns (float32): [batch, num_class] for
multi:softprob, [batch] for multi:softmax (the class as a number) and for the
single-output objectives (reg:*, binary:*, count:*, survival:*, rank:*), [batch,
num_target] for a multi-target model; another objective's is unknown. A Split's two
outputs are the rows it sends either way: [?, num_feature], how many is not known.

Cost: not counted. A tree model does no arithmetic in the neural-network sense (no
multiply-accumulates, no per-element work that FLOPs would measure): a prediction
walks one root-to-leaf path per tree and adds the leaves up, so what it costs is
comparisons, at most the booster's `comparisons_at_most` (the sum of its trees'
depths); gblinear's dot product is the exception, left "not counted" with the rest as
the figure would depend on its weights' sparsity XGBoost exploits.
"""
from . import register
from .base import Rule, Unknown

DOMAIN = "xgboost"
ATTR_TYPES = {"objective": "string", "num_class": "int", "num_target": "int"}
SINGLE_OUTPUT = ("reg:", "binary:", "count:", "survival:", "rank:")


class XGBoostRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES


@register
class Booster(XGBoostRule):
    ops = ("gbtree", "dart", "gblinear")

    def shape(self, c):
        x = c.dims(0)
        batch = x[0] if x else None
        objective = c.attr("objective", "")
        classes, targets = c.attr("num_class", 0), c.attr("num_target", 1)
        if objective == "multi:softprob" and classes > 0:
            return [("float32", (batch, classes))]
        if targets > 1:
            return [("float32", (batch, targets))]
        if objective == "multi:softmax" or objective.startswith(SINGLE_OUTPUT):
            return [("float32", (batch,))]
        raise Unknown("objective")


class TreeSplit(Rule):
    """A split of a drawn tree (wetron.trees): its yes and no outputs are the rows it
    sends either way, as many features as it reads, rows unknown."""
    ops = ("Split",)

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) != 2:
            raise Unknown("features")
        routed = (c.dtype(0), (None, x[1]))
        return [routed, routed]


register(type("Split", (TreeSplit,), {"domain": DOMAIN}))
