"""PyTorch files, read without running them:

- torch.save zip archives (.pt/.pth/.bin): <dir>/data.pkl + <dir>/data/<key> storages;
- legacy torch.save files: a sequence of pickles (magic number, protocol, sys info,
  the object, storage keys) followed by the raw storages;
- TorchScript archives (torch.jit.save): data.pkl of module objects, constants.pkl;
- torch.export ExportedProgram archives (.pt2): models/<name>.json is the graph;
- plain Python pickles, shown as the objects and globals they name.

Pickles are read by pickle_reader, which calls nothing: tensors are rebuilt as records
(dtype, shape, stride, storage key, offset) and every other global stays a name.
Storages are read lazily from their zip member or file offset, on request only.
"""
import json
import math
import re
import struct
import zipfile
import zlib

from .. import dtypes, pickle_reader
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..pickle_reader import Global, Obj
from ..source import BytesSource, SourceFile
from ..util import load_json
from ..weights import build_graph, guess_module, module_path

FORMAT = "PyTorch"
EXTENSIONS = (".pt", ".pth", ".pt2", ".bin")
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_PICKLE = 512 << 20       # data.pkl bytes read into memory
MAX_JSON = 512 << 20
MAX_WALK = 2_000_000         # objects visited looking for tensors
MAX_PATH = 64                # nesting of containers looked into
MAX_SCALARS = 200            # plain values of a checkpoint shown as metadata
MAX_GATHER = 64 << 20        # bytes read at once for a strided tensor
MAX_DESCRIBED = 1000         # nodes for the entries of a pickle without tensors

# Storage classes (legacy typed storages) -> element dtype.
STORAGES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "int8", "QUInt8Storage": "uint8",
    "QInt32Storage": "int32", "UntypedStorage": "uint8",
}
# torch.<dtype> globals -> dtype names of the graph document.
TORCH_DTYPES = {
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool", "complex64": "complex64",
    "cfloat": "complex64", "complex128": "complex128", "cdouble": "complex128",
    "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "float8_e4m3fn": "float8e4m3fn", "float8_e5m2": "float8e5m2",
    "float8_e4m3fnuz": "float8e4m3fnuz", "float8_e5m2fnuz": "float8e5m2fnuz",
    "float8_e8m0fnu": "float8e8m0", "qint8": "int8", "quint8": "uint8", "qint32": "int32",
}
# torch.export's ScalarType codes (torch/_export/serde/schema.py).
EXPORT_DTYPES = {
    1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16", 7: "float32",
    8: "float64", 10: "complex64", 11: "complex128", 12: "bool", 13: "bfloat16",
    28: "uint16", 29: "float8e4m3fn", 30: "float8e5m2", 31: "float8e4m3fnuz",
    32: "float8e5m2fnuz", 33: "float8e8m0", 34: "uint32", 35: "uint64",
}
_ZIP_ENTRY = re.compile(rb"^[^/]*/(data\.pkl|data/|\.data/|models/|code/|constants\.pkl|"
                        rb"version|byteorder|archive_format|\.format_version|"
                        rb"serialized_exported_program\.json|extra/)")


def match(head, name=""):
    if head[:4] == b"PK\x03\x04" and len(head) >= 30:
        n = int.from_bytes(head[26:28], "little")
        return 1.0 if _ZIP_ENTRY.match(head[30:30 + n]) else 0.0
    # A pickle of protocol 2 or more (its PROTO opcode): legacy torch.save, or any
    # Python pickle.
    return 0.9 if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5 else 0.0


def parse(source, companions=None):
    if source.read(0, 2) == b"PK":
        return _ZipParser(source).model()
    return _PickleFileParser(source).model()


# --- records built instead of torch objects ------------------------------------------
class Storage:
    __slots__ = ("key", "dtype", "numel", "location", "span", "member", "error")

    def __init__(self, key, dtype, numel, location):
        self.key, self.dtype, self.numel, self.location = key, dtype, numel, location
        self.span = None      # (file offset, bytes) once found
        self.member = None    # zip member name, when it must be decompressed
        self.error = None


class TensorRef:
    __slots__ = ("storage", "offset", "shape", "stride", "dtype", "parameter")

    def __init__(self, storage, offset, shape, stride, dtype=None):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.dtype = dtype or (storage.dtype if isinstance(storage, Storage) else "undefined")
        self.parameter = False


def _ints(v):
    if isinstance(v, (list, tuple)) and all(type(x) is int for x in v) and len(v) <= 64:
        return tuple(v)
    return None


def rebuild(name, args):
    """torch's tensor rebuilders, as records; None for everything else (stays a name)."""
    if isinstance(args, tuple) and len(args) == 2 and isinstance(args[1], dict):
        args = args[0]      # keyword arguments (NEWOBJ_EX): not used by these
    if name in ("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
                "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_qtensor"):
        if len(args) < 4 or not isinstance(args[0], Storage) or type(args[1]) is not int:
            return None
        shape, stride = _ints(args[2]), _ints(args[3])
        if shape is None or stride is None or len(shape) != len(stride) or args[1] < 0 \
                or any(d < 0 for d in shape) or any(s < 0 for s in stride):
            return None
        dtype = None
        if name.endswith("_v3") and len(args) > 6 and isinstance(args[6], Global):
            dtype = TORCH_DTYPES.get(args[6].name)
        return TensorRef(args[0], args[1], shape, stride, dtype)
    if name in ("torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"):
        if args and isinstance(args[0], TensorRef):
            args[0].parameter = True
            return args[0]
        return None
    if name == "torch._tensor._rebuild_from_type_v2" and len(args) >= 3 \
            and isinstance(args[0], Global) and isinstance(args[2], tuple):
        return rebuild(args[0].full, args[2])
    if name == "torch.Size" and args and _ints(args[0]) is not None:
        return tuple(args[0])
    if name == "torch.device" and args and all(isinstance(a, (str, int)) for a in args):
        return ":".join(str(a) for a in args)
    if name in ("copyreg._reconstructor", "copy_reg._reconstructor") and args:
        return Obj(args[0])
    if name in ("copyreg.__newobj__", "copy_reg.__newobj__") and args:
        return Obj(args[0], tuple(args[1:]))
    return None


def storage_from_pid(pid, error):
    """('storage', storage_type, key, location, numel[, view_metadata]) -> Storage."""
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
        raise error(f"unknown persistent reference {pickle_reader.short_repr(pid)}")
    kind, key, location, numel = pid[1], pid[2], pid[3], pid[4]
    name = kind.name if isinstance(kind, Global) else str(kind)
    dtype = STORAGES.get(name)
    if isinstance(kind, Global) and dtype is None:
        dtype = TORCH_DTYPES.get(name)
    if dtype is None or not isinstance(key, (str, int)) or type(numel) is not int or numel < 0:
        raise error(f"unknown storage {pickle_reader.short_repr(pid)}")
    return Storage(str(key), dtype, numel, str(location))


# --- walking a loaded pickle for tensors and modules --------------------------------
def _short_class(name):
    """'__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d' -> 'Conv2d'."""
    return name.rsplit(".", 1)[-1]


def _class_domain(name):
    """"torch.nn" for torch.nn's module classes ('torch.nn.modules.conv.Conv2d', in
    TorchScript '__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d'), else "" (a
    model's own classes)."""
    path = name[len("__torch__."):] if name.startswith("__torch__.") else name
    return "torch.nn" if path.startswith("torch.nn.modules.") else ""


def _simple(v):
    return isinstance(v, (str, int, float, bool)) or (
        isinstance(v, (list, tuple)) and len(v) <= 64
        and all(isinstance(x, (int, float, bool)) for x in v))


def _module_state(obj):
    """(kind, state dict) if obj is an nn.Module pickled whole or a TorchScript object."""
    if not isinstance(obj, Obj) or not isinstance(obj.state, dict):
        return None
    if "_modules" in obj.state or "_parameters" in obj.state:
        return "module"
    if obj.name.startswith("__torch__."):
        return "script"
    return None


class Collected:
    def __init__(self):
        self.tensors = []      # (dotted name, TensorRef)
        self.modules = {}      # dotted prefix -> (class name, [(attr, value)], domain)
        self.scalars = []      # (dotted name, value)
        self.truncated = False


def collect(root, skip_attrs=("training", "_is_full_backward_hook", "dump_patches")):
    """Tensors, modules and top-level plain values reachable from a loaded pickle, in
    file order. Iterative and bounded: pickles can be deep, cyclic or DAG-shaped."""
    out = Collected()
    seen = set()
    todo = [(root, ())]
    visits = 0
    while todo:
        v, path = todo.pop()
        visits += 1
        if visits > MAX_WALK or len(path) > MAX_PATH:
            out.truncated = True
            continue
        if isinstance(v, TensorRef):
            out.tensors.append((".".join(path), v))
            continue
        if isinstance(v, (str, bytes, int, float, bool, type(None), Global)):
            if len(path) <= 2 and not isinstance(v, (bytes, Global, type(None))) \
                    and len(out.scalars) < MAX_SCALARS and path:
                out.scalars.append((".".join(path), v))
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        children = []
        kind = _module_state(v)
        if kind is not None:
            state = v.state
            attrs = [(k, x) for k, x in state.items()
                     if isinstance(k, str) and not k.startswith("_") and k not in skip_attrs
                     and _simple(x)]
            out.modules[".".join(path)] = (_short_class(v.name), attrs, _class_domain(v.name))
            if kind == "module":
                for group in ("_parameters", "_buffers"):
                    d = state.get(group)
                    if isinstance(d, dict):
                        children += [(x, path + (str(k),)) for k, x in d.items()]
                children += [(x, path + (k,)) for k, x in state.items()
                             if isinstance(k, str) and not k.startswith("_")
                             and isinstance(x, TensorRef)]
                mods = state.get("_modules")
                if isinstance(mods, dict):
                    children += [(x, path + (str(k),)) for k, x in mods.items()
                                 if x is not None]
            else:
                children += [(x, path + (str(k),)) for k, x in state.items()
                             if not (isinstance(k, str) and k in skip_attrs)]
        elif isinstance(v, dict):
            children = [(x, path + (str(k),)) for k, x in v.items()]
        elif isinstance(v, (list, tuple)):
            children = [(x, path + (str(i),)) for i, x in enumerate(v)]
        elif isinstance(v, Obj):
            if isinstance(v.state, dict):
                children += [(x, path + (str(k),)) for k, x in v.state.items()]
            elif v.state is not None:
                children.append((v.state, path))
            children += [(x, path + (str(i),)) for i, x in enumerate(v.args)]
        todo.extend(reversed(children))
    return out


def _attribute(name, v):
    if isinstance(v, bool):
        return Attribute(name, "int", int(v))
    if isinstance(v, int):
        return Attribute(name, "int", v)
    if isinstance(v, float):
        return Attribute(name, "float", v)
    if isinstance(v, str):
        return Attribute(name, "string", v)
    if isinstance(v, (list, tuple)):
        if all(isinstance(x, (int, bool)) for x in v):
            return Attribute(name, "ints", [int(x) for x in v])
        return Attribute(name, "floats", [float(x) for x in v])
    return Attribute(name, "string", pickle_reader.short_repr(v))


# --- building the model ---------------------------------------------------------------
class _Builder:
    """Shared by the zip and legacy parsers: Tensors from TensorRefs, the graph."""

    def __init__(self, source, format=FORMAT):
        self.source = source
        self.format = format
        self.m = Model(source.name, source.size, format)

    def error(self, message, offset=None):
        return ModelError(message, self.source.name, self.format, offset)

    def tensor(self, name, ref):
        t = Tensor(name, ref.dtype, ref.shape)
        s = ref.storage
        size = dtypes.BITS.get(ref.dtype, 0) // 8
        t.location = "inline"
        if size == 0:
            t.error = f"tensor '{name}': element type {ref.dtype} has no fixed size"
            return t
        count = math.prod(ref.shape)
        extent = 0 if count == 0 else 1 + sum((d - 1) * st for d, st in zip(ref.shape, ref.stride))
        # Typed storages count elements of their dtype; untyped ones count bytes.
        storage_bytes = s.numel * (dtypes.BITS.get(s.dtype, 8) // 8)
        start, length = ref.offset * size, extent * size
        if s.error:
            t.error = s.error
        elif start + length > storage_bytes:
            t.error = (f"tensor '{name}': elements [{ref.offset}, {ref.offset + extent}) lie "
                       f"outside its storage '{s.key}' of {storage_bytes} bytes")
        elif s.span is not None and start + length > s.span[1]:
            t.error = (f"tensor '{name}': storage '{s.key}' holds {s.span[1]} bytes, "
                       f"{start + length} needed")
        elif s.span is not None:
            t.data = (s.span[0] + start, length)
        t.decoder = self.decoder(s, ref.stride)
        return t

    def decoder(self, storage, stride):
        def decode(t, n):
            return self.decode(t, n, storage, stride)
        return decode

    def decode(self, t, n, storage, stride):
        if t.data is None:
            raise self.error(t.error or f"tensor '{t.name}': no data")
        size = dtypes.BITS[t.dtype] // 8
        read = storage_reader(self, storage)
        contiguous = _contiguous(t.dims, stride)
        if contiguous or n <= 1:
            data = read(t.data[0], min(n * size, t.data[1]))
            return dtypes.decode_raw(t.dtype, data, n)
        # Strided: element offsets of the first n values in row-major order.
        offsets = _strided_offsets(t.dims, stride, n)
        span = (max(offsets) + 1) * size
        if span <= MAX_GATHER:
            data = read(t.data[0], span)
            values = dtypes.decode_raw(t.dtype, data, span // size)
            return [values[o] for o in offsets]
        return [dtypes.decode_raw(t.dtype, read(t.data[0] + o * size, size), 1)[0]
                for o in offsets]

    def add_tensors(self, collected):
        """Tensors in file order, uniquely named; returns them."""
        names, out = set(), []
        for name, ref in collected.tensors:
            base, k = name or "tensor", 1
            while name in names or not name:
                name = f"{base}#{k}"
                k += 1
            names.add(name)
            t = self.tensor(name, ref)
            out.append(self.m.add_tensor(t))
        return out

    def module_graph(self, collected, tensors, name=""):
        modules = collected.modules

        def guess(prefix, leaves):
            known = modules.get(prefix)
            return (known[0], known[2]) if known else guess_module(prefix, leaves)

        root = modules.get("")
        g = build_graph(self.m, tensors, name, guess, root=(root[0], root[2]) if root else None)
        # Module objects (full pickles, TorchScript) give their attributes and show the
        # leaf modules without weights (ReLU, Dropout …) too.
        by_prefix = {}
        for node in g.nodes:
            by_prefix[node.name.rsplit("/", 1)[0] if "/" in node.name else ""] = node
        containers = set()     # prefixes with modules or tensors below them
        for full in list(modules) + [t.name for t in tensors]:
            parts = full.split(".")
            containers.update(".".join(parts[:k]) for k in range(len(parts)))
        ordered = []
        for prefix, (op, attrs, domain) in modules.items():
            path = "/".join(_module_path(prefix))
            node = by_prefix.pop(path, None)
            if node is None:
                if not prefix or prefix in containers:
                    continue   # a container: it becomes a group, not a node
                node = Node(op, domain, f"{path}/{op}")
            node.attributes = [_attribute(k, v) for k, v in attrs]
            ordered.append(node)
        if ordered:   # modules in file order, then tensors outside any module object
            rest = set(map(id, by_prefix.values()))
            g.nodes = ordered + [n for n in g.nodes if id(n) in rest]
        return g

    def note_globals(self, root):
        """Names of code the pickle refers to beyond plain data and tensors: shown,
        never run."""
        names = sorted(n for n in pickle_reader.globals_in(root) if not _expected_global(n))
        if names:
            shown = ", ".join(names[:50]) + (f", … {len(names)} names" if len(names) > 50 else "")
            self.m.metadata.append(["pickle.globals", shown])
        # torch's own classes are what a whole-module pickle names; others deserve a word.
        foreign = [n for n in names if not n.startswith("torch.")]
        if foreign:
            shown = ", ".join(foreign[:20]) + (f", … {len(foreign)} names"
                                               if len(foreign) > 20 else "")
            self.m.warnings.append(f"the pickle names code that a Python unpickler would "
                                   f"import or call (not run here): {shown}")
        return names


def _expected_global(name):
    return name.startswith(("torch._utils.", "torch._tensor.", "collections.OrderedDict",
                            "torch.jit._pickle.", "__torch__.")) \
        or name.rsplit(".", 1)[-1] in STORAGES \
        or (name.startswith("torch.") and name[6:] in TORCH_DTYPES) \
        or name in ("torch.Size", "torch.device", "_codecs.encode", "builtins.set",
                    "torch.per_tensor_affine", "torch.per_channel_affine")


def _module_path(prefix):
    return module_path(prefix) if prefix else []


def _contiguous(shape, stride):
    expect = 1
    for d, s in zip(reversed(shape), reversed(stride)):
        if d != 1 and s != expect:
            return False
        expect *= d
    return True


def _strided_offsets(shape, stride, n):
    offsets = []
    index = [0] * len(shape)
    for _ in range(n):
        offsets.append(sum(i * s for i, s in zip(index, stride)))
        for k in range(len(shape) - 1, -1, -1):
            index[k] += 1
            if index[k] < shape[k]:
                break
            index[k] = 0
    return offsets


def storage_reader(builder, storage):
    """read(offset, length) for a storage: straight from the file, or from its
    decompressed zip member (read on first request)."""
    if storage.member is None:
        return builder.source.read
    cache = getattr(builder, "_members", None)
    if cache is None:
        cache = builder._members = {}

    def read(offset, length):
        if storage.member not in cache:
            cache.clear()
            cache[storage.member] = builder.zip.read(storage.member, MAX_PICKLE)
        data = cache[storage.member]
        o = offset - storage.span[0]
        return data[o:o + length]
    return read


# --- zip archives -----------------------------------------------------------------------
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error,
               EOFError, OSError, ValueError, RuntimeError, struct.error)


class _Zip:
    def __init__(self, source, error):
        self.source, self.error = source, error
        try:
            self.zf = zipfile.ZipFile(SourceFile(source))
            self.entries = {i.filename: i for i in self.zf.infolist()}
        except _ZIP_ERRORS as e:
            raise error(f"broken zip archive: {e}") from None

    def read(self, name, limit):
        info = self.entries[name]
        if info.file_size > limit:
            raise self.error(f"zip member '{name}' of {info.file_size} bytes is over the "
                             f"{limit >> 20} MB limit")
        try:
            return self.zf.read(info)
        except _ZIP_ERRORS as e:
            raise self.error(f"cannot read zip member '{name}': {e}") from None

    def span(self, name):
        """(offset of the member's bytes in the file, length, stored?)."""
        info = self.entries[name]
        head = self.source.read(info.header_offset, 30)
        if head[:4] != b"PK\x03\x04":
            raise self.error(f"zip member '{name}': bad local header", info.header_offset)
        n, m = struct.unpack("<HH", head[26:30])
        start = info.header_offset + 30 + n + m
        stored = info.compress_type == zipfile.ZIP_STORED
        length = info.file_size if stored else info.compress_size
        if start + length > self.source.size:
            raise self.error(f"zip member '{name}' runs past the end of the file", start)
        return start, info.file_size, stored


class _ZipParser(_Builder):
    def __init__(self, source):
        super().__init__(source)
        self.zip = _Zip(source, self.error)

    def model(self):
        names = self.zip.entries
        prefix = self.prefix(names)
        self.prefix_dir = prefix
        if any(n.startswith(prefix + "models/") and n.endswith(".json") for n in names) \
                or prefix + "serialized_exported_program.json" in names:
            return _ExportParser(self).model()
        if prefix + "data.pkl" not in names:
            raise self.error("zip archive without data.pkl or models/*.json: "
                             "not a PyTorch file")
        script = prefix + "constants.pkl" in names or any(
            n.startswith(prefix + "code/") for n in names)
        m = self.m
        m.format = "TorchScript" if script else FORMAT
        self.format = m.format
        order = names.get(prefix + "byteorder")
        if order is not None and self.zip.read(order.filename, 16).strip() == b"big":
            raise self.error("big-endian torch.save archives are not supported")
        version = names.get(prefix + "version") or names.get(prefix + ".data/version")
        if version is not None:
            text = self.zip.read(version.filename, 64).decode("ascii", "replace").strip()
            m.format_version = f"zip, version {text}"
        root = self.load(prefix + "data.pkl", prefix + "data/")
        found = collect(root)
        tensors = self.add_tensors(found)
        constants = []
        if script and prefix + "constants.pkl" in names:
            consts = self.load(prefix + "constants.pkl", prefix + "constants/")
            more = collect(consts)
            more.tensors = [(f"constants.{n}" if n else "constants", r) for n, r in more.tensors]
            constants = self.add_tensors(more)
            if constants:
                found.modules["constants"] = ("Constant", [], "wetron")   # Wetron's grouping
        if script:
            title = root.name.rsplit(".", 1)[-1] if isinstance(root, Obj) else ""
            g = self.module_graph(found, tensors + constants, title)
            module = root.name.rsplit(".", 1)[0] if isinstance(root, Obj) else "__torch__"
            code = prefix + "code/" + module.replace(".", "/") + ".py"
            if code in names:   # the top-level module's TorchScript code, as text only
                g.doc = self.zip.read(code, 16 << 20)[:65536].decode("utf-8", "replace")
        else:
            g = self.module_graph(found, tensors)
        self.note_globals(root)
        for k, v in found.scalars:
            if not any(k == p or k.startswith(p + ".") for p in found.modules if p):
                m.metadata.append([k, _text(v)])
        if found.truncated:
            m.warnings.append("the pickle is too large or deep to show every object")
        if not g.nodes:
            self.describe_root(g, root)
        return m

    @staticmethod
    def prefix(names):
        for n in names:
            if n.endswith("data.pkl") and n.count("/") <= 1:
                return n[:-len("data.pkl")]
        for n in names:
            if "/" in n:
                return n.split("/", 1)[0] + "/"
        return ""

    def load(self, member, storage_dir):
        data = self.zip.read(member, MAX_PICKLE)

        def persistent_load(pid):
            s = storage_from_pid(pid, self.error)
            name = storage_dir + s.key
            if name not in self.zip.entries:
                s.error = f"storage '{s.key}' ({name}) is missing from the archive"
                return s
            start, length, stored = self.zip.span(name)
            s.span = (start, length)
            if not stored:
                s.member = name
            return s

        inp = pickle_reader.Input(BytesSource(data, member))
        return pickle_reader.load(inp, persistent_load, rebuild,
                                  lambda msg, off=None: self.error(f"{member}: {msg}", off))

    def describe_root(self, g, root):
        describe(g, root)


def describe(g, root):
    """A graph for a pickle without tensors: one node per entry of a top-level dict
    (else one for the object), named by what the pickle calls it; an object built by
    calling a global shows that global's dotted name as its op."""
    if isinstance(root, dict) and root:
        items = list(root.items())[:MAX_DESCRIBED]
    else:
        items = [("object", root)]
    for key, v in items:
        name = (key if isinstance(key, str) else pickle_reader.short_repr(key, 100))
        if isinstance(v, Obj):
            node = Node(v.name, name=name.replace("/", "\\"))
            node.attributes = [Attribute(f"arg{i}", "string", pickle_reader.short_repr(a, 500))
                               for i, a in enumerate(v.args[:16])]
            if v.state is not None:
                node.attributes.append(Attribute("state", "string",
                                                 pickle_reader.short_repr(v.state, 500)))
        else:
            op = "Global" if isinstance(v, Global) else type(v).__name__
            node = Node(op, name=name.replace("/", "\\"))
            node.attributes = [Attribute("value", "string", pickle_reader.short_repr(v, 1000))]
        g.nodes.append(node)


# --- legacy torch.save and plain pickles ---------------------------------------------
class _PickleFileParser(_Builder):
    def model(self):
        inp = pickle_reader.Input(self.source)
        err = self.error
        first = pickle_reader.load(inp, error=err)
        if first != LEGACY_MAGIC:
            return self.plain(first, inp)
        m = self.m
        protocol = pickle_reader.load(inp, error=err)
        info = pickle_reader.load(inp, error=err)
        if isinstance(info, dict) and info.get("little_endian") is False:
            raise err("big-endian torch.save files are not supported")
        m.format_version = f"legacy, protocol {protocol}"
        storages = {}

        def persistent_load(pid):
            s = storage_from_pid(pid, err)
            known = storages.get(s.key)
            if known is not None:
                return known
            storages[s.key] = s
            if len(pid) > 5 and isinstance(pid[5], tuple) and len(pid[5]) == 3:
                s.error = "storage views of very old torch.save files are not supported"
            return s

        root = pickle_reader.load(inp, persistent_load, rebuild, err)
        keys = pickle_reader.load(inp, error=err)
        if not isinstance(keys, list):
            raise err("legacy torch.save file: storage key list missing")
        # Storages follow in key order: int64 element count, then the raw elements.
        pos = inp.pos
        for key in keys:
            s = storages.get(str(key))
            if s is None:
                raise err(f"storage '{key}' is listed but never used", pos)
            count = struct.unpack("<q", self.source.read(pos, 8))[0]
            size = dtypes.BITS.get(s.dtype, 8) // 8
            if count < 0 or pos + 8 + count * size > self.source.size:
                raise err(f"storage '{key}' of {count} elements runs past the end of the file",
                          pos)
            s.span = (pos + 8, count * size)
            pos += 8 + count * size
        found = collect(root)
        tensors = self.add_tensors(found)
        g = self.module_graph(found, tensors)
        self.note_globals(root)
        for k, v in found.scalars:
            m.metadata.append([k, _text(v)])
        if not g.nodes:
            describe(g, root)
        return m

    def plain(self, root, inp):
        """A Python pickle that is not a torch.save file: its objects, by name."""
        m = self.m
        m.format = self.format = "Python pickle"
        m.format_version = f"protocol {self.source.read(1, 1)[0]}"
        found = collect(root)
        g = m.add_graph(Graph())
        describe(g, root)
        self.note_globals(root)
        for k, v in found.scalars:
            m.metadata.append([k, _text(v)])
        return m


# --- torch.export ExportedProgram (.pt2) -------------------------------------------------
class _ExportParser:
    def __init__(self, zp):
        self.zp, self.zip, self.m = zp, zp.zip, zp.m
        self.error = zp.error
        self.prefix = zp.prefix_dir

    def json(self, name):
        try:
            data = self.zip.read(name, MAX_JSON)
        except (UnicodeDecodeError, ValueError) as e:
            raise self.error(f"{name} is not valid JSON: {e}") from None
        return load_json(data, self.error, name)

    def model(self):
        m, p, names = self.m, self.prefix, self.zip.entries
        m.format = self.zp.format = "PyTorch ExportedProgram"
        models = sorted(n for n in names if n.startswith(p + "models/") and n.endswith(".json"))
        if not models:
            raise self.error("old .pt2 layout (serialized_exported_program.json) "
                             "is not supported; re-export with torch 2.6 or later")
        main = p + "models/model.json" if p + "models/model.json" in models else models[0]
        for name in [main] + [n for n in models if n != main]:
            doc = self.json(name)
            if not isinstance(doc, dict) or not isinstance(doc.get("graph_module"), dict):
                raise self.error(f"{name}: no graph_module")
            model_name = name[len(p + "models/"):-len(".json")]
            self.program(doc, model_name)
        for key in ("archive_format", "archive_version", ".data/version"):
            if p + key in names:
                m.metadata.append([key, self.zip.read(p + key, 64).decode("ascii", "replace")
                                   .strip()])
        return m

    def weights(self, model_name, kind):
        """fqn -> Tensor for data/weights or data/constants of one model."""
        p = self.prefix
        config_name = f"{p}data/{kind}/{model_name}_{kind}_config.json"
        out = {}
        if config_name not in self.zip.entries:
            return out
        config = self.json(config_name)
        entries = config.get("config", {}) if isinstance(config, dict) else {}
        if not isinstance(entries, dict):
            raise self.error(f"{config_name}: config is not an object")
        for fqn, info in entries.items():
            if not isinstance(info, dict):
                continue
            meta = info.get("tensor_meta")
            if not isinstance(meta, dict):
                continue   # a constant that is not a tensor (a script object …)
            dtype, dims, stride, offset = _tensor_meta(meta)
            t = Tensor(str(fqn), dtype, tuple(d if isinstance(d, int) else 0 for d in dims))
            t.location = "inline"
            member = f"{p}data/{kind}/{info.get('path_name')}"
            size = dtypes.BITS.get(dtype, 0) // 8
            if info.get("use_pickle"):
                t.error = f"tensor '{fqn}' is stored as a pickle; its values are not decoded"
            elif member not in self.zip.entries:
                t.error = f"tensor '{fqn}': {member} is missing from the archive"
            elif size == 0:
                t.error = f"tensor '{fqn}': element type {dtype} has no fixed size"
            else:
                start, length, stored = self.zip.span(member)
                storage = Storage(member, dtype, length // size, "")
                storage.span = (start, length)
                if not stored:
                    storage.member = member
                ref = TensorRef(storage, offset, t.dims, stride, dtype)
                t = self.zp.tensor(str(fqn), ref)
            out[fqn] = self.m.add_tensor(t)
        return out

    def program(self, doc, model_name):
        gm = doc["graph_module"]
        graph = gm.get("graph") if isinstance(gm.get("graph"), dict) else {}
        g = self.m.add_graph(Graph(model_name))
        if g.index == 0:
            version = doc.get("schema_version") or {}
            if isinstance(version, dict):
                self.m.format_version = f"schema {version.get('major')}.{version.get('minor')}"
            self.m.producer = f"torch {doc.get('torch_version', '')}".strip()
            opsets = doc.get("opset_version")
            if isinstance(opsets, dict):
                self.m.imports = [[str(k), v] for k, v in opsets.items() if type(v) is int]
        weights = self.weights(model_name, "weights")
        weights.update(self.weights(model_name, "constants"))

        # Parameters, buffers and constants come in as graph inputs named p_/b_/c_…:
        # their values are renamed to the module path ("conv.weight") they hold.
        rename, user_inputs = {}, []
        sig = gm.get("signature") if isinstance(gm.get("signature"), dict) else {}
        for spec in _list(sig.get("input_specs")):
            if not isinstance(spec, dict) or not spec:
                continue
            kind, body = next(iter(spec.items()))
            if not isinstance(body, dict):
                continue
            arg = _arg_name(body.get("arg"))
            target = body.get("parameter_name") or body.get("buffer_name") \
                or body.get("tensor_constant_name") or body.get("constant_name")
            if kind == "user_input":
                if arg:
                    user_inputs.append(arg)
            elif arg and isinstance(target, str):
                rename[arg] = target
        outputs = []
        for spec in _list(sig.get("output_specs")):
            if isinstance(spec, dict) and spec:
                kind, body = next(iter(spec.items()))
                name = _arg_name(body.get("arg")) if isinstance(body, dict) else None
                if name:
                    outputs.append(rename.get(name, name))

        def value(name):
            return rename.get(name, name)

        g.inputs = user_inputs or [value(n) for n in map(_arg_name, _list(graph.get("inputs")))
                                   if n and n not in rename]
        g.outputs = outputs or [value(n) for n in map(_arg_name, _list(graph.get("outputs"))) if n]
        for arg, target in rename.items():
            t = weights.get(target)
            if t is not None:
                g.initializers.append(t)
        for name, meta in (graph.get("tensor_values") or {}).items():
            if isinstance(meta, dict):
                dtype, dims, _, _ = _tensor_meta(meta)
                g.types[value(name)] = ("tensor", dtype, tuple(dims), "")
        for node in _list(graph.get("nodes")):
            if isinstance(node, dict):
                g.nodes.append(self.node(node, value))
        return g

    def node(self, d, value):
        target = str(d.get("target", ""))
        domain, op, overload = _split_target(target)
        n = Node(op, domain)
        n.overload = overload
        for inp in _list(d.get("inputs")):
            if not isinstance(inp, dict):
                continue
            arg, name = inp.get("arg"), str(inp.get("name", ""))
            tensors = _tensor_names(arg)
            if tensors is not None:
                n.inputs.extend(value(t) if t else "" for t in tensors)
            else:
                a = _export_attribute(name, arg)
                if a is not None:
                    n.attributes.append(a)
        for out in _list(d.get("outputs")):
            tensors = _tensor_names(out)
            if tensors is not None:
                n.outputs.extend(value(t) if t else "" for t in tensors)
            elif isinstance(out, dict) and out:
                body = next(iter(out.values()))
                if isinstance(body, dict) and isinstance(body.get("as_name"), str):
                    n.outputs.append(body["as_name"])   # symbolic int/bool outputs
        meta = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
        path = _nn_module_path(meta.get("nn_module_stack"))
        own = str(d.get("name") or (n.outputs[0] if n.outputs else op))
        n.name = "/".join(path + [own]) if path else own
        trace = meta.get("stack_trace")
        if isinstance(trace, str):
            n.doc = trace[-2000:]
        if target:
            n.metadata.append(["target", target])
        return n


def _list(v):
    return v if isinstance(v, list) else []


def _arg_name(arg):
    """The value name in an Argument ({"as_tensor": {"name": …}} …) or a TensorArgument."""
    if not isinstance(arg, dict):
        return None
    if isinstance(arg.get("name"), str):
        return arg["name"]
    for key in ("as_tensor", "as_sym_int", "as_sym_bool", "as_sym_float", "as_custom_obj",
                "as_token"):
        body = arg.get(key)
        if isinstance(body, dict):
            name = body.get("name") or body.get("as_name")
            if isinstance(name, str):
                return name
    return None


def _tensor_names(arg):
    """Names of the tensors an argument passes, or None if it passes none."""
    if not isinstance(arg, dict) or not arg:
        return None
    if "as_tensor" in arg:
        return [_arg_name(arg)]
    if "as_tensors" in arg and isinstance(arg["as_tensors"], list):
        return [x.get("name") if isinstance(x, dict) else None for x in arg["as_tensors"]]
    if "as_optional_tensors" in arg and isinstance(arg["as_optional_tensors"], list):
        out = []
        for x in arg["as_optional_tensors"]:
            body = x.get("as_tensor") if isinstance(x, dict) else None
            out.append(body.get("name") if isinstance(body, dict) else None)
        return out
    if "as_optional_tensor" in arg:
        body = arg["as_optional_tensor"]
        if isinstance(body, dict) and isinstance(body.get("as_tensor"), dict):
            return [body["as_tensor"].get("name")]
        return None
    if "as_sym_int" in arg or "as_sym_bool" in arg or "as_sym_float" in arg:
        name = _arg_name(arg)
        return [name] if name else None
    return None


def _export_attribute(name, arg):
    if not isinstance(arg, dict) or not arg:
        return None
    kind, v = next(iter(arg.items()))
    if kind == "as_none":
        return None
    if kind in ("as_int", "as_bool") and isinstance(v, (int, bool)):
        return Attribute(name, "int", int(v))
    if kind == "as_float" and isinstance(v, (int, float)):
        return Attribute(name, "float", float(v))
    if kind == "as_string" and isinstance(v, str):
        return Attribute(name, "string", v)
    if kind in ("as_ints", "as_bools") and isinstance(v, list) and all(type(x) in (int, bool) for x in v):
        return Attribute(name, "ints", [int(x) for x in v])
    if kind == "as_floats" and isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
        return Attribute(name, "floats", [float(x) for x in v])
    if kind == "as_strings" and isinstance(v, list):
        return Attribute(name, "strings", [str(x) for x in v])
    if kind == "as_scalar_type" and type(v) is int:
        return Attribute(name, "string", EXPORT_DTYPES.get(v, f"dtype{v}"))
    if kind == "as_device" and isinstance(v, dict):
        index = v.get("index")
        return Attribute(name, "string", f"{v.get('type')}" + (f":{index}" if index is not None else ""))
    return Attribute(name, "string", json.dumps(v, separators=(",", ":"))[:500])


def _split_target(target):
    """'torch.ops.aten.conv2d.default' -> ('aten', 'conv2d', 'default')."""
    if target.startswith("torch.ops."):
        parts = target[len("torch.ops."):].split(".")
        if len(parts) >= 3:
            return parts[0], ".".join(parts[1:-1]), parts[-1]
        if len(parts) == 2:
            return parts[0], parts[1], ""
    return "", target.rsplit(".", 1)[-1] or target, ""


_SYMBOL = re.compile(r"Symbol\('([^']+)'[^()]*\)")


def _tensor_meta(meta):
    """(dtype, dims, strides, storage offset) of a serialized TensorMeta."""
    dtype = EXPORT_DTYPES.get(meta.get("dtype"), f"dtype{meta.get('dtype')}")
    dims = [_sym(d) for d in _list(meta.get("sizes"))][:64]
    strides = [_sym(d) for d in _list(meta.get("strides"))][:64]
    off = _sym(meta.get("storage_offset") or {"as_int": 0})
    strides = tuple(s if isinstance(s, int) and s >= 0 else 0 for s in strides)
    if len(strides) != len(dims):
        strides = tuple(math.prod(d if isinstance(d, int) else 1 for d in dims[i + 1:])
                        for i in range(len(dims)))
    dims = [d if not isinstance(d, int) or d >= 0 else None for d in dims]
    return dtype, dims, strides, off if isinstance(off, int) and off >= 0 else 0


def _sym(d):
    if not isinstance(d, dict):
        return None
    if type(d.get("as_int")) is int:
        return d["as_int"]
    expr = d.get("as_expr")
    if isinstance(expr, dict):
        text = str(expr.get("expr_str", ""))[:200]
        m = _SYMBOL.fullmatch(text)     # a plain symbol: its name ("s17")
        return m.group(1) if m else text
    return None


def _nn_module_stack(text):
    """'L__self__,,__main__.Net;L__self__conv,conv,torch…Conv2d' -> ['conv']: the path
    of the innermost module."""
    if not isinstance(text, str) or not text:
        return ""
    last = text.split(";")[-1].split(",")
    return last[1] if len(last) >= 3 else ""


def _nn_module_path(text):
    path = _nn_module_stack(text)
    return module_path(path) if path else []


def _text(v):
    return v[:500] if isinstance(v, str) else pickle_reader.short_repr(v, 500)
