"""TensorFlow: frozen GraphDef (.pb) and SavedModel (saved_model.pb + variables/).
TensorFlow.js (model.json) is its own format (tfjs.py) built on this module's graph builder.

Field numbers follow tensorflow/core/framework/{graph,node_def,attr_value,tensor,
tensor_shape,function,op_def,versions}.proto and core/protobuf/{saved_model,
meta_graph,saved_object_graph,trackable_object_graph,tensor_bundle}.proto.

Values are named as TensorFlow names tensors in node inputs: "x" is output 0 of node
x, "x:1" its output 1; inside functions "node:out_arg:0". A control dependency on node
x is the value "^x" (an extra output of x). Const nodes become weights (initializers)
feeding their consumers; FunctionDefs become functions with their own graphs, and
"func" attributes (PartitionedCall f, While body, If branches) name them.

A Placeholder's free dims (-1: set when the graph is run) are symbols, never taken at a
size (wetron.sizes): dim 0 is BATCH, as TensorFlow's input signatures and Keras have
it (the same in every input), any other is "<placeholder>.<axis>", its own. A
SavedModel's meta graph holds every signature's call and the saver's; one inference runs
one signature, the default one (serving_default, else the first), and Graph.run says so.
The main graph (graphs[0]) is that signature's forward pass (_signature_view: the calls
its outputs need inlined, the signature's inputs and outputs named by their aliases, each
captured variable handle its checkpoint weight, read by the function's ReadVariableOp);
the meta graph whole is the graph FULL_GRAPH, in Model.whole_graphs.

A SavedModel's variables are the checkpoint in variables/ (a tensor bundle: its index a
table of BundleEntryProto by key, values in data shards). Each is bound to the
VarHandleOps of the main graph that hold it as TensorFlow binds them: the loader's way
(the meta graph's object_graph_def names, per concrete function, the objects its captured
inputs are; a call passes their handles; the checkpoint's _CHECKPOINTABLE_OBJECT_GRAPH,
matched from the root by child names, gives each object's key), and the graph's own
restore op's (saver_def.restore_op_name: RestoreV2 outputs assigned to handles). A key
only the restore op reads, for a handle already bound to another key of the same values,
is that variable's second key (Keras' export writes each variable twice) and no weight
of its own.
"""
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Function, Graph, Model, Node, Tensor
from ..protobuf import Reader, varint_at, signed32, signed64, varint
from ..source import BytesSource
from ..util import MAX_NODES

FORMAT = "TensorFlow"
DOMAIN = "tf"   # the op registry's domain of TensorFlow's ops (wetron.ops.tf)
EXTENSIONS = (".pb",)
MAIN_FILES = ("saved_model.pb",)
COMPANIONS = (("variables/variables.index", "a SavedModel's variables: their index"),
              ("variables/variables.data-*-of-*", "a SavedModel's variables: their values"))
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True     # a graph without nodes is some other protobuf (Core ML starts alike)
MAX_DEPTH = 16                # func attributes inside func attributes
MAX_INDEX_BYTES = 256 << 20   # variables.index is read whole
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
BATCH = "batch"                            # the symbol of a Placeholder's free dim 0
DEFAULT_SIGNATURE = "serving_default"      # TensorFlow Serving's default signature key
_INIT_SIGNATURE = "__saved_model_init_op"  # (runs the initialisers: no inference)
FULL_GRAPH = "all of saved_model.pb"       # a SavedModel's meta graph whole, as a graph


def dtype_name(code):
    code = code - 100 if code > 100 else code
    return DTYPES.get(code, "undefined" if code == 0 else f"dtype{code}")


# --- recognising ---------------------------------------------------------------------

def _is_identifier(b):
    return bool(b) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or
                           c in b"/-.>" for c in b)


def looks_like_graph_def(head):
    """GraphDef: field 1 (a NodeDef) whose own fields 1 and 2 are a name and an op."""
    if len(head) < 6 or head[0] != 0x0A:
        return False
    _, p = varint_at(head, 1)
    if p >= len(head) or head[p] != 0x0A:
        return False
    n, p = varint_at(head, p + 1)
    if n is None or p + n + 2 > len(head) or head[p + n] != 0x12:
        return False
    m, q = varint_at(head, p + n + 1)
    if m is None or not 0 < m < 256 or q >= len(head):
        return False
    return _is_op_name(head[q:q + m])


def _is_op_name(b):
    return bool(b) and 65 <= b[0] <= 90 and _is_identifier(b)


def saved_model_score(head):
    """SavedModel: schema version (field 1), then a MetaGraphDef (field 2) that starts
    with its MetaInfoDef (field 1): 0.5 for that shape (ONNX starts with field 1 too,
    then a string; Core ML with field 1 and a message, as here), 0.9 when the schema
    version is 1 and the MetaInfoDef's op list starts with an op's name."""
    if len(head) < 6 or head[0] != 0x08:
        return 0.0
    version, p = varint_at(head, 1)
    if p >= len(head) or head[p] != 0x12:
        return 0.0
    _, p = varint_at(head, p + 1)
    if p >= len(head) or head[p] != 0x0A:
        return 0.0
    _, p = varint_at(head, p + 1)
    if p >= len(head) or head[p] not in (0x0A, 0x12, 0x1A, 0x22, 0x2A):
        return 0.0
    if version == 1 and head[p] == 0x12:    # stripped_op_list: OpList { OpDef { name } }
        _, q = varint_at(head, p + 1)
        if head[q:q + 1] == b"\x0a":
            _, q = varint_at(head, q + 1)
            if head[q:q + 1] == b"\x0a":
                n, q = varint_at(head, q + 1)
                if n is not None and 0 < n < 256 and _is_op_name(head[q:q + n]):
                    return 0.9
    return 0.5


def _pb_by_name(head, name):
    """A .pb file whose first byte could start a GraphDef (node, library, versions):
    recognised by its name only, so parse() says so if it is not one."""
    return name.lower().endswith(".pb") and head[:1] in (b"\x0a", b"\x12", b"\x22")


def match(head, name=""):
    if looks_like_graph_def(head):
        return 0.8
    saved = saved_model_score(head)
    if saved:
        return min(1.0, saved + (0.1 if name.lower().endswith(".pb") else 0.0))
    return 0.2 if _pb_by_name(head, name) else 0.0


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    r = Reader(source, FORMAT)
    p = _Parser(r, companions)
    if saved_model_score(head):
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
                g.nodes.append(Node("Const", DOMAIN, nd.name, [t.name], [f"^{nd.name}"]))
            continue
        node = Node(nd.op, DOMAIN, nd.name, nd.inputs, outputs, nd.attrs)
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
            dims = tuple(d if d >= 0 else _free_dim(nd.name, k) if d == -1 else None
                         for k, d in enumerate(shape.value))
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
    tout = attrs.get("Tout")   # (a function call's output dtypes, one per output)
    each = tout.value if tout is not None and tout.type == "strings" and \
        len(tout.value) == len(shapes.value) else None
    for k, (v, s) in enumerate(zip(outs, shapes.value)):
        dims = _parse_shape_text(s)
        g.types[v] = ("tensor", each[k] if each else dtype or "undefined", dims, "")


def _free_dim(placeholder, axis):
    """The symbol of a Placeholder's free dim (module docstring)."""
    if axis == 0:
        return BATCH
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in placeholder)
    return f"{name if name[:1].isalpha() else 'input_' + name}.{axis}"


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
        self.restore_op = ""        # the first meta graph's saver_def.restore_op_name
        self.object_graph = None    # and its object_graph_def (span)
        self.run_signature = None   # (key, inputs, outputs) of the signature one run runs

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
        if self.run_signature is not None:
            full = m.graphs[0]
            view = _signature_view(m, full, *self.run_signature)
            m.graphs.insert(0, view)
            for i, g in enumerate(m.graphs):
                g.index = i
            full.name = FULL_GRAPH
            m.whole_graphs.append(full)
            full.doc = ("The first meta graph whole: every signature's call, the saver's "
                        "save and restore calls, the variables' handles.")
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
            elif f == 3 and index == 0:   # SaverDef
                for h, hw, p, q in r.fields(x, x + y):
                    if h == 3 and hw == 2:
                        self.restore_op = _normalise(r.string(p, q), False)
            elif f == 7 and index == 0:
                self.object_graph = (x, y)
        if tags:
            g.name = ",".join(tags)
            g.metadata.append(["tags", ", ".join(tags)])
            if index == 0:
                m.metadata.append(["tags", ", ".join(tags)])
        if graph_def is not None:
            self.graph_def(g, *graph_def)
        entries = {}
        for key, at in signatures:
            entries[key] = self.signature(g, key, at)
        run = DEFAULT_SIGNATURE if entries.get(DEFAULT_SIGNATURE, ((), ()))[1] else next(
            (k for k, v in entries.items() if v[1] and k != _INIT_SIGNATURE), None)
        if run is not None:
            g.run = (f"signature '{run}'", [name for _, name, _, _ in entries[run][1]])
            if index == 0:
                self.run_signature = (run, *entries[run])

    def map_entry(self, a, b):
        key, value = "", None
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                key = self.r.string(x, y)
            elif f == 2 and w == 2:
                value = (x, y)
        return key, value

    def signature(self, g, key, at):
        """The signature's entries into g's metadata; returns its inputs and outputs,
        each [(alias, value name, dtype, dims)] (a tensor's name as the signature names
        it: the alias a caller passes or receives it by)."""
        r = self.r
        g.metadata.append(["signature", key])
        inputs, outputs = [], []
        if at is None:
            return inputs, outputs
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
                if name:
                    (inputs if f == 1 else outputs).append(
                        (alias, _normalise(name, False), dtype, dims))
            elif f == 3 and w == 2:
                g.metadata.append([f"signature.{key}.method", r.string(x, y)])
        return inputs, outputs

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

        objects, values = [], {}   # the checkpoint's object graph
        graph_entry = entries.pop("_CHECKPOINTABLE_OBJECT_GRAPH", None)
        if graph_entry is not None:
            name, src = shard(graph_entry["shard"])
            if src is not None:
                try:
                    data = _read_bundle_strings(src, graph_entry, 1)[0]
                    objects, values = _object_nodes(
                        Reader(BytesSource(data, src.name), FORMAT), 0, len(data), True)
                except ModelError as e:
                    m.warnings.append(f"unreadable object graph in '{name}': {e.detail}")
        feeds = self.bound_handles(g, objects, values)
        # A key the graph's own restore op gives a handle that a function's capture binds
        # to another key is a second key of that one variable (Keras' export saves each
        # variable twice: its Keras object and the tf.Variable under it): noted on the
        # first, not a weight of its own, when its dtype, shape and checksum are the same.
        first = {id(h): key for key, hs in feeds.items() for h in hs}
        others = {}   # key -> the other keys of its variable
        folded = set()
        for key, hs in self.restored_handles(g).items():
            firsts = {first.get(id(h)) for h in hs}
            bound = firsts.pop() if len(firsts) == 1 else None
            if key not in feeds and bound not in (None, key) and key in entries and \
                    _same_values(entries[key], entries[bound]):
                others.setdefault(bound, []).append(key)
                folded.add(key)
                continue
            feeds.setdefault(key, [])
            feeds[key].extend(h for h in hs if h not in feeds[key])
        full_names = {key: full for key, full in values.values()}
        for key, e in entries.items():
            if key in folded:
                continue
            t = Tensor(key, e["dtype"], e["dims"])
            t.location = "external"
            name, src = shard(e["shard"])
            t.file = name
            t.doc = full_names.get(key, "")
            if key in others:
                t.doc += f"{'; ' if t.doc else ''}also saved as {', '.join(others[key])} " \
                    "(the key the graph's own restore op reads for it)"
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
            for node in feeds.get(key, ()):
                node.inputs.append(key)

    def bound_handles(self, g, objects, values):
        """checkpoint key -> the VarHandleOps of g that hold it, as TensorFlow's loader
        binds variables to functions: the object graph's concrete functions list the
        objects their captured inputs (their last inputs) are (bound_inputs), a call in g
        passes their handles, and the checkpoint's object at the same path from the root
        (how its restore matches objects) names the key."""
        if self.object_graph is None or not objects:
            return {}
        r = self.r
        saved, _ = _object_nodes(r, *self.object_graph, False)
        same = _same_objects(saved, objects)
        bound = {}
        for f, w, x, y in r.fields(*_span(self.object_graph)):
            if f == 2 and w == 2:
                name, value = self.map_entry(x, y)
                if value is not None:
                    bound[name] = [signed32(v) for h, hw, p, q in r.fields(*_span(value))
                                   if h == 2 for v in self.varints(hw, p, q)]
        producer = _producers(g)
        out = {}
        for node in g.nodes:
            ids = bound.get(_attr_string(node, "f"))
            data = [v for v in node.inputs if not v.startswith("^")]
            if not ids or len(ids) > len(data):
                continue
            for v, obj in zip(data[len(data) - len(ids):], ids):
                h = producer.get(v)
                key = values.get(same.get(obj), ("",))[0]
                if key and h is not None and h.op == "VarHandleOp":
                    hs = out.setdefault(key, [])
                    if h not in hs:
                        hs.append(h)
        return out

    def restored_handles(self, g):
        """checkpoint key -> the variable nodes of g that the graph's own restore op
        (saver_def.restore_op_name: a call of the restore function, or TF1's
        save/restore_all in g) assigns it to: AssignVariableOp (Assign) of a RestoreV2
        output, whose tensor_names Const names the key."""
        node = next((n for n in g.nodes if n.name == self.restore_op), None)
        if node is None:
            return {}
        fn = next((f for f in self.m.functions if f.name == _attr_string(node, "f")), None)
        body, outer = g, {}
        if fn is not None:
            body = fn.graph
            outer = dict(zip(body.inputs, (v for v in node.inputs if not v.startswith("^"))))
        inner, main = _producers(body), _producers(g)
        weights = {t.name: t for t in body.initializers}
        names = {}   # RestoreV2 node name -> its tensor_names
        out = {}
        for n in body.nodes:
            if n.op not in ("AssignVariableOp", "Assign") or len(n.inputs) < 2:
                continue
            value, restore = _through_identity(n.inputs[1], inner)
            if restore is None or restore.op != "RestoreV2" or len(restore.inputs) < 2:
                continue
            if restore.name not in names:
                names[restore.name] = self.string_values(
                    weights.get(_through_identity(restore.inputs[1], inner)[0]), len(body.nodes))
            handle, h = _through_identity(n.inputs[0], inner)
            if handle in outer:
                _, h = _through_identity(outer[handle], main)
            port = value.rsplit(":", 1)[1] if ":" in value else "0"
            keys = names[restore.name]
            if h is not None and h.op in ("VarHandleOp", "VariableV2") and port.isascii() \
                    and port.isdigit() and int(port) < len(keys):
                hs = out.setdefault(keys[int(port)], [])
                if h not in hs:
                    hs.append(h)
        return out

    def string_values(self, t, limit):
        """The values of a string Const of at most `limit` elements ([] otherwise)."""
        if t is None or t.dtype != "string" or t.count > limit:
            return []
        try:
            return t.decoder(t, t.count)
        except ModelError:
            return []


# --- the signature one run runs, as the main graph ----------------------------------
_CALLS = ("PartitionedCall", "StatefulPartitionedCall")


class _View:
    """The graph being built by _signature_view: names in use, renames, call outputs
    standing for the function's returns."""

    def __init__(self, graph):
        self.g = graph
        self.nodes = set()     # node names in use
        self.values = set()    # value names in use
        self.inlined = set()   # function names inlined (each at most once: bounded)
        self.alias = {}        # a call's output value -> what its function returns there

    def unique(self, name, outputs):
        """`name` if it and the values named after it are free, else name_1, name_2..."""
        for k in range(len(self.nodes) + 2):
            new = name if k == 0 else f"{name}_{k}"
            renamed = [_renamed(o, name, new) for o in outputs]
            if new not in self.nodes and not any(o in self.values for o in renamed):
                self.nodes.add(new)
                self.values.update(renamed)
                return new, renamed
        raise AssertionError("unreachable: fewer names in use than tried")

    def resolve(self, value):
        """A value past the call outputs standing for others; None: a control input on
        an inlined call (it orders nothing left)."""
        for _ in range(len(self.alias) + 1):
            if value not in self.alias:
                return value
            value = self.alias[value]
            if value is None:
                return None
        return value


def _renamed(value, old, new):
    """A value of node `old` ("old", "old:1", "old:out:0", "^old") named after `new`."""
    if value.startswith("^"):
        return "^" + new
    return new + value[len(old):] if value.startswith(old) else value


def _signature_view(m, full, key, inputs, outputs):
    """The forward pass of signature `key` of the SavedModel's meta graph `full`: the
    nodes its outputs need, each call of a function (PartitionedCall,
    StatefulPartitionedCall) replaced by the function's body (recursively, each function
    at most once: a second call of one stays a call), the function's arguments its
    call's inputs, its returns the call's outputs. The signature's inputs are the graph's
    inputs, named by their aliases and typed by the signature; a variable handle
    (VarHandleOp) given a checkpoint key is that weight, so the function's ReadVariableOp
    of the captured handle reads the weight (TensorFlow runs that op: its output is the
    tensor the consumers take, as a frozen graph's Identity of the Const); its outputs
    are the graph's outputs, named by their aliases."""
    from ..cost import not_run
    g = Graph(key)
    g.metadata = [["signature", key]] + [e for e in full.metadata
                                         if e[0].startswith(f"signature.{key}.")]
    v = _View(g)
    weights = {t.name: t for t in full.initializers}
    fed = {name: alias for alias, name, _, _ in inputs}
    skipped = set(not_run(full))
    rename, outer = {}, []
    for i, node in enumerate(full.nodes):
        if i in skipped:
            continue
        out = node.outputs[0] if node.outputs else ""
        weight = next((weights[x] for x in node.inputs if x in weights), None) \
            if node.op == "VarHandleOp" else None
        if node.op == "Placeholder" and out in fed:
            alias = fed[out]
            rename[out] = alias
            dtype, dims = next((d, s) for a, _, d, s in inputs if a == alias)
            if dims is not None:
                dims = tuple(_free_dim(alias, k) if d is None else d
                             for k, d in enumerate(dims))
            g.inputs.append(alias)
            g.types[alias] = ("tensor", dtype, dims, "")
            v.values.add(alias)
        elif weight is not None:
            rename[out] = weight.name
            if weight.name not in v.values:
                g.initializers.append(weight)
                g.types[weight.name] = full.types[weight.name]
                v.values.add(weight.name)
        else:
            outer.append(node)
    # (a value only a signature names, "call:1", is no output of its node yet)
    named = {}
    for _, name, _, _ in outputs:
        named.setdefault(_producer(name), []).append(name)
    outer = [n if all(x in n.outputs for x in named.get(n.name, ())) else
             Node(n.op, n.domain, n.name, n.inputs, n.outputs + [
                 x for x in named[n.name] if x not in n.outputs], n.attributes)
             for n in outer]
    for node in outer:
        v.nodes.add(node.name)
        v.values.update(node.outputs)
    _emit(m, v, outer, full, rename, {}, 0)
    for node in g.nodes:
        node.inputs = [x for x in map(v.resolve, node.inputs) if x is not None]
    # NoOps left with no inputs (the wrapper's, on its inlined call) order nothing
    idle = {o for n in g.nodes if n.op == "NoOp" and not n.inputs for o in n.outputs}
    g.nodes = [n for n in g.nodes if not (n.op == "NoOp" and not n.inputs)]
    producer = _producers(g)
    for node in g.nodes:
        node.inputs = [x for x in node.inputs if x not in idle]
    names = {}   # the outputs' values -> their aliases
    for alias, name, dtype, dims in outputs:
        value = v.resolve(rename.get(name, name))
        if value in producer and value not in names and alias not in v.values:
            names[value] = alias
            v.values.add(alias)
        g.outputs.append(names.get(value, value))
        if g.outputs[-1] not in g.types and g.types.get(value) is None:
            g.types[g.outputs[-1]] = ("tensor", dtype, dims, "")
    if names:
        for node in g.nodes:
            node.inputs = [names.get(x, x) for x in node.inputs]
            node.outputs = [names.get(x, x) for x in node.outputs]
        for value, alias in names.items():
            if value in g.types:
                g.types[alias] = g.types.pop(value)
    return g


def _emit(m, v, nodes, source, rename, node_names, depth):
    """Nodes of graph `source` into the view, their values and names renamed by `rename`
    and `node_names` (source's -> the view's), each call of a function that can be
    inlined replaced by its body."""
    functions = {f.name: f for f in m.functions}
    for node in nodes:
        ins = [rename.get(x, x) for x in node.inputs]
        fn = functions.get(_attr_string(node, "f")) if node.op in _CALLS else None
        data = [x for x in ins if not x.startswith("^")]
        outs = [rename.get(o, o) for o in node.outputs]
        if fn is not None and _inlinable(v, fn, data, node.outputs, depth):
            v.inlined.add(fn.name)
            body = fn.graph
            inner, inner_names = dict(zip(body.inputs, data)), {}
            for t in body.initializers:
                inner[t.name] = t.name
                v.values.add(t.name)
                v.g.initializers.append(t)
                v.g.types[t.name] = body.types.get(t.name, ("tensor", t.dtype, tuple(t.dims), ""))
            for n in body.nodes:
                new, renamed = v.unique(n.name, n.outputs)
                inner.update(zip(n.outputs, renamed))
                inner_names[n.name] = new
            for o, at in zip(outs, node.outputs):
                v.alias[o] = None if o.startswith("^") else \
                    inner.get(body.outputs[_port(at)], body.outputs[_port(at)])
                if o in source.types and v.alias[o] is not None:
                    v.g.types.setdefault(v.alias[o], source.types[o])
            _emit(m, v, body.nodes, body, inner, inner_names, depth + 1)
            continue
        name = node_names.get(node.name, node.name)
        copy = Node(node.op, node.domain, name, ins, outs, node.attributes)
        copy.metadata, copy.doc = list(node.metadata), node.doc
        v.g.nodes.append(copy)
        for o, new in zip(node.outputs, outs):
            if o in source.types and new not in v.g.inputs:
                v.g.types.setdefault(new, source.types[o])


def _inlinable(v, fn, data, outputs, depth):
    """A call whose function's body can replace it: not inlined before (recursion, or a
    second call: it stays a call), within MAX_DEPTH, its arguments and returns those of
    the call, its weights' names free."""
    body = fn.graph
    return (fn.name not in v.inlined and depth < MAX_DEPTH and len(data) == len(body.inputs)
            and all(o.startswith("^") or _port(o) < len(body.outputs) and body.outputs[_port(o)]
                    for o in outputs)
            and not any(t.name in v.values for t in body.initializers))


def _port(value):
    """The output index a value names: "x" 0, "x:2" 2, "x:output:1" 1."""
    tail = value.rsplit(":", 1)[1] if ":" in value else "0"
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) < 8 else 0


def _attr_string(node, name):
    return next((a.value for a in node.attributes if a.name == name and a.type == "string"), "")


def _producers(g):
    """value name -> the node of g that computes it."""
    out = {}
    for n in g.nodes:
        for v in n.outputs:
            out.setdefault(v, n)
    return out


def _through_identity(value, producer):
    """(value, its producer) past the Identity nodes it comes through."""
    node = producer.get(value)
    for _ in range(len(producer)):
        if node is None or node.op != "Identity" or not node.inputs:
            break
        value = node.inputs[0]
        node = producer.get(value)
    return value, node


def _same_values(a, b):
    return (a["dtype"], a["dims"], a.get("crc32c")) == (b["dtype"], b["dims"], b.get("crc32c")) \
        and a.get("crc32c") is not None


def _object_nodes(r, a, b, with_values):
    """The nodes of a SavedObjectGraph or of a checkpoint's TrackableObjectGraph (both
    field 1, each with its children, field 1: ObjectReference {node_id, local_name}):
    per node {local_name: node id}; with_values (the checkpoint's), also {node id:
    (checkpoint key, full name)} of its VARIABLE_VALUE SerializedTensor (field 2)."""
    nodes, values = [], {}
    for f, w, x, y in r.fields(a, a + b):
        if f != 1 or w != 2:
            continue
        children = {}
        for h, hw, p, q in r.fields(x, x + y):
            if h == 1 and hw == 2:
                node_id, local = None, ""
                for k, kw, s, t in r.fields(p, p + q):
                    if k == 1 and kw == 0:
                        node_id = signed32(s)
                    elif k == 2 and kw == 2:
                        local = r.string(s, t)
                if node_id is not None:
                    children.setdefault(local, node_id)
            elif h == 2 and hw == 2 and with_values:
                attr = full = key = ""
                for k, kw, s, t in r.fields(p, p + q):
                    if k == 1 and kw == 2:
                        attr = r.string(s, t)
                    elif k == 2 and kw == 2:
                        full = r.string(s, t)
                    elif k == 3 and kw == 2:
                        key = r.string(s, t)
                if attr == "VARIABLE_VALUE" and key:
                    values[len(nodes)] = (key, full)
        nodes.append(children)
    return nodes, values


def _same_objects(saved, checkpoint):
    """SavedModel object id -> checkpoint object id: matched from the roots along children
    of the same local name."""
    if not saved or not checkpoint:
        return {}
    same, todo = {0: 0}, [0]
    while todo:
        s = todo.pop()
        for local, child in saved[s].items():
            c = checkpoint[same[s]].get(local)
            if c is not None and child not in same and 0 <= child < len(saved) and \
                    0 <= c < len(checkpoint):
                same[child] = c
                todo.append(child)
    return same


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
        elif f == 6 and w == 5:
            e["crc32c"] = x
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
