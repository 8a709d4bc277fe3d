"""GGUF (llama.cpp / ggml): header, metadata key-values, tensor infos, aligned data.

  magic "GGUF", u32 version (1: u32 counts and lengths; 2, 3: u64), tensor count,
  kv count, then kv pairs (string key, u32 value type, value), then per tensor:
  name, u32 n_dims, dims (ggml "ne": innermost first), u32 ggml type, u64 offset
  relative to the data section, which starts at the next multiple of
  general.alignment (default 32) after the tensor infos.

Shapes are given row-major (ne reversed), as PyTorch and the values list have them.
Values are decoded for plain types and for the simple and k-quant block formats;
other quantized types (IQ*, …) report that their values are not decoded.
"""
import array
import json
import math
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Model, Tensor
from ..util import MAX_TENSORS, too_many
from ..weights import build_graph

FORMAT = "GGUF"
EXTENSIONS = (".gguf",)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
MAGIC = b"GGUF"
MAX_KV = 1 << 20
MAX_DIMS = 8              # ggml's GGML_MAX_DIMS is 4; leave room
MAX_ARRAY_DEPTH = 8
SHOWN_ITEMS = 16          # array items shown in metadata
WINDOW = 1 << 20

# ggml type id -> (name, elements per block, bytes per block). Sizes as in ggml.
GGML_TYPES = {
    0: ("float32", 1, 4), 1: ("float16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20),
    6: ("q5_0", 32, 22), 7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36),
    10: ("q2_k", 256, 84), 11: ("q3_k", 256, 110), 12: ("q4_k", 256, 144),
    13: ("q5_k", 256, 176), 14: ("q6_k", 256, 210), 15: ("q8_k", 256, 292),
    16: ("iq2_xxs", 256, 66), 17: ("iq2_xs", 256, 74), 18: ("iq3_xxs", 256, 98),
    19: ("iq1_s", 256, 50), 20: ("iq4_nl", 32, 18), 21: ("iq3_s", 256, 110),
    22: ("iq2_s", 256, 82), 23: ("iq4_xs", 256, 136), 24: ("int8", 1, 1),
    25: ("int16", 1, 2), 26: ("int32", 1, 4), 27: ("int64", 1, 8), 28: ("float64", 1, 8),
    29: ("iq1_m", 256, 56), 30: ("bfloat16", 1, 2), 34: ("tq1_0", 256, 54),
    35: ("tq2_0", 256, 66), 39: ("mxfp4", 32, 17), 40: ("nvfp4", 64, 36),
    41: ("q1_0", 128, 18),
}
# Types ggml removed; files that still carry them are named, not decoded.
_REMOVED = {4: "q4_2", 5: "q4_3", 31: "q4_0_4_4", 32: "q4_0_4_8", 33: "q4_0_8_8",
            36: "iq4_nl_4_4", 37: "iq4_nl_4_8", 38: "iq4_nl_8_8"}

# GGUF value types: id -> (struct code, size); 7 bool, 8 string, 9 array.
_SCALARS = {0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
            6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8)}


def match(head, name=""):
    return 1.0 if head[:4] == MAGIC else 0.0


def parse(source, companions=None):
    return _Parser(source).model()


class _Cursor:
    """Sequential reads over a Source through a window, for the header part."""

    def __init__(self, source, error):
        self.source, self.error = source, error
        self.pos = 0
        self.buf, self.start = b"", 0

    def take(self, n):
        if n < 0 or self.pos + n > self.source.size:
            raise self.error(f"unexpected end of file: {n} bytes wanted, "
                             f"{self.source.size - self.pos} left", self.pos)
        o = self.pos - self.start
        if o < 0 or o + n > len(self.buf):
            self.start = self.pos
            self.buf = self.source.read(self.pos, min(max(n, WINDOW), self.source.size - self.pos))
            o = 0
        self.pos += n
        return self.buf[o:o + n]

    def skip(self, n):
        if n < 0 or self.pos + n > self.source.size:
            raise self.error(f"unexpected end of file: {n} bytes to skip, "
                             f"{self.source.size - self.pos} left", self.pos)
        self.pos += n

    def unpack(self, code, size):
        return struct.unpack("<" + code, self.take(size))[0]

    def remaining(self):
        return self.source.size - self.pos


class _Parser:
    def __init__(self, source):
        self.source = source
        self.cur = _Cursor(source, self.error)
        self.version = 3

    def error(self, message, offset=None):
        return ModelError(message, self.source.name, FORMAT, offset)

    # --- primitives ----------------------------------------------------------
    def count(self):
        """A length or count: u32 in version 1, u64 after."""
        return self.cur.unpack("I", 4) if self.version == 1 else self.cur.unpack("Q", 8)

    def string(self):
        at = self.cur.pos
        n = self.count()
        if n > self.cur.remaining():
            raise self.error(f"string of {n} bytes runs past the end of the file", at)
        return self.cur.take(n).decode("utf-8", "replace")

    def value(self, vtype, depth=0):
        """A metadata value: Python scalar, str, or (elem type, count, first items)."""
        if vtype in _SCALARS:
            return self.cur.unpack(*_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            at = self.cur.pos
            if depth >= MAX_ARRAY_DEPTH:
                raise self.error(f"arrays nested deeper than {MAX_ARRAY_DEPTH}", at)
            etype = self.cur.unpack("I", 4)
            n = self.count()
            least = _SCALARS[etype][1] if etype in _SCALARS else 4 if self.version == 1 else 8
            if etype not in _SCALARS and etype not in (8, 9):
                raise self.error(f"array of unknown value type {etype}", at)
            if n * least > self.cur.remaining():
                raise self.error(f"array of {n} items runs past the end of the file", at)
            if etype in _SCALARS:   # skip the bulk by length, keep the first items
                code, size = _SCALARS[etype]
                shown = min(n, SHOWN_ITEMS)
                items = list(struct.unpack(f"<{shown}{code}", self.cur.take(shown * size)))
                self.cur.skip((n - shown) * size)
                return ("array", etype, n, items)
            items = []
            for i in range(n):
                v = self.value(etype, depth + 1)
                if i < SHOWN_ITEMS:
                    items.append(v)
            return ("array", etype, n, items)
        raise self.error(f"unknown metadata value type {vtype}", self.cur.pos - 4)

    # --- the file ------------------------------------------------------------
    def model(self):
        cur, src = self.cur, self.source
        if cur.take(4) != MAGIC:
            raise self.error("not a GGUF file (no GGUF magic)", 0)
        raw = cur.take(4)
        version = int.from_bytes(raw, "little")
        if version not in (1, 2, 3):
            if int.from_bytes(raw, "big") in (1, 2, 3):
                raise self.error("big-endian GGUF files are not supported", 4)
            raise self.error(f"unsupported GGUF version {version}", 4)
        self.version = version
        n_tensors, n_kv = self.count(), self.count()
        # The counts are checked before anything is allocated for them: against the
        # limits, and the tensor count against the bytes left (a tensor info takes at
        # least 20 bytes in version 1, 24 after: name length, n_dims, type, offset).
        if n_tensors > MAX_TENSORS:
            raise self.error(too_many(n_tensors, "tensors", MAX_TENSORS), 8)
        if n_kv > MAX_KV:
            raise self.error(too_many(n_kv, "metadata entries", MAX_KV), 8)
        if n_tensors * (20 if version == 1 else 24) > cur.remaining():
            raise self.error(f"{n_tensors:,} tensors do not fit in the file's "
                             f"{src.size:,} bytes", 8)

        m = Model(src.name, src.size, FORMAT)
        m.format_version = f"v{version}"
        kv = {}
        for _ in range(n_kv):
            key = self.string()
            vtype = cur.unpack("I", 4)
            v = self.value(vtype)
            kv[key] = v
            m.metadata.append([key, _show(v)])

        alignment = kv.get("general.alignment", 32)
        if not isinstance(alignment, int) or isinstance(alignment, bool) \
                or alignment <= 0 or alignment & (alignment - 1):
            raise self.error(f"general.alignment {alignment!r} is not a power of two")
        infos = []
        dim, tail = ("I", 4) if version == 1 else ("Q", 8), struct.Struct("<IQ")
        for _ in range(n_tensors):
            at = cur.pos
            name = self.string()
            n_dims = cur.unpack("I", 4)
            if n_dims > MAX_DIMS:
                raise self.error(f"tensor '{name}' has {n_dims} dimensions", at)
            ne = list(struct.unpack(f"<{n_dims}{dim[0]}", cur.take(n_dims * dim[1])))
            gtype, offset = tail.unpack(cur.take(12))
            infos.append((name, ne, gtype, offset, at))
        data_start = -(-cur.pos // alignment) * alignment

        tensors = []
        for name, ne, gtype, offset, at in infos:
            tensors.append(m.add_tensor(self.tensor(name, ne, gtype, offset, at, data_start,
                                                    alignment)))
        arch = kv.get("general.architecture")
        title = kv.get("general.name")
        graph_name = title if isinstance(title, str) else arch if isinstance(arch, str) else ""
        if isinstance(arch, str):
            m.domain = arch
        build_graph(m, tensors, graph_name)
        return m

    def tensor(self, name, ne, gtype, offset, at, data_start, alignment):
        info = GGML_TYPES.get(gtype)
        if info is None:
            old = _REMOVED.get(gtype)
            raise self.error(f"tensor '{name}': ggml type {gtype}"
                             + (f" ({old}) was removed from ggml" if old else " is unknown"), at)
        dtype, block, type_size = info
        t = Tensor(name, dtype, tuple(reversed(ne)))
        count = math.prod(ne)
        if ne and ne[0] % block:
            raise self.error(f"tensor '{name}': row of {ne[0]} elements is not a whole number "
                             f"of {dtype} blocks of {block}", at)
        nbytes = count // block * type_size
        start = data_start + offset
        if offset % alignment:
            raise self.error(f"tensor '{name}': offset {offset} is not aligned to {alignment}", at)
        if start + nbytes > self.source.size:
            raise self.error(f"tensor '{name}': its {nbytes} bytes at {start} run past the end "
                             f"of the file ({self.source.size} bytes)", at)
        t.location = "inline"
        t.ref = (at, 0)
        t.data = (start, nbytes)
        t.decoder = self.decode
        return t

    # --- values on request ---------------------------------------------------
    def decode(self, t, n):
        gtype = next(k for k, v in GGML_TYPES.items() if v[0] == t.dtype)
        _, block, type_size = GGML_TYPES[gtype]
        if block == 1:
            data = self.source.read(t.data[0], min(n * type_size, t.data[1]))
            return dtypes.decode_raw(t.dtype, data, n)
        dequant = DEQUANTIZE.get(t.dtype)
        if dequant is None:
            raise self.error(f"tensor '{t.name}' is quantized as {t.dtype.upper()}: "
                             "its values are not decoded")
        blocks = -(-n // block)
        data = self.source.read(t.data[0], min(blocks * type_size, t.data[1]))
        out = []
        for b in range(len(data) // type_size):
            out.extend(dequant(data[b * type_size:(b + 1) * type_size]))
        return array.array("f", out[:n]).tolist()   # ggml dequantizes to float32


def _show(v):
    """A metadata value as the text shown for it."""
    if isinstance(v, tuple) and v and v[0] == "array":
        _, etype, n, items = v
        shown = ", ".join(_show(x) if not isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                          for x in items)
        more = f", … {n} items" if n > len(items) else ""
        return f"[{shown}{more}]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


# --- dequantization (ggml's reference dequantize_row_* in ggml-quants.c) -------
def _f16(b, o):
    return struct.unpack_from("<e", b, o)[0]


def _q8_0(b):
    d = _f16(b, 0)
    return [d * q for q in struct.unpack_from("<32b", b, 2)]


def _q4_0(b):
    d, qs = _f16(b, 0), b[2:18]
    return [d * ((q & 15) - 8) for q in qs] + [d * ((q >> 4) - 8) for q in qs]


def _q4_1(b):
    d, m, qs = _f16(b, 0), _f16(b, 2), b[4:20]
    return [d * (q & 15) + m for q in qs] + [d * (q >> 4) + m for q in qs]


def _q5(b, d, m, at, offset):
    qh = int.from_bytes(b[at:at + 4], "little")
    qs = b[at + 4:at + 20]
    lo = [d * (((q & 15) | (((qh >> j) << 4) & 16)) - offset) + m for j, q in enumerate(qs)]
    hi = [d * (((q >> 4) | ((qh >> (j + 12)) & 16)) - offset) + m for j, q in enumerate(qs)]
    return lo + hi


def _q5_0(b):
    return _q5(b, _f16(b, 0), 0.0, 2, 16)


def _q5_1(b):
    return _q5(b, _f16(b, 0), _f16(b, 2), 4, 0)


def _q2_k(b):
    scales, qs = b[0:16], b[16:80]
    d, dmin = _f16(b, 80), _f16(b, 82)
    out, k = [], 0
    for n in (0, 32):
        for shift in (0, 2, 4, 6):
            for half in (0, 16):
                sc = scales[k]
                k += 1
                dl, ml = d * (sc & 15), dmin * (sc >> 4)
                out.extend(dl * ((q >> shift) & 3) - ml for q in qs[n + half:n + half + 16])
    return out


def _q3_k(b):
    hmask, qs, raw, d = b[0:32], b[32:96], b[96:108], _f16(b, 108)
    a0, a1, tmp = struct.unpack("<3I", raw)
    k1, k2 = 0x03030303, 0x0F0F0F0F
    aux = [(a0 & k2) | (((tmp >> 0) & k1) << 4), (a1 & k2) | (((tmp >> 2) & k1) << 4),
           ((a0 >> 4) & k2) | (((tmp >> 4) & k1) << 4), ((a1 >> 4) & k2) | (((tmp >> 6) & k1) << 4)]
    scales = struct.unpack("<16b", struct.pack("<4I", *aux))
    out, k, m = [], 0, 1
    for n in (0, 32):
        for shift in (0, 2, 4, 6):
            for half in (0, 16):
                dl = d * (scales[k] - 32)
                k += 1
                out.extend(dl * (((qs[n + l] >> shift) & 3) - (0 if hmask[l] & m else 4))
                           for l in range(half, half + 16))
            m <<= 1
    return out


def _scale_min_k4(j, q):
    if j < 4:
        return q[j] & 63, q[j + 4] & 63
    return (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)


def _q4_k(b):
    d, dmin, scales, qs = _f16(b, 0), _f16(b, 2), b[4:16], b[16:144]
    out = []
    for i in range(4):
        sc1, m1 = _scale_min_k4(2 * i, scales)
        sc2, m2 = _scale_min_k4(2 * i + 1, scales)
        d1, mm1, d2, mm2 = d * sc1, dmin * m1, d * sc2, dmin * m2
        q = qs[32 * i:32 * i + 32]
        out.extend(d1 * (x & 15) - mm1 for x in q)
        out.extend(d2 * (x >> 4) - mm2 for x in q)
    return out


def _q5_k(b):
    d, dmin, scales, qh, qs = _f16(b, 0), _f16(b, 2), b[4:16], b[16:48], b[48:176]
    out = []
    for i in range(4):
        sc1, m1 = _scale_min_k4(2 * i, scales)
        sc2, m2 = _scale_min_k4(2 * i + 1, scales)
        d1, mm1, d2, mm2 = d * sc1, dmin * m1, d * sc2, dmin * m2
        u1, u2 = 1 << (2 * i), 2 << (2 * i)
        q = qs[32 * i:32 * i + 32]
        out.extend(d1 * ((x & 15) + (16 if qh[l] & u1 else 0)) - mm1 for l, x in enumerate(q))
        out.extend(d2 * ((x >> 4) + (16 if qh[l] & u2 else 0)) - mm2 for l, x in enumerate(q))
    return out


def _q6_k(b):
    ql, qh, sc, d = b[0:128], b[128:192], struct.unpack_from("<16b", b, 192), _f16(b, 208)
    out = [0.0] * 256
    for n in range(2):
        L, H, S, Y = ql[64 * n:], qh[32 * n:], sc[8 * n:], 128 * n
        for l in range(32):
            i = l // 16
            h = H[l]
            out[Y + l] = d * S[i] * (((L[l] & 15) | ((h & 3) << 4)) - 32)
            out[Y + l + 32] = d * S[i + 2] * (((L[l + 32] & 15) | (((h >> 2) & 3) << 4)) - 32)
            out[Y + l + 64] = d * S[i + 4] * (((L[l] >> 4) | (((h >> 4) & 3) << 4)) - 32)
            out[Y + l + 96] = d * S[i + 6] * (((L[l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32)
    return out


def _q8_k(b):
    d = struct.unpack_from("<f", b, 0)[0]
    return [d * q for q in struct.unpack_from("<256b", b, 4)]


_IQ4NL = (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
_MXFP4 = (0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)   # e2m1, doubled


def _iq4_nl(b):
    d, qs = _f16(b, 0), b[2:18]
    return [d * _IQ4NL[q & 15] for q in qs] + [d * _IQ4NL[q >> 4] for q in qs]


def _mxfp4(b):
    d = 2.0 ** (b[0] - 128)     # ggml_e8m0_to_fp32_half
    qs = b[1:17]
    return [d * _MXFP4[q & 15] for q in qs] + [d * _MXFP4[q >> 4] for q in qs]


def _ternary(codes, d):
    return [d * ((((c & 255) * 3) >> 8) - 1) for c in codes]


def _tq1_0(b):
    qs, qh, d = b[0:48], b[48:52], _f16(b, 52)
    out = []
    for p in (1, 3, 9, 27, 81):
        out.extend(_ternary([q * p for q in qs[:32]], d))
    for p in (1, 3, 9, 27, 81):
        out.extend(_ternary([q * p for q in qs[32:48]], d))
    for p in (1, 3, 9, 27):
        out.extend(_ternary([q * p for q in qh], d))
    return out


def _tq2_0(b):
    qs, d = b[0:64], _f16(b, 64)
    out = []
    for j in (0, 32):
        for shift in (0, 2, 4, 6):
            out.extend(d * (((q >> shift) & 3) - 1) for q in qs[j:j + 32])
    return out


DEQUANTIZE = {
    "q4_0": _q4_0, "q4_1": _q4_1, "q5_0": _q5_0, "q5_1": _q5_1, "q8_0": _q8_0,
    "q2_k": _q2_k, "q3_k": _q3_k, "q4_k": _q4_k, "q5_k": _q5_k, "q6_k": _q6_k,
    "q8_k": _q8_k, "iq4_nl": _iq4_nl, "mxfp4": _mxfp4, "tq1_0": _tq1_0, "tq2_0": _tq2_0,
}
