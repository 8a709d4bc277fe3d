"""PaddlePaddle inference models: a program (<prefix>.pdmodel, the protobuf ProgramDesc;
or <prefix>.json, the PIR program Paddle 3 writes by default) and its parameters
(<prefix>.pdiparams), given together or either alone, as paddle.jit.save and
paddle.static.save_inference_model write them.

ProgramDesc (tools/schemas/paddle_framework.proto, read through paddle_schema.py, which
tools/gen_proto_schema.py generates from it): blocks [BlockDesc: idx, parent_idx, vars,
ops]; block 0 is the main graph, a block an op names in a BLOCK / BLOCKS attribute
(while's and conditional_block's sub_block) is a subgraph of that op. A VarDesc gives a
variable's VarType (DENSE_TENSOR: TensorDesc data_type and dims, -1 where the size is
free; SELECTED_ROWS; DENSE_TENSOR_ARRAY a sequence of such tensors; the rest opaque)
and whether it is persistable (a weight). An OpDesc is its type (the op's Paddle name,
conv2d, matmul_v2, ...: a Node of domain "paddle"), inputs and outputs as slot ->
argument lists (Input: [x], Filter: [conv2d_0.w_0]), and attributes of an AttrType each
(INT/LONG int, FLOAT/FLOAT64 float, STRING string, INTS/LONGS ints, FLOATS/FLOAT64S
floats, STRINGS strings, BOOLEAN(S) "true"/"false", BLOCK(S) graph(s), VAR(S) the name of
the variable holding the value, SCALAR(S) the number). A node's inputs follow the slot
order of the op's definition (ops/metadata/paddle.json, from Paddle's OpProto registry):
each slot's arguments in order, "" for an empty slot before a bound one; slots it does
not define follow. The feed and fetch ops are not nodes: their variables are the graph's
inputs and outputs. op_callstack (the Python stack of the process that saved the model)
is left out. A variable an op writes again (batch_norm's MeanOut is its Mean) is renamed
"<var>@<n>" from then on, so that every value has one producer.

PIR program (paddle/fluid/pir/serialize_deserialize: its ProgramWriter): {"base_code":
{"magic": "pir", "version", "trainable"}, "program": {"regions": [{"#", "blocks": [{"#",
"args", "ops"}]}]}}. An op is {"#": "<dialect id>.<name>" (0 builtin, 1 pd_op, 2 cf, 3
custom_op, 4 dist_op: the node's op is the full name, pd_op.conv2d), "I": [{"%": value
id}] (0: none), "O": [{"%", "TT": type}], "A": [{"N": name, "AT": {"#": attribute kind,
"D": data}}], "regions": [...] (the bodies of pd_op.if / pd_op.while: subgraphs, their
block arguments the inputs and cf.yield's operands the outputs)}; a parameter is the
compressed {"#": "p", "A": [is_distributed, is_parameter, need_clip, name], "O": value}.
Types: "0.t_dtensor" [element type, dims, layout, lod, offset], "0.t_vec" [types],
"1.t_dtensor_array", "1.t_selected_rows", element types "0.t_f32" ...; a value is named
"%<id>" (as Paddle prints programs), a block argument "%arg<n>", a parameter by its name,
pd_op.data's output by its name attribute. An IntArray operand a pd_op.full_int_array
gives (pool2d's kernel_size) is also shown as the op's attribute of that slot's name, as
the legacy op has it. pd_op.data / pd_op.feed are the graph's
inputs, pd_op.fetch / builtin.shadow_output its outputs; builtin.combine (tensors packed
into a vector for an op such as concat) and builtin.split (a vector op's result unpacked)
are folded into the op that uses them, so concat's inputs are the tensors. A node is
named by its struct_name (the Layer path, "/Sequential/BasicBlock/Conv2D/") and the op's
name; the per-result attributes ("OA": stop_gradient, persistable) are not shown.

In both, a graph input's free size (-1) at axis 0 is the symbol "batch" and at another
axis "<input>.dim<axis>" (sizes a user may set, wetron.sizes); an inner value's -1 is
unknown, completed by the shape rules (ops/paddle.py).

.pdiparams (save_combine): the persistable variables in sorted name order, each a
DenseTensor stream (paddle/phi/core/framework/dense_tensor_serialize.cc): uint32 version
(0), uint64 lod levels + per level uint64 byte count and its offsets, uint32 tensor
version (0), int32 size of a TensorDesc protobuf, the TensorDesc (data_type, dims), the
raw little-endian values. The file holds no names: beside a program they are its
persistable variables' (parameters' and, in PIR, builtin.constant's) names sorted, their
shapes checked against each record; alone, a tensor is named by its position. Values are
read on request. Which file: <prefix>.pdiparams beside <prefix>.pdmodel / .json (the
fluid names __model__ / __params__ too).
"""
import json
import math
import posixpath
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..protobuf import Reader, varint_at
from ..protoschema import BinaryDecoder, _float32, last
from ..symbolic import _IDENT
from ..util import MAX_NODES, MAX_TENSORS, load_json, too_many
from ..weights import raw_decoder
from . import paddle_schema as schema

FORMAT = "PaddlePaddle"
# (a .pdiparams alone opens too, by its content, but among several files it is the
# program's companion, never the model)
EXTENSIONS = (".pdmodel", ".json")
WEAK_EXTENSIONS = (".json",)     # PIR programs; configs and tokenizers are .json too
MAIN_FILES = ("__model__",)
COMPANIONS = (("*.pdiparams", "the parameters (save_combine), named by the program's "
               "persistable variables in sorted order"),
              ("__params__", "the parameters of a __model__ (save_combine)"))
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "paddle"
BATCH = "batch"

MAX_PROGRAM_BYTES = 256 << 20   # a ProgramDesc or PIR JSON read whole
MAX_DEPTH = 32                  # blocks / regions nested
MAX_DIMS = 64
MAX_DIM = (1 << 63) - 1
MAX_LOD_LEVELS = 64
MAX_DESC = 1 << 16              # bytes of one tensor record's TensorDesc
MAX_TEXT = 4096                 # characters of an attribute shown as text
MAX_ITEMS = 1 << 20             # elements of one PIR attribute array
FLOAT32_MAX = 3.4028234663852886e38

# VarType.Type element types -> the document's dtype names
DTYPES = {"BOOL": "bool", "INT16": "int16", "INT32": "int32", "INT64": "int64",
          "FP16": "float16", "FP32": "float32", "FP64": "float64", "SIZE_T": "uint64",
          "UINT8": "uint8", "INT8": "int8", "BF16": "bfloat16", "COMPLEX64": "complex64",
          "COMPLEX128": "complex128", "FP8_E4M3FN": "float8e4m3fn",
          "FP8_E5M2": "float8e5m2", "UINT32": "uint32", "UINT64": "uint64"}
HOLDERS = {"FEED_MINIBATCH", "FETCH_LIST", "FEED_LIST"}     # feed/fetch holder variables
SKIPPED_ATTRS = {"op_callstack"}

# PIR: dialect ids of the serializer's DialectIdMap, and element types
DIALECTS = {"0": "builtin", "1": "pd_op", "2": "cf", "3": "custom_op", "4": "dist_op"}
PIR_DTYPES = {"t_bool": "bool", "t_bf16": "bfloat16", "t_f16": "float16",
              "t_f32": "float32", "t_f64": "float64", "t_i8": "int8", "t_ui8": "uint8",
              "t_i16": "int16", "t_i32": "int32", "t_i64": "int64", "t_index": "int64",
              "t_c64": "complex64", "t_c128": "complex128"}
PIR_INPUT_OPS = ("pd_op.data", "pd_op.feed")
PIR_OUTPUT_OPS = ("pd_op.fetch", "builtin.shadow_output")
PIR_SKIPPED_ATTRS = {"struct_name", "op_callstack", "stop_gradient", "persistable"}


# --- recognising ---------------------------------------------------------------------------

def _is_program(head):
    """A ProgramDesc: field 1 (blocks) whose BlockDesc starts with idx 0 and parent -1."""
    if len(head) < 4 or head[0] != 0x0A:
        return False
    _, p = varint_at(head, 1)
    return head[p:p + 2] == b"\x08\x00" and head[p + 2:p + 3] == b"\x10" and \
        head[p + 3:p + 13] == b"\xff" * 9 + b"\x01"


def _is_pir(head):
    text = head.lstrip()
    return text[:1] == b"{" and b'"base_code"' in head and b'"magic":"pir"' in \
        head.replace(b" ", b"").replace(b"\n", b"")


def _is_params(head):
    """The first tensor record of a .pdiparams: versions 0, a few lod levels, a
    TensorDesc of a known element type."""
    try:
        _, desc = _record_head(head, 0, len(head))
    except ValueError:
        return False
    return desc is not None


def match(head, name):
    low = name.lower()
    if _is_pir(head):
        return 1.0
    if _is_program(head):
        return 1.0 if low.endswith(".pdmodel") or low.endswith("__model__") else 0.9
    if _is_params(head):
        return 1.0 if low.endswith((".pdiparams", "__params__")) else 0.5
    if low.endswith((".pdmodel", ".pdiparams")):
        return 0.2
    return 0


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    if _is_pir(head):
        return _parse_pir(source, companions)
    if _is_program(head) or source.name.lower().endswith((".pdmodel", "__model__")):
        return _parse_program(source, companions)
    if _is_params(head) or source.name.lower().endswith(".pdiparams"):
        m = Model(source.name, source.size, FORMAT)
        m.format_version = "parameters (save_combine)"
        tensors = read_params(source, m, None)
        g = m.add_graph(Graph())
        for t in tensors:
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
            g.nodes.append(Node("Parameter", name=t.name, inputs=[t.name]))
        return m
    raise _error(source, "neither a ProgramDesc (.pdmodel), a PIR program (.json) nor "
                 "parameters (.pdiparams)")


# --- .pdiparams ----------------------------------------------------------------------------
def _record_head(buf, pos, end):
    """(position of the values, (dtype, dims)) of the tensor record at buf[pos:end];
    ValueError when it is not one. desc None: the TensorDesc does not parse."""
    def take(n):
        nonlocal pos
        if pos + n > end:
            raise ValueError("truncated")
        out = buf[pos:pos + n]
        pos += n
        return int.from_bytes(out, "little")
    if take(4) != 0:
        raise ValueError("version")
    levels = take(8)
    if levels > MAX_LOD_LEVELS:
        raise ValueError("lod levels")
    for _ in range(levels):
        n = take(8)
        if n > end - pos:
            raise ValueError("lod")
        pos += n
    if take(4) != 0:
        raise ValueError("tensor version")
    size = take(4)
    if not 0 < size <= MAX_DESC or pos + size > end:
        raise ValueError("desc size")
    desc = _tensor_desc(buf[pos:pos + size])
    return pos + size, desc


def _tensor_desc(data):
    """(dtype, dims) of a serialized TensorDesc, or None."""
    p, dtype, dims = 0, None, []
    while p < len(data):
        tag, p = varint_at(data, p)
        if tag is None:
            return None
        if tag == 0x08:
            v, p = varint_at(data, p)
            name = schema.ENUMS["VarType.Type"].get(v) if v is not None else None
            dtype = DTYPES.get(name)
            if dtype is None:
                return None
        elif tag == 0x10:
            v, p = varint_at(data, p)
            if v is None:
                return None
            dims.append(v - (1 << 64) if v >= 1 << 63 else v)
        elif tag == 0x12:
            n, p = varint_at(data, p)
            if n is None or p + n > len(data):
                return None
            q = p
            while q < p + n:
                v, q = varint_at(data, q)
                if v is None:
                    return None
                dims.append(v - (1 << 64) if v >= 1 << 63 else v)
            p += n
        else:
            return None
        if len(dims) > MAX_DIMS:
            return None
    if dtype is None or any(not 0 <= d <= MAX_DIM for d in dims):
        return None
    return dtype, dims


def read_params(source, m, names):
    """Tensors of a .pdiparams (added to m), in file order, named by `names` (the
    program's persistable variables sorted) or by position."""
    tensors, pos = [], 0
    decode = raw_decoder(source, FORMAT)

    def take(n, what):
        nonlocal pos
        if pos + n > source.size:
            raise _error(source, f"tensor {len(tensors)}: truncated in its {what} "
                         f"({n} bytes at byte {pos}, the file has {source.size:,})", pos)
        data = source.read(pos, n)
        pos += n
        return data

    while pos < source.size:
        if len(tensors) >= MAX_TENSORS:
            raise _error(source, too_many(len(tensors) + 1, "tensors", MAX_TENSORS), pos)
        start = pos
        what = f"tensor {len(tensors)}"
        if int.from_bytes(take(4, "version"), "little") != 0:
            raise _error(source, f"{what}: not a DenseTensor record (version is not 0)", start)
        levels = int.from_bytes(take(8, "lod"), "little")
        if levels > MAX_LOD_LEVELS:
            raise _error(source, f"{what}: {levels:,} lod levels", start + 4)
        for _ in range(levels):
            n = int.from_bytes(take(8, "lod"), "little")
            if n > source.size - pos:
                raise _error(source, f"{what}: its lod runs past the end of the file", pos)
            pos += n
        if int.from_bytes(take(4, "tensor version"), "little") != 0:
            raise _error(source, f"{what}: tensor version is not 0", pos - 4)
        size = int.from_bytes(take(4, "TensorDesc size"), "little", signed=True)
        if not 0 < size <= MAX_DESC:
            raise _error(source, f"{what}: a TensorDesc of {size:,} bytes", pos - 4)
        desc = _tensor_desc(take(size, "TensorDesc"))
        if desc is None:
            raise _error(source, f"{what}: its TensorDesc does not parse", pos - size)
        dtype, dims = desc
        nbytes = dtypes.storage_bytes(dtype, math.prod(dims))
        if nbytes > source.size - pos:
            raise _error(source, f"{what}: {nbytes:,} bytes of values run past the end of "
                         f"the file ({source.size:,} bytes)", pos)
        i = len(tensors)
        t = Tensor(names[i] if names is not None and i < len(names) else f"param_{i}",
                   dtype, tuple(dims))
        t.location = "inline"
        t.ref = (start, pos + nbytes - start)
        t.data = (pos, nbytes)
        t.decoder = decode
        tensors.append(m.add_tensor(t))
        pos += nbytes
    return tensors


def _params_companion(source, companions, m, names):
    """{name: Tensor} of the parameters beside a program (named by `names`), or {}."""
    if companions is None:
        return {}
    base = source.name
    low = base.lower()
    if low.endswith(".pdmodel") or low.endswith(".json"):
        wanted = [base[:base.rfind(".")] + ".pdiparams"]
    else:
        wanted = [posixpath.join(posixpath.dirname(base), "__params__"),
                  base + ".pdiparams"]
    ws = None
    for w in wanted:
        ws = companions(posixpath.basename(w))
        if ws is not None:
            break
    if ws is None:
        if names:
            m.warnings.append(f"parameters not read: no {posixpath.basename(wanted[0])} "
                              f"beside the program ({len(names)} persistable variables)")
        return {}
    try:
        tensors = read_params(ws, m, sorted(names))
    except ModelError as e:
        m.warnings.append(f"parameters not read: {e}")
        return {}
    m.metadata.append(["parameters", ws.name])
    if len(tensors) != len(names):
        m.warnings.append(f"{ws.name}: {len(tensors)} tensors for the program's "
                          f"{len(names)} persistable variables: names by sorted order")
    for t in tensors:
        t.location, t.file = "external", ws.name
    return {t.name: t for t in tensors}


# --- ProgramDesc ---------------------------------------------------------------------------
def _parse_program(source, companions):
    if source.size > MAX_PROGRAM_BYTES:
        raise _error(source, f"{source.size:,} bytes, more than the "
                     f"{MAX_PROGRAM_BYTES >> 20} MB Wetron reads as a program")
    r = Reader(source, FORMAT)
    try:
        program = BinaryDecoder(r, schema).message("ProgramDesc", 0, source.size)
    except RecursionError:
        raise _error(source, "nested too deeply") from None
    blocks = program.get("blocks") or []
    if not blocks:
        raise _error(source, "a ProgramDesc without blocks")
    ops = sum(len(b.get("ops") or ()) for b in blocks)
    if ops > MAX_NODES:
        raise _error(source, too_many(ops, "ops", MAX_NODES))
    m = Model(source.name, source.size, FORMAT)
    m.format_version = "ProgramDesc"
    version = last(last(program, "version", {}) or {}, "version")
    if type(version) is int and version > 0:
        m.producer = f"PaddlePaddle {version // 1000000}.{version // 1000 % 1000}." \
                     f"{version % 1000}"
    versions = last(program, "op_version_map")
    if versions:
        for pair in versions.get("pair", [])[:MAX_NODES]:
            name, v = last(pair, "op_name"), last(last(pair, "op_version", {}) or {}, "version")
            if isinstance(name, str) and type(v) is int:
                m.imports.append((name, v))
    persistable = {}
    for b in blocks:
        for v in b.get("vars") or ():
            name = last(v, "name")
            vtype = last(last(v, "type", {}) or {}, "type")
            if isinstance(name, str) and last(v, "persistable") and vtype not in HOLDERS:
                persistable.setdefault(name, v)
    weights = _params_companion(source, companions, m, list(persistable))
    for name, t in weights.items():
        declared = _var_type(persistable.get(name), None)
        if declared and declared[0] == "tensor" and declared[2] is not None and \
                tuple(declared[2]) != tuple(t.dims):
            t.error = (f"tensor '{name}': the parameters file gives {list(t.dims)}, the "
                       f"program declares {list(declared[2])}")
    _ProgramBuilder(m, source, blocks, weights).build()
    return m


def _var_type(var, feed_name):
    """The model type of a VarDesc; feed_name: the graph input it is (free sizes become
    symbols), or None."""
    if not isinstance(var, dict):
        return None
    vt = last(var, "type") or {}
    kind = last(vt, "type")
    if kind in ("DENSE_TENSOR", "SELECTED_ROWS", "DENSE_TENSOR_ARRAY"):
        holder = {"DENSE_TENSOR": "dense_tensor", "SELECTED_ROWS": None,
                  "DENSE_TENSOR_ARRAY": "tensor_array"}[kind]
        desc = last(last(vt, holder) or {}, "tensor") if holder else last(vt, "selected_rows")
        if not isinstance(desc, dict):
            return ("tensor", "undefined", None, "")
        dtype = DTYPES.get(last(desc, "data_type"), "undefined")
        dims = _dims(desc.get("dims") or [], feed_name)
        t = ("tensor", dtype, dims, "")
        if kind == "DENSE_TENSOR_ARRAY":
            return ("sequence", t, "")
        return t
    return ("opaque", DOMAIN, str(kind), "")


def _dims(raw, feed_name):
    if len(raw) > MAX_DIMS or any(type(d) is not int for d in raw):
        return None
    out = []
    for axis, d in enumerate(raw):
        if d >= 0:
            out.append(d)
        elif feed_name is None:
            out.append(None)
        elif axis == 0:
            out.append(BATCH)
        else:
            symbol = f"{feed_name}.dim{axis}"
            out.append(symbol if _IDENT.match(symbol) else None)
    return tuple(out)


class _ProgramBuilder:
    def __init__(self, m, source, blocks, weights):
        self.m, self.source, self.weights = m, source, weights
        self.blocks = {}
        for b in blocks:
            idx = last(b, "idx")
            if type(idx) is int and idx not in self.blocks:
                self.blocks[idx] = b
        self.built = {}       # block idx -> Graph
        self.used = set()     # weights given to a graph
        self.metadata = {}

    def error(self, message):
        return _error(self.source, message)

    def build(self):
        if 0 not in self.blocks:
            raise self.error("no block 0 (the main block)")
        self.graph(0, None, 0)
        unused = [n for n in self.weights if n not in self.used]
        if unused:
            self.m.warnings.append(f"{len(unused)} parameters no op reads "
                                   f"({', '.join(sorted(unused)[:5])}"
                                   f"{', …' if len(unused) > 5 else ''})")

    def slots(self, op):
        if op not in self.metadata:
            from ..ops import metadata
            d = metadata.describe(DOMAIN, op)
            self.metadata[op] = (tuple(d["inputs"]), tuple(d["outputs"])) if d else ((), ())
        return self.metadata[op]

    def graph(self, idx, parent, depth, outer=None):
        """The Graph of block idx; outer: the variables of the blocks around it. A
        sub-block's inputs are the outer variables it reads, its outputs the new values
        of those it writes (renamed "<var>@<n>" inside it)."""
        if depth > MAX_DEPTH:
            raise self.error(f"blocks nested deeper than {MAX_DEPTH}")
        block = self.blocks[idx]
        g = self.m.add_graph(Graph("" if idx == 0 else f"block {idx}"))
        g.parent = parent
        self.built[idx] = g
        vars_ = dict(outer or {})
        own = set()
        for v in block.get("vars") or ():
            name = last(v, "name")
            if isinstance(name, str) and name not in own:
                own.add(name)
                vars_[name] = v
        ops = block.get("ops") or []
        feeds, fetches = [], []
        for op in ops:
            t = last(op, "type")
            if t == "feed":
                feeds.extend((a, _attr_int(op, "col")) for a in _args(op, "outputs", "Out"))
            elif t == "fetch":
                fetches.extend((a, _attr_int(op, "col")) for a in _args(op, "inputs", "X"))
        feeds.sort(key=lambda x: x[1])
        fetches.sort(key=lambda x: x[1])
        current = {}          # variable -> its latest value name
        defined = set()
        for name, _ in feeds:
            g.inputs.append(name)
            defined.add(name)
            t = _var_type(vars_.get(name), name)
            if t is not None:
                g.types[name] = t
        for name in own:
            if name in self.weights and name not in defined:
                t = self.weights[name]
                g.initializers.append(t)
                g.types[name] = ("tensor", t.dtype, tuple(t.dims), "")
                self.used.add(name)
                defined.add(name)
        if idx != 0:          # outer variables read here: the sub-block's inputs
            for op in ops:
                for var in op.get("inputs") or ():
                    for a in var.get("arguments", []):
                        if isinstance(a, str) and a not in own and a not in defined:
                            defined.add(a)
                            g.inputs.append(a)
                            t = _var_type(vars_.get(a), None)
                            if t is not None:
                                g.types[a] = t
        for k, op in enumerate(ops):
            kind = last(op, "type")
            if not isinstance(kind, str):
                raise self.error(f"block {idx} op {k}: no type")
            if kind in ("feed", "fetch"):
                continue
            node = self.node(g, op, kind, current, vars_, defined, depth)
            g.nodes.append(node)
        g.outputs = [current.get(a, a) for a, _ in fetches]
        if idx != 0:
            g.outputs += [v for a, v in current.items() if a not in own]
        return g

    def node(self, g, op, kind, current, vars_, defined, depth):
        self.scope = vars_
        in_slots, out_slots = self.slots(kind)
        inputs = _ordered(op, "inputs", in_slots)
        outputs = _ordered(op, "outputs", out_slots)
        ins = [current.get(a, a) if a else "" for a in inputs]
        outs = []
        for a in outputs:
            if not a:
                outs.append("")
                continue
            name = a
            if name in defined:
                n = 1
                name = f"{a}@{n}"
                while name in defined:
                    n += 1
                    name = f"{a}@{n}"
            defined.add(name)
            current[a] = name
            outs.append(name)
            t = _var_type(vars_.get(a), None)
            if t is not None:
                g.types[name] = t
        scope = _attr_str(op, "op_namescope")
        first = next((a for a in outputs if a), kind)
        name = (scope if scope and scope != "/" else "") + first
        node = Node(kind, DOMAIN, name, ins, outs, [])
        for a in op.get("attrs") or ():
            self.scope = vars_
            attr = self.attribute(g, a, node, depth)
            if attr is not None:
                node.attributes.append(attr)
        return node

    def attribute(self, g, a, node, depth):
        name, kind = last(a, "name"), last(a, "type")
        if not isinstance(name, str) or name in SKIPPED_ATTRS:
            return None
        if kind == "INT":
            return Attribute(name, "int", last(a, "i", 0))
        if kind == "LONG":
            return Attribute(name, "int", last(a, "l", 0))
        if kind == "FLOAT":
            return Attribute(name, "float", last(a, "f", 0.0))
        if kind == "FLOAT64":
            return Attribute(name, "float", last(a, "float64", 0.0))
        if kind == "STRING":
            return Attribute(name, "string", last(a, "s", ""))
        if kind == "INTS":
            return Attribute(name, "ints", list(a.get("ints", [])))
        if kind == "LONGS":
            return Attribute(name, "ints", list(a.get("longs", [])))
        if kind == "FLOATS":
            return Attribute(name, "floats", list(a.get("floats", [])))
        if kind == "FLOAT64S":
            return Attribute(name, "floats", list(a.get("float64s", [])))
        if kind == "STRINGS":
            return Attribute(name, "strings", list(a.get("strings", [])))
        if kind == "BOOLEAN":
            return Attribute(name, "string", "true" if last(a, "b") else "false")
        if kind == "BOOLEANS":
            return Attribute(name, "strings", ["true" if b else "false" for b in a.get("bools", [])])
        if kind == "VAR":
            return Attribute(name, "string", last(a, "var_name", ""), doc="a variable's name")
        if kind == "VARS":
            return Attribute(name, "strings", list(a.get("vars_name", [])),
                             doc="variables' names")
        if kind == "SCALAR":
            return _scalar_attribute(name, last(a, "scalar"))
        if kind == "SCALARS":
            values = [_scalar_attribute(name, s) for s in a.get("scalars", [])]
            if all(v.type == "int" for v in values):
                return Attribute(name, "ints", [v.value for v in values])
            if all(v.type in ("int", "float") for v in values):
                return Attribute(name, "floats", [float(v.value) for v in values])
            return Attribute(name, "strings", [str(v.value) for v in values])
        if kind in ("BLOCK", "BLOCKS"):
            indices = [last(a, "block_idx")] if kind == "BLOCK" else a.get("blocks_idx", [])
            graphs = []
            for i in indices:
                if i not in self.blocks or i == 0 or i in self.built:
                    return Attribute(name, "ints", [x for x in indices if type(x) is int],
                                     doc="block indices that name no block of their own")
                graphs.append(self.graph(i, (g, len(g.nodes), name), depth + 1,
                                         self.scope))
            if kind == "BLOCK":
                return Attribute(name, "graph", graphs[0])
            return Attribute(name, "graphs", graphs)
        return Attribute(name, "string", f"(attribute type {kind})")


def _scalar_attribute(name, s):
    if not isinstance(s, dict):
        return Attribute(name, "string", "")
    kind = last(s, "type")
    if kind == "BOOLEAN":
        return Attribute(name, "string", "true" if last(s, "b") else "false")
    if kind == "LONG":
        return Attribute(name, "int", last(s, "i", 0))
    if kind == "FLOAT64":
        return Attribute(name, "float", last(s, "r", 0.0))
    c = last(s, "c") or {}
    return Attribute(name, "string", f"({last(c, 'r', 0.0)}{last(c, 'i', 0.0):+}j)")


def _args(op, field, slot):
    for var in op.get(field) or ():
        if last(var, "parameter") == slot:
            return [a for a in var.get("arguments", []) if isinstance(a, str)]
    return []


def _attr_int(op, name):
    for a in op.get("attrs") or ():
        if last(a, "name") == name:
            v = last(a, "i")
            return v if type(v) is int else 0
    return 0


def _attr_str(op, name):
    for a in op.get("attrs") or ():
        if last(a, "name") == name:
            v = last(a, "s")
            return v if isinstance(v, str) else ""
    return ""


def _ordered(op, field, slots):
    """The arguments of an op's slots in the order of `slots` (the op's definition: "X..."
    takes a list), "" for an empty slot before a bound one; slots the definition does not
    name follow in file order."""
    by_slot = {}
    for var in op.get(field) or ():
        p = last(var, "parameter")
        if isinstance(p, str):
            by_slot.setdefault(p, []).extend(
                a for a in var.get("arguments", []) if isinstance(a, str))
    out = []
    variadic = False
    for s in slots:
        many = s.endswith("...")
        args = by_slot.pop(s[:-3] if many else s, [])
        if many:
            variadic = True
            out.extend(args)
        else:
            out.append(args[0] if args else "")
            out.extend(args[1:])
    if not variadic or not by_slot:
        while out and out[-1] == "" and not variadic:
            out.pop()
    for args in by_slot.values():
        out.extend(args)
    return out if any(out) else []


# --- PIR -----------------------------------------------------------------------------------
def _parse_pir(source, companions):
    if source.size > MAX_PROGRAM_BYTES:
        raise _error(source, f"{source.size:,} bytes of JSON, more than the "
                     f"{MAX_PROGRAM_BYTES >> 20} MB Wetron reads as a program")
    doc = load_json(source.read(0, source.size), lambda message: _error(source, message),
                    "the PIR program")
    base = doc.get("base_code") if isinstance(doc, dict) else None
    if not isinstance(base, dict) or base.get("magic") != "pir":
        raise _error(source, 'no "base_code" with magic "pir"')
    program = doc.get("program")
    regions = program.get("regions") if isinstance(program, dict) else None
    if not isinstance(regions, list) or not regions or not isinstance(regions[0], dict) \
            or not isinstance(regions[0].get("blocks"), list) or not regions[0]["blocks"]:
        raise _error(source, "the program has no region with a block")
    m = Model(source.name, source.size, FORMAT)
    version = base.get("version")
    m.format_version = f"PIR program, version {version}" if type(version) is int \
        else "PIR program"
    builder = _PirBuilder(m, source)
    builder.collect(regions, 0)
    weights = _params_companion(source, companions, m, builder.persistable)
    builder.weights = weights
    for name, t in weights.items():
        declared = builder.persistable_types.get(name)
        if declared and declared[2] is not None and tuple(declared[2]) != tuple(t.dims):
            t.error = (f"tensor '{name}': the parameters file gives {list(t.dims)}, the "
                       f"program declares {list(declared[2])}")
    g = m.add_graph(Graph())
    builder.block(g, regions[0]["blocks"][0], 0)
    return m


class _PirBuilder:
    def __init__(self, m, source):
        self.m, self.source = m, source
        self.persistable = []          # names of parameters and constants, in file order
        self.persistable_types = {}
        self.weights = {}
        self.names = {}                # value id -> name, where not "%<id>"
        self.ops = 0

    def error(self, message):
        return _error(self.source, message)

    def collect(self, regions, depth):
        """Names of the persistable values (the .pdiparams), ops counted, depth bounded."""
        if depth > MAX_DEPTH:
            raise self.error(f"regions nested deeper than {MAX_DEPTH}")
        if not isinstance(regions, list):
            raise self.error("regions must be a list")
        for region in regions:
            blocks = region.get("blocks") if isinstance(region, dict) else None
            if not isinstance(blocks, list):
                raise self.error("a region without a blocks list")
            for block in blocks:
                ops = block.get("ops") if isinstance(block, dict) else None
                if not isinstance(ops, list):
                    raise self.error("a block without an ops list")
                self.ops += len(ops)
                if self.ops > MAX_NODES:
                    raise self.error(too_many(self.ops, "ops", MAX_NODES))
                for op in ops:
                    if not isinstance(op, dict):
                        raise self.error("an op that is not a JSON object")
                    name = self.persistable_name(op)
                    if name is not None and name not in self.persistable_types:
                        self.persistable.append(name)
                        result = op.get("O")
                        result = result[0] if isinstance(result, list) and result else result
                        self.persistable_types[name] = _pir_type(
                            result.get("TT") if isinstance(result, dict) else None, None)
                    if "regions" in op:
                        self.collect(op["regions"], depth + 1)

    @staticmethod
    def persistable_name(op):
        kind = op.get("#")
        if kind == "p":
            a = op.get("A")
            return a[3] if isinstance(a, list) and len(a) == 4 and isinstance(a[3], str) else None
        if kind == "0.constant":
            for a in op.get("A") or ():
                if isinstance(a, dict) and a.get("N") == "value":
                    at = a.get("AT") or {}
                    if isinstance(at, dict) and at.get("#") == "0.a_tensorname" and \
                            isinstance(at.get("D"), str):
                        return at["D"]
        return None

    def block(self, g, block, depth):
        if not isinstance(block, dict) or not isinstance(block.get("ops"), list):
            raise self.error("a block without an ops list")
        args = block.get("args") or []
        if not isinstance(args, list):
            raise self.error("block arguments must be a list")
        for arg in args:
            vid = arg.get("#") if isinstance(arg, dict) else None
            if type(vid) is not int:
                raise self.error("a block argument without an integer id")
            name = _arg_name(vid)
            g.inputs.append(name)
            t = _pir_type(arg.get("TT"), None)
            if t is not None:
                g.types[name] = t
        ops = block["ops"]
        parsed = [self.op_parts(op) for op in ops]
        # builtin.combine results used as op inputs, and builtin.split operands: folded
        combines, splits, uses, as_output = {}, {}, {}, set()
        for kind, ins, outs, _ in parsed:
            for v in ins:
                uses[v] = uses.get(v, 0) + 1
                if kind in PIR_OUTPUT_OPS or kind == "cf.yield":
                    as_output.add(v)
        for kind, ins, outs, _ in parsed:
            if kind == "builtin.combine" and len(outs) == 1 and outs[0][0] not in as_output:
                combines[outs[0][0]] = ins
            elif kind == "builtin.split" and len(ins) == 1 and uses.get(ins[0]) == 1:
                splits[ins[0]] = [v for v, _ in outs]
                for v, t in outs:
                    if t is not None:
                        g.types.setdefault(v, t)
        given = set()
        for (kind, ins, outs, op) in parsed:
            if kind == "p" or kind == "0.constant":
                name = self.persistable_name(op)
                t = self.weights.get(name)
                if t is not None and name not in given:
                    given.add(name)
                    g.initializers.append(t)
                    g.types[name] = ("tensor", t.dtype, tuple(t.dims), "")
                elif name is not None and outs:
                    g.types.setdefault(name, outs[0][1] or ("unknown", ""))
                    g.inputs.append(name)    # a parameter the .pdiparams does not give
                continue
            if kind in PIR_INPUT_OPS:
                for v, t in outs:
                    g.inputs.append(v)
                    if t is not None:
                        g.types[v] = t
                continue
            if kind in PIR_OUTPUT_OPS or kind == "cf.yield":
                g.outputs.extend(ins)
                continue
            if kind == "builtin.combine" and outs and outs[0][0] in combines:
                continue
            if kind == "builtin.split" and ins and ins[0] in splits:
                continue
            node_ins = []
            for v in ins:
                node_ins.extend(combines[v] if v in combines else [v])
            node_outs = []
            for v, t in outs:
                if v in splits:
                    node_outs.extend(splits[v])
                else:
                    node_outs.append(v)
                    if t is not None and v:
                        g.types[v] = t
            struct = ""
            attrs = []
            for name, at in self.attr_items(op):
                if name == "struct_name":
                    struct = at.get("D") if isinstance(at.get("D"), str) else ""
                if name in PIR_SKIPPED_ATTRS:
                    continue
                attrs.append(_pir_attribute(name, at))
            short = kind.split(".", 1)[-1]
            node = Node(kind, DOMAIN, (struct or "") + short, node_ins, node_outs, attrs)
            regions = op.get("regions") or []
            for r, region in enumerate(regions):
                for b, sub in enumerate(region.get("blocks") or []):
                    label = f"region{r}" if len(region["blocks"]) == 1 else f"region{r}.{b}"
                    child = self.m.add_graph(Graph(f"{node.name}/{label}"))
                    child.parent = (g, len(g.nodes), label)
                    self.block(child, sub, depth + 1)
                    node.attributes.append(Attribute(label, "graph", child))
            g.nodes.append(node)
        self.operand_values(g)

    @staticmethod
    def operand_values(g):
        """An IntArray operand that a pd_op.full_int_array gives (pool2d's kernel_size)
        also as the op's attribute of its slot's name, as the legacy op has it."""
        from ..ops import metadata
        given = {}
        for node in g.nodes:
            if node.op == "pd_op.full_int_array" and len(node.outputs) == 1:
                value = next((a.value for a in node.attributes
                              if a.name == "value" and a.type == "ints"), None)
                if value is not None:
                    given[node.outputs[0]] = value
        if not given:
            return
        for node in g.nodes:
            d = metadata.describe(DOMAIN, node.op)
            slots = d["inputs"] if d else ()
            names = {a.name for a in node.attributes}
            for i, v in enumerate(node.inputs):
                if v in given and i < len(slots) and not any(
                        s.endswith("...") for s in slots[:i + 1]) and slots[i] not in names:
                    node.attributes.append(Attribute(
                        slots[i], "ints", list(given[v]),
                        doc=f"the value of its {slots[i]} operand (pd_op.full_int_array)"))

    def attr_items(self, op):
        attrs = op.get("A") or []
        if not isinstance(attrs, list):
            raise self.error(f"op {op.get('#')!r}: attributes must be a list")
        for a in attrs:
            if isinstance(a, dict) and isinstance(a.get("N"), str) and \
                    isinstance(a.get("AT"), dict):
                yield a["N"], a["AT"]

    def op_parts(self, op):
        """(op name, input value names, [(output value name, type)], op)."""
        kind = op.get("#")
        if not isinstance(kind, str):
            raise self.error("an op without a name")
        if kind == "p":
            result = op.get("O")
            name = self.persistable_name(op)
            if not isinstance(result, dict) or type(result.get("%")) is not int or name is None:
                raise self.error("a parameter op without its name or result")
            self.names[result["%"]] = name
            return "p", [], [(name, _pir_type(result.get("TT"), None))], op
        if kind != "0.constant":
            dialect, _, rest = kind.partition(".")
            kind = f"{DIALECTS.get(dialect, dialect)}.{rest}" if rest else kind
        ins = op.get("I") or []
        outs = op.get("O") or []
        if not isinstance(ins, list) or not isinstance(outs, list):
            raise self.error(f"op {kind}: inputs and outputs must be lists")
        in_names = []
        for v in ins:
            vid = v.get("%") if isinstance(v, dict) else None
            if type(vid) is not int:
                raise self.error(f"op {kind}: an operand without an integer value id")
            in_names.append(self.name_of(vid))
        out_parts = []
        feed_name = None
        if kind in PIR_INPUT_OPS:
            for name, at in self.attr_items(op):
                if name == "name" and isinstance(at.get("D"), str):
                    feed_name = at["D"]
        for v in outs:
            if not isinstance(v, dict):
                raise self.error(f"op {kind}: a result that is not a JSON object")
            vid = v.get("%")
            if type(vid) is not int:
                raise self.error(f"op {kind}: a result without an integer value id")
            if feed_name is not None and vid:
                self.names[vid] = feed_name
            name = self.value(v)
            out_parts.append((name, _pir_type(v.get("TT"), feed_name)))
        if kind == "0.constant":
            name = self.persistable_name(op)
            if name is not None and outs and isinstance(outs[0], dict) and \
                    type(outs[0].get("%")) is int:
                self.names[outs[0]["%"]] = name
                out_parts = [(name, out_parts[0][1])]
        return kind, in_names, out_parts, op

    def name_of(self, vid):
        if vid == 0:
            return ""
        return self.names.get(vid) or _arg_name(vid)

    def value(self, v):
        vid = v.get("%")
        if type(vid) is not int:
            raise self.error("a value without an integer id")
        return self.name_of(vid)


def _arg_name(vid):
    return f"%arg{-vid}" if vid < 0 else f"%{vid}"


def _pir_type(tt, feed_name):
    if not isinstance(tt, dict):
        return None
    kind = tt.get("#")
    data = tt.get("D")
    if kind == "NULL":
        return None
    if kind in ("0.t_dtensor", "1.t_selected_rows", "1.t_dtensor_array"):
        if not isinstance(data, list) or len(data) < 2:
            return ("tensor", "undefined", None, "")
        elem = data[0].get("#") if isinstance(data[0], dict) else None
        dtype = PIR_DTYPES.get(elem.split(".", 1)[-1], "undefined") \
            if isinstance(elem, str) else "undefined"
        dims = _dims(data[1], feed_name) if isinstance(data[1], list) else None
        t = ("tensor", dtype, dims, "")
        return ("sequence", t, "") if kind == "1.t_dtensor_array" else t
    if kind == "4.t_dist_dtensor" and isinstance(data, list) and data:
        return _pir_type(data[0] if isinstance(data[0], dict) else None, feed_name)
    if isinstance(kind, str):
        return ("opaque", DOMAIN, kind.split(".", 1)[-1], "")
    return None


def _pir_attribute(name, at):
    kind = at.get("#")
    data = at.get("D")
    if "VD" in at and kind in ("0.a_f32", "0.a_f64"):
        special = {"NaN": math.nan, "INF": math.inf, "-INF": -math.inf}.get(at["VD"])
        return Attribute(name, "float", special) if special is not None else \
            Attribute(name, "string", str(at["VD"])[:MAX_TEXT])
    if kind == "0.a_bool" and type(data) is bool:
        return Attribute(name, "string", "true" if data else "false")
    if kind in ("0.a_i32", "0.a_i64", "0.a_index") and type(data) is int:
        return Attribute(name, "int", data)
    if kind == "0.a_f32" and type(data) in (int, float):   # a float32 written as a double
        return Attribute(name, "float", _float32(struct.pack("<f", data))
                         if abs(data) <= FLOAT32_MAX else float(data))
    if kind == "0.a_f64" and type(data) in (int, float):
        return Attribute(name, "float", float(data))
    if kind in ("0.a_str", "0.a_tensorname", "1.a_dtype", "1.a_layout") and \
            isinstance(data, str):
        return Attribute(name, "string", data)
    if kind == "1.a_intarray" and isinstance(data, list) and \
            all(type(x) is int for x in data):
        return Attribute(name, "ints", data)
    if kind == "1.a_scalar" and isinstance(data, list) and len(data) >= 2:
        v = data[1]
        if type(v) is bool:
            return Attribute(name, "string", "true" if v else "false")
        if type(v) is int:
            return Attribute(name, "int", v)
        if type(v) is float:
            return Attribute(name, "float", v)
    if kind == "0.a_array" and isinstance(data, list) and len(data) <= MAX_ITEMS:
        items = [_pir_attribute(name, x) if isinstance(x, dict) else None for x in data]
        if all(i is not None and i.type == "int" for i in items):
            return Attribute(name, "ints", [i.value for i in items])
        if all(i is not None and i.type in ("int", "float") for i in items):
            return Attribute(name, "floats", [float(i.value) for i in items])
        if all(i is not None and i.type == "string" for i in items):
            return Attribute(name, "strings", [i.value for i in items])
    text = json.dumps(data, separators=(",", ":"))[:MAX_TEXT] if data is not None else ""
    return Attribute(name, "string", text, doc=f"PIR attribute {kind}")
