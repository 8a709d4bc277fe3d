"""OpenVINO's operations (domain "openvino", the `type` of an IR layer): cost rules.

Nodes come from formats/openvino.py; <data> attributes are ints, int lists, floats or
strings as that module reads them ("true"/"false" stay strings). Every IR port states its
shape, so there are no shape rules: the file's shapes are the shapes.

Layouts are OpenVINO's (docs.openvino.ai, "Operation Specifications"):
- Convolution: data [N, C_in, spatial...], filters [C_out, C_in, k...];
- GroupConvolution: filters [G, C_out/G, C_in/G, k...];
- ConvolutionBackpropData: filters [C_in, C_out, k...]; GroupConvolutionBackpropData:
  [G, C_in/G, C_out/G, k...];
- MatMul: A [..., M, K] ([..., K, M] with transpose_a), B [..., K, N] ([..., N, K] with
  transpose_b); a rank-1 operand is a vector.
Counting follows cost.py's conventions (docs/graph-schema.md, "cost"): MACs conv
out_elems * (C_in/G) * kernel elements, transposed conv in_elems * (C_out/G) * kernel
elements, MatMul out_elems * K; FLOPs 2 * MACs (a bias is a separate Add in an IR,
counted as element-wise). Element-wise ops and activations one FLOP per output element
(or the composite figures of ELEMENTWISE_FLOPS), normalisations NORM_FLOPS per element,
reductions one per input element, pooling one per window element per output, data
movement 0. Ops not listed are "not counted".

Box: convolutions and pooling their window as the layer's <data> states it ("kernel
3×3, stride 2": kernel, which pooling states and a convolution's filters give,
strides; "dilation 2×2": dilations); any other op its first small attributes
(ops/box.py).
"""
from . import register
from .base import Rule, Window, prod

DOMAIN = "openvino"
ATTR_TYPES = {"kernel": "ints", "transpose_a": "string", "transpose_b": "string"}

ELEMENTWISE = """Add Subtract Multiply Divide Maximum Minimum Power SquaredDifference
FloorMod Mod Equal NotEqual Less LessEqual Greater GreaterEqual LogicalAnd LogicalOr
LogicalXor LogicalNot Select Abs Ceiling Floor Negative Sqrt Exp Log Sin Cos Tan Sinh Cosh
Asin Acos Atan Erf Sign Round ReLU Sigmoid Tanh Convert_like PRelu""".split()
ELEMENTWISE_FLOPS = {"Clamp": 2, "Elu": 3, "Gelu": 8, "HSwish": 4, "HSigmoid": 3,
                     "HardSigmoid": 3, "Mish": 4, "SoftPlus": 2, "SoftSign": 2, "Swish": 2,
                     "Selu": 3, "FakeQuantize": 4}
NORM_FLOPS = {"SoftMax": 5, "LogSoftmax": 5, "MVN": 6, "NormalizeL2": 3, "LRN": 5,
              "BatchNormInference": 2, "GroupNormalization": 7, "RMS": 5}
REDUCE = """ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2
ReduceLogicalAnd ReduceLogicalOr CumSum TopK""".split()
MOVEMENT = """Reshape Transpose Squeeze Unsqueeze Concat Split VariadicSplit Gather
GatherElements GatherND ScatterUpdate ScatterElementsUpdate ScatterNDUpdate StridedSlice
Slice ShapeOf Convert Broadcast Tile Pad DepthToSpace SpaceToDepth ShuffleChannels Range
Identity""".split()


class OpenVINORule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES


class Windowed(Window, OpenVINORule):
    kernel_attr, stride_attr, dilation_attr = "kernel", "strides", "dilations"


def _on(value):
    return str(value).strip().lower() == "true"


@register
class Convolution(Windowed):
    ops = ("Convolution", "GroupConvolution", "BinaryConvolution", "DeformableConvolution")

    def cost(self, c):
        out_n = prod(c.outs[0] if c.outs else None)
        w = c.ins[-1] if c.node.op != "DeformableConvolution" else (c.ins[2] if len(c.ins) > 2 else None)
        if out_n is None or w is None or None in w:
            return None, None
        per_out = prod(w[2:]) if c.node.op == "GroupConvolution" else prod(w[1:])
        macs = out_n * per_out
        return 2 * macs, macs


@register
class ConvolutionBackpropData(Windowed):
    ops = ("ConvolutionBackpropData", "GroupConvolutionBackpropData")

    def cost(self, c):
        x_n = prod(c.ins[0]) if c.ins else None
        w = c.ins[1] if len(c.ins) > 1 else None
        if x_n is None or w is None or None in w:
            return None, None
        per_in = prod(w[2:]) if c.node.op == "GroupConvolutionBackpropData" else prod(w[1:])
        macs = x_n * per_in
        return 2 * macs, macs


@register
class MatMul(OpenVINORule):
    ops = ("MatMul",)

    def cost(self, c):
        out_n = prod(c.outs[0] if c.outs else None)
        a = c.ins[0] if c.ins else None
        if out_n is None or not a or None in a:
            return None, None
        k = a[0] if len(a) == 1 else (a[-2] if _on(c.attr("transpose_a", "false")) else a[-1])
        macs = out_n * k
        return 2 * macs, macs


@register
class ScaledDotProductAttention(OpenVINORule):
    """softmax(Q K^T * scale + mask) V: Q [..., L, E], K [..., S, E], V [..., S, Ev];
    MACs batch * L * S * (E + Ev), FLOPs 2 * MACs + NORM_FLOPS["SoftMax"] per score (as
    ONNX's Attention in ops/onnx/attention.py)."""
    ops = ("ScaledDotProductAttention",)

    def cost(self, c):
        q, k, v = (list(c.ins) + [None] * 3)[:3]
        if q is None or k is None or v is None or None in q + k + v or len(q) < 2 \
                or len(k) < 2 or len(v) < 2:
            return None, None
        out_n = prod(c.outs[0] if c.outs else None)
        if out_n is None:
            return None, None
        length, e, s, ev = q[-2], q[-1], k[-2], v[-1]
        batch = out_n // (length * ev) if length and ev else 0
        scores = batch * length * s
        macs = scores * (e + ev)
        return 2 * macs + NORM_FLOPS["SoftMax"] * scores, macs


class _PerOutput(OpenVINORule):
    flops = 1

    def cost(self, c):
        out_n = prod(c.outs[0] if c.outs else None)
        return (None, None) if out_n is None else (out_n * self.flops, 0)


class _PerInput(OpenVINORule):
    def cost(self, c):
        x_n = prod(c.ins[0]) if c.ins else None
        return (None, None) if x_n is None else (x_n, 0)


@register
class Elementwise(_PerOutput):
    ops = tuple(ELEMENTWISE)


for _op, _flops in {**ELEMENTWISE_FLOPS, **NORM_FLOPS}.items():
    register(type(_op, (_PerOutput,), {"ops": (_op,), "flops": _flops}))


@register
class Reduce(_PerInput):
    ops = tuple(REDUCE)


@register
class Pool(Windowed):
    ops = ("MaxPool", "AvgPool")

    def cost(self, c):
        out_n = prod(c.outs[0] if c.outs else None)
        kernel = c.attr("kernel")
        if isinstance(kernel, int):
            kernel = [kernel]
        if out_n is None or not kernel:
            return None, None
        return out_n * prod(kernel), 0


@register
class AdaptivePool(_PerInput):
    ops = ("AdaptiveAvgPool", "AdaptiveMaxPool")


@register
class Interpolate(OpenVINORule):
    """Taps per output element: nearest 0, linear 2^k, cubic 4^k over the k resized axes."""
    ops = ("Interpolate",)
    attr_types = {**ATTR_TYPES, "mode": "string"}

    def cost(self, c):
        out, x = (c.outs[0] if c.outs else None), (c.ins[0] if c.ins else None)
        out_n = prod(out)
        if out_n is None or x is None or None in x or len(x) != len(out):
            return None, None
        mode = str(c.attr("mode", "nearest"))
        k = sum(1 for a, b in zip(x, out) if a != b)
        taps = {"nearest": 0, "linear": 2 ** k, "linear_onnx": 2 ** k, "bilinear_pillow": 2 ** k,
                "cubic": 4 ** k, "bicubic_pillow": 4 ** k}.get(mode)
        return (None, None) if taps is None else (out_n * taps, 0)


@register
class Movement(OpenVINORule):
    ops = tuple(MOVEMENT)

    def cost(self, c):
        return 0, 0
