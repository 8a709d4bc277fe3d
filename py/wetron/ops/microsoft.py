"""ONNX Runtime's contrib operators (domain "com.microsoft") that its graph optimizer
writes into saved models (an .ort file, an optimized .onnx): fused forms of ONNX ops.

Semantics from onnxruntime's docs/ContribOperators.md; each is an ONNX family with the
same inputs plus a fused step, so the family's shape rule holds and its cost gains the
fused step's element-wise FLOPs:
- FusedConv: Conv (X, W, B) + `activation` (Relu, Tanh, Sigmoid, LeakyRelu, Clip,
  HardSigmoid) + an optional Z added to the output;
- FusedGemm: Gemm + `activation`;
- FusedMatMul: alpha * op(A) op(B), op the transpose of the last two axes with
  transA / transB (transBatchA / transBatchB, which move batch axes, are not followed:
  unknown); one FLOP per output for alpha != 1;
- BiasGelu: Gelu(A + bias); FastGelu: Gelu's tanh approximation of X (+ bias);
  Gelu: as ONNX's; QuickGelu: x * sigmoid(alpha * x);
- SkipLayerNormalization (input, skip, gamma, beta, bias) /
  SkipSimplifiedLayerNormalization (input, skip, gamma, bias): LayerNormalization /
  RMSNormalization of input + skip (+ bias); outputs output, mean, inv_std_var (float
  whatever the input's type: type constraint U), input_skip_bias_sum (the input's type).
Figures per element as ops/onnx/ counts them (Gelu 8, LayerNormalization 7, RMS 5,
activations as their standalone ops).
"""
from ..symbolic import broadcast
from . import box, register_domain
from .base import prod
from .onnx import ATTR_TYPES, Op, Windowed, register
from .onnx.conv import Conv
from .onnx.matmul import Gemm, matmul_dims

DOMAIN = "com.microsoft"
ATTRS = {**ATTR_TYPES, "activation": "string", "activation_params": "floats",
         "alpha": "float", "transBatchA": "int", "transBatchB": "int", "epsilon": "float"}
ACTIVATION_FLOPS = {"Relu": 1, "Tanh": 1, "Sigmoid": 1, "LeakyRelu": 2, "Clip": 2,
                    "HardSigmoid": 3}


class Contrib(Op):
    domain = DOMAIN
    attr_types = ATTRS


@register_domain
class ContribWindowed(Windowed):
    """The box of a contrib op without a rule here (NhwcConv, QLinearAveragePool, ...):
    ONNX's window attributes, which they keep."""
    domain = DOMAIN
    attr_types = ATTRS


def _activation_line(node):
    """"+ Relu": the activation the op fuses after its own step, as the file names it."""
    name = box.Attrs(node, ATTRS).attr("activation")
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    return [box.line(f"+ {name}")] if isinstance(name, str) and name else []


def _activation(c, out_n):
    name = c.attr("activation", "")
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    if not name:
        return 0
    per = ACTIVATION_FLOPS.get(name)
    return None if per is None else per * out_n


@register
class FusedConv(Contrib, Conv):
    ops = ("FusedConv",)

    def box_lines(self, node):
        return _activation_line(node) + Conv.box_lines(self, node)

    def cost(self, c):
        flops, macs = Conv.cost(self, c)
        out_n = prod(c.outs[0]) if c.outs else None
        if flops is None or out_n is None:
            return None, None
        act = _activation(c, out_n)
        if act is None:
            return None, macs
        return flops + act + (out_n if c.has(3) else 0), macs


@register
class FusedGemm(Contrib, Gemm):
    ops = ("FusedGemm",)

    def box_lines(self, node):
        return _activation_line(node) + Gemm.box_lines(self, node)

    def cost(self, c):
        flops, macs = Gemm.cost(self, c)
        out_n = prod(c.outs[0]) if c.outs else None
        act = None if flops is None or out_n is None else _activation(c, out_n)
        return (None, macs) if act is None else (flops + act, macs)


@register
class FusedMatMul(Contrib):
    ops = ("FusedMatMul",)

    def _operands(self, a, b, c):
        if c.attr("transBatchA", 0) or c.attr("transBatchB", 0):
            return None, None
        if a is not None and len(a) >= 2 and c.attr("transA", 0):
            a = tuple(a[:-2]) + (a[-1], a[-2])
        if b is not None and len(b) >= 2 and c.attr("transB", 0):
            b = tuple(b[:-2]) + (b[-1], b[-2])
        return a, b

    def shape(self, c):
        a, b = self._operands(c.dims(0), c.dims(1), c)
        return [(c.dtype(0), matmul_dims(a, b))]

    def cost(self, c):
        a, _ = self._operands(c.ins[0], c.ins[1] if len(c.ins) > 1 else None, c)
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not a or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs + (out_n if c.attr("alpha", 1.0) != 1.0 else 0), macs


class _Gelu(Contrib):
    flops = 8

    def shape(self, c):
        return [(c.dtype(0), broadcast([c.dims(0), c.dims(1)]) if c.has(1) else c.dims(0))]

    def cost(self, c):
        n = prod(c.outs[0]) if c.outs else None
        return (None, None) if n is None else (n * (self.flops + (1 if c.has(1) else 0)), 0)


register(type("BiasGelu", (_Gelu,), {"ops": ("BiasGelu", "FastGelu", "Gelu")}))
register(type("QuickGelu", (_Gelu,), {"ops": ("QuickGelu",), "flops": 3}))


@register
class SkipLayerNormalization(Contrib):
    ops = ("SkipLayerNormalization",)
    flops = 7     # LayerNormalization's
    bias_at = 4

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        stats = None if x is None or x[1] is None else ("float32", tuple(x[1][:-1]) + (1,))
        return [x, stats, stats, x]

    def cost(self, c):
        n = prod(c.outs[0]) if c.outs else None
        if n is None:
            return None, None
        adds = 1 + (1 if c.has(self.bias_at) else 0)   # + skip, + bias
        return n * (self.flops + adds), 0


register(type("SkipSimplifiedLayerNormalization", (SkipLayerNormalization,),
              {"ops": ("SkipSimplifiedLayerNormalization",), "flops": 5, "bias_at": 3}))
