"""Resampling: Resize, Upsample; GridSample, AffineGrid.

Forms: Upsample-1 height_scale/width_scale, Upsample-7 the attribute `scales`,
Upsample-9 scales the input 1; Resize-10 (X, scales), Resize-11 on (X, roi, scales,
sizes), with axes and keep_aspect_ratio_policy from 18.

Cost: no MACs; FLOPs taps per output element (nearest 0, linear 2^k, cubic 4^k over
the k resized axes). GridSample and AffineGrid have no cost rule."""
import math

from ...symbolic import dim_mul
from ..base import axis, prod
from . import Op, register, text
from .fold import num


def scaled(x, axes, scales):
    """Dims of x with axes scaled: floor(d * s) (a symbol only by an integer scale)."""
    out = list(x)
    if len(scales) != len(axes):
        raise ValueError("Resize scales do not match the axes")
    for a, s in zip(axes, scales):
        d = x[a]
        if type(d) is int and num(s):
            out[a] = int(math.floor(d * s))
        elif type(d) is str and num(s) and float(s).is_integer():
            out[a] = dim_mul(d, int(s))
        else:
            out[a] = None
    return tuple(out)


class Resample(Op):
    """Shape from scales (resize_inputs gives them); cost by interpolation taps."""

    def scales(self, c):
        v = c.value(1)
        return v[1] if v else None

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        scales = self.scales(c)
        if scales is None:
            return [(c.dtype(0), (None,) * len(x))]
        return [(c.dtype(0), scaled(x, range(len(x)), scales))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out = c.outs[0] if c.outs else None
        out_n = prod(out)
        if out_n is None or x is None or len(x) != len(out):
            return None, None
        mode = text(c.attr("mode", "nearest"))
        k = sum(1 for a, b in zip(x, out) if a != b)
        taps = 0 if mode == "nearest" else (2 ** k if mode in ("linear", "bilinear") else 4 ** k)
        return out_n * taps, 0


@register
class Upsample1(Resample):
    """Upsample-1: 4-D, height_scale and width_scale."""
    ops = ("Upsample",)

    def scales(self, c):
        h, w = c.attr("height_scale"), c.attr("width_scale")
        return None if h is None or w is None else [1.0, 1.0, h, w]


@register
class Upsample7(Resample):
    ops = ("Upsample",)
    since = 7

    def scales(self, c):
        return c.attr("scales")


register(type("Upsample9", (Resample,), {"ops": ("Upsample",), "since": 9}))
register(type("Resize", (Resample,), {"ops": ("Resize",), "__doc__": "Resize-10: X, scales."}))


@register
class Resize11(Resample):
    """Resize-11 on: X, roi, scales, sizes (one of scales and sizes); axes and
    keep_aspect_ratio_policy from opset 18."""
    ops = ("Resize",)
    since = 11

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        r = len(x)
        vs = c.value(2) if c.has(2) else None
        scales = vs[1] if vs and vs[1] else None
        sizes = c.ints(3) if c.has(3) else None
        if c.has(3) and sizes is None and not scales:
            return [(c.dtype(0), (None,) * r)]
        axes = c.attr("axes")
        axes = [axis(a, r) for a in axes] if axes else list(range(r))
        if sizes is not None:
            if len(sizes) != len(axes):
                raise ValueError("Resize sizes do not match the axes")
            policy = text(c.attr("keep_aspect_ratio_policy", "stretch"))
            if policy != "stretch":
                ins = [x[a] for a in axes]
                if any(type(d) is not int or d == 0 for d in ins + sizes):
                    return [(c.dtype(0), tuple(None if i in axes else d
                                               for i, d in enumerate(x)))]
                ratios = [s / d for s, d in zip(sizes, ins)]
                scale = min(ratios) if policy == "not_larger" else max(ratios)
                sizes = [int(math.floor(d * scale + 0.5)) for d in ins]
            out = list(x)
            for a, s in zip(axes, sizes):
                out[a] = s
            return [(c.dtype(0), tuple(out))]
        if scales is not None:
            return [(c.dtype(0), scaled(x, axes, scales))]
        return [(c.dtype(0), (None,) * r)]


@register
class GridSample(Op):
    ops = ("GridSample",)

    def shape(self, c):
        x, g = c.dims(0), c.dims(1)
        if x is None or g is None:
            return [(c.dtype(0), None)]
        return [(c.dtype(0), (x[0], x[1]) + g[1:-1])]


@register
class AffineGrid(Op):
    ops = ("AffineGrid",)

    def shape(self, c):
        size = c.ints(1)
        if size is None:   # [N, C, H, W(, D)] not known: its length gives the rank
            n = c.dims(1)
            n = n[0] if n and len(n) == 1 and n[0] in (4, 5) else None
            return [(c.dtype(0), None if n is None else (None,) * (n - 1) + (n - 2,))]
        if len(size) not in (4, 5):
            return [(c.dtype(0), None)]
        return [(c.dtype(0), (size[0],) + tuple(size[2:]) + (len(size) - 2,))]
