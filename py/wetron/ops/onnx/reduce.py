"""Reductions: Reduce*, ArgMax/ArgMin, TopK, CumSum/CumProd.

Reduce* took `axes` as an attribute, and as an input from ReduceSum-13 and the
others' opset 18 (with noop_with_empty_axes); TopK took `k` as an attribute before
opset 10 and the input K since. Each form is its own rule.

Cost: no MACs; FLOPs per input element, `flops` (2 for the squared / absolute / exp
ones: an element-wise op before the sum)."""
from ...symbolic import dim_add, dim_mul
from ..base import axis, prod
from . import Op, register
from .fold import scalar


class Reduction(Op):
    """Cost: `flops` per element of input 0."""
    flops = 1

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins else None
        return (None, None) if n is None else (n * self.flops, 0)


class Reduce(Reduction):
    """Reduce* with axes as an attribute (absent: every axis)."""

    def axes(self, c):
        return c.attr("axes") or ()

    def noop(self, c):
        return False

    def shape(self, c):
        x = c.dims(0)
        keep = c.attr("keepdims", 1)
        axes = self.axes(c)
        if x is None or axes is None:
            return [(c.dtype(0), None if not keep or x is None else (None,) * len(x))]
        if not axes:
            if self.noop(c):
                return [c.ins[0]]
            axes = range(len(x))
        drop = {axis(a, len(x)) for a in axes}
        if keep:
            out = tuple(1 if i in drop else d for i, d in enumerate(x))
        else:
            out = tuple(d for i, d in enumerate(x) if i not in drop)
        op = c.node.op
        if op in ("ReduceProd", "ReduceSum") and len(x) == 1:
            v = c.value(0)
            if v is not None:
                fn = dim_mul if op == "ReduceProd" else dim_add
                acc = 1 if op == "ReduceProd" else 0
                for e in v[1]:
                    acc = fn(acc, e) if type(e) in (int, str) and type(acc) in (int, str) \
                        else None
                c.fold(0, out, [acc])
        return [(c.dtype(0), out)]


class ReduceAxesInput(Reduce):
    """axes as the optional input 1 (absent or empty: every axis, or none with
    noop_with_empty_axes); an input not known here makes the shape unknown."""

    def axes(self, c):
        if not c.has(1):
            return ()
        v = c.ints(1)
        if v is None or any(type(x) is not int for x in v):
            return None
        return v

    def noop(self, c):
        return bool(c.attr("noop_with_empty_axes", 0))


_PLAIN = ("ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceLogSum")
_SQUARED = ("ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp")
register(type("ReduceSum", (Reduce,), {"ops": ("ReduceSum",)}))
register(type("ReduceSum13", (ReduceAxesInput,), {"ops": ("ReduceSum",), "since": 13}))
register(type("ReducePlain", (Reduce,), {"ops": _PLAIN}))
register(type("ReducePlain18", (ReduceAxesInput,), {"ops": _PLAIN, "since": 18}))
register(type("ReduceSquared", (Reduce,), {"ops": _SQUARED, "flops": 2}))
register(type("ReduceSquared18", (ReduceAxesInput,), {"ops": _SQUARED, "since": 18,
                                                     "flops": 2}))


@register
class ArgReduce(Reduction):
    ops = ("ArgMax", "ArgMin")

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [("int64", None)]
        a = axis(c.attr("axis", 0), len(x))
        if c.attr("keepdims", 1):
            return [("int64", x[:a] + (1,) + x[a + 1:])]
        return [("int64", x[:a] + x[a + 1:])]


@register
class TopK(Reduction):
    """TopK-1: `k` an attribute."""
    ops = ("TopK",)

    def k(self, c):
        return c.attr("k")

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None), ("int64", None)]
        a = axis(c.attr("axis", -1), len(x))
        k = self.k(c)
        k = k if type(k) in (int, str) else None
        out = x[:a] + (k,) + x[a + 1:]
        return [(c.dtype(0), out), ("int64", out)]


@register
class TopK10(TopK):
    """TopK-10 on: K the input 1 (a one-element tensor)."""
    since = 10

    def k(self, c):
        return scalar(c, 1)


@register
class Cumulative(Reduction):
    ops = ("CumSum", "CumProd")

    def shape(self, c):
        return [c.ins[0] if c.ins else None]
