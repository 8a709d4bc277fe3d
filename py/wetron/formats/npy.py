""".npy and .npz: NumPy's own array files (numpy/lib/format.py describes them).

.npy: the magic b"\\x93NUMPY", a major and minor version, a header length (2 bytes
little-endian in version 1, 4 bytes in versions 2 and 3), then the header: a Python dict
literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces,
then the array's bytes. The header is read by a small parser of exactly that literal,
never by eval. .npz: a zip archive of .npy members (np.savez stores them,
np.savez_compressed deflates them); member "a/b.npy" is the array "a/b".

Object arrays (descr '|O') hold pickled Python objects: they are listed but never read.
Values are decoded for plain numeric dtypes; big-endian and Fortran-ordered arrays are
decoded in C order too (their bytes are reordered when read). The graph is the module
tree of the array names, as for other weights-only files (wetron.weights).
"""
import math
import re
import struct
import zipfile
import zlib

from .. import dtypes
from ..errors import ModelError
from ..model import Model, Tensor
from ..source import SourceFile
from ..util import MAX_TENSORS, too_many
from ..weights import build_graph, raw_decoder

FORMAT = "NumPy"
EXTENSIONS = (".npy", ".npz")
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = False
MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 20         # numpy itself refuses headers past 10 KB unless told otherwise
MAX_DIMS = 64
MAX_DIM = (1 << 63) - 1
MAX_REORDER = 1 << 24        # elements a Fortran-ordered or big-endian array is decoded up to
MAX_INFLATE = 256 << 20      # bytes of a deflated member inflated in memory to read values
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error,
               EOFError, OSError, ValueError, RuntimeError, struct.error)

# numpy's type strings (kind + item size) -> Wetron's dtype names
_KINDS = {("f", 2): "float16", ("f", 4): "float32", ("f", 8): "float64",
          ("i", 1): "int8", ("i", 2): "int16", ("i", 4): "int32", ("i", 8): "int64",
          ("u", 1): "uint8", ("u", 2): "uint16", ("u", 4): "uint32", ("u", 8): "uint64",
          ("b", 1): "bool", ("c", 8): "complex64", ("c", 16): "complex128"}
_STRUCT = {"float16": "e", "float32": "f", "float64": "d", "int8": "b", "int16": "h",
           "int32": "i", "int64": "q", "uint8": "B", "uint16": "H", "uint32": "I",
           "uint64": "Q", "bool": "?", "complex64": "f", "complex128": "d"}

# The header literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
_ENTRY = re.compile(r"\s*'(descr|fortran_order|shape)'\s*:\s*"
                    r"(?:'([^'\\]{0,64})'|(True|False)|\(([\d\s,]{0,2048})\))\s*,?")


def match(head, name=""):
    if head.startswith(MAGIC):
        return 1.0
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        n = struct.unpack_from("<H", head, 26)[0]
        first = head[30:30 + n]
        if first.endswith(b".npy"):   # the first member of the archive is an array
            return 1.0
    return 0.0


def parse(source, companions=None):
    def error(message, offset=None):
        return ModelError(message, source.name, FORMAT, offset)

    m = Model(source.name, source.size, FORMAT)
    m.producer = "NumPy"
    head = source.read(0, min(source.size, 8))
    if head.startswith(MAGIC):
        stem = source.name.rsplit("/", 1)[-1]
        stem = stem[:-4] if stem.lower().endswith(".npy") else stem
        t, version = _array(source, stem or "array", 0, source.size, error)
        m.format_version = version
        tensors = [m.add_tensor(t)]
    else:
        tensors = [m.add_tensor(t) for t in _archive(source, error, m)]
    build_graph(m, tensors)
    return m


def _header(read, size, error, where=""):
    """(dtype or None, descr, fortran, shape, data offset, version) of the .npy whose
    bytes `read(offset, n)` gives."""
    pre = read(0, min(size, 12))
    if len(pre) < 10 or not pre.startswith(MAGIC):
        raise error(f"{where}not a .npy array (no \\x93NUMPY magic)", 0)
    major, minor = pre[6], pre[7]
    if major == 1:
        n, start = struct.unpack_from("<H", pre, 8)[0], 10
    elif major in (2, 3) and len(pre) >= 12:
        n, start = struct.unpack_from("<I", pre, 8)[0], 12
    else:
        raise error(f"{where}.npy format version {major}.{minor} is not one NumPy writes", 6)
    if n > MAX_HEADER or start + n > size:
        raise error(f"{where}header length {n} runs past the end of the file or the "
                    f"{MAX_HEADER >> 10} KiB limit", 8)
    text = read(start, n).decode("utf-8" if major == 3 else "latin-1", "replace").strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise error(f"{where}header is not a dict literal: {text[:80]!r}", start)
    body, entries = text[1:-1], {}
    pos = 0
    while pos < len(body) and not body[pos:].isspace():
        e = _ENTRY.match(body, pos)
        if e is None:
            rest = body[pos:pos + 80].strip()
            raise error(f"{where}header entry not understood: {rest!r} (structured dtypes "
                        "are not read)", start)
        key, string, flag, shape = e.groups()
        entries[key] = string if string is not None else flag if flag is not None else shape
        pos = e.end()
    if set(entries) != {"descr", "fortran_order", "shape"}:
        raise error(f"{where}header lacks {sorted({'descr', 'fortran_order', 'shape'} - set(entries))}",
                    start)
    dims = [d.strip() for d in entries["shape"].split(",") if d.strip()]
    if len(dims) > MAX_DIMS:
        raise error(f"{where}{len(dims)} dimensions, more than {MAX_DIMS}", start)
    shape = tuple(int(d) for d in dims)
    if any(d > MAX_DIM for d in shape):
        raise error(f"{where}a dimension past int64 in shape {entries['shape'][:80]}", start)
    descr = entries["descr"]
    order, kind, digits = descr[:1], descr[1:2], descr[2:]
    dtype = _KINDS.get((kind, int(digits))) if digits.isdigit() and order in "<>|=" else None
    if dtype is not None and order == ">" and dtype not in ("int8", "uint8", "bool"):
        dtype = (dtype, ">")
    return dtype, descr, entries["fortran_order"] == "True", shape, start + n, f"{major}.{minor}"


def _array(source, name, base, size, error, data_source=None, where=""):
    """Tensor `name` of the .npy at [base, base + size) of `source` (stored: its bytes
    are read in place), and its format version."""
    def read(offset, n):
        return source.read(base + offset, n)

    dtype, descr, fortran, shape, offset, version = _header(read, size, error, where)
    big = isinstance(dtype, tuple)
    name_dtype = dtype[0] if big else dtype
    t = Tensor(name, name_dtype or "undefined", shape)
    t.location = "inline"
    count = math.prod(shape)
    if name_dtype is None:
        what = "pickled Python objects (never read)" if "O" in descr else f"dtype {descr!r}"
        t.doc = f"NumPy array of {what}"
        return t, version
    want = dtypes.storage_bytes(name_dtype, count)
    if offset + want > size:
        raise error(f"{where}array '{name}' ({descr}, shape {list(shape)}) needs {want} bytes, "
                    f"the file holds {size - offset}", base + offset)
    t.data = (base + offset, want)
    if not fortran and not big:
        t.decoder = raw_decoder(source, FORMAT)
    else:
        t.decoder = _reordering_decoder(source, base + offset, fortran, big, error)
        t.data = None   # (its bytes are not in C order: no windows of raw bytes)
        t.doc = ("Fortran-ordered " if fortran else "") + ("big-endian " if big else "") + "array"
    return t, version


def _values(data, dtype, count, big, fortran, dims):
    """All `count` values of raw `data`, in C order."""
    k = count * (2 if dtype.startswith("complex") else 1)
    values = list(struct.unpack_from(f"{'>' if big else '<'}{k}{_STRUCT[dtype]}", data, 0))
    if dtype.startswith("complex"):
        values = [[values[i], values[i + 1]] for i in range(0, k, 2)]
    if fortran and len(dims) > 1:
        values = _c_order(values, dims)
    return values


def _reordering_decoder(source, offset, fortran, big, error):
    def decode(t, n):
        count = t.count
        if count > MAX_REORDER:
            raise error(f"array '{t.name}': {count} elements in Fortran order or big-endian, "
                        f"more than the {MAX_REORDER} Wetron reorders")
        data = source.read(offset, dtypes.storage_bytes(t.dtype, count))
        return _values(data, t.dtype, count, big, fortran, t.dims)[:n]
    return decode


def _c_order(values, dims):
    """Column-major values of shape `dims` in row-major order."""
    strides, s = [], 1
    for d in dims:            # Fortran strides: the first axis moves fastest
        strides.append(s)
        s *= d
    out = []
    index = [0] * len(dims)
    for _ in range(len(values)):
        out.append(values[sum(i * st for i, st in zip(index, strides))])
        for axis in range(len(dims) - 1, -1, -1):   # row-major: the last axis moves fastest
            index[axis] += 1
            if index[axis] < dims[axis]:
                break
            index[axis] = 0
    return out


def _archive(source, error, m):
    try:
        zf = zipfile.ZipFile(SourceFile(source))
        members = zf.infolist()
    except _ZIP_ERRORS as e:
        raise error(f"not a readable .npz archive (zip): {e}") from None
    if len(members) > MAX_TENSORS:
        raise error(too_many(len(members), "arrays", MAX_TENSORS))
    tensors = []
    for info in members:
        if not info.filename.endswith(".npy"):
            m.warnings.append(f"{info.filename}: not an array (.npy), skipped")
            continue
        name, where = info.filename[:-4], f"{info.filename}: "
        if info.compress_type == zipfile.ZIP_STORED:
            local = source.read(info.header_offset, 30)
            if local[:4] != b"PK\x03\x04":
                raise error(f"{where}bad zip entry", info.header_offset)
            n, extra = struct.unpack_from("<HH", local, 26)
            start = info.header_offset + 30 + n + extra
            if start + info.file_size > source.size:
                raise error(f"{where}lies beyond the end of the archive", start)
            t, _ = _array(source, name, start, info.file_size, error, where=where)
        else:
            t = _deflated(zf, info, name, error, where)
        tensors.append(t)
    return tensors


def _deflated(zf, info, name, error, where):
    """A compressed member: its header is read by inflating the member's start only;
    its values by inflating the member (bounded) when asked for."""
    try:
        with zf.open(info) as f:
            start = f.read(min(info.file_size, MAX_HEADER + 12))
    except _ZIP_ERRORS as e:
        raise error(f"{where}cannot be inflated: {e}") from None

    def read(offset, n):
        return start[offset:offset + n]

    dtype, descr, fortran, shape, offset, _ = _header(read, info.file_size, error, where)
    big = isinstance(dtype, tuple)
    dtype = dtype[0] if big else dtype
    t = Tensor(name, dtype or "undefined", shape)
    t.location = "inline"
    if dtype is None:
        t.doc = "NumPy array of " + ("pickled Python objects (never read)" if "O" in descr
                                     else f"dtype {descr!r}")
        return t
    count = math.prod(shape)
    want = dtypes.storage_bytes(dtype, count)
    if offset + want > info.file_size:
        raise error(f"{where}array ({descr}, shape {list(shape)}) needs {want} bytes, the "
                    f"member holds {info.file_size - offset}")

    def decode(t, n):
        if info.file_size > MAX_INFLATE:
            raise error(f"{where}compressed and {info.file_size} bytes: too large to "
                        "inflate in memory")
        try:
            data = zf.read(info)[offset:offset + want]
        except _ZIP_ERRORS as e:
            raise error(f"{where}cannot be inflated: {e}") from None
        return _values(data, dtype, count, big, fortran, shape)[:n]

    t.decoder = decode
    t.doc = "compressed in the archive"
    return t
