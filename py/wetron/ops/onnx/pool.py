"""Pooling: MaxPool, AveragePool, LpPool, their Global forms, MaxRoiPool, RoiAlign.

Cost: no MACs; FLOPs one per window element per output (out_elems * prod(kernel));
Global*Pool one per input element. RoI pooling has no cost rule: the windows' sizes
depend on the boxes' values. Box: MaxPool, AveragePool, LpPool their window (Windowed)."""
import math

from ..base import prod
from . import Op, Windowed, register
from .conv import auto_pad, spatial_attrs, window_out


@register
class Pool(Windowed):
    ops = ("MaxPool", "AveragePool", "LpPool")

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None), ("int64", None)]
        rank = len(x) - 2
        kernel = c.attr("kernel_shape")
        if not kernel or len(kernel) != rank:
            raise ValueError("pooling without a kernel_shape of the input's rank")
        strides, dilations, pads = spatial_attrs(c, rank)
        ceil_mode = c.attr("ceil_mode", 0)
        ap = auto_pad(c)
        out = [x[0], x[1]]
        for i in range(rank):
            out.append(window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                                  pads[i + rank], ap, ceil_mode))
        return [(c.dtype(0), tuple(out)), ("int64", tuple(out))]   # MaxPool's Indices

    def cost(self, c):
        out = c.outs[0] if c.outs else None
        out_n = prod(out)
        kernel = c.attr("kernel_shape")
        if out_n is None or not kernel or len(kernel) != len(out) - 2:
            return None, None
        return out_n * math.prod(kernel), 0


@register
class GlobalPool(Op):
    ops = ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")

    def shape(self, c):
        x = c.dims(0)
        return [(c.dtype(0), None if x is None else x[:2] + (1,) * (len(x) - 2))]

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins else None
        return (None, None) if n is None else (n, 0)


@register
class MaxRoiPool(Op):
    ops = ("MaxRoiPool",)

    def pooled(self, c):
        ph, pw = c.attr("pooled_shape")
        return ph, pw

    def shape(self, c):
        x, rois = c.dims(0), c.dims(1)
        ph, pw = self.pooled(c)
        n = rois[0] if rois else None
        return [(c.dtype(0), (n, x[1] if x else None, ph, pw))]


@register
class RoiAlign(MaxRoiPool):
    ops = ("RoiAlign",)

    def pooled(self, c):
        return c.attr("output_height", 1), c.attr("output_width", 1)
