"""Core ML's operators: NeuralNetwork layers (domain "coreml") and ML program (MIL)
operations (domain "coreml.mil"); shape and cost rules.

Nodes come from formats/coreml.py. A NeuralNetwork layer's op is its type (the field
name of NeuralNetworkLayer's oneof), its attributes are its parameter message's
fields as that module flattens them (names as in NeuralNetwork.proto; a oneof's choice
under the oneof's name: ConvolutionPaddingType = "valid" | "same"; repeated messages
as one list per field: valid.paddingAmounts.borderAmounts.startEdgeSize = [top, left]);
proto3 leaves defaults out, so a missing attribute is its field's default. Its weights
follow its own inputs, in field order (convolution: x, weights, bias).
A MIL operation's inputs are in its slots' order (coremltools' op definitions, e.g.
conv: x, weight, bias, strides, pad_type, pad, dilations, groups; "" for a slot not
bound); its constants (strides, pads) are weights the shape rules could read, but
every MIL output has its type in the file, so MIL needs cost rules only.

Shapes (NeuralNetwork): a .mlmodel declares only the model's inputs (and sometimes
outputs); the rules below give the layers' outputs where NeuralNetwork.proto's rule is
exact, on the layer's input as declared (rank-5 [S, B, C, H, W] inputs of old models
and the exact ranks of newer ones alike: windows act on the last three axes [C, H, W]):
- convolution: C = outputChannels; H, W by the padding: valid (paddingAmounts)
  floor((H + top + bottom - dilated kernel) / stride) + 1, same ceil(H / stride);
  kernelSize [3, 3], stride and dilationFactor [1, 1] when not set; deconvolution:
  [..., C, outputShape] when outputShape is set (else not inferred);
- pooling: globalPooling [..., C, 1, 1]; valid / same as convolution (includeLastPixel:
  not inferred);
- innerProduct: [..., Cin] -> [..., Cout] for rank 1 and 2, [..., Cin, 1, 1] ->
  [..., Cout, 1, 1] for rank 3 and more;
- batchedMatmul: NumPy matmul of two inputs (transposeA / transposeB), or of the
  input and its weights [Cin, Cout] ([..., Cin] -> [..., Cout]);
- same shape: activation, batchnorm, softmax, softmaxND, lrn, l2normalize, mvn, unary,
  clip, ceil, floor, sign, round, exp2, the trigonometric layers, erf, gelu, copy;
- NumPy broadcasting: the *Broadcastable layers (comparisons give bool);
- reshapeStatic (targetShape, all known), flattenTo2D, concatND (axis).

Cost (cost.py's conventions, docs/graph-schema.md "cost"; FLOPs = 2 * MACs plus one per
output element for a bias):
- convolution: weights [outputChannels, kernelChannels, kh, kw] (kernelChannels =
  Cin / nGroups): MACs = out_elems * kernelChannels * kh * kw; deconvolution, weights
  [kernelChannels, outputChannels / nGroups, kh, kw]: MACs = in_elems *
  (outputChannels / nGroups) * kh * kw;
- innerProduct: out_elems * inputChannels; batchedMatmul: out_elems * K;
- pooling: one FLOP per window element per output element (global: per input element);
- MIL conv: weight [C_out, C_in / groups, *kernel]: MACs = out_elems * C_in / groups *
  kernel elements; conv_transpose: weight [C_in, C_out / groups, *kernel]: MACs =
  in_elems * C_out / groups * kernel elements; linear: weight [C_out, C_in], MACs =
  out_elems * C_in; matmul: out_elems * K (K: the axis of x that is not the output's M).
Other layers and operations are "not counted" (MIL pooling too: its window is an input
value, which the cost context does not see).

Box (NeuralNetwork): convolution its window ("kernel 3×3, stride 2": kernelSize and
stride, [3, 3] and [1, 1] when not set, as NeuralNetwork.proto has them; "groups 2":
nGroups; "dilation 2×2": dilationFactor), its padding kind and outputChannels; pooling
its type (MAX, AVERAGE, L2) and window, or "global"; any other layer its first small
fields (ops/box.py). MIL operations pass their parameters as inputs: no box lines.
"""
import math

from . import box, register
from .base import Rule, Unknown, prod
from ..symbolic import MAX_DIM, broadcast, dim_prod

NN = "coreml"
MIL = "coreml.mil"

# Attributes the NeuralNetwork rules read, with the type formats/coreml.py gives them.
ATTR_TYPES = {
    "outputChannels": "int", "kernelChannels": "int", "nGroups": "int",
    "kernelSize": "ints", "stride": "ints", "dilationFactor": "ints",
    "ConvolutionPaddingType": "string", "PoolingPaddingType": "string",
    "valid.paddingAmounts.borderAmounts.startEdgeSize": "ints",
    "valid.paddingAmounts.borderAmounts.endEdgeSize": "ints",
    "isDeconvolution": "int", "hasBias": "int", "outputShape": "ints",
    "globalPooling": "int", "inputChannels": "int", "transposeA": "int",
    "transposeB": "int", "weightMatrixFirstDimension": "int",
    "weightMatrixSecondDimension": "int", "targetShape": "ints", "axis": "int",
}


class CoreMLRule(Rule):
    domain = NN
    attr_types = ATTR_TYPES


def _pair(c, name, default):
    v = c.attr(name)
    if not v:
        return default
    if len(v) != 2 or not all(type(x) is int and 0 < x <= MAX_DIM for x in v):
        raise Unknown(name)
    return list(v)


def _window(c, padding_attr):
    """(kernel, stride, dilation, padding kind, (start pads, end pads)) of a window
    layer, defaults filled in."""
    k = _pair(c, "kernelSize", [3, 3])
    s = _pair(c, "stride", [1, 1])
    d = _pair(c, "dilationFactor", [1, 1]) if c.node.op == "convolution" else [1, 1]
    kind = c.attr(padding_attr, "valid")
    start = c.attr("valid.paddingAmounts.borderAmounts.startEdgeSize") or [0, 0]
    end = c.attr("valid.paddingAmounts.borderAmounts.endEdgeSize") or [0, 0]
    if len(start) != 2 or len(end) != 2:
        raise Unknown("paddingAmounts")
    return k, s, d, kind, (start, end)


def _spatial(size, k, s, d, kind, pad_start, pad_end):
    if type(size) is not int:
        return None
    if kind == "same":
        return -(-size // s)
    if kind == "valid":
        n = (size + pad_start + pad_end - ((k - 1) * d + 1)) // s + 1
        if n <= 0:
            raise ValueError(f"window of {k} larger than the padded input {size}")
        return n
    raise Unknown("padding")


def _windowed(c, channels, padding_attr):
    x = c.dims(0)
    if x is None or len(x) < 3:
        raise Unknown("input")
    k, s, d, kind, (start, end) = _window(c, padding_attr)
    h = _spatial(x[-2], k[0], s[0], d[0], kind, start[0], end[0])
    w = _spatial(x[-1], k[1], s[1], d[1], kind, start[1], end[1])
    return [(c.dtype(0), tuple(x[:-3]) + (channels, h, w))]


def _box_window(a, dilated):
    """(kernel, stride, dilation) as the layer gives them, defaults filled in; Nones for
    a broken field."""
    try:
        return (_pair(a, "kernelSize", [3, 3]), _pair(a, "stride", [1, 1]),
                _pair(a, "dilationFactor", [1, 1]) if dilated else None)
    except Unknown:
        return None, None, None


@register
class Convolution(CoreMLRule):
    ops = ("convolution",)

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        kernel, stride, dilation = _box_window(a, True)
        padding = a.attr("ConvolutionPaddingType")
        lines = box.window(kernel, stride, a.int("nGroups"), dilation,
                           first=[padding] if isinstance(padding, str) and padding else [])
        channels = a.int("outputChannels")
        return lines + ([] if channels is None else [f"outputChannels {channels}"])

    def shape(self, c):
        cout = c.attr("outputChannels", 0)
        if type(cout) is not int or not 0 < cout <= MAX_DIM:
            raise Unknown("outputChannels")
        if c.attr("isDeconvolution", 0):
            x = c.dims(0)
            size = c.attr("outputShape")
            if x is None or len(x) < 3 or not size:
                raise Unknown("outputShape")   # without it, the size is Core ML's choice
            if len(size) != 2 or not all(type(d) is int and 0 < d <= MAX_DIM for d in size):
                raise Unknown("outputShape")
            return [(c.dtype(0), tuple(x[:-3]) + (cout, *size))]
        return _windowed(c, cout, "ConvolutionPaddingType")

    def cost(self, c):
        k = _pair(c, "kernelSize", [3, 3])
        kernel = c.attr("kernelChannels", 0)
        if not kernel:
            return None, None
        bias = c.attr("hasBias", 0)
        if c.attr("isDeconvolution", 0):
            groups = c.attr("nGroups", 0) or 1
            x_n = prod(c.ins[0]) if c.ins else None
            cout = c.attr("outputChannels", 0)
            out_n = prod(c.outs[0]) if c.outs else None
            if x_n is None or not cout or cout % groups:
                return None, None
            macs = x_n * (cout // groups) * math.prod(k)
            if bias and out_n is None:
                return None, macs
            return 2 * macs + (out_n if bias else 0), macs
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None:
            return None, None
        macs = out_n * kernel * math.prod(k)
        return 2 * macs + (out_n if bias else 0), macs


@register
class Pooling(CoreMLRule):
    ops = ("pooling",)

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        kind = a.attr("type", "MAX")   # (proto3 leaves out PoolingType's first value, MAX)
        first = [kind] if isinstance(kind, str) and kind else []
        if a.attr("globalPooling"):
            return [box.line(", ".join(first + ["global"]))]
        kernel, stride, _ = _box_window(a, False)
        return box.window(kernel, stride, first=first)

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) < 3:
            raise Unknown("input")
        if c.attr("globalPooling", 0):
            return [(c.dtype(0), tuple(x[:-2]) + (1, 1))]
        if c.attr("PoolingPaddingType", "valid") not in ("valid", "same"):
            raise Unknown("includeLastPixel")
        return _windowed(c, x[-3], "PoolingPaddingType")

    def cost(self, c):
        if c.attr("globalPooling", 0):
            n = prod(c.ins[0]) if c.ins else None
            return n, 0
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None:
            return None, None
        return out_n * math.prod(_pair(c, "kernelSize", [3, 3])), 0


@register
class InnerProduct(CoreMLRule):
    ops = ("innerProduct",)

    def shape(self, c):
        x = c.dims(0)
        cin, cout = c.attr("inputChannels", 0), c.attr("outputChannels", 0)
        if x is None or not x or not cout or not cin or cout > MAX_DIM:
            raise Unknown("input")
        if len(x) <= 2:
            if x[-1] != cin and type(x[-1]) is int:
                raise ValueError(f"input of {x[-1]} channels, the layer has {cin}")
            return [(c.dtype(0), tuple(x[:-1]) + (cout,))]
        if x[-2:] != (1, 1):
            raise Unknown("input")
        return [(c.dtype(0), tuple(x[:-3]) + (cout, 1, 1))]

    def cost(self, c):
        cin = c.attr("inputChannels", 0)
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not cin:
            return None, None
        macs = out_n * cin
        return 2 * macs + (out_n if c.attr("hasBias", 0) else 0), macs


@register
class BatchedMatMul(CoreMLRule):
    ops = ("batchedMatmul",)

    def _weights(self, c):
        """True when the layer multiplies its input by its own weights."""
        return bool(c.attr("weightMatrixFirstDimension", 0))

    def shape(self, c):
        x = c.dims(0)
        if x is None or not x:
            raise Unknown("input")
        if self._weights(c):
            cin = c.attr("weightMatrixFirstDimension", 0)
            cout = c.attr("weightMatrixSecondDimension", 0)
            if not cout or cout > MAX_DIM or (type(x[-1]) is int and x[-1] != cin):
                raise Unknown("weights")
            return [(c.dtype(0), tuple(x[:-1]) + (cout,))]
        y = c.dims(1)
        if y is None or len(x) < 2 or len(y) < 2:
            raise Unknown("input")
        m = x[-1] if c.attr("transposeA", 0) else x[-2]
        n = y[-2] if c.attr("transposeB", 0) else y[-1]
        batch = broadcast([tuple(x[:-2]), tuple(y[:-2])])
        return [(c.dtype(0), None if batch is None else tuple(batch) + (m, n))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not x:
            return None, None
        if self._weights(c):
            k = c.attr("weightMatrixFirstDimension", 0)
            bias = out_n if c.attr("hasBias", 0) else 0
        else:
            if len(x) < 2:
                return None, None
            k = x[-2] if c.attr("transposeA", 0) else x[-1]
            bias = 0
        if not k:
            return None, None
        return 2 * out_n * k + bias, out_n * k


@register
class SameShape(CoreMLRule):
    ops = ("activation", "batchnorm", "softmax", "softmaxND", "lrn", "l2normalize", "mvn",
           "unary", "clip", "ceil", "floor", "sign", "round", "exp2", "sin", "cos", "tan",
           "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf",
           "gelu", "copy")

    def shape(self, c):
        return [(c.dtype(0), c.dims(0))]


@register
class Broadcasting(CoreMLRule):
    ops = ("addBroadcastable", "subtractBroadcastable", "multiplyBroadcastable",
           "divideBroadcastable", "floorDivBroadcastable", "modBroadcastable",
           "powBroadcastable", "maxBroadcastable", "minBroadcastable")

    def shape(self, c):
        if len(c.node.inputs) != 2:
            raise Unknown("inputs")
        return [(c.dtype(0), broadcast([c.dims(0), c.dims(1)]))]


@register
class Comparison(CoreMLRule):
    ops = ("equal", "notEqual", "lessThan", "lessEqual", "greaterThan", "greaterEqual",
           "logicalOr", "logicalXor", "logicalAnd")

    def shape(self, c):
        if len(c.node.inputs) != 2:
            raise Unknown("inputs")   # one input: compared with its alpha attribute
        return [("bool", broadcast([c.dims(0), c.dims(1)]))]


@register
class ReshapeStatic(CoreMLRule):
    ops = ("reshapeStatic",)

    def shape(self, c):
        target = c.attr("targetShape")
        if not target or not all(type(d) is int and 0 < d <= MAX_DIM for d in target):
            raise Unknown("targetShape")
        x = prod(c.dims(0))
        if x is not None and x != math.prod(target):
            raise ValueError(f"targetShape {target} does not hold the input's {x} elements")
        return [(c.dtype(0), tuple(target))]


@register
class FlattenTo2D(CoreMLRule):
    ops = ("flattenTo2D",)

    def shape(self, c):
        x = c.dims(0)
        a = c.attr("axis", 0)
        if x is None or type(a) is not int:
            raise Unknown("input")
        if a < 0:
            a += len(x)
        if not 0 <= a <= len(x):
            raise ValueError(f"axis {a} out of range for rank {len(x)}")
        return [(c.dtype(0), (dim_prod(x[:a]), dim_prod(x[a:])))]


@register
class ConcatND(CoreMLRule):
    ops = ("concatND",)

    def shape(self, c):
        shapes = [c.dims(i) for i in range(len(c.node.inputs))]
        if not shapes or any(s is None for s in shapes):
            raise Unknown("input")
        rank = len(shapes[0])
        a = c.attr("axis", 0)
        if type(a) is not int or any(len(s) != rank for s in shapes):
            raise Unknown("axis")
        if a < 0:
            a += rank
        if not 0 <= a < rank:
            raise ValueError(f"axis {a} out of range for rank {rank}")
        sizes = [s[a] for s in shapes]
        total = sum(sizes) if all(type(d) is int for d in sizes) else None
        out = list(shapes[0])
        out[a] = total
        return [(c.dtype(0), tuple(out))]


# --- MIL operations (cost only: every output's type is in the file) ----------------

class MILRule(Rule):
    domain = MIL
    attr_types = {}


def _mil_bias(c, index, out_n):
    return out_n if c.has(index) else 0


@register
class MILConv(MILRule):
    ops = ("conv", "conv_transpose")

    def cost(self, c):
        w = c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(c.outs[0]) if c.outs else None
        if w is None or None in w or len(w) < 3 or out_n is None:
            return None, None
        if c.node.op == "conv":
            macs = out_n * math.prod(w[1:])
        else:
            x_n = prod(c.ins[0])
            if x_n is None:
                return None, None
            macs = x_n * math.prod(w[1:])
        return 2 * macs + _mil_bias(c, 2, out_n), macs


@register
class MILLinear(MILRule):
    ops = ("linear",)

    def cost(self, c):
        w = c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(c.outs[0]) if c.outs else None
        if w is None or len(w) != 2 or w[1] is None or out_n is None:
            return None, None
        macs = out_n * w[1]
        return 2 * macs + _mil_bias(c, 2, out_n), macs


@register
class MILMatMul(MILRule):
    ops = ("matmul",)

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out = c.outs[0] if c.outs else None
        out_n = prod(out)
        y = c.ins[1] if len(c.ins) > 1 else None
        if x is None or not x or out_n is None or (len(x) > 1 and (y is None or len(y) < 2)):
            return None, None
        if len(x) == 1:
            k = x[0]
        elif not out or len(out) < 2:
            return None, None
        elif x[-2] == out[-2]:
            k = x[-1]
        elif x[-1] == out[-2]:
            k = x[-2]
        else:
            return None, None
        if k is None:
            return None, None
        return 2 * out_n * k, out_n * k
