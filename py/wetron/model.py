"""The graph model every format produces, and its JSON document (docs/graph-schema.md).

Types are nested tuples (hashable, so the document can intern them):
  ("tensor"|"sparse_tensor", dtype, dims|None, denotation)  dims: tuple of int|str|None
  ("sequence"|"optional", elem_type, denotation)
  ("map", key_dtype, value_type, denotation)
  ("opaque", domain, name, denotation)     ("unknown", denotation)
"""
import json
import math

from .dtypes import json_number, storage_bytes
from .errors import ModelError
from . import cost, hierarchy
from .ops import box_lines, metadata
from .util import MAX_ELEMENTS, MAX_TENSORS, paused_gc

SCHEMA = "wetron-graph"
VERSION = 1


class Tensor:
    """A weight or constant: metadata and where its bytes are, never the payload."""
    __slots__ = ("index", "name", "dtype", "dims", "location", "ref", "data", "file",
                 "sparse", "error", "doc", "decoder")

    def __init__(self, name, dtype, dims):
        self.name, self.dtype, self.dims = name, dtype, dims
        self.location = "none"   # "inline" | "external" | "none"
        self.ref = None          # (offset, length) of the tensor's record in the file
        self.data = None         # (offset, length) of raw bytes (in `file` if external)
        self.file = None
        self.sparse = None       # (values Tensor, indices Tensor)
        self.error = None
        self.doc = ""
        self.decoder = None      # format-specific: reads the values on request
        self.index = -1

    @property
    def count(self):
        return math.prod(self.dims)

    @property
    def size(self):
        if self.data is not None:
            return self.data[1]
        if self.sparse is not None:
            return sum(t.size for t in self.sparse)
        return storage_bytes(self.dtype, self.count)


class Attribute:
    __slots__ = ("name", "type", "value", "ref", "doc")

    def __init__(self, name, type, value, ref=None, doc=""):
        self.name, self.type, self.value, self.ref, self.doc = name, type, value, ref, doc


class Node:
    __slots__ = ("op", "domain", "name", "inputs", "outputs", "attributes", "doc",
                 "overload", "metadata")

    def __init__(self, op, domain="", name="", inputs=(), outputs=(), attributes=()):
        self.op, self.domain, self.name = op, domain, name
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.attributes = list(attributes)
        self.doc = self.overload = ""
        self.metadata = []


class Graph:
    def __init__(self, name=""):
        self.name = name
        self.doc = ""
        self.nodes = []
        self.inputs = []          # value names
        self.outputs = []
        self.initializers = []    # Tensors (sparse ones too), named as their values
        self.types = {}           # value name -> type
        self.metadata = []
        self.parent = None        # (graph, node index, attribute name)
        self.quantization = {}    # value name -> {scale, zero_point, min, max, ...}
        self.index = -1
        # (what one run is, [value names it computes]) when one run does not run every
        # node: a SavedModel's meta graph holds every signature and the saver, one
        # inference runs one signature (wetron.cost sums the nodes those values need)
        self.run = None


class Function:
    def __init__(self, name, domain, overload, inputs, outputs, attributes, graph, imports):
        self.name, self.domain, self.overload = name, domain, overload
        self.inputs, self.outputs, self.attributes = inputs, outputs, attributes
        self.graph, self.imports = graph, imports
        self.doc = ""


class Model:
    def __init__(self, file, size, format):
        self.file, self.size, self.format = file, size, format
        self.format_version = self.producer = self.domain = self.doc = ""
        self.model_version = None
        self.imports = []
        self.metadata = []
        self.graphs = []        # graphs[0] is the main graph
        self.tensors = []
        self.functions = []
        self.training = []      # dicts: initialization, algorithm (Graphs), bindings
        # Graphs the file holds whole when graphs[0] shows part of one (a SavedModel's
        # meta graph: graphs[0] is its default signature's forward pass)
        self.whole_graphs = []
        self.warnings = []
        self.sizes = {}         # symbol -> value the file states for it (wetron.sizes)
        self.capabilities = frozenset()   # its format module's CAPABILITIES (set by wetron.open)

    # --- building ------------------------------------------------------------
    def add_graph(self, graph):
        graph.index = len(self.graphs)
        self.graphs.append(graph)
        return graph

    def add_tensor(self, tensor):
        if len(self.tensors) >= MAX_TENSORS:   # formats check their header counts first
            raise ModelError(f"more than {MAX_TENSORS:,} tensors, the most Wetron opens",
                             self.file, self.format)
        dims = tensor.dims
        if len(dims) > 1 and math.prod(dims) > MAX_ELEMENTS:   # (dims are ints: Tensor.count)
            # No tensor is that big: its element count, and the sums and products of
            # it, would grow past what the document can print.
            raise ModelError(f"tensor '{tensor.name}': a shape of {len(dims)} dimensions "
                             f"holding more than 2^63 elements", self.file, self.format)
        tensor.index = len(self.tensors)
        self.tensors.append(tensor)
        return tensor

    # --- summaries -----------------------------------------------------------
    def weights(self):
        """Initializers of every graph (sparse by their dense dims), each once: a graph
        may hold another's (a SavedModel's forward pass, its functions' and meta graph's)."""
        seen = set()
        for g in self.graphs:
            for t in g.initializers:
                if id(t) not in seen:
                    seen.add(id(t))
                    yield t

    @property
    def parameters(self):
        return sum(t.count for t in self.weights())

    @property
    def weight_bytes(self):
        return sum(t.size for t in self.weights())

    def opsets(self, graph=None):
        """domain -> opset version in force in `graph` (default the main graph; ops.
        opset_versions): its function's imports for a function body and the subgraphs
        in it, else the model's."""
        from .ops import opset_versions
        g = graph if graph is not None else self.graphs[0]
        for _ in range(len(self.graphs)):   # (a parent chain is at most that long)
            if g.parent is None:
                break
            g = g.parent[0]
        for f in self.functions:
            if f.graph is g:
                return opset_versions(f.imports)
        return opset_versions(self.imports)

    # --- values on request ---------------------------------------------------
    def tensor_values(self, index, limit=1000):
        if not 0 <= index < len(self.tensors):
            raise ModelError(f"no tensor {index}", self.file, self.format)
        t = self.tensors[index]
        count = t.count
        n = count if limit is None else min(count, max(0, int(limit)))
        if t.error:
            raise ModelError(t.error, self.file, self.format)
        values = t.decoder(t, n) if t.decoder else []
        if len(values) < n:
            raise ModelError(f"tensor '{t.name}' holds {len(values)} values, "
                             f"its shape {list(t.dims)} needs {count}", self.file, self.format)
        return {"dtype": t.dtype, "shape": list(t.dims), "count": count,
                "values": [_json_value(v) for v in values[:n]], "truncated": n < count}

    # --- the document --------------------------------------------------------
    def to_dict(self, detail=True, sizes=None):
        """The graph document (docs/graph-schema.md). detail=False leaves out what
        detail_dict() gives (value types, inferred shapes, cost): the page has another
        worker compute that part at the same time (docs/app.md). sizes: {symbol: int}
        the user set (wetron.sizes), over those the model states."""
        with paused_gc():
            return self._to_dict(detail, self._bindings(sizes))

    def detail_dict(self, sizes=None):
        """Per graph, what to_dict(detail=False) leaves out: {"types": [type dicts],
        "graphs": [{"value_types": [index into types, per value], "inferred", "cost"}]}."""
        with paused_gc():
            types, type_ref = _type_table()
            bindings = self._bindings(sizes)
            functions = cost.model_functions(self)
            graphs = [_graph_detail(g, _value_index(g), type_ref, bindings=bindings,
                                    opsets=self.opsets(g), functions=functions if i == 0 else None)
                      for i, g in enumerate(self.graphs)]
            return {"types": types, "graphs": graphs}

    def _bindings(self, sizes):
        from . import sizes as model_sizes
        return dict(model_sizes.stated(self), **(sizes or {}))

    def _to_dict(self, detail, bindings=None):
        from . import sizes as model_sizes
        types, type_ref = _type_table()
        # Calls are descended into from the main graph only: what one model costs to
        # show stays within one bound (shapes.MAX_CALLED_NODES), whatever its functions.
        functions = cost.model_functions(self) if detail else None

        doc = {
            "schema": SCHEMA, "version": VERSION,
            "model": {
                "file": self.file, "size": self.size, "format": self.format,
                "format_version": self.format_version, "producer": self.producer,
                "domain": self.domain, "doc": self.doc, "model_version": self.model_version,
                "imports": [list(i) for i in self.imports],
                "metadata": [list(m) for m in self.metadata],
                "parameters": self.parameters, "weight_bytes": self.weight_bytes,
                "warnings": list(self.warnings),
                "sizes": {"symbols": model_sizes.model_symbols(self),
                          "stated": model_sizes.stated(self)},
            },
            "types": types,
            "tensors": [],
            "graphs": [_graph_dict(g, type_ref, detail, bindings, self.opsets(g),
                                   functions if i == 0 else None)
                       for i, g in enumerate(self.graphs)],
            "operators": _operators(self),
            "functions": [{"name": f.name, "domain": f.domain, "overload": f.overload,
                           "inputs": f.inputs, "outputs": f.outputs,
                           "attributes": f.attributes, "graph": f.graph.index,
                           "imports": [list(i) for i in f.imports], "doc": f.doc}
                          for f in self.functions],
            "training": [{"initialization": _graph_index(t["initialization"]),
                          "algorithm": _graph_index(t["algorithm"]),
                          "initialization_binding": t["initialization_binding"],
                          "update_binding": t["update_binding"]} for t in self.training],
        }
        if self.whole_graphs:
            doc["whole_graphs"] = [g.index for g in self.whole_graphs]
        doc["tensors"] = [_tensor_dict(t) for t in self.tensors]
        return doc

    def dumps(self, detail=True, sizes=None):
        return _dumps(self.to_dict(detail, sizes))

    def dumps_detail(self, sizes=None):
        return _dumps(self.detail_dict(sizes))


def _operators(model):
    """The document's "operators" table: per "<node domain>:<op>" of the nodes present,
    the op's framework domain, for ONNX (and .ort) the operator set the model imports for
    it, and what wetron.ops.metadata knows of the op there (display name, category, slot
    names, the since-version of the schema in force; OpenVINO: at the opset the first such
    node's layer states)."""
    onnx = metadata.node_domain(model.format, "") == "ai.onnx"
    imports = {}
    for d, v in model.imports if onnx else ():
        if isinstance(v, int):
            imports[d or "ai.onnx"] = v
    out = {}
    for g in model.graphs:
        for node in g.nodes:
            key = f"{node.domain}:{node.op}"
            if key in out:
                continue
            domain = metadata.node_domain(model.format, node.domain)
            entry = {"domain": domain}
            opset = imports.get(domain)
            if opset is not None:
                entry["opset"] = opset
            else:
                opset = _stated_opset(node)
            facts = metadata.describe(domain, node.op, opset) if domain else None
            if facts:
                entry.update(facts)
            out[key] = entry
    return out


def _stated_opset(node):
    """N of a node's "version" metadata "opsetN" (an OpenVINO IR layer's: the operation
    set its op version is from), else None."""
    for key, value in node.metadata:
        if key == "version" and isinstance(value, str) and value[:5] == "opset" \
                and value[5:].isdigit() and len(value) <= 9:
            return int(value[5:])
    return None


def _dumps(d):
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _type_table():
    """(types, type_ref): type_ref(model type tuple) -> its index in types, added once."""
    types, type_index = [], {}

    def type_ref(t):
        if t is None:
            return None
        i = type_index.get(t)
        if i is None:
            d = _type_dict(t, type_ref)
            i = type_index[t] = len(types)
            types.append(d)
        return i
    return types, type_ref


QUANT_LIST_MAX = 64  # per-channel scales can be long: the document keeps the first ones


def _quant_dict(q):
    out = {}
    for key, v in q.items():
        if isinstance(v, list):
            if len(v) > QUANT_LIST_MAX:
                out[key + "_count"] = len(v)
            v = [json_number(x) for x in v[:QUANT_LIST_MAX]]
        elif isinstance(v, float):
            v = json_number(v)
        out[key] = v
    return out


def _graph_index(g):
    return None if g is None else g.index


def _json_value(v):
    if isinstance(v, list):
        return [json_number(x) for x in v]
    return json_number(v)


def _type_dict(t, type_ref):
    kind = t[0]
    if kind in ("tensor", "sparse_tensor"):
        d = {"kind": kind, "dtype": t[1], "shape": None if t[2] is None else list(t[2])}
    elif kind in ("sequence", "optional"):
        d = {"kind": kind, "elem": type_ref(t[1])}
    elif kind == "map":
        d = {"kind": kind, "key": t[1], "value": type_ref(t[2])}
    elif kind == "opaque":
        d = {"kind": kind, "domain": t[1], "name": t[2]}
    else:
        d = {"kind": "unknown"}
    if t[-1]:
        d["denotation"] = t[-1]
    return d


def _tensor_dict(t):
    d = {"name": t.name, "dtype": t.dtype, "shape": list(t.dims), "size": t.size,
         "location": t.location}
    if t.ref is not None:
        d["ref"] = list(t.ref)
    if t.data is not None:
        d["data"] = list(t.data)
    if t.file is not None:
        d["file"] = t.file
    if t.sparse is not None:
        d["sparse"] = {"values": t.sparse[0].index, "indices": t.sparse[1].index}
    if t.error:
        d["error"] = t.error
    return d


def _attr_value(a):
    v = a.value
    kind = a.type
    if kind in ("tensor", "sparse_tensor"):
        return v.index
    if kind in ("tensors", "sparse_tensors"):
        return [t.index for t in v]
    if kind == "graph":
        return v.index
    if kind == "graphs":
        return [g.index for g in v]
    if kind == "float":
        return json_number(v)
    if kind == "floats":
        return [json_number(x) for x in v]
    return v


def _attr_dict(a, type_ref):
    d = {"name": a.name, "type": a.type}
    if a.ref is not None:
        d["ref"] = a.ref
    elif a.type in ("type_proto",):
        d["value"] = type_ref(a.value)
    elif a.type == "type_protos":
        d["value"] = [type_ref(t) for t in a.value]
    else:
        d["value"] = _attr_value(a)
    if a.doc:
        d["doc"] = a.doc
    return d


def _value_index(g):
    """A graph's value names -> their index in the document's "values" ("" -> -1, an
    omitted input): graph inputs, weights, node inputs and outputs in node order, graph
    outputs, then values with a declared type only."""
    index = {"": -1}
    add = index.setdefault
    for n in g.inputs:
        add(n, len(index) - 1)
    for t in g.initializers:
        add(t.name, len(index) - 1)
    for node in g.nodes:
        for n in node.inputs:
            add(n, len(index) - 1)
        for n in node.outputs:
            add(n, len(index) - 1)
    for n in g.outputs:
        add(n, len(index) - 1)
    for n in g.types:
        add(n, len(index) - 1)
    return index


def _graph_dict(g, type_ref, detail=True, bindings=None, opsets=None, functions=None):
    index = _value_index(g)
    weights = {t.name: t.index for t in g.initializers}
    values = [[name, None, weights.get(name)] for name in index]
    del values[0]   # ""
    nodes = []
    for node in g.nodes:
        d = {"op": node.op, "domain": node.domain, "name": node.name,
             "in": [index[n] for n in node.inputs], "out": [index[n] for n in node.outputs],
             "attrs": [_attr_dict(a, type_ref) for a in node.attributes]
             if node.attributes else []}
        if node.doc:
            d["doc"] = node.doc
        if node.overload:
            d["overload"] = node.overload
        if node.metadata:
            d["metadata"] = node.metadata
        lines = box_lines(node, opsets.get(node.domain) if opsets else None)
        if lines:
            d["box"] = lines
        nodes.append(d)
    d = {"name": g.name, "doc": g.doc,
         "parent": None if g.parent is None else [g.parent[0].index, g.parent[1], g.parent[2]],
         "values": values, "inputs": [index[n] for n in g.inputs],
         "outputs": [index[n] for n in g.outputs],
         "initializers": [index[t.name] for t in g.initializers], "nodes": nodes}
    if g.metadata:
        d["metadata"] = g.metadata
    if g.quantization:
        d["quantization"] = [[index[n], _quant_dict(q)] for n, q in g.quantization.items()
                             if n and n in index]
    groups, node_group = hierarchy.derive(g)
    if groups:
        d["groups"] = groups
        d["node_group"] = node_group
    if detail:
        extra = _graph_detail(g, index, type_ref, groups, node_group, bindings, opsets,
                              functions)
        for v, t in zip(values, extra["value_types"]):
            v[1] = t
        if extra["inferred"]:
            d["inferred"] = extra["inferred"]
        d["cost"] = extra["cost"]
    return d


def _graph_detail(g, index, type_ref, groups=None, node_group=None, bindings=None,
                  opsets=None, functions=None):
    """Value types (the declared ones, plus inferred ones for the rest), which of them
    were inferred, and cost, of one graph at `bindings` (wetron.sizes: substituted into
    the declared dims first, so the types shown are the sized ones); index:
    _value_index(g). Without groups, the cost has every per-node figure and no
    per-group sums: the page sums them up (app/document.js), so the worker computing
    this need not derive the hierarchy."""
    shaped, figures = cost.sized_cost(g, bindings, opsets, functions)
    known = shaped.types.get
    names = iter(index)
    next(names)   # ""
    return {"value_types": [type_ref(known(n)) for n in names],
            "inferred": [index[n] for n in shaped.inferred if n and n in index],
            "cost": cost.document(g, figures, groups, node_group,
                                  node_keys=cost.DOC_NODE_KEYS if groups is not None
                                  else cost.KEYS)}
