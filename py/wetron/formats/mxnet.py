"""MXNet: a symbol graph (<prefix>-symbol.json) and its parameters (<prefix>-<epoch>.params,
MXNet's NDArray list file), given together or either alone, as HybridBlock.export and
Module.save_checkpoint write them.

Symbol JSON (nnvm's graph JSON): "nodes" [{op, name, attrs (older files: "param" /
"attr"), inputs: [[node, output, version], ...]}], "arg_nodes", "node_row_ptr",
"heads" (the outputs), "attrs" {"mxnet_version": ["int", 10901]}. A node of op "null"
is a variable: a weight when the .params file holds it (else a graph input, typed by its
__shape__ / __dtype__ attributes where they say; a 0 in __shape__ is unknown). Every
other node is a Node of domain "mxnet", op the operator's name (Convolution,
elemwise_add), its outputs named "<name>_output" (output k > 0: "<name>_output<k>", as
many as its consumers and the heads refer to). Attributes are strings in the file and
typed here by their form: "(3, 3)" ints, "16" int, "1e-05" float, "True"/"False" the
strings "true"/"false" (the documents' booleans), anything else a string; a kernel,
stride, pad, dilate, adj or target_shape given as one number is a one-element tuple, as
MXNet's Shape parameters read it.

NDArray list (src/ndarray/ndarray.cc, NDArray::Save / Load): uint64 0x112, uint64 0,
uint64 count, then per array: uint32 magic (V2 0xF993fac9 or V3 0xF993faca: int32
storage type, [a sparse array's storage shape], shape; V1 0xF993fac8: shape; older: the
magic is a uint32 ndim followed by uint32 dims), a shape being int32 ndim + int64 dims;
unless the shape is empty: int32 dev_type, int32 dev_id, int32 dtype (mshadow's type
flag), [sparse: per aux array int32 dtype + shape], the raw little-endian values
[and the aux arrays']. Then uint64 count of names, each uint64 length + bytes ("arg:" /
"aux:" + the variable's name, or Gluon's structural names). Values are read on request;
sparse arrays (row_sparse, csr) are listed but their values not decoded.

Which .params goes with a symbol: <prefix>-<epoch>.params with the highest epoch among
the files the companions callable lists (its optional names()), else <prefix>-0000.params.
A .params file alone is a weights-only graph (wetron.weights: one node per module, the
module being the name before its last "_<param>").
"""
import math
import posixpath
import re

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..util import MAX_NODES, MAX_TENSORS, load_json, too_many
from ..weights import guess_op, guessed_domain, raw_decoder

FORMAT = "MXNet"
EXTENSIONS = ("-symbol.json", ".params")
COMPANIONS = (("*-*.params", "the parameters saved with the symbol (<prefix>-<epoch>.params, "
                "epoch 4 digits)"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "mxnet"

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
MAX_JSON_BYTES = 64 << 20
MAX_DIMS = 32
MAX_DIM = (1 << 63) - 1
MAX_NAME = 1 << 16          # bytes of one parameter name
MAX_INPUTS = 1 << 16        # inputs of one node
MAX_NAMES = 10_000          # files a companions listing is searched through
DTYPES = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32", 5: "int8",
          6: "int64", 7: "bool", 8: "int16", 9: "uint16", 10: "uint32", 11: "uint64",
          12: "bfloat16"}
STORAGE = {0: "default", 1: "row_sparse", 2: "csr"}
AUX_ARRAYS = {0: 0, 1: 1, 2: 2}    # row_sparse: indices; csr: indptr, indices
# Shape parameters (mxnet::TShape / Tuple) that a file may give as one number
TUPLE_ATTRS = {"kernel", "stride", "pad", "dilate", "adj", "target_shape"}
PARAM_SUFFIXES = ("weight", "bias", "gamma", "beta", "running_mean", "running_var",
                  "moving_mean", "moving_var", "alpha", "parameters")


# --- recognising ---------------------------------------------------------------------------
def _is_params(head):
    return len(head) >= 16 and int.from_bytes(head[:8], "little") == LIST_MAGIC and \
        int.from_bytes(head[8:16], "little") == 0


def _is_symbol(head):
    text = head.lstrip()
    return text[:1] == b"{" and b'"nodes"' in head and \
        (b'"op"' in head or b'"arg_nodes"' in head or b'"heads"' in head)


def match(head, name):
    low = name.lower()
    if _is_params(head):
        return 1.0 if low.endswith(".params") else 0.8
    if _is_symbol(head):
        return 1.0 if low.endswith("-symbol.json") else 0.7
    return 0


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    if _is_params(head):
        m = Model(source.name, source.size, FORMAT)
        m.format_version = "NDArray list"
        tensors = read_params(source, m)
        _weights_graph(m, tensors)
        return m
    if not _is_symbol(head):
        raise _error(source, "neither a symbol JSON nor an NDArray list (.params)")
    return _parse_symbol(source, companions)


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


# --- the NDArray list ----------------------------------------------------------------------
class _Cursor:
    """Sequential little-endian reads of a Source, bounded by its size."""

    def __init__(self, source):
        self.source, self.pos = source, 0

    def take(self, n):
        if self.pos + n > self.source.size:
            raise _error(self.source, f"truncated: {n} bytes needed at byte {self.pos}, the "
                         f"file has {self.source.size}", self.pos)
        data = self.source.read(self.pos, n)
        self.pos += n
        return data

    def uint(self, n):
        return int.from_bytes(self.take(n), "little")

    def int32(self):
        return int.from_bytes(self.take(4), "little", signed=True)

    def shape(self, what, legacy_ndim=None):
        at = self.pos
        if legacy_ndim is None:
            ndim = self.int32()
            size = 8
        else:
            ndim, size = legacy_ndim, 4
        if ndim == -1:
            return None          # V3: unknown rank (np shape semantics)
        if not 0 <= ndim <= MAX_DIMS:
            raise _error(self.source, f"{what}: {ndim} dimensions (at most {MAX_DIMS})", at)
        raw = self.take(ndim * size)
        dims = [int.from_bytes(raw[i:i + size], "little", signed=True)
                for i in range(0, len(raw), size)]
        if any(not -1 <= d <= MAX_DIM for d in dims):
            raise _error(self.source, f"{what}: dimensions {dims}", at)
        return dims


def read_params(source, m):
    """Tensors of an NDArray list file (added to m), in file order."""
    c = _Cursor(source)
    if source.size < 24 or c.uint(8) != LIST_MAGIC or c.uint(8) != 0:
        raise _error(source, "not an NDArray list: no 0x112 header")
    count = c.uint(8)
    # each array takes at least 8 bytes (magic and an empty shape)
    if count > MAX_TENSORS or count * 8 > source.size:
        raise _error(source, too_many(count, "arrays", MAX_TENSORS) if count > MAX_TENSORS
                     else f"{count:,} arrays cannot fit in {source.size:,} bytes", 16)
    arrays = [_array(c, i) for i in range(count)]
    n = c.uint(8)
    if n not in (0, count):
        raise _error(source, f"{n:,} names for {count:,} arrays", c.pos - 8)
    names = []
    for i in range(n):
        length = c.uint(8)
        if length > MAX_NAME:
            raise _error(source, f"name {i}: {length:,} bytes long", c.pos - 8)
        names.append(c.take(length).decode("utf-8", "replace"))
    decode = raw_decoder(source, FORMAT)
    tensors = []
    seen = set()
    for i, (dtype, dims, data, error) in enumerate(arrays):
        name = names[i] if names else str(i)
        if name in seen:
            name = f"{name}#{i}"
        seen.add(name)
        t = Tensor(name, dtype, tuple(dims))
        if data is not None:
            t.location = "inline"
            t.data = data
            t.decoder = decode
        t.error = error
        tensors.append(m.add_tensor(t))
    return tensors


def _array(c, i):
    """(dtype, dims, (offset, length) of the values or None, error) of array i."""
    at = c.pos
    what = f"array {i}"
    magic = c.uint(4)
    stype = 0
    storage_shape = None
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = c.int32()
        if stype not in STORAGE:
            raise _error(c.source, f"{what}: storage type {stype}", at)
        if AUX_ARRAYS[stype]:
            storage_shape = c.shape(what)
        dims = c.shape(what)
    elif magic == V1_MAGIC:
        dims = c.shape(what)
    else:                                   # legacy: the magic is ndim, dims are uint32
        dims = c.shape(what, legacy_ndim=magic) if magic <= MAX_DIMS else None
        if dims is None:
            raise _error(c.source, f"{what}: magic {magic:#x} is not an NDArray's", at)
    if dims is None or (magic != V3_MAGIC and not dims) or -1 in dims:
        return "undefined", [], None, None      # an empty (none) array: nothing follows
    c.take(8)                                   # context: dev_type, dev_id
    code = c.int32()
    dtype = DTYPES.get(code)
    if dtype is None:
        raise _error(c.source, f"{what}: unknown dtype {code}", c.pos - 4)
    aux = []
    for _ in range(AUX_ARRAYS[stype]):
        aux_code = c.int32()
        aux_dims = c.shape(what)
        if DTYPES.get(aux_code) is None or aux_dims is None or -1 in aux_dims:
            raise _error(c.source, f"{what}: a sparse array's bad index array", c.pos)
        aux.append((DTYPES[aux_code], aux_dims))
    stored = storage_shape if storage_shape is not None else dims
    if storage_shape is not None and (-1 in storage_shape):
        raise _error(c.source, f"{what}: storage shape {storage_shape}", at)
    nbytes = dtypes.storage_bytes(dtype, math.prod(stored))
    offset = c.pos
    _skip(c, nbytes, what)
    for aux_dtype, aux_dims in aux:
        _skip(c, dtypes.storage_bytes(aux_dtype, math.prod(aux_dims)), what)
    if stype:
        return dtype, dims, None, f"{STORAGE[stype]} storage: values are not decoded"
    return dtype, dims, (offset, nbytes), None


def _skip(c, n, what):
    if c.pos + n > c.source.size:
        raise _error(c.source, f"{what}: {n:,} bytes of values run past the end of the "
                     f"file ({c.source.size:,} bytes)", c.pos)
    c.pos += n


def _weights_graph(m, tensors):
    """A .params alone: one node per module (the name before its last '_<param>')."""
    g = m.add_graph(Graph())
    modules = {}
    for t in tensors:
        name = t.name.split(":", 1)[1] if t.name.startswith(("arg:", "aux:")) else t.name
        module, leaf = name, ""
        for suffix in PARAM_SUFFIXES:
            if name.endswith("_" + suffix) or name.endswith("." + suffix):
                module, leaf = name[:-len(suffix) - 1], suffix
                break
        modules.setdefault(module, {})[leaf or name] = t
        g.initializers.append(t)
        g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
    for module, leaves in modules.items():
        op = guess_op(module, leaves) if all(leaves) else "Parameter"
        g.nodes.append(Node(op, guessed_domain(op), module.replace("/", "\\"),
                            [t.name for t in leaves.values()]))
    return g


# --- the symbol --------------------------------------------------------------------------
def _parse_symbol(source, companions):
    if source.size > MAX_JSON_BYTES:
        raise _error(source, f"{source.size:,} bytes of JSON, more than the "
                     f"{MAX_JSON_BYTES >> 20} MB Wetron reads as a symbol")
    doc = load_json(source.read(0, source.size), lambda message: _error(source, message),
                    "the symbol")
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise _error(source, "the symbol has no \"nodes\" list")
    nodes = doc["nodes"]
    if len(nodes) > MAX_NODES:
        raise _error(source, too_many(len(nodes), "nodes", MAX_NODES))
    m = Model(source.name, source.size, FORMAT)
    m.format_version = "symbol JSON"
    version = (doc.get("attrs") or {}).get("mxnet_version") if isinstance(doc.get("attrs"), dict) \
        else None
    if isinstance(version, list) and len(version) == 2 and type(version[1]) is int:
        v = version[1]
        m.producer = f"MXNet {v // 10000}.{v // 100 % 100}.{v % 100}"
    weights = {}
    found = _params_companion(source, companions, m)
    if found is not None:
        wsource, tensors = found
        for t in tensors:
            key = t.name.split(":", 1)[1] if t.name.startswith(("arg:", "aux:")) else t.name
            weights.setdefault(key, t)
        m.metadata.append(["parameters", wsource.name])
    _build(m, source, nodes, doc.get("heads"), weights)
    if found is not None:
        used = {t.name for t in m.graphs[0].initializers}
        unused = [t.name for t in found[1] if t.name not in used]
        if unused:
            m.warnings.append(f"{found[0].name}: {len(unused)} arrays the symbol does not use "
                              f"({', '.join(unused[:5])}{', …' if len(unused) > 5 else ''})")
    return m


def _params_companion(source, companions, m):
    """(Source, tensors added to m) of the .params that goes with a symbol, or None."""
    if companions is None:
        return None
    base = source.name
    prefix = base[:-len("-symbol.json")] if base.lower().endswith("-symbol.json") else \
        posixpath.splitext(base)[0]
    pattern = re.compile(re.escape(prefix) + r"-([0-9]{4})\.params")
    epochs = []
    names = getattr(companions, "names", None)
    if callable(names):
        for i, n in enumerate(names()):
            if i >= MAX_NAMES:
                break
            hit = pattern.fullmatch(n)
            if hit:
                epochs.append((int(hit.group(1)), n))
    wanted = max(epochs)[1] if epochs else f"{prefix}-0000.params"
    ws = companions(wanted)
    if ws is None:
        if epochs:
            m.warnings.append(f"parameters not read: {wanted} could not be opened")
        return None
    try:
        return ws, read_params(ws, m)
    except ModelError as e:
        m.warnings.append(f"parameters not read: {e}")
        return None


def _build(m, source, nodes, heads, weights):
    g = m.add_graph(Graph())
    names = []      # per node: its name
    ops = []
    for i, nd in enumerate(nodes):
        if not isinstance(nd, dict):
            raise _error(source, f"node {i} is not a JSON object")
        op, name = nd.get("op"), nd.get("name")
        if not isinstance(op, str) or not isinstance(name, str):
            raise _error(source, f"node {i}: op and name must be strings")
        ops.append(op)
        names.append(name)

    def ref(entry, i):
        if not isinstance(entry, list) or not 1 <= len(entry) <= 3 or \
                not all(type(x) is int for x in entry):
            raise _error(source, f"node {i}: an input that is not [node, output, version]")
        j, k = entry[0], entry[1] if len(entry) > 1 else 0
        if not 0 <= j < len(nodes) or not 0 <= k < MAX_INPUTS:
            raise _error(source, f"node {i}: input {entry} names no node's output")
        return j, k

    # how many outputs each node shows: as far as anything reads
    outputs = [1] * len(nodes)
    edges = []
    for i, nd in enumerate(nodes):
        inputs = nd.get("inputs", [])
        if not isinstance(inputs, list) or len(inputs) > MAX_INPUTS:
            raise _error(source, f"node {i}: inputs must be a list (of at most {MAX_INPUTS:,})")
        refs = [ref(e, i) for e in inputs]
        edges.append(refs)
        for j, k in refs:
            outputs[j] = max(outputs[j], k + 1)
    head_refs = [ref(e, -1) for e in (heads if isinstance(heads, list) else [])]
    for j, k in head_refs:
        outputs[j] = max(outputs[j], k + 1)

    def value(j, k):
        if ops[j] == "null":
            return names[j]
        return f"{names[j]}_output" if k == 0 else f"{names[j]}_output{k}"

    for i, nd in enumerate(nodes):
        attrs = nd.get("attrs", nd.get("param", nd.get("attr"))) or {}
        if not isinstance(attrs, dict):
            raise _error(source, f"node '{names[i]}': attrs must be a JSON object")
        if ops[i] == "null":
            t = weights.get(names[i])
            if t is not None:
                if t.name != names[i]:
                    t.name = names[i]
                g.initializers.append(t)
            else:
                g.inputs.append(names[i])
                g.types[names[i]] = _variable_type(attrs)
            continue
        node = Node(ops[i], DOMAIN, names[i], [value(j, k) for j, k in edges[i]],
                    [value(i, k) for k in range(outputs[i])],
                    [_attribute(str(k), v) for k, v in attrs.items()])
        g.nodes.append(node)
    g.outputs = [value(j, k) for j, k in head_refs]
    for t in g.initializers:
        g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
    return g


def _variable_type(attrs):
    dims = None
    shape = attrs.get("__shape__")
    if isinstance(shape, str):
        parsed = _tuple(shape)
        if parsed is not None and all(type(d) is int for d in parsed):
            dims = tuple(None if d <= 0 else d for d in parsed)   # 0: not known (legacy)
    dtype = DTYPES.get(_int(attrs.get("__dtype__")), "float32") \
        if "__dtype__" in attrs else "float32"
    return ("tensor", dtype, dims, "")


_INT = re.compile(r"-?[0-9]{1,19}")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|-?inf|nan")


def _int(text):
    return int(text) if isinstance(text, str) and _INT.fullmatch(text.strip()) else None


def _tuple(text):
    """'(3, 3)' / '[1, 2]' / '()' -> [3, 3]; None if it is not a tuple of numbers."""
    s = text.strip()
    if len(s) < 2 or s[0] + s[-1] not in ("()", "[]") or len(s) > 4096:
        return None
    parts = [p.strip() for p in s[1:-1].split(",")]
    if parts and parts[-1] == "":
        parts.pop()
    out = []
    for p in parts:
        if _INT.fullmatch(p):
            out.append(int(p))
        elif p == "None":
            out.append(None)
        else:
            return None
    return out


def _attribute(name, v):
    if not isinstance(v, str):
        return Attribute(name, "string", str(v)[:4096])
    s = v.strip()
    if s in ("True", "False", "true", "false"):
        return Attribute(name, "string", s.lower())
    t = _tuple(s)
    if t is not None and None not in t:
        return Attribute(name, "ints", t)
    if _INT.fullmatch(s):
        n = int(s)
        return Attribute(name, "ints", [n]) if name in TUPLE_ATTRS else Attribute(name, "int", n)
    if _FLOAT.fullmatch(s):
        return Attribute(name, "float", float(s))
    return Attribute(name, "string", v)
