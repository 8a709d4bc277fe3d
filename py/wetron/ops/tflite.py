"""TensorFlow Lite's builtin operators (domain "tflite"): their shape and cost rules.

Nodes come from formats/tflite.py: `op` is the BuiltinOperator name (CONV_2D), builtin
options are attributes as that module writes them (enums and booleans as strings, ints,
floats). Custom operators are domain "tflite.custom" and have no rules here: what a
custom code computes is not in the file (Flex ops carry a TensorFlow NodeDef in their
flexbuffer options), so they are not counted.

Shapes: a TFLite file stores every tensor's shape; formats/tflite.py keeps its
shape_signature, an entry graph input's -1 as the symbol "dynamic" and every other -1 as
unknown. The shape rules here are for those unknown dims: exact ones only (same-shape
element-wise ops, broadcasting binary ops, CONV_2D / DEPTHWISE_CONV_2D / pooling
windows on static spatial dims, FULLY_CONNECTED, BATCH_MATMUL, reductions over constant
axes, ARG_MAX / ARG_MIN, CUMSUM, and the data movement ops whose targets are constant
or folded: RESHAPE, EXPAND_DIMS, SQUEEZE, TRANSPOSE, TILE, PAD, RESIZE_*, GATHER, SHAPE,
STRIDED_SLICE, PACK, UNPACK, SPLIT, CONCATENATION, CAST); the driver only ever completes
a stored shape's unknown dims.

Layouts are TFLite's own, not ONNX's (no rule is shared with ops/onnx/):
- CONV_2D: input NHWC, filter [out, kh, kw, in/groups] (OHWI), bias [out];
- DEPTHWISE_CONV_2D: filter [1, kh, kw, in * depth_multiplier];
- TRANSPOSE_CONV: inputs (output_shape, weights [out, kh, kw, in], input, bias);
- CONV_3D: input NDHWC, filter [kd, kh, kw, in/groups, out] (DHWIO);
  CONV_3D_TRANSPOSE: (output_shape, filter [kd, kh, kw, out, in], input, bias);
- FULLY_CONNECTED: weights [out, in], the input's elements read as rows of `in`
  (keep_num_dims only changes the output's rank, not the count);
- BATCH_MATMUL: x [..., M, K] ([..., K, M] with adj_x), y [..., K, N] (adj_y: [..., N, K]);
- UNIDIRECTIONAL_SEQUENCE_LSTM: input [batch, time, in] ([time, batch, in] with
  time_major), input_to_*_weights [cell, in], recurrent_to_*_weights [cell, output],
  input_to_input_weights absent for CIFG (3 gates), projection_weights [output, cell].

Counting follows cost.py's conventions for ONNX (docs/graph-schema.md, "cost"):
- MACs: conv out_elems * (Cin/groups) * kernel elements (depthwise: out_elems * kh * kw);
  transposed conv in_elems * Cout * kernel elements; FULLY_CONNECTED out_elems * in;
  BATCH_MATMUL out_elems * K; LSTM steps * gates * cell * (in + output) plus
  steps * output * cell for a projection (steps = batch * time).
- FLOPs = 2 * MACs, plus out_elems for a bias input, plus the fused activation.
- fused_activation_function (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, CONV_3D,
  FULLY_CONNECTED, ADD, SUB, MUL, DIV, CONCATENATION, pooling, L2_NORMALIZATION, ...):
  its element-wise FLOPs on the output are counted too, as the standalone op would be:
  RELU 1, RELU6 2 and RELU_N1_TO_1 2 (a clip), TANH 1, SIGN_BIT 1, NONE 0.
- Other ops: MACs 0, FLOPs per output element as the matching ONNX op (ELEMENTWISE,
  NORM), reductions one per input element, pooling one per window element per output,
  RESIZE_BILINEAR 2^k per output element (k resized axes), data movement 0.
- NOT_COUNTED lists the ops left "not counted", each with the reason.

Box (TFLiteRule.box_lines): the fused activation after the op's name ("Conv2D" then
"+ Relu6"), then the window options that differ from TFLite's defaults ("kernel 2×2,
stride 2, VALID", "dilation 2", "multiplier 2") and the matmul flags set ("adj_x");
an op with none of them shows its other options as any op does (ops/box.py), those
that say nothing on a box (BOX_QUIET: the window's defaults, quantization plumbing)
left out.

The op facts the viewer shows (display name, category, slot names as TFLite's kernels
name their tensors) are ops/metadata/tflite.json's (tools/gen_op_metadata.py).
"""
import math

from . import box, register, register_domain
from .base import Rule, Unknown, WrongType, axis, prod
from ..symbolic import broadcast, dim_add, dim_div, dim_mul, dim_prod

DOMAIN = "tflite"

# The attributes these rules read, with the type formats/tflite.py gives them
# (tests/test_ops_tflite.py checks them against its options tables).
ATTR_TYPES = {"fused_activation_function": "string", "filter_width": "int",
              "filter_height": "int", "adj_x": "string", "adj_y": "string",
              "padding": "string", "stride_w": "int", "stride_h": "int",
              "dilation_w_factor": "int", "dilation_h_factor": "int",
              "keep_num_dims": "string", "keep_dims": "string", "axis": "int",
              "new_shape": "ints", "squeeze_dims": "ints", "batch_dims": "int",
              "out_type": "string", "begin_mask": "int", "end_mask": "int",
              "ellipsis_mask": "int", "new_axis_mask": "int", "shrink_axis_mask": "int",
              "offset": "string", "output_type": "string"}

# Element-wise FLOPs of a fused activation, per output element.
ACTIVATION_FLOPS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 2, "TANH": 1,
                    "SIGN_BIT": 1}


# The fused activations as the box names them ("+ Relu6"); NONE is not shown.
ACTIVATION_NAMES = {"RELU": "Relu", "RELU6": "Relu6", "RELU_N1_TO_1": "ReluN1To1",
                    "TANH": "Tanh", "SIGN_BIT": "SignBit"}
# Options that say nothing on a box by themselves (shown by box_lines where they differ
# from TFLite's defaults, or plumbing of quantized kernels).
BOX_QUIET = frozenset([
    "fused_activation_function", "pot_scale_int16", "quantized_bias_type",
    "asymmetric_quantize_inputs", "weights_format", "keep_num_dims", "quant_spec", "padding",
    "stride_d", "stride_h", "stride_w", "dilation_d_factor", "dilation_h_factor",
    "dilation_w_factor", "depth_multiplier", "filter_height", "filter_width", "adj_x", "adj_y"])


@register_domain
class TFLiteRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES
    box_quiet = BOX_QUIET

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        lines = []
        act = ACTIVATION_NAMES.get(a.attr("fused_activation_function"))
        if act:
            lines.append(f"+ {act}")
        parts = []
        fh, fw = a.int("filter_height"), a.int("filter_width")
        if fh is not None and fw is not None:
            parts.append(f"kernel {fh}×{fw}")
        stride = box.per_axis(_given(a, "stride_d", "stride_h", "stride_w"))
        if stride:
            parts.append(f"stride {stride}")
        if a.attr("padding") == "VALID":
            parts.append("VALID")
        if parts:
            lines.append(", ".join(parts))
        dilation = box.per_axis(_given(a, "dilation_d_factor", "dilation_h_factor",
                                       "dilation_w_factor"))
        if dilation:
            lines.append(f"dilation {dilation}")
        mult = a.int("depth_multiplier")
        if mult is not None and mult != 1:
            lines.append(f"multiplier {mult}")
        flags = [f for f in ("adj_x", "adj_y", "keep_num_dims") if a.attr(f) == "true"]
        if flags:
            lines.append(", ".join(flags))
        return lines or super().box_lines(node)


def _given(a, *names):
    """The int options of those names that the node has."""
    return [v for v in map(a.int, names) if v is not None]


def _activation(c, out_n):
    """FLOPs of the node's fused activation on out_n elements (None: an unknown one)."""
    act = c.attr("fused_activation_function", "NONE")
    per = ACTIVATION_FLOPS.get(act)
    if per is None:
        raise WrongType("fused_activation_function")   # an enum value the schema lacks
    return per * out_n


def _known(*dims):
    return all(d is not None and None not in d for d in dims)


def _counted(c, macs, out_n, bias_at):
    """(flops, macs) of a multiply-accumulate op: 2 * MACs, its bias add, its activation."""
    bias = out_n if c.has(bias_at) else 0
    return 2 * macs + bias + _activation(c, out_n), macs


def _window(size, k, stride, dilation, padding):
    """An output size of a 2-D window op on a static input size (TFLite's
    ComputeOutSize), else None."""
    if type(size) is not int or not k or not stride or not dilation:
        return None
    if padding == "SAME":
        return (size + stride - 1) // stride
    if padding == "VALID":
        return (size - (k - 1) * dilation - 1) // stride + 1
    return None


def _nhwc_window(c, kh, kw, channels, dilated=True):
    """[batch, out_h, out_w, channels] of a 2-D window op on NHWC input 0."""
    x = c.dims(0)
    if x is None or len(x) != 4:
        raise Unknown("input")
    dh = c.attr("dilation_h_factor", 1) if dilated else 1
    dw = c.attr("dilation_w_factor", 1) if dilated else 1
    padding = c.attr("padding")
    return (c.dtype(0), (x[0], _window(x[1], kh, c.attr("stride_h"), dh, padding),
                         _window(x[2], kw, c.attr("stride_w"), dw, padding), channels))


def _same_shape(c):
    return [(c.dtype(0), c.dims(0))]


def _cast_like(c):
    """Same dims, another dtype (the file's declaration gives it)."""
    return [(None, c.dims(0))]


def _broadcast(c):
    return [(c.dtype(0), broadcast([c.dims(0), c.dims(1)]))]


def _compare(c):
    return [("bool", broadcast([c.dims(0), c.dims(1)]))]


# --- multiply-accumulate ops ----------------------------------------------------------

@register
class Conv(TFLiteRule):
    """CONV_2D: filter OHWI [out, kh, kw, in/groups]; CONV_3D: filter DHWIO
    [kd, kh, kw, in/groups, out]. Each output element reads one filter's
    (in/groups) * kernel weights."""
    ops = ("CONV_2D", "CONV_3D")

    def cost(self, c):
        out, w = c.outs[0] if c.outs else None, c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(out)
        if out_n is None or not _known(w):
            return None, None
        per_output = math.prod(w[1:]) if c.node.op == "CONV_2D" else math.prod(w[:4])
        return _counted(c, out_n * per_output, out_n, 2)

    def shape(self, c):
        w = c.dims(1)
        if c.node.op != "CONV_2D" or w is None or len(w) != 4:
            raise Unknown("filter")
        return [_nhwc_window(c, w[1], w[2], w[0])]


@register
class DepthwiseConv(TFLiteRule):
    """DEPTHWISE_CONV_2D: filter [1, kh, kw, in * depth_multiplier]; each output channel
    reads one input channel through its kh * kw weights."""
    ops = ("DEPTHWISE_CONV_2D",)

    def cost(self, c):
        out, w = c.outs[0] if c.outs else None, c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(out)
        if out_n is None or not _known(w) or len(w) != 4:
            return None, None
        return _counted(c, out_n * w[1] * w[2], out_n, 2)

    def shape(self, c):
        w = c.dims(1)
        if w is None or len(w) != 4:
            raise Unknown("filter")
        return [_nhwc_window(c, w[1], w[2], w[3])]


@register
class TransposeConv(TFLiteRule):
    """TRANSPOSE_CONV (output_shape, weights [out, kh, kw, in], input, bias) and
    CONV_3D_TRANSPOSE (output_shape, filter [kd, kh, kw, out, in], input, bias): each
    input element is multiplied into out * kernel output positions."""
    ops = ("TRANSPOSE_CONV", "CONV_3D_TRANSPOSE")

    def cost(self, c):
        ins = c.ins
        if len(ins) < 3:
            return None, None
        w, x_n = ins[1], prod(ins[2])
        out_n = prod(c.outs[0]) if c.outs else None
        if x_n is None or out_n is None or not _known(w):
            return None, None
        per_input = math.prod(w[:3]) if c.node.op == "TRANSPOSE_CONV" else math.prod(w[:4])
        return _counted(c, x_n * per_input, out_n, 3)


@register
class FullyConnected(TFLiteRule):
    """FULLY_CONNECTED: weights [out, in]; out_elems * in MACs (the output has out_elems
    = rows * out whether keep_num_dims keeps the input's rank or not)."""
    ops = ("FULLY_CONNECTED",)

    def cost(self, c):
        w = c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not _known(w) or len(w) != 2:
            return None, None
        return _counted(c, out_n * w[1], out_n, 2)

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        if x is None or w is None or len(w) != 2 or not x:
            raise Unknown("input")
        if c.attr("keep_num_dims", "false") == "true":
            return [(c.dtype(0), tuple(x[:-1]) + (w[0],))]
        rows = dim_prod(x[:-1]) if x[-1] == w[1] else dim_div(dim_prod(x), w[1])
        return [(c.dtype(0), (rows, w[0]))]


@register
class BatchMatMul(TFLiteRule):
    """BATCH_MATMUL: x [..., M, K], or [..., K, M] with adj_x; out_elems * K MACs."""
    ops = ("BATCH_MATMUL",)

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or x is None or len(x) < 2:
            return None, None
        k = x[-2] if c.attr("adj_x", "false") == "true" else x[-1]
        if k is None:
            return None, None
        macs = out_n * k
        return 2 * macs, macs

    def shape(self, c):
        x, y = c.dims(0), c.dims(1)
        if x is None or y is None or len(x) < 2 or len(y) < 2:
            raise Unknown("input")
        m = x[-1] if c.attr("adj_x", "false") == "true" else x[-2]
        n = y[-2] if c.attr("adj_y", "false") == "true" else y[-1]
        batch = broadcast([tuple(x[:-2]), tuple(y[:-2])])
        return [(c.dtype(0), None if batch is None else tuple(batch) + (m, n))]


@register
class SequenceLSTM(TFLiteRule):
    """UNIDIRECTIONAL_SEQUENCE_LSTM (24 inputs, lstm_shared.h's order). Gates: 4, or 3
    without input_to_input_weights (CIFG). FLOPs add, per step and cell, the gate
    activations and products as ONNX's LSTM rule counts them (2 * gates + 9)."""
    ops = ("UNIDIRECTIONAL_SEQUENCE_LSTM",)

    def cost(self, c):
        ins = c.ins
        if len(ins) < 9:
            return None, None
        x, w_forget, r_forget = ins[0], ins[2], ins[6]
        if not _known(x, w_forget, r_forget) or len(x) != 3 or len(w_forget) != 2 \
                or len(r_forget) != 2:
            return None, None
        steps = x[0] * x[1]
        cell, inputs = w_forget
        output = r_forget[1]
        gates = 4 if c.has(1) else 3
        macs = steps * gates * cell * (inputs + output)
        if c.has(16):
            proj = ins[16]
            if not _known(proj):
                return None, None
            macs += steps * math.prod(proj)
        return 2 * macs + steps * cell * (2 * gates + 9), macs


# --- element-wise, normalisation, pooling, reduction, resize, data movement -----------

# FLOPs per output element, as the matching ONNX op counts them (cost.py's
# ELEMENTWISE_FLOPS: composite activations more than 1).
ELEMENTWISE = {
    "ADD": 1, "SUB": 1, "MUL": 1, "DIV": 1, "POW": 1, "MAXIMUM": 1, "MINIMUM": 1,
    "FLOOR_DIV": 1, "FLOOR_MOD": 1, "SQUARED_DIFFERENCE": 2, "ATAN2": 1,
    "RELU": 1, "RELU6": 2, "RELU_N1_TO_1": 2, "RELU_0_TO_1": 2, "LOGISTIC": 1, "TANH": 1,
    "HARD_SWISH": 4, "GELU": 8, "LEAKY_RELU": 2, "PRELU": 2, "ELU": 3,
    "EXP": 1, "LOG": 1, "SQRT": 1, "RSQRT": 1, "SQUARE": 1, "ABS": 1, "NEG": 1, "SIN": 1,
    "COS": 1, "FLOOR": 1, "CEIL": 1, "ROUND": 1, "SIGN": 1,
    "LESS": 1, "LESS_EQUAL": 1, "GREATER": 1, "GREATER_EQUAL": 1, "EQUAL": 1,
    "NOT_EQUAL": 1, "LOGICAL_AND": 1, "LOGICAL_OR": 1, "LOGICAL_NOT": 1,
    "SELECT": 1, "SELECT_V2": 1, "BITWISE_XOR": 1, "RIGHT_SHIFT": 1,
    "QUANTIZE": 2, "DEQUANTIZE": 2,
}
BINARY = ("ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM", "FLOOR_DIV", "FLOOR_MOD",
          "SQUARED_DIFFERENCE", "ATAN2", "BITWISE_XOR", "RIGHT_SHIFT")
COMPARE = ("LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL",
           "LOGICAL_AND", "LOGICAL_OR")
# Per output element, as cost.py's NORM_FLOPS (SOFTMAX as Softmax, L2_NORMALIZATION as
# LpNormalization, LOCAL_RESPONSE_NORMALIZATION as LRN).
NORM = {"SOFTMAX": 5, "LOG_SOFTMAX": 5, "L2_NORMALIZATION": 3,
        "LOCAL_RESPONSE_NORMALIZATION": 5}
# One FLOP per input element.
REDUCE = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY",
          "REDUCE_ALL", "ARG_MAX", "ARG_MIN", "TOPK_V2", "CUMSUM")
POOL = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D")
MOVEMENT = ("RESHAPE", "TRANSPOSE", "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD",
            "STRIDED_SLICE", "SLICE", "GATHER", "GATHER_ND", "SQUEEZE", "EXPAND_DIMS",
            "PACK", "UNPACK", "SPLIT", "SPLIT_V", "TILE", "BROADCAST_TO", "CAST", "SHAPE",
            "RANK", "FILL", "ZEROS_LIKE", "RANGE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
            "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "REVERSE_V2", "REVERSE_SEQUENCE",
            "ONE_HOT", "SCATTER_ND", "EMBEDDING_LOOKUP", "BROADCAST_ARGS", "WHERE",
            "DYNAMIC_UPDATE_SLICE", "BITCAST", "MATRIX_DIAG", "MATRIX_SET_DIAG",
            "RESIZE_NEAREST_NEIGHBOR", "READ_VARIABLE", "ASSIGN_VARIABLE", "VAR_HANDLE")


@register
class Elementwise(TFLiteRule):
    ops = tuple(ELEMENTWISE)

    def cost(self, c):
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None:
            return None, None
        return out_n * ELEMENTWISE[c.node.op] + _activation(c, out_n), 0

    def shape(self, c):
        op = c.node.op
        if op in COMPARE:
            return _compare(c)
        if op in BINARY:
            return _broadcast(c)
        if op in ("QUANTIZE", "DEQUANTIZE"):
            return _cast_like(c)
        if op in ("SELECT", "SELECT_V2", "PRELU"):
            raise Unknown(op)   # (SELECT's broadcasting differs by version)
        return _same_shape(c)


@register
class AddN(TFLiteRule):
    ops = ("ADD_N",)

    def cost(self, c):
        out_n = prod(c.outs[0]) if c.outs else None
        return (None, None) if out_n is None else (out_n * max(len(c.node.inputs) - 1, 1), 0)


@register
class Normalization(TFLiteRule):
    ops = tuple(NORM)

    def cost(self, c):
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None:
            return None, None
        return out_n * NORM[c.node.op] + _activation(c, out_n), 0

    shape = staticmethod(_same_shape)


@register
class Reduce(TFLiteRule):
    ops = REDUCE

    def cost(self, c):
        x_n = prod(c.ins[0]) if c.ins else None
        return (None, None) if x_n is None else (x_n, 0)

    def shape(self, c):
        """MEAN, SUM, REDUCE_*: constant axes (input 1), keep_dims; ARG_MAX/ARG_MIN drop
        their axis; CUMSUM keeps the shape."""
        op, x, axes = c.node.op, c.dims(0), c.ints(1)
        if op == "CUMSUM":
            return _same_shape(c)
        if op not in REDUCERS + ARG_REDUCERS or x is None or axes is None or None in axes:
            raise Unknown("axes")
        if op in ARG_REDUCERS:
            if len(axes) != 1:
                raise Unknown("axis")
            a = axis(axes[0], len(x))
            return [(c.attr("output_type") or "int64", tuple(x[:a]) + tuple(x[a + 1:]))]
        picked = {axis(a, len(x)) for a in axes}
        keep = c.attr("keep_dims", "false") == "true"
        return [(c.dtype(0), tuple(1 if i in picked else d for i, d in enumerate(x)
                                   if keep or i not in picked))]


REDUCERS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY",
            "REDUCE_ALL")
ARG_REDUCERS = ("ARG_MAX", "ARG_MIN")


@register
class Pool(TFLiteRule):
    """Pool2DOptions: filter_height * filter_width window elements per output."""
    ops = POOL

    def cost(self, c):
        out_n = prod(c.outs[0]) if c.outs else None
        fh, fw = c.attr("filter_height"), c.attr("filter_width")
        if out_n is None or not fh or not fw:
            return None, None
        return out_n * fh * fw + _activation(c, out_n), 0

    def shape(self, c):
        x = c.dims(0)
        channels = x[3] if x is not None and len(x) == 4 else None
        return [_nhwc_window(c, c.attr("filter_height"), c.attr("filter_width"), channels,
                             dilated=False)]


@register
class ResizeBilinear(TFLiteRule):
    """2^k taps per output element, k the axes whose size changes (ONNX Resize linear)."""
    ops = ("RESIZE_BILINEAR",)

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out = c.outs[0] if c.outs else None
        out_n = prod(out)
        if out_n is None or not _known(x) or len(x) != len(out):
            return None, None
        return out_n * 2 ** sum(1 for a, b in zip(x, out) if a != b), 0

    def shape(self, c):
        return _resize(c)


@register
class Movement(TFLiteRule):
    """Data movement: 0 FLOPs; CONCATENATION's fused activation is counted."""
    ops = MOVEMENT

    def cost(self, c):
        if c.node.op == "CONCATENATION":
            out_n = prod(c.outs[0]) if c.outs else None
            act = c.attr("fused_activation_function", "NONE")
            if act != "NONE":
                return (None, None) if out_n is None else (_activation(c, out_n), 0)
        return 0, 0

    def shape(self, c):
        fn = MOVEMENT_SHAPES.get(c.node.op)
        if fn is None:
            raise Unknown(c.node.op)
        return fn(c)


# --- data movement shapes: small integer tensors (SHAPE -> STRIDED_SLICE -> PACK ->
# RESHAPE chains) are folded as values so that targets computed in the graph resolve.

def _vector(c, i):
    """Input i as a 1-D or scalar folded value: (dims, flat), else None."""
    v = c.value(i)
    return v if v is not None and len(v[0]) <= 1 else None


def _fold_same(c, dims):
    """The output is input 0's values in a new shape (RESHAPE, EXPAND_DIMS, SQUEEZE)."""
    v = c.value(0)
    if v is not None and dims is not None:
        c.fold(0, dims, v[1])


def _reshape(c):
    x = c.dims(0)
    target = c.ints(1) if c.has(1) else None
    if target is None and not c.has(1):
        new = c.attr("new_shape")
        target = list(new) if new else None
    if target is None:
        raise Unknown("shape")
    if target.count(-1) > 1:
        raise ValueError("RESHAPE with several -1")
    dims = list(target)
    if -1 in dims:
        rest = dim_prod([d for d in dims if d != -1])
        dims[dims.index(-1)] = None if x is None or rest is None else dim_div(dim_prod(x), rest)
    _fold_same(c, dims)
    return [(c.dtype(0), tuple(dims))]


def _expand_dims(c):
    x, a = c.dims(0), c.ints(1)
    if x is None or not a or len(a) != 1 or type(a[0]) is not int:
        raise Unknown("axis")
    at = a[0] + len(x) + 1 if a[0] < 0 else a[0]
    if not 0 <= at <= len(x):
        raise ValueError("EXPAND_DIMS axis out of range")
    dims = tuple(x[:at]) + (1,) + tuple(x[at:])
    _fold_same(c, dims)
    return [(c.dtype(0), dims)]


def _squeeze(c):
    x = c.dims(0)
    if x is None:
        raise Unknown("input")
    picked = c.attr("squeeze_dims") or []
    if picked:
        drop = {axis(a, len(x)) for a in picked}
    elif all(type(d) is int for d in x):
        drop = {i for i, d in enumerate(x) if d == 1}
    else:
        raise Unknown("squeeze_dims")   # (a symbol could be 1)
    dims = tuple(d for i, d in enumerate(x) if i not in drop)
    _fold_same(c, dims)
    return [(c.dtype(0), dims)]


def _transpose(c):
    x, perm = c.dims(0), c.ints(1)
    if x is None or perm is None or sorted(perm) != list(range(len(x))):
        raise Unknown("perm")
    return [(c.dtype(0), tuple(x[p] for p in perm))]


def _tile(c):
    x, m = c.dims(0), c.ints(1)
    if x is None or m is None or len(m) != len(x):
        raise Unknown("multipliers")
    return [(c.dtype(0), tuple(dim_mul(d, k) for d, k in zip(x, m)))]


def _pad(c):
    x, p = c.dims(0), c.value(1)
    if x is None or p is None or tuple(p[0]) != (len(x), 2) or \
            not all(type(v) is int for v in p[1]):
        raise Unknown("paddings")
    flat = p[1]
    return [(c.dtype(0), tuple(dim_add(d, flat[2 * i] + flat[2 * i + 1])
                               for i, d in enumerate(x)))]


def _resize(c):
    x, size = c.dims(0), c.ints(1)
    if x is None or len(x) != 4 or size is None or len(size) != 2:
        raise Unknown("size")
    return [(c.dtype(0), (x[0], size[0], size[1], x[3]))]


def _gather(c):
    x, idx = c.dims(0), c.dims(1)
    if x is None or idx is None or c.attr("batch_dims", 0) != 0:
        raise Unknown("batch_dims")
    a = axis(c.attr("axis", 0), len(x))
    dims = tuple(x[:a]) + tuple(idx) + tuple(x[a + 1:])
    v, i = _vector(c, 0), c.ints(1)
    if v is not None and len(v[0]) == 1 and i is not None and all(type(k) is int for k in i):
        n = len(v[1])
        if all(-n <= k < n for k in i):
            c.fold(0, dims, [v[1][k] for k in i])
    return [(c.dtype(0), dims)]


def _shape_of(c):
    x = c.dims(0)
    if x is None:
        raise Unknown("input")
    if None not in x:
        c.fold(0, (len(x),), list(x))
    return [(c.attr("out_type") or "int32", (len(x),))]


def _strided_slice(c):
    """STRIDED_SLICE with constant begin/end/strides, no ellipsis or new axis; Python's
    slice semantics (negative indices wrap, bounds clamp), as TensorFlow's."""
    x, begin, end, strides = c.dims(0), c.ints(1), c.ints(2), c.ints(3)
    if x is None or begin is None or end is None or strides is None \
            or not len(begin) == len(end) == len(strides) <= len(x) \
            or c.attr("ellipsis_mask", 0) or c.attr("new_axis_mask", 0) \
            or c.attr("offset", "false") == "true" \
            or not all(type(v) is int for v in begin + end + strides) or 0 in strides:
        raise Unknown("strided_slice")
    bm, em, sm = c.attr("begin_mask", 0), c.attr("end_mask", 0), c.attr("shrink_axis_mask", 0)
    dims, picks = [], []
    for i, d in enumerate(x):
        if i >= len(begin):
            dims.append(d)
            picks.append(None)
            continue
        b = None if bm >> i & 1 else begin[i]
        e = None if em >> i & 1 else end[i]
        if sm >> i & 1:
            picks.append(begin[i])
            continue
        if b is None and e is None and strides[i] == 1:
            dims.append(d)
            picks.append(slice(None))
        elif type(d) is int:
            r = range(d)[slice(b, e, strides[i])]
            dims.append(len(r))
            picks.append(slice(b, e, strides[i]))
        else:
            dims.append(None)
            picks.append(None)
    v = _vector(c, 0)
    if v is not None and len(v[0]) == 1 and picks and picks[0] is not None:
        p, flat = picks[0], v[1]
        if isinstance(p, slice):
            c.fold(0, tuple(dims), flat[p])
        elif -len(flat) <= p < len(flat):
            c.fold(0, (), [flat[p]])
    return [(c.dtype(0), tuple(dims))]


def _pack(c):
    shapes = [c.dims(i) for i in range(len(c.node.inputs))]
    if not shapes or any(s is None or len(s) != len(shapes[0]) for s in shapes):
        raise Unknown("inputs")
    rank = len(shapes[0]) + 1
    a = axis(c.attr("axis", 0), rank)
    dims = tuple(shapes[0][:a]) + (len(shapes),) + tuple(shapes[0][a:])
    if rank == 1:   # scalars stacked: a shape vector built in the graph
        values = [c.value(i) for i in range(len(shapes))]
        if all(v is not None and len(v[1]) == 1 for v in values):
            c.fold(0, dims, [v[1][0] for v in values])
    return [(c.dtype(0), dims)]


def _concatenation(c):
    """The sizes along `axis` add up, the others agree; 1-D values are folded."""
    shapes = [c.dims(i) for i in range(len(c.node.inputs))]
    if not shapes or any(s is None or len(s) != len(shapes[0]) for s in shapes):
        raise Unknown("inputs")
    a = axis(c.attr("axis", 0), len(shapes[0]))
    dims = []
    for i in range(len(shapes[0])):
        column = [s[i] for s in shapes]
        if i == a:
            total = 0
            for d in column:
                total = dim_add(total, d)
            dims.append(total)
        else:
            known = {d for d in column if d is not None}
            dims.append(known.pop() if len(known) == 1 else None)
    if len(dims) == 1:
        values = [_vector(c, i) for i in range(len(shapes))]
        if all(v is not None for v in values):
            c.fold(0, tuple(dims), [x for v in values for x in v[1]])
    return [(c.dtype(0), tuple(dims))]


def _cast(c):
    return [(None, c.dims(0))]


def _unpack(c):
    x = c.dims(0)
    if x is None or not x:
        raise Unknown("input")
    a = axis(c.attr("axis", 0), len(x))
    if x[a] != len(c.node.outputs):
        raise Unknown("num")
    return [(c.dtype(0), tuple(x[:a]) + tuple(x[a + 1:]))] * len(c.node.outputs)


def _split(c):
    """SPLIT (axis, input): num_splits equal parts of a static axis."""
    a, x = c.ints(0), c.dims(1)
    n = len(c.node.outputs)
    if x is None or not a or len(a) != 1 or type(a[0]) is not int:
        raise Unknown("axis")
    at = axis(a[0], len(x))
    size = dim_div(x[at], n) if type(x[at]) is int else None
    dims = tuple(size if i == at else d for i, d in enumerate(x))
    return [(c.dtype(1), dims)] * n


MOVEMENT_SHAPES = {
    "RESHAPE": _reshape, "EXPAND_DIMS": _expand_dims, "SQUEEZE": _squeeze,
    "TRANSPOSE": _transpose, "TILE": _tile, "PAD": _pad, "PADV2": _pad, "MIRROR_PAD": _pad,
    "RESIZE_NEAREST_NEIGHBOR": _resize, "GATHER": _gather, "SHAPE": _shape_of,
    "STRIDED_SLICE": _strided_slice, "PACK": _pack, "CONCATENATION": _concatenation,
    "CAST": _cast, "UNPACK": _unpack, "SPLIT": _split,
}


# The builtin ops left "not counted", and why.
NO_TEST_MODEL = "no rule yet: no converter-written test model checks its weights' layout"
NOT_COUNTED = {
    "WHILE": "its work is its body's times a trip count known only at run time",
    "IF": "its work is the branch taken at run time",
    "CALL": "its work is the called subgraph's, costed as a graph of its own",
    "CALL_ONCE": "it runs its init subgraph once per interpreter, not per inference",
    "CUSTOM": "a custom operator: what it computes is not in the file",
    "LSTM": NO_TEST_MODEL,
    "BIDIRECTIONAL_SEQUENCE_LSTM": NO_TEST_MODEL,
    "UNIDIRECTIONAL_SEQUENCE_RNN": NO_TEST_MODEL,
    "BIDIRECTIONAL_SEQUENCE_RNN": NO_TEST_MODEL,
    "RNN": NO_TEST_MODEL,
    "SVDF": NO_TEST_MODEL,
    "NON_MAX_SUPPRESSION_V4": "data-dependent: the number of boxes kept is known at run time",
    "NON_MAX_SUPPRESSION_V5": "data-dependent: the number of boxes kept is known at run time",
    "UNIQUE": "data-dependent output size",
    "HASHTABLE_LOOKUP": "a table lookup: no arithmetic rule",
    "RFFT2D": "complex output: no FFT rule",
}
