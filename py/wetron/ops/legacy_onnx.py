"""ONNX's standard operators (being split into op families under ops/onnx/)."""
import math

from ..dtypes import dtype_name
from ..symbolic import (_bdim, _ceil_div, _floor_div, _nonneg, _poly, _same, broadcast,
                        dim_add, dim_div, dim_mul, dim_prod, dim_sub)
from . import register
from .base import (BIG, FLOATS as _FLOATS, MAX_FOLD, MAX_RANK, NUMERIC_BITS as _NUMERIC_BITS,
                   ONNX_ATTR_TYPES as ATTR_TYPES, Rule, Unknown as _Unknown, axis as _axis, prod,
                   read_small as _read)

# --- element functions used when folding values ----------------------------

def _num(x):
    return type(x) in (int, float, bool)


def _e_add(x, y):
    if type(x) is str or type(y) is str:
        return dim_add(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x + y if _num(x) and _num(y) else None


def _e_sub(x, y):
    if type(x) is str or type(y) is str:
        return dim_sub(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x - y if _num(x) and _num(y) else None


def _e_mul(x, y):
    if type(x) is str or type(y) is str:
        return dim_mul(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x * y if _num(x) and _num(y) else None


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
    if _num(x) and _num(y) and y != 0:
        return x / y
    return None


def _e_eq(x, y):
    if x is None or y is None:
        return None
    if type(x) is str or type(y) is str:
        if type(x) is str and type(y) is str:
            return True if _poly(x) == _poly(y) else None
        other = y if type(x) is str else x
        return False if _num(other) and other < 1 else None
    return x == y


def _e_cmp(fn):
    def f(x, y):
        return fn(x, y) if _num(x) and _num(y) else None
    return f


def _e_max(x, y):
    if _num(x) and _num(y):
        return max(x, y)
    if type(x) is str and _num(y) and y <= 1:
        return x
    if type(y) is str and _num(x) and x <= 1:
        return y
    return x if x == y else None


def _e_min(x, y):
    if _num(x) and _num(y):
        return min(x, y)
    if type(x) is str and _num(y) and y <= 1:
        return y
    if type(y) is str and _num(x) and x <= 1:
        return x
    return x if x == y else None


_FOLD_BINARY = {
    "Add": _e_add, "Sub": _e_sub, "Mul": _e_mul, "Div": _e_div, "Equal": _e_eq,
    "Less": _e_cmp(lambda x, y: x < y), "Greater": _e_cmp(lambda x, y: x > y),
    "LessOrEqual": _e_cmp(lambda x, y: x <= y), "GreaterOrEqual": _e_cmp(lambda x, y: x >= y),
    "Max": _e_max, "Min": _e_min,
    "And": _e_cmp(lambda x, y: bool(x) and bool(y)), "Or": _e_cmp(lambda x, y: bool(x) or bool(y)),
    "Mod": _e_cmp(lambda x, y: x % y if y else None),
}


def _strides(dims):
    strides, s = [], 1
    for d in reversed(dims):
        strides.append(s)
        s *= d
    strides.reverse()
    return strides


def _pick(value, picks):
    """Elements of a folded tensor at the cartesian product of per-axis indices."""
    idx = [0]
    for p, st in zip(picks, _strides(value[0])):
        idx = [i + j * st for i in idx for j in p]
    return [value[1][i] for i in idx]


def _bcast_index(out_dims, in_dims):
    """Flat index into an input for each element of a broadcast output."""
    in_dims = (1,) * (len(out_dims) - len(in_dims)) + tuple(in_dims)
    strides = _strides(in_dims)
    idx = [0]
    for d, ind, st in zip(out_dims, in_dims, strides):
        idx = [i + (j if ind != 1 else 0) * st for i in idx for j in range(d)]
    return idx


def _fold_elementwise(c, fn, out_dims, count):
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
    cols = [[v[1][k] for k in _bcast_index(out_dims, v[0])] for v in vals]
    if count == 1:
        flat = [fn(x) for x in cols[0]]
    elif count == 2:
        flat = [fn(x, y) for x, y in zip(*cols)]
    else:
        flat = [fn(*xs) for xs in zip(*cols)]
    c.fold(0, out_dims, flat)


# --- handlers: ctx -> [(dtype, dims) | None per output] ---------------------

def _h_unary(c):
    t = c.ins[0] if c.ins else None
    return [t]


def _h_identity(c):
    v = c.value(0)
    if v is not None:
        c.fold(0, v[0], v[1])
    return [c.ins[0] if c.ins else None]


def _h_bool_unary(c):
    return [("bool", c.dims(0))]


def _h_neg(c):
    d = c.dims(0)
    _fold_elementwise(c, lambda x: dim_sub(0, x) if type(x) is str else (-x if _num(x) else None),
                      d, 1)
    return [c.ins[0] if c.ins else None]


def _h_round_like(fn):
    def h(c):
        _fold_elementwise(c, lambda x: fn(x) if type(x) is float and math.isfinite(x)
                          else (x if type(x) in (int, str) else None), c.dims(0), 1)
        return [c.ins[0] if c.ins else None]
    return h


def _h_binary(c):
    n = len(c.node.inputs)
    dims = broadcast([c.dims(i) for i in range(n)])
    fn = _FOLD_BINARY.get(c.node.op)
    if fn is not None and n == 2:
        _fold_elementwise(c, fn, dims, 2)
    return [(c.dtype(0), dims)]


def _h_compare(c):
    dims = broadcast([c.dims(0), c.dims(1)])
    fn = _FOLD_BINARY.get(c.node.op)
    if fn is not None:
        _fold_elementwise(c, fn, dims, 2)
    return [("bool", dims)]


def _h_not(c):
    _fold_elementwise(c, lambda x: (not x) if _num(x) else None, c.dims(0), 1)
    return [("bool", c.dims(0))]


def _h_where(c):
    dims = broadcast([c.dims(0), c.dims(1), c.dims(2)])
    _fold_elementwise(c, lambda k, x, y: None if not _num(k) else (x if k else y), dims, 3)
    return [(c.dtype(1), dims)]


def _h_variadic(c):
    dims = broadcast([c.dims(i) for i in range(len(c.node.inputs))])
    if c.node.op in ("Max", "Min") and len(c.node.inputs) == 2:
        _fold_elementwise(c, _FOLD_BINARY[c.node.op], dims, 2)
    return [(c.dtype(0), dims)]


def _h_cast(c):
    to = dtype_name(c.attr("to", 0))
    d = c.dims(0)
    if to in _FLOATS:
        fn = (lambda x: float(x) if _num(x) else (x if type(x) is str else None))
    elif to == "bool":
        fn = (lambda x: bool(x) if _num(x) else (True if type(x) is str else None))
    elif to in _NUMERIC_BITS:
        fn = (lambda x: int(x) if _num(x) and math.isfinite(x) else (x if type(x) is str else None))
    else:
        fn = None
    if fn is not None:
        _fold_elementwise(c, fn, d, 1)
    return [(to, d)]


def _h_castlike(c):
    return [(c.dtype(1), c.dims(0))]


def _h_dropout(c):
    d = c.dims(0)
    return [c.ins[0] if c.ins else None, ("bool", d)]


def _h_batchnorm(c):
    stats = c.ins[3] if len(c.ins) > 3 else None
    return [c.ins[0] if c.ins else None, stats, stats]


def _h_layernorm(c):
    d = c.dims(0)
    stat = None
    if d is not None:
        axis = _axis(c.attr("axis", -1), len(d))
        stype = dtype_name(c.attr("stash_type", 1))
        stat = (stype, d[:axis] + (1,) * (len(d) - axis))
    return [c.ins[0] if c.ins else None, stat, stat]


def _h_constant(c):
    n = c.node
    for a in n.attributes:
        if a.ref is not None or a.type != ATTR_TYPES.get(a.name, a.type):
            raise _Unknown(a.name)
        if a.name == "value":
            t = a.value
            if n.outputs and n.outputs[0]:
                c.lazy[n.outputs[0]] = t
            return [(t.dtype, tuple(t.dims))]
        if a.name == "value_int":
            c.fold(0, (), [a.value])
            return [("int64", ())]
        if a.name == "value_ints":
            if len(a.value) <= MAX_FOLD:
                c.fold(0, (len(a.value),), list(a.value))
            return [("int64", (len(a.value),))]
        if a.name == "value_float":
            c.fold(0, (), [a.value])
            return [("float32", ())]
        if a.name == "value_floats":
            if len(a.value) <= MAX_FOLD:
                c.fold(0, (len(a.value),), list(a.value))
            return [("float32", (len(a.value),))]
        if a.name == "value_string":
            return [("string", ())]
        if a.name == "value_strings":
            return [("string", (len(a.value),))]
        if a.name == "sparse_value":
            return [(a.value.dtype, tuple(a.value.dims))]
    return [None]


def _h_shape(c):
    d = c.dims(0)
    if d is None:
        return [("int64", (None,))]
    r = len(d)
    start, end = c.attr("start", 0), c.attr("end", r)
    start = max(0, min(r, start + r if start < 0 else start))
    end = max(0, min(r, end + r if end < 0 else end))
    part = list(d[start:end]) if end > start else []
    c.fold(0, (len(part),), part)
    return [("int64", (len(part),))]


def _h_size(c):
    d = c.dims(0)
    if d is not None:
        c.fold(0, (), [dim_prod(d)])
    return [("int64", ())]


def _h_matmul(c, dtype=None):
    a, b = c.dims(0), c.dims(1)
    return [(dtype or c.dtype(0), _matmul_dims(a, b))]


def _matmul_dims(a, b):
    if a is None or b is None or not a or not b:
        return None
    A = (1,) + a if len(a) == 1 else a
    B = b + (1,) if len(b) == 1 else b
    batch = broadcast([A[:-2], B[:-2]])
    out = batch + (A[-2], B[-1])
    if len(b) == 1:
        out = out[:-1]
    if len(a) == 1:
        out = out[:-2] + out[-1:] if len(b) != 1 else out[:-1]
    return out


def _h_matmul_int(c):
    return _h_matmul(c, "int32")


def _h_qlinear_matmul(c):
    a, b = c.dims(0), c.dims(3)
    return [(c.dtype(7), _matmul_dims(a, b))]


def _h_gemm(c):
    a, b = c.dims(0), c.dims(1)
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return [(c.dtype(0), None if a is None or b is None else (None, None))]
    m = a[1] if c.attr("transA", 0) else a[0]
    n = b[0] if c.attr("transB", 0) else b[1]
    return [(c.dtype(0), (m, n))]


def _spatial_attrs(c, rank):
    """kernel, strides, dilations, pads (begin..., end...) for `rank` spatial axes."""
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    pads = c.attr("pads") or [0] * (2 * rank)
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise ValueError("spatial attributes do not match the rank")
    return strides, dilations, pads


def _auto_pad(c):
    ap = c.attr("auto_pad", "NOTSET")
    return ap.decode() if isinstance(ap, bytes) else ap


def _window_out(size, k, s, dil, pb, pe, auto_pad, ceil_mode=False):
    """Output length of a sliding window (Conv, pooling)."""
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return _ceil_div(size, s)
    if auto_pad == "VALID":
        pb = pe = 0
    eff = dil * (k - 1) + 1
    span = dim_sub(dim_add(size, pb + pe), eff)
    if not ceil_mode:
        return dim_add(_floor_div(span, s), 1)
    if type(span) is int:
        n = -(-span // s) + 1
        if (n - 1) * s >= size + pb:   # the last window must start inside the input
            n -= 1
        return n
    n = dim_add(dim_div(span, s), 1)   # exact: the last window ends at the input's end
    return dim_sub(n, 1) if n is not None and pe >= eff else n


def _conv_like(c, x, kernel, channels):
    if x is None:
        return None
    rank = len(x) - 2
    if rank < 0:
        return None
    if kernel is None or len(kernel) != rank:
        return (x[0], channels) + (None,) * rank
    strides, dilations, pads = _spatial_attrs(c, rank)
    ap = _auto_pad(c)
    out = [x[0], channels]
    for i in range(rank):
        if kernel[i] is None or type(kernel[i]) is not int:
            out.append(None)
        else:
            out.append(_window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                                   pads[i + rank], ap))
    return tuple(out)


def _kernel(c, w):
    k = c.attr("kernel_shape")
    if k:
        return list(k)
    return None if w is None else list(w[2:])


def _h_conv(c, x_at=0, w_at=1, dtype=None):
    x, w = c.dims(x_at), c.dims(w_at)
    channels = w[0] if w else None
    return [(dtype or c.dtype(x_at), _conv_like(c, x, _kernel(c, w), channels))]


def _h_conv_int(c):
    return _h_conv(c, dtype="int32")


def _h_qlinear_conv(c):
    return _h_conv(c, 0, 3, c.dtype(7))


def _h_conv_transpose(c):
    x, w = c.dims(0), c.dims(1)
    if x is None:
        return [(c.dtype(0), None)]
    rank = len(x) - 2
    group = c.attr("group", 1)
    channels = dim_mul(w[1], group) if w and len(w) > 1 else None
    kernel = _kernel(c, w)
    output_shape = c.attr("output_shape")
    if output_shape and 0 < rank <= len(output_shape):
        return [(c.dtype(0), (x[0], channels) + tuple(output_shape[-rank:]))]
    if kernel is None or len(kernel) != rank:
        return [(c.dtype(0), (x[0], channels) + (None,) * rank)]
    strides, dilations, pads = _spatial_attrs(c, rank)
    outpad = c.attr("output_padding") or [0] * rank
    ap = _auto_pad(c)
    out = [x[0], channels]
    for i in range(rank):
        if ap in ("SAME_UPPER", "SAME_LOWER"):
            out.append(dim_mul(x[2 + i], strides[i]))
            continue
        pb, pe = (0, 0) if ap == "VALID" else (pads[i], pads[i + rank])
        full = dim_add(dim_mul(strides[i], dim_sub(x[2 + i], 1)),
                       outpad[i] + (kernel[i] - 1) * dilations[i] + 1)
        out.append(dim_sub(full, pb + pe))
    return [(c.dtype(0), tuple(out))]


def _h_pool(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None), ("int64", None)]
    rank = len(x) - 2
    kernel = c.attr("kernel_shape")
    if not kernel or len(kernel) != rank:
        raise ValueError("pooling without a kernel_shape of the input's rank")
    strides, dilations, pads = _spatial_attrs(c, rank)
    ceil_mode = c.attr("ceil_mode", 0)
    ap = _auto_pad(c)
    out = [x[0], x[1]]
    for i in range(rank):
        out.append(_window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                               pads[i + rank], ap, ceil_mode))
    return [(c.dtype(0), tuple(out)), ("int64", tuple(out))]


def _h_global_pool(c):
    x = c.dims(0)
    return [(c.dtype(0), None if x is None else x[:2] + (1,) * (len(x) - 2))]


def _h_roi(c):
    x, rois = c.dims(0), c.dims(1)
    if c.node.op == "MaxRoiPool":
        ph, pw = c.attr("pooled_shape")
    else:
        ph, pw = c.attr("output_height", 1), c.attr("output_width", 1)
    n = rois[0] if rois else None
    return [(c.dtype(0), (n, x[1] if x else None, ph, pw))]


def _h_reshape(c):
    x = c.dims(0)
    target = c.ints(1)
    if target is None:
        s = c.dims(1)
        return [(c.dtype(0), None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                 else (None,) * s[0])]
    allowzero = c.attr("allowzero", 0)
    out, infer_at = [], -1
    for i, t in enumerate(target):
        if t == 0 and not allowzero and type(t) is int:
            out.append(x[i] if x is not None and i < len(x) else None)
        elif t == -1 and type(t) is int:
            if infer_at >= 0:
                raise ValueError("two -1 in a Reshape target")
            infer_at = i
            out.append(None)
        elif type(t) is int and t < 0:
            raise ValueError("negative Reshape target")
        else:
            out.append(t)
    if infer_at >= 0 and x is not None:
        rest = dim_prod(out[:infer_at] + out[infer_at + 1:])
        total = dim_prod(x)
        if rest == 0 or rest is None or total is None:
            out[infer_at] = None
        else:
            out[infer_at] = dim_div(total, rest)
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), tuple(out))]


def _h_flatten(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), (None, None))]
    a = c.attr("axis", 1)
    a = a + len(x) if a < 0 else a
    if not 0 <= a <= len(x):
        raise ValueError("Flatten axis out of range")
    out = (dim_prod(x[:a]), dim_prod(x[a:]))
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_transpose(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    perm = c.attr("perm") or list(range(len(x) - 1, -1, -1))
    if len(perm) != len(x) or sorted(perm) != list(range(len(x))):
        raise ValueError("Transpose perm is not a permutation of the axes")
    out = tuple(x[p] for p in perm)
    v = c.value(0)
    if v is not None:
        strides = _strides(v[0])
        idx = [0]
        for p in perm:   # output order, reading the input with its strides
            idx = [i + j * strides[p] for i in idx for j in range(v[0][p])]
        c.fold(0, out, [v[1][i] for i in idx])
    return [(c.dtype(0), out)]


def _axes_of(c, input_at, name="axes"):
    """Axes given as an attribute (older opsets) or an input; 'absent' or None."""
    a = c.attr(name)
    if a is not None:
        return a
    if c.has(input_at):
        v = c.ints(input_at)
        if v is None or any(type(x) is not int for x in v):
            return None
        return v
    return "absent"


def _h_squeeze(c):
    x = c.dims(0)
    axes = _axes_of(c, 1)
    if x is None or axes is None:
        return [(c.dtype(0), None)]
    if axes == "absent":
        if any(type(d) is not int for d in x):
            return [(c.dtype(0), None)]
        out = tuple(d for d in x if d != 1)
    else:
        drop = {_axis(a, len(x)) for a in axes}
        out = tuple(d for i, d in enumerate(x) if i not in drop)
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_unsqueeze(c):
    x = c.dims(0)
    axes = _axes_of(c, 1)
    if x is None or axes is None or axes == "absent":
        return [(c.dtype(0), None)]
    r = len(x) + len(axes)
    if r > MAX_RANK:
        raise ValueError("rank too large")
    if len(axes) == 1:
        a = _axis(axes[0], r)
        out = x[:a] + (1,) + x[a:]
    else:
        put = {_axis(a, r) for a in axes}
        if len(put) != len(axes):
            raise ValueError("repeated axes")
        it = iter(x)
        out = tuple(1 if i in put else next(it) for i in range(r))
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_concat(c):
    shapes = [None if t is None else t[1] for t in c.ins]
    known = [s for s in shapes if s is not None]
    if not known:
        return [(c.dtype(0), None)]
    r = len(known[0])
    axis = _axis(c.attr("axis"), r)
    out = list(known[0])
    for s in known[1:]:
        if len(s) != r:
            raise ValueError("Concat of different ranks")
        if r > 1:
            for i in range(r):
                if i != axis:
                    out[i] = _same(out[i], s[i])
    total = 0
    for s in shapes:
        total = dim_add(total, None if s is None else s[axis])
    out[axis] = total
    if r == 1 and type(total) is int and total <= MAX_FOLD:
        flat = []
        for i in range(len(shapes)):
            v = c.value(i)
            if v is None:
                break
            flat += v[1]
        else:
            c.fold(0, out, flat)
    return [(c.dtype(0), tuple(out))]


def _h_split(c):
    x = c.dims(0)
    n = len(c.node.outputs)
    if x is None:
        return [(c.dtype(0), None)] * n
    axis = _axis(c.attr("axis", 0), len(x))
    sizes = c.attr("split")
    if sizes is None and c.has(1):
        sizes = c.ints(1)
        if sizes is None:
            return [(c.dtype(0), x[:axis] + (None,) + x[axis + 1:])] * n
    if sizes is None:
        parts = c.attr("num_outputs")
        d = x[axis]
        if parts is not None and parts != n:
            raise ValueError("Split num_outputs differs from its outputs")
        if parts is not None and type(d) is int:
            chunk = -(-d // parts)
            sizes = [chunk] * (parts - 1) + [d - chunk * (parts - 1)]
        else:
            sizes = [dim_div(d, n)] * n
    return [(c.dtype(0), x[:axis] + (s,) + x[axis + 1:]) for s in sizes[:n]]


def _slice_len(d, start, end, step):
    """Length of x[start:end:step] along an axis of length d (ONNX Slice clamping)."""
    if None in (start, end, step) or step == 0:
        return None
    if type(d) is int and type(start) is int and type(end) is int:
        return len(range(*slice(start, end, step).indices(d)))
    if type(step) is not int:
        return None
    if step == 1:
        if type(start) is int and start < 0:
            start = dim_add(d, start)
        if type(end) is int:
            if end >= BIG:
                end = d
            elif end < 0:
                end = dim_add(d, end)
        n = dim_sub(end, start)   # when 0 <= start <= end <= d is provable
        if _nonneg(start) and _nonneg(n) and _nonneg(dim_sub(d, end)):
            return n
        return None
    if step == -1 and type(start) is int and type(end) is int \
            and (start == -1 or start >= BIG) and end <= -BIG:
        return d
    return None


def _h_slice(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    if c.attr("starts") is not None:
        starts, ends = list(c.attr("starts")), list(c.attr("ends"))
        axes = c.attr("axes") or list(range(len(starts)))
        steps = [1] * len(starts)
    else:
        starts, ends = c.ints(1), c.ints(2)
        axes = c.ints(3) if c.has(3) else None
        steps = c.ints(4) if c.has(4) else None
        if starts is None or ends is None or (c.has(3) and axes is None):
            if c.has(3) and axes is None:
                return [(c.dtype(0), (None,) * r)]
            out = list(x)
            for a in (axes or range(r)):
                out[_axis(a, r)] = None
            return [(c.dtype(0), tuple(out))]
        axes = axes or list(range(len(starts)))
        steps = steps or [1] * len(starts)
    out = list(x)
    spec = {}
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, r)
        spec[a] = (s, e, st)
        out[a] = _slice_len(x[a], s, e, st)
    v = c.value(0)
    if v is not None and all(type(t) is int for sp in spec.values() for t in sp):
        picks = [range(d) for d in v[0]]
        for a, (s, e, st) in spec.items():
            picks[a] = range(*slice(s, e, st).indices(v[0][a]))
        c.fold(0, out, _pick(v, picks))
    return [(c.dtype(0), tuple(out))]


def _h_gather(c):
    x, idx = c.dims(0), c.dims(1)
    if x is None or idx is None:
        return [(c.dtype(0), None)]
    axis = _axis(c.attr("axis", 0), len(x))
    out = x[:axis] + idx + x[axis + 1:]
    v, iv = c.value(1), None
    if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        iv = c.value(0)
    if iv is not None:
        dims, flat = iv
        n = dims[axis]
        inner = math.prod(dims[axis + 1:])
        outer = math.prod(dims[:axis])
        res = []
        for o in range(outer):
            for k in v[1]:
                if type(k) is not int or not -n <= k < n:
                    return [(c.dtype(0), out)]
                k = k + n if k < 0 else k
                base = (o * n + k) * inner
                res += flat[base:base + inner]
        c.fold(0, out, res)
    return [(c.dtype(0), out)]


def _h_gather_elements(c):
    return [(c.dtype(0), c.dims(1))]


def _h_gather_nd(c):
    x, idx = c.dims(0), c.dims(1)
    b = c.attr("batch_dims", 0)
    if x is None or idx is None or not idx or type(idx[-1]) is not int:
        return [(c.dtype(0), None)]
    return [(c.dtype(0), idx[:-1] + x[b + idx[-1]:])]


def _h_expand(c):
    x = c.dims(0)
    target = c.ints(1)
    if target is None:
        s = c.dims(1)
        if x is None or not s or type(s[0]) is not int or s[0] > MAX_RANK:
            return [(c.dtype(0), None)]
        target = [None] * s[0]
    if x is None:
        return [(c.dtype(0), None)]
    out = broadcast([x, tuple(target)])
    v = c.value(0)
    if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        c.fold(0, out, [v[1][k] for k in _bcast_index(out, v[0])])
    return [(c.dtype(0), out)]


def _h_tile(c):
    x = c.dims(0)
    reps = c.ints(1)
    if x is None:
        return [(c.dtype(0), None)]
    if reps is None or len(reps) != len(x):
        return [(c.dtype(0), (None,) * len(x))]
    return [(c.dtype(0), tuple(dim_mul(d, r) for d, r in zip(x, reps)))]


def _h_constant_of_shape(c):
    shape = c.ints(0)
    dtype, fill = "float32", 0.0
    t = c.attr("value")
    if t is not None:
        dtype = t.dtype
        v = _read(t)
        fill = v[1][0] if v and v[1] else None
    if shape is None:
        s = c.dims(0)
        return [(dtype, None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                 else (None,) * s[0])]
    out = tuple(shape)
    if all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        c.fold(0, out, [fill] * math.prod(out))
    return [(dtype, out)]


def _scalar(c, i):
    v = c.value(i)
    if v is None or len(v[1]) != 1:
        return None
    return v[1][0]


def _h_range(c):
    start, limit, delta = _scalar(c, 0), _scalar(c, 1), _scalar(c, 2)
    n = None
    if _num(start) and _num(limit) and _num(delta) and delta != 0:
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


def _h_reduce(c):
    x = c.dims(0)
    keep = c.attr("keepdims", 1)
    axes = _axes_of(c, 1)
    if x is None or axes is None:
        return [(c.dtype(0), None if not keep or x is None else (None,) * len(x))]
    if axes == "absent" or not axes:
        if c.attr("noop_with_empty_axes", 0):
            return [c.ins[0]]
        axes = range(len(x))
    drop = {_axis(a, len(x)) for a in axes}
    out = tuple((1 if keep else None) if i in drop else d for i, d in enumerate(x))
    if not keep:
        out = tuple(d for i, d in enumerate(x) if i not in drop)
    if c.node.op in ("ReduceProd", "ReduceSum") and len(x) == 1:
        v = c.value(0)
        if v is not None:
            fn = dim_mul if c.node.op == "ReduceProd" else dim_add
            acc = 1 if c.node.op == "ReduceProd" else 0
            for e in v[1]:
                acc = fn(acc, e) if type(e) in (int, str) and type(acc) in (int, str) else None
            c.fold(0, out, [acc])
    return [(c.dtype(0), out)]


def _h_argreduce(c):
    x = c.dims(0)
    if x is None:
        return [("int64", None)]
    a = _axis(c.attr("axis", 0), len(x))
    if c.attr("keepdims", 1):
        return [("int64", x[:a] + (1,) + x[a + 1:])]
    return [("int64", x[:a] + x[a + 1:])]


def _h_topk(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None), ("int64", None)]
    a = _axis(c.attr("axis", -1), len(x))
    k = c.attr("k") if c.attr("k") is not None else _scalar(c, 1)
    k = k if type(k) in (int, str) else None
    out = x[:a] + (k,) + x[a + 1:]
    return [(c.dtype(0), out), ("int64", out)]


def _h_pad(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    pads = c.attr("pads")
    if pads is None:
        pads = c.ints(1)
    axes = c.ints(3) if c.has(3) else list(range(r))
    if pads is None or axes is None or len(pads) != 2 * len(axes):
        return [(c.dtype(0), (None,) * r)]
    out = list(x)
    n = len(axes)
    for j, a in enumerate(axes):
        a = _axis(a, r)
        out[a] = dim_add(dim_add(x[a], pads[j]), pads[j + n])
    return [(c.dtype(0), tuple(out))]


def _h_resize(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    if c.node.op == "Upsample":
        scales = c.attr("scales")
        if scales is None:
            v = c.value(1)
            scales = v[1] if v else None
        sizes = None
    elif len(c.node.inputs) == 2:   # opset 10: X, scales
        v = c.value(1)
        scales, sizes = (v[1] if v else None), None
    else:
        vs = c.value(2) if c.has(2) else None
        scales = vs[1] if vs and vs[1] else None
        sizes = c.ints(3) if c.has(3) else None
        if c.has(3) and sizes is None and not scales:
            return [(c.dtype(0), (None,) * r)]
    axes = c.attr("axes")
    axes = [_axis(a, r) for a in axes] if axes else list(range(r))
    out = list(x)
    if sizes is not None:
        if len(sizes) != len(axes):
            raise ValueError("Resize sizes do not match the axes")
        policy = c.attr("keep_aspect_ratio_policy", "stretch")
        policy = policy.decode() if isinstance(policy, bytes) else policy
        if policy != "stretch":
            ins = [x[a] for a in axes]
            if any(type(d) is not int or d == 0 for d in ins + sizes):
                return [(c.dtype(0), tuple(None if i in axes else d for i, d in enumerate(x)))]
            ratios = [s / d for s, d in zip(sizes, ins)]
            scale = min(ratios) if policy == "not_larger" else max(ratios)
            sizes = [int(math.floor(d * scale + 0.5)) for d in ins]
        for a, s in zip(axes, sizes):
            out[a] = s
    elif scales is not None:
        if len(scales) != len(axes):
            raise ValueError("Resize scales do not match the axes")
        for a, s in zip(axes, scales):
            d = x[a]
            if type(d) is int and _num(s):
                out[a] = int(math.floor(d * s))
            elif type(d) is str and _num(s) and float(s).is_integer():
                out[a] = dim_mul(d, int(s))
            else:
                out[a] = None
    else:
        out = [None] * r
    return [(c.dtype(0), tuple(out))]


def _h_depth_to_space(c):
    x = c.dims(0)
    b = c.attr("blocksize")
    if x is None or len(x) != 4:
        return [(c.dtype(0), None)]
    n, ch, h, w = x
    if c.node.op == "DepthToSpace":
        return [(c.dtype(0), (n, dim_div(ch, b * b), dim_mul(h, b), dim_mul(w, b)))]
    return [(c.dtype(0), (n, dim_mul(ch, b * b), dim_div(h, b), dim_div(w, b)))]


def _h_onehot(c):
    idx = c.dims(0)
    depth = _scalar(c, 1)
    depth = int(depth) if _num(depth) else None
    if idx is None:
        return [(c.dtype(2), None)]
    r = len(idx) + 1
    a = _axis(c.attr("axis", -1), r)
    return [(c.dtype(2), idx[:a] + (depth,) + idx[a:])]


def _h_nonzero(c):
    x = c.dims(0)
    return [("int64", (None if x is None else len(x), None))]


def _h_compress(c):
    x = c.dims(0)
    a = c.attr("axis")
    if x is None:
        return [(c.dtype(0), None)]
    if a is None:
        return [(c.dtype(0), (None,))]
    a = _axis(a, len(x))
    return [(c.dtype(0), x[:a] + (None,) + x[a + 1:])]


def _h_nms(c):
    return [("int64", (None, 3))]


def _h_quantize(c):
    dtype = c.dtype(2) if c.has(2) else "uint8"
    od = c.attr("output_dtype", 0)
    if od:
        dtype = dtype_name(od)
    return [(dtype, c.dims(0))]


def _h_dequantize(c):
    od = c.attr("output_dtype", 0)
    dtype = dtype_name(od) if od else (c.dtype(1) or "float32")
    return [(dtype, c.dims(0))]


def _h_dynamic_quantize(c):
    return [("uint8", c.dims(0)), ("float32", ()), ("uint8", ())]


def _h_random(c):
    shape = c.attr("shape")
    if shape is not None and len(shape) > MAX_RANK:
        raise ValueError("rank too large")
    return [(dtype_name(c.attr("dtype", 1)), None if shape is None else tuple(shape))]


def _h_random_like(c):
    d = c.attr("dtype")
    return [(dtype_name(d) if d is not None else c.dtype(0), c.dims(0))]


def _h_multinomial(c):
    x = c.dims(0)
    return [(dtype_name(c.attr("dtype", 6)), None if x is None else (x[0], c.attr("sample_size", 1)))]


def _h_det(c):
    x = c.dims(0)
    return [(c.dtype(0), None if x is None or len(x) < 2 else x[:-2])]


def _h_grid_sample(c):
    x, g = c.dims(0), c.dims(1)
    if x is None or g is None:
        return [(c.dtype(0), None)]
    return [(c.dtype(0), (x[0], x[1]) + g[1:-1])]


def _h_rnn(c):
    x, w = c.dims(0), c.dims(1)
    if x is None:
        return [None, None, None]
    layout = c.attr("layout", 0)
    seq, batch = (x[1], x[0]) if layout else (x[0], x[1])
    hidden = c.attr("hidden_size")
    direction = c.attr("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    nd = 2 if direction == "bidirectional" else 1
    if hidden is None and w is not None:
        gates = {"LSTM": 4, "GRU": 3}.get(c.node.op, 1)
        hidden = dim_div(w[1], gates)
    if layout:
        y, h = (batch, seq, nd, hidden), (batch, nd, hidden)
    else:
        y, h = (seq, nd, batch, hidden), (nd, batch, hidden)
    t = c.dtype(0)
    return [(t, y), (t, h), (t, h)]


def _h_attention(c):
    """ONNX Attention (opset 23): Q/K/V as [B, heads, seq, head] or [B, seq, hidden]."""
    q, k, v = c.dims(0), c.dims(1), c.dims(2)
    t = c.dtype(0)
    if q is None or k is None or v is None or len(k) != len(q) or len(v) != len(q):
        return [(t, None)] * 4
    if len(q) == 3:
        heads, kv_heads = c.attr("q_num_heads"), c.attr("kv_num_heads")
        if not heads or not kv_heads:
            return [(t, None)] * 4
        b, q_seq, kv_seq = q[0], q[1], k[1]
        k_head, v_head = dim_div(k[2], kv_heads), dim_div(v[2], kv_heads)
        y = (b, q_seq, dim_mul(heads, v_head))
    elif len(q) == 4:
        b, heads, q_seq = q[0], q[1], q[2]
        kv_heads, kv_seq, k_head, v_head = k[1], k[2], k[3], v[3]
        y = (b, heads, q_seq, v_head)
    else:
        return [(t, None)] * 4
    total = kv_seq
    if c.has(4):
        past = c.dims(4)
        total = dim_add(past[2], kv_seq) if past and len(past) == 4 else None
    return [(t, y), (t, (b, kv_heads, total, k_head)), (t, (b, kv_heads, total, v_head)),
            (t, (b, heads, q_seq, total))]


def _h_loss(c):
    reduction = c.attr("reduction", "mean")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    out = c.dims(1) if reduction == "none" else ()
    return [(c.dtype(0), out), c.ins[0] if c.ins else None]


def _h_center_crop_pad(c):
    x, shape = c.dims(0), c.ints(1)
    if x is None:
        return [(c.dtype(0), None)]
    axes = c.attr("axes") or list(range(len(x)))
    out = list(x)
    for j, a in enumerate(axes):
        out[_axis(a, len(x))] = shape[j] if shape is not None and j < len(shape) else None
    return [(c.dtype(0), tuple(out))]


def _h_affine_grid(c):
    size = c.ints(1)
    if size is None or len(size) not in (4, 5):
        return [(c.dtype(0), None)]
    return [(c.dtype(0), (size[0],) + tuple(size[2:]) + (len(size) - 2,))]


def _h_einsum(c):
    eq = c.attr("equation", "").replace(" ", "")
    if len(eq) > 256:
        return [(c.dtype(0), None)]
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(c.node.inputs):
        raise ValueError("Einsum equation does not match the inputs")
    letters, ell = {}, []
    for i, term in enumerate(terms):
        x = c.dims(i)
        if x is None:
            return [(c.dtype(0), None)]
        labels = term.replace("...", ".")
        n_ell = len(x) - (len(labels) - 1) if "." in labels else 0
        if "." not in labels and len(labels) != len(x) or n_ell < 0:
            raise ValueError("Einsum term does not match the input's rank")
        pos = 0
        for ch in labels:
            if ch == ".":
                part = x[pos:pos + n_ell]
                ell = list(broadcast([tuple(ell), part]))
                pos += n_ell
            else:
                letters[ch] = _bdim(letters[ch], x[pos]) if ch in letters else x[pos]
                pos += 1
    if arrow:
        out_labels = rhs.replace("...", ".")
    else:
        counts = {}
        for ch in lhs.replace("...", "").replace(",", ""):
            counts[ch] = counts.get(ch, 0) + 1
        out_labels = ("." if "..." in lhs else "") + "".join(sorted(ch for ch, k in counts.items() if k == 1))
    out = []
    for ch in out_labels:
        if ch == ".":
            out += ell
        elif ch in letters:
            out.append(letters[ch])
        else:
            raise ValueError("Einsum output label not in the inputs")
    return [(c.dtype(0), tuple(out))]


def _h_if(c):
    branches = [c.attr("then_branch"), c.attr("else_branch")]
    outs = []
    for k in range(len(c.node.outputs)):
        types = []
        for g in branches:
            if g is None or k >= len(g.outputs):
                types.append(None)
                continue
            t = g.types.get(g.outputs[k])
            types.append((t[1], t[2]) if t and t[0] == "tensor" else None)
        a, b = types
        if a is None or b is None:
            outs.append(None)
        elif a[1] is None or b[1] is None or len(a[1]) != len(b[1]):
            outs.append((a[0] if a[0] == b[0] else None, None))
        else:
            outs.append((a[0] if a[0] == b[0] else None,
                         tuple(x if x == y else None for x, y in zip(a[1], b[1]))))
    return outs


def _h_loop(c):
    body = c.attr("body")
    carried = len(c.node.inputs) - 2
    outs = [c.ins[2 + k] if 2 + k < len(c.ins) else None for k in range(max(carried, 0))]
    if body is not None:
        for k in range(carried, len(c.node.outputs)):
            j = 1 + k
            t = body.types.get(body.outputs[j]) if j < len(body.outputs) else None
            if t and t[0] == "tensor":
                outs.append((t[1], None if t[2] is None else (None,) + tuple(t[2])))
            else:
                outs.append(None)
    return outs


_UNARY = """Abs Acos Acosh Asin Asinh Atan Atanh BitwiseNot Celu Clip Cos Cosh Elu Erf Exp
Gelu HardSigmoid HardSwish Hardmax LeakyRelu Log LogSoftmax LpNormalization LRN
MeanVarianceNormalization Mish Reciprocal Relu Selu Shrink Sigmoid Sign Sin Sinh Softmax
Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Trilu CumSum ReverseSequence
InstanceNormalization GroupNormalization RMSNormalization Swish Scatter ScatterElements
ScatterND TensorScatter RotaryEmbedding CumProd""".split()
_BINARY = "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor PRelu".split()
_COMPARE = "Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor".split()
_REDUCE = """ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare ReduceL1
ReduceL2 ReduceLogSum ReduceLogSumExp""".split()

HANDLERS = {op: _h_unary for op in _UNARY}
HANDLERS.update({op: _h_binary for op in _BINARY})
HANDLERS.update({op: _h_compare for op in _COMPARE})
HANDLERS.update({op: _h_reduce for op in _REDUCE})
HANDLERS.update({
    "Identity": _h_identity, "Neg": _h_neg, "Not": _h_not, "IsNaN": _h_bool_unary,
    "IsInf": _h_bool_unary, "Floor": _h_round_like(math.floor),
    "Ceil": _h_round_like(math.ceil), "Round": _h_round_like(round),
    "Where": _h_where, "Max": _h_variadic, "Min": _h_variadic, "Sum": _h_variadic,
    "Mean": _h_variadic, "Cast": _h_cast, "CastLike": _h_castlike, "Dropout": _h_dropout,
    "BatchNormalization": _h_batchnorm, "LayerNormalization": _h_layernorm,
    "Constant": _h_constant, "Shape": _h_shape, "Size": _h_size,
    "MatMul": _h_matmul, "MatMulInteger": _h_matmul_int, "QLinearMatMul": _h_qlinear_matmul,
    "Gemm": _h_gemm, "Conv": _h_conv, "ConvInteger": _h_conv_int, "DeformConv": _h_conv,
    "QLinearConv": _h_qlinear_conv, "ConvTranspose": _h_conv_transpose,
    "MaxPool": _h_pool, "AveragePool": _h_pool, "LpPool": _h_pool,
    "GlobalAveragePool": _h_global_pool, "GlobalMaxPool": _h_global_pool,
    "GlobalLpPool": _h_global_pool, "MaxRoiPool": _h_roi, "RoiAlign": _h_roi,
    "Reshape": _h_reshape, "Flatten": _h_flatten, "Transpose": _h_transpose,
    "Squeeze": _h_squeeze, "Unsqueeze": _h_unsqueeze, "Concat": _h_concat,
    "Split": _h_split, "Slice": _h_slice, "Gather": _h_gather,
    "GatherElements": _h_gather_elements, "GatherND": _h_gather_nd, "Expand": _h_expand,
    "Tile": _h_tile, "ConstantOfShape": _h_constant_of_shape, "Range": _h_range,
    "ArgMax": _h_argreduce, "ArgMin": _h_argreduce, "TopK": _h_topk, "Pad": _h_pad,
    "Resize": _h_resize, "Upsample": _h_resize, "DepthToSpace": _h_depth_to_space,
    "SpaceToDepth": _h_depth_to_space, "OneHot": _h_onehot, "NonZero": _h_nonzero,
    "Compress": _h_compress, "NonMaxSuppression": _h_nms, "QuantizeLinear": _h_quantize,
    "DequantizeLinear": _h_dequantize, "DynamicQuantizeLinear": _h_dynamic_quantize,
    "RandomNormal": _h_random, "RandomUniform": _h_random,
    "RandomNormalLike": _h_random_like, "RandomUniformLike": _h_random_like,
    "Bernoulli": _h_random_like, "EyeLike": _h_random_like,
    "SoftmaxCrossEntropyLoss": _h_loss, "NegativeLogLikelihoodLoss": _h_loss,
    "CenterCropPad": _h_center_crop_pad, "AffineGrid": _h_affine_grid,
    "Multinomial": _h_multinomial, "Det": _h_det, "GridSample": _h_grid_sample,
    "LSTM": _h_rnn, "GRU": _h_rnn, "RNN": _h_rnn, "Attention": _h_attention,
    "Einsum": _h_einsum, "If": _h_if, "Loop": _h_loop,
})
_STANDARD = ("", "ai.onnx")
_CATCH = (ArithmeticError, ValueError, TypeError, IndexError, KeyError, AttributeError)


# --- cost rules: c (CostContext) -> (flops, macs) ------------------------------

ELEMENTWISE_FLOPS = {"Gelu": 8, "HardSigmoid": 3, "HardSwish": 4, "Mish": 4, "Softplus": 2,
                     "Softsign": 2, "Elu": 3, "Selu": 3, "Celu": 3, "Swish": 2, "Clip": 2,
                     "Shrink": 2, "LeakyRelu": 2, "ThresholdedRelu": 1, "PRelu": 2,
                     "QuantizeLinear": 2, "DequantizeLinear": 2, "DynamicQuantizeLinear": 3}
NORM_FLOPS = {"BatchNormalization": 2, "LayerNormalization": 7, "InstanceNormalization": 7,
              "GroupNormalization": 7, "RMSNormalization": 5, "MeanVarianceNormalization": 6,
              "LpNormalization": 3, "LRN": 5, "Softmax": 5, "LogSoftmax": 5, "Hardmax": 2}

_ELEMENTWISE = set("""Abs Acos Acosh Add And Asin Asinh Atan Atanh BitShift BitwiseAnd BitwiseNot
BitwiseOr BitwiseXor Ceil Cos Cosh Div Equal Erf Exp Floor Greater GreaterOrEqual IsInf IsNaN
Less LessOrEqual Log Mod Mul Neg Not Or Pow Reciprocal Relu Round Sigmoid Sign Sin Sinh Sqrt
Sub Tan Tanh Where Xor RotaryEmbedding""".split()) | set(ELEMENTWISE_FLOPS)
_VARIADIC = {"Sum", "Mean", "Max", "Min"}
_MOVEMENT = set("""Reshape Transpose Gather GatherElements GatherND Scatter ScatterElements
ScatterND Concat Split Slice Squeeze Unsqueeze Flatten Identity Cast CastLike Shape Size
Constant ConstantOfShape Expand Tile Pad DepthToSpace SpaceToDepth Range Dropout OneHot
NonZero Compress Trilu EyeLike CenterCropPad ReverseSequence Optional OptionalGetElement
OptionalHasElement SequenceConstruct SequenceAt SequenceEmpty SequenceInsert SequenceErase
SequenceLength SplitToSequence ConcatFromSequence""".split())
_REDUCE = {"ReduceMax": 1, "ReduceMean": 1, "ReduceMin": 1, "ReduceProd": 1, "ReduceSum": 1,
           "ReduceSumSquare": 2, "ReduceL1": 2, "ReduceL2": 2, "ReduceLogSum": 1,
           "ReduceLogSumExp": 2, "ArgMax": 1, "ArgMin": 1, "TopK": 1, "CumSum": 1,
           "CumProd": 1}
_POOL = {"MaxPool", "AveragePool", "LpPool"}
_GLOBAL_POOL = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}

def _op_cost(c):
    """(flops, macs) of one node; c.ins/c.outs: lists of evaluated dims (ints) or None."""
    node, ins, outs = c.node, c.ins, c.outs
    op = node.op
    n_in = len(node.inputs)
    out = outs[0] if outs else None
    out_n = prod(out)

    def has(i):
        return i < n_in and node.inputs[i] != ""

    if op in _MOVEMENT:
        return 0, 0
    if op in ("Conv", "ConvInteger", "QLinearConv", "DeformConv"):
        w = ins[3] if op == "QLinearConv" else ins[1]
        if out_n is None or w is None or None in w:
            return None, None
        macs = out_n * math.prod(w[1:])
        bias = op in ("Conv", "DeformConv") and has(2) or op == "QLinearConv" and has(8)
        return 2 * macs + (out_n if bias else 0), macs
    if op == "ConvTranspose":
        x, w = ins[0], ins[1]
        x_n = prod(x)
        if x_n is None or w is None or None in w or out_n is None:
            return None, None
        macs = x_n * math.prod(w[1:])
        return 2 * macs + (out_n if has(2) else 0), macs
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul"):
        a = ins[0]
        if out_n is None or not a or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs, macs
    if op == "Gemm":
        a = ins[0]
        if out_n is None or not a or len(a) != 2 or None in a:
            return None, None
        macs = out_n * (a[0] if c.attr("transA", 0) else a[1])
        return 2 * macs + (out_n if has(2) else 0), macs
    if op == "Einsum":
        return _einsum_cost(c, ins, out_n)
    if op == "Attention":
        return _attention_cost(c, ins)
    if op in ("LSTM", "GRU", "RNN"):
        return _rnn_cost(c, ins)
    if op in _ELEMENTWISE:
        return (None, None) if out_n is None else (out_n * ELEMENTWISE_FLOPS.get(op, 1), 0)
    if op in _VARIADIC:
        if out_n is None:
            return None, None
        return out_n * max(n_in - 1, 1) + (out_n if op == "Mean" else 0), 0
    if op in NORM_FLOPS:
        return (None, None) if out_n is None else (out_n * NORM_FLOPS[op], 0)
    if op in _REDUCE:
        x_n = prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n * _REDUCE[op], 0)
    if op in _POOL:
        kernel = c.attr("kernel_shape")
        if out_n is None or not kernel or len(kernel) != len(out) - 2:
            return None, None
        return out_n * math.prod(kernel), 0
    if op in _GLOBAL_POOL:
        x_n = prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n, 0)
    if op in ("Resize", "Upsample"):
        x = ins[0] if ins else None
        if out_n is None or x is None or len(x) != len(out):
            return None, None
        mode = c.attr("mode", "nearest")
        k = sum(1 for a, b in zip(x, out) if a != b)
        taps = 0 if mode == "nearest" else (2 ** k if mode in ("linear", "bilinear") else 4 ** k)
        return out_n * taps, 0
    return None, None


def _einsum_cost(c, ins, out_n):
    eq = c.attr("equation", "").replace(" ", "")
    terms = eq.partition("->")[0].split(",")
    if len(terms) == 1:
        x_n = prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n, 0)
    extent, ell = {}, 1
    for term, x in zip(terms, ins):
        if x is None or None in x:
            return None, None
        labels = term.replace("...", ".")
        n_ell = len(x) - (len(labels) - 1) if "." in labels else 0
        pos = 0
        for ch in labels:
            if ch == ".":
                ell = max(ell, math.prod(x[pos:pos + n_ell]))
                pos += n_ell
            else:
                extent[ch] = max(extent.get(ch, 1), x[pos]) if pos < len(x) else extent.get(ch, 1)
                pos += 1
    macs = ell * math.prod(extent.values()) * max(len(terms) - 1, 1)
    return 2 * macs, macs


def _attention_cost(c, ins):
    node = c.node
    q, k, v = (ins + [None] * 3)[:3]
    if q is None or k is None or v is None or None in q + k + v or len(q) != len(k):
        return None, None
    past = ins[4] if len(ins) > 4 and len(node.inputs) > 4 and node.inputs[4] else None
    if len(q) == 4:
        b, heads, q_seq, hk = q
        kv_seq, hv = k[2], v[3]
    elif len(q) == 3:
        heads, kv_heads = c.attr("q_num_heads"), c.attr("kv_num_heads")
        if not heads or not kv_heads:
            return None, None
        b, q_seq, kv_seq = q[0], q[1], k[1]
        hk, hv = k[2] // kv_heads, v[2] // kv_heads
    else:
        return None, None
    if past is not None:
        if None in past or len(past) != 4:
            return None, None
        kv_seq += past[2]
    scores = b * heads * q_seq * kv_seq
    macs = scores * (hk + hv)
    return 2 * macs + NORM_FLOPS["Softmax"] * scores, macs


def _rnn_cost(c, ins):
    node = c.node
    x, w = ins[0], ins[1] if len(ins) > 1 else None
    if x is None or w is None or None in x or None in w or len(x) != 3 or len(w) != 3:
        return None, None
    seq, batch = (x[1], x[0]) if c.attr("layout", 0) else (x[0], x[1])
    directions, gates_hidden, inputs = w
    hidden = c.attr("hidden_size") or gates_hidden
    gates = gates_hidden // hidden if hidden else 1
    steps = seq * batch * directions
    macs = steps * gates * hidden * (inputs + hidden)
    cell = {"LSTM": 9, "GRU": 8}.get(node.op, 1)   # activations and gate products
    return 2 * macs + steps * hidden * (2 * gates + cell), macs



_COSTED = (_MOVEMENT | _ELEMENTWISE | _VARIADIC | set(NORM_FLOPS) | set(_REDUCE) | _POOL | _GLOBAL_POOL
           | {"Conv", "ConvInteger", "QLinearConv", "DeformConv", "ConvTranspose", "MatMul",
              "MatMulInteger", "QLinearMatMul", "Gemm", "Einsum", "Attention", "LSTM", "GRU",
              "RNN", "Resize", "Upsample"})


def _movement_cost(c):
    return 0, 0


for _op in sorted(set(HANDLERS) | _COSTED):
    _rule = Rule()
    _rule.ops = (_op,)
    _rule.shape = HANDLERS.get(_op)
    _rule.cost = (_movement_cost if _op in _MOVEMENT else _op_cost) if _op in _COSTED else None
    register(_rule)
