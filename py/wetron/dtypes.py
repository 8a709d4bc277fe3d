"""Element types: names, storage sizes, and decoding of stored bytes to Python values,
on the standard library alone (struct and lookup tables; no numpy)."""
import math
import struct

# ONNX TensorProto.DataType codes -> the names used in the graph document.
ONNX_DTYPES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
    18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3",
    28: "float6e3m2",
}

# Bits per element as stored raw (string: variable, 0).
BITS = {
    "float32": 32, "uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "int32": 32,
    "int64": 64, "string": 0, "bool": 8, "float16": 16, "float64": 64, "uint32": 32,
    "uint64": 64, "complex64": 64, "complex128": 128, "bfloat16": 16, "float8e4m3fn": 8,
    "float8e4m3fnuz": 8, "float8e5m2": 8, "float8e5m2fnuz": 8, "uint4": 4, "int4": 4,
    "float4e2m1": 4, "float8e8m0": 8, "uint2": 2, "int2": 2, "float6e2m3": 6,
    "float6e3m2": 6,
}

_STRUCT = {"float32": "f", "float64": "d", "int8": "b", "uint8": "B", "int16": "h",
           "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
           "float16": "e", "complex64": "f", "complex128": "d"}


def dtype_name(code):
    return ONNX_DTYPES.get(code, "undefined" if code == 0 else f"dtype{code}")


def storage_bytes(dtype, count):
    """Bytes that `count` elements take stored raw (packed sub-byte types rounded up)."""
    bits = BITS.get(dtype, 0)
    return (count * bits + 7) // 8


def _minifloat(code, exp_bits, man_bits, bias, kind):
    """Value of an 8-bit-or-smaller float code. kind: 'ieee' (inf/NaN at max exponent),
    'fn' (no inf, NaN only at all-ones), 'fnuz' (NaN is negative zero, no inf),
    'none' (every code finite)."""
    total = 1 + exp_bits + man_bits
    sign = -1.0 if code >> (total - 1) & 1 else 1.0
    exp = (code >> man_bits) & ((1 << exp_bits) - 1)
    man = code & ((1 << man_bits) - 1)
    if kind == "fnuz" and code == 1 << (total - 1):
        return math.nan
    if kind == "fn" and exp == (1 << exp_bits) - 1 and man == (1 << man_bits) - 1:
        return math.nan
    if kind == "ieee" and exp == (1 << exp_bits) - 1:
        return sign * math.inf if man == 0 else math.nan
    if exp == 0:
        return sign * man / (1 << man_bits) * 2.0 ** (1 - bias)
    return sign * (1 + man / (1 << man_bits)) * 2.0 ** (exp - bias)


_TABLES = {
    "float8e4m3fn": [_minifloat(c, 4, 3, 7, "fn") for c in range(256)],
    "float8e4m3fnuz": [_minifloat(c, 4, 3, 8, "fnuz") for c in range(256)],
    "float8e5m2": [_minifloat(c, 5, 2, 15, "ieee") for c in range(256)],
    "float8e5m2fnuz": [_minifloat(c, 5, 2, 16, "fnuz") for c in range(256)],
    "float8e8m0": [math.nan if c == 255 else 2.0 ** (c - 127) for c in range(256)],
    "float4e2m1": [_minifloat(c, 2, 1, 1, "none") for c in range(16)],
    "float6e2m3": [_minifloat(c, 2, 3, 1, "none") for c in range(64)],
    "float6e3m2": [_minifloat(c, 3, 2, 3, "none") for c in range(64)],
    "int4": [c - 16 if c >= 8 else c for c in range(16)],
    "uint4": list(range(16)),
    "int2": [c - 4 if c >= 2 else c for c in range(4)],
    "uint2": list(range(4)),
}


def _unpack_bits(data, bits, count):
    """Sub-byte codes, least significant bits first (ONNX's packing for 2/4/6 bits)."""
    out = []
    mask = (1 << bits) - 1
    if bits in (2, 4):
        per = 8 // bits
        for b in data:
            for k in range(per):
                out.append((b >> (k * bits)) & mask)
            if len(out) >= count:
                break
        return out[:count]
    acc = nacc = 0
    for b in data:
        acc |= b << nacc
        nacc += 8
        while nacc >= bits:
            out.append(acc & mask)
            acc >>= bits
            nacc -= bits
        if len(out) >= count:
            break
    return out[:count]


def decode_codes(dtype, codes):
    """Values of element codes that are stored one per integer (ONNX int32_data)."""
    if dtype == "bool":
        return [bool(c & 0xFF) for c in codes]
    if dtype in ("float16", "bfloat16"):
        return decode_raw(dtype, struct.pack(f"<{len(codes)}H", *[c & 0xFFFF for c in codes]),
                          len(codes))
    table = _TABLES.get(dtype)
    if table is not None:
        mask = len(table) - 1
        if dtype in ("int4", "uint4", "float4e2m1", "int2", "uint2"):
            return None  # packed: the caller unpacks bytes
        return [table[c & mask] for c in codes]
    if dtype in ("int8", "int16", "int32"):
        bits = BITS[dtype]
        return [((c & ((1 << bits) - 1)) ^ (1 << (bits - 1))) - (1 << (bits - 1)) for c in codes]
    if dtype in ("uint8", "uint16"):
        return [c & ((1 << BITS[dtype]) - 1) for c in codes]
    return list(codes)


def decode_raw(dtype, data, count):
    """The first `count` values stored raw (little-endian) in `data`."""
    fmt = _STRUCT.get(dtype)
    if fmt is not None:
        n = count * (2 if dtype.startswith("complex") else 1)
        values = list(struct.unpack_from(f"<{n}{fmt}", data, 0))
        if dtype.startswith("complex"):
            return [[values[i], values[i + 1]] for i in range(0, n, 2)]
        return values
    if dtype == "bool":
        return [b != 0 for b in data[:count]]
    if dtype == "bfloat16":
        halves = struct.unpack_from(f"<{count}H", data, 0)
        return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}I", *[h << 16 for h in halves])))
    table = _TABLES.get(dtype)
    if table is None:
        raise ValueError(f"cannot decode {dtype}")
    bits = BITS[dtype]
    codes = data[:count] if bits == 8 else _unpack_bits(data, bits, count)
    return [table[c] for c in codes]


def json_number(v):
    """JSON has no NaN/Infinity: those travel as strings."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return v
