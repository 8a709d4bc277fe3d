"""Data movement: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice,
Gather*, Scatter*, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Shape, Size, OneHot,
NonZero, Compress, Trilu, ReverseSequence, CenterCropPad. Cost 0 (Movement).

Forms that changed: Reshape's shape an attribute before opset 5; Squeeze/Unsqueeze's
axes an attribute before 13; Slice's starts/ends/axes attributes before 10; Split's
sizes an attribute or input (1), an attribute (2), an input (13), with num_outputs (18);
Pad's `paddings` (1), `pads` attribute (2), pads input (11), axes input (18); Tile's
tiles/axis inputs before 6; Concat's axis optional (default 1) before 4."""
import math

from ...symbolic import (_nonneg, _same, broadcast, dim_add, dim_div, dim_min,
                         dim_mul, dim_prod, dim_sub)
from .. import box
from ..base import BIG, MAX_FOLD, MAX_RANK, axis, reshape_dims
from . import Movement, register
from .fold import bcast_index, fold_through, num, pick, scalar, strides


def _of_rank(c, i, dtype):
    """(dtype, dims of unknown sizes) for a target given as input i whose values are
    not known but whose length is; None for the dims when that is not known either."""
    s = c.dims(i)
    return (dtype, None if not s or type(s[0]) is not int or s[0] > MAX_RANK
            else (None,) * s[0])


# --- Reshape, Flatten, Transpose ----------------------------------------------------

@register
class Reshape(Movement):
    """Reshape-5 on: the target shape is input 1 (0 copies a dim unless allowzero;
    one -1 is inferred)."""
    ops = ("Reshape",)
    since = 5

    def target(self, c):
        return c.ints(1)

    def shape(self, c):
        x = c.dims(0)
        target = self.target(c)
        if target is None:
            return [_of_rank(c, 1, c.dtype(0))]
        out = reshape_dims(x, target, zero_copies=not c.attr("allowzero", 0))
        fold_through(c, out)
        return [(c.dtype(0), tuple(out))]


@register
class Reshape1(Reshape):
    """Reshape-1: the target shape is the attribute `shape`."""
    since = 1

    def target(self, c):
        t = c.attr("shape")
        if t is not None and len(t) > MAX_RANK:
            raise ValueError("rank too large")
        return t

    def shape(self, c):
        if self.target(c) is None:
            return [(c.dtype(0), None)]
        return Reshape.shape(self, c)


@register
class Flatten(Movement):
    ops = ("Flatten",)

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), (None, None))]
        a = c.attr("axis", 1)
        a = a + len(x) if a < 0 else a
        if not 0 <= a <= len(x):
            raise ValueError("Flatten axis out of range")
        out = (dim_prod(x[:a]), dim_prod(x[a:]))
        fold_through(c, out)
        return [(c.dtype(0), out)]


@register
class Transpose(Movement):
    ops = ("Transpose",)

    def box_lines(self, node):
        """"perm 0,2,1,3": the order of the axes."""
        perm = box.Attrs(node, self.attr_types).ints("perm")
        return [] if perm is None else [box.line("perm " + box.joined(perm, ","))]

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        perm = c.attr("perm") or list(range(len(x) - 1, -1, -1))
        if len(perm) != len(x) or sorted(perm) != list(range(len(x))):
            raise ValueError("Transpose perm is not a permutation of the axes")
        out = tuple(x[p] for p in perm)
        v = c.value(0)
        if v is not None:
            st = strides(v[0])
            idx = [0]
            for p in perm:   # output order, reading the input with its strides
                idx = [i + j * st[p] for i in idx for j in range(v[0][p])]
            c.fold(0, out, [v[1][i] for i in idx])
        return [(c.dtype(0), out)]


# --- Squeeze, Unsqueeze -------------------------------------------------------------

def _axes_count(c, i):
    """The length of a 1-D axes input whose values are not known, else None."""
    d = c.dims(i)
    return d[0] if d and len(d) == 1 and type(d[0]) is int and d[0] <= MAX_RANK else None


def _axes_input(c, i):
    """Axes given as input i: a list of ints, () when the input is omitted, None when
    it is not known here."""
    if not c.has(i):
        return ()
    v = c.ints(i)
    if v is None or any(type(x) is not int for x in v):
        return None
    return v


@register
class Squeeze(Movement):
    """Squeeze-1: axes an attribute (absent: every axis of size 1)."""
    ops = ("Squeeze",)

    def axes(self, c):
        return c.attr("axes") or ()

    def shape(self, c):
        x = c.dims(0)
        axes = self.axes(c)
        if x is None:
            return [(c.dtype(0), None)]
        if axes is None:   # (axes are distinct: the rank follows from their count)
            k = _axes_count(c, 1)
            return [(c.dtype(0), None if k is None or k > len(x) else (None,) * (len(x) - k))]
        if not axes:
            if any(type(d) is not int for d in x):
                return [(c.dtype(0), None)]
            out = tuple(d for d in x if d != 1)
        else:
            drop = {axis(a, len(x)) for a in axes}
            out = tuple(d for i, d in enumerate(x) if i not in drop)
        fold_through(c, out)
        return [(c.dtype(0), out)]


@register
class Squeeze13(Squeeze):
    """Squeeze-13 on: axes the optional input 1."""
    since = 13

    def axes(self, c):
        return _axes_input(c, 1)


@register
class Unsqueeze(Movement):
    """Unsqueeze-1: axes an attribute (required)."""
    ops = ("Unsqueeze",)

    def axes(self, c):
        return c.attr("axes") or None

    def shape(self, c):
        x = c.dims(0)
        axes = self.axes(c)
        if x is None or not axes:
            k = _axes_count(c, 1) if x is not None and axes is None else None
            return [(c.dtype(0), None if not k or len(x) + k > MAX_RANK
                     else (None,) * (len(x) + k))]
        r = len(x) + len(axes)
        if r > MAX_RANK:
            raise ValueError("rank too large")
        if len(axes) == 1:
            a = axis(axes[0], r)
            out = x[:a] + (1,) + x[a:]
        else:
            put = {axis(a, r) for a in axes}
            if len(put) != len(axes):
                raise ValueError("repeated axes")
            it = iter(x)
            out = tuple(1 if i in put else next(it) for i in range(r))
        fold_through(c, out)
        return [(c.dtype(0), out)]


@register
class Unsqueeze13(Unsqueeze):
    """Unsqueeze-13 on: axes the input 1."""
    since = 13

    def axes(self, c):
        return _axes_input(c, 1)


# --- Concat, Split ------------------------------------------------------------------

@register
class Concat(Movement):
    """Concat-4 on: `axis` required."""
    ops = ("Concat",)
    since = 4
    default_axis = None

    def shape(self, c):
        shapes = [None if t is None else t[1] for t in c.ins]
        known = [s for s in shapes if s is not None]
        if not known:
            return [(c.dtype(0), None)]
        r = len(known[0])
        a = axis(c.attr("axis", self.default_axis), r)
        out = list(known[0])
        for s in known[1:]:
            if len(s) != r:
                raise ValueError("Concat of different ranks")
            if r > 1:
                for i in range(r):
                    if i != a:
                        out[i] = _same(out[i], s[i])
        total = 0
        for s in shapes:
            total = dim_add(total, None if s is None else s[a])
        out[a] = total
        if r == 1 and type(total) is int and total <= MAX_FOLD:
            flat = []
            for i in range(len(shapes)):
                v = c.value(i)
                if v is None:
                    break
                flat += v[1]
            else:
                c.fold(0, out, flat)
        return [(c.dtype(0), tuple(out))]


register(type("Concat1", (Concat,), {"since": 1, "default_axis": 1,
                                     "__doc__": "Concat-1: axis optional, default 1."}))


@register
class Split(Movement):
    """Split-1: sizes the attribute `split` or the optional input 1; else equal parts."""
    ops = ("Split",)

    def sizes(self, c):
        """Sizes, None when not given, or "unknown" when given but not known here."""
        s = c.attr("split")
        if s is None and c.has(1):
            s = c.ints(1)
            return "unknown" if s is None else s
        return s

    def parts(self, c, d, n):
        return [dim_div(d, n)] * n

    def shape(self, c):
        x = c.dims(0)
        n = len(c.node.outputs)
        if x is None:
            return [(c.dtype(0), None)] * n
        a = axis(c.attr("axis", 0), len(x))
        sizes = self.sizes(c)
        if sizes == "unknown":
            return [(c.dtype(0), x[:a] + (None,) + x[a + 1:])] * n
        if sizes is None:
            sizes = self.parts(c, x[a], n)
        return [(c.dtype(0), x[:a] + (s,) + x[a + 1:]) for s in sizes[:n]]


@register
class Split2(Split):
    """Split-2: sizes the attribute `split` only."""
    since = 2

    def sizes(self, c):
        return c.attr("split")


@register
class Split13(Split):
    """Split-13: sizes the optional input 1 only."""
    since = 13

    def sizes(self, c):
        if not c.has(1):
            return None
        s = c.ints(1)
        return "unknown" if s is None else s


@register
class Split18(Split13):
    """Split-18 on: without sizes, num_outputs parts (the last one smaller)."""
    since = 18

    def parts(self, c, d, n):
        k = c.attr("num_outputs")
        if k is not None and k != n:
            raise ValueError("Split num_outputs differs from its outputs")
        if k is not None and type(d) is int:
            chunk = -(-d // k)
            return [chunk] * (k - 1) + [d - chunk * (k - 1)]
        return [dim_div(d, n)] * n


# --- Slice --------------------------------------------------------------------------

def slice_len(d, start, end, step):
    """Length of x[start:end:step] along an axis of length d (ONNX Slice clamping)."""
    if None in (start, end, step) or step == 0:
        return None
    if type(d) is int and type(start) is int and type(end) is int:
        return len(range(*slice(start, end, step).indices(d)))
    if type(step) is not int:
        return None
    if step == 1:
        if type(start) is int and start < 0:
            start = dim_add(d, start)
        if type(end) is int:
            if end >= BIG:
                end = d
            elif end < 0:
                end = dim_add(d, end)
        n = dim_sub(end, start)   # when 0 <= start <= end <= d is provable
        if _nonneg(start) and _nonneg(n) and _nonneg(dim_sub(d, end)):
            return n
        if start == 0 and type(end) is str and _nonneg(end):
            return dim_min(end, d)   # x[:seq] of a static axis: min(seq, d)
        return None
    if step == -1 and type(start) is int and type(end) is int \
            and (start == -1 or start >= BIG) and end <= -BIG:
        return d
    return None


UNKNOWN = "unknown"   # an input given but not known here


@register
class Slice(Movement):
    """Slice-10 on: starts, ends, axes, steps the inputs 1 to 4."""
    ops = ("Slice",)
    since = 10

    def spec(self, c):
        """starts, ends (None: not known), axes (None: absent, or UNKNOWN), steps."""
        axes = None
        if c.has(3):
            axes = c.ints(3)
            axes = UNKNOWN if axes is None else axes
        return c.ints(1), c.ints(2), axes, c.ints(4) if c.has(4) else None

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        r = len(x)
        starts, ends, axes, steps = self.spec(c)
        if axes is UNKNOWN:
            return [(c.dtype(0), (None,) * r)]
        if starts is None or ends is None:
            out = list(x)
            for a in (axes or range(r)):
                out[axis(a, r)] = None
            return [(c.dtype(0), tuple(out))]
        axes = axes or range(len(starts))
        steps = steps or [1] * len(starts)
        out = list(x)
        cut = {}
        for s, e, a, st in zip(starts, ends, axes, steps):
            a = axis(a, r)
            cut[a] = (s, e, st)
            out[a] = slice_len(x[a], s, e, st)
        v = c.value(0)
        if v is not None and all(type(t) is int for sp in cut.values() for t in sp):
            picks = [range(d) for d in v[0]]
            for a, (s, e, st) in cut.items():
                picks[a] = range(*slice(s, e, st).indices(v[0][a]))
            c.fold(0, out, pick(v, picks))
        return [(c.dtype(0), tuple(out))]


@register
class Slice1(Slice):
    """Slice-1: starts, ends, axes the attributes."""
    since = 1

    def spec(self, c):
        return c.attr("starts"), c.attr("ends"), c.attr("axes"), None


# --- Gather, Scatter ----------------------------------------------------------------

@register
class Gather(Movement):
    ops = ("Gather",)

    def shape(self, c):
        x, idx = c.dims(0), c.dims(1)
        if x is None or idx is None:
            return [(c.dtype(0), None)]
        a = axis(c.attr("axis", 0), len(x))
        out = x[:a] + idx + x[a + 1:]
        v, iv = c.value(1), None
        if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
            iv = c.value(0)
        if iv is not None:
            dims, flat = iv
            n = dims[a]
            inner = math.prod(dims[a + 1:])
            outer = math.prod(dims[:a])
            res = []
            for o in range(outer):
                for k in v[1]:
                    if type(k) is not int or not -n <= k < n:
                        return [(c.dtype(0), out)]
                    k = k + n if k < 0 else k
                    base = (o * n + k) * inner
                    res += flat[base:base + inner]
            c.fold(0, out, res)
        return [(c.dtype(0), out)]


@register
class GatherElements(Movement):
    ops = ("GatherElements",)

    def shape(self, c):
        return [(c.dtype(0), c.dims(1))]


@register
class GatherND(Movement):
    ops = ("GatherND",)

    def shape(self, c):
        x, idx = c.dims(0), c.dims(1)
        b = c.attr("batch_dims", 0)
        if x is None or idx is None or not idx or type(idx[-1]) is not int:
            return [(c.dtype(0), None)]
        return [(c.dtype(0), idx[:-1] + x[b + idx[-1]:])]


@register
class LikeInput(Movement):
    """The output is input 0's type: scatters, Trilu, ReverseSequence."""
    ops = ("Scatter", "ScatterElements", "ScatterND", "TensorScatter", "Trilu",
           "ReverseSequence")

    def shape(self, c):
        return [c.ins[0] if c.ins else None]


# --- Expand, Tile, Pad --------------------------------------------------------------

@register
class Expand(Movement):
    ops = ("Expand",)

    def shape(self, c):
        x = c.dims(0)
        target = c.ints(1)
        if target is None:
            s = c.dims(1)
            if x is None or not s or type(s[0]) is not int or s[0] > MAX_RANK:
                return [(c.dtype(0), None)]
            target = [None] * s[0]
        if x is None:
            return [(c.dtype(0), None)]
        out = broadcast([x, tuple(target)])
        v = c.value(0)
        if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
            c.fold(0, out, [v[1][k] for k in bcast_index(out, v[0])])
        return [(c.dtype(0), out)]


@register
class Tile(Movement):
    """Tile-6 on: repeats the input 1, one per axis."""
    ops = ("Tile",)
    since = 6

    def shape(self, c):
        x = c.dims(0)
        reps = c.ints(1)
        if x is None:
            return [(c.dtype(0), None)]
        if reps is None or len(reps) != len(x):
            return [(c.dtype(0), (None,) * len(x))]
        return [(c.dtype(0), tuple(dim_mul(d, r) for d, r in zip(x, reps)))]


@register
class Tile1(Movement):
    """Tile-1: `tiles` copies along `axis`, both scalar inputs."""
    ops = ("Tile",)

    def shape(self, c):
        x = c.dims(0)
        tiles, a = scalar(c, 1), scalar(c, 2)
        if x is None:
            return [(c.dtype(0), None)]
        if type(tiles) is not int or type(a) is not int:
            return [(c.dtype(0), (None,) * len(x))]
        a = axis(a, len(x))
        return [(c.dtype(0), x[:a] + (dim_mul(x[a], tiles),) + x[a + 1:])]


@register
class Pad(Movement):
    """Pad-2: `pads` an attribute (begins then ends, every axis)."""
    ops = ("Pad",)
    since = 2

    def pads(self, c):
        return c.attr("pads")

    def axes(self, c, r):
        return list(range(r))

    def shape(self, c):
        x = c.dims(0)
        if x is None:
            return [(c.dtype(0), None)]
        r = len(x)
        pads = self.pads(c)
        axes = self.axes(c, r)
        if pads is None or axes is None or len(pads) != 2 * len(axes):
            return [(c.dtype(0), (None,) * r)]
        out = list(x)
        n = len(axes)
        for j, a in enumerate(axes):
            a = axis(a, r)
            out[a] = dim_add(dim_add(x[a], pads[j]), pads[j + n])
        return [(c.dtype(0), tuple(out))]


@register
class Pad1(Pad):
    """Pad-1: the attribute is `paddings`."""
    since = 1

    def pads(self, c):
        return c.attr("paddings")


@register
class Pad11(Pad):
    """Pad-11: pads the input 1."""
    since = 11

    def pads(self, c):
        return c.ints(1)


@register
class Pad18(Pad11):
    """Pad-18 on: the optional input 3 names the padded axes."""
    since = 18

    def axes(self, c, r):
        return c.ints(3) if c.has(3) else list(range(r))


@register
class CenterCropPad(Movement):
    ops = ("CenterCropPad",)

    def shape(self, c):
        x, shape = c.dims(0), c.ints(1)
        if x is None:
            return [(c.dtype(0), None)]
        axes = c.attr("axes") or list(range(len(x)))
        out = list(x)
        for j, a in enumerate(axes):
            out[axis(a, len(x))] = shape[j] if shape is not None and j < len(shape) else None
        return [(c.dtype(0), tuple(out))]


# --- DepthToSpace, SpaceToDepth -----------------------------------------------------

@register
class DepthToSpace(Movement):
    ops = ("DepthToSpace",)

    def shape(self, c):
        x = c.dims(0)
        b = c.attr("blocksize")
        if x is None or len(x) != 4:
            return [(c.dtype(0), None)]
        n, ch, h, w = x
        return [(c.dtype(0), (n, dim_div(ch, b * b), dim_mul(h, b), dim_mul(w, b)))]


@register
class SpaceToDepth(Movement):
    ops = ("SpaceToDepth",)

    def shape(self, c):
        x = c.dims(0)
        b = c.attr("blocksize")
        if x is None or len(x) != 4:
            return [(c.dtype(0), None)]
        n, ch, h, w = x
        return [(c.dtype(0), (n, dim_mul(ch, b * b), dim_div(h, b), dim_div(w, b)))]


# --- Shape, Size --------------------------------------------------------------------

@register
class Shape(Movement):
    """The input's dims as a folded int64 vector (start/end from Shape-15)."""
    ops = ("Shape",)

    def shape(self, c):
        d = c.dims(0)
        if d is None:
            return [("int64", (None,))]
        r = len(d)
        start, end = c.attr("start", 0), c.attr("end", r)
        start = max(0, min(r, start + r if start < 0 else start))
        end = max(0, min(r, end + r if end < 0 else end))
        part = list(d[start:end]) if end > start else []
        c.fold(0, (len(part),), part)
        return [("int64", (len(part),))]


@register
class Size(Movement):
    ops = ("Size",)

    def shape(self, c):
        d = c.dims(0)
        if d is not None:
            c.fold(0, (), [dim_prod(d)])
        return [("int64", ())]


# --- OneHot, NonZero, Compress ------------------------------------------------------

@register
class OneHot(Movement):
    ops = ("OneHot",)

    def shape(self, c):
        idx = c.dims(0)
        depth = scalar(c, 1)
        depth = int(depth) if num(depth) else None
        if idx is None:
            return [(c.dtype(2), None)]
        r = len(idx) + 1
        a = axis(c.attr("axis", -1), r)
        return [(c.dtype(2), idx[:a] + (depth,) + idx[a:])]


@register
class NonZero(Movement):
    ops = ("NonZero",)

    def shape(self, c):
        x = c.dims(0)
        return [("int64", (None if x is None else len(x), None))]


@register
class Compress(Movement):
    ops = ("Compress",)

    def shape(self, c):
        x = c.dims(0)
        a = c.attr("axis")
        if x is None:
            return [(c.dtype(0), None)]
        if a is None:
            return [(c.dtype(0), (None,))]
        a = axis(a, len(x))
        return [(c.dtype(0), x[:a] + (None,) + x[a + 1:])]


@register
class Dropout(Movement):
    """Dropout-1 to 7: the mask of the input's dtype."""
    ops = ("Dropout",)
    mask = None

    def shape(self, c):
        t = c.ins[0] if c.ins else None
        return [t, (self.mask or c.dtype(0), c.dims(0))]


register(type("Dropout10", (Dropout,), {"since": 10, "mask": "bool",
                                        "__doc__": "Dropout-10 on: a bool mask."}))
