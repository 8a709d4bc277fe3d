"""ONNX Runtime's .ort format: an ONNX model saved as a FlatBuffer (identifier "ORTM"),
as onnxruntime.tools.convert_onnx_models_to_ort writes it for mobile and web builds.

Field ids follow onnxruntime/core/flatbuffers/schema/ort.fbs (ORT format version 5,
onnxruntime 1.x; a Tensor's external_data_offset, field 6, is read when present):
InferenceSession {ort_version, model, session_state (deprecated), kernel_type_str_resolver};
Model {ir_version, opset_import, producer_name, producer_version, domain, model_version,
doc_string, graph, graph_doc_string, metadata_props}; Graph {initializers, node_args,
nodes, max_node_index, node_edges, inputs, outputs, sparse_initializers,
runtime_optimizations}; Node {name, doc_string, domain, since_version, index, op_type,
type, execution_provider_type, inputs, outputs, attributes, input_arg_counts,
implicit_inputs}. The nodes are ONNX's (their domains and opsets as the file says), so
ONNX's rules (ops/onnx/) infer their shapes and cost. Initializers' raw bytes stay in the
file until asked for.
"""
from ..dtypes import dtype_name
from ..flatbuffers import Reader
from ..model import Attribute, Graph, Model, Node, Tensor
from ..shapes import topological_order
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder

FORMAT = "ONNX Runtime"
EXTENSIONS = (".ort",)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
IDENTIFIER = b"ORTM"
MAX_DEPTH = 32           # graphs nested in attributes
MAX_RANK = 64
_ATTRIBUTE_KINDS = {1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats",
                    7: "ints", 8: "strings", 9: "tensors", 10: "graphs"}


def match(head, name=""):
    return 1.0 if head[4:8] == IDENTIFIER else 0.0


def parse(source, companions=None):
    r = Reader(source, FORMAT)
    if source.size < 8 or r.identifier() != IDENTIFIER:
        raise r.error("not an ORT format model: no 'ORTM' identifier at bytes 4-8")
    return _Parser(r).model()


class _Parser:
    def __init__(self, r):
        self.r = r
        self.m = Model(r.source.name, r.size, FORMAT)
        self.decode = raw_decoder(r.source, FORMAT)
        self.nodes = 0

    def model(self):
        r, m = self.r, self.m
        session = r.root()
        m.format_version = f"ORT format {session.string(0)}"
        t = session.table(1)
        if t is None:
            raise r.error("the session holds no model")
        ir = t.get(0, "long")
        m.imports = [(s.string(0), s.get(1, "long")) for s in t.tables(1)]
        m.producer = " ".join(x for x in (t.string(2), t.string(3)) if x)
        m.domain, m.doc = t.string(4), t.string(6)
        m.model_version = t.get(5, "long") or None
        if ir:
            m.metadata.append(["ir_version", str(ir)])
        m.metadata.extend([e.string(0), e.string(1)] for e in t.tables(9))
        graph = t.table(7)
        if graph is None:
            raise r.error("the model has no graph")
        g = m.add_graph(Graph())
        g.doc = t.string(8)
        self.graph(g, graph, 0)
        return m

    def graph(self, g, t, depth):
        r = self.r
        if depth > MAX_DEPTH:
            raise r.error(f"graphs nested deeper than {MAX_DEPTH}", t.pos)
        n_nodes = (t.vector(2, 4) or (0, 0))[1]
        self.nodes += n_nodes
        if self.nodes > MAX_NODES:
            raise r.error(too_many(self.nodes, "nodes", MAX_NODES), t.pos)
        n_tensors = (t.vector(0, 4) or (0, 0))[1] + len(self.m.tensors)
        if n_tensors > MAX_TENSORS:
            raise r.error(too_many(n_tensors, "initializers", MAX_TENSORS), t.pos)
        for v in t.tables(1):
            ty = v.table(2)
            g.types[v.string(0)] = self.type(ty, 0) if ty is not None else ("unknown", "")
        for x in t.tables(0):
            tensor = self.tensor(x)
            g.initializers.append(tensor)
        for s in t.tables(7):
            values = s.table(0)
            if values is not None:
                tensor = self.tensor(values)
                tensor.dims = tuple(s.scalars(2, "long", MAX_RANK + 1))
                g.initializers.append(tensor)
        g.inputs = t.strings(5)
        g.outputs = t.strings(6)
        for nt in t.tables(2):
            node = Node(nt.string(5), nt.string(2), nt.string(0), nt.strings(8), nt.strings(9))
            node.doc = nt.string(1)
            provider = nt.string(7)
            if provider:
                node.metadata.append(["execution provider", provider])
            if nt.get(6, "int"):
                node.metadata.append(["type", "fused"])
            index = len(g.nodes)
            g.nodes.append(node)
            node.attributes = [self.attribute(a, g, index, depth) for a in nt.tables(10)]
            implicit = nt.strings(12)
            if implicit:
                node.metadata.append(["implicit inputs", ", ".join(implicit)])
        self.sort(g)

    def sort(self, g):
        """ORT keeps nodes in its node-index order, which its optimizer leaves out of
        topological order (a fused node takes a new index): producers first, as ONNX
        files are, so that shapes follow and the subgraphs' parents are renumbered."""
        order = topological_order(g)
        if isinstance(order, range):
            return
        new_index = {old: new for new, old in enumerate(order)}
        g.nodes = [g.nodes[i] for i in order]
        for sub in self.m.graphs:
            if sub.parent is not None and sub.parent[0] is g:
                sub.parent = (g, new_index[sub.parent[1]], sub.parent[2])

    def type(self, t, depth):
        if depth > MAX_DEPTH:
            raise self.r.error("types nested too deeply", t.pos)
        denotation = t.string(0)
        code, value = t.union(1, 2)
        if code == 1 and value is not None:
            shape = value.table(1)
            dims = None
            if shape is not None:
                dims = []
                for d in shape.tables(0)[:MAX_RANK + 1]:
                    dv = d.table(0)
                    kind = dv.get(0, "byte") if dv is not None else 0
                    dims.append(dv.get(1, "long") if kind == 1 else
                                (dv.string(2) or None) if kind == 2 else None)
                if len(dims) > MAX_RANK:
                    raise self.r.error(f"a shape of more than {MAX_RANK} dimensions", shape.pos)
                dims = tuple(dims)
            return ("tensor", dtype_name(value.get(0, "int")), dims, denotation)
        if code == 2 and value is not None:
            elem = value.table(0)
            return ("sequence", self.type(elem, depth + 1) if elem else ("unknown", ""), denotation)
        if code == 3 and value is not None:
            elem = value.table(1)
            return ("map", dtype_name(value.get(0, "int")),
                    self.type(elem, depth + 1) if elem else ("unknown", ""), denotation)
        return ("unknown", denotation)

    def tensor(self, x):
        r = self.r
        dims = x.scalars(2, "long", MAX_RANK + 1)
        if len(dims) > MAX_RANK:
            raise r.error(f"a tensor of more than {MAX_RANK} dimensions", x.pos)
        if any(d < 0 for d in dims):
            raise r.error(f"tensor '{x.string(0)}': a negative dimension in {dims}", x.pos)
        t = Tensor(x.string(0), dtype_name(x.get(3, "int")), tuple(dims))
        t.doc = x.string(1)
        raw = x.vector(4, 1)
        if raw is not None:
            t.location, t.data = "inline", raw
            if t.dtype != "string":
                t.decoder = self.decode
        elif x.has(5):
            t.location = "inline"
            strings = x.strings(5)
            t.decoder = lambda t, n, s=strings: s[:n]
        elif x.get(6, "long", -1) >= 0:
            t.location = "external"
            t.error = "stored in an external data file, which ORT format models name nowhere"
        self.m.add_tensor(t)
        return t

    def attribute(self, a, g, index, depth):
        name, kind = a.string(0), _ATTRIBUTE_KINDS.get(a.get(2, "int"))
        if kind == "float":
            value = a.get(3, "float")
        elif kind == "int":
            value = a.get(4, "long")
        elif kind == "string":
            value = a.string(5)
        elif kind == "tensor":
            value = self.tensor(a.table(6)) if a.has(6) else None
        elif kind == "graph":
            value = self.subgraph(a.table(7), g, index, name, depth)
        elif kind == "floats":
            value = a.scalars(8, "float")
        elif kind == "ints":
            value = a.scalars(9, "long")
        elif kind == "strings":
            value = a.strings(10)
        elif kind == "tensors":
            value = [self.tensor(x) for x in a.tables(11)]
        elif kind == "graphs":
            value = [self.subgraph(x, g, index, name, depth) for x in a.tables(12)]
        else:
            kind, value = "undefined", None
        return Attribute(name, kind, value, None, a.string(1))

    def subgraph(self, t, owner, index, name, depth):
        g = self.m.add_graph(Graph())
        g.parent = (owner, index, name)
        if t is not None:
            self.graph(g, t, depth + 1)
        return g
