"""TensorFlow: frozen GraphDef (.pb), SavedModel (saved_model.pb + variables/), and
TensorFlow.js graph models (model.json + weight shards).

Field numbers follow tensorflow/core/framework/{graph,node_def,attr_value,tensor,
tensor_shape,function,op_def,versions}.proto and core/protobuf/{saved_model,
meta_graph,saved_object_graph,trackable_object_graph,tensor_bundle}.proto.

Values are named as TensorFlow names tensors in node inputs: "x" is output 0 of node
x, "x:1" its output 1; inside functions "node:out_arg:0". A control dependency on node
x is the value "^x" (an extra output of x). Const nodes become weights (initializers)
feeding their consumers; FunctionDefs become functions with their own graphs, and
"func" attributes (PartitionedCall f, While body, If branches) name them.
"""
import base64
import bisect
import json
import math
import posixpath
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Function, Graph, Model, Node, Tensor
from ..protobuf import Reader, signed32, signed64, varint
from ..source import BytesSource
from ..util import MAX_NODES, MAX_TENSORS, load_json, too_many

FORMAT = "TensorFlow"
FORMAT_JS = "TensorFlow.js"
MAX_DEPTH = 16                # func attributes inside func attributes
MAX_INDEX_BYTES = 256 << 20   # variables.index is read whole
MAX_JSON_BYTES = 32 << 20     # model.json: real ones are well under 10 MB (weights are in shards)
MAX_DIMS = 256
MAX_DIM = (1 << 63) - 1       # int64
MAX_PORT = 1 << 16            # output index in a node input "x:3"

# DataType enum (types.proto); 101+ are the _REF variants of 1+.
DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
          7: "string", 8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8",
          13: "qint32", 14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16",
          18: "complex128", 19: "float16", 20: "resource", 21: "variant", 22: "uint32",
          23: "uint64", 24: "float8e5m2", 25: "float8e4m3fn", 26: "float8e4m3fnuz",
          27: "float8e4m3b11fnuz", 28: "float8e5m2fnuz", 29: "int4", 30: "uint4",
          31: "int2", 32: "uint2", 33: "float4e2m1"}
_JSON_DTYPES = {"DT_" + v.upper().replace("FLOAT32", "FLOAT").replace("FLOAT64", "DOUBLE")
                .replace("FLOAT16", "HALF").replace("FLOAT8E", "FLOAT8_E")
                .replace("FLOAT4E2M1", "FLOAT4_E2M1FN"): k for k, v in DTYPES.items()}
# Quantized types are stored as their integer counterparts.
_STORED_AS = {"qint8": "int8", "quint8": "uint8", "qint16": "int16", "quint16": "uint16",
              "qint32": "int32"}
_NO_OUTPUTS = {"NoOp", "AssignVariableOp", "SaveV2", "Assert", "MergeV2Checkpoints"}
_SSTABLE_MAGIC = 0xdb4775248b80fb57


def dtype_name(code):
    code = code - 100 if code > 100 else code
    return DTYPES.get(code, "undefined" if code == 0 else f"dtype{code}")


# --- recognising ---------------------------------------------------------------------
def _varint(head, p):
    v = shift = 0
    while p < len(head) and shift < 64:
        b = head[p]
        p += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, p
        shift += 7
    return None, len(head)


def _is_identifier(b):
    return bool(b) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or
                           c in b"/-.>" for c in b)


def looks_like_graph_def(head):
    """GraphDef: field 1 (a NodeDef) whose own fields 1 and 2 are a name and an op."""
    if len(head) < 6 or head[0] != 0x0A:
        return False
    _, p = _varint(head, 1)
    if p >= len(head) or head[p] != 0x0A:
        return False
    n, p = _varint(head, p + 1)
    if n is None or p + n + 2 > len(head) or head[p + n] != 0x12:
        return False
    m, q = _varint(head, p + n + 1)
    if m is None or not 0 < m < 256 or q >= len(head):
        return False
    op = head[q:q + m]
    return 65 <= op[0] <= 90 and _is_identifier(op)


def looks_like_saved_model(head):
    """SavedModel: schema version (field 1), then a MetaGraphDef (field 2) that starts
    with its MetaInfoDef (field 1). ONNX starts with field 1 too, then a string."""
    if len(head) < 6 or head[0] != 0x08:
        return False
    _, p = _varint(head, 1)
    if p >= len(head) or head[p] != 0x12:
        return False
    _, p = _varint(head, p + 1)
    if p >= len(head) or head[p] != 0x0A:
        return False
    _, p = _varint(head, p + 1)
    return p < len(head) and head[p] in (0x0A, 0x12, 0x1A, 0x22, 0x2A)


def looks_like_tfjs(head, name):
    text = head.lstrip()
    return text[:1] == b"{" and (b'"modelTopology"' in head or b'"weightsManifest"' in head
                                 or b'"graph-model"' in head)


def _pb_by_name(head, name):
    """A .pb file whose first byte could start a GraphDef (node, library, versions):
    recognised by its name only, so parse() says so if it is not one."""
    return name.lower().endswith(".pb") and head[:1] in (b"\x0a", b"\x12", b"\x22")


def looks_like(head, name=""):
    return looks_like_graph_def(head) or looks_like_saved_model(head) or \
        looks_like_tfjs(head, name) or _pb_by_name(head, name)


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    if looks_like_tfjs(head, source.name):
        return _parse_tfjs(source, companions)
    r = Reader(source, FORMAT)
    p = _Parser(r, companions)
    if looks_like_saved_model(head):
        return p.saved_model()
    if looks_like_graph_def(head):
        return p.frozen_graph()
    try:
        m = p.frozen_graph()
    except ModelError as e:
        raise r.error(f"not a TensorFlow GraphDef (recognised by the .pb name only): "
                      f"{e.detail}", e.offset) from None
    if any(not n.op for n in m.graphs[0].nodes):
        raise r.error("not a TensorFlow GraphDef (recognised by the .pb name only): "
                      "nodes without an op")
    m.warnings.append("recognised as a TensorFlow GraphDef by the .pb name only")
    return m


# --- the graph builder, shared by protobuf and JSON ----------------------------------
class _NodeDef:
    __slots__ = ("name", "op", "inputs", "device", "attrs", "const")

    def __init__(self, name, op, inputs, device, attrs, const=None):
        self.name, self.op, self.inputs, self.device = name, op, inputs, device
        self.attrs = attrs      # [Attribute]
        self.const = const      # Tensor of a Const node's "value"


def _normalise(ref, in_function):
    """A node input as a value name: 'x:0' -> 'x' outside functions."""
    if not in_function and not ref.startswith("^") and ref.endswith(":0") and \
            ref.count(":") == 1:
        return ref[:-2]
    return ref


def _producer(value):
    return value.lstrip("^").split(":", 1)[0]


def build_graph(m, g, nodes, in_function=False, returns=()):
    """Nodes of one graph (main or function body) into `g`: Const nodes become
    weights, every other node a Node whose outputs are the values others read."""
    refs = {}    # producer -> referenced value names, first seen first
    for nd in nodes:
        nd.inputs = [_normalise(v, in_function) for v in nd.inputs]
        for v in nd.inputs:
            refs.setdefault(_producer(v), {}).setdefault(v, None)
    for v in returns:
        refs.setdefault(_producer(v), {}).setdefault(v, None)
    for nd in nodes:
        outputs = _outputs(m, nd, refs.get(nd.name, {}), in_function)
        control = any(v.startswith("^") for v in nd.inputs)
        if nd.op == "Const" and nd.const is not None and not control:
            t = nd.const
            if t.index < 0:
                m.add_tensor(t)
            t.name = outputs[0] if outputs and not outputs[0].startswith("^") else \
                (f"{nd.name}:output:0" if in_function else nd.name)
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
            if f"^{nd.name}" in refs.get(nd.name, {}):
                g.nodes.append(Node("Const", "", nd.name, [t.name], [f"^{nd.name}"]))
            continue
        node = Node(nd.op, "", nd.name, nd.inputs, outputs, nd.attrs)
        if nd.device:
            node.metadata.append(["device", nd.device])
        g.nodes.append(node)
        _output_types(g, nd, outputs)


def _outputs(m, nd, referenced, in_function):
    if in_function:
        outs = [v for v in referenced if not v.startswith("^")]
        if not outs and nd.op not in _NO_OUTPUTS:
            outs = [f"{nd.name}:output:0"]
    else:
        ports = [0] if nd.op not in _NO_OUTPUTS else []
        for v in referenced:
            if not v.startswith("^"):
                tail = v.split(":", 1)[1] if ":" in v else "0"
                digits = tail.isascii() and tail.isdigit()   # ('²' is a digit to isdigit)
                port = 0 if not digits else int(tail) if len(tail) < 8 else MAX_PORT + 1
                if port > MAX_PORT:   # one value name per port up to it would be made
                    raise ModelError(f"node '{nd.name}': an input names its output "
                                     f"{tail[:20]!r}, more than the {MAX_PORT:,} Wetron reads",
                                     m.file, m.format)
                ports.append(port)
        top = max(ports) if ports else -1
        outs = [nd.name if k == 0 else f"{nd.name}:{k}" for k in range(top + 1)]
    if f"^{nd.name}" in referenced:
        outs.append(f"^{nd.name}")
    return outs


def _output_types(g, nd, outputs):
    attrs = {a.name: a for a in nd.attrs}
    if nd.op == "Placeholder" and "dtype" in attrs and outputs:
        shape = attrs.get("shape")
        dims = None
        if shape is not None and shape.type == "ints":
            dims = tuple(None if d < 0 else d for d in shape.value)
        g.types[outputs[0]] = ("tensor", attrs["dtype"].value, dims, "")
        return
    shapes = attrs.get("_output_shapes")
    if shapes is None or shapes.type != "strings":
        return
    dtype = attrs["T"].value if "T" in attrs and attrs["T"].type == "string" else None
    if dtype is None and "dtype" in attrs and nd.op not in ("VarHandleOp",):
        dtype = attrs["dtype"].value
    if nd.op == "VarHandleOp":
        dtype = "resource"
    outs = [v for v in outputs if not v.startswith("^")]
    for v, s in zip(outs, shapes.value):
        dims = _parse_shape_text(s)
        g.types[v] = ("tensor", dtype or "undefined", dims, "")


def _shape_text(dims):
    if dims is None:
        return "?"
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"


def _parse_shape_text(s):
    """Dims of a shape written by _shape_text; None if unknown or not a shape."""
    if not (s.startswith("[") and s.endswith("]")):
        return None
    try:
        return tuple(None if d == "?" else int(d) for d in s[1:-1].split(",") if d)
    except ValueError:
        return None


def _bytes_text(b):
    """An attribute's bytes as text, or their size when they are not text."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(b)} bytes"
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return f"{len(b)} bytes"
    return text


def _splat(values, n, zero=0):
    """TensorProto typed fields may hold fewer values than the shape: the last repeats,
    and a tensor with no values at all is zeros."""
    if not values:
        return [zero] * n
    if len(values) < n:
        values = values + [values[-1]] * (n - len(values))
    return values[:n]


# --- protobuf ----------------------------------------------------------------------
class _Parser:
    def __init__(self, r, companions):
        self.r = r
        self.companions = companions
        self.nodes_seen = 0   # NodeDefs of the graph and its functions so far (MAX_NODES)
        self.m = Model(r.source.name, r.size, FORMAT)

    def error(self, message, offset=None):
        return self.r.error(message, offset)

    # --- files ---------------------------------------------------------------------
    def frozen_graph(self):
        r, m = self.r, self.m
        if r.size == 0:
            raise self.error("file is empty")
        g = m.add_graph(Graph("graph"))
        producer = self.graph_def(g, 0, r.size)
        m.format_version = f"GraphDef (producer {producer})" if producer is not None \
            else "GraphDef"
        if not g.nodes and not g.initializers and not m.functions:
            raise self.error("not a TensorFlow GraphDef: no nodes")
        return m

    def saved_model(self):
        r, m = self.r, self.m
        version, metas = 0, []
        for f, w, a, b in r.fields(0, r.size):
            if f == 1 and w == 0:
                version = signed64(a)
            elif f == 2 and w == 2:
                metas.append((a, b))
        if not metas:
            raise self.error("SavedModel without a MetaGraphDef")
        m.format = FORMAT
        m.format_version = f"SavedModel v{version}"
        for i, (a, b) in enumerate(metas):
            self.meta_graph(a, b, i)
        self.variables(m.graphs[0])
        return m

    def meta_graph(self, a, b, index):
        r, m = self.r, self.m
        g = m.add_graph(Graph(f"meta graph {index}"))
        signatures, graph_def = [], None
        tags = []
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f == 1:
                for h, hw, p, q in r.fields(x, x + y):
                    if h == 4 and hw == 2:
                        tags.append(r.string(p, q))
                    elif h == 5 and hw == 2 and not m.producer:
                        m.producer = f"TensorFlow {r.string(p, q)}"
            elif f == 2:
                graph_def = (x, y)
            elif f == 5:
                signatures.append(self.map_entry(x, y))
        if tags:
            g.name = ",".join(tags)
            g.metadata.append(["tags", ", ".join(tags)])
            if index == 0:
                m.metadata.append(["tags", ", ".join(tags)])
        if graph_def is not None:
            self.graph_def(g, *graph_def)
        for key, at in signatures:
            self.signature(g, key, at)

    def map_entry(self, a, b):
        key, value = "", None
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                key = self.r.string(x, y)
            elif f == 2 and w == 2:
                value = (x, y)
        return key, value

    def signature(self, g, key, at):
        r = self.r
        g.metadata.append(["signature", key])
        if at is None:
            return
        for f, w, x, y in r.fields(*_span(at)):
            if f in (1, 2) and w == 2:
                alias, info = self.map_entry(x, y)
                name, dtype, dims = "", "undefined", None
                if info is not None:
                    for h, hw, p, q in r.fields(*_span(info)):
                        if h == 1 and hw == 2:
                            name = r.string(p, q)
                        elif h == 2 and hw == 0:
                            dtype = dtype_name(signed32(p))
                        elif h == 3 and hw == 2:
                            dims = self.shape(p, q)
                label = "input" if f == 1 else "output"
                typ = f" {dtype}{_shape_text(dims)}" if dtype != "undefined" else ""
                g.metadata.append([f"signature.{key}.{label}.{alias}",
                                   _normalise(name, False) + typ])
            elif f == 3 and w == 2:
                g.metadata.append([f"signature.{key}.method", r.string(x, y)])

    # --- GraphDef and functions ----------------------------------------------------
    def graph_def(self, g, a, b):
        r = self.r
        nodes, library, producer = [], None, None
        for f, w, x, y in r.fields(a, a + b):
            if f == 1 and w == 2:
                nodes.append((x, y))
                self.count_node(a, b)
            elif f == 2 and w == 2:
                library = (x, y)
            elif f == 4 and w == 2:
                for h, hw, p, q in r.fields(x, x + y):
                    if h == 1 and hw == 0:
                        producer = signed64(p)
            elif w == 4 or w == 3:
                raise self.error("not a TensorFlow GraphDef (group wire types)", x)
        bodies = []
        if library is not None:
            for f, w, x, y in r.fields(*_span(library)):
                if f == 1 and w == 2:
                    bodies.append(self.function_signature(x, y))
        defs = [self.node_def(x, y, False) for x, y in nodes]
        build_graph(self.m, g, defs)
        for fn, node_defs, returns in bodies:
            body = [self.node_def(x, y, True) for x, y in node_defs]
            fn.graph.outputs = [returns.get(o, "") for o in fn.outputs]
            build_graph(self.m, fn.graph, body, True, [v for v in fn.graph.outputs if v])
        return producer

    def function_signature(self, a, b):
        """A FunctionDef: its Function (graph registered by name), node spans, ret map."""
        r, m = self.r, self.m
        name, inputs, outputs, attrs, node_defs, returns = "", [], [], [], [], {}
        g = m.add_graph(Graph())
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f == 1:   # OpDef
                for h, hw, p, q in r.fields(x, x + y):
                    if hw != 2:
                        continue
                    if h == 1:
                        name = r.string(p, q)
                    elif h in (2, 3):
                        arg, dtype = self.arg_def(p, q)
                        (inputs if h == 2 else outputs).append(arg)
                        if h == 2:
                            g.types[arg] = ("tensor", dtype, None, "")
                    elif h == 4:
                        for k, kw, s, t in r.fields(p, p + q):
                            if k == 1 and kw == 2:
                                attrs.append(r.string(s, t))
            elif f == 3:
                node_defs.append((x, y))
                self.count_node(a, b)
            elif f == 4:
                key, value = self.map_entry(x, y)
                if value is not None:
                    returns[key] = r.string(*value)
        g.name = name
        g.inputs = inputs
        fn = Function(name, "", "", inputs, outputs, attrs, g, [])
        m.functions.append(fn)
        return fn, node_defs, returns

    def count_node(self, a, b):
        """One more NodeDef: over MAX_NODES, the error, before any node is parsed
        (the ones past the limit are not even counted)."""
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise self.error(f"more than {MAX_NODES:,} nodes (in a message of {b:,} bytes), "
                             "the most Wetron opens", a)

    def arg_def(self, a, b):
        name, dtype = "", "undefined"
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                name = self.r.string(x, y)
            elif f == 3 and w == 0:
                dtype = dtype_name(signed32(x))
        return name, dtype

    def node_def(self, a, b, in_function):
        r = self.r
        name = op = device = ""
        inputs, attrs = [], []
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f == 1:
                name = r.string(x, y)
            elif f == 2:
                op = r.string(x, y)
            elif f == 3:
                inputs.append(r.string(x, y))
            elif f == 4:
                device = r.string(x, y)
            elif f == 5:
                attrs.append((x, y))
        const = None
        out = []
        for x, y in attrs:
            key, value = self.map_entry(x, y)
            if op == "Const" and key == "value" and value is not None:
                for f, w, x2, y2 in r.fields(*_span(value)):
                    if f == 8 and w == 2:
                        const = self.tensor(x2, y2, name)
                if const is not None:
                    continue
            out.append(self.attr_value(key, value, 0))
        return _NodeDef(name, op, inputs, device, out, const)

    def attr_value(self, name, at, depth):
        r = self.r
        if at is None:
            return Attribute(name, "undefined", None)
        for f, w, x, y in r.fields(*_span(at)):
            if f == 1 and w == 2:
                return self.list_value(name, x, y)
            if f == 2 and w == 2:
                return Attribute(name, "string", _bytes_text(r.bytes(x, y)))
            if f == 3 and w == 0:
                return Attribute(name, "int", signed64(x))
            if f == 4 and w == 5:
                return Attribute(name, "float", _float32(x))
            if f == 5 and w == 0:
                return Attribute(name, "string", "true" if x else "false")
            if f == 6 and w == 0:
                return Attribute(name, "string", dtype_name(signed32(x)))
            if f == 7 and w == 2:
                return _shape_attr(name, self.shape(x, y))
            if f == 8 and w == 2:
                return Attribute(name, "tensor", self.m.add_tensor(self.tensor(x, y, name)))
            if f == 9 and w == 2:
                return Attribute(name, "undefined", None, ref=r.string(x, y))
            if f == 10 and w == 2:
                return self.func_attr(name, x, y, depth)
        return Attribute(name, "undefined", None)

    def func_attr(self, name, a, b, depth):
        """A function by name: the Function of that name holds its graph."""
        fname = ""
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                fname = self.r.string(x, y)
        return Attribute(name, "string", fname)

    def list_value(self, name, a, b):
        r = self.r
        strings, ints, floats, bools, types, shapes, tensors, funcs = ([] for _ in range(8))
        for f, w, x, y in r.fields(a, a + b):
            if f == 2 and w == 2:
                strings.append(_bytes_text(r.bytes(x, y)))
            elif f == 3:
                ints.extend(signed64(v) for v in self.varints(w, x, y))
            elif f == 4:
                if w == 2:
                    if y % 4:
                        raise self.error(f"attribute '{name}': packed floats not a multiple "
                                         "of 4 bytes", x)
                    floats.extend(struct.unpack(f"<{y // 4}f", r.bytes(x, y)))
                elif w == 5:
                    floats.append(_float32(x))
            elif f == 5:
                bools.extend("true" if v else "false" for v in self.varints(w, x, y))
            elif f == 6:
                types.extend(dtype_name(signed32(v)) for v in self.varints(w, x, y))
            elif f == 7 and w == 2:
                shapes.append(_shape_text(self.shape(x, y)))
            elif f == 8 and w == 2:
                tensors.append(self.m.add_tensor(self.tensor(x, y, name)))
            elif f == 9 and w == 2:
                for h, hw, p, q in r.fields(x, x + y):
                    if h == 1 and hw == 2:
                        funcs.append(r.string(p, q))
        for kind, values in (("strings", strings), ("ints", ints), ("floats", floats),
                             ("strings", bools), ("strings", types), ("strings", shapes),
                             ("tensors", tensors), ("strings", funcs)):
            if values:
                return Attribute(name, kind, values)
        return Attribute(name, "ints", [])

    def varints(self, w, x, y):
        if w == 0:
            return [x]
        if w == 2:
            return self.r.packed_varints(x, y)
        return []

    def shape(self, a, b):
        dims = []
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 3 and w == 0 and x:
                return None
            if f == 2 and w == 2:
                if len(dims) >= MAX_DIMS:
                    raise self.error(f"shape with more than {MAX_DIMS} dimensions", x)
                size = 0
                for h, hw, p, q in self.r.fields(x, x + y):
                    if h == 1 and hw == 0:
                        size = signed64(p)
                dims.append(None if size < 0 else size)
        return tuple(dims)

    # --- tensors -------------------------------------------------------------------
    def tensor(self, a, b, name):
        r = self.r
        dtype, dims, content = "undefined", (), None
        for f, w, x, y in r.fields(a, a + b):
            if f == 1 and w == 0:
                dtype = dtype_name(signed32(x))
            elif f == 2 and w == 2:
                dims = self.shape(x, y)
            elif f == 4 and w == 2:
                content = (x, y)
        t = Tensor(name, dtype, tuple(0 if d is None else d for d in (dims or ())))
        t.location = "inline"
        t.ref = (a, b)
        if dims is None:
            t.error = f"tensor '{name}' has an unknown rank"
        if content is not None and dtype != "string":
            t.data = content
        t.decoder = self.decode_tensor
        return t

    def decode_tensor(self, t, n):
        r, dtype = self.r, t.dtype
        stored = _STORED_AS.get(dtype, dtype)
        if t.data is not None:
            if stored not in dtypes.BITS or stored == "string":
                raise r.error(f"tensor '{t.name}': {dtype} values are not decoded", t.data[0])
            data = r.bytes(t.data[0], min(t.data[1], dtypes.storage_bytes(stored, n)))
            try:
                return dtypes.decode_raw(stored, data, n)
            except (struct.error, ValueError):
                raise r.error(f"tensor '{t.name}': {len(data)} bytes are too few for {n} "
                              f"{dtype} values", t.data[0]) from None
        out = []
        for f, w, x, y in r.fields(*_span(t.ref)):
            if len(out) >= n:
                break
            if f == 5:        # float_val
                out.extend(struct.unpack(f"<{y // 4}f", r.bytes(x, y - y % 4)) if w == 2
                           else [_float32(x)] if w == 5 else [])
            elif f == 6:      # double_val
                out.extend(struct.unpack(f"<{y // 8}d", r.bytes(x, y - y % 8)) if w == 2
                           else [struct.unpack("<d", x.to_bytes(8, "little"))[0]] if w == 1
                           else [])
            elif f == 7:      # int_val: int32, int16, int8, uint8, uint16, qint*
                out.extend(signed32(v) for v in self.varints(w, x, y))
            elif f == 10:     # int64_val
                out.extend(signed64(v) for v in self.varints(w, x, y))
            elif f in (16, 17):
                out.extend(self.varints(w, x, y))
            elif f == 11:     # bool_val
                out.extend(bool(v) for v in self.varints(w, x, y))
            elif f == 13:     # half_val: float16/bfloat16 bits
                out.extend(self.varints(w, x, y))
            elif f == 8 and w == 2:
                out.append(r.bytes(x, y).decode("utf-8", "replace"))
            elif f in (9, 12):  # scomplex_val / dcomplex_val: re, im pairs
                size = 4 if f == 9 else 8
                if w == 2:
                    out.extend(struct.unpack(f"<{y // size}{'f' if f == 9 else 'd'}",
                                             r.bytes(x, y - y % size)))
            elif f == 18 and w == 2:   # float8_val: one byte each
                out.extend(r.bytes(x, y))
        if dtype in ("float16", "bfloat16"):
            out = dtypes.decode_codes(dtype, out)
        elif dtype.startswith("complex"):
            out = [[out[i], out[i + 1]] for i in range(0, len(out) - 1, 2)]
        elif dtype in dtypes._TABLES and dtypes.BITS.get(dtype) == 8:
            out = dtypes.decode_raw(dtype, bytes(v & 0xFF for v in out), len(out))
        elif dtype in ("int8", "uint8", "int16", "uint16", "qint8", "quint8", "qint16",
                       "quint16"):
            out = dtypes.decode_codes(_STORED_AS.get(dtype, dtype), out)
        zero = ("" if dtype == "string" else False if dtype == "bool" else
                [0.0, 0.0] if dtype.startswith("complex") else
                0.0 if "float" in dtype else 0)
        return _splat(out, n, zero)

    # --- SavedModel variables --------------------------------------------------------
    def variables(self, g):
        m = self.m
        index_name = "variables/variables.index"
        index = self.companions(index_name) if self.companions else None
        if index is None:
            m.warnings.append(f"companion '{index_name}' not found beside {m.file}: "
                              "variable names and values are not shown")
            return
        entries, num_shards = read_bundle_index(index)
        shards = {}

        def shard(i):
            if i not in shards:
                name = f"variables/variables.data-{i:05d}-of-{num_shards:05d}"
                shards[i] = (name, self.companions(name))
                if shards[i][1] is None:
                    m.warnings.append(f"companion '{name}' not found beside {m.file}: "
                                      "variable values are not shown")
            return shards[i]

        full_names = {}
        graph_entry = entries.pop("_CHECKPOINTABLE_OBJECT_GRAPH", None)
        if graph_entry is not None:
            name, src = shard(graph_entry["shard"])
            if src is not None:
                try:
                    data = _read_bundle_strings(src, graph_entry, 1)[0]
                    full_names = _checkpoint_names(data, src.name)
                except ModelError as e:
                    m.warnings.append(f"unreadable object graph in '{name}': {e.detail}")
        handles = {}
        for node in g.nodes:
            if node.op == "VarHandleOp":
                for a in node.attributes:
                    if a.name == "shared_name" and a.type == "string":
                        handles.setdefault(a.value, node)
        for key, e in entries.items():
            t = Tensor(key, e["dtype"], e["dims"])
            t.location = "external"
            name, src = shard(e["shard"])
            t.file = name
            t.doc = full_names.get(key, "")
            if src is None:
                t.error = f"companion '{name}' not found beside {m.file}"
            elif e["offset"] + e["size"] > src.size:
                t.error = f"tensor '{key}' lies outside '{name}' ({src.size} bytes)"
            else:
                t.data = (e["offset"], e["size"])
                t.decoder = _bundle_decoder(src)
            m.add_tensor(t)
            g.initializers.append(t)
            g.types[key] = ("tensor", t.dtype, tuple(t.dims), "")
            node = handles.get(full_names.get(key))
            if node is not None:
                node.inputs.append(key)


def _shape_attr(name, dims):
    if dims is None:
        return Attribute(name, "string", "?")
    return Attribute(name, "ints", [-1 if d is None else d for d in dims])


def _span(at):
    return at[0], at[0] + at[1]


def _float32(bits):
    return struct.unpack("<f", bits.to_bytes(4, "little"))[0]


# --- tensor bundles (variables.index / variables.data-*) -----------------------------
def read_bundle_index(source):
    """{key: {dtype, dims, shard, offset, size}} and the number of data shards, from a
    TensorFlow tensor-bundle index: a LevelDB-format table of BundleEntryProto."""
    fmt = "TensorFlow"
    size = source.size
    if size < 48:
        raise ModelError("too short for a tensor bundle index", source.name, fmt)
    if size > MAX_INDEX_BYTES:
        raise ModelError(f"index larger than {MAX_INDEX_BYTES} bytes", source.name, fmt)
    data = source.read(0, size)
    r = Reader(BytesSource(data, source.name), fmt)
    if struct.unpack_from("<Q", data, size - 8)[0] != _SSTABLE_MAGIC:
        raise ModelError("not a tensor bundle index (no table magic number)", source.name,
                         fmt, size - 8)
    footer = data[size - 48:size - 8]
    p = 0
    handles = []
    for _ in range(4):
        v, p = varint(r, footer, p, len(footer), size - 48)
        handles.append(v)
    entries, num_shards = {}, 1
    for _key, value in _block(r, data, handles[2], handles[3]):
        off, q = varint(r, value, 0, len(value), 0)
        length, q = varint(r, value, q, len(value), 0)
        for key, entry in _block(r, data, off, length):
            if key == b"":
                for f, w, x, y in Reader(BytesSource(entry, source.name), fmt).fields(
                        0, len(entry)):
                    if f == 1 and w == 0:
                        num_shards = max(1, signed32(x))
                continue
            entries[key.decode("utf-8", "replace")] = _bundle_entry(entry, source.name)
    return entries, num_shards


def _block(r, data, offset, length):
    """(key, value) of one table block (prefix-compressed keys, restart array)."""
    if offset + length + 5 > len(data) or length < 4:
        raise r.error(f"table block [{offset}, {offset + length}) outside the index", offset)
    if data[offset + length] != 0:
        raise r.error("compressed table blocks (snappy) are not supported", offset + length)
    block = data[offset:offset + length]
    restarts = struct.unpack_from("<I", block, length - 4)[0]
    end = length - 4 - 4 * restarts
    if end < 0:
        raise r.error("bad restart count in a table block", offset)
    p, key = 0, b""
    while p < end:
        shared, p = varint(r, block, p, end, offset)
        own, p = varint(r, block, p, end, offset)
        vlen, p = varint(r, block, p, end, offset)
        if shared > len(key) or p + own + vlen > end:
            raise r.error("corrupt table block entry", offset + p)
        key = key[:shared] + block[p:p + own]
        p += own
        yield key, block[p:p + vlen]
        p += vlen


def _bundle_entry(value, name):
    r = Reader(BytesSource(value, name), "TensorFlow")
    e = {"dtype": "undefined", "dims": (), "shard": 0, "offset": 0, "size": 0}
    for f, w, x, y in r.fields(0, len(value)):
        if f == 1 and w == 0:
            e["dtype"] = dtype_name(signed32(x))
        elif f == 2 and w == 2:
            dims = []
            for h, hw, p, q in r.fields(x, x + y):
                if h == 2 and hw == 2:
                    size = 0
                    for k, kw, s, _ in r.fields(p, p + q):
                        if k == 1 and kw == 0:
                            size = signed64(s)
                    dims.append(max(size, 0))
            e["dims"] = tuple(dims)
        elif f == 3 and w == 0:
            e["shard"] = signed32(x)
        elif f == 4 and w == 0:
            e["offset"] = signed64(x)
        elif f == 5 and w == 0:
            e["size"] = signed64(x)
        elif f == 7:
            e["slices"] = True
    if e["offset"] < 0 or e["size"] < 0:
        raise ModelError("negative offset or size in a tensor bundle entry", name, "TensorFlow")
    return e


def _read_bundle_strings(src, e, n):
    """String tensors in a bundle: n varint lengths, a 4-byte checksum, the bytes."""
    data = src.read(e["offset"], e["size"]) if isinstance(e, dict) else src.read(*e)
    r = Reader(BytesSource(data, src.name), "TensorFlow")
    p, lengths = 0, []
    for _ in range(n):
        v, p = varint(r, data, p, len(data), 0)
        lengths.append(v)
    p += 4
    out = []
    for length in lengths:
        if p + length > len(data):
            raise r.error("string tensor data shorter than its lengths say", p)
        out.append(data[p:p + length])
        p += length
    return out


def _bundle_decoder(src):
    def decode(t, n):
        if t.dtype == "string":
            return [b.decode("utf-8", "replace")
                    for b in _read_bundle_strings(src, t.data, n)]
        stored = _STORED_AS.get(t.dtype, t.dtype)
        if stored not in dtypes.BITS:
            raise ModelError(f"tensor '{t.name}': {t.dtype} values are not decoded",
                             src.name, FORMAT)
        data = src.read(t.data[0], min(t.data[1], dtypes.storage_bytes(stored, n)))
        try:
            return dtypes.decode_raw(stored, data, n)
        except (struct.error, ValueError):
            raise ModelError(f"tensor '{t.name}': {len(data)} bytes are too few for {n} "
                             f"{t.dtype} values", src.name, FORMAT, t.data[0]) from None
    return decode


def _checkpoint_names(data, name):
    """checkpoint key -> variable name (e.g. 'dense/kernel'), from the checkpoint's
    TrackableObjectGraph."""
    r = Reader(BytesSource(data, name), "TensorFlow")
    out = {}
    for f, w, x, y in r.fields(0, len(data)):
        if f != 1 or w != 2:
            continue
        for h, hw, p, q in r.fields(x, x + y):
            if h != 2 or hw != 2:
                continue
            full = key = ""
            for k, kw, s, t in r.fields(p, p + q):
                if k == 2 and kw == 2:
                    full = r.string(s, t)
                elif k == 3 and kw == 2:
                    key = r.string(s, t)
            if key:
                out[key] = full
    return out


# --- TensorFlow.js -------------------------------------------------------------------
def _parse_tfjs(source, companions):
    if source.size > MAX_JSON_BYTES:
        raise ModelError(f"{source.size:,} bytes of JSON, more than the {MAX_JSON_BYTES:,} "
                         "Wetron reads for a model.json", source.name, FORMAT_JS)
    doc = load_json(source.read(0, source.size),
                    lambda message: ModelError(message, source.name, FORMAT_JS), "the file")
    if not isinstance(doc, dict):
        raise ModelError("not a TensorFlow.js model: the JSON is not an object",
                         source.name, FORMAT_JS)
    return _TfjsParser(source, companions, doc).model()


def _json_int(v, default=0):
    """An int64 written as a JSON number or string (TF.js writes int64 as text);
    `default` for anything else, or for a value outside int64."""
    if isinstance(v, str) and len(v) > 21:
        return default
    try:
        v = int(v)
    except (TypeError, ValueError, OverflowError):   # (OverflowError: int(1e400))
        return default
    return v if -MAX_DIM - 1 <= v <= MAX_DIM else default


class _TfjsParser:
    def __init__(self, source, companions, doc):
        self.source, self.companions, self.doc = source, companions, doc
        self.m = Model(source.name, source.size, FORMAT_JS)
        self.shard_sources = {}   # path -> Source or None: each shard opened once
        self.warned = set()       # (the model's warnings, for a quick membership test)

    def shard_source(self, path):
        if path not in self.shard_sources:
            src = None
            if self.companions is not None and _plain_relative(path):
                src = self.companions(posixpath.normpath(path))
            self.shard_sources[path] = src
        return self.shard_sources[path]

    def warn(self, message):
        if message not in self.warned:
            self.warned.add(message)
            self.m.warnings.append(message)

    def error(self, message):
        return ModelError(message, self.source.name, FORMAT_JS)

    def model(self):
        doc, m = self.doc, self.m
        kind = doc.get("format")
        m.format_version = str(kind or "")
        m.producer = " / ".join(str(doc[k]) for k in ("generatedBy", "convertedBy")
                                if doc.get(k))
        topology = doc.get("modelTopology")
        if not isinstance(topology, dict):
            raise self.error("no modelTopology object")
        library = topology.get("library")
        functions = [f for f in library["function"] if isinstance(f, dict)] \
            if isinstance(library, dict) and isinstance(library.get("function"), list) else []
        # Counted from the lists before anything is built for them.
        n_nodes = len(_list(topology.get("node"))) + sum(
            len(_list(f.get("nodeDef"))) for f in functions)
        if n_nodes > MAX_NODES:
            raise self.error(too_many(n_nodes, "nodes", MAX_NODES))
        manifest = doc.get("weightsManifest")
        n_weights = sum(len(_list(group.get("weights"))) for group in _list(manifest)
                        if isinstance(group, dict))
        if n_weights > MAX_TENSORS:
            raise self.error(too_many(n_weights, "weights", MAX_TENSORS))
        weights = self.weights(manifest)
        if "node" not in topology:
            return self.layers_model(topology, weights)
        g = m.add_graph(Graph("graph"))
        bodies = [self.function_signature(fdef) for fdef in functions]
        nodes = [self.node_def(nd, weights, False) for nd in _list(topology.get("node"))]
        build_graph(m, g, nodes)
        for fn, node_defs, returns in bodies:
            fn.graph.outputs = [returns.get(o, "") for o in fn.outputs]
            body = [self.node_def(nd, weights, True) for nd in node_defs]
            build_graph(m, fn.graph, body, True, [v for v in fn.graph.outputs if v])
        for t in weights.values():          # weights no node names: still listed
            if t.index < 0:
                m.add_tensor(t)
                g.initializers.append(t)
        signature = doc.get("signature")
        if isinstance(signature, dict):
            for label in ("inputs", "outputs"):
                for alias, info in (signature.get(label) or {}).items():
                    if isinstance(info, dict):
                        g.metadata.append([f"signature.{label[:-1]}.{alias}",
                                           _normalise(str(info.get("name", "")), False)])
        meta = doc.get("userDefinedMetadata")
        if isinstance(meta, dict):
            for k, v in meta.items():
                m.metadata.append([str(k), v if isinstance(v, str) else json.dumps(v)])
        return m

    def layers_model(self, topology, weights):
        """A layers model: its topology is a Keras model config, read by the Keras
        format's config reader; weights ('dense/kernel') feed their layer's node."""
        from . import keras
        m = self.m
        config = topology.get("model_config", topology)
        if not isinstance(config, dict) or "config" not in config:
            raise self.error("modelTopology is neither a GraphDef nor a Keras model config")
        keras._Builder(m, None).build(config)
        g = m.graphs[0]
        nodes = {n.name: n for n in g.nodes}
        for t in weights.values():
            m.add_tensor(t)
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
            layer = t.name.rsplit("/", 1)[0]
            node = nodes.get(layer) or nodes.get(layer.split("/", 1)[-1])
            if node is not None:
                node.inputs.append(t.name)
        return m

    def function_signature(self, fdef):
        sig = fdef.get("signature") if isinstance(fdef.get("signature"), dict) else {}
        name = str(sig.get("name", ""))
        g = self.m.add_graph(Graph(name))
        inputs = [str(a.get("name", "")) for a in _list(sig.get("inputArg")) if isinstance(a, dict)]
        outputs = [str(a.get("name", "")) for a in _list(sig.get("outputArg"))
                   if isinstance(a, dict)]
        g.inputs = inputs
        fn = Function(name, "", "", inputs, outputs,
                      [str(a.get("name", "")) for a in _list(sig.get("attr"))
                       if isinstance(a, dict)], g, [])
        self.m.functions.append(fn)
        ret = fdef.get("ret") if isinstance(fdef.get("ret"), dict) else {}
        return fn, _list(fdef.get("nodeDef")), {str(k): str(v) for k, v in ret.items()}

    def node_def(self, nd, weights, in_function):
        if not isinstance(nd, dict):
            raise self.error("a node is not a JSON object")
        name, op = str(nd.get("name", "")), str(nd.get("op", ""))
        inputs = [str(v) for v in _list(nd.get("input"))]
        attrs, const = [], None
        attr = nd.get("attr") if isinstance(nd.get("attr"), dict) else {}
        for key, value in attr.items():
            if op == "Const" and key == "value":
                const = weights.get(name)
                if const is None and isinstance(value, dict) and isinstance(
                        value.get("tensor"), dict):
                    const = self.json_tensor(name, value["tensor"])
                continue
            attrs.append(self.json_attr(str(key), value, 0))
        return _NodeDef(name, op, inputs, str(nd.get("device", "")), attrs, const)

    def json_tensor(self, name, t):
        dtype = dtype_name(_JSON_DTYPES.get(t.get("dtype"), 0))
        shape = _json_shape(t.get("tensorShape"))
        tensor = Tensor(name, dtype, tuple(0 if d is None else d for d in shape or ()))
        tensor.error = f"tensor '{name}': its values are not in model.json"
        return tensor

    def json_attr(self, name, v, depth):
        if not isinstance(v, dict) or not v:
            return Attribute(name, "undefined", None)
        if depth > MAX_DEPTH:
            raise self.error(f"attribute '{name}' nested deeper than {MAX_DEPTH}")
        if "s" in v:
            return Attribute(name, "string", _b64_text(v["s"]))
        if "i" in v:
            return Attribute(name, "int", _json_int(v["i"]))
        if "f" in v:
            return Attribute(name, "float", _json_float(v["f"]))
        if "b" in v:
            return Attribute(name, "string", "true" if v["b"] else "false")
        if "type" in v:
            return Attribute(name, "string", dtype_name(_JSON_DTYPES.get(v["type"], 0)))
        if "shape" in v:
            return _shape_attr(name, _json_shape(v["shape"]))
        if "tensor" in v and isinstance(v["tensor"], dict):
            return Attribute(name, "tensor", self.m.add_tensor(self.json_tensor(name,
                                                                                 v["tensor"])))
        if "func" in v and isinstance(v["func"], dict):
            return Attribute(name, "string", str(v["func"].get("name", "")))
        if "placeholder" in v:
            return Attribute(name, "undefined", None, ref=str(v["placeholder"]))
        if "list" in v and isinstance(v["list"], dict):
            lst = v["list"]
            for key, kind, conv in (("s", "strings", _b64_text), ("i", "ints", _json_int),
                                    ("f", "floats", _json_float),
                                    ("b", "strings", lambda b: "true" if b else "false"),
                                    ("type", "strings",
                                     lambda t: dtype_name(_JSON_DTYPES.get(t, 0))),
                                    ("shape", "strings",
                                     lambda s: _shape_text(_json_shape(s)))):
                if _list(lst.get(key)):
                    return Attribute(name, kind, [conv(x) for x in _list(lst[key])])
            return Attribute(name, "ints", [])
        return Attribute(name, "undefined", None)

    # --- weights ---------------------------------------------------------------------
    def weights(self, manifest):
        """{name: Tensor} of every weight, located in its group's shard files."""
        out = {}
        for group in _list(manifest):
            if not isinstance(group, dict):
                continue
            paths = [str(p) for p in _list(group.get("paths"))]
            shards = _Shards(self, paths)
            offset = 0
            for w in _list(group.get("weights")):
                if not isinstance(w, dict):
                    continue
                name = str(w.get("name", ""))
                shape = _list(w.get("shape"))
                if len(shape) > MAX_DIMS:
                    raise self.error(f"weight '{name}': shape of {len(shape):,} dimensions")
                shape = tuple(_json_dim(d) for d in shape)
                if None in shape:
                    raise self.error(f"weight '{name}': a dimension of its shape is not an "
                                     "int64 size")
                dtype = str(w.get("dtype", "float32"))
                quant = w.get("quantization") if isinstance(w.get("quantization"), dict) \
                    else None
                stored = str(quant.get("dtype")) if quant else dtype
                count = math.prod(shape)
                t = Tensor(name, dtype, shape)
                t.location = "external"
                if stored == "string":
                    length = shards.string_bytes(offset, count)
                else:
                    length = dtypes.storage_bytes(stored, count)
                    if stored not in dtypes.BITS:
                        t.error = f"weight '{name}': unknown dtype '{stored}'"
                if length is None:
                    t.error = (f"weight '{name}': its strings cannot be located "
                               f"({shards.missing or 'bad string lengths'})")
                    length = 0
                where = shards.locate(offset, length)
                if where is None:
                    t.error = t.error or shards.problem(offset, length)
                else:
                    t.file, t.data = where
                t.doc = json.dumps(quant) if quant else ""
                t.decoder = _tfjs_decoder(shards, offset, stored, quant)
                offset += length
                out[name] = t
        return out


class _Shards:
    """A weights group's shard files, read as one concatenated byte range."""

    def __init__(self, parser, paths):
        self.parser = parser
        self.paths = paths
        self.sources = []
        self.missing = ""
        for p in paths:
            src = parser.shard_source(p)
            if src is None:
                self.missing = self.missing or f"weights file '{p}' not found beside " \
                    f"{parser.source.name}"
                parser.warn(self.missing)
            self.sources.append(src)
        # Where each shard ends in the concatenation: a weight is located by bisection
        # (a group may list many shards, for many weights).
        self.ends, self.total = [], 0
        if not self.missing:
            for src in self.sources:
                self.total += src.size
                self.ends.append(self.total)

    def problem(self, offset, length):
        if self.missing:
            return self.missing
        return f"weight bytes [{offset}, {offset + length}) lie past the end of its shards"

    def locate(self, offset, length):
        """(shard path, (offset in it, length)) where the range starts, or None."""
        if self.missing or offset + length > self.total or not self.paths:
            return None
        # the first shard ending past offset; for an empty range, ending at it or past
        ends = self.ends
        i = (bisect.bisect_left if length == 0 else bisect.bisect_right)(ends, offset)
        if i == len(ends):
            return self.paths[-1], (offset - self.total, length)
        return self.paths[i], (offset - (ends[i] - self.sources[i].size), length)

    def read(self, offset, length):
        if self.missing:
            raise self.parser.error(self.missing)
        out = []
        i = bisect.bisect_right(self.ends, offset)   # the first shard ending past offset
        while i < len(self.sources) and length and offset + length > self.ends[i] - \
                self.sources[i].size:
            src, start = self.sources[i], self.ends[i] - self.sources[i].size
            lo, hi = max(offset, start), min(offset + length, start + src.size)
            if lo < hi:
                out.append(src.read(lo - start, hi - lo))
            i += 1
        data = b"".join(out)
        if len(data) != length:
            raise self.parser.error(f"weight bytes [{offset}, {offset + length}) lie past the "
                                    "end of its shards")
        return data

    def string_bytes(self, offset, count):
        """Bytes taken by `count` strings (uint32 length + bytes each) at `offset`."""
        if self.missing or count * 4 > self.total - offset:
            return None
        p = offset
        try:
            for _ in range(count):
                n = struct.unpack("<I", self.read(p, 4))[0]
                p += 4 + n
        except ModelError:
            return None
        return p - offset


def _tfjs_decoder(shards, offset, stored, quant):
    def decode(t, n):
        if stored == "string":
            out, p = [], offset
            for _ in range(n):
                k = struct.unpack("<I", shards.read(p, 4))[0]
                out.append(shards.read(p + 4, k).decode("utf-8", "replace"))
                p += 4 + k
            return out
        data = shards.read(offset, min(t.data[1], dtypes.storage_bytes(stored, n)))
        values = dtypes.decode_raw(stored, data, n)
        if quant and stored in ("uint8", "uint16", "int8", "int16"):
            scale = _json_float(quant.get("scale", 1.0))
            low = _json_float(quant.get("min", 0.0))
            values = [v * scale + low for v in values]
        return values
    return decode


def _plain_relative(path):
    parts = path.replace("\\", "/").split("/")
    return bool(path) and not path.startswith(("/", "\\")) and ".." not in parts and \
        ":" not in parts[0]


def _list(v):
    return v if isinstance(v, list) else []


def _json_dim(v):
    """A size from JSON: 0 for what is not a number (as before), None for a number
    outside int64 (1e400, 10**30: to be rejected, not carried into products)."""
    n = _json_int(v, None)
    if n is not None:
        return max(0, n)
    try:
        float(v)
    except (TypeError, ValueError):
        return 0
    return None


def _json_float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def _b64_text(s):
    try:
        return _bytes_text(base64.b64decode(str(s), validate=False))
    except ValueError:
        return str(s)


def _json_shape(s):
    if not isinstance(s, dict):
        return ()
    if s.get("unknownRank"):
        return None
    return tuple(_json_shape_dim(d.get("size", 0) if isinstance(d, dict) else 0)
                 for d in _list(s.get("dim"))[:MAX_DIMS])


def _json_shape_dim(v):
    """A TensorShapeProto size: None (unknown) if negative or outside int64."""
    n = _json_int(v, None)
    if n is not None:
        return None if n < 0 else n
    return 0 if _json_dim(v) == 0 else None
