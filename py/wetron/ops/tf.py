"""TensorFlow's raw ops (domain "tf": frozen GraphDefs, SavedModels, TF.js graph models),
with TensorFlow's own semantics and attribute names as formats/tensorflow.py stores
them: bools are the strings "true"/"false", dtypes their names, lists `ints`.

Layouts are TensorFlow's: data_format "NHWC" (the default) or "NCHW" ("NDHWC"/"NCDHW"
in 3-D); filters HWIO ([kh, kw, in/groups, out]), depthwise filters [kh, kw, in,
multiplier], Conv2DBackpropInput's filter [kh, kw, out, in]. Padding "SAME" gives
ceil(in / stride), "VALID" floor((in - dilation*(k-1) - 1) / stride) + 1, "EXPLICIT" the
pairs of explicit_paddings. Operands TensorFlow passes as inputs (Transpose's perm,
reduction axes, ConcatV2's axis last, Reshape's shape, Pad's paddings) are read as
folded values: where they are not known, so is the shape.

Cost (docs/graph-schema.md, "cost"): Conv2D/Conv3D MACs = out_elems * prod(filter[:-1])
(in/groups * kernel); DepthwiseConv2dNative out_elems * kh * kw; Conv2DBackpropInput
in_elems(out_backprop) * kh * kw * out_channels; MatMul/BatchMatMul out_elems * K;
FLOPs = 2 * MACs (TensorFlow adds a bias with a BiasAdd node of its own: 1 FLOP per
element). FusedBatchNorm* counts 2 FLOPs per element at inference (is_training "false":
a scale and an offset, folded from mean/variance); in training it is not counted.
Element-wise ops 1 per output element (Relu6 2, LeakyRelu 2, Elu/Selu 3, Softplus/
Softsign 2, SquaredDifference 2), Softmax/LogSoftmax 5, reductions one per input
element, pooling prod(ksize) per output element, AddN (n-1) per element, resizes 2^k
per output element when bilinear (k = resized axes), data movement 0.
PartitionedCall/StatefulPartitionedCall of the function its attribute f names: its
outputs are the function's, inferred with the call's inputs as its arguments, and its
cost the function's at that call site (wetron.shapes and wetron.cost descend into it).

Box: convolutions and pooling show their window on the spatial axes of their
data_format ("kernel 3×3, stride 2, SAME": ksize, strides, padding; "dilation 2×2");
any other op its first small attributes as any op (ops/box.py), the runtime's internal
ones ("_output_shapes", "_has_manual_control_dependencies") left out.
"""
import math

from ..symbolic import (_ceil_div, _floor_div, _same, broadcast, dim_add, dim_div, dim_mul,
                        dim_sub)
from . import box, register, register_domain
from .base import MAX_FOLD, MAX_RANK, Rule, Unknown, axis as _axis, flag, prod, reshape_dims

DOMAIN = "tf"

ATTR_TYPES = {
    "data_format": "string", "padding": "string", "strides": "ints", "dilations": "ints",
    "explicit_paddings": "ints", "ksize": "ints", "transpose_a": "string",
    "transpose_b": "string", "adj_x": "string", "adj_y": "string", "keep_dims": "string",
    "is_training": "string", "squeeze_dims": "ints", "axis": "int", "N": "int",
    "begin_mask": "int", "end_mask": "int", "ellipsis_mask": "int", "new_axis_mask": "int",
    "shrink_axis_mask": "int", "out_type": "string", "DstT": "string", "num_split": "int",
    "batch_dims": "int", "output_type": "string", "dtype": "string", "Tout": "string",
    "f": "string",
}


class _Internal:
    """Attributes a TensorFlow box never shows: the internal ones (names starting with
    "_", the runtime's bookkeeping) and the type parameters of the op's kernel (T, Tidx,
    TI, Tshape, dtype, SrcT/DstT, out_type: the outputs' dtypes say it on the edges)."""
    def __contains__(self, name):
        return name.startswith("_") or name in ("dtype", "SrcT", "DstT") or \
            name.endswith("_type") or (name[:1] == "T" and (len(name) == 1 or name[1].isupper() or name[1:].islower()))


@register_domain
class TfRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES
    box_quiet = _Internal()


def _n_out(c):
    """Data outputs of the node (a control output '^x' comes last, if any)."""
    return sum(1 for o in c.node.outputs if not o.startswith("^"))


def _outs(c, outs):
    return outs[:_n_out(c)]


def _same_as(c, i=0):
    return c.ins[i] if i < len(c.ins) else None


def _int_list(c, i):
    """Input i as a list of ints (a scalar as one), or None when not all known ints."""
    v = c.ints(i)
    if v is None or any(type(x) is not int for x in v):
        return None
    return v


# --- layouts and windows ----------------------------------------------------------

def _layout(c, rank):
    """(channel axis, spatial axes) of a rank-`rank` tensor in the node's data_format."""
    default = "NHWC" if rank == 4 else "NDHWC" if rank == 5 else "NWC"
    fmt = c.attr("data_format", default)
    if len(fmt) != rank or fmt[0] != "N":
        raise Unknown("data_format")
    if fmt[1] == "C":
        return 1, list(range(2, rank))
    if fmt[-1] == "C":
        return rank - 1, list(range(1, rank - 1))
    raise Unknown("data_format")


def _per_axis(c, name, rank, default=1):
    v = c.attr(name)
    if v is None:
        return [default] * rank
    if len(v) != rank or any(type(x) is not int or x < 1 for x in v):
        raise Unknown(name)
    return list(v)


def _window(size, k, s, d, padding, before=0, after=0):
    """Output length of a TensorFlow sliding window."""
    if type(k) is not int:
        return None
    if padding == "SAME":
        return _ceil_div(size, s)
    eff = d * (k - 1) + 1
    if padding == "VALID":
        before = after = 0
    elif padding != "EXPLICIT":
        return None
    n = dim_add(_floor_div(dim_sub(dim_add(size, before + after), eff), s), 1)
    if type(n) is int and n < 0:
        raise ValueError("a window larger than its input")
    return n


def _spatial_out(c, x, kernel, channels):
    """x's dims with its spatial axes windowed by kernel (per spatial axis) and its
    channel axis set to `channels`."""
    rank = len(x)
    ch, spatial = _layout(c, rank)
    strides = _per_axis(c, "strides", rank)
    dilations = _per_axis(c, "dilations", rank)
    padding = c.attr("padding", "")
    pads = c.attr("explicit_paddings") or []
    if padding == "EXPLICIT" and len(pads) != 2 * rank:
        raise Unknown("explicit_paddings")
    out = list(x)
    out[ch] = channels
    for j, a in enumerate(spatial):
        k = kernel[j] if kernel is not None else None
        pb, pe = (pads[2 * a], pads[2 * a + 1]) if padding == "EXPLICIT" else (0, 0)
        out[a] = _window(x[a], k, strides[a], dilations[a], padding, pb, pe)
    return tuple(out)


class Windowed(TfRule):
    """Convolutions and pooling, for their box (see the module docstring)."""

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        strides, ksize, dilations = a.ints("strides"), a.ints("ksize"), a.ints("dilations")
        rank = len(strides or ksize or ())
        try:
            spatial = _layout(a, rank)[1] if rank else None
        except Unknown:
            spatial = None

        def on_spatial(v):   # the values of the spatial axes, else all as written
            return [v[i] for i in spatial] if v and spatial and len(v) == rank else v
        parts = []
        if ksize:
            parts.append("kernel " + box.joined(on_spatial(ksize), "×"))
        stride = box.per_axis(on_spatial(strides))
        if stride:
            parts.append(f"stride {stride}")
        padding = a.attr("padding")
        if isinstance(padding, str) and padding:
            parts.append(padding)
        lines = [box.line(", ".join(parts))] if parts else []
        dilations = on_spatial(dilations)
        if dilations and not all(d == 1 for d in dilations):
            lines.append("dilation " + box.joined(dilations, "×"))
        return lines or super().box_lines(node)


# --- convolutions and matrix products -----------------------------------------------

@register
class Conv(Windowed):
    """Conv2D / Conv3D: filter [k..., in/groups, out]."""
    ops = ("Conv2D", "Conv3D")

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        if x is None or len(x) < 3:
            return [(c.dtype(0), None)]
        kernel = list(w[:-2]) if w is not None and len(w) == len(x) else None
        out_ch = w[-1] if kernel is not None else None
        return [(c.dtype(0), _spatial_out(c, x, kernel, out_ch))]

    def cost(self, c):
        out, w = prod(c.outs[0]) if c.outs else None, c.ins[1] if len(c.ins) > 1 else None
        if out is None or w is None or None in w:
            return None, None
        macs = out * math.prod(w[:-1])
        return 2 * macs, macs


@register
class DepthwiseConv(Windowed):
    """DepthwiseConv2dNative: filter [kh, kw, in, multiplier], out channels in * mult."""
    ops = ("DepthwiseConv2dNative",)

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        if x is None or len(x) != 4:
            return [(c.dtype(0), None)]
        ok = w is not None and len(w) == 4
        return [(c.dtype(0), _spatial_out(c, x, list(w[:2]) if ok else None,
                                          dim_mul(w[2], w[3]) if ok else None))]

    def cost(self, c):
        out, w = prod(c.outs[0]) if c.outs else None, c.ins[1] if len(c.ins) > 1 else None
        if out is None or w is None or len(w) != 4 or None in w[:2]:
            return None, None
        macs = out * w[0] * w[1]
        return 2 * macs, macs


@register
class ConvBackpropInput(Windowed):
    """Conv2DBackpropInput (a transposed convolution): input_sizes, filter [kh, kw,
    out, in], out_backprop; the output's dims are input_sizes."""
    ops = ("Conv2DBackpropInput", "Conv3DBackpropInputV2")

    def shape(self, c):
        sizes = c.ints(0)
        if sizes is None or len(sizes) > MAX_RANK:
            d = c.dims(0)
            return [(c.dtype(2), None if not d or type(d[0]) is not int else (None,) * d[0])]
        return [(c.dtype(2), tuple(x if type(x) is int and x >= 0 or type(x) is str else None
                                   for x in sizes))]

    def cost(self, c):
        x = prod(c.ins[2]) if len(c.ins) > 2 else None
        w = c.ins[1] if len(c.ins) > 1 else None
        if x is None or w is None or len(w) < 3 or None in w[:-1]:
            return None, None
        macs = x * math.prod(w[:-1])
        return 2 * macs, macs


def _matmul_parts(c):
    """(batch dims, M, K, N) of a MatMul / BatchMatMul node, None parts unknown."""
    a, b = c.dims(0), c.dims(1)
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return None
    if c.node.op == "MatMul":
        ta, tb = flag(c, "transpose_a", False), flag(c, "transpose_b", False)
        if len(a) != 2 or len(b) != 2:
            raise ValueError("MatMul of rank > 2")
        batch = ()
    else:
        ta, tb = flag(c, "adj_x", False), flag(c, "adj_y", False)
        batch = broadcast([a[:-2], b[:-2]])
    m, k = (a[-1], a[-2]) if ta else (a[-2], a[-1])
    n = b[-2] if tb else b[-1]
    return batch, m, k, n


@register
class MatMul(TfRule):
    ops = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")

    def shape(self, c):
        parts = _matmul_parts(c)
        dtype = c.attr("Tout", None) if c.node.op == "BatchMatMulV3" else None
        if parts is None or parts[0] is None:
            return [(dtype or c.dtype(0), None)]
        batch, m, _, n = parts
        return [(dtype or c.dtype(0), tuple(batch) + (m, n))]

    def cost(self, c):
        a = c.ins[0] if c.ins else None
        out = prod(c.outs[0]) if c.outs else None
        if a is None or out is None or len(a) < 2:
            return None, None
        if c.node.op == "MatMul":
            k = a[0] if flag(c, "transpose_a", False) else a[1]
        else:
            k = a[-2] if flag(c, "adj_x", False) else a[-1]
        if k is None:
            return None, None
        return 2 * out * k, out * k


# --- element-wise -------------------------------------------------------------------

UNARY_FLOPS = {
    "Relu": 1, "Relu6": 2, "Elu": 3, "Selu": 3, "Sigmoid": 1, "Tanh": 1, "Softplus": 2,
    "Softsign": 2, "LeakyRelu": 2, "Exp": 1, "Expm1": 1, "Log": 1, "Log1p": 1, "Sqrt": 1,
    "Rsqrt": 1, "Square": 1, "Neg": 1, "Abs": 1, "Floor": 1, "Ceil": 1, "Round": 1,
    "Rint": 1, "Sign": 1, "Reciprocal": 1, "Inv": 1, "Erf": 1, "Sin": 1, "Cos": 1, "Tan": 1,
    "Asin": 1, "Acos": 1, "Atan": 1, "Sinh": 1, "Cosh": 1, "Asinh": 1, "Acosh": 1,
    "Atanh": 1, "Relu6Grad": 1, "Mish": 4,
}
BINARY_FLOPS = {
    "Add": 1, "AddV2": 1, "Sub": 1, "Mul": 1, "RealDiv": 1, "Div": 1, "DivNoNan": 1,
    "FloorDiv": 1, "FloorMod": 1, "TruncateDiv": 1, "Maximum": 1, "Minimum": 1, "Pow": 1,
    "SquaredDifference": 2, "BiasAdd": 1, "BiasAddV1": 1, "MulNoNan": 1, "Atan2": 1,
}
COMPARE = ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual",
           "LogicalAnd", "LogicalOr")
NORM_FLOPS = {"Softmax": 5, "LogSoftmax": 5}

# folded on small int tensors (shape arithmetic: Shape -> Mul -> Pack -> Reshape)
_FOLD = {"Add": dim_add, "AddV2": dim_add, "Sub": dim_sub, "Mul": dim_mul,
         "FloorDiv": lambda a, b: _floor_div(a, b) if type(a) is int and type(b) is int
         else dim_div(a, b)}


def _elementwise_cost(c):
    out = prod(c.outs[0]) if c.outs else None
    if out is None:
        return None, None
    op = c.node.op
    per = UNARY_FLOPS.get(op) or BINARY_FLOPS.get(op) or NORM_FLOPS.get(op) or 1
    return out * per, 0


@register
class Unary(TfRule):
    ops = tuple(UNARY_FLOPS) + tuple(NORM_FLOPS)

    def shape(self, c):
        return [_same_as(c)]

    cost = staticmethod(_elementwise_cost)


def _fold_binary(c, fn, dims):
    if dims is None or len(dims) > 1 or any(type(d) is not int for d in dims):
        return
    a, b = c.value(0), c.value(1)
    if a is None or b is None or len(a[0]) > 1 or len(b[0]) > 1:
        return
    n = dims[0] if dims else 1
    xs = a[1] if len(a[1]) == n else a[1] * n if len(a[1]) == 1 else None
    ys = b[1] if len(b[1]) == n else b[1] * n if len(b[1]) == 1 else None
    if xs is None or ys is None or n > MAX_FOLD:
        return
    flat = [fn(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
            for x, y in zip(xs, ys)]
    c.fold(0, dims, flat)


@register
class Binary(TfRule):
    """Broadcasting binary ops; BiasAdd adds a [C] bias along its data_format's channel
    axis (its output is its input's shape)."""
    ops = tuple(BINARY_FLOPS)

    def shape(self, c):
        if c.node.op in ("BiasAdd", "BiasAddV1"):
            return [_same_as(c)]
        dims = broadcast([c.dims(0), c.dims(1)])
        fn = _FOLD.get(c.node.op)
        if fn is not None:
            _fold_binary(c, fn, dims)
        return [(c.dtype(0), dims)]

    cost = staticmethod(_elementwise_cost)


@register
class Compare(TfRule):
    ops = COMPARE

    def shape(self, c):
        return [("bool", broadcast([c.dims(0), c.dims(1)]))]

    cost = staticmethod(_elementwise_cost)


@register
class Select(TfRule):
    ops = ("Select", "SelectV2")

    def shape(self, c):
        if c.node.op == "Select":   # (a rank-1 condition picks rows)
            return [(c.dtype(1), broadcast([c.dims(1), c.dims(2)]))]
        return [(c.dtype(1), broadcast([c.dims(0), c.dims(1), c.dims(2)]))]

    cost = staticmethod(_elementwise_cost)


@register
class AddN(TfRule):
    ops = ("AddN",)

    def shape(self, c):
        return [(c.dtype(0), broadcast([c.dims(i) for i in range(len(c.node.inputs))
                                        if not c.node.inputs[i].startswith("^")]))]

    def cost(self, c):
        out = prod(c.outs[0]) if c.outs else None
        n = sum(1 for x in c.node.inputs if not x.startswith("^"))
        return (None, None) if out is None else (out * max(n - 1, 1), 0)


@register
class FusedBatchNorm(TfRule):
    """y = scale * (x - mean) / sqrt(variance + epsilon) + offset; its other outputs are
    per-channel statistics ([C], as scale) and, in V3, a reserve space."""
    ops = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")

    def shape(self, c):
        stats = (c.dtype(1), c.dims(1))
        return _outs(c, [_same_as(c), stats, stats, stats, stats, None])

    def cost(self, c):
        out = prod(c.outs[0]) if c.outs else None
        if out is None or flag(c, "is_training", True):
            return None, None
        return 2 * out, 0


# --- pooling and reductions ---------------------------------------------------------

@register
class Pool(Windowed):
    ops = ("MaxPool", "AvgPool", "MaxPool3D", "AvgPool3D")

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) < 3:
            return [(c.dtype(0), None)]
        ksize = _per_axis(c, "ksize", len(x))
        ch, spatial = _layout(c, len(x))
        if ksize[0] != 1 or ksize[ch] != 1 or _per_axis(c, "strides", len(x))[ch] != 1:
            raise Unknown("pooling over batch or channels")
        return [(c.dtype(0), _spatial_out(c, x, [ksize[a] for a in spatial], x[ch]))]

    def cost(self, c):
        out = prod(c.outs[0]) if c.outs else None
        ksize = c.attr("ksize")
        if out is None or not ksize:
            return None, None
        return out * math.prod(ksize), 0


REDUCE = ("Mean", "Sum", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm")


def _reduced(c, x, axes, keep):
    rank = len(x)
    picked = {_axis(a, rank) for a in axes}
    if keep:
        return tuple(1 if i in picked else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in picked)


@register
class Reduce(TfRule):
    """Reductions over the axes of input 1 (reduction_indices), keep_dims."""
    ops = REDUCE

    def shape(self, c):
        dtype = "bool" if c.node.op in ("All", "Any") else c.dtype(0)
        x, axes = c.dims(0), _int_list(c, 1)
        keep = flag(c, "keep_dims", False)
        if x is None:
            return [(dtype, None)]
        if axes is None:
            if keep:
                return [(dtype, (None,) * len(x))]
            return [(dtype, None)]
        return [(dtype, _reduced(c, x, axes, keep))]

    def cost(self, c):
        x = prod(c.ins[0]) if c.ins else None
        return (None, None) if x is None else (x, 0)


@register
class ArgReduce(TfRule):
    ops = ("ArgMax", "ArgMin")

    def shape(self, c):
        x, axes = c.dims(0), _int_list(c, 1)
        dtype = c.attr("output_type", "int64")
        if x is None or axes is None or len(axes) != 1:
            return [(dtype, None)]
        return [(dtype, _reduced(c, x, axes, False))]

    def cost(self, c):
        x = prod(c.ins[0]) if c.ins else None
        return (None, None) if x is None else (x, 0)


# --- data movement ------------------------------------------------------------------

def _zero(c):
    return 0, 0


class Movement(TfRule):
    cost = staticmethod(_zero)


@register
class Passing(Movement):
    """Ops whose output is their input: its shape and, for small ints, its value."""
    ops = ("Identity", "Snapshot", "StopGradient", "PreventGradient", "Const",
           "EnsureShape", "CheckNumerics", "ReadVariableOp")

    def shape(self, c):
        if c.node.op == "ReadVariableOp":
            return [None]   # (a resource handle: its variable's shape is not here)
        v = c.value(0)
        if v is not None:
            c.fold(0, v[0], v[1])
        return [_same_as(c)]


@register
class IdentityN(Movement):
    ops = ("IdentityN",)

    def shape(self, c):
        return _outs(c, [_same_as(c, i) for i in range(len(c.node.inputs))])


@register
class NoShape(Movement):
    """Graph inputs, variables and plumbing: typed by the file, costing nothing."""
    ops = ("Placeholder", "PlaceholderWithDefault", "NoOp", "VarHandleOp",
           "VariableV2", "AssignVariableOp", "VarIsInitializedOp", "ZerosLike", "OnesLike")

    def shape(self, c):
        if c.node.op in ("ZerosLike", "OnesLike"):
            return [_same_as(c)]
        if c.node.op == "VarIsInitializedOp":
            return [("bool", ())]
        return [None]


@register
class Cast(Movement):
    ops = ("Cast",)

    def box_lines(self, node):
        """"to int64": DstT, the type it casts to."""
        to = box.Attrs(node, self.attr_types).attr("DstT")
        return [box.line(f"to {to}")] if isinstance(to, str) and to else []

    def shape(self, c):
        return [(c.attr("DstT", None), c.dims(0))]


@register
class Shape(Movement):
    ops = ("Shape",)

    def shape(self, c):
        d = c.dims(0)
        dtype = c.attr("out_type", "int32")
        if d is None:
            return [(dtype, (None,))]
        c.fold(0, (len(d),), list(d))
        return [(dtype, (len(d),))]


@register
class Reshape(Movement):
    """Reshape to input 1; one -1 takes what is left (0 is a size, not a copy)."""
    ops = ("Reshape",)

    def shape(self, c):
        x, target = c.dims(0), c.ints(1)
        if target is None:
            s = c.dims(1)
            return [(c.dtype(0), None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                     else (None,) * s[0])]
        out = reshape_dims(x, target, zero_copies=False)
        v = c.value(0)
        if v is not None:
            c.fold(0, out, v[1])
        return [(c.dtype(0), tuple(out))]


@register
class Transpose(Movement):
    """Transpose by the permutation of input 1 (TensorFlow's perm is an input)."""
    ops = ("Transpose", "ConjugateTranspose")

    def box_lines(self, node):
        return []   # its perm is an input, on the box as such; its attributes are types

    def shape(self, c):
        x, perm = c.dims(0), _int_list(c, 1)
        if x is None:
            return [(c.dtype(0), None)]
        if perm is None:
            return [(c.dtype(0), (None,) * len(x))]
        if sorted(perm) != list(range(len(x))):
            raise ValueError("Transpose perm is not a permutation of the axes")
        return [(c.dtype(0), tuple(x[p] for p in perm))]


def _concat(c, values, axis_at):
    ins = [c.dims(i) for i in values]
    a = _int_list(c, axis_at)
    if a is None or len(a) != 1 or any(d is None for d in ins) or not ins:
        rank = next((len(d) for d in ins if d is not None), None)
        return [(c.dtype(values[0]) if values else None,
                 None if rank is None else (None,) * rank)]
    rank = len(ins[0])
    if any(len(d) != rank for d in ins):
        raise ValueError("Concat of different ranks")
    ax = _axis(a[0], rank)
    out = []
    for i in range(rank):
        if i == ax:
            total = 0
            for d in ins:
                total = dim_add(total, d[i])
            out.append(total)
        else:
            d = None
            for s in ins:
                d = _same(d, s[i])
            out.append(d)
    if rank == 1 and out[0] is not None and type(out[0]) is int and out[0] <= MAX_FOLD:
        flat = []
        for i in values:
            v = c.value(i)
            if v is None:
                break
            flat.extend(v[1])
        else:
            c.fold(0, tuple(out), flat)
    return [(c.dtype(values[0]), tuple(out))]


@register
class ConcatV2(Movement):
    """ConcatV2(values..., axis): the axis is the last input."""
    ops = ("ConcatV2",)

    def shape(self, c):
        n = sum(1 for x in c.node.inputs if not x.startswith("^"))
        return _concat(c, list(range(n - 1)), n - 1)


@register
class Concat(Movement):
    """Concat(axis, values...): the axis is the first input."""
    ops = ("Concat",)

    def shape(self, c):
        n = sum(1 for x in c.node.inputs if not x.startswith("^"))
        return _concat(c, list(range(1, n)), 0)


@register
class Pack(Movement):
    """Pack (tf.stack): N tensors of one shape along a new axis."""
    ops = ("Pack",)

    def shape(self, c):
        n = sum(1 for x in c.node.inputs if not x.startswith("^"))
        d = None
        for i in range(n):
            s = c.dims(i)
            if s is None:
                continue
            if d is not None and len(s) != len(d):
                raise ValueError("Pack of different ranks")
            d = s if d is None else tuple(_same(a, b) for a, b in zip(d, s))
        if d is None:
            return [(c.dtype(0), None)]
        ax = _axis(c.attr("axis", 0), len(d) + 1)
        out = d[:ax] + (n,) + d[ax:]
        if not d and n <= MAX_FOLD:   # scalars: a small vector (shape arithmetic)
            flat = []
            for i in range(n):
                v = c.value(i)
                if v is None or len(v[1]) != 1:
                    break
                flat.append(v[1][0])
            else:
                c.fold(0, out, flat)
        return [(c.dtype(0), out)]


@register
class Pad(Movement):
    """Pad / PadV2 / MirrorPad by the [rank, 2] paddings of input 1."""
    ops = ("Pad", "PadV2", "MirrorPad")

    def shape(self, c):
        x, p = c.dims(0), c.value(1)
        if x is None:
            return [(c.dtype(0), None)]
        if p is None or len(p[1]) != 2 * len(x) or any(type(v) is not int for v in p[1]):
            return [(c.dtype(0), (None,) * len(x))]
        flat = p[1]
        return [(c.dtype(0), tuple(dim_add(d, flat[2 * i] + flat[2 * i + 1])
                                   for i, d in enumerate(x)))]


@register
class Squeeze(Movement):
    ops = ("Squeeze",)

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        axes = c.attr("squeeze_dims") or []
        if not axes:
            if any(type(d) is not int for d in x):
                return [(c.dtype(0), None)]   # a free dim may or may not be 1
            return [(c.dtype(0), tuple(d for d in x if d != 1))]
        picked = {_axis(a, len(x)) for a in axes}
        return [(c.dtype(0), tuple(d for i, d in enumerate(x) if i not in picked))]


@register
class ExpandDims(Movement):
    ops = ("ExpandDims",)

    def shape(self, c):
        x, a = c.dims(0), _int_list(c, 1)
        if x is None or a is None or len(a) != 1:
            return [(c.dtype(0), None)]
        ax = _axis(a[0], len(x) + 1)
        out = x[:ax] + (1,) + x[ax:]
        v = c.value(0)
        if v is not None:
            c.fold(0, out, v[1])
        return [(c.dtype(0), out)]


def _slice_len(d, b, e, s, bmask, emask):
    """Length of d[b:e:s] with TensorFlow's masks (None if unknown)."""
    if type(d) is not int:
        if s == 1 and (bmask or b == 0) and emask:
            return d
        return None
    if s > 0:
        b = 0 if bmask else max(0, min(d, b + d if b < 0 else b))
        e = d if emask else max(0, min(d, e + d if e < 0 else e))
        return max(0, -(-(e - b) // s))
    b = d - 1 if bmask else max(-1, min(d - 1, b + d if b < 0 else b))
    e = -1 if emask else max(-1, min(d - 1, e + d if e < 0 else e))
    return max(0, -(-(b - e) // -s))


@register
class StridedSlice(Movement):
    """StridedSlice(x, begin, end, strides) with begin/end/shrink_axis masks; an
    ellipsis or a new axis is not followed (unknown)."""
    ops = ("StridedSlice",)

    def shape(self, c):
        x = c.dims(0)
        begin, end, strides = _int_list(c, 1), _int_list(c, 2), _int_list(c, 3)
        if c.attr("ellipsis_mask", 0) or c.attr("new_axis_mask", 0) or x is None:
            return [(c.dtype(0), None)]
        shrink = c.attr("shrink_axis_mask", 0)
        if begin is None or end is None or strides is None:
            dims = c.dims(1)
            if dims is None or len(dims) != 1 or type(dims[0]) is not int:
                return [(c.dtype(0), None)]
            n = dims[0]
            return [(c.dtype(0), tuple(None for i in range(n) if not shrink >> i & 1)
                     + tuple(x[n:]))]
        if not len(begin) == len(end) == len(strides) or len(begin) > len(x) or 0 in strides:
            raise ValueError("StridedSlice operands do not match")
        bmask, emask = c.attr("begin_mask", 0), c.attr("end_mask", 0)
        out, picks = [], []
        for i, d in enumerate(x):
            if i >= len(begin):
                out.append(d)
                picks.append(None)
                continue
            b, e, s = begin[i], end[i], strides[i]
            if shrink >> i & 1:
                if type(d) is int:
                    k = b + d if b < 0 else b
                    if not 0 <= k < d:
                        raise ValueError("StridedSlice index out of range")
                    picks.append([k])
                else:
                    picks.append([b] if b >= 0 else None)
                continue
            n = _slice_len(d, b, e, s, bmask >> i & 1, emask >> i & 1)
            out.append(n)
            if type(d) is int and n is not None and n <= MAX_FOLD:
                start = (0 if s > 0 else d - 1) if bmask >> i & 1 else \
                    max(0 if s > 0 else -1, min(d if s > 0 else d - 1, b + d if b < 0 else b))
                picks.append([start + j * s for j in range(n)])
            else:
                picks.append(None)
        v = c.value(0)
        if v is not None and len(x) == 1 and picks[0] is not None:
            c.fold(0, tuple(out), [v[1][k] for k in picks[0] if 0 <= k < len(v[1])])
        return [(c.dtype(0), tuple(out))]


@register
class Slice(Movement):
    """Slice(x, begin, size): size -1 takes the rest of the axis."""
    ops = ("Slice",)

    def shape(self, c):
        x, begin, size = c.dims(0), _int_list(c, 1), _int_list(c, 2)
        if x is None:
            return [(c.dtype(0), None)]
        if begin is None or size is None or len(begin) != len(x) or len(size) != len(x):
            return [(c.dtype(0), (None,) * len(x))]
        return [(c.dtype(0), tuple(dim_sub(d, b) if s == -1 else s
                                   for d, b, s in zip(x, begin, size)))]


@register
class Fill(Movement):
    ops = ("Fill",)

    def shape(self, c):
        dims = c.ints(0)
        if dims is None or len(dims) > MAX_RANK:
            return [(c.dtype(1), None)]
        return [(c.dtype(1), tuple(d if type(d) is str or type(d) is int and d >= 0 else None
                                   for d in dims))]


@register
class Tile(Movement):
    ops = ("Tile",)

    def shape(self, c):
        x, m = c.dims(0), _int_list(c, 1)
        if x is None or m is None or len(m) != len(x):
            return [(c.dtype(0), None if x is None else (None,) * len(x))]
        return [(c.dtype(0), tuple(dim_mul(d, k) for d, k in zip(x, m)))]


@register
class Gather(Movement):
    """GatherV2(params, indices, axis) with batch_dims; Gather(params, indices) axis 0."""
    ops = ("GatherV2", "Gather")

    def shape(self, c):
        p, i = c.dims(0), c.dims(1)
        a = [0] if c.node.op == "Gather" else _int_list(c, 2)
        if p is None or i is None or a is None or len(a) != 1:
            return [(c.dtype(0), None)]
        ax = _axis(a[0], len(p))
        bd = c.attr("batch_dims", 0)
        if bd < 0:
            bd += len(i)
        return [(c.dtype(0), p[:ax] + i[bd:] + p[ax + 1:])]


@register
class Split(Movement):
    """Split(axis, value) into num_split equal parts; SplitV(value, sizes, axis)."""
    ops = ("Split", "SplitV")

    def shape(self, c):
        n = _n_out(c)
        if c.node.op == "Split":
            x, a = c.dims(1), _int_list(c, 0)
            dtype = c.dtype(1)
        else:
            x, a = c.dims(0), _int_list(c, 2)
            dtype = c.dtype(0)
        if x is None or a is None or len(a) != 1:
            return [(dtype, None)] * n
        ax = _axis(a[0], len(x))
        if c.node.op == "Split":
            k = c.attr("num_split", 0)
            parts = [dim_div(x[ax], k) if k > 0 else None] * n
        else:
            sizes = _int_list(c, 1)
            if sizes is None:
                parts = [None] * n
            else:
                known = sum(s for s in sizes if s != -1)
                parts = [dim_sub(x[ax], known) if s == -1 else s for s in sizes][:n]
        return [(dtype, x[:ax] + (p,) + x[ax + 1:]) for p in parts] + \
            [(dtype, None)] * (n - len(parts))


@register
class Resize(TfRule):
    """Resize*(images NHWC, size [h, w]): ResizeBilinear and ResizeBicubic give float32."""
    ops = ("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea")

    def shape(self, c):
        x, size = c.dims(0), _int_list(c, 1)
        dtype = c.dtype(0) if c.node.op == "ResizeNearestNeighbor" else "float32"
        if x is None or len(x) != 4:
            return [(dtype, None)]
        if size is None or len(size) != 2:
            return [(dtype, (x[0], None, None, x[3]))]
        return [(dtype, (x[0], size[0], size[1], x[3]))]

    def cost(self, c):
        x, out = c.ins[0] if c.ins else None, c.outs[0] if c.outs else None
        n = prod(out)
        if n is None or x is None or len(x) != len(out):
            return None, None
        k = sum(1 for a, b in zip(x, out) if a != b)
        taps = {"ResizeNearestNeighbor": 0, "ResizeBilinear": 2 ** k,
                "ResizeBicubic": 4 ** k}.get(c.node.op)
        return (None, None) if taps is None else (n * taps, 0)


# --- function calls ------------------------------------------------------------------

def _port(value):
    """Output index a node's value is: 'x' 0, 'x:2' 2, in a function 'x:output:2' 2."""
    tail = value.rsplit(":", 1)[1] if ":" in value else "0"
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) < 8 else None


@register
class Call(TfRule):
    ops = ("PartitionedCall", "StatefulPartitionedCall")

    def shape(self, c):
        outs = c.call(c.attr("f"))
        ports = [None if o.startswith("^") else _port(o) for o in c.node.outputs]
        return [outs[p] if p is not None and p < len(outs) else None for p in ports]

    def cost(self, c):
        return c.call()
