"""Generators: Range, the random generators (RandomNormal/Uniform and their *Like
forms, Bernoulli, Multinomial) and EyeLike.

Cost: Range and EyeLike write their output only (0). The random ones have no cost
rule: the work of a random number generator depends on the runtime's."""
import math

from ...dtypes import dtype_name
from ...symbolic import _nonneg, dim_sub
from ..base import MAX_FOLD, MAX_RANK
from . import Movement, Op, register
from .fold import num, scalar


@register
class Range(Movement):
    ops = ("Range",)

    def shape(self, c):
        start, limit, delta = scalar(c, 0), scalar(c, 1), scalar(c, 2)
        n = None
        if num(start) and num(limit) and num(delta) and delta != 0:
            n = max(math.ceil((limit - start) / delta), 0)
            if type(start) is int and type(limit) is int and type(delta) is int:
                n = max(-(-(limit - start) // delta), 0)
                if n <= MAX_FOLD:
                    c.fold(0, (n,), list(range(start, limit, delta)))
        elif delta == 1 and type(start) in (int, str) and type(limit) in (int, str):
            n = dim_sub(limit, start)
            if not _nonneg(n):
                n = None
        return [(c.dtype(0), (n,))]


@register
class RandomNormal(Op):
    ops = ("RandomNormal", "RandomUniform")

    def shape(self, c):
        shape = c.attr("shape")
        if shape is not None and len(shape) > MAX_RANK:
            raise ValueError("rank too large")
        return [(dtype_name(c.attr("dtype", 1)), None if shape is None else tuple(shape))]


@register
class RandomLike(Op):
    """The input's shape, of `dtype` (default the input's)."""
    ops = ("RandomNormalLike", "RandomUniformLike", "Bernoulli")

    def shape(self, c):
        d = c.attr("dtype")
        return [(dtype_name(d) if d is not None else c.dtype(0), c.dims(0))]


@register
class EyeLike(Movement):
    ops = ("EyeLike",)
    shape = RandomLike.shape


@register
class Multinomial(Op):
    ops = ("Multinomial",)

    def shape(self, c):
        x = c.dims(0)
        return [(dtype_name(c.attr("dtype", 6)),
                 None if x is None else (x[0], c.attr("sample_size", 1)))]
