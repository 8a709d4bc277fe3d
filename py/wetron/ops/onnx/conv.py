"""Convolutions: Conv, ConvInteger, QLinearConv, DeformConv, ConvTranspose; and the
sliding-window arithmetic pool.py shares.

Cost: MACs out_elems * (Cin/group) * prod(kernel) (the weight's dims past the first);
ConvTranspose in_elems * (Cout/group) * prod(kernel); FLOPs 2 * MACs, plus one per
output element for a bias.
Box: the window (Windowed: kernel, stride, groups, dilation)."""
import math

from ...symbolic import _ceil_div, _floor_div, dim_add, dim_div, dim_mul, dim_sub
from ..base import prod
from . import Windowed, register, text


def spatial_attrs(c, rank):
    """strides, dilations, pads (begin..., end...) for `rank` spatial axes."""
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    pads = c.attr("pads") or [0] * (2 * rank)
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise ValueError("spatial attributes do not match the rank")
    return strides, dilations, pads


def auto_pad(c):
    return text(c.attr("auto_pad", "NOTSET"))


def window_out(size, k, s, dil, pb, pe, auto_pad, ceil_mode=False):
    """Output length of a sliding window (Conv, pooling)."""
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return _ceil_div(size, s)
    if auto_pad == "VALID":
        pb = pe = 0
    eff = dil * (k - 1) + 1
    span = dim_sub(dim_add(size, pb + pe), eff)
    if not ceil_mode:
        return dim_add(_floor_div(span, s), 1)
    if type(span) is int:
        n = -(-span // s) + 1
        if (n - 1) * s >= size + pb:   # the last window must start inside the input
            n -= 1
        return n
    n = dim_add(dim_div(span, s), 1)   # exact: the last window ends at the input's end
    return dim_sub(n, 1) if n is not None and pe >= eff else n


def kernel_of(c, w):
    k = c.attr("kernel_shape")
    if k:
        return list(k)
    return None if w is None else list(w[2:])


class Conv(Windowed):
    ops = ("Conv",)
    x_at, w_at, bias_at = 0, 1, 2     # input positions
    dtype = None                      # the output's dtype (None: the input's)

    def out_dtype(self, c):
        return self.dtype or c.dtype(self.x_at)

    def shape(self, c):
        x, w = c.dims(self.x_at), c.dims(self.w_at)
        dtype = self.out_dtype(c)
        if x is None or len(x) < 2:
            return [(dtype, None)]
        rank = len(x) - 2
        channels = w[0] if w else None
        kernel = kernel_of(c, w)
        if kernel is None or len(kernel) != rank:
            return [(dtype, (x[0], channels) + (None,) * rank)]
        strides, dilations, pads = spatial_attrs(c, rank)
        ap = auto_pad(c)
        out = [x[0], channels]
        for i in range(rank):
            if type(kernel[i]) is not int:
                out.append(None)
            else:
                out.append(window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                                      pads[i + rank], ap))
        return [(dtype, tuple(out))]

    def cost(self, c):
        out_n = prod(c.outs[0]) if c.outs else None
        w = c.ins[self.w_at] if len(c.ins) > self.w_at else None
        if out_n is None or w is None or None in w:
            return None, None
        macs = out_n * math.prod(w[1:])
        bias = self.bias_at is not None and c.has(self.bias_at)
        return 2 * macs + (out_n if bias else 0), macs


# DeformConv: X, W, offset, B, mask (its bilinear sampling of X is not counted)
register(Conv)
register(type("DeformConv", (Conv,), {"ops": ("DeformConv",), "bias_at": 3}))
register(type("ConvInteger", (Conv,), {"ops": ("ConvInteger",), "dtype": "int32",
                                       "bias_at": None}))


@register
class QLinearConv(Conv):
    """x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B."""
    ops = ("QLinearConv",)
    x_at, w_at, bias_at = 0, 3, 8

    def out_dtype(self, c):
        return c.dtype(7)


@register
class ConvTranspose(Windowed):
    ops = ("ConvTranspose",)

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        if x is None:
            return [(c.dtype(0), None)]
        rank = len(x) - 2
        group = c.attr("group", 1)
        channels = dim_mul(w[1], group) if w and len(w) > 1 else None
        kernel = kernel_of(c, w)
        output_shape = c.attr("output_shape")
        if output_shape and 0 < rank <= len(output_shape):
            return [(c.dtype(0), (x[0], channels) + tuple(output_shape[-rank:]))]
        if kernel is None or len(kernel) != rank:
            return [(c.dtype(0), (x[0], channels) + (None,) * rank)]
        strides, dilations, pads = spatial_attrs(c, rank)
        outpad = c.attr("output_padding") or [0] * rank
        ap = auto_pad(c)
        out = [x[0], channels]
        for i in range(rank):
            if ap in ("SAME_UPPER", "SAME_LOWER"):
                out.append(dim_mul(x[2 + i], strides[i]))
                continue
            pb, pe = (0, 0) if ap == "VALID" else (pads[i], pads[i + rank])
            full = dim_add(dim_mul(strides[i], dim_sub(x[2 + i], 1)),
                           outpad[i] + (kernel[i] - 1) * dilations[i] + 1)
            out.append(dim_sub(full, pb + pe))
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        x, w = c.ins[0], c.ins[1] if len(c.ins) > 1 else None
        x_n = prod(x)
        out_n = prod(c.outs[0]) if c.outs else None
        if x_n is None or w is None or None in w or out_n is None:
            return None, None
        macs = x_n * math.prod(w[1:])
        return 2 * macs + (out_n if c.has(2) else 0), macs
