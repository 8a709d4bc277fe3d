"""ncnn's layers (domain "ncnn"): shape and cost rules as ncnn's own layers compute them
(src/layer/*.cpp forward), for the nodes formats/ncnn.py writes.

Shapes are ncnn Mats without a batch, row-major: (w), (h, w), (c, h, w), (c, d, h, w);
an axis parameter counts in that order (ncnn's axis 0 of a 3-D Mat is c). Parameters are
the node's attributes by their load_param names, at ncnn's defaults where absent
(formats/ncnn_schema.PARAMS); a parameter of another kind than the layer reads leaves the
node unknown. Weights follow the node's bottoms as inputs (formats/ncnn.py).

Shapes:
- Convolution / ConvolutionDepthWise (2-D): pads as given, or -233 / -234 (SAME_UPPER /
  SAME_LOWER: out = (in - 1) / stride + 1); out = (in + pads - (dilation*(k-1)+1)) /
  stride + 1, channels num_output. Convolution1D on (h, w) likewise along w.
- Deconvolution / DeconvolutionDepthWise: (in-1)*stride + dilation*(k-1)+1 +
  output_pad, less the pads; output_w/output_h where given with SAME pads.
- Pooling: global -> (c); adaptive -> out_w/out_h; else pad_mode 0 (full: the tail of
  the last window padded), 1 (valid), 2/3 (SAME): (in + pads - k) / stride + 1.
- InnerProduct: (h, w) with w = num_input -> (h, num_output); otherwise (num_output).
- Gemm with a constant B: A (M, K) or transA -> (M, constantN); Embed (w) -> (w,
  num_output); MatMul: numpy-style, the leading axes broadcast; MultiHeadAttention: q's
  (seq, qdim); GRU / LSTM / RNN on (T, size): (T, num_output * directions).
- Interp: output_width/height, else int(w * width_scale) in float32 (ncnn's
  static_cast); Padding: the pads added per axis; PixelShuffle (c/r², h*r, w*r);
  Pooling1D as Pooling along w; Slice by slices (-233: the rest shared evenly) or indices.
- Reshape w/h/d/c (0 copies that named axis, -1 is inferred; a shape_expr: unknown),
  Permute order_type, Flatten, Concat / Slice along axis, Reduction (axes or all,
  keepdims), Squeeze / ExpandDims by axes, Split (copies), BinaryOp (numpy broadcast of
  row-major shapes; with_scalar: the input's), and the element-wise layers (input's shape).

Cost (cost.py's conventions): MACs of Convolution out_elems * (num_input) * kh*kw with
num_input = weight_data_size / num_output / (kh*kw) (ncnn's weight layout: it needs no
input shape), ConvolutionDepthWise likewise per group, Deconvolution in_elems * num_output
* kh*kw / group, InnerProduct out_elems * num_input, Gemm M*N*K, MatMul out_elems * K,
MultiHeadAttention its four projections and two attention products, GRU/LSTM/RNN per
step the gate products. FLOPs 2 * MACs (+ out_elems for a bias, + the fused activation's
per-element cost). Per element: ReLU/Sigmoid/TanH/Clip 1, element-wise BinaryOp 1,
HardSwish/HardSigmoid/Swish 3, GELU 8, BatchNorm/Scale 2, LayerNorm/InstanceNorm/
GroupNorm 5, Softmax 5, Pooling kernel per output, Interp nearest 1 / bilinear 4 /
bicubic 16 per output; movement layers 0.
"""
import math
import struct

from . import register
from .base import Rule, Unknown, prod
from ..formats import ncnn_schema
from ..symbolic import broadcast

DOMAIN = "ncnn"
PARAMS = ncnn_schema.PARAMS
_KINDS = {"int": "int", "float": "float", "string": "string"}


class NcnnRule(Rule):
    domain = DOMAIN
    layer = None          # the ncnn layer type whose parameters (and defaults) it reads

    def __init__(self):
        self.layer = self.layer or self.ops[0]
        self.attr_types = {name: _KINDS[kind] for _, name, kind, _ in
                           PARAMS.get(self.layer, ()) if kind in _KINDS}
        if hasattr(self, "count"):
            self.cost = self._cost

    def _cost(self, c):
        try:
            return self.count(c)
        except Unknown:          # (a parameter whose default is an expression)
            return None, None

    def p(self, c, name):
        """A parameter at the layer's default (a default naming another parameter is that
        one's value; an expression default is not taken: Unknown)."""
        for _, pname, kind, default in PARAMS.get(self.layer, ()):
            if pname == name:
                v = c.attr(name)
                if v is not None:
                    return v
                if kind == "array":
                    return []
                if isinstance(default, str) and kind != "string":
                    if any(n == default for _, n, _, _ in PARAMS[self.layer]):
                        return self.p(c, default)
                    raise Unknown(name)
                return default
        raise KeyError(name)


def _out_n(c):
    return prod(c.outs[0]) if c.outs else None


def _x(c, i=0):
    x = c.dims(i)
    if x is None or not 1 <= len(x) <= 4:
        raise Unknown("input")
    return x


def _dt(c):
    return c.dtype(0) or "undefined"


# activation_type fused into a convolution / InnerProduct: FLOPs per output element
# (0 none, 1 ReLU, 2 leaky ReLU, 3 clip, 4 sigmoid, 5 mish, 6 hardswish)
ACTIVATION_FLOPS = {0: 0, 1: 1, 2: 1, 3: 1, 4: 1, 5: 4, 6: 3}


class Convolution(NcnnRule):
    ops = ("Convolution", "ConvolutionDepthWise")
    rank = 2

    def geometry(self, c, axis):
        """kernel, dilation, stride, pad_before, pad_after of spatial axis 'w' or 'h'."""
        k = self.p(c, f"kernel_{axis}")
        d = self.p(c, f"dilation_{axis}")
        s = self.p(c, f"stride_{axis}")
        before, after = (self.p(c, "pad_left"), self.p(c, "pad_right")) if axis == "w" else \
            (self.p(c, "pad_top"), self.p(c, "pad_bottom"))
        if k <= 0 or d <= 0 or s <= 0:
            raise ValueError("kernel, dilation and stride must be positive")
        return k, d, s, before, after

    def pads(self, c):
        names = ("pad_left", "pad_right") if self.rank == 1 else \
            ("pad_left", "pad_right", "pad_top", "pad_bottom")
        return [self.p(c, n) for n in names]

    def out_size(self, c, size, axis):
        k, d, s, before, after = self.geometry(c, axis)
        pads = self.pads(c)
        if type(size) is not int:
            return None
        extent = d * (k - 1) + 1
        if any(p > 0 for p in pads):
            padded = size + max(before, 0) + max(after, 0)
        elif all(p in (-233,) for p in pads) or all(p == -234 for p in pads):
            return (size - 1) // s + 1
        else:
            padded = size
        n = (padded - extent) // s + 1
        if n < 1:
            raise ValueError("the kernel does not fit the input")
        return n

    def shape(self, c):
        x = _x(c)
        if len(x) != self.rank + 1:
            raise Unknown("rank")   # ncnn reshapes other ranks itself
        n = self.p(c, "num_output")
        axes = ("h", "w")[-self.rank:]
        spatial = [self.out_size(c, size, a) for size, a in zip(x[1:], axes)]
        return [(_dt(c), (n, *spatial))]

    def kernel(self, c):
        return math.prod(self.p(c, f"kernel_{a}") for a in ("w", "h")[:self.rank])

    def count(self, c):
        out_n = _out_n(c)
        n, size = self.p(c, "num_output"), self.p(c, "weight_data_size")
        maxk = self.kernel(c)
        if out_n is None or n <= 0 or maxk <= 0:
            return None, None
        per_output = size // n      # num_input/group * maxk: the weights one output reads
        macs = out_n * per_output
        extra = out_n if self.p(c, "bias_term") else 0
        act = ACTIVATION_FLOPS.get(self.p(c, "activation_type"))
        if act is None:
            return None, None
        return 2 * macs + extra + act * out_n, macs


class Convolution1D(Convolution):
    ops = ("Convolution1D", "ConvolutionDepthWise1D")
    rank = 1


class Deconvolution(Convolution):
    ops = ("Deconvolution", "DeconvolutionDepthWise")

    def out_size(self, c, size, axis):
        k, d, s, before, after = self.geometry(c, axis)
        if type(size) is not int:
            return None
        full = (size - 1) * s + d * (k - 1) + 1 + \
            self.p(c, "output_pad_right" if axis == "w" else "output_pad_bottom")
        pads = self.pads(c)
        if any(p > 0 for p in pads):
            return full - max(before, 0) - max(after, 0)
        want = self.p(c, "output_w"), self.p(c, "output_h")
        if want[0] > 0 and want[1] > 0 and any(p in (-233, -234) for p in pads):
            return want[0] if axis == "w" else want[1]
        return full

    def count(self, c):
        x = c.ins[0] if c.ins else None
        n, size = self.p(c, "num_output"), self.p(c, "weight_data_size")
        in_n, out_n = prod(x), _out_n(c)
        if in_n is None or out_n is None or x is None or not x or x[0] in (None, 0):
            return None, None
        macs = in_n * size // x[0]     # each input element meets the weights of its group
        extra = out_n if self.p(c, "bias_term") else 0
        act = ACTIVATION_FLOPS.get(self.p(c, "activation_type"))
        if act is None:
            return None, None
        return 2 * macs + extra + act * out_n, macs


for _rule in (Convolution, Convolution1D, Deconvolution):
    for _op in _rule.ops:
        register(type(f"{_op}Rule", (_rule,), {"ops": (_op,), "layer": _op}))


@register
class Pooling(NcnnRule):
    ops = ("Pooling",)

    def shape(self, c):
        x = _x(c)
        if len(x) != 3:
            raise Unknown("rank")
        ch, h, w = x
        if self.p(c, "global_pooling"):
            return [(_dt(c), (ch,))]
        if self.p(c, "adaptive_pooling"):
            ow, oh = self.p(c, "out_w"), self.p(c, "out_h")
            return [(_dt(c), (ch, h if oh == -233 else oh, w if ow == -233 else ow))]
        out = [ch]
        for size, axis in ((h, "h"), (w, "w")):
            k = self.p(c, f"kernel_{axis}")
            s = self.p(c, f"stride_{axis}")
            before, after = (self.p(c, "pad_top"), self.p(c, "pad_bottom")) if axis == "h" \
                else (self.p(c, "pad_left"), self.p(c, "pad_right"))
            if k <= 0 or s <= 0:
                raise ValueError("kernel and stride must be positive")
            if type(size) is not int:
                out.append(None)
                continue
            mode = self.p(c, "pad_mode")
            if mode == 0:
                padded = size + before + after
                tail = (padded - k) % s
                padded += s - tail if tail else 0
            elif mode == 1:
                padded = size + before + after
            elif mode in (2, 3):
                padded = max(size, k + (size - 1) // s * s)
            else:
                raise Unknown("pad_mode")
            n = (padded - k) // s + 1
            if n < 1:
                raise ValueError("the kernel does not fit the input")
            out.append(n)
        return [(_dt(c), tuple(out))]

    def count(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if out_n is None or x is None:
            return None, None
        if self.p(c, "global_pooling"):
            n = prod(x)
            return (None, None) if n is None else (n, 0)
        if self.p(c, "adaptive_pooling"):
            return None, None
        return out_n * self.p(c, "kernel_w") * self.p(c, "kernel_h"), 0


@register
class InnerProduct(NcnnRule):
    ops = ("InnerProduct",)

    def num_input(self, c):
        n = self.p(c, "num_output")
        if n <= 0:
            raise Unknown("num_output")
        return self.p(c, "weight_data_size") // n

    def shape(self, c):
        x = _x(c)
        n = self.p(c, "num_output")
        if len(x) == 2 and x[1] == self.num_input(c):
            return [(_dt(c), (x[0], n))]
        return [(_dt(c), (n,))]

    def count(self, c):
        out_n = _out_n(c)
        if out_n is None:
            return None, None
        macs = out_n * self.num_input(c)
        act = ACTIVATION_FLOPS.get(self.p(c, "activation_type"))
        if act is None:
            return None, None
        return 2 * macs + (out_n if self.p(c, "bias_term") else 0) + act * out_n, macs


@register
class Gemm(NcnnRule):
    ops = ("Gemm",)

    def mnk(self, c, a):
        """M, N, K; `a` the dims of input A (when it is not a constant)."""
        if self.p(c, "output_N1M") or self.p(c, "output_transpose") or \
                not self.p(c, "constantB"):
            raise Unknown("layout")
        if self.p(c, "constantA"):
            m = self.p(c, "constantM")
        else:
            if a is None or len(a) != 2:
                raise Unknown("A")
            m = a[1] if self.p(c, "transA") else a[0]
        return m, self.p(c, "constantN"), self.p(c, "constantK")

    def shape(self, c):
        m, n, _ = self.mnk(c, c.dims(0))
        return [(_dt(c), (m, n))]

    def count(self, c):
        m, n, k = self.mnk(c, c.ins[0] if c.ins else None)
        if type(m) is not int:
            return None, None
        macs = m * n * k
        return 2 * macs + (m * n if self.p(c, "constantC") else 0), macs


@register
class MatMul(NcnnRule):
    ops = ("MatMul",)

    def shape(self, c):
        a, b = _x(c, 0), _x(c, 1)
        if self.p(c, "transB"):
            b = tuple(b[:-2]) + (b[-1], b[-2]) if len(b) >= 2 else b
        if len(a) == 1 or len(b) == 1:
            raise Unknown("vector operand")
        lead = broadcast([tuple(a[:-2]), tuple(b[:-2])])
        return [(_dt(c), tuple(lead) + (a[-2], b[-1]))]

    def count(self, c):
        a, out_n = c.ins[0] if c.ins else None, _out_n(c)
        if a is None or out_n is None or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs, macs


@register
class Embed(NcnnRule):
    ops = ("Embed",)

    def shape(self, c):
        x = _x(c)
        return [("undefined", (x[-1], self.p(c, "num_output")))]

    def count(self, c):
        return 0, 0


@register
class MultiHeadAttention(NcnnRule):
    ops = ("MultiHeadAttention",)

    def dims(self, c):
        embed = self.p(c, "embed_dim")
        if embed <= 0:
            raise Unknown("embed_dim")
        return embed, self.p(c, "weight_data_size") // embed

    def shape(self, c):
        q = _x(c)
        if len(q) != 2:
            raise Unknown("rank")
        return [(_dt(c), (q[0], self.dims(c)[1]))]

    def count(self, c):
        # bottoms: q, or q and kv, or q, k, v; the weights (formats/ncnn.py names them
        # "<layer>/<slot>") follow them
        weights = f"{c.node.name}/q_weight_data"
        bottoms = c.node.inputs.index(weights) if weights in c.node.inputs else len(c.ins)
        q = c.ins[0] if c.ins else None
        kv = c.ins[1] if bottoms > 1 and self.p(c, "attn_mask") == 0 or bottoms > 2 else q
        if q is None or kv is None or len(q) != 2 or len(kv) != 2 or None in q + kv:
            return None, None
        embed, qdim = self.dims(c)
        kdim, vdim = self.p(c, "kdim"), self.p(c, "vdim")
        sq, skv = q[0], kv[0]
        macs = sq * qdim * embed + skv * kdim * embed + skv * vdim * embed + \
            sq * skv * embed * 2 + sq * embed * qdim
        return 2 * macs + 5 * sq * skv * self.p(c, "num_heads"), macs


class Recurrent(NcnnRule):
    gates = 1

    def hidden(self, c):
        return self.p(c, "num_output")

    def shape(self, c):
        x = _x(c)
        if len(x) != 2:
            raise Unknown("rank")
        directions = 2 if self.p(c, "direction") == 2 else 1
        out = [(_dt(c), (x[0], self.p(c, "num_output") * directions))]
        return out + [None] * (len(c.node.outputs) - 1)

    def count(self, c):
        x = c.ins[0] if c.ins else None
        if x is None or len(x) != 2 or None in x:
            return None, None
        directions = 2 if self.p(c, "direction") == 2 else 1
        hidden, out = self.hidden(c), self.p(c, "num_output")
        per_step = self.gates * hidden * (x[1] + out)
        macs = x[0] * directions * per_step
        return 2 * macs, macs


@register
class GRU(Recurrent):
    ops = ("GRU",)
    gates = 3


@register
class LSTM(Recurrent):
    ops = ("LSTM",)
    gates = 4

    def hidden(self, c):
        return self.p(c, "hidden_size")


@register
class RNN(Recurrent):
    ops = ("RNN",)


class SameShape(NcnnRule):
    flops = 1

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        return [x] + [x] * (len(c.node.outputs) - 1) if x is not None else [None]

    def count(self, c):
        n = _out_n(c)
        return (None, None) if n is None else (n * self.flops * len(c.node.outputs), 0)


def _same(ops, flops):
    for op in ops:
        register(type(f"{op}Rule", (SameShape,), {"ops": (op,), "flops": flops}))


_same(("ReLU", "Sigmoid", "TanH", "AbsVal", "Clip", "PReLU", "Threshold", "BNLL", "ELU",
       "Exp", "Log", "Power", "UnaryOp", "Erf"), 1)
_same(("HardSwish", "HardSigmoid", "Swish", "SELU", "CELU", "Softplus"), 3)
_same(("Mish",), 4)
_same(("GELU",), 8)
_same(("BatchNorm", "Scale", "Bias"), 2)
_same(("LayerNorm", "InstanceNorm", "GroupNorm", "RMSNorm", "MVN", "Normalize", "LRN",
       "Softmax"), 5)
_same(("Dropout", "Noop", "DeepCopy", "Packing", "Cast"), 0)


@register
class Split(SameShape):
    ops = ("Split",)
    flops = 0

    def count(self, c):
        return 0, 0


class BinaryOp(NcnnRule):
    ops = ("BinaryOp",)

    def shape(self, c):
        a = _x(c, 0)
        if self.p(c, "with_scalar") or len(c.node.inputs) < 2:
            return [(_dt(c), a)]
        b = _x(c, 1)
        return [(_dt(c), tuple(broadcast([a, b])))]

    def count(self, c):
        n = _out_n(c)
        return (None, None) if n is None else (n, 0)


@register
class Eltwise(BinaryOp):
    ops = ("Eltwise",)

    def shape(self, c):
        return [c.ins[0] if c.ins else None]

    def count(self, c):
        n = _out_n(c)
        return (None, None) if n is None else (n * max(len(c.node.inputs) - 1, 1), 0)


register(BinaryOp)


class Movement(NcnnRule):
    def count(self, c):
        return 0, 0


def _named(x):
    """Row-major dims -> ncnn's (w, h, d, c)."""
    x = tuple(x)
    if len(x) == 1:
        return x[0], 1, 1, 1
    if len(x) == 2:
        return x[1], x[0], 1, 1
    if len(x) == 3:
        return x[2], x[1], 1, x[0]
    return x[3], x[2], x[1], x[0]


@register
class Reshape(Movement):
    ops = ("Reshape",)

    def shape(self, c):
        x = _x(c)
        if c.attr("shape_expr"):
            raise Unknown("shape_expr")
        if self.p(c, "input_batch_axis") != 233 or self.p(c, "output_batch_axis") != 233:
            raise Unknown("batch axes")
        w, h, d, ch = (self.p(c, k) for k in ("w", "h", "d", "c"))
        names = [("w", w), ("h", h), ("d", d), ("c", ch)]
        ndim = 4 if d != -233 else 3
        if ch == -233:
            ndim = 2
        if h == -233:
            ndim = 1
        if w == -233:
            raise Unknown("no shape")
        keep = {1: "w", 2: "wh", 3: "whc", 4: "whdc"}[ndim]
        own = dict(zip("whdc", _named(x)))
        total = prod(x)
        out = {}
        for k, v in names:
            if k in keep:
                out[k] = own[k] if v == 0 else v
        if list(out.values()).count(-1) > 1:
            raise ValueError("more than one -1")
        for k, v in out.items():
            if v == -1:
                known = prod([u for key, u in out.items() if key != k])
                out[k] = total // known if total is not None and known else None
        order = {1: "w", 2: "hw", 3: "chw", 4: "cdhw"}[ndim]
        return [(_dt(c), tuple(out[k] for k in order))]


# Permute: per rank and order_type, the output (w, h, [d,] c) as letters of the input's.
PERMUTE = {
    2: ("wh", "hw"),
    3: ("whc", "hwc", "wch", "cwh", "hcw", "chw"),
    4: ("whdc", "hwdc", "wdhc", "dwhc", "hdwc", "dhwc", "whcd", "hwcd", "wchd", "cwhd",
        "hcwd", "chwd", "wdch", "dwch", "wcdh", "cwdh", "dcwh", "cdwh", "hdcw", "dhcw",
        "hcdw", "chdw", "dchw", "cdhw"),
}


@register
class Permute(Movement):
    ops = ("Permute",)

    def shape(self, c):
        x = _x(c)
        if len(x) == 1:
            return [(_dt(c), x)]
        orders = PERMUTE[len(x)]
        t = self.p(c, "order_type")
        if not 0 <= t < len(orders):
            raise Unknown("order_type")
        w, h, d, ch = _named(x)
        own = {"w": w, "h": h, "d": d, "c": ch}
        created = [own[k] for k in orders[t]]          # create(w, h, [d,] c)
        return [(_dt(c), tuple(reversed(created)))]


@register
class MemoryData(Movement):
    ops = ("MemoryData",)

    def shape(self, c):
        w, h, d, ch = (self.p(c, k) for k in ("w", "h", "d", "c"))
        dims = (ch, d, h, w) if d else (ch, h, w) if ch else (h, w) if h else (w,) if w \
            else (1,)
        return [("float32", dims)]


@register
class Flatten(Movement):
    ops = ("Flatten",)

    def shape(self, c):
        return [(_dt(c), (prod(_x(c)),))]


def _axis(a, rank):
    if type(a) is not int:
        raise Unknown("axis")
    a = a + rank if a < 0 else a
    if not 0 <= a < rank:
        raise ValueError("axis out of range")
    return a


@register
class Concat(Movement):
    ops = ("Concat",)

    def shape(self, c):
        dims = [_x(c, i) for i in range(len(c.node.inputs))]
        rank = len(dims[0])
        a = _axis(self.p(c, "axis"), rank)
        if any(len(d) != rank for d in dims):
            raise ValueError("concatenated blobs of different ranks")
        sizes = [d[a] for d in dims]
        total = sum(sizes) if all(type(s) is int for s in sizes) else None
        return [(_dt(c), tuple(dims[0][:a]) + (total,) + tuple(dims[0][a + 1:]))]


@register
class Reduction(Movement):
    ops = ("Reduction",)

    def shape(self, c):
        x = _x(c)
        axes = self.p(c, "axes")
        if self.p(c, "reduce_all") or not axes:
            reduced = set(range(len(x)))
        else:
            reduced = {_axis(a, len(x)) for a in axes}
        if self.p(c, "keepdims"):
            return [(_dt(c), tuple(1 if i in reduced else d for i, d in enumerate(x)))]
        rest = tuple(d for i, d in enumerate(x) if i not in reduced)
        return [(_dt(c), rest or (1,))]

    def count(self, c):
        n = prod(c.ins[0]) if c.ins and c.ins[0] is not None else None
        return (None, None) if n is None else (n, 0)


@register
class Squeeze(Movement):
    ops = ("Squeeze",)

    def shape(self, c):
        x = _x(c)
        axes = self.p(c, "axes")
        if axes:
            drop = {_axis(a, len(x)) for a in axes}
            drop = {i for i in drop if x[i] == 1}
        else:
            w, h, d, ch = _named(x)
            flags = {"w": self.p(c, "squeeze_w"), "h": self.p(c, "squeeze_h"),
                     "d": self.p(c, "squeeze_d"), "c": self.p(c, "squeeze_c")}
            letters = {1: "w", 2: "hw", 3: "chw", 4: "cdhw"}[len(x)]
            drop = {i for i, k in enumerate(letters) if flags[k] and x[i] == 1}
        rest = tuple(d for i, d in enumerate(x) if i not in drop)
        return [(_dt(c), rest or (1,))]


@register
class Slice(Movement):
    ops = ("Slice",)

    def shape(self, c):
        x = _x(c)
        a = _axis(self.p(c, "axis"), len(x))
        size, tops = x[a], len(c.node.outputs)
        slices, indices = self.p(c, "slices"), self.p(c, "indices")
        if type(size) is not int:
            raise Unknown("axis size")
        out, q = [], 0
        for i in range(tops):
            if indices:
                if i == tops - 1:
                    n = size - q
                elif i < len(indices):
                    n = (indices[i] + size if indices[i] < 0 else indices[i]) - q
                else:
                    raise ValueError("fewer indices than tops")
            elif i < len(slices):
                n = slices[i] if slices[i] != -233 else (size - q) // (tops - i)
            else:
                raise ValueError("fewer slices than tops")
            if n < 0 or q + n > size:
                raise ValueError("slices past the axis")
            out.append((_dt(c), tuple(x[:a]) + (n,) + tuple(x[a + 1:])))
            q += n
        return out


@register
class Padding(Movement):
    ops = ("Padding",)

    def shape(self, c):
        x = _x(c)
        if len(c.node.inputs) > 1 and c.node.inputs[1] != f"{c.node.name}/per_channel_pad_data":
            raise Unknown("pads from a blob")
        pads = {k: self.p(c, k) for k in ("top", "bottom", "left", "right", "front", "behind")}
        out = list(x)
        grow = {-1: pads["left"] + pads["right"], -2: pads["top"] + pads["bottom"],
                -3: pads["front"] + pads["behind"]}
        for axis, n in grow.items():
            if -axis <= len(x) and type(out[axis]) is int:
                out[axis] += n
            elif n and -axis > len(x):
                raise Unknown("padding past the rank")
        if any(type(d) is int and d < 0 for d in out):
            raise ValueError("negative size")
        return [(_dt(c), tuple(out))]


@register
class PixelShuffle(Movement):
    ops = ("PixelShuffle",)

    def shape(self, c):
        x = _x(c)
        r = self.p(c, "upscale_factor")
        if len(x) != 3 or r <= 0 or type(x[0]) is not int or x[0] % (r * r):
            raise Unknown("input")
        return [(_dt(c), (x[0] // (r * r), x[1] * r if type(x[1]) is int else None,
                          x[2] * r if type(x[2]) is int else None))]


@register
class ExpandDims(Movement):
    ops = ("ExpandDims",)

    def shape(self, c):
        x = _x(c)
        axes = self.p(c, "axes")
        rank = len(x) + len(axes)
        if not axes or rank > 4:
            raise Unknown("axes")
        where = {_axis(a, rank) for a in axes}
        rest = iter(x)
        return [(_dt(c), tuple(1 if i in where else next(rest) for i in range(rank)))]


def _f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


@register
class Interp(NcnnRule):
    ops = ("Interp",)

    def shape(self, c):
        x = _x(c)
        if len(c.node.inputs) > 1 or c.attr("size_expr") or self.p(c, "dynamic_target_size"):
            raise Unknown("size from another blob")
        ow, oh = self.p(c, "output_width"), self.p(c, "output_height")
        if len(x) == 1:
            w = h = 1
        elif len(x) == 3:
            h, w = x[1], x[2]
        else:
            raise Unknown("rank")
        if ow == 0 or oh == 0:
            if type(w) is not int or type(h) is not int:
                return [(_dt(c), (x[0], None, None))]
            # static_cast<int>(w * width_scale), in float32 as ncnn computes it
            ow = int(_f32(_f32(w) * _f32(self.p(c, "width_scale"))))
            oh = int(_f32(_f32(h) * _f32(self.p(c, "height_scale"))))
        if ow <= 0 or oh <= 0:
            raise ValueError("an empty output")
        return [(_dt(c), (x[0], oh, ow))]

    def count(self, c):
        n = _out_n(c)
        per = {1: 1, 2: 4, 3: 16}.get(self.p(c, "resize_type"))   # nearest, bilinear, bicubic
        return (None, None) if n is None or per is None else (n * per, 0)


@register
class Pooling1D(NcnnRule):
    ops = ("Pooling1D",)

    def shape(self, c):
        x = _x(c)
        if len(x) != 2:
            raise Unknown("rank")
        if self.p(c, "global_pooling"):
            return [(_dt(c), (x[0],))]
        if self.p(c, "adaptive_pooling"):
            ow = self.p(c, "out_w")
            return [(_dt(c), (x[0], x[1] if ow == -233 else ow))]
        k, s = self.p(c, "kernel_w"), self.p(c, "stride_w")
        before, after, mode = self.p(c, "pad_left"), self.p(c, "pad_right"), self.p(c, "pad_mode")
        if k <= 0 or s <= 0:
            raise ValueError("kernel and stride must be positive")
        size = x[1]
        if type(size) is not int:
            return [(_dt(c), (x[0], None))]
        if mode == 0:
            padded = size + before + after
            tail = (padded - k) % s
            padded += s - tail if tail else 0
        elif mode == 1:
            padded = size + before + after
        elif mode in (2, 3):
            padded = max(size, k + (size - 1) // s * s)
        else:
            raise Unknown("pad_mode")
        n = (padded - k) // s + 1
        if n < 1:
            raise ValueError("the kernel does not fit the input")
        return [(_dt(c), (x[0], n))]

    def count(self, c):
        n, x = _out_n(c), c.ins[0] if c.ins else None
        if n is None or x is None:
            return None, None
        if self.p(c, "global_pooling") or self.p(c, "adaptive_pooling"):
            total = prod(x)
            return (None, None) if total is None else (total, 0)
        return n * self.p(c, "kernel_w"), 0


@register
class Crop(Movement):
    ops = ("Crop",)

    def shape(self, c):
        x = _x(c)
        starts, ends, axes = self.p(c, "starts"), self.p(c, "ends"), self.p(c, "axes")
        if len(c.node.inputs) > 1 or not starts or c.attr("starts_expr"):
            raise Unknown("crop by a reference blob or by offsets")
        axes = axes or list(range(len(starts)))
        if len(axes) != len(starts) or len(ends) != len(starts):
            raise ValueError("starts, ends and axes differ in length")
        out = list(x)
        for a, s, e in zip(axes, starts, ends):
            i = _axis(a, len(x))
            size = x[i]
            if type(size) is not int:
                out[i] = None
                continue
            s = max(0, s + size if s < 0 else min(s, size))
            e = size if e >= size or e == 2 ** 31 - 1 else (e + size if e < 0 else e)
            out[i] = max(e - s, 0)
        return [(_dt(c), tuple(out))]
