"""Darknet: a network description (.cfg) and its weights (.weights, the same name), given
together or the .cfg alone. A .weights file holds only the layers' values, in the order
the .cfg gives: it cannot be read without its .cfg.

The .cfg is read as Darknet's read_cfg (src/parser.c) reads it: line by line, every space,
tab and newline removed (and carriage returns: a file saved on Windows); a line starting
with '[' opens a section, one starting with '#' or ';' (or empty) is skipped, any other is
key=value (up to the first '='; the first of a repeated key is the one Darknet reads).
The first section is [net] (or [network]): the input's width, height and channels (or
`inputs` for a flat one) and the batch, Darknet's batch/subdivisions*time_steps. Every
other section is a layer, numbered from 0 as Darknet numbers them: a Node of domain
"darknet", op the section's name (an alias made the long name: [conv] ->
"convolutional", [max] -> "maxpool", ...; wetron.ops.darknet has the shape, parameter and
cost rules), name its number, attributes its options as written (ints, floats without
an exponent, comma-separated lists of them, else the text), plus `activation` at
Darknet's default where a layer with a fused activation does not say (logistic for
convolutional and connected layers, linear for shortcut). A layer's input is the
previous layer's output (layer 0: the network's input, "input", batch x channels x
height x width), except [route] (`layers=`, its inputs in order), [shortcut] (the
previous layer, then `from=`: AlexeyAB's fork reads several, pjreddie's the first; the
output is the previous layer's shape either way), [scale_channels] and [sam] (the
previous layer, then `from=`); a reference below 0 is relative to the layer (-1 the previous one), and must
name an earlier layer. The network's outputs are the layers no later one reads (every
[yolo] head of a detector). Shapes are inferred by the rules, as Darknet computes them
while parsing; the input's batch is the symbol "batch", which the file states (sizes).

.weights (save_weights / load_weights in src/parser.c): int32 major, minor, revision,
then the number of images seen: uint64 when major*10 + minor >= 2 (and major, minor
below 1000), else int32; then per layer in .cfg order, float32 little-endian, what its
rule's `params` lists (convolutional: biases, [scales, rolling_mean, rolling_variance
with batch_normalize=1], weights; connected: biases, weights, [the three]; rnn, gru,
lstm, crnn: their inner layers'; batchnorm; local), nothing for the other layers. A
layer with dontload=1 has nothing in the file; dontloadscales=1 leaves out its batch
normalisation arrays; numload=N reads N filters. A major or minor above 1000 marks
connected weights stored transposed (inputs x outputs). Tensors are named
"<layer>/<array>" ("12/weights", "3/wz/biases") and read on request.

A .weights whose size is not what the .cfg implies: longer, the extra bytes are not read
(a warning says how many); shorter, ending where a layer's values end, it is a partial
file (`darknet partial` writes the first layers of a network) and the layers after it
have no values; ending anywhere else, it is not this .cfg's and no value is read.
"""
import fnmatch
import posixpath
import re
import struct

from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder

FORMAT = "Darknet"
EXTENSIONS = (".cfg", ".weights")
COMPANIONS = (("*.weights", "the trained weights, named as the .cfg (yolov3.cfg + "
               "yolov3.weights); read only with the .cfg"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "darknet"

MAX_CFG_BYTES = 16 << 20
MAX_OPTIONS = 10_000     # options in one section
MAX_VALUE = 1 << 16      # characters of one option's value
MAX_REFERENCES = 4096    # layers one [route] / [shortcut] names
MAX_NAMES = 10_000       # files a companions listing is searched through
INPUT = "input"

# Darknet's string_to_layer_type: the aliases of a section's name
ALIASES = {"conv": "convolutional", "deconv": "deconvolutional", "network": "net",
           "conn": "connected", "max": "maxpool", "avg": "avgpool", "lrn": "normalization",
           "soft": "softmax"}
# Layers that read a `from=` after the previous layer
FROM_LAYERS = ("shortcut", "scale_channels", "sam")
# Layers Darknet knows that keep no values in a .weights file (every other layer with
# values has a `params` rule); a layer of another type stops the reading of the file,
# since what it holds there is not known.
NO_VALUES = {"maxpool", "avgpool", "upsample", "reorg", "route", "shortcut", "dropout",
             "softmax", "cost", "yolo", "region", "detection", "iseg", "crop", "activation",
             "logistic", "l2norm", "normalization", "scale_channels", "sam", "net"}
CONNECTED = {"connected", "rnn", "gru", "lstm"}   # weights transposed in a transposed file

WEIGHTS_ALONE = ("a Darknet .weights file holds only the layers' values, in the order of the "
                 ".cfg it was trained with: open the .cfg together with it (yolov3.cfg + "
                 "yolov3.weights)")


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


# --- recognising ---------------------------------------------------------------------------
def _strip(line):
    """Darknet's strip(): every space, tab and newline out (carriage returns too)."""
    return line.translate(_STRIP)


_STRIP = str.maketrans("", "", " \t\n\r")


def _first_section(head):
    """The first section line of a .cfg's head ("[net]"), or None."""
    text = head.decode("latin-1")
    for raw in text.split("\n")[:200]:
        line = _strip(raw)
        if not line or line[0] in "#;":
            continue
        return line if line[0] == "[" else None
    return None


def _is_weights(head, name):
    if not name.lower().endswith(".weights") or len(head) < 16:
        return False
    major, minor, revision = struct.unpack_from("<3i", head)
    return major >= 0 and minor >= 0 and revision >= 0


def match(head, name):
    if b"\x00" not in head[:1024]:
        first = _first_section(head)
        if first in ("[net]", "[network]"):
            return 1.0 if name.lower().endswith(".cfg") else 0.8
    if _is_weights(head, name):
        return 0.3
    return 0


# --- the .cfg ------------------------------------------------------------------------------
class Section:
    __slots__ = ("kind", "op", "options", "line")

    def __init__(self, kind, line):
        self.kind = kind                       # the line as written, "[convolutional]"
        name = kind[1:-1] if kind.endswith("]") else kind[1:]
        self.op = ALIASES.get(name, name) if kind.endswith("]") else kind
        self.options = {}                      # key -> value text, the first one of a key
        self.line = line


def read_cfg(source):
    """[Section] of a .cfg, and the warnings reading it gave."""
    if source.size > MAX_CFG_BYTES:
        raise _error(source, f"{source.size:,} bytes, more than the {MAX_CFG_BYTES >> 20} MB "
                     f"Wetron reads as a .cfg")
    data = source.read(0, source.size)
    if b"\x00" in data:
        raise _error(source, "a .cfg is text; this file holds NUL bytes")
    sections, warnings, repeated = [], [], []
    current = None
    for number, raw in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
        line = _strip(raw)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if len(sections) >= MAX_NODES:
                raise _error(source, too_many(len(sections) + 1, "sections", MAX_NODES))
            current = Section(line[:200], number)
            sections.append(current)
            continue
        key, eq, value = line.partition("=")
        if not eq or not value:
            warnings.append(f"line {number}: '{line[:60]}' is not key=value (Darknet skips it)")
            continue
        if current is None:
            raise _error(source, f"line {number}: an option before the first section")
        if len(value) > MAX_VALUE:
            raise _error(source, f"line {number}: a value of {len(value):,} characters")
        if key in current.options:
            repeated.append(f"{key} (line {number})")
            continue
        if len(current.options) >= MAX_OPTIONS:
            raise _error(source, f"section at line {current.line}: more than {MAX_OPTIONS:,} "
                         f"options")
        current.options[key] = value
    if repeated:
        warnings.append(f"options given twice in a section, the first one read (as Darknet "
                        f"does): {', '.join(repeated[:5])}{', …' if len(repeated) > 5 else ''}")
    return sections, warnings


_INT = re.compile(r"[+-]?[0-9]{1,18}\Z")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)\Z")


def _attribute(key, text):
    """An option as an attribute, typed by its form (see the module's docstring)."""
    if _INT.match(text):
        return Attribute(key, "int", int(text))
    if _FLOAT.match(text) and len(text) < 40:
        return Attribute(key, "float", float(text))
    if "," in text:
        parts = text.split(",")
        if all(_INT.match(p) for p in parts):
            return Attribute(key, "ints", [int(p) for p in parts])
        if all(_INT.match(p) or (_FLOAT.match(p) and len(p) < 40) for p in parts):
            return Attribute(key, "floats", [float(p) for p in parts])
    return Attribute(key, "string", text)


def _c_int(text):
    from ..ops.darknet import c_atoi
    return c_atoi(text)


def _c_div(a, b):
    from ..ops.darknet import cdiv
    return cdiv(a, b)


def _net(source, section, m):
    """(input dims, batch) of the [net] section, as parse_net_options reads it."""
    o = section.options

    def get(key, default):
        return _c_int(o[key]) if key in o else default
    batch, subdivisions, steps = get("batch", 1), get("subdivisions", 1), get("time_steps", 1)
    if subdivisions == 0:
        raise _error(source, "[net] subdivisions=0 (Darknet divides the batch by it)")
    batch = _c_div(batch, subdivisions) * steps
    h, w, c = get("height", 0), get("width", 0), get("channels", 0)
    inputs = get("inputs", h * w * c)
    if not inputs and not (h and w and c):
        raise _error(source, "[net] gives no input size (width, height and channels, or "
                     "inputs)")
    for key, text in o.items():
        m.metadata.append([f"net.{key}", text])
    if h and w and c:
        if min(h, w, c) < 0:
            raise _error(source, f"[net] input {w} x {h} x {c}")
        if inputs != h * w * c:
            m.warnings.append(f"[net] inputs={inputs} is not width*height*channels; the "
                              f"input is taken as {c} x {h} x {w}")
        return ("batch", c, h, w), batch
    if inputs < 0:
        raise _error(source, f"[net] inputs={inputs}")
    return ("batch", inputs), batch


def _references(source, i, text, what):
    """Layer indices a route's `layers=` or a `from=` names (Darknet: atoi of each
    comma-separated part; below 0, relative to layer i)."""
    parts = text.split(",")
    if len(parts) > MAX_REFERENCES:
        raise _error(source, f"layer {i}: {what} names {len(parts):,} layers")
    out = []
    for part in parts:
        index = _c_int(part)
        if index < 0:
            index += i
        if not 0 <= index < i:
            raise _error(source, f"layer {i}: {what} '{text[:60]}' names layer {index}, not "
                         f"one before it")
        out.append(index)
    return out


def _build(source, sections, m):
    from ..ops import lookup
    if not sections or sections[0].op != "net":
        raise _error(source, "the first section must be [net] or [network]")
    dims, batch = _net(source, sections[0], m)
    g = m.add_graph(Graph())
    g.inputs.append(INPUT)
    g.types[INPUT] = ("tensor", "float32", dims, "")
    if batch >= 1:
        m.sizes["batch"] = batch
    layers = sections[1:]
    read = [False] * len(layers)
    for i, s in enumerate(layers):
        o = s.options
        if s.op == "route":
            if "layers" not in o:
                raise _error(source, f"layer {i}: a [route] without layers=")
            inputs = [str(j) for j in _references(source, i, o["layers"], "layers=")]
        else:
            inputs = [str(i - 1) if i else INPUT]
            if s.op in FROM_LAYERS:
                if "from" not in o:
                    raise _error(source, f"layer {i}: a [{s.op}] without from=")
                text = o["from"] if s.op == "shortcut" else o["from"].split(",")[0]
                inputs += [str(j) for j in _references(source, i, text, "from=")]
        for x in inputs:
            if x != INPUT:
                read[int(x)] = True
        attributes = [_attribute(k, v) for k, v in o.items()]
        rule = lookup(DOMAIN, s.op)
        default = getattr(rule, "activation", None)
        if default and "activation" not in o:
            attributes.append(Attribute("activation", "string", default))
        g.nodes.append(Node(s.op, DOMAIN, str(i), inputs, [str(i)], attributes))
    g.outputs = [str(i) for i in range(len(layers)) if not read[i]]
    return g


# --- the parameters ------------------------------------------------------------------------
def _layouts(g):
    """Per node: its rule's params [(sub, array, dims, in file)], or None where they are
    not known (the node's input shape is unknown, a layer type or option not modelled),
    with the reason."""
    from .. import shapes
    from ..ops import lookup
    from ..ops.base import ShapeContext, Unknown
    from ..ops.darknet import DarknetRule, check_modelled
    types = shapes.infer(g).types
    ctx = ShapeContext({}, ())
    out = []
    for node in g.nodes:
        rule = lookup(DOMAIN, node.op)
        if not isinstance(rule, DarknetRule):
            known = node.op in NO_VALUES
            out.append(([], None) if known else
                       (None, f"Darknet's [{node.op}] layer is not one Wetron knows"))
            continue
        ctx.node, ctx.rule = node, rule
        ins = []
        for x in node.inputs:
            t = types.get(x)
            ins.append(None if t is None else (t[1], t[2]))
        ctx.ins = ins
        try:
            check_modelled(ctx)
            out.append((rule.params(ctx), None))
        except Unknown as e:
            out.append((None, f"layer {node.name}: its size is not known ({e})"))
        except (ArithmeticError, ValueError, TypeError) as e:
            out.append((None, f"layer {node.name}: {e}"))
    return out


def _header(ws):
    """(major, minor, revision, seen, header bytes) of a .weights file."""
    if ws.size < 16:
        raise _error(ws, f"{ws.size} bytes: a .weights file starts with a 16- or 20-byte header")
    major, minor, revision = struct.unpack("<3i", ws.read(0, 12))
    if major * 10 + minor >= 2 and 0 <= major < 1000 and 0 <= minor < 1000:
        if ws.size < 20:
            raise _error(ws, f"{ws.size} bytes: version {major}.{minor} has a 20-byte header")
        return major, minor, revision, struct.unpack("<Q", ws.read(12, 8))[0], 20
    return major, minor, revision, struct.unpack("<I", ws.read(12, 4))[0], 16


def _weights_companion(source, companions, m):
    """The Source of the .weights that goes with a .cfg, or None: the one named like it
    (yolov3.cfg -> yolov3.weights), else the only *.weights the listing holds."""
    if companions is None:
        return None
    stem = posixpath.splitext(source.name)[0]
    wanted = companions(stem + ".weights")
    if wanted is not None:
        return wanted
    names = getattr(companions, "names", None)
    listed = []
    if callable(names):
        for i, n in enumerate(names()):
            if i >= MAX_NAMES:
                break
            if fnmatch.fnmatch(n.lower(), "*.weights") and "/" not in n:
                listed.append(n)
    if len(listed) == 1:
        return companions(listed[0])
    if len(listed) > 1:
        m.warnings.append(f"weights not read: {len(listed)} .weights files "
                          f"({', '.join(sorted(listed)[:4])}), none named like {source.name}; "
                          f"open the .cfg with one of them")
    return None


def _tensors(m, g, layouts, ws):
    """The layers' parameters as tensors (values read from `ws`, the .weights Source, or
    None), on their nodes after the data inputs: each inner layer's weights first."""
    header = None
    if ws is not None:
        try:
            header = _header(ws)
        except ModelError as e:
            m.warnings.append(f"weights not read: {e}")
            ws = None
    transposed = header is not None and (header[0] > 1000 or header[1] > 1000)
    # where each array's values are: offsets in file order, up to a layer not known
    placed = []             # (node, sub, array, dims, offset or None, error)
    pos = header[4] if header else 0
    ends = []               # (file position after a layer's values, layer)
    stop = None             # why the values after a layer cannot be placed
    for node, (arrays, why) in zip(g.nodes, layouts):
        if arrays is None:
            if stop is None:
                stop = why
            continue
        skipped = _dontload(node)
        for sub, name, dims, in_file in arrays:
            if transposed and name == "weights" and node.op in CONNECTED:
                dims = tuple(reversed(dims))
            if stop is not None:
                placed.append((node, sub, name, dims, None, f"not read: {stop}"))
            elif skipped:
                placed.append((node, sub, name, dims, None,
                               "not in the .weights file: the layer says dontload=1"))
            elif not in_file:
                placed.append((node, sub, name, dims, None,
                               "not in the .weights file: the layer says dontloadscales=1"))
            else:
                count = 1
                for d in dims:
                    count *= d
                placed.append((node, sub, name, dims, pos, None))
                pos += 4 * count
        if arrays and stop is None and not skipped:
            ends.append((pos, node.name))
    readable = ws is not None
    limit = None            # values at or after this offset are not in the file
    if ws is not None:
        if stop is not None:
            m.warnings.append(f"{ws.name}: values read up to the first layer whose size is "
                              f"not known: {stop}")
        if ws.size > pos and stop is None:
            m.warnings.append(f"{ws.name}: {ws.size - pos:,} bytes after the values of the "
                              f"last layer are not read: the file holds more than the .cfg's "
                              f"layers need ({pos:,} bytes)")
        elif ws.size < pos:
            done = [name for end, name in ends if end == ws.size]
            if done or ws.size == header[4]:
                last = done[-1] if done else None
                limit = ws.size
                m.warnings.append(f"{ws.name}: a partial .weights (as `darknet partial` writes)"
                                  f": it ends after {f'layer {last}' if last else 'its header'}"
                                  f"; the layers after it have no values here")
            else:
                inside = next((name for end, name in ends if end > ws.size), "?")
                m.warnings.append(f"weights not read: {ws.name} has {ws.size:,} bytes and ends "
                                  f"inside the values of layer {inside}; the .cfg's layers "
                                  f"need {pos:,}: it is not the .weights of this .cfg")
                readable = False
        m.metadata.append(["weights", ws.name])
        m.metadata.append(["weights version", f"{header[0]}.{header[1]}.{header[2]}"])
        m.metadata.append(["images seen", str(header[3])])
        if readable:
            m.format_version = f"weights {header[0]}.{header[1]}.{header[2]}"
    decode = raw_decoder(ws, FORMAT) if readable else None
    if len(placed) > MAX_TENSORS:
        raise ModelError(too_many(len(placed), "tensors", MAX_TENSORS), m.file, FORMAT)
    by_node = {}
    for node, sub, name, dims, offset, error in placed:
        t = Tensor("/".join(p for p in (node.name, sub, name) if p), "float32", tuple(dims))
        if error is None and ws is None:
            error = "no .weights file given with the .cfg: its values are not known"
        elif error is None and not readable:
            error = f"not read: {ws.name} is not the .weights of this .cfg"
        elif error is None and limit is not None and offset >= limit:
            error = f"not in {ws.name}: the partial file ends before this layer"
        if error is None:
            t.location, t.file = "external", ws.name
            t.data = (offset, 4 * t.count)
            t.decoder = decode
        else:
            t.error = error
        m.add_tensor(t)
        g.initializers.append(t)
        g.types[t.name] = ("tensor", t.dtype, t.dims, "")
        by_node.setdefault(id(node), {}).setdefault(sub, []).append((name, t.name))
    for node in g.nodes:
        for sub, arrays in by_node.get(id(node), {}).items():
            arrays.sort(key=lambda a: a[0] != "weights")   # weights, then file order
            node.inputs += [n for _, n in arrays]


def _dontload(node):
    from ..ops.darknet import c_atoi
    for a in node.attributes:
        if a.name == "dontload":
            v = a.value[0] if isinstance(a.value, list) else a.value
            return (int(v) if type(v) in (int, float) else c_atoi(str(v))) != 0
    return False


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    first = _first_section(head) if b"\x00" not in head[:1024] else None
    if first not in ("[net]", "[network]"):
        if _is_weights(head, source.name) or source.name.lower().endswith(".weights"):
            raise _error(source, WEIGHTS_ALONE)
        raise _error(source, "not a Darknet .cfg: its first section is not [net]")
    sections, warnings = read_cfg(source)
    m = Model(source.name, source.size, FORMAT)
    m.format_version = "cfg"
    m.warnings += warnings
    g = _build(source, sections, m)
    ws = _weights_companion(source, companions, m)
    _tensors(m, g, _layouts(g), ws)
    return m
