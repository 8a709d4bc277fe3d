"""Value folding of small tensors, shared by the families: element functions that
stay exact on ints, floats and symbolic dims (or give None, never a guess), and the
index arithmetic of broadcasting and picking elements of a folded (dims, flat) value.
A rule folds its output with c.fold(i, dims, flat) (ops.base.ShapeContext); tensors
past MAX_FOLD elements are never materialised.
"""
import math

from ...symbolic import _poly, dim_add, dim_div, dim_mul, dim_sub
from ..base import MAX_FOLD


def num(x):
    return type(x) in (int, float, bool)


def _e_add(x, y):
    if type(x) is str or type(y) is str:
        return dim_add(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x + y if num(x) and num(y) else None


def _e_sub(x, y):
    if type(x) is str or type(y) is str:
        return dim_sub(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x - y if num(x) and num(y) else None


def _e_mul(x, y):
    if type(x) is str or type(y) is str:
        return dim_mul(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x * y if num(x) and num(y) else None


def _e_div(x, y):
    if type(x) is int and type(y) is int:
        if y == 0:
            return None
        q = abs(x) // abs(y)
        if q * abs(y) != abs(x) and (x < 0) != (y < 0):
            return None   # truncation vs floor differ between runtimes
        return q if (x < 0) == (y < 0) else -q
    if type(x) is str or type(y) is str:
        return dim_div(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    if num(x) and num(y) and y != 0:
        return x / y
    return None


def _e_eq(x, y):
    if x is None or y is None:
        return None
    if type(x) is str or type(y) is str:
        if type(x) is str and type(y) is str:
            return True if _poly(x) == _poly(y) else None
        other = y if type(x) is str else x
        return False if num(other) and other < 1 else None
    return x == y


def _e_cmp(fn):
    def f(x, y):
        return fn(x, y) if num(x) and num(y) else None
    return f


def _e_max(x, y):
    if num(x) and num(y):
        return max(x, y)
    if type(x) is str and num(y) and y <= 1:
        return x
    if type(y) is str and num(x) and x <= 1:
        return y
    return x if x == y else None


def _e_min(x, y):
    if num(x) and num(y):
        return min(x, y)
    if type(x) is str and num(y) and y <= 1:
        return y
    if type(y) is str and num(x) and x <= 1:
        return x
    return x if x == y else None


FOLD_BINARY = {
    "Add": _e_add, "Sub": _e_sub, "Mul": _e_mul, "Div": _e_div, "Equal": _e_eq,
    "Less": _e_cmp(lambda x, y: x < y), "Greater": _e_cmp(lambda x, y: x > y),
    "LessOrEqual": _e_cmp(lambda x, y: x <= y), "GreaterOrEqual": _e_cmp(lambda x, y: x >= y),
    "Max": _e_max, "Min": _e_min,
    "And": _e_cmp(lambda x, y: bool(x) and bool(y)), "Or": _e_cmp(lambda x, y: bool(x) or bool(y)),
    "Mod": _e_cmp(lambda x, y: x % y if y else None),
}


def strides(dims):
    strides, s = [], 1
    for d in reversed(dims):
        strides.append(s)
        s *= d
    strides.reverse()
    return strides


def pick(value, picks):
    """Elements of a folded tensor at the cartesian product of per-axis indices."""
    idx = [0]
    for p, st in zip(picks, strides(value[0])):
        idx = [i + j * st for i in idx for j in p]
    return [value[1][i] for i in idx]


def bcast_index(out_dims, in_dims):
    """Flat index into an input for each element of a broadcast output."""
    in_dims = (1,) * (len(out_dims) - len(in_dims)) + tuple(in_dims)
    idx = [0]
    for d, ind, st in zip(out_dims, in_dims, strides(in_dims)):
        idx = [i + (j if ind != 1 else 0) * st for i in idx for j in range(d)]
    return idx


def fold_elementwise(c, fn, out_dims, count):
    if out_dims is None:
        return
    for d in out_dims:
        if type(d) is not int:
            return
    if math.prod(out_dims) > MAX_FOLD:
        return
    vals = []
    for i in range(count):   # activations first: avoid reading weights needlessly
        name = c.node.inputs[i]
        if name not in c.values and name not in c.lazy:
            return
    for i in range(count):
        v = c.value(i)
        if v is None:
            return
        vals.append(v)
    cols = [[v[1][k] for k in bcast_index(out_dims, v[0])] for v in vals]
    if count == 1:
        flat = [fn(x) for x in cols[0]]
    elif count == 2:
        flat = [fn(x, y) for x, y in zip(*cols)]
    else:
        flat = [fn(*xs) for xs in zip(*cols)]
    c.fold(0, out_dims, flat)


def scalar(c, i):
    """The one element of input i when folded, else None."""
    v = c.value(i)
    if v is None or len(v[1]) != 1:
        return None
    return v[1][0]


def fold_through(c, out):
    """Input 0's folded value, unchanged in order, as the output of shape `out`
    (Reshape, Flatten, Squeeze, Unsqueeze)."""
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
