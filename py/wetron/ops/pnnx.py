"""pnnx's operators (domain "pnnx"): cost rules for the nodes formats/pnnx.py writes.

A pnnx op is named as torch names it (nn.Conv2d, F.relu, torch.matmul, Tensor.reshape)
or is pnnx's own (pnnx.Expression); its parameters are the torch module's or function's
arguments as pnnx writes them (in_channels=3 kernel_size=(5,5) groups=1 bias=True),
its weights the inputs after its operands. Every operand's shape is in the file, so
there are no shape rules here: a node keeps the shapes the file gives; the cost rules
read them (batch included, as torch's).

Cost (cost.py's conventions):
- nn.Conv1d/2d/3d: out_elems * in_channels/groups * prod(kernel_size) MACs;
  nn.ConvTranspose1d/2d/3d: in_elems * out_channels/groups * prod(kernel_size); FLOPs
  2 * MACs + out_elems with a bias.
- nn.Linear / F.linear: out_elems * in_features (F.linear: the weight's last dim);
  torch.matmul / torch.bmm / Tensor.matmul: out_elems * K (K the first operand's last dim);
  nn.MultiheadAttention: the q/k/v/out projections and the two attention products
  (batch_first as written).
- nn.GRU / nn.LSTM / nn.RNN: per step and direction gates * hidden * (input + hidden) MACs.
- Per output element: ReLU-like activations 1, Hardswish/Hardsigmoid/SiLU 3, Mish 4, GELU
  8, BatchNorm 2, LayerNorm/GroupNorm/InstanceNorm 5, softmax 5; pooling prod(kernel_size)
  per output (adaptive pooling: one per input element); torch.mean/sum one per input
  element; pnnx.Expression one per output element per arithmetic call of its expr
  (add, sub, mul, div, ...; an expression of other calls is not counted); interpolation
  nearest 1, linear 2, bilinear 4, trilinear 8, bicubic 16 per output element (the points
  each output reads), as ncnn's Interp rule counts them.
- Movement (reshape, permute, transpose, flatten, cat, select, ...) and nn.Embedding 0.
"""
import math
import re

from . import register
from .base import Rule, prod

DOMAIN = "pnnx"
ATTR_TYPES = {"in_channels": "int", "out_channels": "int", "groups": "int",
              "kernel_size": "ints", "bias": "string", "in_features": "int",
              "out_features": "int", "embed_dim": "int", "num_heads": "int",
              "batch_first": "string", "hidden_size": "int", "input_size": "int",
              "bidirectional": "string", "num_layers": "int", "expr": "string"}


class PnnxRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES


def _out_n(c):
    return prod(c.outs[0]) if c.outs and c.outs[0] is not None else None


class Conv(PnnxRule):
    ops = ("nn.Conv1d", "nn.Conv2d", "nn.Conv3d")

    def cost(self, c):
        out_n, groups = _out_n(c), c.attr("groups", 1)
        cin, kernel = c.attr("in_channels"), c.attr("kernel_size")
        if out_n is None or not groups or cin is None or not kernel:
            return None, None
        macs = out_n * (cin // groups) * math.prod(kernel)
        return 2 * macs + (out_n if c.attr("bias", "false") == "true" else 0), macs


class ConvTranspose(PnnxRule):
    ops = ("nn.ConvTranspose1d", "nn.ConvTranspose2d", "nn.ConvTranspose3d")

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        in_n, out_n, groups = prod(x), _out_n(c), c.attr("groups", 1)
        cout, kernel = c.attr("out_channels"), c.attr("kernel_size")
        if in_n is None or out_n is None or not groups or cout is None or not kernel:
            return None, None
        macs = in_n * (cout // groups) * math.prod(kernel)
        return 2 * macs + (out_n if c.attr("bias", "false") == "true" else 0), macs


class Linear(PnnxRule):
    ops = ("nn.Linear",)

    def cost(self, c):
        out_n, k = _out_n(c), c.attr("in_features")
        if out_n is None or k is None:
            return None, None
        macs = out_n * k
        return 2 * macs + (out_n if c.attr("bias", "false") == "true" else 0), macs


class FLinear(PnnxRule):
    ops = ("F.linear",)

    def cost(self, c):
        out_n = _out_n(c)
        w = c.ins[1] if len(c.ins) > 1 else None
        if out_n is None or not w or w[-1] is None:
            return None, None
        macs = out_n * w[-1]
        return 2 * macs + (out_n if len(c.ins) > 2 else 0), macs


class MatMul(PnnxRule):
    ops = ("torch.matmul", "torch.bmm", "Tensor.matmul", "torch.mm")

    def cost(self, c):
        a, out_n = c.ins[0] if c.ins else None, _out_n(c)
        if not a or out_n is None or a[-1] is None:
            return None, None
        return 2 * out_n * a[-1], out_n * a[-1]


class MultiheadAttention(PnnxRule):
    ops = ("nn.MultiheadAttention",)

    def cost(self, c):
        q = c.ins[0] if c.ins else None
        embed = c.attr("embed_dim")
        if not q or len(q) != 3 or None in q or embed is None:
            return None, None
        first = c.attr("batch_first", "false") == "true"
        batch, seq = (q[0], q[1]) if first else (q[1], q[0])
        kv = c.ins[1] if len(c.ins) > 1 and c.ins[1] is not None and len(c.ins[1]) == 3 \
            else q
        skv = kv[1] if first else kv[0]
        if skv is None:
            return None, None
        macs = batch * (seq * embed * embed + 2 * skv * embed * embed +
                        2 * seq * skv * embed + seq * embed * embed)
        return 2 * macs + 5 * batch * c.attr("num_heads", 1) * seq * skv, macs


class Recurrent(PnnxRule):
    gates = 1

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        hidden, size = c.attr("hidden_size"), c.attr("input_size")
        if not x or len(x) != 3 or None in x or hidden is None or size is None:
            return None, None
        steps = x[0] * x[1]     # batch * sequence, either order
        directions = 2 if c.attr("bidirectional", "false") == "true" else 1
        layers = c.attr("num_layers", 1)
        per = self.gates * hidden * (size + hidden) + \
            (layers - 1) * self.gates * hidden * (directions * hidden + hidden)
        macs = steps * directions * per
        return 2 * macs, macs


for _rule in (Conv, ConvTranspose, Linear, FLinear, MatMul, MultiheadAttention):
    register(_rule)
register(type("GRURule", (Recurrent,), {"ops": ("nn.GRU",), "gates": 3}))
register(type("LSTMRule", (Recurrent,), {"ops": ("nn.LSTM",), "gates": 4}))
register(type("RNNRule", (Recurrent,), {"ops": ("nn.RNN",), "gates": 1}))


class PerElement(PnnxRule):
    flops = 1

    def cost(self, c):
        n = _out_n(c)
        return (None, None) if n is None else (n * self.flops, 0)


def _per_element(ops, flops):
    register(type(f"PerElement{flops}_{ops[0]}", (PerElement,), {"ops": ops, "flops": flops}))


_per_element(("nn.ReLU", "F.relu", "nn.ReLU6", "F.relu6", "nn.LeakyReLU", "F.leaky_relu",
              "nn.Sigmoid", "F.sigmoid", "torch.sigmoid", "nn.Tanh", "F.tanh", "torch.tanh",
              "nn.PReLU", "F.prelu", "nn.Hardtanh", "F.hardtanh", "torch.clamp", "torch.abs",
              "nn.ELU", "F.elu", "torch.exp", "torch.neg"), 1)
_per_element(("nn.Hardswish", "F.hardswish", "nn.Hardsigmoid", "F.hardsigmoid", "nn.SiLU",
              "F.silu", "nn.SELU", "F.selu", "nn.Softplus", "F.softplus"), 3)
_per_element(("nn.Mish", "F.mish"), 4)
_per_element(("nn.GELU", "F.gelu"), 8)
_per_element(("nn.BatchNorm1d", "nn.BatchNorm2d", "nn.BatchNorm3d", "F.batch_norm"), 2)
_per_element(("nn.LayerNorm", "F.layer_norm", "nn.GroupNorm", "F.group_norm",
              "nn.InstanceNorm1d", "nn.InstanceNorm2d", "nn.InstanceNorm3d",
              "F.instance_norm", "nn.RMSNorm", "F.rms_norm", "nn.Softmax", "F.softmax",
              "torch.softmax", "nn.LogSoftmax", "F.log_softmax"), 5)


class Pool(PnnxRule):
    ops = ("nn.MaxPool1d", "nn.MaxPool2d", "nn.MaxPool3d", "nn.AvgPool1d", "nn.AvgPool2d",
           "nn.AvgPool3d", "F.max_pool1d", "F.max_pool2d", "F.max_pool3d", "F.avg_pool1d",
           "F.avg_pool2d", "F.avg_pool3d")

    def cost(self, c):
        n, kernel = _out_n(c), c.attr("kernel_size")
        if n is None or not kernel:
            return None, None
        return n * math.prod(kernel), 0


class Reduce(PnnxRule):
    ops = ("nn.AdaptiveAvgPool1d", "nn.AdaptiveAvgPool2d", "nn.AdaptiveAvgPool3d",
           "nn.AdaptiveMaxPool1d", "nn.AdaptiveMaxPool2d", "nn.AdaptiveMaxPool3d",
           "F.adaptive_avg_pool1d", "F.adaptive_avg_pool2d", "F.adaptive_avg_pool3d",
           "torch.mean", "torch.sum", "torch.amax", "torch.max", "torch.amin", "torch.min")

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins and c.ins[0] is not None else None
        return (None, None) if n is None else (n, 0)


class Movement(PnnxRule):
    ops = ("Tensor.reshape", "Tensor.view", "Tensor.permute", "torch.permute",
           "torch.transpose", "Tensor.transpose", "torch.flatten", "Tensor.flatten",
           "torch.cat", "torch.concat", "torch.stack", "Tensor.select", "Tensor.slice",
           "torch.squeeze", "torch.unsqueeze", "Tensor.contiguous", "torch.chunk",
           "torch.split", "Tensor.expand", "Tensor.repeat", "nn.Flatten", "nn.Identity",
           "nn.Dropout", "F.dropout", "nn.Embedding", "F.embedding", "Tensor.to",
           "prim::TupleConstruct", "nn.Unflatten", "nn.PixelShuffle", "F.pixel_shuffle",
           "nn.ChannelShuffle", "torch.roll", "Tensor.index", "F.pad")

    def cost(self, c):
        return 0, 0


# pnnx.Expression: the element-wise calls of pnnx's expression language
# (ir.cpp expand_expression), one per output element each.
ARITHMETIC = {"add", "sub", "mul", "div", "neg", "pow", "abs", "sqrt", "rsqrt", "exp",
              "log", "floor_divide", "remainder", "maximum", "minimum", "square",
              "reciprocal", "sign", "floor", "ceil", "round", "trunc", "atan2", "fmod",
              "logaddexp"}
_CALL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\(")


class Expression(PnnxRule):
    ops = ("pnnx.Expression",)

    def cost(self, c):
        n, expr = _out_n(c), c.attr("expr")
        if n is None or not isinstance(expr, str):
            return None, None
        calls = _CALL.findall(expr)
        if any(f not in ARITHMETIC for f in calls):
            return None, None
        return n * len(calls), 0


# per output element, by interpolation mode (the points each output reads)
RESIZE_FLOPS = {"nearest": 1, "bilinear": 4, "linear": 2, "bicubic": 16, "trilinear": 8}


class Resize(PnnxRule):
    ops = ("F.interpolate", "F.upsample", "nn.Upsample", "nn.UpsamplingBilinear2d",
           "nn.UpsamplingNearest2d")
    modes = {"nn.UpsamplingBilinear2d": "bilinear", "nn.UpsamplingNearest2d": "nearest"}

    def cost(self, c):
        n = _out_n(c)
        mode = self.modes.get(c.node.op) or c.attr("mode", "nearest")
        per = RESIZE_FLOPS.get(mode)
        return (None, None) if n is None or per is None else (n * per, 0)


for _rule in (Pool, Reduce, Movement, Expression, Resize):
    register(_rule)
