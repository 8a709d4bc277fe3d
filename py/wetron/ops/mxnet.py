"""MXNet's operators (domain "mxnet"): shape and cost rules as MXNet 1.x computes them.

Nodes come from formats/mxnet.py: `op` is the operator's name in the symbol JSON,
inputs in the operator's argument order (Convolution: data, weight, bias), attributes
typed from their strings there (tuples ints, numbers int/float, booleans "true"/
"false"). Absent attributes are at the operator's defaults (its dmlc parameter struct in
src/operator/). Layouts are MXNet's: NCHW (a Convolution/Pooling whose `layout` is
another one is left unknown), Convolution weights [num_filter, C/num_group, kh, kw],
FullyConnected weights [num_hidden, K].

Shapes (src/operator/nn/*-inl.h):
- Convolution: out = (in + 2*pad - (dilate*(k-1)+1)) / stride + 1, floored; channels
  num_filter. Deconvolution: stride*(in-1) + dilate*(k-1)+1 - 2*pad + adj (target_shape,
  when given, is the output's spatial size).
- Pooling: pooling_convention "valid" floors (in + 2*pad - k) / stride, "full" ceils it
  (no correction for a last window in the padding, unlike Caffe), then + 1; "same"
  ceil(in / stride); global_pool: 1 on every spatial axis. stride defaults to 1, pad to 0.
- FullyConnected: flatten (default): [in[0], num_hidden]; else in[:-1] + [num_hidden].
- Flatten: [in[0], prod(in[1:])]; Concat along dim (1); Reshape with 0 (copy) and -1
  (infer) only (the -2, -3, -4 codes and reverse are left unknown).
- Activation, LeakyReLU, BatchNorm (output 0; its mean and var outputs [C]), softmax,
  log_softmax, SoftmaxOutput, SoftmaxActivation, Dropout, relu, sigmoid, tanh: the input's
  shape; elemwise_add/sub/mul/div, _Plus/_Minus/_Mul/_Div and add_n/ElementWiseSum
  likewise; broadcast_add/sub/mul/div: the broadcast of their inputs.

Cost (cost.py's conventions, docs/graph-schema.md "cost"):
- MACs: Convolution out_elems * (C/num_group) * prod(kernel); Deconvolution in_elems *
  (num_filter/num_group) * prod(kernel); FullyConnected out_elems * K (K = prod(in[1:])
  with flatten, in[-1] without). FLOPs 2 * MACs plus out_elems unless no_bias.
- Per output element: Activation relu/sigmoid/tanh 1, softrelu/softsign 2; LeakyReLU
  leaky/prelu 2, elu/selu 3, gelu 8 (rrelu: not counted, random at training only);
  BatchNorm 2; softmax, log_softmax, SoftmaxOutput, SoftmaxActivation 5; element-wise
  arithmetic 1 (add_n: inputs - 1); Pooling prod(kernel) per output (global: one per
  input element). Dropout at inference, Flatten, Reshape, Concat: 0.

Box: Convolution and Deconvolution their window ("kernel 3×3, stride 2": kernel, stride;
"groups 32": num_group; "dilation 2×2": dilate) and num_filter; Pooling its pool_type
and window, or "global"; any other op its first small attributes (ops/box.py).
"""
import math

from . import box, register
from .base import Rule, Unknown, Window, prod
from ..symbolic import broadcast

DOMAIN = "mxnet"

# The attributes these rules read, with the type formats/mxnet.py gives them.
ATTR_TYPES = {
    "kernel": "ints", "stride": "ints", "pad": "ints", "dilate": "ints", "adj": "ints",
    "target_shape": "ints", "num_filter": "int", "num_group": "int", "no_bias": "string",
    "layout": "string", "pool_type": "string", "global_pool": "string",
    "pooling_convention": "string", "num_hidden": "int", "flatten": "string", "dim": "int",
    "shape": "ints", "reverse": "string", "act_type": "string", "axis": "int",
    "output_mean_var": "string",
}
CHANNELS_FIRST = (None, "None", "NCW", "NCHW", "NCDHW")


class MXNetRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES


def _out_n(c):
    return prod(c.outs[0]) if c.outs else None


def _spatial(c, rank):
    """kernel, stride, pad, dilate of a Convolution/Deconvolution/Pooling with `rank`
    spatial axes (stride and dilate 1, pad 0 by default)."""
    if c.attr("layout") not in CHANNELS_FIRST:
        raise Unknown("layout")
    kernel = c.attr("kernel")
    if not kernel or len(kernel) != rank:
        raise Unknown("kernel")
    stride = c.attr("stride") or [1] * rank
    pad = c.attr("pad") or [0] * rank
    dilate = c.attr("dilate") or [1] * rank
    if len(stride) != rank or len(pad) != rank or len(dilate) != rank:
        raise ValueError("stride/pad/dilate do not match the kernel")
    if min(stride) <= 0 or min(kernel) <= 0 or min(dilate) <= 0:
        raise ValueError("kernel, stride and dilate must be positive")
    return kernel, stride, pad, dilate


class Convolution(Window, MXNetRule):
    ops = ("Convolution",)
    kernel_attr, stride_attr, group_attr, dilation_attr = "kernel", "stride", "num_group", "dilate"

    def box_lines(self, node):
        filters = box.Attrs(node, self.attr_types).int("num_filter")
        return super().box_lines(node) + ([] if filters is None else [f"num_filter {filters}"])

    def out_size(self, c, i, size, k, s, p, d):
        return (size + 2 * p - (d * (k - 1) + 1)) // s + 1

    def shape(self, c):
        x = c.dims(0)
        n = c.attr("num_filter")
        if x is None or n is None:
            raise Unknown("input")
        rank = len(x) - 2
        geometry = _spatial(c, rank)
        out = [x[0], n]
        for i in range(rank):
            size = x[2 + i]
            n = self.out_size(c, i, size, *(g[i] for g in geometry)) \
                if type(size) is int else None
            if n is not None and n < 1:
                raise ValueError("the kernel does not fit the input")
            out.append(n)
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        group = c.attr("num_group", 1)
        if x is None or out_n is None or len(x) < 3 or x[1] is None or not group:
            return None, None
        kernel = _spatial(c, len(x) - 2)[0]
        macs = out_n * (x[1] // group) * math.prod(kernel)
        return 2 * macs + (0 if c.attr("no_bias", "false") == "true" else out_n), macs


class Deconvolution(Convolution):
    ops = ("Deconvolution",)

    def out_size(self, c, i, size, k, s, p, d):
        target = c.attr("target_shape")
        if target and len(target) > i and target[i] > 0:
            return target[i]
        adj = c.attr("adj") or []
        return s * (size - 1) + d * (k - 1) + 1 - 2 * p + (adj[i] if i < len(adj) else 0)

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n, x_n = _out_n(c), prod(x)
        n, group = c.attr("num_filter"), c.attr("num_group", 1)
        if x_n is None or out_n is None or n is None or not group:
            return None, None
        kernel = _spatial(c, len(x) - 2)[0]
        macs = x_n * (n // group) * math.prod(kernel)
        # MXNet's Deconvolution has no bias unless no_bias is false (its default is true)
        return 2 * macs + (out_n if c.attr("no_bias", "true") == "false" else 0), macs


register(Convolution)
register(Deconvolution)


@register
class Pooling(MXNetRule):
    ops = ("Pooling",)

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        kind = a.attr("pool_type")
        first = [kind] if isinstance(kind, str) and kind else []
        if a.attr("global_pool") == "true":
            return [box.line(", ".join(first + ["global"]))]
        return box.window(a.ints("kernel"), a.ints("stride"), first=first) or \
            super().box_lines(node)

    def shape(self, c):
        x = c.dims(0)
        if x is None or len(x) < 3:
            raise Unknown("input")
        rank = len(x) - 2
        if c.attr("layout") not in CHANNELS_FIRST:
            raise Unknown("layout")
        if c.attr("global_pool", "false") == "true":
            return [(c.dtype(0), tuple(x[:2]) + (1,) * rank)]
        kernel, stride, pad, _ = _spatial(c, rank)
        convention = c.attr("pooling_convention", "valid")
        out = list(x[:2])
        for i in range(rank):
            size = x[2 + i]
            if type(size) is not int:
                out.append(None)
            elif convention == "valid":
                out.append((size + 2 * pad[i] - kernel[i]) // stride[i] + 1)
            elif convention == "full":
                out.append(-(-(size + 2 * pad[i] - kernel[i]) // stride[i]) + 1)
            elif convention == "same":
                out.append(-(-size // stride[i]))
            else:
                raise Unknown("pooling_convention")
        if any(type(d) is int and d < 1 for d in out[2:]):
            raise ValueError("the kernel does not fit the input")
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if out_n is None or x is None:
            return None, None
        if c.attr("global_pool", "false") == "true":
            n = prod(x)
            return (None, None) if n is None else (n, 0)
        return out_n * math.prod(_spatial(c, len(x) - 2)[0]), 0


@register
class FullyConnected(MXNetRule):
    ops = ("FullyConnected",)

    def _k(self, c, x):
        return prod(x[1:]) if c.attr("flatten", "true") == "true" else x[-1]

    def shape(self, c):
        x, n = c.dims(0), c.attr("num_hidden")
        if x is None or n is None or not x:
            raise Unknown("input")
        if c.attr("flatten", "true") == "true":
            return [(c.dtype(0), (x[0], n))]
        return [(c.dtype(0), tuple(x[:-1]) + (n,))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if x is None or out_n is None or not x:
            return None, None
        k = self._k(c, x)
        if k is None:
            return None, None
        macs = out_n * k
        return 2 * macs + (0 if c.attr("no_bias", "false") == "true" else out_n), macs


class SameShape(MXNetRule):
    """Output 0 has the input's shape; `flops` per output element."""
    flops = 1

    def shape(self, c):
        return [c.ins[0] if c.ins else None]

    def per_element(self, c):
        return self.flops

    def cost(self, c):
        out_n = _out_n(c)
        per = self.per_element(c)
        return (None, None) if out_n is None or per is None else (out_n * per, 0)


def _same(name, ops, flops):
    register(type(name, (SameShape,), {"ops": ops, "flops": flops}))


_same("Unary1", ("relu", "sigmoid", "tanh", "elemwise_add", "elemwise_sub", "elemwise_mul",
                 "elemwise_div", "_Plus", "_Minus", "_Mul", "_Div", "_plus", "_minus",
                 "_mul", "_div"), 1)
_same("Softmax", ("softmax", "log_softmax", "SoftmaxOutput", "SoftmaxActivation"), 5)
_same("Dropout", ("Dropout",), 0)

ACTIVATION_FLOPS = {"relu": 1, "sigmoid": 1, "tanh": 1, "softrelu": 2, "softsign": 2,
                    "log_sigmoid": 2, "mish": 4}
LEAKY_FLOPS = {"leaky": 2, "prelu": 2, "elu": 3, "selu": 3, "gelu": 8}


@register
class Activation(SameShape):
    ops = ("Activation",)

    def per_element(self, c):
        return ACTIVATION_FLOPS.get(c.attr("act_type", "relu"))


@register
class LeakyReLU(SameShape):
    ops = ("LeakyReLU",)

    def per_element(self, c):
        return LEAKY_FLOPS.get(c.attr("act_type", "leaky"))


@register
class BatchNorm(SameShape):
    """Output 0 the input's shape; outputs 1 and 2 (mean, var) [C], C = in[axis]."""
    ops = ("BatchNorm",)
    flops = 2

    def shape(self, c):
        x = c.ins[0] if c.ins else None
        outs = [x]
        if len(c.node.outputs) > 1:
            a = c.attr("axis", 1)
            stats = None
            if x is not None and x[1] is not None:
                a = a + len(x[1]) if a < 0 else a
                if 0 <= a < len(x[1]):
                    stats = (x[0], (x[1][a],))
            outs += [stats] * (len(c.node.outputs) - 1)
        return outs


@register
class AddN(SameShape):
    ops = ("add_n", "ElementWiseSum")

    def per_element(self, c):
        return max(len(c.node.inputs) - 1, 1)


@register
class Broadcast(SameShape):
    ops = ("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
           "broadcast_plus", "broadcast_minus")

    def shape(self, c):
        a, b = c.dims(0), c.dims(1)
        if a is None or b is None:
            raise Unknown("inputs")
        return [(c.dtype(0), tuple(broadcast([a, b])))]


class Movement(MXNetRule):
    def cost(self, c):
        return 0, 0


@register
class Flatten(Movement):
    ops = ("Flatten", "flatten")

    def shape(self, c):
        x = c.dims(0)
        if x is None or not x:
            raise Unknown("input")
        return [(c.dtype(0), (x[0], prod(x[1:])))]


@register
class Concat(Movement):
    ops = ("Concat", "concat")

    def shape(self, c):
        dims = [c.dims(i) for i in range(len(c.node.inputs))]
        if not dims or any(d is None for d in dims):
            raise Unknown("inputs")
        rank = len(dims[0])
        a = c.attr("dim", 1)
        a = a + rank if a < 0 else a
        if not 0 <= a < rank or any(len(d) != rank for d in dims):
            raise ValueError("concatenated arrays of different ranks")
        sizes = [d[a] for d in dims]
        total = sum(sizes) if all(type(s) is int for s in sizes) else None
        return [(c.dtype(0), tuple(dims[0][:a]) + (total,) + tuple(dims[0][a + 1:]))]


@register
class Reshape(Movement):
    ops = ("Reshape", "reshape")

    def shape(self, c):
        x, target = c.dims(0), c.attr("shape")
        if x is None or target is None or c.attr("reverse", "false") == "true":
            raise Unknown("input")
        out = []
        for i, d in enumerate(target):
            if d == 0:
                if i >= len(x):
                    raise ValueError("a 0 past the input's dims")
                out.append(x[i])
            elif d == -1 or d > 0:
                out.append(d)
            else:
                raise Unknown("reshape code")   # -2, -3, -4: not described here
        if out.count(-1) > 1:
            raise ValueError("more than one -1")
        if -1 in out:
            i = out.index(-1)
            total, known = prod(x), prod(out[:i] + out[i + 1:])
            out[i] = total // known if total is not None and known else None
        return [(c.dtype(0), tuple(out))]
