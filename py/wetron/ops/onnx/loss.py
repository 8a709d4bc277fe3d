"""Losses: SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss (a scalar, or the
labels' shape with reduction "none"; SoftmaxCrossEntropyLoss's log-probabilities as
the scores). No cost rule: training-graph ops, their work depends on the labels
ignored."""
from . import Op, register, text


@register
class Loss(Op):
    ops = ("SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss")

    def shape(self, c):
        out = c.dims(1) if text(c.attr("reduction", "mean")) == "none" else ()
        return [(c.dtype(0), out), c.ins[0] if c.ins else None]
