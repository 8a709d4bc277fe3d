"""Darknet's layers (domain "darknet"): shape, parameter and cost rules as Darknet computes
them when it parses a .cfg (src/parser.c and each layer's make_*_layer in src/*_layer.c
of pjreddie's Darknet, the one Debian ships), and the few layers and options only
AlexeyAB's fork has (route groups, [scale_channels], [sam], stride_x / stride_y).

Nodes come from formats/darknet.py: `op` is the section's name (aliases made the long
form: [conv] -> "convolutional"), input 0 the previous layer's output (or the [route] /
[shortcut] references), attributes the section's options as written. An option is read
as Darknet reads it (atoi / atof of the text: "3.5" is 3 where Darknet wants an int),
absent ones at Darknet's defaults (parse_convolutional: filters 1, size 1, stride 1 ...).

Layouts are Darknet's: a layer's output is an image N x C x H x W when Darknet gives it
out_c, out_h, out_w (convolutional, maxpool, route of equal sizes, connected as
N x outputs x 1 x 1, ...), else a flat N x outputs (softmax, cost, detection, rnn, a
route of unequal sizes: Darknet's out_w = out_h = out_c = 0). N is the network's batch.

Shapes (C integer division, which truncates toward zero, as Darknet's int arithmetic):
- convolutional: (w + 2*padding - size) / stride + 1, padding = size/2 when pad=1, else
  `padding=` (0); channels `filters`. deconvolutional: (w - 1)*stride + size - 2*padding.
  local: (w - size) / stride + 1, or (w - 1) / stride + 1 with pad=1.
- maxpool: (w + padding - size) / stride + 1 with padding = size - 1 unless given, size
  = stride unless given; avgpool: 1 x 1; upsample: w*stride (a negative stride divides);
  reorg: C*s*s x H/s x W/s (reverse: the other way; extra: flat inputs + extra);
  crop: crop_height x crop_width.
- route: the first layer's C x H x W, channels added for each later one of the same
  H x W; any other size makes it flat (the sum of their outputs); AlexeyAB's groups=
  divides channels and outputs. shortcut, scale_channels, sam: see the rules.
- yolo, region, iseg keep the input's H x W with n*(classes+5), num*(classes+coords+1),
  classes+ids channels, which must equal the input's (Darknet asserts it); detection
  keeps the flat input, which must hold side*side*((1+coords)*num + classes).
- connected: N x output x 1 x 1; rnn / gru / lstm: N x output (flat); crnn:
  output_filters x W x H of its input (Darknet's make_crnn_layer takes w, h swapped).
- activation, logistic, l2norm, dropout, batchnorm, normalization, softmax, cost: the
  input's shape (softmax and cost flat).
Options of AlexeyAB's fork that change a shape or the weights in ways not modelled here
(share_index, dilation, antialiasing, maxpool_depth, weights_type, ...) leave the
layer unknown, never guessed.

Parameters (`params`): what Darknet stores for a layer, in the order of its
save_weights / load_weights: convolutional and deconvolutional biases, [scales,
rolling_mean, rolling_variance when batch_normalize=1], weights (filters x C/groups x
size x size; deconvolutional C x filters x size x size); connected biases, weights
(output x inputs), [scales, rolling_mean, rolling_variance]; batchnorm scales,
rolling_mean, rolling_variance; local biases (filters x out_h x out_w), weights
(out_h*out_w x filters x C x size x size); rnn its input_layer, self_layer,
output_layer, gru wz wr wh uz ur uh, lstm wi wf wo wg ui uf uo ug (each a connected
layer), crnn input_layer, self_layer, output_layer (3x3 convolutions).

Box (DarknetRule.box_lines): the activation fused after the layer ("+ leaky"; linear
not shown; formats/darknet.py states it even where the .cfg leaves it at Darknet's
default), the filters and window as written ("16 filters, 3×3/2, batch norm",
"output 10", "2×2/2"), what a route, shortcut or yolo layer reads ("layers -1,8",
"from -3", "classes 80").

Cost follows cost.py's conventions:
- MACs: convolutional out_elems * C/groups * size^2, deconvolutional in_elems * filters *
  size^2, local out_elems * C * size^2, connected N * output * inputs, rnn / gru / lstm
  the sum of their connected layers', crnn of its convolutions'. FLOPs 2 * MACs plus one
  per output element for the bias add, three more with batch_normalize (subtract the
  mean, divide by the deviation, scale) and one for an activation other than linear.
  (Darknet's own "BFLOPs" in its layer table is 2 * MACs of each convolutional layer,
  no more.)
- Per element: maxpool size^2 per output, avgpool one per input, shortcut one per
  output (one more each for alpha, beta other than 1), scale_channels and sam one,
  activation / logistic one (linear 0), softmax 5, normalization (LRN) 5, l2norm 3,
  batchnorm 4, yolo one logistic per x, y, objectness and class value; route,
  upsample, reorg, dropout, crop, cost: 0. region, detection and iseg are not counted.
"""
import math

from . import box, register, register_domain
from .base import Rule, Unknown, prod

DOMAIN = "darknet"


# --- reading options as Darknet does --------------------------------------------------------
def c_atoi(text):
    """C's atoi: optional sign and the digits that follow, 0 without any."""
    s = text.lstrip(" \t\n\r\f\v")
    i, sign = 0, 1
    if s[:1] in ("+", "-"):
        sign, i = (-1 if s[0] == "-" else 1), 1
    j = i
    while j < len(s) and j - i < 19 and "0" <= s[j] <= "9":
        j += 1
    return sign * int(s[i:j]) if j > i else 0


def c_atof(text):
    """C's atof of the longest prefix that is a decimal number (0.0 without any)."""
    s = text.lstrip(" \t\n\r\f\v")[:64]
    for end in range(len(s), 0, -1):
        try:
            return float(s[:end])
        except ValueError:
            continue
    return 0.0


def option(c, name):
    """The option as written: int, float, list of them, or string; None when absent."""
    return c.attr(name)


def _int(c, name, default):
    v = c.attr(name)
    if v is None:
        return default
    if isinstance(v, list):
        v = v[0] if v else ""
    if type(v) is int:
        return v
    if type(v) is float:
        return int(v)          # atoi("3.5") is 3 (floats are kept only without an exponent)
    return c_atoi(str(v))


def _float(c, name, default):
    v = c.attr(name)
    if v is None:
        return default
    if isinstance(v, list):
        v = v[0] if v else ""
    if type(v) in (int, float):
        return float(v)
    return c_atof(str(v))


def _str(c, name, default):
    v = c.attr(name)
    return default if v is None else str(v)


def cdiv(a, b):
    """C's integer division (truncates toward zero)."""
    if b == 0:
        raise ValueError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# --- what a layer reads ----------------------------------------------------------------
def layer_input(dims):
    """(N, C, H, W, inputs) of an input as Darknet's size_params has it: C, H, W 0 for a
    flat one; inputs the elements per batch item."""
    if dims is None or len(dims) not in (2, 4) or any(type(d) is not int for d in dims[1:]):
        raise Unknown("input")
    if len(dims) == 2:
        return dims[0], 0, 0, 0, dims[1]
    return dims[0], dims[1], dims[2], dims[3], dims[1] * dims[2] * dims[3]


def out_dims(n, c, h, w, outputs=None):
    """A layer's output: N x C x H x W, or N x outputs when Darknet leaves them 0."""
    if c and h and w:
        if c < 0 or h < 0 or w < 0:
            raise ValueError(f"output {c} x {h} x {w}")
        return (n, c, h, w)
    if outputs is None or outputs <= 0:
        raise ValueError("the layer's output is empty")
    return (n, outputs)


def _image(c, i=0):
    n, ch, h, w, _ = layer_input(c.dims(i))
    if not (ch and h and w):
        raise ValueError(f"the layer before [{c.node.op}] must output an image")
    return n, ch, h, w


def _elems(c):
    return prod(c.outs[0]) if c.outs else None


def _in_elems(c):
    return prod(c.ins[0]) if c.ins else None


LINEAR = ("linear",)

# Options of AlexeyAB's fork whose effect on shapes or weights is not modelled here: a
# layer using them is unknown (never a guess), and its weights are not sized.
UNMODELLED = {
    "convolutional": {"share_index": None, "dilation": 1, "antialiasing": 0, "deform": 0,
                      "sway": 0, "rotate": 0, "stretch": 0, "stretch_sway": 0,
                      "coordconv": 0},
    "maxpool": {"maxpool_depth": 0, "antialiasing": 0, "out_channels": None},
    "shortcut": {"weights_type": "none", "weights_normalization": "none"},
    "route": {},
}


def check_modelled(c):
    for name, neutral in UNMODELLED.get(c.node.op, {}).items():
        v = c.attr(name)
        if v is None:
            continue
        if neutral is None or (str(v) != str(neutral) and
                               (type(neutral) is not int or _int(c, name, neutral) != neutral)):
            raise Unknown(f"{c.node.op} {name}={v}")


def activation_flops(c, default, elems):
    return 0 if _str(c, "activation", default) in LINEAR else elems


def _written(v):
    """An option's value as the .cfg wrote it ("16", "-1,8")."""
    return box.joined(v, ",") if isinstance(v, list) else box.js_number(v) \
        if type(v) in (int, float) else str(v)


@register_domain
class DarknetRule(Rule):
    domain = DOMAIN
    activation = None     # the default activation=, for layers that have one

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        lines = []
        act = a.attr("activation")
        if act is not None and act != "linear":
            lines.append(box.line(f"+ {_written(act)}"))
        parts = []
        filters, output = a.attr("filters"), a.attr("output")
        size, stride = a.attr("size"), a.attr("stride")
        if filters is not None:
            parts.append(f"{_written(filters)} filters")
        if output is not None:
            parts.append(f"output {_written(output)}")
        if size is not None:
            size = _written(size)
            parts.append(f"{size}×{size}" + ("" if stride is None else f"/{_written(stride)}"))
        elif stride is not None:
            parts.append(f"stride {_written(stride)}")
        if a.attr("batch_normalize") == 1:
            parts.append("batch norm")
        if parts:
            lines.append(box.line(", ".join(parts)))
        for name in ("layers", "from", "classes"):
            v = a.attr(name)
            if v is not None:
                lines.append(box.line(f"{name} {_written(v)}"))
        return lines

    def params(self, c):
        """[(sub-layer, array, dims, in the file)] of what Darknet stores, in the order of
        its .weights file (formats/darknet.py reads them); [] for a layer without."""
        return []


# --- convolutions ------------------------------------------------------------------------
def conv_geometry(c):
    """(filters, size, stride_x, stride_y, padding, groups) as parse_convolutional reads
    them (stride_x / stride_y: AlexeyAB's)."""
    check_modelled(c)
    n = _int(c, "filters", 1)
    size = _int(c, "size", 1)
    stride = _int(c, "stride", 1)
    sx, sy = _int(c, "stride_x", -1), _int(c, "stride_y", -1)
    sx = sx if sx >= 1 else stride
    sy = sy if sy >= 1 else stride
    padding = _int(c, "padding", 0)
    if _int(c, "pad", 0):
        padding = cdiv(size, 2)
    groups = _int(c, "groups", 1)
    if n < 1 or size < 1 or sx < 1 or sy < 1 or groups < 1:
        raise ValueError("filters, size, stride and groups must be positive")
    return n, size, sx, sy, padding, groups


def bn_arrays(c, sub, n, counts=True):
    """scales, rolling_mean, rolling_variance of a batch_normalize=1 layer."""
    if not _int(c, "batch_normalize", 0):
        return []
    in_file = counts and not _int(c, "dontloadscales", 0)
    return [(sub, name, (n,), in_file) for name in ("scales", "rolling_mean", "rolling_variance")]


@register
class Convolutional(DarknetRule):
    ops = ("convolutional",)
    activation = "logistic"

    def shape(self, c):
        n, ch, h, w = _image(c)
        filters, size, sx, sy, padding, _ = conv_geometry(c)
        out_h = cdiv(h + 2 * padding - size, sy) + 1
        out_w = cdiv(w + 2 * padding - size, sx) + 1
        if out_h < 1 or out_w < 1:
            raise ValueError("the kernel does not fit the input")
        return [(c.dtype(0) or "float32", out_dims(n, filters, out_h, out_w))]

    def params(self, c):
        _, ch, _, _ = _image(c)
        filters, size, _, _, _, groups = conv_geometry(c)
        loaded = _int(c, "numload", 0) or filters      # load_convolutional_weights: numload
        weights = (loaded, ch // groups, size, size)
        if _int(c, "flipped", 0):                      # stored transposed (transpose_matrix)
            weights = (ch * size * size, loaded) if groups == 1 else (loaded * (ch // groups) * size * size,)
        return [("", "biases", (loaded,), True)] + bn_arrays(c, "", loaded) + \
            [("", "weights", weights, True)]

    def cost(self, c):
        out_n, x = _elems(c), c.ins[0] if c.ins else None
        if out_n is None or x is None or len(x) != 4 or x[1] is None:
            return None, None
        _, size, _, _, _, groups = conv_geometry(c)
        macs = out_n * (x[1] // groups) * size * size
        bn = 3 * out_n if _int(c, "batch_normalize", 0) else 0
        return 2 * macs + out_n + bn + activation_flops(c, self.activation, out_n), macs


@register
class Deconvolutional(DarknetRule):
    ops = ("deconvolutional",)
    activation = "logistic"

    def _geometry(self, c):
        n, size, stride = _int(c, "filters", 1), _int(c, "size", 1), _int(c, "stride", 1)
        padding = _int(c, "padding", 0)
        if _int(c, "pad", 0):
            padding = cdiv(size, 2)
        if n < 1 or size < 1 or stride < 1:
            raise ValueError("filters, size and stride must be positive")
        return n, size, stride, padding

    def shape(self, c):
        n, ch, h, w = _image(c)
        filters, size, stride, padding = self._geometry(c)
        out_h = (h - 1) * stride + size - 2 * padding
        out_w = (w - 1) * stride + size - 2 * padding
        if out_h < 1 or out_w < 1:
            raise ValueError("the output is empty")
        return [(c.dtype(0) or "float32", out_dims(n, filters, out_h, out_w))]

    def params(self, c):
        _, ch, _, _ = _image(c)
        filters, size, _, _ = self._geometry(c)
        return [("", "biases", (filters,), True)] + bn_arrays(c, "", filters) + \
            [("", "weights", (ch, filters, size, size), True)]

    def cost(self, c):
        out_n, x_n = _elems(c), _in_elems(c)
        if out_n is None or x_n is None:
            return None, None
        filters, size, _, _ = self._geometry(c)
        macs = x_n * filters * size * size
        bn = 3 * out_n if _int(c, "batch_normalize", 0) else 0
        return 2 * macs + out_n + bn + activation_flops(c, self.activation, out_n), macs


@register
class Local(DarknetRule):
    ops = ("local",)
    activation = "logistic"

    def _geometry(self, c):
        n, size, stride = _int(c, "filters", 1), _int(c, "size", 1), _int(c, "stride", 1)
        if n < 1 or size < 1 or stride < 1:
            raise ValueError("filters, size and stride must be positive")
        return n, size, stride, _int(c, "pad", 0)

    def _out(self, c):
        n, ch, h, w = _image(c)
        filters, size, stride, pad = self._geometry(c)
        out_h = cdiv(h - (1 if pad else size), stride) + 1     # local_out_height
        out_w = cdiv(w - (1 if pad else size), stride) + 1
        if out_h < 1 or out_w < 1:
            raise ValueError("the kernel does not fit the input")
        return n, ch, filters, size, out_h, out_w

    def shape(self, c):
        n, _, filters, _, out_h, out_w = self._out(c)
        return [(c.dtype(0) or "float32", out_dims(n, filters, out_h, out_w))]

    def params(self, c):
        _, ch, filters, size, out_h, out_w = self._out(c)
        return [("", "biases", (filters, out_h, out_w), True),
                ("", "weights", (out_h * out_w, filters, ch, size, size), True)]

    def cost(self, c):
        out_n, x = _elems(c), c.ins[0] if c.ins else None
        if out_n is None or x is None or len(x) != 4 or x[1] is None:
            return None, None
        size = self._geometry(c)[1]
        macs = out_n * x[1] * size * size
        return 2 * macs + out_n + activation_flops(c, self.activation, out_n), macs


def connected_arrays(c, sub, inputs, outputs):
    return [(sub, "biases", (outputs,), True), (sub, "weights", (outputs, inputs), True)] + \
        bn_arrays(c, sub, outputs)


@register
class Connected(DarknetRule):
    ops = ("connected",)
    activation = "logistic"

    def shape(self, c):
        n, _, _, _, inputs = layer_input(c.dims(0))
        out = _int(c, "output", 1)
        if out < 1:
            raise ValueError("output must be positive")
        return [(c.dtype(0) or "float32", (n, out, 1, 1))]

    def params(self, c):
        _, _, _, _, inputs = layer_input(c.dims(0))
        return connected_arrays(c, "", inputs, _int(c, "output", 1))

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        out_n = _elems(c)
        if x is None or out_n is None or x[0] is None or None in x:
            return None, None
        inputs = prod(x[1:])
        macs = out_n * inputs
        bn = 3 * out_n if _int(c, "batch_normalize", 0) else 0
        return 2 * macs + out_n + bn + activation_flops(c, self.activation, out_n), macs


class Recurrent(DarknetRule):
    """rnn, gru, lstm: connected layers inside (make_*_layer), a flat N x output."""
    # the connected layers in the file's order: (name, reads the input (else the state))
    layers = ()

    def shape(self, c):
        n, _, _, _, _ = layer_input(c.dims(0))
        out = _int(c, "output", 1)
        if out < 1:
            raise ValueError("output must be positive")
        return [(c.dtype(0) or "float32", (n, out))]

    def params(self, c):
        _, _, _, _, inputs = layer_input(c.dims(0))
        out = _int(c, "output", 1)
        arrays = []
        for sub, from_input in self.layers:
            arrays += connected_arrays(c, sub, inputs if from_input else out, out)
        return arrays

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        if x is None or None in x or len(x) < 2:
            return None, None
        n, inputs = x[0], prod(x[1:])
        out = _int(c, "output", 1)
        macs = sum(n * out * (inputs if from_input else out) for _, from_input in self.layers)
        bn = 3 if _int(c, "batch_normalize", 0) else 0
        per = n * out * len(self.layers)
        return 2 * macs + per * (1 + bn) + self.gates(c, n * out), macs

    def gates(self, c, elems):
        return 0


@register
class Rnn(Recurrent):
    ops = ("rnn",)
    activation = "logistic"
    layers = (("input_layer", True), ("self_layer", False), ("output_layer", False))

    def gates(self, c, elems):   # the state: input + self (2 adds); 3 activations
        return elems * (2 + (0 if _str(c, "activation", self.activation) in LINEAR else 3))


@register
class Gru(Recurrent):
    ops = ("gru",)
    layers = (("wz", False), ("wr", False), ("wh", False), ("uz", True), ("ur", True),
              ("uh", True))

    def gates(self, c, elems):   # z, r: add + logistic (4); r*state, add, tanh (3); the
        return elems * 11         # blend s*z + (1-z)*h (weighted_sum_cpu: 4)


@register
class Lstm(Recurrent):
    ops = ("lstm",)
    layers = (("wi", False), ("wf", False), ("wo", False), ("wg", False), ("ui", True),
              ("uf", True), ("uo", True), ("ug", True))

    def gates(self, c, elems):   # 4 adds + 4 activations; c = f*c + i*g (3); h = o*tanh(c) (2)
        return elems * 13


@register
class Crnn(DarknetRule):
    ops = ("crnn",)
    activation = "logistic"

    def _geometry(self, c):
        n, ch, h, w, _ = layer_input(c.dims(0))
        hidden, out = _int(c, "hidden_filters", 1), _int(c, "output_filters", 1)
        if hidden < 1 or out < 1:
            raise ValueError("hidden_filters and output_filters must be positive")
        if not (ch and h and w):
            raise ValueError("the layer before [crnn] must output an image")
        return n, ch, h, w, hidden, out

    def shape(self, c):
        n, _, h, w, _, out = self._geometry(c)
        # parse_crnn passes (w, h) where make_crnn_layer takes (h, w): out_h is w
        return [(c.dtype(0) or "float32", (n, out, w, h))]

    def params(self, c):
        _, ch, _, _, hidden, out = self._geometry(c)
        arrays = []
        for sub, cin, cout in (("input_layer", ch, hidden), ("self_layer", hidden, hidden),
                               ("output_layer", hidden, out)):
            arrays += [(sub, "biases", (cout,), True)] + bn_arrays(c, sub, cout) + \
                [(sub, "weights", (cout, cin, 3, 3), True)]
        return arrays

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        if x is None or len(x) != 4 or None in x:
            return None, None
        n, ch, h, w = x
        hidden, out = _int(c, "hidden_filters", 1), _int(c, "output_filters", 1)
        spatial = n * h * w
        macs = spatial * 9 * (ch * hidden + hidden * hidden + hidden * out)
        per = spatial * (2 * hidden + out)
        bn = 3 * per if _int(c, "batch_normalize", 0) else 0
        act = 0 if _str(c, "activation", self.activation) in LINEAR else per
        return 2 * macs + per + bn + act + 2 * spatial * hidden, macs   # state = in + self


# --- pooling and resampling --------------------------------------------------------------
@register
class Maxpool(DarknetRule):
    ops = ("maxpool",)

    def _geometry(self, c):
        check_modelled(c)
        stride = _int(c, "stride", 1)
        sx, sy = _int(c, "stride_x", stride), _int(c, "stride_y", stride)
        size = _int(c, "size", stride)
        padding = _int(c, "padding", size - 1)
        if size < 1 or sx < 1 or sy < 1:
            raise ValueError("size and stride must be positive")
        return size, sx, sy, padding

    def shape(self, c):
        n, ch, h, w = _image(c)
        size, sx, sy, padding = self._geometry(c)
        out_h = cdiv(h + padding - size, sy) + 1
        out_w = cdiv(w + padding - size, sx) + 1
        if out_h < 1 or out_w < 1:
            raise ValueError("the window does not fit the input")
        return [(c.dtype(0) or "float32", out_dims(n, ch, out_h, out_w))]

    def cost(self, c):
        out_n = _elems(c)
        if out_n is None:
            return None, None
        size = self._geometry(c)[0]
        return out_n * size * size, 0


@register
class Avgpool(DarknetRule):
    ops = ("avgpool",)

    def shape(self, c):
        n, ch, _, _ = _image(c)
        return [(c.dtype(0) or "float32", (n, ch, 1, 1))]

    def cost(self, c):
        x_n = _in_elems(c)
        return (None, None) if x_n is None else (x_n, 0)


@register
class Upsample(DarknetRule):
    ops = ("upsample",)

    def shape(self, c):
        n, ch, h, w, _ = layer_input(c.dims(0))
        stride = _int(c, "stride", 2)
        if stride < 0:
            out_h, out_w = cdiv(h, -stride), cdiv(w, -stride)
        else:
            out_h, out_w = h * stride, w * stride
        return [(c.dtype(0) or "float32", out_dims(n, ch, out_h, out_w, 0))]

    def cost(self, c):
        return 0, 0


@register
class Reorg(DarknetRule):
    ops = ("reorg",)

    def shape(self, c):
        n, ch, h, w = _image(c)
        stride = _int(c, "stride", 1)
        extra = _int(c, "extra", 0)
        if extra:
            return [(c.dtype(0) or "float32", out_dims(n, 0, 0, 0, ch * h * w + extra))]
        if _int(c, "reverse", 0):
            out = (cdiv(ch, stride * stride), h * stride, w * stride)
        else:
            out = (ch * stride * stride, cdiv(h, stride), cdiv(w, stride))
        return [(c.dtype(0) or "float32", out_dims(n, *out, 0))]

    def cost(self, c):
        return 0, 0


@register
class Crop(DarknetRule):
    ops = ("crop",)

    def shape(self, c):
        n, ch, _, _ = _image(c)
        ch_, cw = _int(c, "crop_height", 1), _int(c, "crop_width", 1)
        return [(c.dtype(0) or "float32", out_dims(n, ch, ch_, cw))]

    def cost(self, c):   # forward_crop_layer: x*2 - 1 unless noadjust=1
        out_n = _elems(c)
        if out_n is None:
            return None, None
        return (0 if _int(c, "noadjust", 0) else 2 * out_n), 0


# --- several inputs ------------------------------------------------------------------------
@register
class Route(DarknetRule):
    ops = ("route",)

    def shape(self, c):
        ins = [layer_input(c.dims(i)) for i in range(len(c.node.inputs))]
        if not ins:
            raise ValueError("a route names no layer")
        n, first_c, first_h, first_w, _ = ins[0]
        out_c, out_h, out_w = first_c, first_h, first_w
        outputs = 0
        for _, ch, h, w, inputs in ins:
            outputs += inputs
        for _, ch, h, w, _ in ins[1:]:
            if w == first_w and h == first_h:
                out_c += ch
            else:
                out_c = out_h = out_w = 0
        groups = _int(c, "groups", 1)        # AlexeyAB's fork
        if groups != 1:
            if groups < 1:
                raise ValueError("groups must be positive")
            group_id = _int(c, "group_id", 0)
            if not 0 <= group_id < groups:
                raise ValueError(f"group_id {group_id} of {groups} groups")
            outputs, out_c = cdiv(outputs, groups), cdiv(out_c, groups)
        if out_c == 0:
            out_h = out_w = 0
        return [(c.dtype(0) or "float32", out_dims(n, out_c, out_h, out_w, outputs))]

    def cost(self, c):
        return 0, 0


@register
class Shortcut(DarknetRule):
    """Input 0 the previous layer (whose shape the output takes), then the `from` ones."""
    ops = ("shortcut",)
    activation = "linear"

    def shape(self, c):
        check_modelled(c)
        n, ch, h, w = _image(c)
        for i in range(1, len(c.node.inputs)):
            layer_input(c.dims(i))
        return [(c.dtype(0) or "float32", (n, ch, h, w))]

    def cost(self, c):
        out_n = _elems(c)
        if out_n is None:
            return None, None
        per = len(c.node.inputs) - 1
        per += (_float(c, "alpha", 1) != 1) + (_float(c, "beta", 1) != 1)
        return out_n * per + activation_flops(c, self.activation, out_n), 0


@register
class ScaleChannels(DarknetRule):
    """AlexeyAB's fork: input 0 the scales (previous layer), input 1 the `from` layer."""
    ops = ("scale_channels",)
    activation = "linear"

    def shape(self, c):
        n, ch, h, w = _image(c, 0)
        _, ch2, h2, w2 = _image(c, 1)
        if _int(c, "scale_wh", 0):
            if ch != 1 or (h2, w2) != (h, w):
                raise ValueError("scale_wh wants a 1-channel input of the same size")
        elif (h, w) != (1, 1) or ch2 != ch:
            raise ValueError("scale_channels wants a 1 x 1 input of as many channels")
        return [(c.dtype(1) or "float32", (n, ch2, h2, w2))]

    def cost(self, c):
        out_n = _elems(c)
        return (None, None) if out_n is None else (out_n, 0)


@register
class Sam(DarknetRule):
    """AlexeyAB's fork: the `from` layer times the previous one, element by element."""
    ops = ("sam",)
    activation = "linear"

    def shape(self, c):
        n, ch, h, w = _image(c, 0)
        _, ch2, h2, w2 = _image(c, 1)
        if (ch2, h2, w2) != (ch, h, w):
            raise ValueError("sam wants two inputs of one size")
        return [(c.dtype(1) or "float32", (n, ch2, h2, w2))]

    def cost(self, c):
        out_n = _elems(c)
        return (None, None) if out_n is None else (out_n, 0)


# --- the same shape ------------------------------------------------------------------------
class SameShape(DarknetRule):
    per_element = 0
    flat = False          # Darknet gives the output no C x H x W (softmax, cost)

    def shape(self, c):
        n, ch, h, w, inputs = layer_input(c.dims(0))
        if self.flat:
            return [(c.dtype(0) or "float32", (n, inputs))]
        return [(c.dtype(0) or "float32", out_dims(n, ch, h, w, inputs))]

    def cost(self, c):
        out_n = _elems(c)
        return (None, None) if out_n is None else (out_n * self.per_element, 0)


@register
class Activation(SameShape):
    ops = ("activation",)
    activation = "linear"

    def cost(self, c):
        out_n = _elems(c)
        return (None, None) if out_n is None else (activation_flops(c, self.activation, out_n), 0)


@register
class Logistic(SameShape):
    ops = ("logistic",)
    per_element = 1


@register
class L2norm(SameShape):
    ops = ("l2norm",)
    per_element = 3


@register
class Dropout(SameShape):
    ops = ("dropout",)


@register
class Softmax(SameShape):
    ops = ("softmax",)
    flat = True
    per_element = 5


@register
class Cost(SameShape):
    ops = ("cost",)
    flat = True


class ImageSameShape(SameShape):
    def shape(self, c):
        n, ch, h, w = _image(c)
        return [(c.dtype(0) or "float32", (n, ch, h, w))]


@register
class Normalization(ImageSameShape):
    ops = ("normalization",)
    per_element = 5


@register
class Batchnorm(ImageSameShape):
    ops = ("batchnorm",)
    per_element = 4

    def params(self, c):
        _, ch, _, _ = _image(c)
        return [("", name, (ch,), True) for name in ("scales", "rolling_mean", "rolling_variance")]


# --- detection heads ---------------------------------------------------------------------
class Head(DarknetRule):
    def channels(self, c):
        raise NotImplementedError

    def shape(self, c):
        n, ch, h, w, inputs = layer_input(c.dims(0))
        out_c = self.channels(c)
        if h * w * out_c != inputs:   # Darknet asserts l.outputs == params.inputs
            raise ValueError(f"[{c.node.op}] wants {out_c} channels, the input has {ch}")
        return [(c.dtype(0) or "float32", out_dims(n, out_c, h, w))]


def mask_count(c):
    """How many anchors a [yolo] uses: the `mask` entries (parse_yolo_mask counts commas),
    else num."""
    mask = c.attr("mask")
    if mask is None:
        return _int(c, "num", 1)
    return len(mask) if isinstance(mask, list) else str(mask).count(",") + 1


@register
class Yolo(Head):
    ops = ("yolo",)

    def channels(self, c):
        return mask_count(c) * (_int(c, "classes", 20) + 4 + 1)

    def cost(self, c):   # forward_yolo_layer: logistic on x, y, objectness and the classes
        x = c.ins[0] if c.ins else None
        if x is None or None in x or len(x) != 4:
            return None, None
        return x[0] * mask_count(c) * (3 + _int(c, "classes", 20)) * x[2] * x[3], 0


@register
class Region(Head):
    ops = ("region",)

    def channels(self, c):
        return _int(c, "num", 1) * (_int(c, "classes", 20) + _int(c, "coords", 4) + 1)


@register
class Iseg(Head):
    ops = ("iseg",)

    def channels(self, c):
        return _int(c, "classes", 20) + _int(c, "ids", 32)


@register
class Detection(DarknetRule):
    ops = ("detection",)

    def shape(self, c):
        n, _, _, _, inputs = layer_input(c.dims(0))
        side, num = _int(c, "side", 7), _int(c, "num", 1)
        classes, coords = _int(c, "classes", 1), _int(c, "coords", 1)
        if side * side * ((1 + coords) * num + classes) != inputs:
            raise ValueError("[detection]: side*side*((1+coords)*num+classes) is not the "
                             "input's size")
        return [(c.dtype(0) or "float32", (n, inputs))]


def parameter_layout(rule, c):
    """The rule's params(c) (for formats/darknet.py), [] for a rule without."""
    return rule.params(c) if isinstance(rule, DarknetRule) else []


def parameter_count(arrays):
    return sum(math.prod(dims) for _, _, dims, _ in arrays)
