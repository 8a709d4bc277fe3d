"""Caffe's layers (domain "caffe"): shape and cost rules as BVLC Caffe computes them.

Nodes come from formats/caffe.py: `op` is the layer type ("Convolution"), inputs are
the bottoms followed by the layer's blobs (weights), attributes the fields of its
*_param message by name, typed as caffe.proto types them (each rule's attr_types comes
from that message: formats.caffe.attribute_types), absent ones at caffe.proto's
defaults (formats.caffe.default). Layouts are Caffe's own: blobs N x C x H x W, the
channel axis `axis` (1); convolution weights [num_output, C/group, kh, kw],
InnerProduct weights [num_output, K].

Shapes follow the layers' Reshape() in src/caffe/layers/:
- Convolution (base_conv_layer.cpp / conv_layer.cpp): out = (in + 2*pad -
  (dilation*(k-1)+1)) / stride + 1, floored; kernel/stride/pad from kernel_h/kernel_w
  (2-D) or the repeated kernel_size (one for all spatial axes, or one each); channels
  num_output. Deconvolution: out = stride*(in-1) + dilation*(k-1)+1 - 2*pad.
- Pooling (pooling_layer.cpp, 4-D only): out = ceil((in + 2*pad - k) / stride) + 1
  (round_mode CEIL, Caffe's default; FLOOR floors), then one less if the last window
  would start in the padding; global_pooling: 1 x 1.
- InnerProduct: in[:axis] + [num_output]; Embed: in + [num_output].
- Concat along axis (or the legacy concat_dim); Slice at slice_point (or equal parts);
  Flatten axis..end_axis into one; Reshape by reshape_param (0 copies, -1 infers; axis,
  num_axes); Crop takes bottom 1's dims from axis; Tile multiplies axis by tiles;
  Reduction keeps in[:axis]; ArgMax as argmax_layer.cpp.
- Element-wise layers, BatchNorm, Scale, Bias, LRN, MVN, Softmax, Dropout: the input's
  shape; Split: it on every top; Eltwise: bottom 0's.
Layers not listed (data layers, losses, Python layers, recurrent ones, a fork's types)
keep the shapes the file states, i.e. unknown.

Cost follows cost.py's conventions (docs/graph-schema.md, "cost"):
- MACs: Convolution out_elems * (C/group) * prod(kernel); Deconvolution in_elems *
  (num_output/group) * prod(kernel); InnerProduct out_elems * K. FLOPs 2 * MACs plus
  out_elems for bias_term (true by default).
- Per output element: ReLU 1 (2 with a negative_slope), Sigmoid, TanH, AbsVal, Threshold 1,
  Clip, PReLU, BNLL 2, ELU 3, Power/Exp/Log ((shift + scale*x) then the power, exp or
  log) 3, Swish 3; BatchNorm 2 (subtract the mean, divide by the deviation), Scale 1
  (2 with its bias), Bias 1, Softmax 5, LRN 5, MVN 6 (as ONNX's
  MeanVarianceNormalization); Eltwise (bottoms - 1) per element (SUM with coeff: one more
  multiply per bottom); Pooling kernel elements per output (global: one per input);
  Reduction one per input element. Dropout at inference, Concat, Slice, Split, Flatten,
  Reshape, Crop, Tile, Input, Silence: 0.

Box: Convolution and Deconvolution their window as the layer states it ("kernel 3,
stride 2": kernel_size and stride one for all spatial axes or one each, kernel_h ×
kernel_w where given; "groups 4", "dilation 2"), then num_output; Pooling its method
(MAX, caffe.proto's default, AVE, STOCHASTIC) and window, or "global"; any other layer
its first small fields as any op (ops/box.py).
"""
import math

from . import box, register, register_domain
from .base import Rule, Unknown, prod
from ..formats.caffe import attribute_types, default

DOMAIN = "caffe"


@register_domain
class CaffeRule(Rule):
    domain = DOMAIN
    param = None          # the *_param message whose fields are the attributes
    attr_types = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.param:
            cls.attr_types = attribute_types(cls.param)

    def get(self, c, name):
        """An attribute, else caffe.proto's default for it."""
        return c.attr(name, default(self.param, name))


def _ints(d):
    return d is not None and all(type(x) is int for x in d)


def _out_n(c):
    return prod(c.outs[0]) if c.outs else None


def _per_dim(c, name, n, fallback):
    """A repeated kernel_size/stride/pad/dilation for n spatial axes (one for all, or one
    each), or `fallback` when it is absent."""
    v = c.attr(name)
    if not v:
        return [fallback] * n
    if len(v) == 1:
        return list(v) * n
    if len(v) != n:
        raise ValueError(f"{name} has {len(v)} values for {n} spatial axes")
    return list(v)


def _box_pair(a, name, h, w):
    """[h, w] where the layer gives the 2-D fields, else the repeated or single field."""
    pair = [a.int(h), a.int(w)]
    return pair if None not in pair else a.ints(name)


def conv_geometry(c, rank):
    """(kernel, stride, pad, dilation) of a Convolution/Deconvolution with `rank` spatial
    axes, as base_conv_layer.cpp's LayerSetUp reads them."""
    kh, kw = c.attr("kernel_h"), c.attr("kernel_w")
    if kh is not None or kw is not None:
        if rank != 2 or kh is None or kw is None:
            raise ValueError("kernel_h/kernel_w are for 2-D convolutions, both given")
        kernel = [kh, kw]
    else:
        kernel = _per_dim(c, "kernel_size", rank, None)
        if None in kernel:
            raise Unknown("kernel_size")
    sh, sw = c.attr("stride_h"), c.attr("stride_w")
    stride = [sh or 0, sw or 0] if (sh is not None or sw is not None) and rank == 2 \
        else _per_dim(c, "stride", rank, 1)
    ph, pw = c.attr("pad_h"), c.attr("pad_w")
    pad = [ph or 0, pw or 0] if (ph is not None or pw is not None) and rank == 2 \
        else _per_dim(c, "pad", rank, 0)
    dilation = _per_dim(c, "dilation", rank, 1)
    if any(s <= 0 for s in stride) or any(k <= 0 for k in kernel) or \
            any(d <= 0 for d in dilation):
        raise ValueError("kernel, stride and dilation must be positive")
    return kernel, stride, pad, dilation


def _axis(a, rank):
    if a < 0:
        a += rank
    if not 0 <= a < rank:
        raise ValueError(f"axis {a} out of range for rank {rank}")
    return a


class Convolution(CaffeRule):
    ops = ("Convolution",)
    param = "ConvolutionParameter"

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        lines = box.window(_box_pair(a, "kernel_size", "kernel_h", "kernel_w"),
                           _box_pair(a, "stride", "stride_h", "stride_w"), a.int("group"),
                           a.ints("dilation"))
        outputs = a.int("num_output")
        return lines + ([] if outputs is None else [f"num_output {outputs}"])

    def _setup(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        axis = _axis(self.get(c, "axis"), len(x))
        rank = len(x) - axis - 1
        return x, axis, rank, conv_geometry(c, rank)

    def _spatial(self, size, k, s, p, d):
        return (size + 2 * p - (d * (k - 1) + 1)) // s + 1

    def _checked(self, n):
        if n < 1:
            raise ValueError("the kernel does not fit the blob")   # Caffe refuses the net
        return n

    def shape(self, c):
        x, axis, rank, (kernel, stride, pad, dilation) = self._setup(c)
        num_output = c.attr("num_output")
        if num_output is None:
            raise Unknown("num_output")
        out = list(x[:axis]) + [num_output]
        for i in range(rank):
            size = x[axis + 1 + i]
            out.append(self._checked(self._spatial(size, kernel[i], stride[i], pad[i],
                                                   dilation[i]))
                       if type(size) is int else None)
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if x is None or out_n is None:
            return None, None
        axis = _axis(self.get(c, "axis"), len(x))
        kernel = conv_geometry(c, len(x) - axis - 1)[0]
        group = self.get(c, "group")
        if x[axis] is None or not group:
            return None, None
        macs = out_n * (x[axis] // group) * math.prod(kernel)
        bias = out_n if c.attr("bias_term", "true") == "true" else 0
        return 2 * macs + bias, macs


class Deconvolution(Convolution):
    ops = ("Deconvolution",)

    def _spatial(self, size, k, s, p, d):
        return s * (size - 1) + d * (k - 1) + 1 - 2 * p

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n, x_n = _out_n(c), prod(x)
        num_output, group = c.attr("num_output"), self.get(c, "group")
        if x_n is None or out_n is None or num_output is None or not group:
            return None, None
        axis = _axis(self.get(c, "axis"), len(x))
        kernel = conv_geometry(c, len(x) - axis - 1)[0]
        macs = x_n * (num_output // group) * math.prod(kernel)
        bias = out_n if c.attr("bias_term", "true") == "true" else 0
        return 2 * macs + bias, macs


register(Convolution)
register(Deconvolution)


@register
class Pooling(CaffeRule):
    ops = ("Pooling",)
    param = "PoolingParameter"

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        method = a.attr("pool", default(self.param, "pool"))
        first = [str(method)] if method is not None else []
        if a.attr("global_pooling") == "true":
            return [box.line(", ".join(first + ["global"]))]
        kernel = a.int("kernel_size")
        kernel = [kernel, kernel] if kernel is not None else \
            [a.int("kernel_h"), a.int("kernel_w")]
        stride = a.int("stride")
        stride = [stride, stride] if stride is not None else \
            [a.int("stride_h"), a.int("stride_w")]
        return box.window(None if None in kernel else kernel,
                          None if None in stride else stride, first=first)

    def _geometry(self, c, x):
        if x is None or len(x) != 4:
            raise Unknown("Caffe pools 4-D blobs")
        if c.attr("global_pooling", "false") == "true":
            return [x[2], x[3]], [1, 1], [0, 0]
        ks = c.attr("kernel_size")
        if ks is not None:
            kernel = [ks, ks]
        else:
            kernel = [c.attr("kernel_h"), c.attr("kernel_w")]
            if None in kernel:
                raise Unknown("kernel_size")
        if c.attr("pad_h") is None and c.attr("pad_w") is None:
            pad = [self.get(c, "pad")] * 2
        else:
            pad = [c.attr("pad_h", 0), c.attr("pad_w", 0)]
        if c.attr("stride_h") is None and c.attr("stride_w") is None:
            stride = [self.get(c, "stride")] * 2
        else:
            stride = [c.attr("stride_h", 1), c.attr("stride_w", 1)]
        if min(stride) <= 0 or None in kernel or min(kernel) <= 0:
            raise ValueError("pooling kernel and stride must be positive")
        return kernel, stride, pad

    def shape(self, c):
        x = c.dims(0)
        kernel, stride, pad = self._geometry(c, x)
        ceil = self.get(c, "round_mode") == "CEIL"
        out = [x[0], x[1]]
        for i in range(2):
            size = x[2 + i]
            if type(size) is not int or type(kernel[i]) is not int:
                out.append(None)
                continue
            span = size + 2 * pad[i] - kernel[i]
            n = (-(-span // stride[i]) if ceil else span // stride[i]) + 1
            if pad[i] and (n - 1) * stride[i] >= size + pad[i]:
                n -= 1   # the last window must start inside the blob
            if n < 1:
                raise ValueError("the kernel does not fit the blob")
            out.append(n)
        tops = len(c.node.outputs)   # (MAX pooling may write the argmax mask as top 2)
        return [(c.dtype(0), tuple(out))] * tops

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if out_n is None or x is None:
            return None, None
        kernel, _, _ = self._geometry(c, x)
        if None in kernel:
            return None, None
        return out_n * kernel[0] * kernel[1], 0


@register
class InnerProduct(CaffeRule):
    ops = ("InnerProduct",)
    param = "InnerProductParameter"

    def shape(self, c):
        x = c.dims(0)
        num_output = c.attr("num_output")
        if x is None or num_output is None:
            raise Unknown("input")
        axis = _axis(self.get(c, "axis"), len(x))
        return [(c.dtype(0), tuple(x[:axis]) + (num_output,))]

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _out_n(c)
        if x is None or out_n is None:
            return None, None
        k = prod(x[_axis(self.get(c, "axis"), len(x)):])
        if k is None:
            return None, None
        macs = out_n * k
        bias = out_n if c.attr("bias_term", "true") == "true" else 0
        return 2 * macs + bias, macs


@register
class Embed(CaffeRule):
    ops = ("Embed",)
    param = "EmbedParameter"

    def shape(self, c):
        x, n = c.dims(0), c.attr("num_output")
        if x is None or n is None:
            raise Unknown("input")
        return [(c.dtype(0), tuple(x) + (n,))]

    def cost(self, c):   # a lookup, and the bias add
        out_n = _out_n(c)
        if out_n is None:
            return None, None
        return (out_n if c.attr("bias_term", "true") == "true" else 0), 0


class SameShape(CaffeRule):
    """The input's shape on every top; `flops` per output element."""
    flops = 1

    def shape(self, c):
        t = c.ins[0] if c.ins else None
        return [t] * len(c.node.outputs)

    def per_element(self, c):
        return self.flops

    def cost(self, c):
        out_n = _out_n(c)
        return (None, None) if out_n is None else (out_n * self.per_element(c), 0)


def _same(name, ops, flops, param=None):
    register(type(name, (SameShape,), {"ops": ops, "flops": flops, "param": param}))


_same("Unary1", ("Sigmoid", "TanH", "AbsVal"), 1)
_same("Threshold", ("Threshold",), 1, "ThresholdParameter")
_same("Clip", ("Clip",), 2, "ClipParameter")
_same("PReLU", ("PReLU",), 2, "PReLUParameter")
_same("BNLL", ("BNLL",), 2)
_same("ELU", ("ELU",), 3, "ELUParameter")
_same("Power", ("Power",), 3, "PowerParameter")
_same("Exp", ("Exp",), 3, "ExpParameter")
_same("Log", ("Log",), 3, "LogParameter")
_same("Swish", ("Swish",), 3, "SwishParameter")
_same("BatchNorm", ("BatchNorm",), 2, "BatchNormParameter")
_same("Bias", ("Bias",), 1, "BiasParameter")
_same("Softmax", ("Softmax",), 5, "SoftmaxParameter")
_same("LRN", ("LRN",), 5, "LRNParameter")
_same("MVN", ("MVN",), 6, "MVNParameter")
_same("Dropout", ("Dropout",), 0, "DropoutParameter")
_same("Split", ("Split",), 0)


@register
class ReLU(SameShape):
    ops = ("ReLU",)
    param = "ReLUParameter"

    def per_element(self, c):
        return 2 if self.get(c, "negative_slope") else 1


@register
class Scale(SameShape):
    """Scale: bottom 0 times a scale (its blob, or bottom 1), plus a bias with bias_term."""
    ops = ("Scale",)
    param = "ScaleParameter"

    def per_element(self, c):
        return 2 if c.attr("bias_term", "false") == "true" else 1


@register
class Eltwise(SameShape):
    ops = ("Eltwise",)
    param = "EltwiseParameter"

    def shape(self, c):
        return [c.ins[0] if c.ins else None]

    def per_element(self, c):
        n = len(c.node.inputs)
        extra = n if self.get(c, "operation") == "SUM" and c.attr("coeff") else 0
        return max(n - 1, 1) + extra


class Movement(CaffeRule):
    def cost(self, c):
        return 0, 0


@register
class Silence(Movement):
    ops = ("Silence", "Input")


@register
class Concat(Movement):
    ops = ("Concat",)
    param = "ConcatParameter"

    def shape(self, c):
        dims = [c.dims(i) for i in range(len(c.node.inputs))]
        if not dims or any(d is None for d in dims):
            raise Unknown("inputs")
        rank = len(dims[0])
        axis = c.attr("axis")
        if axis is None:
            axis = self.get(c, "concat_dim") if c.attr("concat_dim") is not None \
                else self.get(c, "axis")
        axis = _axis(axis, rank)
        if any(len(d) != rank for d in dims):
            raise ValueError("concatenated blobs of different ranks")
        sizes = [d[axis] for d in dims]
        total = sum(sizes) if all(type(s) is int for s in sizes) else None
        return [(c.dtype(0), tuple(dims[0][:axis]) + (total,) + tuple(dims[0][axis + 1:]))]


@register
class Slice(Movement):
    ops = ("Slice",)
    param = "SliceParameter"

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        axis = c.attr("axis")
        if axis is None:
            axis = c.attr("slice_dim", default("SliceParameter", "axis"))
        axis = _axis(axis, len(x))
        size, tops = x[axis], len(c.node.outputs)
        if type(size) is not int or not tops:
            raise Unknown("axis size")
        points = c.attr("slice_point") or []
        if points:
            if len(points) != tops - 1:
                raise ValueError("slice_point needs one value fewer than the tops")
            bounds = [0] + list(points) + [size]
            parts = [b - a for a, b in zip(bounds, bounds[1:])]
            if min(parts) < 0:
                raise ValueError("slice points out of order")
        else:
            if size % tops:
                raise ValueError("the axis does not divide into the tops")
            parts = [size // tops] * tops
        return [(c.dtype(0), tuple(x[:axis]) + (p,) + tuple(x[axis + 1:])) for p in parts]


@register
class Flatten(Movement):
    ops = ("Flatten",)
    param = "FlattenParameter"

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        start = _axis(self.get(c, "axis"), len(x))
        end = _axis(self.get(c, "end_axis"), len(x))
        if end < start:
            raise ValueError("end_axis before axis")
        return [(c.dtype(0), tuple(x[:start]) + (prod(x[start:end + 1]),) + tuple(x[end + 1:]))]


@register
class Reshape(Movement):
    """reshape_layer.cpp: the dims [axis, axis + num_axes) of the input are replaced by
    `shape`, whose 0s copy the input's dim at that place and whose one -1 is inferred."""
    ops = ("Reshape",)
    param = "ReshapeParameter"

    def shape(self, c):
        x = c.dims(0)
        target = c.attr("shape")
        if x is None or target is None:
            raise Unknown("input")
        rank = len(x)
        axis = self.get(c, "axis")
        start = axis + rank + 1 if axis < 0 else axis
        num_axes = self.get(c, "num_axes")
        end = rank if num_axes == -1 else start + num_axes
        if not 0 <= start <= end <= rank:
            raise ValueError("axis/num_axes out of range")
        new = []
        for i, d in enumerate(target):
            if d == 0:
                if start + i >= rank:
                    raise ValueError("a 0 past the input's dims")
                new.append(x[start + i])
            elif d < -1:
                raise ValueError("a dim below -1")
            else:
                new.append(d)
        if new.count(-1) > 1:
            raise ValueError("more than one -1")
        out = list(x[:start]) + new + list(x[end:])
        if -1 in out:
            i = out.index(-1)
            rest = [d for j, d in enumerate(out) if j != i]
            total = prod(x)
            known = prod(rest)
            out[i] = total // known if total is not None and known else None
        return [(c.dtype(0), tuple(out))]


@register
class Crop(Movement):
    ops = ("Crop",)
    param = "CropParameter"

    def shape(self, c):
        a, b = c.dims(0), c.dims(1)
        if a is None or b is None or len(a) != len(b):
            raise Unknown("inputs")
        axis = _axis(self.get(c, "axis"), len(a))
        return [(c.dtype(0), tuple(a[:axis]) + tuple(b[axis:]))]


@register
class Tile(Movement):
    ops = ("Tile",)
    param = "TileParameter"

    def shape(self, c):
        x, tiles = c.dims(0), c.attr("tiles")
        if x is None or tiles is None:
            raise Unknown("input")
        axis = _axis(self.get(c, "axis"), len(x))
        size = x[axis] * tiles if type(x[axis]) is int else None
        return [(c.dtype(0), tuple(x[:axis]) + (size,) + tuple(x[axis + 1:]))]


@register
class Reduction(CaffeRule):
    ops = ("Reduction",)
    param = "ReductionParameter"

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        return [(c.dtype(0), tuple(x[:_axis(self.get(c, "axis"), len(x))]))]

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins else None
        return (None, None) if n is None else (n, 0)


@register
class ArgMax(CaffeRule):
    """argmax_layer.cpp: along `axis` top_k values (or indices); without an axis, per
    item of the batch: [N, 1 or 2 (with out_max_val), top_k]."""
    ops = ("ArgMax",)
    param = "ArgMaxParameter"

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            raise Unknown("input")
        k = self.get(c, "top_k")
        axis = c.attr("axis")
        if axis is not None:
            axis = _axis(axis, len(x))
            return [(c.dtype(0), tuple(x[:axis]) + (k,) + tuple(x[axis + 1:]))]
        both = c.attr("out_max_val", "false") == "true"
        shape = [x[0], 2 if both else 1, k] + [1] * max(0, len(x) - 3)
        return [(c.dtype(0), tuple(shape))]

    def cost(self, c):
        n = prod(c.ins[0]) if c.ins else None
        return (None, None) if n is None else (n, 0)
