"""Wetron's ONNX reading checked against the onnx package (`onnx.load`, numpy_helper)
on every backend test model the onnx wheel can produce, plus models written with
onnx.helper that use every element type and every structural feature.

`OracleCheck` is shared with test_onnx_real.py: it walks the protobuf objects from
onnx.load alongside wetron's graph document and collects every difference.
"""
import json
import math
import os

import numpy as np
import onnx
import pytest
from onnx import AttributeProto, TensorProto, numpy_helper

import models
import wetron

MAX_REPORTED = 25


# --- the document's conventions, derived from onnx's own enums -----------------

def dtype_name(code):
    """TensorProto.DataType code -> the document's dtype name."""
    if code == 0:
        return "undefined"
    if code not in TensorProto.DataType.values():
        return f"dtype{code}"
    name = TensorProto.DataType.Name(code).lower()
    return {"float": "float32", "double": "float64"}.get(name, name)


_ATTR_FIELDS = [("f", "float"), ("i", "int"), ("s", "string"), ("t", "tensor"), ("g", "graph"),
                ("sparse_tensor", "sparse_tensor"), ("tp", "type_proto")]
_ATTR_LISTS = [("floats", "floats"), ("ints", "ints"), ("strings", "strings"),
               ("tensors", "tensors"), ("graphs", "graphs"),
               ("sparse_tensors", "sparse_tensors"), ("type_protos", "type_protos")]


def attr_type(a):
    """The attribute's type name; IR < 3 files leave `type` unset, then it is the
    one value field that is set."""
    if a.type != AttributeProto.UNDEFINED:
        return AttributeProto.AttributeType.Name(a.type).lower()
    for field, kind in _ATTR_FIELDS:
        if a.HasField(field):
            return kind
    for field, kind in _ATTR_LISTS:
        if len(getattr(a, field)):
            return kind
    return "undefined"


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def json_float(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def same_float(expected, got):
    """NaN-aware, sign-of-zero-aware equality of a document float and an expected one."""
    if isinstance(expected, str) or isinstance(got, str):
        return expected == got
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return expected == got and math.copysign(1, expected) == math.copysign(1, got)


def expected_type(tp):
    """TypeProto -> the document's type dict, nested (indices resolved)."""
    which = tp.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        tt = getattr(tp, which)
        shape = None
        if tt.HasField("shape"):
            shape = [d.dim_value if d.HasField("dim_value") else
                     d.dim_param if d.HasField("dim_param") else None for d in tt.shape.dim]
        d = {"kind": "tensor" if which == "tensor_type" else "sparse_tensor",
             "dtype": dtype_name(tt.elem_type), "shape": shape}
    elif which in ("sequence_type", "optional_type"):
        inner = getattr(tp, which)
        d = {"kind": which.split("_")[0],
             "elem": expected_type(inner.elem_type) if inner.HasField("elem_type")
             else {"kind": "unknown"}}
    elif which == "map_type":
        d = {"kind": "map", "key": dtype_name(tp.map_type.key_type),
             "value": expected_type(tp.map_type.value_type)
             if tp.map_type.HasField("value_type") else {"kind": "unknown"}}
    elif which == "opaque_type":
        d = {"kind": "opaque", "domain": tp.opaque_type.domain, "name": tp.opaque_type.name}
    else:
        d = {"kind": "unknown"}
    if tp.denotation:
        d["denotation"] = tp.denotation
    return d


def expected_values(arr, dtype):
    """numpy_helper.to_array's result as the document's values (row-major list)."""
    flat = np.asarray(arr).reshape(-1)
    if dtype == "string":
        return [text(v) for v in flat]
    if dtype == "bool":
        return [bool(v) for v in flat]
    if dtype.startswith("complex"):
        return [[json_float(v.real), json_float(v.imag)] for v in flat]
    if dtype.startswith(("int", "uint")):
        # ml_dtypes' int4/int2 and numpy ints alike; uint64 needs Python ints
        wide = flat.astype(np.uint64 if dtype == "uint64" else np.int64)
        return [int(v) for v in wide]
    with np.errstate(invalid="ignore"):   # NaN codes of ml_dtypes types warn when cast
        wide = flat.astype(np.float64)
    return [json_float(v) for v in wide]


def same_values(expected, got, dtype):
    """Index of the first differing element, or None."""
    for k, (e, g) in enumerate(zip(expected, got)):
        if dtype.startswith("complex"):
            ok = isinstance(g, list) and len(g) == 2 and all(map(same_float, e, g))
        elif dtype == "string":
            ok = e == g and isinstance(g, str)
        elif dtype == "bool":
            ok = g is e
        elif dtype.startswith(("int", "uint")):
            ok = e == g and type(g) is int
        else:
            ok = same_float(e, g)
        if not ok:
            return k
    return None if len(expected) == len(got) else min(len(expected), len(got))


def to_array(t, base_dir):
    """numpy_helper.to_array, except for strings: it decodes them strictly and fails on
    invalid UTF-8, while the document replaces bad bytes; keep the raw bytes."""
    if t.data_type == TensorProto.STRING:
        return np.array(list(t.string_data), dtype=object).reshape(tuple(t.dims))
    return numpy_helper.to_array(t, base_dir)


def densify(sparse, base_dir):
    """Dense array of a SparseTensorProto (indices linear [NNZ] or [NNZ, rank])."""
    values = to_array(sparse.values, base_dir).reshape(-1)
    indices = to_array(sparse.indices, base_dir)
    dims = tuple(sparse.dims)
    if indices.ndim == 2:
        indices = np.ravel_multi_index(tuple(indices.T), dims) if len(indices) else []
    fill = b"" if values.dtype == object else 0
    dense = np.full(math.prod(dims), fill, dtype=values.dtype)
    dense[np.asarray(indices, dtype=np.int64)] = values
    return dense


def all_graphs(model):
    """Every GraphProto in the model: main, training, function bodies' subgraphs and
    attribute subgraphs, at any depth."""
    todo = [model.graph] + [g for t in model.training_info for g in (t.initialization,
                                                                     t.algorithm)]
    nodes = [n for f in model.functions for n in f.node]
    out = []
    while todo or nodes:
        if todo:
            g = todo.pop()
            out.append(g)
            nodes.extend(g.node)
        else:
            n = nodes.pop()
            for a in n.attribute:
                if a.HasField("g"):
                    todo.append(a.g)
                todo.extend(a.graphs)
    return out


def expected_parameters(model):
    return sum(math.prod(t.dims) for g in all_graphs(model) for t in g.initializer) + \
        sum(math.prod(s.dims) for g in all_graphs(model) for s in g.sparse_initializer)


# --- the walk -------------------------------------------------------------------

class OracleCheck:
    """Compare wetron's reading of `path` with onnx.load's. `errors` lists every
    difference as 'where: expected X, got Y'."""

    def __init__(self, path, values=True):
        self.path = path
        self.base_dir = os.path.dirname(path)
        self.proto = onnx.load(path, load_external_data=False)
        with open(path, "rb") as f:
            self.bytes = f.read()
        self.model = wetron.open(path)
        self.doc = self.model.to_dict()
        self.check_values = values
        self.errors = []
        self.graphs_seen = set()
        self.tensors_seen = set()

    def expect(self, where, expected, got):
        if expected != got:
            self.errors.append(f"{where}: expected {expected!r}, got {got!r}")

    def run(self):
        self.check_model()
        self.check_graph(self.proto.graph, 0, None, "graphs[0]")
        self.check_functions()
        self.check_training()
        self.expect("number of graphs", len(self.doc["graphs"]), len(self.graphs_seen))
        self.expect("number of tensors", len(self.doc["tensors"]), len(self.tensors_seen))
        self.check_interned_types()
        self.expect("dumps() is the document", json.loads(wetron.dumps(self.model)),
                    json.loads(json.dumps(self.doc)))
        return self

    def report(self):
        head = self.errors[:MAX_REPORTED]
        more = len(self.errors) - len(head)
        return "\n".join(head + ([f"... and {more} more"] if more > 0 else []))

    # --- model -----------------------------------------------------------------
    def check_model(self):
        p, m = self.proto, self.doc["model"]
        self.expect("schema", ("wetron-graph", 1), (self.doc.get("schema"), self.doc.get("version")))
        self.expect("model.file", os.path.basename(self.path), m["file"])
        self.expect("model.size", len(self.bytes), m["size"])
        self.expect("model.format", "ONNX", m["format"])
        self.expect("model.format_version",
                    f"IR {p.ir_version}" if p.HasField("ir_version") else "", m["format_version"])
        self.expect("model.producer", " ".join(x for x in (p.producer_name, p.producer_version) if x),
                    m["producer"])
        self.expect("model.domain", p.domain, m["domain"])
        self.expect("model.doc", p.doc_string, m["doc"])
        self.expect("model.model_version",
                    p.model_version if p.HasField("model_version") else None, m["model_version"])
        self.expect("model.imports", [[o.domain, o.version] for o in p.opset_import], m["imports"])
        self.expect("model.metadata", [[e.key, e.value] for e in p.metadata_props], m["metadata"])
        self.expect("model.parameters", expected_parameters(p), m["parameters"])
        sizes = [self.stored_size(t) for g in all_graphs(p) for t in g.initializer]
        sizes += [self.stored_size(s.values) for g in all_graphs(p) for s in g.sparse_initializer]
        sizes += [self.stored_size(s.indices) for g in all_graphs(p) for s in g.sparse_initializer]
        if None not in sizes:   # weights in typed fields have no single stored size
            self.expect("model.weight_bytes", sum(sizes), m["weight_bytes"])

    def stored_size(self, t):
        if t.data_location == TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            if "length" in info:
                return int(info["length"])
            path = os.path.join(self.base_dir, info["location"])
            return os.path.getsize(path) - int(info.get("offset", 0)) if os.path.exists(path) \
                else None
        if t.HasField("raw_data"):
            return len(t.raw_data)
        return None

    # --- graphs ----------------------------------------------------------------
    def graph_dict(self, index, where):
        graphs = self.doc["graphs"]
        if not isinstance(index, int) or not 0 <= index < len(graphs):
            self.errors.append(f"{where}: graph index {index!r} out of range")
            return None
        if index in self.graphs_seen:
            self.errors.append(f"{where}: graph {index} referenced twice")
            return None
        self.graphs_seen.add(index)
        return graphs[index]

    def check_graph(self, gp, index, parent, where, function=None):
        g = self.graph_dict(index, where)
        if g is None:
            return
        values = g["values"]
        names = [v[0] for v in values]
        self.expect(f"{where}: value names are unique", len(names), len(set(names)))

        def name_of(i):
            return "" if i == -1 else names[i] if isinstance(i, int) and 0 <= i < len(names) \
                else f"<bad value index {i!r}>"

        self.expect(f"{where}.parent", parent, g["parent"])
        if function is None:
            self.expect(f"{where}.name", gp.name, g["name"])
            self.expect(f"{where}.doc", gp.doc_string, g["doc"])
            inputs, outputs = [v.name for v in gp.input], [v.name for v in gp.output]
            typed = list(gp.input) + list(gp.output)
            value_info = list(gp.value_info)
            self.expect(f"{where}.metadata", [[e.key, e.value] for e in gp.metadata_props],
                        g.get("metadata", []))
        else:
            self.expect(f"{where}.name", function.name, g["name"])
            inputs, outputs = list(function.input), list(function.output)
            typed, value_info = [], list(function.value_info)
        self.expect(f"{where}.inputs", inputs, [name_of(i) for i in g["inputs"]])
        self.expect(f"{where}.outputs", outputs, [name_of(i) for i in g["outputs"]])
        dense = list(gp.initializer) if function is None else []
        sparse = list(gp.sparse_initializer) if function is None else []
        self.expect(f"{where}.initializers",
                    [t.name for t in dense] + [s.values.name for s in sparse],
                    [name_of(i) for i in g["initializers"]])
        # every value: graph inputs/outputs, weights, node inputs/outputs, value_info
        expected_names = set(inputs) | set(outputs) | {t.name for t in dense} | \
            {s.values.name for s in sparse} | {v.name for v in value_info} | \
            {n for node in gp.node for n in list(node.input) + list(node.output) if n}
        missing, extra = expected_names - set(names), set(names) - expected_names
        if missing or extra:
            self.errors.append(f"{where}.values: missing {sorted(missing)[:10]}, "
                               f"unexpected {sorted(extra)[:10]}")
        # value types: graph inputs/outputs first, value_info where those say nothing
        types = {}
        for v in typed:
            if v.HasField("type"):
                types[v.name] = v.type
        for v in value_info:
            if v.HasField("type"):
                types.setdefault(v.name, v.type)
        weights = {}
        for k, i in enumerate(g["initializers"]):
            if isinstance(i, int) and 0 <= i < len(values):
                weights[k] = values[i][2]
        # types the file does not declare may be inferred: then the value is listed in
        # "inferred" (initializers get their tensor's type); a declared one never is
        inferred = {name_of(i) for i in g.get("inferred", [])}
        weight_types = {t.name: t for t in dense}
        for name, type_index, tensor in values:
            at = f"{where}.values[{name!r}].type"
            if name in types:
                self.check_type(types[name], type_index, at)
                if name in inferred:
                    self.errors.append(f"{at}: declared in the file but listed as inferred")
            elif type_index is not None and name not in inferred:
                self.errors.append(f"{at}: not declared in the file, got {type_index!r}, "
                                   "and not listed as inferred")
            elif type_index is not None and name in weight_types:
                t = weight_types[name]
                self.expect(f"{at} (inferred from the initializer)",
                            {"kind": "tensor", "dtype": dtype_name(t.data_type),
                             "shape": list(t.dims)}, self.resolve_type(type_index))
        self.expect(f"{where}.inferred: only values without a declared type",
                    set(), inferred & set(types))
        for k, t in enumerate(dense):
            self.check_tensor(t, weights.get(k), f"{where}.initializers[{t.name!r}]")
        for k, s in enumerate(sparse):
            self.check_sparse(s, weights.get(len(dense) + k), f"{where}.sparse[{s.values.name!r}]")
        weight_names = {t.name for t in dense} | {s.values.name for s in sparse}
        for name, _, tensor in values:
            if tensor is not None and name not in weight_names:
                self.errors.append(f"{where}.values[{name!r}]: has tensor {tensor} "
                                   "but is no initializer")
        self.expect(f"{where}: number of nodes", len(gp.node), len(g["nodes"]))
        for k, (np_, nd) in enumerate(zip(gp.node, g["nodes"])):
            self.check_node(np_, nd, index, k, name_of, f"{where}.nodes[{k}]")

    def check_node(self, n, d, graph_index, k, name_of, where):
        where = f"{where}({n.op_type} {n.name!r})"
        self.expect(f"{where}.op", n.op_type, d["op"])
        self.expect(f"{where}.domain", n.domain, d["domain"])
        self.expect(f"{where}.name", n.name, d["name"])
        self.expect(f"{where}.in", list(n.input), [name_of(i) for i in d["in"]])
        self.expect(f"{where}.out", list(n.output), [name_of(i) for i in d["out"]])
        self.expect(f"{where}.doc", n.doc_string, d.get("doc", ""))
        self.expect(f"{where}.overload", n.overload, d.get("overload", ""))
        self.expect(f"{where}.metadata", [[e.key, e.value] for e in n.metadata_props],
                    d.get("metadata", []))
        self.expect(f"{where}.attrs", [a.name for a in n.attribute], [a["name"] for a in d["attrs"]])
        for a, ad in zip(n.attribute, d["attrs"]):
            self.check_attribute(a, ad, graph_index, k, f"{where}.attrs[{a.name!r}]")

    def check_attribute(self, a, d, graph_index, node_index, where):
        kind = attr_type(a)
        self.expect(f"{where}.type", kind, d["type"])
        self.expect(f"{where}.doc", a.doc_string, d.get("doc", ""))
        if a.ref_attr_name:
            self.expect(f"{where}.ref", a.ref_attr_name, d.get("ref"))
            self.expect(f"{where} has no value", False, "value" in d)
            return
        v = d.get("value")
        parent = [graph_index, node_index, a.name]
        if kind == "float":
            if not same_float(json_float(a.f), v):
                self.errors.append(f"{where}.value: expected {json_float(a.f)!r}, got {v!r}")
        elif kind == "floats":
            exp = [json_float(x) for x in a.floats]
            if not isinstance(v, list) or len(v) != len(exp) or not all(map(same_float, exp, v)):
                self.errors.append(f"{where}.value: expected {exp!r}, got {v!r}")
        elif kind == "int":
            self.expect(f"{where}.value", a.i, v)
        elif kind == "ints":
            self.expect(f"{where}.value", list(a.ints), v)
        elif kind == "string":
            self.expect(f"{where}.value", text(a.s), v)
        elif kind == "strings":
            self.expect(f"{where}.value", [text(s) for s in a.strings], v)
        elif kind == "tensor":
            self.check_tensor(a.t, v, f"{where}.value")
        elif kind == "tensors":
            self.expect(f"{where}: number of tensors", len(a.tensors), len(v or []))
            for k, (t, i) in enumerate(zip(a.tensors, v or [])):
                self.check_tensor(t, i, f"{where}.value[{k}]")
        elif kind == "sparse_tensor":
            self.check_sparse(a.sparse_tensor, v, f"{where}.value")
        elif kind == "sparse_tensors":
            self.expect(f"{where}: number of sparse tensors", len(a.sparse_tensors), len(v or []))
            for k, (s, i) in enumerate(zip(a.sparse_tensors, v or [])):
                self.check_sparse(s, i, f"{where}.value[{k}]")
        elif kind == "graph":
            self.check_graph(a.g, v, parent, f"{where}.value(graph {v})")
        elif kind == "graphs":
            self.expect(f"{where}: number of graphs", len(a.graphs), len(v or []))
            for k, (g, i) in enumerate(zip(a.graphs, v or [])):
                self.check_graph(g, i, parent, f"{where}.value[{k}](graph {i})")
        elif kind == "type_proto":
            self.check_type(a.tp, v, f"{where}.value")
        elif kind == "type_protos":
            self.expect(f"{where}: number of types", len(a.type_protos), len(v or []))
            for k, (t, i) in enumerate(zip(a.type_protos, v or [])):
                self.check_type(t, i, f"{where}.value[{k}]")

    # --- types -----------------------------------------------------------------
    def resolve_type(self, index, depth=0):
        types = self.doc["types"]
        if not isinstance(index, int) or not 0 <= index < len(types) or depth > 64:
            return f"<bad type index {index!r}>"
        d = dict(types[index])
        for key in ("elem", "value"):
            if key in d and d["kind"] in ("sequence", "optional", "map"):
                d[key] = self.resolve_type(d[key], depth + 1)
        return d

    def check_type(self, tp, index, where):
        if tp is None:
            self.expect(where, None, index)
            return
        if index is None:
            self.errors.append(f"{where}: expected {expected_type(tp)!r}, got null")
            return
        self.expect(where, expected_type(tp), self.resolve_type(index))

    def check_interned_types(self):
        texts = [json.dumps(t, sort_keys=True) for t in self.doc["types"]]
        self.expect("types are interned (no duplicates)", len(texts), len(set(texts)))

    # --- tensors ---------------------------------------------------------------
    def tensor_dict(self, index, where):
        tensors = self.doc["tensors"]
        if not isinstance(index, int) or not 0 <= index < len(tensors):
            self.errors.append(f"{where}: tensor index {index!r} out of range")
            return None
        if index in self.tensors_seen:
            self.errors.append(f"{where}: tensor {index} referenced twice")
        self.tensors_seen.add(index)
        return tensors[index]

    def check_tensor(self, t, index, where):
        d = self.tensor_dict(index, where)
        if d is None:
            return
        where = f"{where}(tensor {index} {t.name!r})"
        dtype = dtype_name(t.data_type)
        self.expect(f"{where}.name", t.name, d["name"])
        self.expect(f"{where}.dtype", dtype, d["dtype"])
        self.expect(f"{where}.shape", list(t.dims), d["shape"])
        external = t.data_location == TensorProto.EXTERNAL
        has_data = t.HasField("raw_data") or any(len(getattr(t, f)) for f in (
            "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data"))
        location = "external" if external else "inline" if has_data else "none"
        self.expect(f"{where}.location", location, d["location"])
        if "ref" in d:
            a, n = d["ref"]
            try:
                at_ref = TensorProto.FromString(self.bytes[a:a + n])
            except Exception as e:   # noqa: BLE001 - any parse failure is the finding
                at_ref = f"<not a TensorProto: {e}>"
            if at_ref != t:
                self.errors.append(f"{where}.ref {d['ref']}: the bytes there are not this tensor")
        if external:
            self.check_external(t, d, where)
        elif t.HasField("raw_data"):
            self.expect(f"{where}.size", len(t.raw_data), d["size"])
            if "data" not in d:
                self.errors.append(f"{where}: raw data has no 'data' range")
            else:
                a, n = d["data"]
                self.expect(f"{where}.data bytes", t.raw_data, self.bytes[a:a + n])
        if self.check_values and "error" not in d and not dtype.startswith(("undefined", "dtype")):
            self.check_tensor_values(index, to_array(t, self.base_dir), dtype,
                                     list(t.dims), where)

    def check_external(self, t, d, where):
        info = {e.key: e.value for e in t.external_data}
        self.expect(f"{where}.file", info.get("location"), d.get("file"))
        companion = os.path.join(self.base_dir, info.get("location", ""))
        if not os.path.exists(companion):
            if "error" not in d or info.get("location", "") not in d["error"]:
                self.errors.append(f"{where}: companion file missing but no error naming it: "
                                   f"{d.get('error')!r}")
            return
        self.expect(f"{where}.error", None, d.get("error"))
        offset = int(info.get("offset", 0))
        with open(companion, "rb") as f:
            f.seek(offset)
            stored = f.read(int(info["length"])) if "length" in info else f.read()
        self.expect(f"{where}.size", len(stored), d["size"])
        if "data" in d:
            self.expect(f"{where}.data", [offset, len(stored)], d["data"])

    def check_sparse(self, s, index, where):
        d = self.tensor_dict(index, where)
        if d is None:
            return
        where = f"{where}(sparse tensor {index} {s.values.name!r})"
        dtype = dtype_name(s.values.data_type)
        self.expect(f"{where}.name", s.values.name, d["name"])
        self.expect(f"{where}.dtype", dtype, d["dtype"])
        self.expect(f"{where}.shape", list(s.dims), d["shape"])
        parts = d.get("sparse")
        if not isinstance(parts, dict):
            self.errors.append(f"{where}: no 'sparse' entry")
            return
        self.check_tensor(s.values, parts.get("values"), f"{where}.values")
        self.check_tensor(s.indices, parts.get("indices"), f"{where}.indices")
        if self.check_values:
            self.check_tensor_values(index, densify(s, self.base_dir), dtype, list(s.dims), where)

    def check_tensor_values(self, index, array, dtype, dims, where):
        try:
            got = self.model.tensor_values(index, limit=None)
        except wetron.ModelError as e:
            self.errors.append(f"{where}: tensor_values raised ModelError: {e}")
            return
        expected = expected_values(array, dtype)
        self.expect(f"{where} values.dtype", dtype, got["dtype"])
        self.expect(f"{where} values.shape", dims, got["shape"])
        self.expect(f"{where} values.count", len(expected), got["count"])
        self.expect(f"{where} values.truncated", False, got["truncated"])
        k = same_values(expected, got["values"], dtype)
        if k is not None:
            e = expected[k] if k < len(expected) else "<end>"
            g = got["values"][k] if k < len(got["values"]) else "<end>"
            self.errors.append(f"{where} values[{k}] of {len(expected)}: expected {e!r}, got {g!r}"
                               f" (got {len(got['values'])} values)")
        if len(expected) > 3:
            head = self.model.tensor_values(index, limit=3)
            if head["truncated"] is not True or same_values(expected[:3], head["values"], dtype) \
                    is not None:
                self.errors.append(f"{where} values(limit=3): expected {expected[:3]!r} "
                                   f"truncated, got {head['values']!r} {head['truncated']!r}")

    # --- functions and training ------------------------------------------------
    def check_functions(self):
        fns = self.doc["functions"]
        self.expect("number of functions", len(self.proto.functions), len(fns))
        for k, (f, d) in enumerate(zip(self.proto.functions, fns)):
            where = f"functions[{k}]({f.domain}.{f.name})"
            self.expect(f"{where}.name", f.name, d["name"])
            self.expect(f"{where}.domain", f.domain, d["domain"])
            self.expect(f"{where}.overload", f.overload, d["overload"])
            self.expect(f"{where}.inputs", list(f.input), d["inputs"])
            self.expect(f"{where}.outputs", list(f.output), d["outputs"])
            self.expect(f"{where}.attributes",
                        list(f.attribute) + [a.name for a in f.attribute_proto], d["attributes"])
            self.expect(f"{where}.imports", [[o.domain, o.version] for o in f.opset_import],
                        d["imports"])
            self.expect(f"{where}.doc", f.doc_string, d["doc"])
            self.check_graph(f, d["graph"], None, f"{where}.graph", function=f)

    def check_training(self):
        infos = self.doc["training"]
        self.expect("number of training infos", len(self.proto.training_info), len(infos))
        for k, (t, d) in enumerate(zip(self.proto.training_info, infos)):
            where = f"training[{k}]"
            for key in ("initialization", "algorithm"):
                if t.HasField(key):
                    self.check_graph(getattr(t, key), d[key], None, f"{where}.{key}")
                else:
                    self.expect(f"{where}.{key}", None, d[key])
            self.expect(f"{where}.initialization_binding",
                        [[e.key, e.value] for e in t.initialization_binding],
                        d["initialization_binding"])
            self.expect(f"{where}.update_binding",
                        [[e.key, e.value] for e in t.update_binding], d["update_binding"])


def check_model(path, values=True):
    """Assert wetron reads `path` exactly as onnx does."""
    check = OracleCheck(path, values).run()
    assert not check.errors, f"{path}:\n{check.report()}"
    return check


# --- the tests ------------------------------------------------------------------

BACKEND = models.backend_node_models()
FEATURES = models.feature_models()


@pytest.mark.parametrize("path", [p for _, p in BACKEND], ids=[n for n, _ in BACKEND])
def test_backend_model_matches_onnx(path):
    check_model(path)


@pytest.mark.parametrize("path", [p for _, p in FEATURES], ids=[n for n, _ in FEATURES])
def test_feature_model_matches_onnx(path):
    check_model(path)


def test_feature_models_hold_every_dtype():
    """The corpus really contains every element type, stored raw, in typed fields and
    externally, as initializers and as Constant attributes, with the intended values;
    otherwise the value checks above would pass on nothing."""
    samples = models.dtype_samples()
    assert set(samples) == set(TensorProto.DataType.values()) - {TensorProto.UNDEFINED}
    paths = dict(FEATURES)
    for name in ("dtypes_raw", "dtypes_typed", "dtypes_external"):
        proto = onnx.load(paths[name], load_external_data=False)
        base = os.path.dirname(paths[name])
        inits = {t.data_type: t for t in proto.graph.initializer if t.name.endswith("_init")}
        consts = {n.attribute[0].t.data_type: n.attribute[0].t for n in proto.graph.node}
        assert set(inits) == set(samples) and set(consts) == set(samples), name
        for code, arr in samples.items():
            if name == "dtypes_raw":
                assert inits[code].HasField("raw_data") == (code != TensorProto.STRING)
            if name == "dtypes_typed":
                assert not inits[code].HasField("raw_data")
            if name == "dtypes_external" and code != TensorProto.STRING:
                assert inits[code].data_location == TensorProto.EXTERNAL
                assert consts[code].data_location == TensorProto.EXTERNAL
            got = to_array(inits[code], base)
            assert got.dtype == arr.dtype, (name, code)
            if arr.dtype == object:
                assert list(got.ravel()) == list(arr.ravel())
            else:
                assert got.tobytes() == arr.tobytes(), (name, code)


def test_backend_corpus_is_complete():
    names = [n for n, _ in BACKEND]
    assert len(names) == len(set(names))
    assert sum(1 for n in names if not n.startswith("data/")) > 1800
    assert sum(1 for n in names if n.startswith("data/")) > 140


def _doc_change(change):
    def apply(check):
        change(check.doc)
    return apply


def _values_change(dtype, change):
    """Tamper with what tensor_values returns for tensors of one dtype."""
    def apply(check):
        real = check.model.tensor_values

        def tampered(index, limit=1000):
            out = real(index, limit)
            if out["dtype"] == dtype and limit is None and len(out["values"]) >= 16:
                change(out["values"])
            return out
        check.model.tensor_values = tampered
    return apply


def _set_attr(name, value):
    def change(doc):
        for node in doc["graphs"][0]["nodes"]:
            for a in node["attrs"]:
                if a["name"] == name:
                    a["value"] = value
    return change


def _set_dim(doc):
    for t in doc["types"]:
        if t.get("shape") and "batch" in t["shape"]:
            t["shape"] = ["batch2" if d == "batch" else d for d in t["shape"]]


TAMPERINGS = {
    "op": ("structure", _doc_change(lambda d: d["graphs"][0]["nodes"][0].update(op="Sub")),
           ".op"),
    "node input": ("structure", _doc_change(
        lambda d: d["graphs"][0]["nodes"][0].update({"in": d["graphs"][0]["nodes"][0]["in"][::-1]})),
        ".in"),
    "omitted input": ("structure", _doc_change(
        lambda d: d["graphs"][0]["nodes"][1]["in"].__setitem__(1, 0)), ".in"),
    "symbolic dim": ("structure", _doc_change(_set_dim), ".type"),
    "float attribute": ("structure", _doc_change(_set_attr("f", 0.3)), "['f'].value"),
    "NaN attribute": ("structure", _doc_change(_set_attr("f_nan", 0.0)), "['f_nan'].value"),
    "string attribute": ("structure", _doc_change(_set_attr("s_bad", "")), "['s_bad'].value"),
    "subgraph parent": ("structure", _doc_change(
        lambda d: d["graphs"][1].update(parent=[0, 0, "x"])), ".parent"),
    "tensor shape": ("structure", _doc_change(lambda d: d["tensors"][0].update(shape=[9])),
                     ".shape"),
    "value dropped": ("structure", _doc_change(lambda d: d["graphs"][0]["values"].pop()),
                      "values"),
    "function attributes": ("structure", _doc_change(
        lambda d: d["functions"][0].update(attributes=[])), ".attributes"),
    "float value": ("dtypes_raw", _values_change(
        "float32", lambda v: v.__setitem__(0, 1e-30)), "values[0]"),
    "negative zero": ("dtypes_raw", _values_change(
        "float32", lambda v: v.__setitem__(1, 0.0)), "values[1]"),
    "NaN value": ("dtypes_raw", _values_change(
        "float8e4m3fn", lambda v: v.__setitem__(127, 448.0)), "values[127]"),
    "int4 value": ("dtypes_typed", _values_change(
        "int4", lambda v: v.__setitem__(8, 8)), "values[8]"),
    "missing value": ("dtypes_typed", _values_change("float16", lambda v: v.pop()), "values["),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_oracle_detects_differences(name):
    """The comparison itself can fail: a tampered document or tampered values are
    reported, at the right place."""
    model, tamper, where = TAMPERINGS[name]
    check = OracleCheck(dict(FEATURES)[model])
    tamper(check)
    check.run()
    assert any(where in e and not e.startswith("dumps()") for e in check.errors), check.errors
