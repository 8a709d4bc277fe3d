"""safetensors: an 8-byte little-endian header length, a JSON header, then raw data.

The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets relative to the end of the header) and may hold "__metadata__" (str -> str).
Weights are never read while parsing; the graph is the module tree of the tensors.
"""
import json
import math

from .. import dtypes
from ..errors import ModelError
from ..model import Model, Tensor
from ..util import MAX_TENSORS, load_json, too_many
from ..weights import build_graph, raw_decoder

FORMAT = "safetensors"
EXTENSIONS = (".safetensors",)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
MAX_HEADER = 100 << 20      # the reference implementation's own limit
MAX_DIMS = 64
MAX_DIM = (1 << 63) - 1     # int64, as in the reference implementation's readers

DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8e4m3fn", "F8_E5M2": "float8e5m2", "F8_E4M3FNUZ": "float8e4m3fnuz",
    "F8_E5M2FNUZ": "float8e5m2fnuz", "F8_E8M0": "float8e8m0", "F6_E2M3": "float6e2m3",
    "F6_E3M2": "float6e3m2", "F4": "float4e2m1", "C64": "complex64",
}
_FRAMEWORKS = {"pt": "PyTorch", "tf": "TensorFlow", "flax": "Flax", "np": "NumPy",
               "mlx": "MLX", "paddle": "Paddle"}


def match(head, name=""):
    """No magic number: a plausible header length, then the JSON header's "{"."""
    if len(head) < 9:
        return 0.0
    n = int.from_bytes(head[:8], "little")
    if not (2 <= n <= MAX_HEADER and head[8:9] == b"{"):
        return 0.0
    return 1.0 if name.lower().endswith(EXTENSIONS) else 0.9


def parse(source, companions=None):
    def error(message, offset=None):
        return ModelError(message, source.name, FORMAT, offset)

    if source.size < 8:
        raise error("file too short for a safetensors header")
    n = int.from_bytes(source.read(0, 8), "little")
    if n > MAX_HEADER:
        raise error(f"header length {n} exceeds the {MAX_HEADER >> 20} MB limit", 0)
    if 8 + n > source.size:
        raise error(f"header length {n} runs past the end of the file ({source.size} bytes)", 0)
    raw = source.read(8, n)
    # Every tensor entry has a "data_offsets" key: counted before the JSON is parsed,
    # so a header of millions of entries is rejected before they are built.
    entries = raw.count(b'"data_offsets"')
    if entries > MAX_TENSORS:
        raise error(too_many(entries, "tensors", MAX_TENSORS), 8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"header is not valid JSON: {e}", 8) from None
    header = load_json(text, lambda message: error(message, 8), "header")
    if not isinstance(header, dict):
        raise error("header is not a JSON object", 8)

    base, data_size = 8 + n, source.size - 8 - n
    m = Model(source.name, source.size, FORMAT)
    m.format_version = "1"
    meta = header.pop("__metadata__", None)
    if meta is not None:
        if not isinstance(meta, dict):
            raise error("__metadata__ is not a JSON object", 8)
        m.metadata = [[str(k), v if isinstance(v, str) else json.dumps(v)]
                      for k, v in meta.items()]
        fmt = meta.get("format")
        if isinstance(fmt, str):   # the framework that wrote it
            m.producer = _FRAMEWORKS.get(fmt, fmt)

    decode = raw_decoder(source, FORMAT)
    tensors = []
    for name, info in header.items():
        t = _tensor(name, info, base, data_size, error)
        t.decoder = decode
        tensors.append(m.add_tensor(t))
    # Tensors in data order, which is the writer's order (the JSON keys are sorted).
    tensors.sort(key=lambda t: t.data[0])
    build_graph(m, tensors)
    return m


def _tensor(name, info, base, data_size, error):
    if not isinstance(info, dict):
        raise error(f"tensor '{name}': entry is not a JSON object", 8)
    code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    dtype = DTYPES.get(code)
    if dtype is None:
        raise error(f"tensor '{name}': unknown dtype {code!r}", 8)
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(d) is int and 0 <= d <= MAX_DIM for d in shape)):
        raise error(f"tensor '{name}': bad shape {shape!r}", 8)
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size):
        raise error(f"tensor '{name}': data_offsets {offsets!r} outside the "
                    f"{data_size}-byte data section", 8)
    want = dtypes.storage_bytes(dtype, math.prod(shape))
    if offsets[1] - offsets[0] != want:
        raise error(f"tensor '{name}': {offsets[1] - offsets[0]} bytes of data, its dtype "
                    f"{code} and shape {shape} need {want}", 8)
    t = Tensor(name, dtype, tuple(shape))
    t.location = "inline"
    t.data = (base + offsets[0], offsets[1] - offsets[0])
    return t
