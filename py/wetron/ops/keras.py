"""Keras layers (domain "keras": .keras, .h5, TF.js layers models), one node per layer
call, read from the layer config as formats/keras.py stores it: ints, `ints` lists,
bools as "true"/"false", nested lists (ZeroPadding2D's ((top, bottom), (left, right)))
and objects as their JSON text. A node's inputs are the call's tensors, then the
layer's weights; the rules read the config, not the weights (a model config may come
without them). Dim 0 is the batch (formats/keras.py: the symbol "batch"), which no
layer changes; data_format is "channels_last" unless the config says "channels_first".

Windows follow Keras: "valid" floor((in - dilation*(k-1) - 1) / stride) + 1, "same"
and "causal" ceil(in / stride); Conv*Transpose in * stride (+ max(k - stride, 0) when
"valid"), or (in-1)*stride + k - 2*pad + output_padding when output_padding is given.

Cost (docs/graph-schema.md, "cost"): Conv*D MACs = out_elems * in_channels/groups *
prod(kernel_size); DepthwiseConv*D out_elems * prod(kernel_size); SeparableConv*D the
depthwise part plus out_elems * in_channels * depth_multiplier; Conv*Transpose
in_elems * filters * prod(kernel_size); Dense out_elems * in_features (any input rank);
MultiHeadAttention its four projections plus batch * heads * q_len * kv_len * (key_dim +
value_dim). FLOPs = 2 * MACs + out_elems for a bias (use_bias) + the fused activation's
FLOPs per output element (ACTIVATION_FLOPS; an activation not listed leaves FLOPs not
counted, MACs still). BatchNormalization 2 per element (inference), LayerNormalization/
GroupNormalization 7, Softmax 5, pooling prod(pool_size) per output element, global
pooling one per input element, merges (n-1) per element (Average one more), UpSampling
bilinear 2^k per output element, data movement (Reshape, Flatten, Dropout, padding,
Embedding lookups, ...) 0.

Box: a layer's fused activation ("+ relu"; linear not shown), then for convolutions and
pooling the window as the config gives it ("kernel 3×3, stride 2": kernel_size or
pool_size, strides, which pooling takes from pool_size when the config leaves them
None, as Keras does; "groups 2", "dilation 2×2"), the filters, a depth_multiplier
other than 1, a Dense layer's units; any other layer its first small options as any op
(ops/box.py), dtype left out (every layer states it).
"""
import json
import math
import re

from ..symbolic import _ceil_div, _floor_div, _same, broadcast, dim_add, dim_div, dim_mul, \
    dim_prod, dim_sub
from . import box, register, register_domain
from .base import MAX_RANK, Rule, Unknown, axis as _axis, flag, prod

DOMAIN = "keras"
_RANK = re.compile(r"([123])D(?:Transpose)?$")

ATTR_TYPES = {
    "filters": "int", "units": "int", "groups": "int", "depth_multiplier": "int",
    "kernel_size": "ints", "strides": "ints", "dilation_rate": "ints", "pool_size": "ints",
    "data_format": "string", "activation": "string", "use_bias": "string",
    "keepdims": "string", "output_dim": "int", "input_dim": "int", "num_heads": "int",
    "key_dim": "int", "value_dim": "int", "target_shape": "ints", "dims": "ints",
    "n": "int", "interpolation": "string", "return_sequences": "string",
    "use_gate": "string", "max_value": "float", "negative_slope": "float",
    "threshold": "float", "dtype": "string",
    # read unchecked, validated by the rules: int or ints (axis, size, output_padding,
    # output_shape, attention_axes), string or ints (padding: "same", or ZeroPadding's
    # pairs)
}

# FLOPs per output element of Keras' activations (as the ONNX rules count them).
ACTIVATION_FLOPS = {
    "linear": 0, "relu": 1, "relu6": 2, "sigmoid": 1, "tanh": 1, "softmax": 5,
    "log_softmax": 5, "gelu": 8, "swish": 2, "silu": 2, "elu": 3, "selu": 3,
    "softplus": 2, "softsign": 2, "hard_sigmoid": 3, "hard_silu": 4, "hard_swish": 4,
    "leaky_relu": 2, "mish": 4, "exponential": 1,
}


@register_domain
class KerasRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES
    box_quiet = frozenset(["dtype"])


def _fused_activation(a):
    """["+ relu"] for a layer's activation other than linear."""
    act = a.attr("activation")
    return [box.line(f"+ {act}")] if isinstance(act, str) and act not in ("", "linear") else []


class Windowed(KerasRule):
    """Convolutions and pooling, for their box (see the module docstring)."""
    kernel_attr = "kernel_size"

    def window(self, a, rank):
        """(kernel, strides) as the config gives them, None where it does not."""
        return a.ints(self.kernel_attr), a.ints("strides")

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        rank = _rank_of(node.op)
        try:
            kernel, strides = self.window(a, rank)
        except Unknown:
            kernel = strides = None
        lines = _fused_activation(a) + box.window(kernel, strides, a.int("groups"),
                                                  a.ints("dilation_rate"))
        filters, mult = a.int("filters"), a.int("depth_multiplier")
        if filters is not None:
            lines.append(f"filters {filters}")
        if mult is not None and mult != 1:
            lines.append(f"multiplier {mult}")
        return lines or super().box_lines(node)


def _dtype(c, i=0):
    """The layer's compute dtype: its dtype policy ("mixed_float16" computes in
    float16), else its input's."""
    d = c.attr("dtype", None)
    if isinstance(d, str):
        d = d.split("_", 1)[1] if d.startswith("mixed_") else d
        if d in ("float16", "float32", "float64", "bfloat16"):
            return d
    return c.dtype(i)


def _ints(c, name, n, default=None):
    """An int or list attribute as n ints (Keras accepts 3 for (3, 3))."""
    v = c.attr(name, default)
    if type(v) is int:
        v = [v] * n
    if not isinstance(v, list) or len(v) != n or any(type(x) is not int or x < 0 for x in v):
        raise Unknown(name)
    return v


def _channels_first(c):
    fmt = c.attr("data_format", "channels_last")
    if fmt not in ("channels_last", "channels_first"):
        raise Unknown("data_format")
    return fmt == "channels_first"


def _axes(c, x):
    """(channel axis, spatial axes) of input dims x."""
    rank = len(x)
    if _channels_first(c):
        return 1, list(range(2, rank))
    return rank - 1, list(range(1, rank - 1))


def _window(size, k, s, d, padding):
    if padding in ("same", "causal"):
        return _ceil_div(size, s)
    if padding != "valid":
        raise Unknown("padding")
    n = dim_add(_floor_div(dim_sub(size, d * (k - 1) + 1), s), 1)
    if type(n) is int and n < 0:
        raise ValueError("a window larger than its input")
    return n


def _bias_and_activation(c, out):
    """FLOPs of the bias add and the fused activation, None if the activation is not
    one counted here."""
    act = c.attr("activation", "linear")
    per = ACTIVATION_FLOPS.get(act)
    if per is None:
        return None
    return per * out + (out if flag(c, "use_bias", True) else 0)


def _with_macs(c, macs):
    out = prod(c.outs[0]) if c.outs else None
    if macs is None or out is None:
        return None, None
    extra = _bias_and_activation(c, out)
    return (None if extra is None else 2 * macs + extra), macs


def _out_n(c):
    return prod(c.outs[0]) if c.outs else None


def _in(c, i=0):
    return c.ins[i] if i < len(c.ins) else None


# --- convolutions ---------------------------------------------------------------------

def _conv_dims(c, x, rank, channels, padding=None):
    ch, spatial = _axes(c, x)
    kernel = _ints(c, "kernel_size", rank)
    strides = _ints(c, "strides", rank, 1)
    dilation = _ints(c, "dilation_rate", rank, 1)
    padding = padding or c.attr("padding", "valid")
    out = list(x)
    out[ch] = channels
    for j, a in enumerate(spatial):
        out[a] = _window(x[a], kernel[j], strides[j], dilation[j], padding)
    return tuple(out)


def _rank_of(op):
    """Spatial rank of a layer class: Conv2D, Conv2DTranspose, MaxPooling1D -> 2, 2, 1."""
    m = _RANK.search(op)
    return int(m.group(1)) if m else None


def _spatial_input(c, op):
    x = c.dims(0)
    rank = _rank_of(op)
    if x is None or rank is None or len(x) != rank + 2:
        return None, rank
    return x, rank


@register
class Conv(Windowed):
    ops = ("Conv1D", "Conv2D", "Conv3D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        return [(_dtype(c), _conv_dims(c, x, rank, c.attr("filters")))]

    def cost(self, c):
        x, rank = _in(c), _rank_of(c.node.op)
        out = _out_n(c)
        if x is None or out is None or rank is None or len(x) != rank + 2:
            return None, None
        ch, _ = _axes(c, x)
        groups = c.attr("groups", 1)
        if x[ch] is None or not groups or x[ch] % groups:
            return None, None
        return _with_macs(c, out * (x[ch] // groups) * math.prod(_ints(c, "kernel_size", rank)))


@register
class DepthwiseConv(Windowed):
    ops = ("DepthwiseConv1D", "DepthwiseConv2D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        ch, _ = _axes(c, x)
        return [(_dtype(c), _conv_dims(c, x, rank, dim_mul(x[ch], c.attr("depth_multiplier", 1))))]

    def cost(self, c):
        rank, out = _rank_of(c.node.op), _out_n(c)
        if out is None or rank is None:
            return None, None
        return _with_macs(c, out * math.prod(_ints(c, "kernel_size", rank)))


@register
class SeparableConv(Windowed):
    """A depthwise convolution (depth_multiplier) then a 1x1 one to `filters`."""
    ops = ("SeparableConv1D", "SeparableConv2D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        return [(_dtype(c), _conv_dims(c, x, rank, c.attr("filters")))]

    def cost(self, c):
        x, rank, out = _in(c), _rank_of(c.node.op), _out_n(c)
        if x is None or out is None or rank is None or len(x) != rank + 2:
            return None, None
        ch, _ = _axes(c, x)
        filters, mult = c.attr("filters"), c.attr("depth_multiplier", 1)
        if x[ch] is None or not filters:
            return None, None
        mid = out // filters * x[ch] * mult          # depthwise output elements
        macs = mid * math.prod(_ints(c, "kernel_size", rank)) + out * x[ch] * mult
        return _with_macs(c, macs)


@register
class ConvTranspose(Windowed):
    ops = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        ch, spatial = _axes(c, x)
        kernel = _ints(c, "kernel_size", rank)
        strides = _ints(c, "strides", rank, 1)
        dilation = _ints(c, "dilation_rate", rank, 1)
        padding = c.attr("padding", "valid")
        outpad = c.attr("output_padding", None)
        if outpad is not None:
            outpad = _ints(c, "output_padding", rank)
        out = list(x)
        out[ch] = c.attr("filters")
        for j, a in enumerate(spatial):
            k = kernel[j] + (kernel[j] - 1) * (dilation[j] - 1)
            s = strides[j]
            if padding not in ("same", "valid"):
                raise Unknown("padding")
            if outpad is None:
                grow = 0 if padding == "same" else max(k - s, 0)
                out[a] = dim_add(dim_mul(x[a], s), grow)
            else:
                pad = k // 2 if padding == "same" else 0
                out[a] = dim_add(dim_mul(dim_sub(x[a], 1), s), k - 2 * pad + outpad[j])
        return [(_dtype(c), tuple(out))]

    def cost(self, c):
        x, rank = _in(c), _rank_of(c.node.op)
        n = prod(x)
        filters = c.attr("filters")
        if n is None or rank is None or not filters:
            return None, None
        return _with_macs(c, n * filters * math.prod(_ints(c, "kernel_size", rank)))


@register
class Dense(KerasRule):
    """Dense on the last axis of an input of any rank."""
    ops = ("Dense",)

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        units = a.int("units")
        return (_fused_activation(a) + ([] if units is None else [f"units {units}"])
                or super().box_lines(node))

    def shape(self, c):
        x = c.dims(0)
        if x is None or not x:
            return [(_dtype(c), None)]
        return [(_dtype(c), tuple(x[:-1]) + (c.attr("units"),))]

    def cost(self, c):
        x, out = _in(c), _out_n(c)
        if x is None or not x or x[-1] is None or out is None:
            return None, None
        return _with_macs(c, out * x[-1])


@register
class MultiHeadAttention(KerasRule):
    """MultiHeadAttention(query, value[, key]) over the sequence axis (attention_axes
    not set): projections to num_heads x key_dim / value_dim, scores, softmax,
    context, the output projection back to the query's width (or output_shape)."""
    ops = ("MultiHeadAttention",)

    def _data(self, c):
        """How many of the inputs are the call's tensors (the rest: 8 weights with
        biases, 4 without, or none when the file has no weights)."""
        n = len(c.node.inputs)
        for w in (8 if flag(c, "use_bias", True) else 4, 0):
            if n - w in (2, 3):
                return n - w
        raise Unknown("inputs")

    def _out_dims(self, c):
        shape = c.attr("output_shape", None)
        if shape is None:
            return None
        if type(shape) is int:
            return (shape,)
        if isinstance(shape, list) and all(type(s) is int for s in shape):
            return tuple(shape)
        raise Unknown("output_shape")

    def _standard(self, c):
        """Attention over the sequence axis of [batch, seq, features] tensors, as Keras
        builds it by default (attention_axes (1,)), without a gate."""
        axes = c.attr("attention_axes", None)
        return axes in (None, [1], [-2], 1, -2) and not flag(c, "use_gate", False)

    def shape(self, c):
        if not self._standard(c):
            raise Unknown("attention_axes")
        q = c.dims(0)
        if q is None or len(q) != 3:
            return [(_dtype(c), None)]
        out = self._out_dims(c) or q[-1:]
        return [(_dtype(c), tuple(q[:-1]) + out)]

    def cost(self, c):
        if not self._standard(c):
            return None, None
        data = self._data(c)
        q, v = _in(c, 0), _in(c, 1)
        k = _in(c, 2) if data == 3 else v
        out = _out_n(c)
        if q is None or v is None or k is None or out is None or None in q + v + k or \
                len(q) != 3 or len(v) != 3 or len(k) != 3:
            return None, None
        heads, kd = c.attr("num_heads"), c.attr("key_dim")
        vd = c.attr("value_dim", None) or kd
        if not heads or not kd:
            return None, None
        b, tq, tv = q[0], q[1], v[1]
        out_width = out // (b * tq)
        macs = (b * tq * q[2] * heads * kd + b * tv * k[2] * heads * kd
                + b * tv * v[2] * heads * vd + b * heads * tq * tv * (kd + vd)
                + b * tq * heads * vd * out_width)
        flops = 2 * macs + 5 * b * heads * tq * tv
        if flag(c, "use_bias", True):
            flops += b * tq * heads * kd + b * tv * heads * (kd + vd) + out
        return flops, macs


# --- normalisation, activations, merges -------------------------------------------------

NORM_FLOPS = {"BatchNormalization": 2, "LayerNormalization": 7, "GroupNormalization": 7,
              "UnitNormalization": 3, "Softmax": 5}
ACTIVATION_LAYERS = {"ELU": 3, "LeakyReLU": 2, "PReLU": 2}


def _same_type(c):
    return [(_dtype(c), c.dims(0))]


@register
class Normalization(KerasRule):
    """Per-element normalisations (BatchNormalization at inference)."""
    ops = tuple(NORM_FLOPS)
    shape = staticmethod(_same_type)

    def cost(self, c):
        out = _out_n(c)
        return (None, None) if out is None else (out * NORM_FLOPS[c.node.op], 0)


@register
class Activation(KerasRule):
    """Activation(activation), ReLU(max_value, negative_slope, threshold), ELU, ..."""
    ops = ("Activation", "ReLU") + tuple(ACTIVATION_LAYERS)
    shape = staticmethod(_same_type)

    def cost(self, c):
        out = _out_n(c)
        if out is None:
            return None, None
        op = c.node.op
        if op == "Activation":
            per = ACTIVATION_FLOPS.get(c.attr("activation", "linear"))
        elif op == "ReLU":
            clipped = c.attr("max_value", None) is not None
            leaky = c.attr("negative_slope", 0.0) or c.attr("threshold", 0.0)
            per = 1 + bool(clipped) + bool(leaky)
        else:
            per = ACTIVATION_LAYERS[op]
        return (None, 0) if per is None else (out * per, 0)


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


@register
class Merge(KerasRule):
    ops = MERGES

    def shape(self, c):
        return [(_dtype(c), broadcast([c.dims(i) for i in range(len(c.node.inputs))]))]

    def cost(self, c):
        out = _out_n(c)
        if out is None:
            return None, None
        n = len(c.node.inputs)
        return out * max(n - 1, 1) + (out if c.node.op == "Average" else 0), 0


@register
class Concatenate(KerasRule):
    ops = ("Concatenate",)

    def shape(self, c):
        ins = [c.dims(i) for i in range(len(c.node.inputs))]
        if not ins or any(d is None for d in ins) or len({len(d) for d in ins}) != 1:
            return [(_dtype(c), None)]
        a = c.attr("axis", -1)
        if type(a) is not int:
            raise Unknown("axis")
        rank = len(ins[0])
        ax = _axis(a, rank)
        out = []
        for i in range(rank):
            d = 0 if i == ax else None
            for s in ins:
                d = dim_add(d, s[i]) if i == ax else _same(d, s[i])
            out.append(d)
        return [(_dtype(c), tuple(out))]

    def cost(self, c):
        return 0, 0


# --- pooling ---------------------------------------------------------------------------

@register
class Pool(Windowed):
    ops = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D")

    def window(self, a, rank):
        return self._sizes(a, rank) if rank is not None else (None, None)

    def _sizes(self, c, rank):
        pool = _ints(c, "pool_size", rank, 2)
        strides = c.attr("strides", None)
        strides = pool if strides is None else _ints(c, "strides", rank)
        return pool, strides

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        pool, strides = self._sizes(c, rank)
        _, spatial = _axes(c, x)
        out = list(x)
        for j, a in enumerate(spatial):
            out[a] = _window(x[a], pool[j], strides[j], 1, c.attr("padding", "valid"))
        return [(_dtype(c), tuple(out))]

    def cost(self, c):
        out, rank = _out_n(c), _rank_of(c.node.op)
        if out is None or rank is None:
            return None, None
        return out * math.prod(self._sizes(c, rank)[0]), 0


@register
class GlobalPool(KerasRule):
    ops = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        ch, spatial = _axes(c, x)
        if flag(c, "keepdims", False):
            return [(_dtype(c), tuple(1 if i in spatial else d for i, d in enumerate(x)))]
        return [(_dtype(c), (x[0], x[ch]))]

    def cost(self, c):
        n = prod(_in(c))
        return (None, None) if n is None else (n, 0)


@register
class UpSampling(KerasRule):
    ops = ("UpSampling1D", "UpSampling2D", "UpSampling3D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        if rank == 1:
            size = [c.attr("size", 2)]
            spatial = [1]
        else:
            size = _ints(c, "size", rank, 2)
            _, spatial = _axes(c, x)
        if any(type(s) is not int for s in size):
            raise Unknown("size")
        out = list(x)
        for j, a in enumerate(spatial):
            out[a] = dim_mul(x[a], size[j])
        return [(_dtype(c), tuple(out))]

    def cost(self, c):
        out = _out_n(c)
        if out is None:
            return None, None
        if c.attr("interpolation", "nearest") == "nearest":
            return 0, 0
        if c.attr("interpolation") == "bilinear":
            x = _in(c)
            k = sum(1 for a, b in zip(x or (), c.outs[0]) if a != b)
            return out * 2 ** k, 0
        return None, None


# --- data movement ---------------------------------------------------------------------

def _zero(c):
    return 0, 0


class Movement(KerasRule):
    cost = staticmethod(_zero)


@register
class Passing(Movement):
    """Layers that leave their input as it is at inference."""
    ops = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
           "Masking", "Identity")

    def shape(self, c):
        return [c.ins[0] if c.ins else None]


@register
class Flatten(Movement):
    ops = ("Flatten",)

    def shape(self, c):
        x = c.dims(0)
        if x is None or not x:
            return [(_dtype(c), None)]
        return [(_dtype(c), (x[0], dim_prod(x[1:])))]


@register
class Reshape(Movement):
    """Reshape(target_shape): the batch stays; one -1 takes what is left."""
    ops = ("Reshape",)

    def shape(self, c):
        x, target = c.dims(0), c.attr("target_shape")
        if x is None or not x or not isinstance(target, list) or len(target) > MAX_RANK:
            return [(_dtype(c), None)]
        out = list(target)
        if out.count(-1) > 1 or any(t < -1 for t in out):
            raise ValueError("Reshape target")
        if -1 in out:
            i = out.index(-1)
            rest = dim_prod(out[:i] + out[i + 1:])
            total = dim_prod(x[1:])
            out[i] = None if not rest or total is None else dim_div(total, rest)
        return [(_dtype(c), (x[0],) + tuple(out))]


@register
class Permute(Movement):
    """Permute(dims): 1-based axes of the input without its batch."""
    ops = ("Permute",)

    def shape(self, c):
        x, dims = c.dims(0), c.attr("dims")
        if x is None or not isinstance(dims, list) or sorted(dims) != list(range(1, len(x))):
            return [(_dtype(c), None)]
        return [(_dtype(c), (x[0],) + tuple(x[d] for d in dims))]


@register
class RepeatVector(Movement):
    ops = ("RepeatVector",)

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) != 2:
            return [(_dtype(c), None)]
        return [(_dtype(c), (x[0], c.attr("n"), x[1]))]


@register
class Embedding(Movement):
    ops = ("Embedding",)

    def shape(self, c):
        x = c.dims(0)
        return [(_dtype(c) if c.attr("dtype", None) else "float32",
                 None if x is None else tuple(x) + (c.attr("output_dim"),))]


def _pairs(c, rank):
    """ZeroPadding / Cropping amounts: [(before, after)] per spatial axis."""
    v = c.attr("padding" if c.node.op.startswith("Zero") else "cropping", 1)
    if isinstance(v, str):
        if len(v) > 256:
            raise Unknown("padding")
        try:
            v = json.loads(v)
        except ValueError:
            raise Unknown("padding") from None
    if type(v) is int:
        return [(v, v)] * rank
    if isinstance(v, list) and len(v) == rank:
        out = []
        for p in v:
            if type(p) is int:
                out.append((p, p))
            elif isinstance(p, list) and len(p) == 2 and all(type(x) is int for x in p):
                out.append(tuple(p))
            else:
                raise Unknown("padding")
        return out
    if isinstance(v, list) and rank == 1 and len(v) == 2 and all(type(x) is int for x in v):
        return [tuple(v)]
    raise Unknown("padding")


@register
class ZeroPadding(Movement):
    ops = ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
           "Cropping3D")

    def shape(self, c):
        x, rank = _spatial_input(c, c.node.op)
        if x is None:
            return [(_dtype(c), None)]
        _, spatial = _axes(c, x)
        sign = 1 if c.node.op.startswith("Zero") else -1
        out = list(x)
        for (b, e), a in zip(_pairs(c, rank), spatial):
            out[a] = dim_add(x[a], sign * (b + e))
        return [(_dtype(c), tuple(out))]
