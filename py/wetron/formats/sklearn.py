"""scikit-learn models pickled by pickle.dump or joblib.dump (.pkl, .joblib), read by
wetron.pickle_reader, which runs nothing: every object is rebuilt as an inert record
of its class name and its __dict__ (the state the pickle gives it).

What the pickle holds: an estimator is its class (sklearn.<module>.<Class>, created
empty) and its __dict__: hyperparameters (C, max_depth), fitted attributes ending in
"_" (coef_, classes_, n_features_in_, estimators_, tree_) and "_sklearn_version".
NumPy arrays come as numpy's _reconstruct(ndarray, (0,), b'b') with the state (1,
shape, dtype, fortran, raw bytes or a list of objects), or (protocol 5)
_frombuffer(bytes, dtype, shape, order); dtypes as numpy.dtype('f8', False, True) with
the state (3, byte order, subarray, names, fields {name: (dtype, offset)}, itemsize,
...). joblib.dump writes each array as a joblib.numpy_pickle.NumpyArrayWrapper
(subclass, shape, order, dtype, allow_mmap, numpy_array_alignment_bytes) whose BUILD is
followed in the stream by one byte of padding length, that padding, then the array's
raw bytes (arrays of objects: a pickle of protocol 2 of the array instead). A joblib
file may be compressed whole (zlib, gzip, bz2, xz, lzma): it is inflated in memory (up
to MAX_INFLATE). A tree (sklearn.tree._tree.Tree) is Tree(n_features, n_classes,
n_outputs) with the state {max_depth, node_count, nodes: a structured array of
left_child, right_child, feature, threshold, impurity, n_node_samples,
weighted_n_node_samples, missing_go_to_left, values: [nodes, outputs, classes]}; a
node is a leaf where its left child is -1 and sends x <= threshold to its left child.

The graph: "features" [batch, n_features_in_] -> one node per estimator, domain
"sklearn" (another package's class: that package's name), op the class name, named by
its place ("scaler", "preprocess/num/imputer"): a Pipeline is its steps in a chain, a
ColumnTransformer or FeatureUnion its transformers side by side joined by a node of
its own class (a module in the page), a voting or stacking ensemble its members side
by side. A node's hyperparameters and fitted scalars are attributes (booleans
"true"/"false", None "None", another estimator by its class name); its numeric arrays
(coef_, intercept_, mean_, scale_) are its weight tensors, read on request from the
file; arrays of strings (classes_, feature_names_in_) are string attributes. Decision
trees, forests and gradient boosting are one node each with their trees summed up and
drawn as wetron.trees describes. Value types are declared where the fitted state says:
the input's width, a step's output width where the next step's n_features_in_ says it,
a classifier's labels ([batch], the dtype of classes_).

Hostile pickles: nothing from the file is ever run, imported or called. A pickle that
names what no scikit-learn model calls (os.system, subprocess, eval, exec, getattr, a
nested pickle loader ...: DENIED) is refused with errors.Refused; other code outside
scikit-learn, NumPy, SciPy, joblib and pandas is named in a warning.
"""
import math
import struct
import zlib

from .. import dtypes, pickle_reader, trees
from ..errors import ModelError, Refused
from ..model import Attribute, Graph, Model, Node, Tensor
from ..pickle_reader import Global, Input, Obj
from ..source import BytesSource
from ..weights import raw_decoder
from .npy import _reordering_decoder

FORMAT = "scikit-learn"
EXTENSIONS = (".pkl", ".joblib", ".pickle")
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "sklearn"

MAX_INFLATE = 256 << 20      # bytes a compressed joblib file is inflated to
MAX_PICKLE = 1 << 30         # bytes of an uncompressed pickle read
MAX_STRINGS = 1000           # items of a string array shown as an attribute
MAX_MEMBERS = 256            # estimators of one ensemble drawn as nodes
MAX_NESTING = 32             # pipelines within pipelines
MAX_TREE_VALUES = 16 << 20   # bytes of a tree's values read to show its leaves
TRACKED = 256                # reads of at least this many bytes remember their offset

# Names no scikit-learn model pickle calls: refused (module prefixes and whole names).
DENIED_MODULES = {
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "pty", "runpy",
    "importlib", "pickle", "_pickle", "cPickle", "marshal", "code", "codeop", "ctypes",
    "webbrowser", "multiprocessing", "asyncio", "signal", "tempfile", "pathlib", "io",
    "commands", "popen2", "types", "timeit", "pdb", "bdb", "inspect", "operator",
    "threading", "_thread", "platform", "pip", "setuptools", "urllib", "http", "ftplib",
    "smtplib", "telnetlib", "dill", "cloudpickle", "numpy.f2py", "numpy.testing",
    "numpy.distutils", "_posixsubprocess", "posixpath", "ntpath", "glob", "zipimport",
}
DENIED_NAMES = {
    "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile",
    "builtins.open", "builtins.__import__", "builtins.getattr", "builtins.setattr",
    "builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars",
    "builtins.input", "builtins.breakpoint", "builtins.help", "builtins.exit",
    "builtins.quit", "builtins.memoryview", "__builtin__.eval", "__builtin__.exec",
    "__builtin__.execfile", "__builtin__.compile", "__builtin__.open",
    "__builtin__.__import__", "__builtin__.getattr", "__builtin__.setattr",
    "__builtin__.file", "numpy.load", "numpy.loadtxt", "numpy.fromfile", "numpy.save",
    "numpy.savetxt", "numpy.memmap", "joblib.load", "joblib.dump", "pandas.read_pickle",
    "pandas.eval", "pandas.read_csv", "scipy.io.loadmat",
}
EXPECTED = ("sklearn.", "numpy.", "scipy.", "joblib.", "pandas.", "collections.",
            "copyreg.", "copy_reg.", "_codecs.", "builtins.", "__builtin__.", "datetime.",
            "decimal.", "fractions.")
# numpy's constructors of arrays, dtypes and scalars (numpy.core before NumPy 2)
RECONSTRUCT = {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"}
FROMBUFFER = {"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer"}
SCALAR = {"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"}
WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
TREE = "sklearn.tree._tree.Tree"
TREE_ESTIMATORS = {"DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
                   "ExtraTreeRegressor"}
JOINS = {"ColumnTransformer", "FeatureUnion"}
# what the graph's structure shows: not repeated as attributes
STRUCTURE = {"steps", "transformers", "transformers_", "transformer_list", "estimators",
             "named_estimators_", "named_transformers_"}

_KINDS = {("f", 2): "float16", ("f", 4): "float32", ("f", 8): "float64",
          ("i", 1): "int8", ("i", 2): "int16", ("i", 4): "int32", ("i", 8): "int64",
          ("u", 1): "uint8", ("u", 2): "uint16", ("u", 4): "uint32", ("u", 8): "uint64",
          ("b", 1): "bool", ("c", 8): "complex64", ("c", 16): "complex128"}
_STRUCT = {"float16": "e", "float32": "f", "float64": "d", "int8": "b", "int16": "h",
           "int32": "i", "int64": "q", "uint8": "B", "uint16": "H", "uint32": "I",
           "uint64": "Q", "bool": "?"}


# --- recognising ---------------------------------------------------------------------------
def _is_pickle(head):
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _compression(head):
    """The name of the compression a joblib file starts with, or None."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:1] == b"x" and len(head) > 1 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"]\x00\x00":
        return "lzma"
    return None


def _inflate(kind, data, limit):
    """Up to `limit` bytes of `data` decompressed (ValueError, OSError, EOFError,
    zlib.error, LZMAError when broken; ImportError where the module is missing)."""
    if kind in ("gzip", "zlib"):
        d = zlib.decompressobj(47)          # 32 + 15: a zlib or gzip header
        out = d.decompress(data, limit)
        return out
    if kind == "bz2":
        import bz2      # (imported when needed: Pyodide may ship these apart)
        return bz2.BZ2Decompressor().decompress(data, limit)
    import lzma
    return lzma.LZMADecompressor().decompress(data, limit)


def match(head, name):
    if _is_pickle(head):
        return 0.95 if b"sklearn." in head else 0
    kind = _compression(head)
    if kind is not None and name.lower().endswith(EXTENSIONS):
        try:
            start = _inflate(kind, head, 4096)
        except Exception:   # a cheap look only: a broken file fails in parse()
            return 0
        return 0.95 if _is_pickle(start) and b"sklearn." in start else 0
    return 0


def parse(source, companions=None):
    return _Reader(source).model()


# --- records built instead of numpy objects --------------------------------------------
class DType:
    __slots__ = ("descr", "order", "fields", "itemsize")

    def __init__(self, descr):
        self.descr = descr            # 'f8', 'i8', 'O8', 'V64', 'U5'
        self.order = "="
        self.fields = None            # [(name, DType, offset)] of a structured dtype
        self.itemsize = None

    @property
    def kind(self):
        return self.descr[:1]

    @property
    def size(self):
        if self.itemsize and self.itemsize > 0:
            return self.itemsize
        digits = self.descr[1:]
        n = int(digits) if digits.isdigit() and len(digits) <= 9 else 0
        return n * 4 if self.kind == "U" else n

    @property
    def name(self):
        """Wetron's dtype name, or None (objects, strings, structures)."""
        return _KINDS.get((self.kind, self.size))

    @property
    def big(self):
        return self.order == ">" and self.size > 1


class Array:
    """A NumPy array: its dtype, shape and order, and where its bytes are — (offset,
    length) in the stream (`span`), or in memory (`raw`); `objects` for object arrays."""
    __slots__ = ("dtype", "shape", "fortran", "span", "raw", "objects")

    def __init__(self, dtype, shape, fortran):
        self.dtype, self.shape, self.fortran = dtype, shape, fortran
        self.span = self.raw = self.objects = None

    @property
    def count(self):
        return math.prod(self.shape)


class _Pending:
    """numpy's _reconstruct: an empty array that its BUILD fills."""
    __slots__ = ()


class _TrackingInput(Input):
    """An Input that remembers where its larger reads came from, so that an array's
    bytes, read as a pickle bytes value, are known by their place in the stream."""

    def __init__(self, source):
        super().__init__(source)
        self.spans = {}     # id(bytes) -> (offset, the bytes)

    def read(self, n):
        at = self.pos
        data = super().read(n)
        if n >= TRACKED:
            self.spans[id(data)] = (at, data)
        return data

    def span(self, data):
        found = self.spans.get(id(data))
        return found[0] if found is not None and found[1] is data else None


def _ints(v, limit=64):
    if isinstance(v, (list, tuple)) and len(v) <= limit and all(type(x) is int and x >= 0 for x in v):
        return tuple(v)
    return None


def _short(name):
    return name.rsplit(".", 1)[-1]


def _state(v):
    """The __dict__ of an estimator-like record, or None."""
    if isinstance(v, Obj) and isinstance(v.state, dict):
        return v.state
    if isinstance(v, Obj) and isinstance(v.state, tuple) and len(v.state) == 2 \
            and isinstance(v.state[1], dict):     # (None, slots) / (dict, slots)
        return v.state[0] if isinstance(v.state[0], dict) else v.state[1]
    return None


def _is_estimator(v):
    return isinstance(v, Obj) and isinstance(v.cls, Global) and _state(v) is not None \
        and v.cls.module not in ("joblib.numpy_pickle",) and v.cls.full != TREE


# --- reading ---------------------------------------------------------------------------
class _Reader:
    def __init__(self, source):
        self.file = source
        self.m = Model(source.name, source.size, FORMAT)
        self.budget = trees.Budget()
        self.nesting = 0
        self.nested = False    # inside a joblib object array's own pickle

    def error(self, message, offset=None):
        return ModelError(message, self.file.name, FORMAT, offset)

    def model(self):
        head = self.file.read(0, min(self.file.size, 4096))
        kind = _compression(head)
        if kind is not None:
            self.stream = BytesSource(self.inflate(kind), self.file.name)
            self.m.format_version = f"joblib, {kind}-compressed"
        elif _is_pickle(head):
            if self.file.size > MAX_PICKLE:
                raise self.error(f"{self.file.size:,} bytes, more than the {MAX_PICKLE >> 20} "
                                 "MB Wetron reads as a pickle")
            self.stream = self.file
        else:
            raise self.error("not a pickle (no PROTO opcode) nor a compressed joblib file")
        start = self.stream.read(0, 2)
        if not _is_pickle(start):
            raise self.error("the inflated stream is not a pickle")
        self.inp = _TrackingInput(self.stream)
        self.joblib = False
        root = pickle_reader.load(self.inp, rebuild=self.rebuild, build=self.build,
                                  error=self.error)
        self.inp.spans.clear()
        names = pickle_reader.globals_in(root)
        self.check_globals(names)
        protocol = f"pickle protocol {start[1]}"
        if self.m.format_version:
            self.m.format_version += f" ({protocol})"
        else:
            self.m.format_version = f"joblib ({protocol})" if self.joblib else protocol
        if not _is_estimator(root):
            what = root.name if isinstance(root, Obj) else type(root).__name__
            raise self.error(f"the pickle holds a {what}, not a scikit-learn estimator")
        version = _state(root).get("_sklearn_version")
        if isinstance(version, str):
            self.m.producer = f"scikit-learn {version[:40]}"
        self.graph(root)
        return self.m

    def inflate(self, kind):
        try:
            data = _inflate(kind, self.file.read(0, self.file.size), MAX_INFLATE + 1)
        except ImportError:
            raise self.error(f"{kind}-compressed, and this Python has no {kind} module") from None
        except (ValueError, OSError, EOFError, zlib.error, LookupError) as e:
            raise self.error(f"cannot inflate the {kind} stream: {e}") from None
        except Exception as e:    # lzma.LZMAError (no lzma import needed to name it)
            raise self.error(f"cannot inflate the {kind} stream: {e}") from None
        if len(data) > MAX_INFLATE:
            raise self.error(f"inflates to more than {MAX_INFLATE >> 20} MB")
        return data

    def check_globals(self, names):
        denied = sorted(n for n in names if n in DENIED_NAMES or any(
            n == d or n.startswith(d + ".") for d in DENIED_MODULES))
        if denied:
            shown = ", ".join(denied[:10])
            raise Refused(f"the pickle names {shown}, which a Python unpickler would import "
                          "or call and no scikit-learn model does: refused (nothing was run)",
                          self.file.name, FORMAT)
        other = sorted(n for n in names if not n.startswith(EXPECTED) and n != "numpy")
        if other:
            shown = ", ".join(other[:20]) + (f", … {len(other)} names" if len(other) > 20 else "")
            self.m.warnings.append(f"the pickle names code outside scikit-learn, NumPy and SciPy "
                                   f"that a Python unpickler would import (not run here): {shown}")
            self.m.metadata.append(["pickle.globals", shown])

    # -- numpy's records, as the pickle rebuilds them
    def rebuild(self, name, args):
        if isinstance(args, tuple) and len(args) == 2 and isinstance(args[1], dict) \
                and name not in SCALAR:
            args = args[0]
        if name == "numpy.dtype" and args and isinstance(args[0], str) and len(args[0]) <= 16:
            return DType(args[0])
        if name in RECONSTRUCT:
            return _Pending()
        if name in SCALAR and len(args) == 2 and isinstance(args[0], DType):
            return _scalar(args[0], args[1])
        if name in FROMBUFFER and len(args) == 4 and isinstance(args[1], DType) \
                and _ints(args[2]) is not None and isinstance(args[0], bytes):
            return self.array(args[1], _ints(args[2]), args[3] == "F", args[0])
        if name in ("copyreg._reconstructor", "copy_reg._reconstructor") and args:
            return Obj(args[0])
        if name in ("copyreg.__newobj__", "copy_reg.__newobj__") and args:
            return Obj(args[0], tuple(args[1:]))
        return None

    def build(self, target, state):
        if isinstance(target, DType):
            _dtype_state(target, state)
            return target
        if isinstance(target, _Pending):
            if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], DType)
                    and _ints(state[1]) is not None):
                raise self.error("a NumPy array whose state is not (version, shape, dtype, "
                                 "fortran, data)", self.inp.pos)
            return self.array(state[2], _ints(state[1]), bool(state[3]), state[4])
        if isinstance(target, Obj) and target.name == WRAPPER and isinstance(state, dict):
            return self.wrapped(state)
        return None

    def array(self, dtype, shape, fortran, data):
        a = Array(dtype, shape, fortran)
        if isinstance(data, list):
            a.objects = data
            return a
        if not isinstance(data, bytes):
            raise self.error(f"a NumPy array whose data is a {type(data).__name__}", self.inp.pos)
        if dtype.kind != "O" and dtype.size * a.count != len(data):
            raise self.error(f"a NumPy array of shape {list(shape)} ({dtype.descr}) with "
                             f"{len(data)} bytes of data", self.inp.pos)
        at = self.inp.span(data)
        if at is not None:
            a.span = (at, len(data))
        else:
            a.raw = data
        return a

    def wrapped(self, state):
        """joblib's NumpyArrayWrapper: the array's bytes follow in the stream."""
        self.joblib = True
        dtype, shape = state.get("dtype"), _ints(state.get("shape"))
        if not isinstance(dtype, DType) or shape is None:
            raise self.error("a joblib array wrapper without a dtype and shape", self.inp.pos)
        inp = self.inp
        if dtype.kind == "O":
            if self.nested:
                raise self.error("a joblib object array inside another", inp.pos)
            self.nested = True
            try:
                inner = pickle_reader.load(inp, rebuild=self.rebuild, build=self.build,
                                           error=self.error)
            finally:
                self.nested = False
            if not isinstance(inner, Array) or inner.objects is None:
                raise self.error("a joblib object array that is not a pickled array", inp.pos)
            return inner
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = inp.read(1)[0]
            if padding:
                inp.read(padding)
        a = Array(dtype, shape, state.get("order") == "F")
        n = dtype.size * a.count
        if dtype.size == 0 or inp.pos + n > inp.end:
            raise self.error(f"a joblib array of shape {list(shape)} ({dtype.descr}) runs past "
                             f"the end of the stream", inp.pos)
        a.span = (inp.pos, n)
        inp.pos += n
        return a

    # -- values of arrays
    def raw(self, a, limit=None):
        """The bytes of a (not object) array, None when over `limit`."""
        n = a.span[1] if a.span else len(a.raw)
        if limit is not None and n > limit:
            return None
        return self.stream.read(a.span[0], n) if a.span else a.raw

    def values(self, a, limit=1 << 20):
        """All values of a small numeric array in C order, else None."""
        if a.objects is not None:
            return list(a.objects) if len(a.objects) <= limit else None
        name = a.dtype.name
        if name is None or a.count > limit:
            if a.dtype.kind == "U" and a.count <= limit:
                return _unicode(self.raw(a), a.dtype, a.count)
            return None
        t = Tensor("", name, a.shape)
        return self.decoder(a, name)(t, a.count)

    def decoder(self, a, name):
        stream = self.stream
        if a.raw is not None:
            stream, offset = BytesSource(a.raw, self.file.name), 0
        else:
            offset = a.span[0]
        if a.fortran and len(a.shape) > 1 or a.dtype.big:
            return _reordering_decoder(stream, offset, a.fortran and len(a.shape) > 1,
                                       a.dtype.big, self.error)
        decode = raw_decoder(stream, FORMAT)

        def read(t, n):
            if t.data is None or stream is not self.file:
                t = _at(t, offset, dtypes.storage_bytes(name, a.count))
            return decode(t, n)
        return read

    def tensor(self, name, a):
        t = Tensor(name, a.dtype.name, a.shape)
        t.location = "inline"
        t.decoder = self.decoder(a, a.dtype.name)
        if a.span is not None and self.stream is self.file and not a.dtype.big \
                and not (a.fortran and len(a.shape) > 1):
            t.data = a.span
        return self.m.add_tensor(t)

    # -- the graph
    def graph(self, root):
        g = self.g = self.m.add_graph(Graph())
        self.names = set()
        width = self.width(root)
        dtype = "float32" if self.first_is_tree(root) else "float64"
        g.inputs = ["features"]
        g.types["features"] = ("tensor", dtype, (None, width), "")
        out = self.emit(root, [], "features")
        g.outputs = [out]
        names = self.feature_names(root)
        if names:
            self.m.metadata.append(["features", ", ".join(names[:200])])

    def width(self, est):
        """n_features_in_ of what first reads the input, or None."""
        for _ in range(MAX_NESTING):
            s = _state(est)
            if s is None:
                return None
            n = s.get("n_features_in_")
            if type(n) is int:
                return n
            steps, members = s.get("steps"), s.get("estimators_")
            if _short(est.name) == "Pipeline" and isinstance(steps, list):
                est = next((e for _, e in _pairs(steps) if _is_estimator(e)), None)
            elif isinstance(members, list) and members:   # an ensemble: what its members read
                est = members[0]
            else:
                return None
        return None

    def first_is_tree(self, est):
        for _ in range(MAX_NESTING):
            s = _state(est)
            if s is None:
                return False
            if _short(est.name) != "Pipeline":
                return "tree_" in s or _short(est.name) in TREE_ESTIMATORS or \
                    _short(est.name).startswith(("RandomForest", "ExtraTrees", "GradientBoosting"))
            est = next((e for _, e in _pairs(s.get("steps")) if _is_estimator(e)), None)
        return False

    def feature_names(self, est):
        for _ in range(MAX_NESTING):
            s = _state(est)
            if s is None:
                return None
            names = s.get("feature_names_in_")
            if isinstance(names, Array):
                values = self.values(names, MAX_STRINGS)
                return [str(v) for v in values] if values else None
            if _short(est.name) != "Pipeline":
                return None
            est = next((e for _, e in _pairs(s.get("steps")) if _is_estimator(e)), None)
        return None

    def unique(self, name):
        base, k = name, 1
        while name in self.names:
            k += 1
            name = f"{base}#{k}"
        self.names.add(name)
        return name

    def emit(self, est, path, value):
        """Nodes for `est` reading `value`; returns the value it gives."""
        if isinstance(est, str):            # a step that is "passthrough"
            return value
        if not _is_estimator(est):
            return value
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                raise self.error(f"estimators nested deeper than {MAX_NESTING}")
            s = _state(est)
            kind = _short(est.name)
            if kind == "Pipeline" and isinstance(s.get("steps"), list):
                return self.pipeline(s, path, value)
            if kind in JOINS:
                return self.join(est, s, path, value)
            return self.node(est, s, path, value)[0]
        finally:
            self.nesting -= 1

    def pipeline(self, s, path, value):
        for name, step in _pairs(s.get("steps")):
            if _is_estimator(step):
                width = self.width(step)
                if width is not None and value not in self.g.types:
                    self.g.types[value] = ("tensor", "float64", (None, width), "")
                value = self.emit(step, path + [name], value)
        return value

    def join(self, est, s, path, value):
        """A ColumnTransformer or FeatureUnion: its transformers side by side, then
        its own node joining their outputs."""
        kind = _short(est.name)
        if kind == "ColumnTransformer":
            members = s.get("transformers_") if isinstance(s.get("transformers_"), list) \
                else s.get("transformers")
        else:
            members = [(n, e, None) for n, e in _pairs(s.get("transformer_list"))]
        outs, attrs = [], []
        for member in (members if isinstance(members, list) else [])[:MAX_MEMBERS]:
            if not isinstance(member, (list, tuple)) or len(member) < 2:
                continue
            name, trans = str(member[0]), member[1]
            columns = member[2] if len(member) > 2 else None
            if columns is not None:
                attrs.append(self.attribute(f"columns.{name}", columns))
            if trans == "drop":
                continue
            if trans == "passthrough":
                node_name = self.unique("/".join(path + [name]))
                self.g.nodes.append(Node("passthrough", DOMAIN, node_name, [value], [node_name]))
                outs.append(node_name)
                continue
            outs.append(self.emit(trans, path + [name], value))
        name, index = self.node(est, s, path + [kind], None, inputs=outs)
        self.g.nodes[index].attributes[:0] = attrs
        return name

    def node(self, est, s, path, value, inputs=None):
        kind = _short(est.name)
        module = est.cls.module.split(".", 1)[0]
        domain = DOMAIN if module == "sklearn" else module
        name = self.unique("/".join(path) if path else kind)
        ins = list(inputs) if inputs is not None else [value]
        node = Node(kind, domain, name, ins, [name])
        index = len(self.g.nodes)
        self.g.nodes.append(node)
        members = []
        for key, v in s.items():
            if not isinstance(key, str) or key.startswith("_") or key in STRUCTURE:
                continue
            if isinstance(v, Array):
                if v.dtype.name is not None and v.objects is None:
                    t = self.tensor(f"{name}/{key}", v)
                    self.g.initializers.append(t)
                    self.g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
                    node.inputs.append(t.name)
                    continue
                estimators = [e for e in (v.objects or []) if _is_estimator(e)]
                if estimators and key == "estimators_":
                    members = estimators
                    continue
                values = self.values(v, MAX_STRINGS)
                if values is not None and all(isinstance(x, str) for x in values):
                    node.attributes.append(Attribute(key, "strings", values))
                else:
                    node.attributes.append(Attribute(
                        key, "string", f"array {v.dtype.descr} {list(v.shape)}"))
                continue
            if key == "estimators_" and isinstance(v, list) and any(map(_is_estimator, v)):
                members = [e for e in v if _is_estimator(e)]
                continue
            if key == "tree_" and isinstance(v, Obj) and v.name == TREE:
                members = [est]
                continue
            node.attributes.append(self.attribute(key, v))
        if members and all(_short(e.name) in TREE_ESTIMATORS for e in members):
            self.forest(node, index, s, members, est)
        elif members and inputs is None:
            self.ensemble(node, s, members, path, value)
        classes = s.get("classes_")
        if isinstance(classes, Array) and inputs is None:
            dtype = classes.dtype.name or ("string" if classes.objects is not None or
                                           classes.dtype.kind == "U" else None)
            if dtype:
                self.g.types[name] = ("tensor", dtype, (None,), "")
        return name, index

    def ensemble(self, node, s, members, path, value):
        """A voting or stacking ensemble's fitted members, side by side before it."""
        named = [n for n, _ in _pairs(s.get("estimators"))]
        prefix = path or [node.op]     # the members are a module of the ensemble's
        for k, member in enumerate(members[:MAX_MEMBERS]):
            label = named[k] if k < len(named) else f"{_short(member.name)} {k}"
            node.inputs.insert(k + 1, self.emit(member, prefix + [label], value))

    def attribute(self, key, v):
        if isinstance(v, bool):
            return Attribute(key, "string", "true" if v else "false")
        if isinstance(v, int):
            return Attribute(key, "int", v) if -(1 << 63) <= v < 1 << 63 else \
                Attribute(key, "string", str(v)[:100])
        if isinstance(v, float):
            return Attribute(key, "float", v)
        if isinstance(v, str):
            return Attribute(key, "string", v[:4096])
        if v is None:
            return Attribute(key, "string", "None")
        if isinstance(v, (list, tuple)) and v and len(v) <= MAX_STRINGS:
            if all(type(x) is int for x in v):
                return Attribute(key, "ints", list(v))
            if all(isinstance(x, float) for x in v):
                return Attribute(key, "floats", list(v))
            if all(isinstance(x, str) for x in v):
                return Attribute(key, "strings", list(v))
        if isinstance(v, Array):
            values = self.values(v, 64)
            if values is not None and len(values) <= 64:
                return self.attribute(key, [x for x in values])
            return Attribute(key, "string", f"array {v.dtype.descr} {list(v.shape)}")
        if isinstance(v, Obj):
            return Attribute(key, "string", _short(v.name))
        return Attribute(key, "string", _text(v))

    # -- trees
    def forest(self, node, index, s, members, owner):
        classes = s.get("classes_")
        labels_of = self.values(classes, MAX_STRINGS) if isinstance(classes, Array) else None
        names = None
        fn = s.get("feature_names_in_")
        if isinstance(fn, Array):
            values = self.values(fn, 1 << 16)
            names = [str(x) for x in values] if values else None
        shape = None
        estimators = s.get("estimators_")
        if isinstance(estimators, Array) and len(estimators.shape) == 2 and estimators.shape[1] > 1:
            shape = estimators.shape   # gradient boosting: [stages, classes]
        read, labels = [], []
        for k, member in enumerate(members):
            tree = _state(member).get("tree_")
            if not (isinstance(tree, Obj) and tree.name == TREE and isinstance(tree.state, dict)):
                raise self.error(f"{_short(owner.name)}: tree {k} has no tree_")
            t = self.tree(k, tree, names, labels_of)
            read.append(t)
            if shape:
                labels.append(f"class {k % shape[1]}/tree {k // shape[1]}")
            else:
                labels.append(f"tree {k}" if len(members) > 1 else "tree")
        node.attributes += trees.summary(read)
        sub, drawn = trees.draw(self.m, read, node.domain, self.g.types["features"],
                                self.budget, labels)
        if sub is not None:
            trees.attach(self.g, index, sub)
        if drawn < len(read):
            node.attributes.append(Attribute("trees_drawn", "int", drawn))

    def tree(self, k, tree, names, labels):
        s = tree.state
        nodes, values = s.get("nodes"), s.get("values")
        count = s.get("node_count")
        if not isinstance(nodes, Array) or nodes.dtype.fields is None or type(count) is not int \
                or len(nodes.shape) != 1 or nodes.shape[0] != count:
            raise self.error(f"tree {k}: no structured nodes array of node_count entries")
        if not self.budget.take(count):
            raise self.error(f"more than {trees.MAX_TOTAL_NODES:,} tree nodes in all")
        fields = {name: (dt, off) for name, dt, off in nodes.dtype.fields}
        need = ("left_child", "right_child", "feature", "threshold")
        if not all(f in fields for f in need):
            raise self.error(f"tree {k}: its nodes lack {', '.join(f for f in need if f not in fields)}")
        columns = _columns(self.raw(nodes), nodes.dtype, count, fields,
                           need + ("impurity", "n_node_samples", "missing_go_to_left"), self.error)
        left, right, feature, threshold = (columns[f] for f in need)
        impurity, samples = columns.get("impurity"), columns.get("n_node_samples")
        missing = columns.get("missing_go_to_left")
        leaf_values = {}

        def leaf_value(i):
            if "v" not in leaf_values:
                leaf_values["v"] = None
                if isinstance(values, Array) and values.dtype.name == "float64" \
                        and len(values.shape) == 3 and values.shape[0] == count:
                    data = self.raw(values, MAX_TREE_VALUES)
                    if data is not None:
                        leaf_values["v"] = (data, values.shape[1] * values.shape[2], values.shape)
            found = leaf_values["v"]
            if found is None:
                return None
            data, per, shape = found
            return struct.unpack_from(f"<{per}d", data, i * per * 8), shape

        def split(i):
            f = feature[i]
            name = names[f] if names and 0 <= f < len(names) else f"x[{f}]"
            attrs = [Attribute("if", "string", f"{name} <= {trees.threshold(threshold[i])}")]
            if samples is not None:
                attrs.append(Attribute("samples", "int", samples[i]))
            if impurity is not None:
                attrs.append(Attribute("impurity", "float", impurity[i]))
            if missing is not None:
                attrs.append(Attribute("missing", "string", "yes" if missing[i] else "no"))
            attrs.append(Attribute("feature", "string", name))
            return attrs

        def leaf(i):
            attrs = []
            found = leaf_value(i)
            if found is not None:
                v, shape = found
                if shape[1] == 1 and shape[2] > 1 and labels and len(labels) == shape[2]:
                    attrs.append(Attribute("class", "string", str(labels[v.index(max(v))])))
                if len(v) == 1:
                    attrs.append(Attribute("value", "float", v[0]))
                else:
                    attrs.append(trees.values_attribute("value", list(v)))
            if samples is not None:
                attrs.append(Attribute("samples", "int", samples[i]))
            if impurity is not None:
                attrs.append(Attribute("impurity", "float", impurity[i]))
            return attrs

        t = trees.Tree(left, right, split, leaf)
        problem = trees.check(t)
        if problem:
            raise self.error(f"tree {k}: {problem}")
        return t


def _pairs(steps):
    """(name, estimator) of a list of 2-tuples (Pipeline steps, FeatureUnion members)."""
    if not isinstance(steps, list):
        return []
    return [(str(p[0]), p[1]) for p in steps[:MAX_MEMBERS]
            if isinstance(p, (list, tuple)) and len(p) >= 2]


def _dtype_state(d, state):
    """numpy.dtype's __setstate__ state: (version, byte order, subarray, names, fields,
    itemsize, alignment, flags)."""
    if not isinstance(state, tuple) or len(state) < 6:
        return
    if isinstance(state[1], str):
        d.order = state[1]
    names, fields = state[3], state[4]
    if isinstance(names, tuple) and isinstance(fields, dict) and len(names) <= 1024:
        out = []
        for n in names:
            f = fields.get(n)
            if isinstance(f, tuple) and len(f) >= 2 and isinstance(f[0], DType) \
                    and type(f[1]) is int:
                out.append((str(n), f[0], f[1]))
        d.fields = out
    if type(state[5]) is int and state[5] > 0:
        d.itemsize = state[5]


def _scalar(dtype, data):
    """numpy.core.multiarray.scalar(dtype, bytes): the number."""
    if dtype.kind == "O":
        return data
    name = dtype.name
    if name is None or not isinstance(data, bytes) or len(data) != dtype.size:
        return None
    if name.startswith("complex"):
        return complex(*struct.unpack((">" if dtype.big else "<") + ("ff" if dtype.size == 8 else "dd"), data))
    v = struct.unpack((">" if dtype.big else "<") + _STRUCT[name], data)[0]
    return bool(v) if name == "bool" else v


def _unicode(data, dtype, count):
    """The strings of a NumPy unicode array (UCS-4, NUL-padded)."""
    if data is None:
        return None
    size = dtype.size
    codec = "utf-32-be" if dtype.order == ">" else "utf-32-le"
    return [data[i * size:(i + 1) * size].decode(codec, "replace").rstrip("\x00")
            for i in range(count)]


def _columns(data, dtype, count, fields, wanted, error):
    """{field: list of values} of a structured array's records."""
    size = dtype.size
    if size <= 0 or data is None or len(data) != size * count:
        raise error("a tree's nodes array does not hold node_count records")
    out = {}
    for name in wanted:
        if name not in fields:
            continue
        dt, offset = fields[name]
        code = _STRUCT.get(dt.name)
        if code is None or offset < 0 or offset + dt.size > size:
            raise error(f"a tree's nodes field '{name}' of dtype {dt.descr} at byte {offset}")
        fmt = struct.Struct(("<" if not dt.big else ">") + f"{offset}x{code}{size - offset - dt.size}x")
        out[name] = [v[0] for v in fmt.iter_unpack(data)]
    return out


def _at(t, offset, length):
    w = Tensor(t.name, t.dtype, t.dims)
    w.data = (offset, length)
    return w


def _text(v):
    return pickle_reader.short_repr(v, 500)
