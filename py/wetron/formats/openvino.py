"""OpenVINO IR: a `.xml` network description and its `.bin` weights (same name).

The XML (IR versions 10 and 11, as openvino.save_model writes them) is
<net name version> <layers> <layer id name type version(opsetN)> <data .../> <input>/<output>
<port id precision names> <dim>..</dim> </port> </layer> ... </layers> <edges> <edge
from-layer from-port to-layer to-port/> </edges> <rt_info/> </net>.
Every port states its shape, so the file's shapes are kept as they are (a dim of -1 or a
range "1..10" is unknown). A Const layer's <data element_type shape offset size> points
into the .bin: it becomes an initializer read from there on request. Parameter layers
are the graph's inputs, Result layers its outputs. The bodies of TensorIterator, Loop and
If (<body>, <then_body>, <else_body>) are subgraphs. Ops keep their type and their
opset as the node's version; their domain is "openvino" (wetron.ops.openvino).

The XML is untrusted: a DOCTYPE (entities) is refused before parsing, and its size,
layer count and nesting are bounded.
"""
import re
import xml.etree.ElementTree as ET

from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder

FORMAT = "OpenVINO IR"
EXTENSIONS = (".xml",)
COMPANIONS = (("*.bin", "the weights, named as the .xml (model.xml + model.bin)"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "openvino"
MAX_XML = 512 << 20
MAX_DEPTH = 16           # nested bodies (TensorIterator in Loop in If ...)
MAX_RANK = 64

ELEMENT_TYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16", "f64": "float64",
                 "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
                 "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
                 "boolean": "bool", "u4": "uint4", "i4": "int4", "u2": "uint2",
                 "f8e4m3": "float8e4m3fn", "f8e5m2": "float8e5m2", "string": "string"}
_PRECISIONS = {"FP32": "float32", "FP16": "float16", "BF16": "bfloat16", "FP64": "float64",
               "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8",
               "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool",
               "U4": "uint4", "I4": "int4"}
_INTS = re.compile(r"-?\d+(?:\s*,\s*-?\d+)*\Z")
_FLOATS = re.compile(r"-?[\d.]+(?:e[-+]?\d+)?(?:\s*,\s*-?[\d.]+(?:e[-+]?\d+)?)*\Z", re.I)
_BODIES = ("body", "then_body", "else_body")


def match(head, name=""):
    text = head[:4096]
    at = text.find(b"<net ")
    if at < 0 or b"version=" not in text[at:at + 200]:
        return 0.0
    return 1.0 if name.lower().endswith(".xml") else 0.9


def parse(source, companions=None):
    def error(message, offset=None):
        return ModelError(message, source.name, FORMAT, offset)

    if source.size > MAX_XML:
        raise error(f"{source.size} bytes of XML, more than the {MAX_XML >> 20} MB Wetron reads")
    data = source.read(0, source.size)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise error("the XML declares a DOCTYPE or entities, which an IR never has (refused)")
    layers = data.count(b"<layer ")
    if layers > MAX_NODES:
        raise error(too_many(layers, "layers", MAX_NODES))
    try:
        net = ET.fromstring(data)
    except ET.ParseError as e:
        raise error(f"not well-formed XML: {e}") from None
    if net.tag != "net":
        raise error(f"the root element is <{net.tag}>, not <net>")
    stem = source.name.rsplit("/", 1)[-1]
    stem = stem[:-4] if stem.lower().endswith(".xml") else stem
    weights = companions(stem + ".bin") if companions is not None else None
    m = Model(source.name, source.size, FORMAT)
    m.format_version = net.get("version", "")
    m.producer = "OpenVINO"
    m.imports = []
    reader = _Reader(m, weights, error)
    g = m.add_graph(Graph(net.get("name", "")))
    reader.graph(g, net, 0)
    if weights is None and reader.consts:
        m.warnings.append(f"{stem}.bin was not given: the weights' values cannot be shown")
    info = net.find("rt_info")
    if info is not None:
        for item in list(info)[:256]:
            value = item.get("value")
            if value is not None:
                m.metadata.append([item.get("name") or item.tag, value])
    return m


class _Reader:
    def __init__(self, m, weights, error):
        self.m, self.weights, self.error = m, weights, error
        self.decode = raw_decoder(weights, FORMAT) if weights is not None else None
        self.consts = 0

    def graph(self, g, net, depth):
        if depth > MAX_DEPTH:
            raise self.error(f"bodies nested deeper than {MAX_DEPTH}")
        layers = net.find("layers")
        if layers is None:
            raise self.error("no <layers> in the network")
        ports = {}       # (layer id, port id) -> value name
        inputs = {}      # layer id -> [(port id, value type)], for the edges
        kept = []        # (layer element, Node or None)
        for layer in layers.findall("layer"):   # (a body's layers are read with the body)
            kept.append(self.layer(g, layer, ports, inputs, depth))
        by_id = {lid: node for lid, node in kept if node is not None}
        edges = net.find("edges")
        for edge in edges.findall("edge") if edges is not None else ():
            src = (edge.get("from-layer"), edge.get("from-port"))
            dst, port = edge.get("to-layer"), edge.get("to-port")
            value = ports.get(src)
            node = by_id.get(dst)
            if value is None or node is None:
                continue
            slots = inputs.get(dst, [])
            slot = next((i for i, (pid, _) in enumerate(slots) if pid == port), None)
            if slot is not None:
                node.inputs[slot] = value
        for lid, node in kept:   # a Result is the graph output it reads, not a node
            if node is not None and node.op == "Result" and node.inputs and node.inputs[0]:
                g.outputs.append(node.inputs[0])

    def layer(self, g, layer, ports, inputs, depth):
        lid, name, op = layer.get("id"), layer.get("name", ""), layer.get("type", "")
        data = layer.find("data")
        attrs = dict(data.attrib) if data is not None else {}
        outs = []
        for port in _ports(layer, "output"):
            pid = port.get("id")
            names = [n.strip() for n in (port.get("names") or "").split(",") if n.strip()]
            value = names[0] if names else f"{name}:{pid}"
            if value in g.types:   # (names are unique in a valid IR; keep ours so too)
                value = f"{name}:{pid}"
            ports[(lid, pid)] = value
            g.types[value] = ("tensor", _PRECISIONS.get(port.get("precision", ""), "undefined"),
                              self.dims(port), "")
            outs.append(value)
        if op == "Parameter":
            g.inputs.extend(outs)
            return lid, None
        if op == "Const":
            self.const(g, name, attrs, outs)
            return lid, None
        in_ports = list(_ports(layer, "input"))
        inputs[lid] = [(p.get("id"), None) for p in in_ports]
        node = Node(op, DOMAIN, name, [""] * len(in_ports), outs)
        if len(g.nodes) >= MAX_NODES:
            raise self.error(too_many(len(g.nodes) + 1, "layers", MAX_NODES))
        version = layer.get("version")
        if version:
            node.metadata.append(["version", version])
        for key, text in attrs.items():
            node.attributes.append(_attribute(key, text))
        for body_name in _BODIES:
            body = layer.find(body_name)
            if body is not None:
                sub = self.m.add_graph(Graph(f"{name}/{body_name}"))
                sub.parent = (g, len(g.nodes), body_name)
                self.graph(sub, body, depth + 1)
                node.attributes.append(Attribute(body_name, "graph", sub))
        if op != "Result":
            g.nodes.append(node)
        return lid, node

    def const(self, g, name, attrs, outs):
        if not outs:
            return
        self.consts += 1
        if len(self.m.tensors) >= MAX_TENSORS:
            raise self.error(too_many(len(self.m.tensors) + 1, "constants", MAX_TENSORS))
        dtype = ELEMENT_TYPES.get(attrs.get("element_type", ""), "undefined")
        declared = g.types[outs[0]][2]
        shape = tuple(_ints(attrs.get("shape", ""))) if attrs.get("shape", "").strip() else ()
        if declared is not None and None not in declared:
            shape = declared
        t = Tensor(outs[0], dtype, shape)
        try:
            offset, size = int(attrs.get("offset", "")), int(attrs.get("size", ""))
        except ValueError:
            offset = size = None
        if offset is not None and self.weights is not None:
            if offset < 0 or size < 0 or offset + size > self.weights.size:
                raise self.error(f"Const '{name}': bytes [{offset}, {offset + size}) lie outside "
                                 f"the .bin ({self.weights.size} bytes)")
            t.location, t.file, t.data = "external", self.weights.name, (offset, size)
            if dtype not in ("undefined", "string"):
                t.decoder = self.decode
        g.types[outs[0]] = ("tensor", dtype, shape, "")
        g.initializers.append(self.m.add_tensor(t))

    def dims(self, port):
        dims = []
        for d in port.findall("dim"):
            text = (d.text or "").strip()
            dims.append(int(text) if text.isdigit() else None)   # -1, "1..10": unknown
            if len(dims) > MAX_RANK:
                raise self.error(f"a port of more than {MAX_RANK} dimensions")
        return tuple(dims)


def _ports(layer, kind):
    section = layer.find(kind)
    return section.findall("port") if section is not None else []


def _ints(text):
    return [int(x) for x in text.replace(" ", "").split(",") if x]


def _attribute(key, text):
    """A <data> attribute: ints, floats or the text, as the rules read them."""
    t = text.strip()
    if _INTS.match(t):
        values = _ints(t)
        return Attribute(key, "int", values[0]) if "," not in t else Attribute(key, "ints", values)
    if _FLOATS.match(t) and any(ch in t.lower() for ch in ".e"):
        try:
            values = [float(x) for x in t.split(",")]
        except ValueError:
            return Attribute(key, "string", text)
        return Attribute(key, "float", values[0]) if "," not in t else Attribute(key, "floats", values)
    return Attribute(key, "string", text)
