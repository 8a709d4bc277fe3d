"""ONNX's standard operators (domain ai.onnx), as op families in the modules beside this
one, organised as ONNX's reference implementation organises its ops:

  elementwise    unary and binary arithmetic, comparisons, activations, Where, Cast, ...
  normalization  BatchNormalization, LayerNormalization, Softmax, LRN, ...
  reduce         Reduce*, ArgMax/ArgMin, TopK, CumSum
  conv           Conv, ConvTranspose and the quantized forms
  matmul         MatMul, Gemm, Einsum, Det and the quantized forms
  pool           MaxPool, AveragePool, LpPool, Global*Pool, RoI pooling
  movement       Reshape, Transpose, Squeeze, Concat, Split, Slice, Gather, Pad, Tile, ...
  constant       Constant, ConstantOfShape
  generator      Range, the random generators, EyeLike
  quantize       QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear
  resize         Resize, Upsample, GridSample, AffineGrid
  rnn            RNN, GRU, LSTM
  attention      Attention
  loss           SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss
  detection      NonMaxSuppression
  control        If, Loop (and the sequence/optional ops, which move data only)

Each class holds an op's shape rule and cost rule side by side. Where ONNX changed an
op's form (an attribute that became an input, a new output type), each form is its own
rule registered with the opset version it holds `since`, and reads only that form. The
first form of an op is registered since 1: a node of an op its declared opset did not
have yet still gets that form rather than nothing. fold.py holds the value folding of
small integer tensors the families share.
"""
from .. import register as _register, register_domain
from ..base import Rule, Window

# The type each attribute the rules read must have (ONNX AttributeProto types, as
# model.Attribute.type). An attribute of another type (an INT equation, a TENSOR
# kernel_shape: a broken or hostile file) makes the node's shape unknown and its cost
# not counted: never a crash, never a guess. A rule of an older form whose attribute
# had another type (Cast-1's string `to`) says so in its own attr_types.
# (tests/test_hardening.py checks every name the rules read is here, with ONNX's type.)
ATTR_TYPES = {
    "allowzero": "int", "auto_pad": "string", "axes": "ints", "axis": "int",
    "batch_dims": "int", "blocksize": "int", "body": "graph", "ceil_mode": "int",
    "dilations": "ints", "direction": "string", "dtype": "int", "else_branch": "graph",
    "end": "int", "ends": "ints", "equation": "string", "group": "int",
    "height_scale": "float", "hidden_size": "int", "k": "int",
    "keep_aspect_ratio_policy": "string", "keepdims": "int", "kernel_shape": "ints",
    "kv_num_heads": "int", "layout": "int", "mode": "string", "noop_with_empty_axes": "int",
    "num_outputs": "int", "output_dtype": "int", "output_height": "int",
    "output_padding": "ints", "output_shape": "ints", "output_width": "int",
    "paddings": "ints", "pads": "ints", "perm": "ints", "pooled_shape": "ints",
    "q_num_heads": "int", "reduction": "string", "sample_size": "int", "scales": "floats",
    "shape": "ints", "split": "ints", "start": "int", "starts": "ints", "stash_type": "int",
    "strides": "ints", "then_branch": "graph", "to": "int", "transA": "int",
    "transB": "int", "value": "tensor", "width_scale": "float",
    # Constant's forms
    "value_int": "int", "value_ints": "ints", "value_float": "float",
    "value_floats": "floats", "value_string": "string", "value_strings": "strings",
    "sparse_value": "sparse_tensor",
}


def register(cls):
    """Register a Rule subclass (an instance of it, in ops' registry); returns the class
    itself, so that an op's other forms can subclass it."""
    _register(cls)
    return cls


class Op(Rule):
    """An ai.onnx rule: ONNX's attribute types."""
    domain = "ai.onnx"
    attr_types = ATTR_TYPES


@register_domain
class Windowed(Window, Op):
    """ONNX's sliding-window ops (Conv, ConvTranspose, the pools), for their box: the
    kernel_shape, strides, group and dilations attributes. Also the box of an ONNX op
    without a rule of its own (MaxUnpool, Col2Im name their windows alike)."""
    kernel_attr, stride_attr, group_attr, dilation_attr = (
        "kernel_shape", "strides", "group", "dilations")


def text(v):
    """A string attribute's value as str (files hold bytes)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


class Movement(Op):
    """Ops that only move, copy or reinterpret data: cost 0 FLOPs, 0 MACs."""

    def cost(self, c):
        return 0, 0
