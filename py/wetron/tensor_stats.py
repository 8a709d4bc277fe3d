"""Statistics, histogram and .npy export of one weight tensor, streamed in windows.

Standard library only (no numpy in the browser). A tensor is read in windows of at
most WINDOW_BYTES through its format's own decoder, so memory stays bounded whatever
the tensor's size, and every dtype the decoders know works here too (float8, int4,
GGUF blocks are dequantized by them).

How much is read: every element up to ELEMENT_CAP elements; past it, evenly spaced
windows of SAMPLE_WINDOW elements, ELEMENT_CAP in all (`sampled: true`, `read` says how
many elements, `windows` where they start). A decoder that cannot start in the middle
of a tensor (HDF5/Keras datasets, TF.js shards, strided PyTorch views, ONNX typed
fields, sparse tensors) gives its first PREFIX_CAP elements instead (`method: "first"`).

What is computed over the elements read: min, max, mean and std (population) of the
finite values, with NaN, +Inf and -Inf counted apart; zeros (== 0, so -0.0 too). Sums
are exact (math.fsum; integers exact; the sum of squares of wide floats to ~1 ulp, by
math.hypot) and the variance is taken from exact rationals, so the figures agree with
numpy in float64 to ~1e-12. The histogram has BINS equal bins over [min, max] of the
finite values (numpy's rule: the last bin includes max; a constant tensor gets
[v - 0.5, v + 0.5]).

Dtypes of at most COUNTED_BITS bits (float16, bfloat16, float8, int8, int4, ...) have
few distinct values: one pass counts each value, which gives every figure and the
histogram of all the elements read. Wider dtypes (float32/64, int32/64, GGUF blocks)
take two passes, as the histogram needs min/max first (reading twice rather than
holding the values); binning costs most, so the second pass bins at most HIST_CAP of
the elements read (all when fewer were read, else evenly spaced windows among them):
`histogram.read` says how many.
"""
import bisect
import collections
import io
import math
import operator
import struct
from fractions import Fraction
from itertools import repeat

from . import dtypes
from .errors import ModelError
from .model import Tensor

ELEMENT_CAP = 1 << 22          # 4,194,304 elements: read all of a tensor up to this
SAMPLE_WINDOW = 1 << 16        # past the cap: evenly spaced windows of 65,536 elements
HIST_CAP = 1 << 20             # the histogram bins up to 1,048,576 of the elements read
PREFIX_CAP = 1 << 21           # decoders that only read from the start: first 2M elements
WINDOW_BYTES = 4 << 20         # bytes decoded at a time
ALIGN = 256                    # window starts: whole bytes of 2/4/6-bit codes, whole GGUF blocks
BINS = 64
COUNTED_BITS = 16              # dtypes this narrow are counted value by value (one pass)
PREVIEW = 64                   # values shown as a preview
NPY_MAX_BYTES = 512 << 20      # .npy files are built in memory (the page's worker): bounded

_TF_STORED_AS = {"qint8": "int8", "quint8": "uint8", "qint16": "int16", "quint16": "uint16",
                 "qint32": "int32"}
_INTS = {"int2", "int4", "int8", "int16", "int32", "int64", "uint2", "uint4", "uint8",
         "uint16", "uint32", "uint64"} | set(_TF_STORED_AS)


# --- reading in windows ----------------------------------------------------------------

def _gguf_block(dtype):
    """(elements, bytes) of a GGUF block type, or None."""
    from .formats.gguf import GGML_TYPES
    for name, block, size in GGML_TYPES.values():
        if name == dtype and block > 1:
            return block, size
    return None


class _Reader:
    """Values of element ranges [start, start + n) of one tensor."""

    def __init__(self, model, t):
        self.model, self.t = model, t
        self.count = t.count
        self.block = _gguf_block(t.dtype) if model.format == "GGUF" else None
        stored = _TF_STORED_AS.get(t.dtype, t.dtype)
        self.bits = self.block[1] * 8 / self.block[0] if self.block else dtypes.BITS.get(stored, 0)
        self.seekable = self._seekable()
        per = int(WINDOW_BYTES * 8 // self.bits) if self.bits else 1 << 20
        self.window = max(ALIGN, per // ALIGN * ALIGN)

    def _byte_offset(self, start):
        if self.block:
            return start // self.block[0] * self.block[1]
        return start * int(self.bits) // 8

    def _seekable(self):
        t = self.t
        # Formats whose decoders read a tensor's raw bytes from Tensor.data (their
        # capability "tensor_windows", wetron.formats), so a window is a Tensor with a
        # shifted `data`; checked per tensor too.
        if ("tensor_windows" not in self.model.capabilities or t.data is None or t.sparse is not None
                or t.decoder is None or not self.bits or t.dtype == "string"
                or t.data[1] < self._byte_offset(self.count)):
            return False
        # A decoder that ignores `data` (or a strided view) would read the wrong bytes:
        # two windows must give what the decoder gives from the start.
        n = min(self.count, 2 * ALIGN)
        try:
            expect = self.t.decoder(t, n)
            got = self._window(0, min(n, ALIGN)) + self._window(ALIGN, n - ALIGN) \
                if n > ALIGN else self._window(0, n)
        except (ModelError, struct.error, ValueError, IndexError):
            return False
        return len(got) == len(expect) and all(
            a == b or (a != a and b != b) for a, b in zip(got, expect))

    def _window(self, start, n):
        t = self.t
        w = Tensor(t.name, t.dtype, (n,))
        offset = self._byte_offset(start)
        w.location, w.ref, w.file, w.index = t.location, t.ref, t.file, t.index
        w.decoder = t.decoder
        w.data = (t.data[0] + offset, t.data[1] - offset)
        return t.decoder(w, n)

    def read(self, start, n):
        if self.seekable:
            values = self._window(start, n)
        else:
            values = self.t.decoder(self.t, start + n)[start:start + n]
        if len(values) < n:
            raise ModelError(f"tensor '{self.t.name}' holds fewer values than its shape "
                             f"{list(self.t.dims)} needs", self.model.file, self.model.format)
        return values

    def histogram_plan(self, plan, method):
        """The windows of `plan` (or parts of them) that the histogram bins."""
        if sum(n for _, n in plan) <= HIST_CAP:
            return plan
        if not self.seekable:
            return [(0, HIST_CAP)]
        if method == "all":
            return self.plan(HIST_CAP)[0]     # evenly spaced windows over the whole tensor
        every = -(-len(plan) * plan[0][1] // HIST_CAP)    # 'windows': every k-th of them
        return plan[::every]

    def plan(self, cap):
        """[(start, n)] to read, and the method: 'all', 'windows' (evenly spaced), 'first'."""
        count = self.count
        if not self.seekable:
            n = min(count, PREFIX_CAP)
            return ([(0, n)] if n else []), ("all" if n == count else "first")
        if count <= cap:
            return [(s, min(self.window, count - s)) for s in range(0, count, self.window)], "all"
        size = min(SAMPLE_WINDOW, self.window)
        k = max(2, cap // size)
        stride = (count - size) // (k - 1) // ALIGN * ALIGN
        return [(i * stride, size) for i in range(k)], "windows"


def _decodable(model, t):
    if not 0 <= t.index < len(model.tensors) or model.tensors[t.index] is not t:
        raise ModelError(f"no tensor {t.index}", model.file, model.format)
    if t.error:
        raise ModelError(t.error, model.file, model.format)
    if t.decoder is None:
        raise ModelError(f"tensor '{t.name}' has no stored values", model.file, model.format)


def find_tensor(model, name):
    """The tensor named `name`, or a ModelError that lists a few names that exist."""
    for t in model.tensors:
        if t.name == name:
            return t
    close = [t.name for t in model.tensors if name.lower() in t.name.lower()][:5]
    hint = f"; similar: {', '.join(close)}" if close else \
        f"; it has {len(model.tensors)} tensors" + \
        (f", e.g. {', '.join(t.name for t in model.tensors[:3])}" if model.tensors else "")
    raise ModelError(f"no tensor named '{name}'{hint}", model.file, model.format)


# --- statistics --------------------------------------------------------------------

def _finite(values):
    """The finite values of a window of floats, and its NaN, +Inf, -Inf counts."""
    total = sum(values)
    if total - total == 0:          # finite sum: no NaN or Inf in the window
        return values, 0, 0, 0
    finite = [x for x in values if x - x == 0]
    pos, neg = values.count(math.inf), values.count(-math.inf)
    return finite, len(values) - len(finite) - pos - neg, pos, neg


class _Figures:
    """What a pass over the windows gathers about the finite values."""

    def __init__(self):
        self.zeros = self.nan = self.posinf = self.neginf = self.finite = 0
        self.lo = self.hi = None
        self.sums, self.squares = [], []      # exact sums of values and of squares, per window
        self.counts = None                    # counted dtypes: value -> how many
        # wide floats: sums of d = x - shift and of d*d per window instead of squares, with
        # shift the first window's mean, so that a near-constant tensor's variance is not
        # lost to cancellation (numpy's two-pass variance keeps it)
        self.shift, self.shifted = None, []

    def nonfinite(self, values, is_int):
        """The finite values of a window; its NaN and +-Inf are counted."""
        if is_int:
            return values
        values, nan, pos, neg = _finite(values)
        self.nan, self.posinf, self.neginf = self.nan + nan, self.posinf + pos, self.neginf + neg
        return values

    def extremes(self, lo, hi):
        self.lo = lo if self.lo is None or lo < self.lo else self.lo
        self.hi = hi if self.hi is None or hi > self.hi else self.hi


def _scan(reader, plan, is_int, progress):
    """Wide dtypes: min/max, zeros and sums of each window (C loops over the list)."""
    f = _Figures()
    for step, (start, n) in enumerate(plan):
        values = f.nonfinite(reader.read(start, n), is_int)
        f.zeros += values.count(0)
        f.finite += len(values)
        if values:
            f.extremes(min(values), max(values))
            if is_int:
                f.sums.append(sum(values))
                f.squares.append(sum(map(operator.mul, values, values)))
            else:
                try:
                    total = math.fsum(values)
                except OverflowError:      # float64s near the largest: no finite sum
                    total = math.inf
                f.sums.append(total)
                if f.shift is None:
                    f.shift = total / len(values)
                d = list(map(operator.sub, values, repeat(f.shift)))
                root = math.hypot(*d)      # fast, to ~1 ulp
                try:
                    f.shifted.append((math.fsum(d), root * root))
                except OverflowError:
                    f.shifted.append((math.inf, math.inf))
        if progress:
            progress((step + 1) / len(plan))
    return f


def _scan_counted(reader, plan, is_int, progress):
    """Dtypes of at most 16 bits have at most 65,536 distinct values: counting each
    value gives every figure exactly, and the histogram of all elements read, in one
    pass (value * count and value**2 * count are exact in float64 for them)."""
    f = _Figures()
    counts = f.counts = collections.Counter()
    for step, (start, n) in enumerate(plan):
        counts.update(f.nonfinite(reader.read(start, n), is_int))
        if progress:
            progress((step + 1) / len(plan))
    if counts:
        f.zeros, f.finite = counts.get(0, 0), sum(counts.values())
        f.extremes(min(counts), max(counts))
        add = sum if is_int else math.fsum
        f.sums.append(add(v * c for v, c in counts.items()))
        f.squares.append(add(v * v * c for v, c in counts.items()))
    return f


def tensor_stats(model, index, cap=ELEMENT_CAP, bins=BINS, progress=None):
    """Statistics of tensor `index` as a JSON-able dict (see the module doc).
    `progress(fraction)` is called as windows are read."""
    if not 0 <= index < len(model.tensors):
        raise ModelError(f"no tensor {index}", model.file, model.format)
    t = model.tensors[index]
    _decodable(model, t)
    dtype = t.dtype
    reader = _Reader(model, t)
    plan, method = reader.plan(cap)
    read = sum(n for _, n in plan)
    out = {"name": t.name, "dtype": dtype, "shape": list(t.dims), "count": reader.count,
           "read": read, "sampled": read < reader.count, "method": method,
           "cap": cap if reader.seekable else PREFIX_CAP,
           "preview": model.tensor_values(index, PREVIEW)["values"]}
    if method == "windows":
        out["windows"] = [list(w) for w in plan]     # [start, elements] of each window read
    if dtype in ("string",) or dtype.startswith("complex") or dtype == "bool":
        return _counts_only(out, reader, plan, dtype, progress)
    is_int = dtype in _INTS
    counted = 0 < reader.bits <= COUNTED_BITS and not reader.block
    if counted:
        f = _scan_counted(reader, plan, is_int, progress)
    else:
        f = _scan(reader, plan, is_int, progress and (lambda x: progress(x / 2)))
    out.update(zeros=f.zeros, nan=f.nan, posinf=f.posinf, neginf=f.neginf, finite=f.finite,
               min=f.lo, max=f.hi, mean=None, std=None, histogram=None)
    if f.finite == 0:
        return _json_safe(out)
    out["mean"], out["std"] = _mean_std(f, exact=is_int or counted)
    edges = histogram_edges(f.lo, f.hi, bins)
    if counted:
        out["histogram"] = _histogram_of_counts(f.counts, edges, read)
    else:
        out["histogram"] = _histogram(reader, reader.histogram_plan(plan, method), edges,
                                      is_int, dtype, progress and (lambda x: progress(0.5 + x / 2)))
    return _json_safe(out)


def _mean_std(f, exact):
    """Mean and population std of the finite values. exact: the sums are exact (ints,
    counted dtypes), so the variance is exact before its square root."""
    n = f.finite
    if exact:
        total, sq = sum(map(Fraction, f.sums)), sum(map(Fraction, f.squares))
        return float(total / n), math.sqrt(max(sq / n - (total / n) ** 2, 0))
    try:
        total = math.fsum(f.sums)
        d_total, d_sq = math.fsum(s for s, _ in f.shifted), math.fsum(q for _, q in f.shifted)
    except (OverflowError, ValueError):
        return math.inf, math.inf
    if not (math.isfinite(total) and math.isfinite(d_sq)):
        return total / n, math.inf
    var = Fraction(d_sq) / n - (Fraction(d_total) / n) ** 2
    return total / n, math.sqrt(max(var, 0))


def histogram_edges(lo, hi, bins=BINS):
    if lo == hi:                          # as numpy: a constant gets a unit-wide range
        lo, hi = lo - 0.5, hi + 0.5
    lo, hi = float(lo), float(hi)
    step = (hi - lo) / bins           # as numpy.linspace
    if math.isfinite(step):
        return [lo + i * step for i in range(bins)] + [hi]
    # a range wider than the largest float: weighted means instead of lo + width * f
    return [lo * (1 - i / bins) + hi * (i / bins) for i in range(bins)] + [hi]


def _bin_counts(values, counts, edges, weights=None):
    """Adds to counts[i] the values with edges[i] <= x < edges[i + 1] (the last bin
    also takes x == max), each counted `weights[k]` times or once."""
    bins = len(counts)
    # bisect_right gives i + 1 for a value in bin i, and bins + 1 for max itself
    found = map(bisect.bisect_right, repeat(edges), values)
    if weights is None:
        for i, c in collections.Counter(found).items():
            counts[min(max(i, 1), bins) - 1] += c
    else:
        for i, c in zip(found, weights):
            counts[min(max(i, 1), bins) - 1] += c


def _histogram(reader, plan, edges, is_int, dtype, progress):
    """A second pass over (some of) the windows, binning each finite value."""
    counts = [0] * (len(edges) - 1)
    as_float = dtype in ("int64", "uint64")   # compared as numpy does: as float64
    for step, (start, n) in enumerate(plan):
        values = reader.read(start, n)
        if not is_int:
            values = _finite(values)[0]
        elif as_float:
            values = list(map(float, values))
        _bin_counts(values, counts, edges)
        if progress:
            progress((step + 1) / len(plan))
    return {"edges": edges, "counts": counts, "read": sum(n for _, n in plan)}


def _histogram_of_counts(value_counts, edges, read):
    counts = [0] * (len(edges) - 1)
    values = list(value_counts)
    _bin_counts(values, counts, edges, [value_counts[v] for v in values])
    return {"edges": edges, "counts": counts, "read": read}


def _counts_only(out, reader, plan, dtype, progress):
    """bool: zeros (False) and ones; complex: zeros, NaN (either part), Inf; string: count."""
    zeros = nan = inf = 0
    for step, (start, n) in enumerate(plan):
        values = reader.read(start, n)
        if dtype == "bool":
            zeros += values.count(False)
        elif dtype != "string":
            for re, im in values:
                if re == 0 and im == 0:
                    zeros += 1
                elif re != re or im != im:
                    nan += 1
                elif math.isinf(re) or math.isinf(im):
                    inf += 1
        if progress:
            progress((step + 1) / len(plan))
    if dtype == "bool":
        out.update(zeros=zeros, ones=out["read"] - zeros)
    elif dtype != "string":
        out.update(zeros=zeros, nan=nan, inf=inf)
    return _json_safe(out)


def _json_safe(out):
    for key in ("min", "max", "mean", "std"):
        if key in out and out[key] is not None:
            out[key] = dtypes.json_number(out[key])
    return out


# --- .npy ------------------------------------------------------------------------

# dtype -> (numpy descr, struct code); kinds numpy lacks go to the nearest it has,
# holding every value exactly (float8/6/4 fit in float16; bfloat16, e8m0, GGUF in float32)
NPY_TYPES = {
    "float32": ("<f4", "f"), "float64": ("<f8", "d"), "float16": ("<f2", "e"),
    "bfloat16": ("<f4", "f"), "float8e4m3fn": ("<f2", "e"), "float8e4m3fnuz": ("<f2", "e"),
    "float8e5m2": ("<f2", "e"), "float8e5m2fnuz": ("<f2", "e"), "float8e8m0": ("<f4", "f"),
    "float4e2m1": ("<f2", "e"), "float6e2m3": ("<f2", "e"), "float6e3m2": ("<f2", "e"),
    "int2": ("|i1", "b"), "int4": ("|i1", "b"), "int8": ("|i1", "b"), "int16": ("<i2", "h"),
    "int32": ("<i4", "i"), "int64": ("<i8", "q"), "uint2": ("|u1", "B"), "uint4": ("|u1", "B"),
    "uint8": ("|u1", "B"), "uint16": ("<u2", "H"), "uint32": ("<u4", "I"),
    "uint64": ("<u8", "Q"), "bool": ("|b1", "?"), "complex64": ("<c8", "f"),
    "complex128": ("<c16", "d"),
    "qint8": ("|i1", "b"), "quint8": ("|u1", "B"), "qint16": ("<i2", "h"),
    "quint16": ("<u2", "H"), "qint32": ("<i4", "i"),
}


def npy_type(model, t):
    """(descr, struct code, note) of the .npy a tensor is saved as; note says what
    was converted ('' when the dtype is numpy's own)."""
    found = NPY_TYPES.get(t.dtype)
    if found is None and model.format == "GGUF" and _gguf_block(t.dtype):
        found = ("<f4", "f")              # block-quantized: its dequantized float32 values
    if found is None:
        raise ModelError(f"tensor '{t.name}' ({t.dtype}) cannot be saved as .npy",
                         model.file, model.format)
    natural = {"<f4": "float32", "<f2": "float16", "|i1": "int8", "|u1": "uint8"}
    note = f"{t.dtype} saved as {natural.get(found[0], found[0])}" \
        if t.dtype not in ("float32", "float64", "float16", "int8", "int16", "int32", "int64",
                           "uint8", "uint16", "uint32", "uint64", "bool", "complex64",
                           "complex128") else ""
    return found[0], found[1], note


def npy_size(model, index):
    """Bytes of the .npy file of tensor `index` (header included)."""
    t = model.tensors[index]
    descr, _, _ = npy_type(model, t)
    return len(_npy_header(descr, t.dims)) + t.count * int(descr[2:])


def _npy_header(descr, dims):
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(dims)!r}, }}"
    # magic + version + header length, then the header padded with spaces to 64 bytes
    for version, length_format in ((1, "<H"), (2, "<I")):
        prefix = 10 if version == 1 else 12
        total = -(-(prefix + len(text) + 1) // 64) * 64
        if total - prefix < 1 << 16 or version == 2:
            header = text + " " * (total - prefix - len(text) - 1) + "\n"
            return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack(length_format, len(header))
                    + header.encode("latin1"))


def write_npy(model, index, out, max_bytes=NPY_MAX_BYTES):
    """Write tensor `index` as a .npy file to `out` (anything with write(bytes)),
    window by window. Returns the note of npy_type ('' if nothing was converted)."""
    if not 0 <= index < len(model.tensors):
        raise ModelError(f"no tensor {index}", model.file, model.format)
    t = model.tensors[index]
    _decodable(model, t)
    descr, code, note = npy_type(model, t)
    size = npy_size(model, index)
    if size > max_bytes:
        raise ModelError(f"tensor '{t.name}' would make a {size / (1 << 20):.0f} MiB .npy file; "
                         f"the limit is {max_bytes >> 20} MiB (the file is built in memory)",
                         model.file, model.format)
    reader = _Reader(model, t)
    if not reader.seekable and reader.count > PREFIX_CAP:
        raise ModelError(f"tensor '{t.name}': this {model.format} tensor can only be read "
                         f"from its start, so .npy export is limited to {PREFIX_CAP:,} elements",
                         model.file, model.format)
    out.write(_npy_header(descr, t.dims))
    count = reader.count
    step = reader.window if reader.seekable else max(count, 1)
    for start in range(0, count, step):
        n = min(step, count - start)
        values = reader.read(start, n)[:n]
        if t.dtype.startswith("complex"):
            values = [x for pair in values for x in pair]
        out.write(struct.pack(f"<{len(values)}{code}", *values))
    return note


def npy_bytes(model, index, max_bytes=NPY_MAX_BYTES):
    buffer = io.BytesIO()
    write_npy(model, index, buffer, max_bytes)
    return buffer.getvalue()
