"""Normalisations and softmax: the input's shape (BatchNormalization's running
statistics and LayerNormalization's mean / inverse std-dev as extra outputs).

Cost: no MACs; `flops` per output element (mean, variance, scale and shift as
element-wise work; docs/graph-schema.md)."""
from ...dtypes import dtype_name
from ..base import axis
from . import register
from .elementwise import Elementwise, Unary


class Normalization(Unary):
    pass


register(type("Softmax", (Normalization,), {"ops": ("Softmax", "LogSoftmax"), "flops": 5}))
register(type("Hardmax", (Normalization,), {"ops": ("Hardmax",), "flops": 2}))
register(type("InstanceNormalization", (Normalization,), {
    "ops": ("InstanceNormalization", "GroupNormalization"), "flops": 7}))
register(type("RMSNormalization", (Normalization,), {"ops": ("RMSNormalization",), "flops": 5}))
register(type("MeanVarianceNormalization", (Normalization,), {
    "ops": ("MeanVarianceNormalization",), "flops": 6}))
register(type("LpNormalization", (Normalization,), {"ops": ("LpNormalization",), "flops": 3}))
register(type("LRN", (Normalization,), {"ops": ("LRN",), "flops": 5}))


@register
class BatchNormalization(Elementwise):
    """Y, and in training mode the running mean and variance (the shape of input 3)."""
    ops = ("BatchNormalization",)
    flops = 2

    def shape(self, c):
        stats = c.ins[3] if len(c.ins) > 3 else None
        return [c.ins[0] if c.ins else None, stats, stats]


@register
class LayerNormalization(Elementwise):
    """Y, Mean and InvStdDev (of stash_type, reduced over the axes from `axis` on)."""
    ops = ("LayerNormalization",)
    flops = 7

    def shape(self, c):
        d = c.dims(0)
        stat = None
        if d is not None:
            a = axis(c.attr("axis", -1), len(d))
            stat = (dtype_name(c.attr("stash_type", 1)), d[:a] + (1,) * (len(d) - a))
        return [c.ins[0] if c.ins else None, stat, stat]
