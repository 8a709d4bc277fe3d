"""PaddlePaddle's operators (domain "paddle"): shape and cost rules as Paddle computes
them, for the legacy ops of a ProgramDesc (conv2d, matmul_v2, elementwise_add, ...) and
the PIR ops of a Paddle 3 program (pd_op.conv2d, pd_op.matmul, pd_op.add, ...), each
family with Paddle's own attribute names and layouts.

Nodes come from formats/paddle.py: inputs in the slot order of the op's definition
(ops/metadata/paddle.json: Paddle's OpProto registry for the legacy ops, the op_compat
mapping for PIR's), so a rule finds an input by its slot name ("Filter", "filter");
attributes typed as the format gives them (booleans "true"/"false"). PIR passes an
IntArray or Scalar (pool2d's kernel_size, reshape's shape, concat's axis) as an operand,
a pd_op.full_int_array / pd_op.full whose value the shape rules fold (and which the
format also shows as the op's attribute of that name: pool2d's kernel_size). The file declares
every variable's shape; the rules complete the dims it leaves free (-1), exactly.

Shapes (paddle/phi/infermeta):
- conv2d / depthwise_conv2d / conv3d: filter [M, C/groups, k...]; data_format NCHW
  (also "AnyLayout") or NHWC / NDHWC; paddings of one per spatial axis or a pair per
  axis, padding_algorithm EXPLICIT, SAME (ceil(in / stride)) or VALID (no padding);
  out = (in + pad_0 + pad_1 - (dilation * (k - 1) + 1)) // stride + 1.
- conv2d_transpose: filter [C, M/groups, k...]; out = (in - 1) * stride - pad_0 - pad_1 +
  dilation * (k - 1) + 1 + output_padding, or output_size when given.
- pool2d: pooling_type max/avg, ksize (PIR: the kernel_size operand), global_pooling 1
  per spatial axis, adaptive: ksize is the output size; else out = (in - k + pad_0 +
  pad_1 [+ stride - 1 with ceil_mode]) // stride + 1 (no Caffe-style correction).
- matmul_v2 (trans_x / trans_y), matmul (transpose_X / transpose_Y), pd_op.matmul
  (transpose_x / transpose_y): NumPy's matmul with its batch broadcast; mul:
  x[:x_num_col_dims] + y[y_num_col_dims:]; fc: in[:in_num_col_dims] + [W[1]].
- elementwise_*: with axis -1 NumPy broadcast, else Y aligned at X's `axis`; pd_op.add,
  subtract, multiply, divide, maximum, minimum, elementwise_pow: NumPy broadcast.
- same shape: activations, scale, dropout, cast, assign, softmax, batch_norm (Y; the
  running statistics [C]), layer_norm (Y; Mean and Variance x[:begin_norm_axis]).
- movement: reshape2 / pd_op.reshape (0 copies the input's dim, -1 is inferred; the
  target from Shape, ShapeTensor, the shape attribute, or PIR's operand(s)),
  transpose2 (axis) / pd_op.transpose (perm), flatten_contiguous_range / pd_op.flatten
  (start_axis..stop_axis), concat (axis; PIR's operand), lookup_table_v2 /
  pd_op.embedding (ids + [W[1]]), reduce_mean / pd_op.mean (dim / axis, keep_dim /
  keepdim, reduce_all), shape / pd_op.shape64 (folded), slice (axes, starts, ends,
  decrease_axis; folded on small values), stack, fill_constant / pd_op.full /
  pd_op.full_int_array (folded).

Cost (cost.py's conventions, docs/graph-schema.md "cost"):
- MACs: conv out_elems * (C/groups) * prod(kernel) = out_elems * filter[1] * prod(k);
  conv2d_transpose in_elems * filter[1] * prod(kernel); matmul out_elems * K; mul and fc
  rows * K * N; FLOPs 2 * MACs (fc + out_elems for its Bias; a conv's bias is an
  elementwise_add of its own in Paddle's programs).
- Per output element: relu, sigmoid, tanh, silu... as ONNX counts them (relu 1, relu6 2,
  leaky_relu 2, hard_swish 4, hard_sigmoid 3, gelu 8, swish/silu 2, elu 3), scale 2
  (scale * x + bias), binary arithmetic 1, batch_norm 2, layer_norm 7, softmax 5;
  dropout 0 at inference with upscale_in_train (an identity), 1 with
  downgrade_in_infer; pool2d prod(kernel) per output (global: in_elems; adaptive: each
  output's window, exactly); reduce_mean in_elems; data movement 0.
- Not counted: NOT_COUNTED (while, conditional_block, pd_op.if, pd_op.while: their work
  is their blocks', run a number of times known only at run time).

Box: convolutions their strides, groups and dilations (the kernel is the filter's);
pooling its pooling_type and window, "global", or the adaptive output size; any other
op its first small attributes (ops/box.py), the bookkeeping every op carries
(op_device, op_namescope, ...) left out.
"""
import math

from . import box, register, register_domain
from .base import Rule, Unknown, prod
from ..symbolic import broadcast

DOMAIN = "paddle"
CHANNELS_FIRST = ("NCHW", "NCDHW", "NCL", "AnyLayout")
CHANNELS_LAST = ("NHWC", "NDHWC", "NLC")
MAX_ADAPTIVE = 1 << 16    # output size of an adaptive pooling axis whose windows are summed


def pir(*names):
    """The PIR ops of these names and their in-place forms (pd_op.relu, pd_op.relu_)."""
    return tuple(f"pd_op.{n}{s}" for n in names for s in ("", "_"))


_slots = {}


def slot(c, name):
    """The node input index of slot `name` (the op's definition: metadata), or None."""
    op = c.node.op
    n = len(c.node.inputs)
    key = (op, name, n)
    if key not in _slots:
        from . import metadata
        d = metadata.describe(DOMAIN, op)
        names = list(d["inputs"]) if d else []
        plain = [s[:-3] if s.endswith("...") else s for s in names]
        index = None
        if name in plain:
            v = next((i for i, s in enumerate(names) if s.endswith("...")), None)
            i = plain.index(name)
            if v is None or i < v:
                index = i
            elif i > v:
                index = n - (len(names) - i)
            else:
                index = ("variadic", v, n - (len(names) - 1 - v))
        _slots[key] = index
    return _slots[key]


def has(c, name):
    i = slot(c, name)
    return type(i) is int and 0 <= i < len(c.node.inputs) and c.node.inputs[i] != ""


def dims(c, name):
    """Shape-rule context: the dims of slot `name`, or None."""
    i = slot(c, name)
    return c.dims(i) if type(i) is int and i < len(c.node.inputs) else None


def cdims(c, name):
    """Cost-rule context: the evaluated dims of slot `name`, or None."""
    i = slot(c, name)
    return c.ins[i] if type(i) is int and i < len(c.ins) else None


def variadic(c, name):
    """Input indices of a variadic slot."""
    i = slot(c, name)
    if type(i) is tuple:
        return list(range(i[1], max(i[1], i[2])))
    return [i] if type(i) is int and i < len(c.node.inputs) else []


def out_n(c):
    return prod(c.outs[0]) if c.outs else None


def true(v):
    return v == "true"


@register_domain
class PaddleRule(Rule):
    domain = DOMAIN
    # The framework's bookkeeping on every op (device placement, name scope, role in
    # training, where it was built), not the op's: never on a box.
    box_quiet = frozenset(["op_device", "op_namescope", "op_role", "op_role_var",
                           "op_callstack", "with_quant_attr"])


# --- convolution -----------------------------------------------------------------------------
def _pads(paddings, rank):
    """Paddle's paddings: one per spatial axis, or a pair per axis."""
    if len(paddings) == rank:
        return [(p, p) for p in paddings]
    if len(paddings) == 2 * rank:
        return [(paddings[2 * i], paddings[2 * i + 1]) for i in range(rank)]
    raise ValueError("paddings do not match the input's rank")


def _layout(c, rank):
    """(channel axis, first spatial axis) of an input of rank `rank`."""
    fmt = c.attr("data_format", "NCHW")
    if fmt in CHANNELS_FIRST:
        return 1, 2
    if fmt in CHANNELS_LAST:
        return rank - 1, 1
    raise Unknown("data_format")


def _window(c, k, spatial, transposed=False):
    """strides, [(pad0, pad1)], dilations for `spatial` axes of input sizes, kernel k."""
    rank = len(k)
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    if len(strides) != rank or len(dilations) != rank:
        raise ValueError("strides/dilations do not match the kernel")
    if min(strides) <= 0 or min(dilations) <= 0 or min(k) <= 0:
        raise ValueError("kernel, strides and dilations must be positive")
    algorithm = c.attr("padding_algorithm", "EXPLICIT")
    if algorithm == "VALID":
        return strides, [(0, 0)] * rank, dilations, algorithm
    if algorithm == "SAME":
        return strides, None, [1] * rank if not transposed else dilations, algorithm
    return strides, _pads(c.attr("paddings") or [0] * rank, rank), dilations, algorithm


class Conv(PaddleRule):
    ops = ("conv2d", "depthwise_conv2d", "conv3d") + pir("conv2d", "depthwise_conv2d", "conv3d")
    attr_types = {"strides": "ints", "paddings": "ints", "dilations": "ints", "groups": "int",
                  "data_format": "string", "padding_algorithm": "string"}

    def box_lines(self, node):
        """"stride 2", "groups 32", "dilation 2×2" (the kernel is the filter's)."""
        return box.window_lines(box.Attrs(node, self.attr_types), None, "strides", "groups",
                                "dilations") or PaddleRule.box_lines(self, node)

    def shape(self, c):
        x = dims(c, "Input") if not c.node.op.startswith("pd_op.") else dims(c, "input")
        w = dims(c, "Filter") if not c.node.op.startswith("pd_op.") else dims(c, "filter")
        if x is None or w is None or len(x) != len(w) or len(x) < 3:
            raise Unknown("input")
        rank = len(x) - 2
        ch, sp = _layout(c, len(x))
        strides, pads, dil, algorithm = _window(c, w[2:], x[sp:sp + rank])
        out = [None] * len(x)
        out[0], out[ch] = x[0], w[0]
        for i in range(rank):
            size, k = x[sp + i], w[2 + i]
            if type(size) is not int or type(k) is not int:
                continue
            if algorithm == "SAME":
                n = -(-size // strides[i])
            else:
                n = (size + pads[i][0] + pads[i][1] - (dil[i] * (k - 1) + 1)) // strides[i] + 1
            if n < 1:
                raise ValueError("the kernel does not fit the input")
            out[sp + i] = n
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        pir_op = c.node.op.startswith("pd_op.")
        w = cdims(c, "filter" if pir_op else "Filter")
        n = out_n(c)
        if w is None or n is None or len(w) < 3 or None in w:
            return None, None
        macs = n * w[1] * math.prod(w[2:])
        return 2 * macs, macs


class ConvTranspose(PaddleRule):
    ops = ("conv2d_transpose", "depthwise_conv2d_transpose", "conv3d_transpose") + \
        pir("conv2d_transpose", "depthwise_conv2d_transpose", "conv3d_transpose")
    attr_types = dict(Conv.attr_types, output_size="ints", output_padding="ints")
    box_lines = Conv.box_lines

    def shape(self, c):
        pir_op = c.node.op.startswith("pd_op.")
        x = dims(c, "x" if pir_op else "Input")
        w = dims(c, "filter" if pir_op else "Filter")
        if x is None or w is None or len(x) != len(w) or len(x) < 3:
            raise Unknown("input")
        rank = len(x) - 2
        ch, sp = _layout(c, len(x))
        groups = c.attr("groups", 1)
        if type(w[1]) is not int or type(groups) is not int or groups < 1:
            raise Unknown("filter")
        size_given = c.attr("output_size")
        out = [None] * len(x)
        out[0], out[ch] = x[0], w[1] * groups
        if size_given:
            if len(size_given) != rank:
                raise Unknown("output_size")
            for i in range(rank):
                out[sp + i] = size_given[i] if type(size_given[i]) is int else None
            return [(c.dtype(0), tuple(out))]
        strides, pads, dil, algorithm = _window(c, w[2:], x[sp:sp + rank], transposed=True)
        extra = c.attr("output_padding") or [0] * rank
        for i in range(rank):
            size, k = x[sp + i], w[2 + i]
            if type(size) is not int or type(k) is not int:
                continue
            if algorithm == "SAME":
                out[sp + i] = size * strides[i]
            else:
                out[sp + i] = (size - 1) * strides[i] - pads[i][0] - pads[i][1] + \
                    dil[i] * (k - 1) + 1 + (extra[i] if i < len(extra) else 0)
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        pir_op = c.node.op.startswith("pd_op.")
        x = cdims(c, "x" if pir_op else "Input")
        w = cdims(c, "filter" if pir_op else "Filter")
        x_n = prod(x)
        if x_n is None or w is None or None in w or len(w) < 3:
            return None, None
        macs = x_n * w[1] * math.prod(w[2:])
        return 2 * macs, macs


register(Conv)
register(ConvTranspose)


# --- pooling ----------------------------------------------------------------------------------
class Pool(PaddleRule):
    ops = ("pool2d", "pool3d") + pir("pool2d", "pool3d")
    attr_types = {"ksize": "ints", "kernel_size": "ints", "strides": "ints", "paddings": "ints", "pooling_type": "string",
                  "global_pooling": "string", "adaptive": "string", "ceil_mode": "string",
                  "exclusive": "string", "padding_algorithm": "string", "data_format": "string"}

    def box_lines(self, node):
        """"max, kernel 3×3, stride 2" (pooling_type, ksize, strides), "avg, global", or
        "avg, adaptive 1×1" (ksize is then the output's size)."""
        a = box.Attrs(node, self.attr_types)
        kind = a.attr("pooling_type")
        first = [kind] if isinstance(kind, str) and kind else []
        if a.attr("global_pooling") == "true":
            return [box.line(", ".join(first + ["global"]))]
        k = a.ints("kernel_size" if node.op.startswith("pd_op.") else "ksize")
        if a.attr("adaptive") == "true":
            return [box.line(", ".join(first + ([] if k is None else
                                                 ["adaptive " + box.joined(k, "×")])))]
        return box.window(k, a.ints("strides"), first=first) or super().box_lines(node)

    def kernel(self, c, rank):
        k = c.attr("kernel_size" if c.node.op.startswith("pd_op.") else "ksize")
        if not k or any(type(v) is not int for v in k):
            raise Unknown("kernel")
        if len(k) == 1:
            k = k * rank
        if len(k) != rank:
            raise ValueError("the kernel does not match the input's rank")
        return k

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) < 3:
            raise Unknown("input")
        rank = len(x) - 2
        ch, sp = _layout(c, len(x))
        out = list(x)
        if true(c.attr("global_pooling", "false")):
            for i in range(rank):
                out[sp + i] = 1
            return [(c.dtype(0), tuple(out))]
        k = self.kernel(c, rank)
        if true(c.attr("adaptive", "false")):
            for i in range(rank):
                out[sp + i] = k[i]
            return [(c.dtype(0), tuple(out))]
        strides, pads, _, algorithm = _window(c, k, x[sp:sp + rank])
        ceil = true(c.attr("ceil_mode", "false"))
        for i in range(rank):
            size = x[sp + i]
            if type(size) is not int:
                out[sp + i] = None
                continue
            if algorithm == "SAME":
                n = -(-size // strides[i])
            else:
                span = size - k[i] + pads[i][0] + pads[i][1] + (strides[i] - 1 if ceil else 0)
                n = span // strides[i] + 1
            if n < 1:
                raise ValueError("the kernel does not fit the input")
            out[sp + i] = n
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        n = out_n(c)
        if x is None or n is None or len(x) < 3:
            return None, None
        if true(c.attr("global_pooling", "false")):
            x_n = prod(x)
            return (None, None) if x_n is None else (x_n, 0)
        rank = len(x) - 2
        k = self.kernel(c, rank)
        if true(c.attr("adaptive", "false")):
            _, sp = _layout(c, len(x))
            total = prod([d for j, d in enumerate(x) if not sp <= j < sp + rank])
            if total is None or None in x[sp:sp + rank]:
                return None, None
            for size, m in zip(x[sp:sp + rank], k):
                if not 0 < m <= MAX_ADAPTIVE:
                    return None, None
                # phi's AdaptStartIndex / AdaptEndIndex: floor(i*in/m) .. ceil((i+1)*in/m)
                total *= sum(-(-(i + 1) * size // m) - (i * size // m) for i in range(m))
            return total, 0
        return n * math.prod(k), 0


register(Pool)


# --- matmul -----------------------------------------------------------------------------------
def _matmul_shape(a, b, ta, tb):
    """(out dims, K) of NumPy's matmul of a and b (transposed where asked)."""
    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("matmul of a scalar")
    va, vb = len(a) == 1, len(b) == 1
    if va:
        a = [1] + a
    if vb:
        b = b + [1]
    if ta:
        a[-1], a[-2] = a[-2], a[-1]
    if tb:
        b[-1], b[-2] = b[-2], b[-1]
    batch = broadcast([tuple(a[:-2]), tuple(b[:-2])]) if len(a) > 2 or len(b) > 2 else ()
    out = list(batch) + ([] if va else [a[-2]]) + ([] if vb else [b[-1]])
    return tuple(out), a[-1]


MATMUL_FLAGS = {"matmul_v2": ("trans_x", "trans_y"), "matmul": ("transpose_X", "transpose_Y")}


class MatMul(PaddleRule):
    ops = ("matmul_v2", "matmul", "bmm") + pir("matmul", "bmm")
    attr_types = {"trans_x": "string", "trans_y": "string", "transpose_X": "string",
                  "transpose_Y": "string", "transpose_x": "string", "transpose_y": "string"}

    def flags(self, c):
        op = c.node.op
        if op.startswith("pd_op.matmul"):
            names = ("transpose_x", "transpose_y")
        else:
            names = MATMUL_FLAGS.get(op)
        if names is None:
            return False, False
        return true(c.attr(names[0], "false")), true(c.attr(names[1], "false"))

    def shape(self, c):
        a, b = c.dims(0), c.dims(1)
        if a is None or b is None:
            raise Unknown("inputs")
        out, _ = _matmul_shape(a, b, *self.flags(c))
        return [(c.dtype(0), out)]

    def cost(self, c):
        a = c.ins[0] if c.ins else None
        n = out_n(c)
        if a is None or n is None or not a:
            return None, None
        ta, _ = self.flags(c)
        k = a[-1] if len(a) == 1 or not ta else a[-2]
        if k is None:
            return None, None
        return 2 * n * k, n * k


class Mul(PaddleRule):
    """mul: X flattened to a matrix at x_num_col_dims, Y at y_num_col_dims."""
    ops = ("mul",)
    attr_types = {"x_num_col_dims": "int", "y_num_col_dims": "int"}

    def shape(self, c):
        x, y = c.dims(0), c.dims(1)
        xn, yn = c.attr("x_num_col_dims", 1), c.attr("y_num_col_dims", 1)
        if x is None or y is None or not 0 < xn < len(x) + 1 or not 0 < yn < len(y) + 1:
            raise Unknown("inputs")
        return [(c.dtype(0), tuple(x[:xn]) + tuple(y[yn:]))]

    def cost(self, c):
        x, y = (c.ins + [None, None])[:2]
        if x is None or y is None:
            return None, None
        xn, yn = c.attr("x_num_col_dims", 1), c.attr("y_num_col_dims", 1)
        rows, k, cols = prod(x[:xn]), prod(x[xn:]), prod(y[yn:])
        if rows is None or k is None or cols is None:
            return None, None
        return 2 * rows * k * cols, rows * k * cols


class FC(PaddleRule):
    """fc: Input flattened at in_num_col_dims times W [K, N], plus Bias."""
    ops = ("fc",) + pir("fc")
    attr_types = {"in_num_col_dims": "int"}

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        n = c.attr("in_num_col_dims", 1)
        if x is None or w is None or len(w) != 2 or not 0 < n <= len(x):
            raise Unknown("inputs")
        return [(c.dtype(0), tuple(x[:n]) + (w[1],))]

    def cost(self, c):
        x, w = (c.ins + [None, None])[:2]
        n = c.attr("in_num_col_dims", 1)
        if x is None or w is None or len(w) != 2:
            return None, None
        rows = prod(x[:n])
        if rows is None or None in w:
            return None, None
        macs = rows * w[0] * w[1]
        bias = rows * w[1] if len(c.node.inputs) > 2 and c.node.inputs[2] else 0
        return 2 * macs + bias, macs


register(MatMul)
register(Mul)
register(FC)


# --- element-wise -----------------------------------------------------------------------------
LEGACY_BINARY = ("elementwise_add", "elementwise_sub", "elementwise_mul", "elementwise_div",
                 "elementwise_max", "elementwise_min", "elementwise_pow", "elementwise_mod",
                 "elementwise_floordiv")
PIR_BINARY = pir("add", "subtract", "multiply", "divide", "maximum", "minimum",
                 "elementwise_pow", "remainder", "floor_divide")
COMPARE = ("equal", "not_equal", "less_than", "less_equal", "greater_than", "greater_equal",
           "logical_and", "logical_or", "logical_xor")


class Binary(PaddleRule):
    ops = LEGACY_BINARY + PIR_BINARY + COMPARE + pir(*COMPARE)
    attr_types = {"axis": "int"}

    def shape(self, c):
        x, y = c.dims(0), c.dims(1)
        if x is None or y is None:
            raise Unknown("inputs")
        a = c.attr("axis", -1) if c.node.op in LEGACY_BINARY else -1
        if a != -1 and len(y) < len(x):      # Y aligned at X's axis `a`
            if a < 0:
                a += len(x)
            if not 0 <= a <= len(x) - len(y):
                raise ValueError("axis out of range")
            y = (1,) * a + tuple(y) + (1,) * (len(x) - a - len(y))
        dtype = "bool" if c.node.op.split(".")[-1].rstrip("_") in COMPARE else c.dtype(0)
        return [(dtype, tuple(broadcast([tuple(x), tuple(y)])))]

    def cost(self, c):
        n = out_n(c)
        return (None, None) if n is None else (n, 0)


register(Binary)

# FLOPs per output element, as the ONNX counterparts count them
UNARY_FLOPS = {"relu": 1, "sigmoid": 1, "tanh": 1, "exp": 1, "log": 1, "sqrt": 1, "rsqrt": 1,
               "abs": 1, "square": 1, "reciprocal": 1, "floor": 1, "ceil": 1, "round": 1,
               "sign": 1, "erf": 1, "sin": 1, "cos": 1, "logical_not": 1, "relu6": 2,
               "leaky_relu": 2, "swish": 2, "silu": 2, "softplus": 2, "softsign": 2,
               "hard_sigmoid": 3, "hardsigmoid": 3, "elu": 3, "selu": 3, "celu": 3,
               "hard_swish": 4, "hardswish": 4, "mish": 4, "gelu": 8, "scale": 2, "clip": 2}
MOVEMENT = ("cast", "assign", "share_data", "increment")


class SameShape(PaddleRule):
    """Output 0 has input 0's shape; `per` FLOPs per output element."""
    ops = tuple(UNARY_FLOPS) + pir(*UNARY_FLOPS) + MOVEMENT + pir(*MOVEMENT)
    attr_types = {"dropout_implementation": "string", "mode": "string", "is_test": "string"}

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        if x is None:
            raise Unknown("input")
        return [(c.dtype(0) if c.node.op.split(".")[-1] not in ("cast", "cast_") else None,
                 x[1])]

    def per(self, c):
        base = c.node.op.split(".")[-1].rstrip("_")
        if base in MOVEMENT:
            return 0
        return UNARY_FLOPS.get(base, UNARY_FLOPS.get(c.node.op.split(".")[-1]))

    def cost(self, c):
        n, per = out_n(c), self.per(c)
        return (None, None) if n is None or per is None else (n * per, 0)


register(SameShape)


@register
class Dropout(SameShape):
    ops = ("dropout",) + pir("dropout")

    def per(self, c):
        impl = c.attr("mode" if c.node.op.startswith("pd_op.") else "dropout_implementation",
                      "upscale_in_train" if c.node.op.startswith("pd_op.") else
                      "downgrade_in_infer")
        if impl == "upscale_in_train":
            return 0      # an identity at inference
        return 1 if impl == "downgrade_in_infer" else None


@register
class Softmax(SameShape):
    ops = ("softmax", "log_softmax") + pir("softmax", "log_softmax")

    def per(self, c):
        return 5


@register
class BatchNorm(SameShape):
    """Y the input's shape; the running statistics and saved mean/variance [C]."""
    ops = ("batch_norm", "sync_batch_norm") + pir("batch_norm", "sync_batch_norm")
    attr_types = {"data_layout": "string", "data_format": "string"}

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        if x is None or x[1] is None:
            raise Unknown("input")
        fmt = c.attr("data_format" if c.node.op.startswith("pd_op.") else "data_layout", "NCHW")
        channels = x[1][-1] if fmt in CHANNELS_LAST else x[1][1] if len(x[1]) > 1 else None
        stats = (x[0], (channels,))
        outs = [x] + [stats] * 4
        return outs[:len(c.node.outputs)]

    def per(self, c):
        return 2


@register
class LayerNorm(SameShape):
    """Y the input's shape; Mean and Variance the dims before begin_norm_axis."""
    ops = ("layer_norm",) + pir("layer_norm")
    attr_types = {"begin_norm_axis": "int"}

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        if x is None or x[1] is None:
            raise Unknown("input")
        a = c.attr("begin_norm_axis", 1)
        if a < 0:
            a += len(x[1])
        if not 0 <= a <= len(x[1]):
            raise ValueError("begin_norm_axis out of range")
        rows = (x[0], tuple(x[1][:a]))
        return [x, rows, rows][:len(c.node.outputs)]

    def per(self, c):
        return 7


# --- movement -------------------------------------------------------------------------------
class Movement(PaddleRule):
    def cost(self, c):
        return 0, 0


def _target(c):
    """A reshape's target: PIR's operand(s); legacy Shape, ShapeTensor, else the attribute."""
    if c.node.op.startswith("pd_op."):
        out = []
        for i in range(1, len(c.node.inputs)):
            v = c.ints(i)
            if v is None:
                raise Unknown("shape")
            out.extend(v)
        return out
    if has(c, "Shape"):
        v = c.ints(slot(c, "Shape"))
        if v is None:
            raise Unknown("shape")
        return v
    listed = variadic(c, "ShapeTensor")
    if listed and any(c.node.inputs[i] for i in listed):
        out = []
        for i in listed:
            v = c.ints(i)
            if v is None or len(v) != 1:
                raise Unknown("shape")
            out.extend(v)
        return out
    return c.attr("shape")


@register
class Reshape(Movement):
    ops = ("reshape2", "reshape") + pir("reshape")
    attr_types = {"shape": "ints"}

    def shape(self, c):
        x, target = c.dims(0), _target(c)
        if x is None or target is None:
            raise Unknown("input")
        out = []
        for i, d in enumerate(target):
            if d == 0:
                if i >= len(x):
                    raise ValueError("a 0 past the input's dims")
                out.append(x[i])
            elif d == -1 or type(d) is str or (type(d) is int and d > 0):
                out.append(d)
            else:
                raise Unknown("shape")
        if out.count(-1) > 1:
            raise ValueError("more than one -1")
        if -1 in out:
            i = out.index(-1)
            total, known = prod(x), prod(out[:i] + out[i + 1:])
            out[i] = total // known if total is not None and known else None
        return [(c.dtype(0), tuple(out))]


@register
class Transpose(Movement):
    ops = ("transpose2", "transpose") + pir("transpose")
    attr_types = {"axis": "ints", "perm": "ints"}

    def shape(self, c):
        x = c.dims(0)
        perm = c.attr("perm" if c.node.op.startswith("pd_op.") else "axis")
        if x is None or perm is None or sorted(p % len(x) for p in perm) != list(range(len(x))) \
                or len(perm) != len(x):
            raise Unknown("perm")
        return [(c.dtype(0), tuple(x[p % len(x)] for p in perm))]


@register
class Flatten(Movement):
    ops = ("flatten_contiguous_range",) + pir("flatten")
    attr_types = {"start_axis": "int", "stop_axis": "int"}

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        if not x:
            return [(c.dtype(0), (1,))]
        a, b = c.attr("start_axis", 1), c.attr("stop_axis", -1)
        a, b = a % len(x), b % len(x)
        if a > b:
            raise ValueError("start_axis after stop_axis")
        return [(c.dtype(0), tuple(x[:a]) + (prod(x[a:b + 1]),) + tuple(x[b + 1:]))]


@register
class Concat(Movement):
    ops = ("concat",) + pir("concat")
    attr_types = {"axis": "int"}

    def shape(self, c):
        pir_op = c.node.op.startswith("pd_op.")
        parts = variadic(c, "x" if pir_op else "X")
        if pir_op:
            v = c.ints(len(c.node.inputs) - 1)
            if v is None or len(v) != 1 or type(v[0]) is not int:
                raise Unknown("axis")
            a = v[0]
        else:
            if has(c, "AxisTensor"):
                raise Unknown("axis")
            a = c.attr("axis", 0)
        shapes = [c.dims(i) for i in parts]
        if not shapes or any(s is None for s in shapes):
            raise Unknown("inputs")
        rank = len(shapes[0])
        a = a + rank if a < 0 else a
        if not 0 <= a < rank or any(len(s) != rank for s in shapes):
            raise ValueError("concatenated tensors of different ranks")
        sizes = [s[a] for s in shapes]
        total = sum(sizes) if all(type(s) is int for s in sizes) else None
        return [(c.dtype(parts[0]), tuple(shapes[0][:a]) + (total,) + tuple(shapes[0][a + 1:]))]


@register
class Embedding(Movement):
    ops = ("lookup_table_v2",) + pir("embedding")

    def shape(self, c):
        pir_op = c.node.op.startswith("pd_op.")
        ids, w = (c.dims(0), c.dims(1)) if pir_op else (dims(c, "Ids"), dims(c, "W"))
        if ids is None or w is None or len(w) != 2:
            raise Unknown("inputs")
        return [(c.dtype(1) if pir_op else c.dtype(slot(c, "W")), tuple(ids) + (w[1],))]


@register
class Mean(PaddleRule):
    ops = ("reduce_mean", "reduce_sum", "reduce_max", "reduce_min") + \
        pir("mean", "sum", "max", "min")
    attr_types = {"dim": "ints", "keep_dim": "string", "reduce_all": "string",
                  "keepdim": "string"}

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        if c.node.op.startswith("pd_op."):
            axes = c.ints(1) if len(c.node.inputs) > 1 and c.node.inputs[1] else []
            if axes is None:
                raise Unknown("axis")
            keep, everything = true(c.attr("keepdim", "false")), not axes
        else:
            axes = c.attr("dim", [0])
            keep, everything = true(c.attr("keep_dim", "false")), \
                true(c.attr("reduce_all", "false"))
        if any(type(a) is not int for a in axes):
            raise Unknown("axis")
        reduced = set(range(len(x))) if everything or len(axes) == len(x) else \
            {a % len(x) for a in axes} if x else set()
        out = tuple(1 if i in reduced else d for i, d in enumerate(x) if keep or i not in reduced)
        return [(c.dtype(0), out)]

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins else None
        return (None, None) if n is None else (n, 0)


@register
class Shape(Movement):
    ops = ("shape",) + pir("shape", "shape64")

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        c.fold(0, (len(x),), list(x))
        return [("int64" if c.node.op.endswith("64") else "int32", (len(x),))]


@register
class Slice(Movement):
    ops = ("slice",) + pir("slice")
    attr_types = {"axes": "ints", "starts": "ints", "ends": "ints", "decrease_axis": "ints"}

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        axes = c.attr("axes")
        if c.node.op.startswith("pd_op."):
            starts, ends = c.ints(1), c.ints(2)
        else:
            if any(has(c, s) for s in ("StartsTensor", "EndsTensor")) or \
                    any(c.node.inputs[i] for i in variadic(c, "StartsTensorList") +
                        variadic(c, "EndsTensorList")):
                raise Unknown("starts")
            starts, ends = c.attr("starts"), c.attr("ends")
        if axes is None or starts is None or ends is None or \
                not len(axes) == len(starts) == len(ends) or \
                any(type(v) is not int for v in starts + ends):
            raise Unknown("starts")
        out = list(x)
        bounds = {}
        for a, s, e in zip(axes, starts, ends):
            a %= len(x)
            size = x[a]
            if type(size) is not int:
                raise Unknown("size")
            s2 = max(0, min(size, s + size if s < 0 else s))
            e2 = max(0, min(size, e + size if e < 0 else e))
            out[a] = max(0, e2 - s2)
            bounds[a] = (s2, e2)
        decrease = {d % len(x) for d in (c.attr("decrease_axis") or [])}
        result = tuple(d for i, d in enumerate(out) if i not in decrease)
        v = c.value(0)
        if v is not None and len(x) == 1 and 0 in bounds:
            s2, e2 = bounds[0]
            c.fold(0, result, list(v[1][s2:e2]))
        return [(c.dtype(0), result)]


@register
class Stack(Movement):
    ops = ("stack",) + pir("stack")
    attr_types = {"axis": "int"}

    def shape(self, c):
        parts = list(range(len(c.node.inputs)))
        shapes = [c.dims(i) for i in parts]
        if not shapes or any(s is None for s in shapes):
            raise Unknown("inputs")
        a = c.attr("axis", 0)
        rank = len(shapes[0]) + 1
        a = a + rank if a < 0 else a
        if not 0 <= a < rank:
            raise ValueError("axis out of range")
        out = tuple(shapes[0][:a]) + (len(parts),) + tuple(shapes[0][a:])
        values = [c.value(i) for i in parts]
        if a == 0 and all(v is not None and len(v[1]) == 1 for v in values) and \
                all(len(s) in (0, 1) for s in shapes):
            c.fold(0, out, [v[1][0] for v in values])
        return [(c.dtype(0), out)]


@register
class Constant(Movement):
    """fill_constant / pd_op.full (shape, value), pd_op.full_int_array (value): folded."""
    ops = ("fill_constant",) + pir("full", "full_int_array")
    attr_types = {"shape": "ints"}

    def shape(self, c):
        if c.node.op.startswith("pd_op.full_int_array"):
            v = c.attr("value")
            if not isinstance(v, list) or any(type(x) is not int for x in v):
                raise Unknown("value")
            c.fold(0, (len(v),), list(v))
            return [(None, (len(v),))]
        if c.node.inputs and any(c.node.inputs):
            raise Unknown("shape")    # given by tensors
        shape = c.attr("shape")
        if not isinstance(shape, list) or any(type(d) is not int or d < 0 for d in shape):
            raise Unknown("shape")
        value = c.attr("value")
        n = prod(shape)
        if type(value) in (int, float) and n is not None:
            v = int(value) if type(value) is float and value.is_integer() and \
                abs(value) < 2 ** 53 else value
            c.fold(0, tuple(shape), [v] * n)
        return [(None, tuple(shape))]


# --- control flow ---------------------------------------------------------------------------
NOT_COUNTED = {
    "while": "its work is its block's times a trip count known only at run time",
    "conditional_block": "its work is its block's, run or not as known only at run time",
    "pd_op.while": "its work is its body's times a trip count known only at run time",
    "pd_op.if": "its work is the branch taken at run time",
}
