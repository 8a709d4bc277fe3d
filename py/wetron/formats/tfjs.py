"""TensorFlow.js graph and layers models: model.json (its modelTopology a GraphDef as
JSON, or a Keras model config) with its weight shards (group1-shard1of2.bin, …), named
by the weightsManifest relative to model.json.

The GraphDef's nodes are built by the TensorFlow format's graph builder (same ops, same
"tf" domain); a layers model's config by the Keras format's config reader.
"""
import base64
import bisect
import json
import math
import posixpath
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Function, Graph, Model, Tensor
from ..source import escapes_folder
from ..util import MAX_NODES, MAX_TENSORS, load_json, too_many
from .tensorflow import (MAX_DEPTH, MAX_DIM, MAX_DIMS, _JSON_DTYPES, _NodeDef, _bytes_text,
                         _normalise, _shape_attr, _shape_text, build_graph, dtype_name)

FORMAT = "TensorFlow.js"
EXTENSIONS = ()
MAIN_FILES = ("model.json",)
COMPANIONS = (("*.bin", "weight shards named in model.json's weightsManifest "
                        "(group1-shard1of2.bin, …)"),)
CAPABILITIES = frozenset({"tensor_values"})
NEVER_EMPTY = True
MAX_JSON_BYTES = 32 << 20     # model.json: real ones are well under 10 MB (weights are in shards)


def match(head, name=""):
    """A JSON object naming a TF.js model's keys near its start."""
    if head.lstrip()[:1] != b"{":
        return 0.0
    if b'"modelTopology"' in head or b'"weightsManifest"' in head or b'"graph-model"' in head:
        return 0.9
    return 0.0


def parse(source, companions=None):
    if source.size > MAX_JSON_BYTES:
        raise ModelError(f"{source.size:,} bytes of JSON, more than the {MAX_JSON_BYTES:,} "
                         "Wetron reads for a model.json", source.name, FORMAT)
    doc = load_json(source.read(0, source.size),
                    lambda message: ModelError(message, source.name, FORMAT), "the file")
    if not isinstance(doc, dict):
        raise ModelError("not a TensorFlow.js model: the JSON is not an object",
                         source.name, FORMAT)
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
        self.m = Model(source.name, source.size, FORMAT)
        self.shard_sources = {}   # path -> Source or None: each shard opened once
        self.warned = set()       # (the model's warnings, for a quick membership test)

    def shard_source(self, path):
        if path not in self.shard_sources:
            src = None
            if self.companions is not None and path and not escapes_folder(path):
                src = self.companions(posixpath.normpath(path))
            self.shard_sources[path] = src
        return self.shard_sources[path]

    def warn(self, message):
        if message not in self.warned:
            self.warned.add(message)
            self.m.warnings.append(message)

    def error(self, message):
        return ModelError(message, self.source.name, FORMAT)

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
                self.missing = self.missing or (
                    f"weights file '{p}' lies outside the folder of {parser.source.name} "
                    "(an absolute path or one with '..'): refused" if escapes_folder(p)
                    else f"weights file '{p}' not found beside {parser.source.name}")
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
