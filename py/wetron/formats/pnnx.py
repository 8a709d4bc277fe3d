"""pnnx: PyTorch Neural Network eXchange, pnnx's own graph IR (.pnnx.param, text) and its
weights (.pnnx.bin, a zip archive), as the pnnx converter writes them beside its ncnn
output; given together or the .param alone.

The .param (tools/pnnx/src/ir.cpp Graph::save / Graph::load):
  7767517
  operator_count operand_count
  type name input_count output_count input... output... key=value ...
one operator a line. `type` is a torch name (nn.Conv2d, F.relu, torch.cat, Tensor.view)
or pnnx's own (pnnx.Input, pnnx.Output, pnnx.Attribute, pnnx.Expression); operands are
named by the file. The key=value pairs are
  name=value       a parameter: None, True/False, an int, a float (it has '.' or 'e'),
                   a string, or a list "(1,2)" / "[a,b]" of them (Parameter::parse_from_string)
  @name=(dims)T    an attribute (a weight): its shape and element type T (f32, f16, i64,
                   ...; pnnx's type_to_string); its bytes are the zip member "<op>.<name>"
  $name=operand    the name of the input slot an operand feeds (input, weight, ...)
  #operand=(dims)T an operand's shape and type: "?" an unknown dim, "%s" a symbolic one
The .pnnx.bin is a zip of stored members, each an attribute's raw little-endian values
(StoreZipWriter); they are read on request.

Graph: pnnx.Input operators' outputs are the graph inputs, pnnx.Output operators'
inputs its outputs, a pnnx.Attribute's output is an initializer (its @data); every other
operator is a node of domain "pnnx" (wetron.ops.pnnx) whose op is the pnnx type, whose name
is the operator's torch module path with "/" between modules (encoder/layer.0/attention:
the module hierarchy; pnnx's own names as they are), and whose inputs are its operands
then its attributes (initializers named "<op>.<attribute>", the zip members' names).
Parameters are attributes: ints, floats, strings, lists as ints/floats/strings, True/False
as the strings "true"/"false", None as "None". Every operand's shape is the file's own.
"""
import re
import struct
import zipfile
import zlib

from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..source import SourceFile
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import module_path, raw_decoder

FORMAT = "pnnx"
EXTENSIONS = (".pnnx.param",)
COMPANIONS = (("*.pnnx.bin", "the weights (a zip of the attributes), named as the "
               ".pnnx.param: x.pnnx.param + x.pnnx.bin"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "pnnx"

MAGIC = "7767517"
MAX_TEXT = 64 << 20
MAX_RANK = 64
MAX_IO = 1 << 16
MAX_LIST = 1 << 16
# pnnx's type strings (ir.cpp type_to_string) -> Wetron's dtypes
TYPES = {"f32": "float32", "f64": "float64", "f16": "float16", "i32": "int32",
         "i64": "int64", "i16": "int16", "i8": "int8", "u8": "uint8", "bool": "bool",
         "c64": "complex64", "c128": "complex128", "c32": "complex32", "bf16": "bfloat16"}
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error,
               EOFError, OSError, ValueError, RuntimeError, struct.error)
_TYPED = re.compile(r"\(([^()]*)\)([a-z0-9]*)\Z")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\Z", re.I)
# The first part of the names pnnx makes from an op's type ("torch.transpose_57",
# "Tensor.to_20"): not a module
_OP_PREFIXES = {"torch", "Tensor", "F", "nn", "pnnx", "prim", "aten"}


def node_name(name):
    """A torch module path as Wetron's module paths ("encoder.layer.0.attention" ->
    "encoder/layer.0/attention"); pnnx's own names ("pnnx_expr_6", "torch.cat_0") as
    they are."""
    first = name.split(".", 1)[0]
    if "." not in name or first in _OP_PREFIXES or first.startswith("pnnx"):
        return name
    return "/".join(module_path(name))


def match(head, name):
    text = head.lstrip()
    if not text.startswith(MAGIC.encode()):
        return 0
    if b"pnnx.Input" in head or b"pnnx.Output" in head or \
            re.search(rb" #[^ =]+=\([0-9?,%a-z_]*\)[a-z0-9]+", head):
        return 1.0
    return 0.3 if name.lower().endswith(".pnnx.param") else 0


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


def parse(source, companions=None):
    if source.size > MAX_TEXT:
        raise _error(source, f"{source.size:,} bytes of text, more than the {MAX_TEXT >> 20} "
                     "MB Wetron reads as a .pnnx.param")
    text = source.read(0, source.size).decode("utf-8", "replace")
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if len(lines) < 2 or lines[0][1].strip() != MAGIC:
        raise _error(source, "the first line is not the magic 7767517")
    counts = lines[1][1].split()
    if len(counts) != 2 or not all(c.isdigit() for c in counts):
        raise _error(source, "line 2 is not 'operator_count operand_count'")
    op_count, operand_count = int(counts[0]), int(counts[1])
    if op_count > MAX_NODES or operand_count > 4 * MAX_NODES:
        raise _error(source, too_many(max(op_count, operand_count), "operators or operands",
                                      MAX_NODES))
    if len(lines) - 2 < op_count:
        raise _error(source, f"{op_count} operators declared, {len(lines) - 2} lines follow")
    m = Model(source.name, source.size, FORMAT)
    m.format_version = "pnnx.param"
    m.producer = "pnnx"
    m.imports = []
    archive = _archive(source, companions, m)
    g = m.add_graph(Graph())
    for number, line in lines[2:2 + op_count]:
        _operator(m, g, source, number, line, archive)
    consumed = {v for n in g.nodes for v in n.inputs} | set(g.outputs)
    if archive is not None:
        archive.unused(m)
    if not g.outputs:   # a graph without pnnx.Output: what nothing reads
        g.outputs = [v for n in g.nodes for v in n.outputs if v not in consumed]
    return m


def _operator(m, g, source, number, line, archive):
    def fail(what):
        return _error(source, f"line {number}: {what}")
    tokens = line.split()
    if len(tokens) < 4 or not tokens[2].isdigit() or not tokens[3].isdigit():
        raise fail("not 'type name input_count output_count ...'")
    op, name = tokens[0], tokens[1]
    n_in, n_out = int(tokens[2]), int(tokens[3])
    if n_in > MAX_IO or n_out > MAX_IO or 4 + n_in + n_out > len(tokens):
        raise fail(f"{n_in} inputs and {n_out} outputs, {len(tokens) - 4} names follow")
    inputs = tokens[4:4 + n_in]
    outputs = tokens[4 + n_in:4 + n_in + n_out]
    params, weights, slots = [], [], {}
    for token in tokens[4 + n_in + n_out:]:
        key, eq, value = token.partition("=")
        if not eq or not key:
            raise fail(f"'{token[:40]}' is not key=value")
        if key[0] == "@":
            weights.append((key[1:], value))
        elif key[0] == "$":
            slots[value] = key[1:]
        elif key[0] == "#":
            dtype, dims = _typed(value, fail)
            g.types[key[1:]] = ("tensor", dtype, dims, "")
        else:
            params.append(_parameter(key, value))
    for v in outputs:
        g.types.setdefault(v, ("tensor", "undefined", None, ""))
    if op == "pnnx.Input":
        g.inputs.extend(outputs)
        return
    if op == "pnnx.Output":
        g.outputs.extend(inputs)
        return
    tensors = []
    for key, value in weights:
        dtype, dims = _typed(value, fail)
        if dims is None or any(type(d) is not int for d in dims):
            raise fail(f"attribute @{key}: shape {value}")
        t = Tensor(outputs[0] if op == "pnnx.Attribute" and outputs else f"{name}.{key}",
                   dtype, tuple(dims))
        if archive is not None:
            archive.locate(t, f"{name}.{key}")
        if len(m.tensors) >= MAX_TENSORS:
            raise fail(too_many(len(m.tensors) + 1, "attributes", MAX_TENSORS))
        tensors.append(m.add_tensor(t))
    if op == "pnnx.Attribute":
        for t in tensors[:1]:
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
        return
    node = Node(op, DOMAIN, node_name(name), inputs + [t.name for t in tensors], outputs,
                params)
    if slots:
        node.metadata.append(["input names", ", ".join(
            f"{slots[v]}={v}" for v in inputs if v in slots)])
    for t in tensors:
        g.initializers.append(t)
        g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
    g.nodes.append(node)


def _typed(value, fail):
    """'(1,3,?,%w)f32' -> ("float32", (1, 3, None, "w")); '()' is a scalar."""
    m = _TYPED.match(value)
    if not m:
        raise fail(f"'{value[:40]}' is not (shape)type")
    dims = []
    for d in (m.group(1).split(",") if m.group(1) else []):
        if d.lstrip("-").isdigit():
            n = int(d)
            dims.append(n if n >= 0 else None)
        elif d.startswith("%") and len(d) > 1:
            dims.append(d[1:][:64])
        else:
            dims.append(None)
        if len(dims) > MAX_RANK:
            raise fail(f"a shape of more than {MAX_RANK} dimensions")
    return TYPES.get(m.group(2), "undefined"), tuple(dims)


def _scalar(text):
    if text == "None":
        return "string", "None"
    if text in ("True", "False"):
        return "string", text.lower()
    if _NUMBER.match(text):
        if "." in text or "e" in text.lower():
            return "float", float(text)
        return "int", int(text)
    return "string", text


def _parameter(key, value):
    """A parameter as pnnx reads it (Parameter::parse_from_string)."""
    if "%" not in value and value[:1] in ("(", "[") and value[-1:] in (")", "]"):
        items = [x for x in value[1:-1].split(",") if x != ""][:MAX_LIST]
        if not items:
            return Attribute(key, "ints", [])
        typed = [_scalar(x) for x in items]
        kinds = {k for k, _ in typed}
        if kinds == {"int"}:
            return Attribute(key, "ints", [v for _, v in typed])
        if kinds <= {"int", "float"}:
            return Attribute(key, "floats", [float(v) for _, v in typed])
        return Attribute(key, "strings", [str(v) if k != "string" else v for k, v in typed])
    kind, v = _scalar(value)
    return Attribute(key, kind, v)


class _Archive:
    """The .pnnx.bin: attribute name -> its member's bytes, stored members read in place."""

    def __init__(self, source, members):
        self.source, self.members, self.used = source, members, set()
        self.decode = raw_decoder(source, FORMAT)

    def locate(self, t, member):
        info = self.members.get(member)
        if info is None:
            if t.count:
                t.error = f"{self.source.name} has no member {member}"
            return
        self.used.add(member)
        want = t.size
        if info.file_size != want:
            t.error = f"{member}: {info.file_size:,} bytes for {want:,}"
            return
        if info.compress_type != zipfile.ZIP_STORED:
            t.error = f"{member}: compressed in the archive (pnnx stores its members)"
            return
        local = self.source.read(info.header_offset, 30)
        if local[:4] != b"PK\x03\x04":
            t.error = f"{member}: a bad zip entry"
            return
        n, extra = struct.unpack_from("<HH", local, 26)
        start = info.header_offset + 30 + n + extra
        if start + info.file_size > self.source.size:
            t.error = f"{member}: lies beyond the end of the archive"
            return
        t.location, t.file, t.data = "external", self.source.name, (start, info.file_size)
        if t.dtype not in ("undefined", "complex32"):
            t.decoder = self.decode

    def unused(self, m):
        rest = [n for n in self.members if n not in self.used]
        if rest:
            m.warnings.append(f"{self.source.name}: {len(rest)} members no operator names "
                              f"({', '.join(rest[:5])}{', …' if len(rest) > 5 else ''})")


def _archive(source, companions, m):
    base = source.name.rsplit("/", 1)[-1]
    stem = base[:-len(".param")] if base.lower().endswith(".param") else base
    ws = companions(stem + ".bin") if companions is not None else None
    if ws is None:
        m.warnings.append(f"{stem}.bin was not given: the weights' values cannot be shown")
        return None
    try:
        infos = zipfile.ZipFile(SourceFile(ws)).infolist()
    except _ZIP_ERRORS as e:
        m.warnings.append(f"{ws.name}: not a readable zip archive ({e}): the weights are not read")
        return None
    if len(infos) > MAX_TENSORS:
        m.warnings.append(f"{ws.name}: {too_many(len(infos), 'members', MAX_TENSORS)}")
        return None
    m.metadata.append(["weights", ws.name])
    return _Archive(ws, {i.filename: i for i in infos})
