"""ONNX (ModelProto) -> the graph model, read lazily through protobuf.Reader.

Field numbers follow onnx/onnx-ml.proto (IR 11+). Weights are never read while
parsing: a tensor records where its bytes are (inline raw data, typed repeated
fields, or an external file) and `decode_tensor` reads them on request.
"""
import math
import posixpath
import struct
from array import array

from .. import dtypes
from ..util import MAX_NODES
from ..model import Attribute, Function, Graph, Model, Node, Tensor
from ..protobuf import IN_MEMORY, Reader, _field_zero, _scalar, varint_at, signed32, signed64, varint

FORMAT = "ONNX"
MAX_DEPTH = 64          # nesting of graphs in attributes / functions
MAX_TYPE_DEPTH = 32     # nesting of sequence/map/optional types
MAX_DIMS = 1024
MAX_ITEMS = 50_000_000  # repeated scalars in one attribute

ATTR_TYPES = {1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats",
              7: "ints", 8: "strings", 9: "tensors", 10: "graphs", 11: "sparse_tensor",
              12: "sparse_tensors", 13: "type_proto", 14: "type_protos"}
EXTENSIONS = (".onnx",)
COMPANIONS = (("*.data", "external data: the weights' bytes in the files the model names "
                         "(usually model.onnx.data), beside it"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
# ModelProto fields and the wire type each must have: a first look at whether a
# file is ONNX at all.
_MODEL_WIRES = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
_TEXT_FIELDS = (2, 3, 4)    # producer_name, producer_version, domain


def match(head, name=""):
    """ONNX has no magic number: the ModelProto's top-level fields in the head are
    checked instead (known field numbers with their wire types, an IR version, producer
    and domain as text), then the extension."""
    score, p, seen = 0.0, 0, 0
    while p < len(head) and seen < 16:
        tag, p = varint_at(head, p)
        if tag is None or _MODEL_WIRES.get(tag >> 3) != (tag & 7):
            if not seen:
                return 0.0
            break   # a field this reader does not know: the evidence so far stands
        seen += 1
        field = tag >> 3
        if field == 1 and seen == 1:
            score = 0.3
        elif seen == 1:
            score = 0.2
        if tag & 7 == 0:
            value, p = varint_at(head, p)
            if value is None:
                break
            if field == 1 and 1 <= value <= 64:
                score += 0.2
            continue
        length, p = varint_at(head, p)
        if length is None:
            break
        if field in _TEXT_FIELDS:
            text = head[p:p + length]
            if any(c < 0x20 or c == 0x7F for c in text):
                return 0.0   # a message or binary data where ONNX keeps a name
            score += 0.1
        elif field in (7, 8):   # the graph, an opset import
            score += 0.1
            break
        p += length
    if score and name.lower().endswith(EXTENSIONS):
        score += 0.3
    return min(score, 0.95)



def parse(source, companions=None):
    r = Reader(source, FORMAT)
    if source.size == 0:
        raise r.error("file is empty")
    if not match(source.read(0, min(source.size, 64))):
        raise r.error("not an ONNX model: the file does not start like a protobuf ModelProto")
    return _Parser(r, companions).model()


class _Parser:
    def __init__(self, r, companions):
        self.r = r
        self.companions = companions
        self.m = Model(r.source.name, r.size, FORMAT)
        self._external = {}  # location -> Source or None (missing)
        self.nodes_seen = 0  # nodes of every graph and function so far (MAX_NODES)

    # --- model ---------------------------------------------------------------
    def model(self):
        r, m = self.r, self.m
        ir = None
        graph_at = None
        functions, training = [], []
        producer = version = ""
        for f, w, a, b in r.fields(0, r.size):
            if f == 1 and w == 0:
                ir = signed64(a)
            elif f == 2 and w == 2:
                producer = r.string(a, b)
            elif f == 3 and w == 2:
                version = r.string(a, b)
            elif f == 4 and w == 2:
                m.domain = r.string(a, b)
            elif f == 5 and w == 0:
                m.model_version = signed64(a)
            elif f == 6 and w == 2:
                m.doc = r.string(a, b)
            elif f == 7 and w == 2:
                graph_at = (a, b)
            elif f == 8 and w == 2:
                m.imports.append(self.opset(a, b))
            elif f == 14 and w == 2:
                m.metadata.append(self.entry(a, b))
            elif f == 20 and w == 2:
                training.append((a, b))
            elif f == 25 and w == 2:
                functions.append((a, b))
        if graph_at is None and not functions:
            raise r.error("no graph and no functions: not an ONNX model, or an empty one")
        m.format_version = f"IR {ir}" if ir is not None else ""
        m.producer = " ".join(p for p in (producer, version) if p)
        main = m.add_graph(Graph())
        if graph_at is not None:
            self.graph(main, *graph_at, depth=0)
        for a, b in functions:
            m.functions.append(self.function(a, b))
        for a, b in training:
            m.training.append(self.training_info(a, b))
        # Tensors keep this parser (their decoder); without its model, the model is not
        # in a reference cycle and is freed as soon as it is dropped.
        self.m = None
        return m

    def opset(self, a, b):
        domain, version = "", 0
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                domain = self.r.string(x, y)
            elif f == 2 and w == 0:
                version = signed64(x)
        return (domain, version)

    def entry(self, a, b):
        key = value = ""
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                key = self.r.string(x, y)
            elif f == 2 and w == 2:
                value = self.r.string(x, y)
        return [key, value]

    # --- graphs --------------------------------------------------------------
    def graph(self, g, start, length, depth):
        if depth > MAX_DEPTH:
            raise self.r.error(f"subgraphs nested deeper than {MAX_DEPTH}", start)
        r = self.r
        nodes, value_info = array("q"), []   # nodes: offset, length, ... (lean: 16 B each)
        budget = MAX_NODES - self.nodes_seen
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                nodes.append(a)
                nodes.append(b)
                if len(nodes) > 2 * budget:   # checked before any node is parsed
                    raise self.too_many_nodes(start, length)
            elif f == 2:
                g.name = r.string(a, b)
            elif f == 5:
                t = self.tensor(a, b)
                g.initializers.append(t)
            elif f == 15:
                g.initializers.append(self.sparse_tensor(a, b))
            elif f == 10:
                g.doc = r.string(a, b)
            elif f == 11:
                g.inputs.append(self.value_info(g, a, b))
            elif f == 12:
                g.outputs.append(self.value_info(g, a, b))
            elif f == 13:
                value_info.append((a, b))
            elif f == 16:
                g.metadata.append(self.entry(a, b))
        # Nodes are parsed after the graph's own fields so that subgraphs get indices
        # after their parent, in file order.
        self.nodes_seen += len(nodes) // 2
        for k in range(0, len(nodes), 2):
            g.nodes.append(self.node(g, nodes[k], nodes[k + 1], depth))
        for a, b in value_info:
            self.value_info(g, a, b, only_if_new=True)
        return g

    def too_many_nodes(self, start, length):
        """The error for a model over MAX_NODES, raised as soon as the count passes
        it: the nodes past it are not even counted (a file can hold 100M tiny ones)."""
        return self.r.error(f"more than {MAX_NODES:,} nodes (in a graph of {length:,} bytes), "
                            "the most Wetron opens", start)

    def value_info(self, g, a, b, only_if_new=False):
        name, typ = "", None
        for f, w, x, y in self.r.fields(a, a + b):
            if f == 1 and w == 2:
                name = self.r.string(x, y)
            elif f == 2 and w == 2:
                typ = self.type(x, y, 0)
        if typ is not None and not (only_if_new and name in g.types):
            g.types[name] = typ
        return name

    def type(self, a, b, depth):
        if depth > MAX_TYPE_DEPTH:
            raise self.r.error(f"types nested deeper than {MAX_TYPE_DEPTH}", a)
        r = self.r
        kind, inner, denotation = "unknown", None, ""
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f == 6:
                denotation = r.string(x, y)
            elif f in (1, 8):
                kind, inner = ("tensor" if f == 1 else "sparse_tensor"), self.tensor_type(x, y)
            elif f in (4, 9):
                kind = "sequence" if f == 4 else "optional"
                inner = None
                for g, gw, p, q in r.fields(x, x + y):
                    if g == 1 and gw == 2:
                        inner = self.type(p, q, depth + 1)
            elif f == 5:
                kind, key, value = "map", "undefined", None
                for g, gw, p, q in r.fields(x, x + y):
                    if g == 1 and gw == 0:
                        key = dtypes.dtype_name(signed32(p))
                    elif g == 2 and gw == 2:
                        value = self.type(p, q, depth + 1)
                inner = (key, value)
            elif f == 7:
                kind, dom, nm = "opaque", "", ""
                for g, gw, p, q in r.fields(x, x + y):
                    if g == 1 and gw == 2:
                        dom = r.string(p, q)
                    elif g == 2 and gw == 2:
                        nm = r.string(p, q)
                inner = (dom, nm)
        if kind in ("tensor", "sparse_tensor"):
            return (kind, inner[0], inner[1], denotation)
        if kind in ("sequence", "optional"):
            return (kind, inner or ("unknown", ""), denotation)
        if kind in ("map", "opaque"):
            return (kind, inner[0], inner[1] if kind == "opaque" else (inner[1] or ("unknown", "")),
                    denotation)
        return ("unknown", denotation)

    def tensor_type(self, a, b):
        r = self.r
        dtype, dims = "undefined", None
        for f, w, x, y in r.fields(a, a + b):
            if f == 1 and w == 0:
                dtype = dtypes.dtype_name(signed32(x))
            elif f == 2 and w == 2:
                dims = []
                for g, gw, p, q in r.fields(x, x + y):
                    if g != 1 or gw != 2:
                        continue
                    if len(dims) >= MAX_DIMS:
                        raise r.error(f"shape has more than {MAX_DIMS} dimensions", p)
                    dim = None
                    for h, hw, s, t in r.fields(p, p + q):
                        if h == 1 and hw == 0:
                            dim = signed64(s)
                        elif h == 2 and hw == 2:
                            dim = r.string(s, t)
                    dims.append(dim)
                dims = tuple(dims)
        return (dtype, dims)

    # --- nodes and attributes ------------------------------------------------
    def node(self, g, a, b, depth):
        r = self.r
        n = Node("")
        attrs = []
        # The hot loop of a parse (every node of a big graph): fields are decoded from
        # the in-memory window right here; a node too big for a window (a Constant
        # holding a big tensor) is walked field by field instead.
        fields = _node_fields(r, a, b) if b > IN_MEMORY else None
        if fields is None:
            buf, base = r.view(a, b)
            p = a - base
            end = p + b
            inputs, outputs = n.inputs, n.outputs
            while p < end:
                tag = buf[p]
                if tag < 0x80:
                    p += 1
                else:
                    tag, p = varint(r, buf, p, end, base)
                if tag & 7 != 2:
                    if tag < 8:
                        raise _field_zero(r, base + p)
                    _, p = _scalar(r, buf, p, end, base, tag & 7, tag)
                    continue
                k = buf[p] if p < end else 0x80
                if k < 0x80:
                    p += 1
                else:
                    k, p = varint(r, buf, p, end, base)
                q = p + k
                if q > end:
                    raise r.error(f"truncated: field {tag >> 3} needs {k} bytes, {end - p} left",
                                  base + p)
                f = tag >> 3
                if f == 1:
                    inputs.append(buf[p:q].decode("utf-8", "replace"))
                elif f == 2:
                    outputs.append(buf[p:q].decode("utf-8", "replace"))
                elif f == 3:
                    n.name = buf[p:q].decode("utf-8", "replace")
                elif f == 4:
                    n.op = buf[p:q].decode("utf-8", "replace")
                elif f == 7:
                    n.domain = buf[p:q].decode("utf-8", "replace")
                elif f == 8:
                    n.overload = buf[p:q].decode("utf-8", "replace")
                elif f == 5:
                    attrs.append((base + p, k))
                elif f == 6:
                    n.doc = buf[p:q].decode("utf-8", "replace")
                elif f == 9:
                    n.metadata.append(self.entry(base + p, k))
                p = q
        else:
            for f, x, y, text in fields:
                if f == 1:
                    n.inputs.append(text)
                elif f == 2:
                    n.outputs.append(text)
                elif f == 3:
                    n.name = text
                elif f == 4:
                    n.op = text
                elif f == 7:
                    n.domain = text
                elif f == 8:
                    n.overload = text
                elif f == 5:
                    attrs.append((x, y))
                elif f == 6:
                    n.doc = r.string(x, y)
                elif f == 9:
                    n.metadata.append(self.entry(x, y))
        index = len(g.nodes)
        for x, y in attrs:
            n.attributes.append(self.attribute(x, y, (g, index), depth))
        return n

    def attribute(self, a, b, owner, depth):
        r = self.r
        name, ref, doc, code = "", None, "", 0
        scalars = {}
        floats, ints, strings, tensors, graphs, sparse, types = [], [], [], [], [], [], []
        for f, w, x, y in r.fields(a, a + b):
            if f == 1 and w == 2:
                name = r.string(x, y)
            elif f == 21 and w == 2:
                ref = r.string(x, y)
            elif f == 13 and w == 2:
                doc = r.string(x, y)
            elif f == 20 and w == 0:
                code = signed32(x)
            elif f == 2:
                scalars["float"] = _float32(x) if w == 5 else 0.0
            elif f == 3 and w == 0:
                scalars["int"] = signed64(x)
            elif f == 4 and w == 2:
                scalars["string"] = r.string(x, y)
            elif f in (5, 6, 22, 14) and w == 2:
                scalars[{5: "tensor", 6: "graph", 22: "sparse_tensor", 14: "type_proto"}[f]] = (x, y)
            elif f == 7:
                floats.extend(self.floats(w, x, y))
            elif f == 8:
                ints.extend(self.ints(w, x, y))
            elif f == 9 and w == 2:
                strings.append(r.string(x, y))
            elif f == 10 and w == 2:
                tensors.append((x, y))
            elif f == 11 and w == 2:
                graphs.append((x, y))
            elif f == 23 and w == 2:
                sparse.append((x, y))
            elif f == 15 and w == 2:
                types.append((x, y))
            if len(floats) > MAX_ITEMS or len(ints) > MAX_ITEMS:
                raise r.error(f"attribute '{name}' has more than {MAX_ITEMS} values", x)
        kind = ATTR_TYPES.get(code)
        if kind is None:  # IR < 3 files have no type field: infer it from what is set
            kind = next((k for k in ("float", "int", "string", "tensor", "graph",
                                     "sparse_tensor", "type_proto") if k in scalars), None) \
                or next((k for k, v in (("floats", floats), ("ints", ints),
                                        ("strings", strings), ("tensors", tensors),
                                        ("graphs", graphs), ("sparse_tensors", sparse),
                                        ("type_protos", types)) if v), "undefined")
        if ref is not None:
            return Attribute(name, kind, None, ref, doc)
        if kind in ("float", "int", "string"):
            value = scalars.get(kind, {"float": 0.0, "int": 0, "string": ""}[kind])
        elif kind == "tensor":
            value = self.tensor(*scalars["tensor"]) if "tensor" in scalars else self.empty()
        elif kind == "sparse_tensor":
            value = self.sparse_tensor(*scalars["sparse_tensor"]) if "sparse_tensor" in scalars \
                else self.empty()
        elif kind == "graph":
            value = self.subgraph(scalars.get("graph"), owner, name, depth)
        elif kind == "type_proto":
            value = self.type(*scalars["type_proto"], 0) if "type_proto" in scalars \
                else ("unknown", "")
        elif kind == "floats":
            value = floats
        elif kind == "ints":
            value = ints
        elif kind == "strings":
            value = strings
        elif kind == "tensors":
            value = [self.tensor(x, y) for x, y in tensors]
        elif kind == "sparse_tensors":
            value = [self.sparse_tensor(x, y) for x, y in sparse]
        elif kind == "graphs":
            value = [self.subgraph(at, owner, name, depth) for at in graphs]
        elif kind == "type_protos":
            value = [self.type(x, y, 0) for x, y in types]
        else:
            value = None
        return Attribute(name, kind, value, None, doc)

    def subgraph(self, at, owner, attr_name, depth):
        g = self.m.add_graph(Graph())
        g.parent = (owner[0], owner[1], attr_name)
        if at is not None:
            self.graph(g, at[0], at[1], depth + 1)
        return g

    def floats(self, w, x, y):
        if w == 5:
            return [_float32(x)]
        if w == 2:
            if y % 4:
                raise self.r.error("packed floats not a multiple of 4 bytes", x)
            return list(struct.unpack(f"<{y // 4}f", self.r.bytes(x, y)))
        return []

    def ints(self, w, x, y):
        if w == 0:
            return [signed64(x)]
        if w == 2:
            return [signed64(v) for v in self.r.packed_varints(x, y)]
        return []

    # --- functions and training ----------------------------------------------
    def function(self, a, b):
        r = self.r
        name = domain = overload = doc = ""
        inputs, outputs, attributes, imports, nodes = [], [], [], [], []
        g = self.m.add_graph(Graph())
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f == 1:
                name = r.string(x, y)
            elif f == 4:
                inputs.append(r.string(x, y))
            elif f == 5:
                outputs.append(r.string(x, y))
            elif f == 6:
                attributes.append(r.string(x, y))
            elif f == 11:
                attributes.append(self.attribute(x, y, (g, -1), 0).name)
            elif f == 7:
                nodes.append((x, y))
                if len(nodes) > MAX_NODES - self.nodes_seen:
                    raise self.too_many_nodes(a, b)
            elif f == 8:
                doc = r.string(x, y)
            elif f == 9:
                imports.append(self.opset(x, y))
            elif f == 10:
                domain = r.string(x, y)
            elif f == 13:
                overload = r.string(x, y)
            elif f == 12:
                self.value_info(g, x, y)
            elif f == 14:
                g.metadata.append(self.entry(x, y))
        g.name, g.inputs, g.outputs = name, list(inputs), list(outputs)
        self.nodes_seen += len(nodes)
        for x, y in nodes:
            g.nodes.append(self.node(g, x, y, 1))
        fn = Function(name, domain, overload, inputs, outputs, attributes, g, imports)
        fn.doc = doc
        return fn

    def training_info(self, a, b):
        r = self.r
        info = {"initialization": None, "algorithm": None,
                "initialization_binding": [], "update_binding": []}
        for f, w, x, y in r.fields(a, a + b):
            if w != 2:
                continue
            if f in (1, 2):
                g = self.m.add_graph(Graph())
                self.graph(g, x, y, 1)
                info["initialization" if f == 1 else "algorithm"] = g
            elif f == 3:
                info["initialization_binding"].append(self.entry(x, y))
            elif f == 4:
                info["update_binding"].append(self.entry(x, y))
        return info

    # --- tensors -------------------------------------------------------------
    def empty(self):
        return self.m.add_tensor(Tensor("", "undefined", ()))

    def tensor(self, a, b):
        r = self.r
        t = Tensor("", "undefined", ())
        t.ref = (a, b)
        dims, external = [], []
        location = 0
        has_data = False
        for f, w, x, y in r.fields(a, a + b):
            if f == 1:
                dims.extend(self.ints(w, x, y))
                if len(dims) > MAX_DIMS:
                    raise r.error(f"tensor has more than {MAX_DIMS} dimensions", x)
            elif f == 2 and w == 0:
                t.dtype = dtypes.dtype_name(signed32(x))
            elif f == 8 and w == 2:
                t.name = r.string(x, y)
            elif f == 12 and w == 2:
                t.doc = r.string(x, y)
            elif f == 9 and w == 2:
                t.data = (x, y)
                has_data = True
            elif f in (4, 5, 6, 7, 10, 11):
                has_data = True
            elif f == 13 and w == 2:
                external.append(self.entry(x, y))
            elif f == 14 and w == 0:
                location = signed32(x)
        if any(d < 0 for d in dims):
            raise r.error(f"tensor '{t.name}' has a negative dimension {dims}", a)
        t.dims = tuple(dims)
        t.decoder = self.decode_tensor
        if location == 1:
            self.external(t, external)
        elif has_data:
            t.location = "inline"
        return self.m.add_tensor(t)

    def sparse_tensor(self, a, b):
        r = self.r
        values = indices = None
        dims = []
        for f, w, x, y in r.fields(a, a + b):
            if f == 1 and w == 2:
                values = self.tensor(x, y)
            elif f == 2 and w == 2:
                indices = self.tensor(x, y)
            elif f == 3:
                dims.extend(self.ints(w, x, y))
        if any(d < 0 for d in dims) or len(dims) > MAX_DIMS:
            raise r.error(f"sparse tensor has bad dims {dims[:8]}", a)
        values = values or self.empty()
        indices = indices or self.empty()
        t = Tensor(values.name, values.dtype, tuple(dims))
        t.ref = (a, b)
        t.sparse = (values, indices)
        t.location = values.location
        t.decoder = _decode_sparse
        return self.m.add_tensor(t)

    def external(self, t, entries):
        t.location = "external"
        info = dict(entries)
        location = info.get("location", "")
        t.file = location
        try:
            offset = int(info.get("offset") or 0)
            length = int(info["length"]) if info.get("length") else None
        except ValueError:
            t.error = f"tensor '{t.name}': bad external data offset/length {info}"
            return
        parts = location.replace("\\", "/").split("/")
        if not location or location.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            t.error = (f"tensor '{t.name}': external data location '{location}' is not a "
                       "plain relative path; refusing to read it")
            return
        source = self.companion(location)
        if source is None:
            t.error = f"external data file '{location}' not found beside {self.m.file}"
            if t.error not in self.m.warnings:
                self.m.warnings.append(t.error)
            return
        if length is None:
            length = max(0, source.size - offset)
        if offset < 0 or offset + length > source.size:
            t.error = (f"tensor '{t.name}': external data [{offset}, {offset + length}) lies "
                       f"outside '{location}' ({source.size} bytes)")
            return
        t.data = (offset, length)

    def companion(self, location):
        if location in self._external:
            return self._external[location]
        source = None
        if self.companions is not None:
            for name in (posixpath.normpath(location.replace("\\", "/")),
                         posixpath.basename(location.replace("\\", "/"))):
                source = self.companions(name)
                if source is not None:
                    break
        self._external[location] = source
        return source

    # --- values on request ---------------------------------------------------
    def decode_tensor(self, t, n):
        """The first n values of t, read from the file now."""
        dtype = t.dtype
        if dtype in ("undefined",) or dtype.startswith("dtype"):
            raise self.r.error(f"tensor '{t.name}' has no known element type", t.ref[0])
        if t.location == "external":
            src = self._external[t.file]
            nbytes = min(t.data[1], dtypes.storage_bytes(dtype, n))
            return _decode_bytes(self.r, t, src.read(t.data[0], nbytes), n)
        if t.data is not None:
            nbytes = dtypes.storage_bytes(dtype, n)
            if dtype == "string":
                raise self.r.error(f"string tensor '{t.name}' stored as raw data", t.data[0])
            return _decode_bytes(self.r, t, self.r.bytes(t.data[0], min(nbytes, t.data[1])), n)
        return self.decode_fields(t, n)

    def decode_fields(self, t, n):
        """Values stored in the typed repeated fields (float_data, int32_data, ...)."""
        r, dtype = self.r, t.dtype
        out = []
        packed_sub_byte = dtype in ("int4", "uint4", "float4e2m1", "int2", "uint2",
                                    "float6e2m3", "float6e3m2")
        per = {4: 2, 2: 4}.get(dtypes.BITS.get(dtype), 1) if packed_sub_byte else 1
        want = -(-n // per) if dtype not in ("float6e2m3", "float6e3m2") else n
        want *= 2 if dtype.startswith("complex") else 1
        field = _STORAGE_FIELD.get(dtype, 5)  # only the field ONNX stores this dtype in
        for f, w, x, y in r.fields(*_span(t.ref)):
            if len(out) >= want:
                break
            if f != field:
                continue
            if f == 4:      # float_data: float32, complex64
                out.extend(self.floats(w, x, y))
            elif f == 10:   # double_data: float64, complex128
                if w not in (1, 2):
                    raise r.error("double_data with the wrong wire type", t.ref[0])
                if w == 2 and y % 8:
                    raise r.error("packed doubles not a multiple of 8 bytes", x)
                out.extend(struct.unpack(f"<{y // 8}d", r.bytes(x, y)) if w == 2
                           else struct.unpack("<d", x.to_bytes(8, "little")))
            elif f in (5, 7, 11):  # int32_data / int64_data / uint64_data
                if w == 2:
                    out.extend(r.packed_varints(x, y, want - len(out)))
                elif w == 0:
                    out.append(x)
            elif f == 6 and w == 2:
                out.append(r.bytes(x, y).decode("utf-8", "replace"))
        if dtype.startswith("complex"):
            out = [[out[i], out[i + 1]] for i in range(0, len(out) - 1, 2)]
            return out[:n]
        if dtype in ("int64",):
            return [signed64(v) for v in out[:n]]
        if dtype in ("float32", "float64", "string", "uint64", "uint32"):
            return out[:n]
        if packed_sub_byte:
            if dtype in ("float6e2m3", "float6e3m2"):  # one code per int32
                return dtypes.decode_codes(dtype, out[:n])
            return dtypes.decode_raw(dtype, bytes(v & 0xFF for v in out), n)
        return dtypes.decode_codes(dtype, out[:n])


# TensorProto field holding each dtype's values when not raw (int32_data otherwise).
_STORAGE_FIELD = {"float32": 4, "complex64": 4, "string": 6, "int64": 7, "float64": 10,
                  "complex128": 10, "uint32": 11, "uint64": 11}


_NODE_STRINGS = frozenset((1, 2, 3, 4, 7, 8))  # NodeProto's short string fields


def _node_fields(r, a, b):
    """(field, offset, length, text) of a big NodeProto's length-delimited fields, walked
    lazily; text is decoded for its short string fields."""
    for f, w, x, y in r.fields(a, a + b):
        if w == 2:
            yield f, x, y, r.string(x, y) if f in _NODE_STRINGS else None


def _span(ref):
    return ref[0], ref[0] + ref[1]


def _decode_bytes(r, t, data, n):
    try:
        return dtypes.decode_raw(t.dtype, data, n)
    except struct.error:
        raise r.error(f"tensor '{t.name}': {len(data)} bytes of data are too few for "
                      f"{n} {t.dtype} values", t.data[0]) from None


def _decode_sparse(t, n):
    """Dense values of a sparse tensor: zeros, then values at their indices."""
    values_t, indices_t = t.sparse
    count = t.count
    if count > 10_000_000 and n > 10_000_000:
        n = 10_000_000
    values = values_t.decoder(values_t, values_t.count) if values_t.decoder else []
    indices = indices_t.decoder(indices_t, indices_t.count) if indices_t.decoder else []
    dense = ["" if t.dtype == "string" else 0] * n
    rank = len(t.dims)
    if len(indices) == len(values) * rank and rank > 1 and len(indices_t.dims) == 2:
        flat = []
        strides = [math.prod(t.dims[i + 1:]) for i in range(rank)]
        for k in range(len(values)):
            flat.append(sum(indices[k * rank + j] * strides[j] for j in range(rank)))
        indices = flat
    for i, v in zip(indices, values):
        if 0 <= i < n:
            dense[i] = v
    if t.dtype.startswith("float") or t.dtype == "bfloat16":
        dense = [float(v) for v in dense]
    return dense


def _float32(bits):
    return struct.unpack("<f", bits.to_bytes(4, "little"))[0]
