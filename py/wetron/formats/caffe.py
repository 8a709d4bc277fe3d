"""Caffe: a net's text description (.prototxt: a NetParameter in protobuf text format)
and its trained weights (.caffemodel: a binary NetParameter whose layers hold blobs),
given together or either alone.

Field numbers and names are BVLC Caffe's own caffe.proto (tools/schemas/caffe.proto,
read through caffe_schema.py, which tools/gen_proto_schema.py generates from it), both
for the binary file and for the text one (wetron.protoschema). Both layer forms are
read: `layer {}` (LayerParameter, type a string) and the deprecated V1 `layers {}`
(V1LayerParameter, type an enum, named as Caffe's upgrade_proto.cpp renames it: CONVOLUTION
-> "Convolution"), and the V0 form inside it (`layers { layer { ... } }`, its type string
as written).

With a .prototxt, its layers are the graph and the weights come from a companion
.caffemodel (COMPANIONS), matched by layer name as Caffe's CopyTrainedLayersFrom does;
a .caffemodel alone is its own graph (the net it was trained as). Which .caffemodel: the
one named like the prototxt (deploy.prototxt -> deploy.caffemodel), else the only
*.caffemodel among the files the `companions` callable lists (its optional `names()`),
else none, with a warning.

Graph: a node per layer (domain "caffe", op the layer type, name the layer name);
values are Caffe's blobs, renamed where a layer writes a blob again (in-place ReLU
`bottom: "conv1" top: "conv1"` writes the value "conv1@relu1"), so every value has one
producer. The net's inputs (`input` with `input_shape` / `input_dim`) are graph inputs
with their declared shapes; an Input layer's tops get its `input_param` shapes. Layer
parameters (convolution_param, pooling_param, ...) are the node's attributes by their
field names (a name two of them share is prefixed: "loss_param.normalize"): numbers as
int/float (ints for repeated ones), enums by name, bools "true"/"false", shapes
(BlobShape) ints, other messages their text form ("{type: xavier}"); `phase`,
`include`, `exclude` and `loss_weight` too. Training-only fields (param lr_mult,
V1 blobs_lr / weight_decay, propagate_down) are left out. Unknown fields (a fork's
layer types and parameters, in text) are kept untyped, and listed in a warning.

Weights: a layer's blobs are tensors named "<layer>/<slot>" (Caffe's own blob order and
meaning per layer type: Convolution weight, bias; BatchNorm mean, variance,
scale_factor; ...; "blob<i>" otherwise), shaped by BlobShape (or the legacy
num/channels/height/width, 4-D), float32 from `data` or float64 from `double_data`,
read on request from the file (packed values are raw little-endian). A blob whose
values do not fill its shape has an error, as Caffe refuses it.
"""
import fnmatch
import posixpath

from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..protobuf import Reader, varint_at
from ..protoschema import BinaryDecoder, Bytes, Span, last, parse_text
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder
from . import caffe_schema as schema

FORMAT = "Caffe"
EXTENSIONS = (".prototxt", ".caffemodel")
COMPANIONS = (("*.caffemodel", "the trained weights (binary NetParameter), matched to the "
               "prototxt's layers by name"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "caffe"

MAX_DIMS = 32            # Caffe's kMaxBlobAxes
MAX_DIM = (1 << 63) - 1
MAX_NAMES = 10_000       # files a companions listing is searched through
SPANS = [("BlobProto", f) for f in ("data", "diff", "double_data", "double_diff")]

# V1LayerParameter.LayerType -> the type string (caffe/util/upgrade_proto.cpp,
# UpgradeV1LayerType).
V1_TYPES = {
    "NONE": "", "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL",
    "CONCAT": "Concat", "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution",
    "DECONVOLUTION": "Deconvolution", "DATA": "Data", "DROPOUT": "Dropout",
    "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss", "ELTWISE": "Eltwise",
    "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output",
    "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
    "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
    "MVN": "MVN", "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence",
    "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice",
    "TANH": "TanH", "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
}

# What each blob of a layer is, in Caffe's order (the layers' LayerSetUp in src/caffe/layers/).
BLOB_SLOTS = {
    "Convolution": ("weight", "bias"), "Deconvolution": ("weight", "bias"),
    "InnerProduct": ("weight", "bias"), "Embed": ("weight", "bias"),
    "BatchNorm": ("mean", "variance", "scale_factor"), "Scale": ("scale", "bias"),
    "Bias": ("bias",), "PReLU": ("slope",), "Parameter": ("value",),
    "LSTM": ("weight_xc", "bias_c", "weight_hc"), "RNN": ("weight_xh", "bias_h", "weight_hh",
                                                          "weight_ho", "bias_o"),
}

# LayerParameter / V1LayerParameter fields that are not parameters of the computation
_STRUCTURE = {"name", "type", "bottom", "top", "blobs", "param", "propagate_down",
              "blobs_lr", "weight_decay", "blob_share_mode", "layer"}


def default(message, field):
    """The default caffe.proto gives a field of a message (None if it has none)."""
    for spec in schema.MESSAGES[message].values():
        if spec[0] == field:
            return spec[4]
    raise KeyError(f"{message}.{field}")


# --- recognising ---------------------------------------------------------------------------
_NET_WIRES = {1: 2, 2: 2, 3: 2, 4: (0, 2), 5: 0, 6: 2, 7: 0, 8: 2, 100: 2}
_TEXT_KEYS = (b"layer {", b"layers {", b"layer{", b"layers{", b"input_dim:", b"input_shape {",
              b"bottom:", b"top:")


def _head_fields(head):
    """NetParameter fields at the start of head, as far as they parse: [(field, wire,
    payload or None)]; None if a field is not one of NetParameter's."""
    out, p, n = [], 0, len(head)
    while p < n and len(out) < 8:
        tag, p = varint_at(head, p)
        if tag is None:
            break
        number, wire = tag >> 3, tag & 7
        want = _NET_WIRES.get(number)
        if want is None or wire not in (want if type(want) is tuple else (want,)):
            return None
        if wire == 0:
            v, p = varint_at(head, p)
            if v is None:
                break
            out.append((number, wire, None))
        else:
            length, p = varint_at(head, p)
            if length is None:
                break
            out.append((number, wire, head[p:p + length]))
            p += length
    return out



def _binary_score(head):
    fields = _head_fields(head)
    if not fields:
        return 0
    first = fields[0]
    if first[0] == 1:   # the net's name: text (a GraphDef's first field is a message)
        name = first[2]
        if not name or any(c < 0x20 or c == 0x7F for c in name[:64]):
            return 0
    layered = any(f in (2, 100) for f, _, _ in fields)
    return 0.6 if layered else 0.4 if len(fields) >= 2 else 0.1


def _is_text(head):
    return bool(head) and not any(c < 0x20 and c not in (9, 10, 13) for c in head)


def match(head, name):
    low = name.lower()
    if _is_text(head):
        caffe_words = sum(1 for k in _TEXT_KEYS if k in head)
        if low.endswith(".prototxt"):
            return 0.95 if caffe_words else 0.3
        return 0.6 if caffe_words >= 2 else 0
    score = _binary_score(head)
    if low.endswith(".caffemodel"):
        return round(min(1.0, score + 0.3), 2) if score else 0.3
    return score


# --- reading ---------------------------------------------------------------------------
def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


def read_net(source):
    """(NetParameter dict, unknown text fields, Reader or None) of one file."""
    head = source.read(0, min(4096, source.size))
    if _is_text(head):
        data = source.read(0, source.size) if source.size <= (64 << 20) else None
        if data is None:
            raise _error(source, f"{source.size:,} bytes of text, more than the 64 MB "
                         "Wetron reads as a prototxt")
        net, unknown = parse_text(data, schema, "NetParameter",
                                  lambda message: _error(source, message))
        return net, unknown, None
    r = Reader(source, FORMAT)
    try:
        net = BinaryDecoder(r, schema, SPANS).message("NetParameter", 0, source.size)
    except RecursionError:
        raise _error(source, "nested too deeply") from None
    return net, [], r


def parse(source, companions=None):
    net, unknown, reader = read_net(source)
    if "net_param" in net or "base_lr" in net or "train_net" in net:
        raise _error(source, "a solver description (SolverParameter), not a net")
    layers, form = _layers(net)
    if not layers and not net.get("input"):
        raise _error(source, "no layers and no inputs: not a Caffe net")
    if len(layers) > MAX_NODES:
        raise _error(source, too_many(len(layers), "layers", MAX_NODES))
    m = Model(source.name, source.size, FORMAT)
    m.format_version = form + (" (text)" if reader is None else " (binary)")
    weights = {}     # layer name -> (blobs, Source of their bytes)
    if reader is not None:
        for layer in layers:
            weights.setdefault(_name(layer), (layer.get("blobs") or [], source))
    else:
        for layer in layers:       # a prototxt may hold blobs too
            if layer.get("blobs"):
                weights.setdefault(_name(layer), (layer["blobs"], source))
        found = _weights_companion(source, companions, m)
        if found is not None:
            wsource, wnet = found
            wlayers, _ = _layers(wnet)
            for layer in wlayers:
                if layer.get("blobs"):
                    weights[_name(layer)] = (layer["blobs"], wsource)
            m.metadata.append(["weights", wsource.name])
            matched = {_name(layer) for layer in layers}
            unused = [n for n in (_name(x) for x in wlayers if x.get("blobs"))
                      if n not in matched]
            if unused:
                m.warnings.append(f"{wsource.name}: weights of {len(unused)} layers the "
                                  f"prototxt does not have ({', '.join(unused[:5])}"
                                  f"{', …' if len(unused) > 5 else ''})")
    if unknown:
        m.warnings.append(f"fields caffe.proto does not define (a fork's?), kept as they "
                          f"are: {', '.join(unknown[:8])}{', …' if len(unknown) > 8 else ''}")
    _build(m, net, layers, weights)
    return m


def _layers(net):
    """(layers, form) with each layer a dict of LayerParameter's field names."""
    if net.get("layer"):
        return net["layer"], "NetParameter"
    v1 = net.get("layers") or []
    out = []
    for layer in v1:
        layer = dict(layer)
        v0 = last(layer, "layer")
        if v0 is not None:        # V0: its own fields are the parameters
            layer = {"name": v0.get("name", []), "type": v0.get("type", []),
                     "bottom": layer.get("bottom", []), "top": layer.get("top", []),
                     "blobs": v0.get("blobs", []),
                     "v0_param": [{k: v for k, v in v0.items()
                                   if k not in ("name", "type", "blobs")}]}
        else:
            t = last(layer, "type")
            if t is not None:
                layer["type"] = [V1_TYPES.get(t, t) if isinstance(t, str) else f"V1Type{t}"]
        out.append(layer)
    form = "V1 layers (deprecated)" if v1 and not any(last(x, "v0_param") for x in out) \
        else "V0 layers (deprecated)" if v1 else "NetParameter"
    return out, form


def _name(layer):
    n = last(layer, "name")
    return n if isinstance(n, str) else ""


def _weights_companion(source, companions, m):
    """(Source, NetParameter) of the .caffemodel that goes with a prototxt, or None."""
    if companions is None:
        return None
    stem = posixpath.splitext(source.name)[0]
    candidates = [stem + ".caffemodel"]
    names = getattr(companions, "names", None)
    listed = []
    if callable(names):
        for i, n in enumerate(names()):
            if i >= MAX_NAMES:
                break
            if fnmatch.fnmatch(n.lower(), "*.caffemodel") and "/" not in n:
                listed.append(n)
    wanted = None
    for c in candidates:
        if c in listed or not listed:
            s = companions(c)
            if s is not None:
                wanted = s
                break
    if wanted is None and len(listed) == 1:
        wanted = companions(listed[0])
    if wanted is None:
        if len(listed) > 1:
            m.warnings.append(f"weights not read: {len(listed)} .caffemodel files "
                              f"({', '.join(sorted(listed)[:4])}), none named like "
                              f"{source.name}; open the prototxt with one of them")
        return None
    try:
        net, _, r = read_net(wanted)
    except ModelError as e:
        m.warnings.append(f"weights not read: {e}")
        return None
    if r is None:
        m.warnings.append(f"weights not read: {wanted.name} is text, not a binary caffemodel")
        return None
    return wanted, net


# --- the graph ---------------------------------------------------------------------------
def _build(m, net, layers, weights):
    g = m.add_graph(Graph(last(net, "name", "") or ""))
    current = {}    # blob -> its latest value name
    taken = set()
    consumed = set()
    produced = []

    def output(blob, layer_name):
        name = blob
        if name in taken:
            name = f"{blob}@{layer_name}"
            k = 1
            while name in taken:
                k += 1
                name = f"{blob}@{layer_name}#{k}"
        taken.add(name)
        current[blob] = name
        produced.append(name)
        return name

    # inputs: `input` + `input_shape` (or 4 `input_dim`s per input)
    inputs = [x for x in net.get("input", []) if isinstance(x, str)]
    shapes = net.get("input_shape") or []
    dims4 = net.get("input_dim") or []
    for i, blob in enumerate(inputs):
        name = output(blob, "input")
        g.inputs.append(name)
        dims = None
        if i < len(shapes):
            dims = _dims(m, shapes[i], f"input '{blob}'")
        elif len(dims4) >= 4 * (i + 1):
            dims = _checked(m, dims4[4 * i:4 * i + 4], f"input '{blob}'")
        g.types[name] = ("tensor", "float32", dims, "")

    for layer in layers:
        lname = _name(layer)
        op = last(layer, "type") or ""
        op = op if isinstance(op, str) else str(op)
        ins = []
        for b in layer.get("bottom", []):
            v = current.get(b, b)
            ins.append(v)
            consumed.add(v)
        node = Node(op, DOMAIN, lname, ins, [], _attributes(layer))
        blobs, wsource = weights.get(lname, ((), None))
        for i, blob in enumerate(blobs):
            t = _tensor(m, blob, lname, _slot(op, i), wsource)
            g.initializers.append(t)
            node.inputs.append(t.name)
        for b in layer.get("top", []):
            node.outputs.append(output(b, lname))
        if op == "Input":
            param = last(layer, "input_param") or {}
            shapes = param.get("shape") or []
            for k, v in enumerate(node.outputs):
                if shapes:
                    g.types[v] = ("tensor", "float32",
                                  _dims(m, shapes[min(k, len(shapes) - 1)], f"layer '{lname}'"),
                                  "")
        g.nodes.append(node)
    g.outputs = [v for v in produced if v not in consumed and v not in g.inputs]
    return g


def _slot(op, i):
    slots = BLOB_SLOTS.get(op, ())
    return slots[i] if i < len(slots) else f"blob{i}"


def _checked(m, dims, what):
    if len(dims) > MAX_DIMS:
        raise ModelError(f"{what}: {len(dims)} dimensions, more than Caffe's {MAX_DIMS}",
                         m.file, FORMAT)
    out = []
    for d in dims:
        if type(d) is not int or not 0 <= d <= MAX_DIM:
            raise ModelError(f"{what}: dimension {d!r} (dims are counts, 0 or more)",
                             m.file, FORMAT)
        out.append(d)
    return tuple(out)


def _dims(m, shape, what):
    if not isinstance(shape, dict):
        raise ModelError(f"{what}: a shape that is not a BlobShape", m.file, FORMAT)
    return _checked(m, shape.get("dim", []), what)


def _tensor(m, blob, lname, slot, source):
    name = f"{lname}/{slot}"
    if not isinstance(blob, dict):
        raise ModelError(f"layer '{lname}': a blob that is not a BlobProto", m.file, FORMAT)
    what = f"layer '{lname}' blob {slot}"
    shape = last(blob, "shape")
    if shape is not None:
        dims = _dims(m, shape, what)
    elif any(k in blob for k in ("num", "channels", "height", "width")):
        dims = _checked(m, [last(blob, k, 0) for k in ("num", "channels", "height", "width")],
                        what)
    else:
        dims = None
    values = blob.get("double_data") or blob.get("data") or []
    dtype = "float64" if blob.get("double_data") else "float32"
    t = Tensor(name, dtype, dims if dims is not None else (_count(values),))
    if dims is None:
        t.doc = "the blob declares no shape: shown as its values"
    if len(m.tensors) >= MAX_TENSORS:
        raise ModelError(too_many(len(m.tensors) + 1, "tensors", MAX_TENSORS), m.file, FORMAT)
    m.add_tensor(t)
    spans = [v for v in values if isinstance(v, Span)]
    if spans:
        if len(spans) != len(values) or len(spans) > 1:
            t.error = f"tensor '{name}': its values are in {len(values)} pieces, not read"
            return t
        span = spans[0]
        if span.count is None or span.length % (8 if span.kind == "double" else 4):
            t.error = f"tensor '{name}': {span.length} bytes of packed {span.kind}s"
            return t
        t.location = "inline"
        t.data = (span.offset, span.length)
        t.decoder = raw_decoder(source, FORMAT)
        count = span.count
    elif values:
        t.location = "inline"
        numbers = [float(v) for v in values if isinstance(v, (int, float))]
        t.decoder = lambda t, n, numbers=numbers: numbers[:n]
        count = len(numbers)
    else:
        count = 0
    if count and count != t.count:
        t.error = (f"tensor '{name}': {count:,} values, its shape {list(t.dims)} needs "
                   f"{t.count:,} (Caffe refuses such a blob)")
    return t


def _count(values):
    n = 0
    for v in values:
        n += v.count if isinstance(v, Span) else 1
    return n


# --- attributes ----------------------------------------------------------------------------
def attribute_types(message):
    """Attribute name -> type as _attributes gives the fields of a parameter message
    (the op rules' attr_types, ops/caffe.py)."""
    out = {}
    for name, kind, repeated, _, _ in schema.MESSAGES[message].values():
        out[name] = _attr_type(kind, repeated)
    return out


def _attr_type(kind, repeated):
    if kind in ("float", "double"):
        return "floats" if repeated else "float"
    if kind in ("string", "bool", "bytes") or (type(kind) is tuple and kind[0] == "enum"):
        return "strings" if repeated else "string"
    if type(kind) is tuple:   # message
        if kind[1] == "BlobShape":
            return "ints" if not repeated else "strings"
        return "strings" if repeated else "string"
    return "ints" if repeated else "int"


def _attributes(layer):
    attrs = []
    seen = {}
    fields = schema.MESSAGES["LayerParameter"]
    param_types = {spec[0]: spec[1] for spec in fields.values()}
    param_types.update({spec[0]: spec[1] for spec in schema.MESSAGES["V1LayerParameter"].values()})
    param_types["v0_param"] = ("message", "V0LayerParameter")
    for key, values in layer.items():
        if key in _STRUCTURE or not values:
            continue
        kind = param_types.get(key)
        if key.endswith("_param") and isinstance(values[-1], dict):
            msg = values[-1]
            specs = {}
            if type(kind) is tuple and kind[0] == "message":
                specs = {s[0]: s for s in schema.MESSAGES[kind[1]].values()}
            for name, vs in msg.items():
                if not vs:
                    continue
                spec = specs.get(name)
                a = _attribute(name, spec[1] if spec else None, spec[2] if spec else None, vs)
                if name in seen:
                    a.name = f"{key}.{name}"
                seen[a.name] = a
                attrs.append(a)
        else:
            spec = fields.get(next((n for n, s in fields.items() if s[0] == key), -1))
            a = _attribute(key, spec[1] if spec else kind, spec[2] if spec else None, values)
            if a.name in seen:
                a.name = f"layer.{key}"
            seen[a.name] = a
            attrs.append(a)
    return attrs


def _attribute(name, kind, repeated, values):
    if kind is None:          # not in caffe.proto: typed by what the text holds
        repeated = len(values) > 1
        if all(type(v) is int for v in values):
            kind = "int64"
        elif all(type(v) in (int, float) for v in values):
            kind = "float"
        elif all(isinstance(v, dict) for v in values):
            kind = ("message", None)
        else:
            kind = "string"
    atype = _attr_type(kind, repeated)
    if atype in ("int", "float", "string"):
        value = _scalar(kind, values[-1])
    else:
        value = [_scalar(kind, v) for v in values]
        if atype == "ints" and type(kind) is tuple:     # one BlobShape
            value = [d for d in values[-1].get("dim", []) if type(d) is int]
    if atype == "int" and type(value) is not int:
        atype = "string"
        value = str(value)
    return Attribute(name, atype, value)


def _scalar(kind, v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if kind in ("float", "double"):
        return float(v) if isinstance(v, (int, float)) else str(v)
    if type(kind) is tuple and kind[0] == "message":
        if kind[1] == "BlobShape" and isinstance(v, dict):
            return str([d for d in v.get("dim", [])])
        return _text(v)
    if isinstance(v, Bytes):
        return repr(v)
    if isinstance(v, (int, float, str)):
        return v
    return str(v)


def _text(msg, limit=200):
    """A message in short text form: {type: xavier, std: 0.01}."""
    if not isinstance(msg, dict):
        return str(msg)
    parts = []
    for k, vs in msg.items():
        for v in vs:
            s = _text(v, limit) if isinstance(v, dict) else \
                ("true" if v is True else "false" if v is False else str(v))
            parts.append(f"{k}: {s}")
    text = "{" + ", ".join(parts) + "}"
    return text if len(text) <= limit else text[:limit] + "…}"
