"""ncnn: a network description (.param, text, or .param.bin, its binary form) and its
weights (.bin, ncnn's ModelBin stream), given together or the description alone.

Text .param (src/net.cpp Net::load_param, src/paramdict.cpp ParamDict::load_param):
  7767517
  layer_count blob_count
  type name bottom_count top_count bottom... top... id=value id=value ...
one layer a line. A value is an int, a float (it has '.' or 'e'), a string (it starts with
a letter or '"'), or an array: "id=v1,v2,..." or the older "-233xx=n,v1,...,vn" (array
parameter xx), ints or floats by their form. Ids run 0..31; 30 is the layer's top shape
hints (ncnnoptimize writes them: per top [dims, w, h, (d,) c]), 31 its feature mask.
Binary .param.bin (Net::load_param_bin, ParamDict::load_param_bin; ncnn2mem writes it):
int32 7767517, layer_count, blob_count, then per layer int32 type index (the layer
registry's order: ncnn_schema.LAYER_TYPES), bottom_count, top_count, bottom and top blob
indices, then its parameters: int32 id, a 4-byte value (an int or a float: the layer's
load_param says which), id <= -23300 an array (int32 count, 4-byte values), id <= -23400
a string (int32 length, the bytes padded to 4), until the id -233. It names neither
layers nor blobs: they are named by their index ("layer12", "blob7").

Parameters are the node's attributes by the name the layer's load_param gives its id
(ncnn_schema.PARAMS, generated from ncnn's src/layer/*.cpp by tools/gen_ncnn_schema.py:
Convolution 0 num_output, 1 kernel_w, 11 kernel_h, ...); an id the layer does not read
keeps its number as name. A value whose kind is not the one the layer reads (an int where
ncnn reads a float) is shown as written; the op rules leave such a node unknown.

Blobs are values, named as the file names them; a bottom no layer produced is a graph
input, as ncnn creates the blob then; Input layers' tops are graph inputs too, shaped by
their w/h/d/c parameters where given. Shapes are ncnn's Mat shapes without a batch, in
row-major order: (w), (h, w), (c, h, w), (c, d, h, w). Blobs no layer reads are the
graph's outputs.

Weights (.bin; src/modelbin.cpp ModelBinFromDataReader::load): each layer with weights
reads them in its load_model's order (WEIGHTS below, from src/layer/*.cpp), one after
the other, nothing between layers. A load of type 1 is w raw float32s. A load of type 0
starts with a 4-byte tag: 0x01306B47 float16 (w values, padded to 4 bytes), 0x000D4B38
int8 (padded to 4), 0x0002C056 or 0 float32 raw, any other tag quantized: a table of 256
float32s then w uint8 indices into it (padded to 4). Values are read on request. Which
.bin: named as the .param (x.param -> x.bin, x.ncnn.param -> x.ncnn.bin, x.param.bin ->
x.bin). A .bin that ends early, or a layer whose weights ncnn's sources do not describe
(a custom layer), stops the weights there, with a warning.
"""
import math
import re
import struct

from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder
from . import ncnn_schema

FORMAT = "ncnn"
EXTENSIONS = (".param", ".param.bin")
COMPANIONS = (("*.bin", "the weights (ModelBin), named as the .param: x.param + x.bin"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
DOMAIN = "ncnn"

MAGIC = 7767517
MAX_PARAM_COUNT = 32         # NCNN_MAX_PARAM_COUNT: ids 0..31
MAX_TEXT = 64 << 20          # bytes of a text .param
MAX_ARRAY = 1 << 20          # elements of one array parameter
MAX_STRING = 255             # ParamDict's longest string
MAX_IO = 1 << 16             # bottoms or tops of one layer
MAX_WEIGHT = 1 << 40         # elements of one weight load (a hostile count)
SHAPE_HINTS, FEATMASK = 30, 31
GENERAL_PARAMS = {SHAPE_HINTS: "shape_hints", FEATMASK: "featmask"}

TAG_FLOAT16, TAG_INT8, TAG_FLOAT32 = 0x01306B47, 0x000D4B38, 0x0002C056
PARAMS = {t: {pid: (name, kind) for pid, name, kind, _ in entries}
          for t, entries in ncnn_schema.PARAMS.items()}
DEFAULTS = {t: [(pid, name, default) for pid, name, _, default in entries]
            for t, entries in ncnn_schema.PARAMS.items()}


# --- recognising ---------------------------------------------------------------------------
_TEXT_HEAD = re.compile(rb"\s*7767517\s+(\d+)\s+(\d+)\s")


def _is_pnnx(head):
    """pnnx's own IR shares the magic: its ops are torch names and its operands typed."""
    return b"pnnx.Input" in head or b"pnnx.Output" in head or \
        re.search(rb" #[^ =]+=\([0-9?,%a-z_]*\)(f32|f16|f64|i64|i32|i16|i8|u8|bool|bf16)",
                  head) is not None


def match(head, name):
    low = name.lower()
    if len(head) >= 12 and struct.unpack_from("<i", head)[0] == MAGIC:
        return 1.0 if low.endswith(".param.bin") else 0.8
    if _TEXT_HEAD.match(head):
        if _is_pnnx(head) or low.endswith(".pnnx.param"):
            return 0.2
        return 1.0 if low.endswith(".param") else 0.9
    return 0


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    m = Model(source.name, source.size, FORMAT)
    m.imports = []
    if len(head) >= 12 and struct.unpack_from("<i", head)[0] == MAGIC:
        m.format_version = "param (binary)"
        layers, blob_count = _read_binary(source)
    elif _TEXT_HEAD.match(head):
        m.format_version = "param (text)"
        layers, blob_count = _read_text(source)
    else:
        raise _error(source, "no 7767517 magic: not an ncnn .param")
    weights = _weights_companion(source, companions, m)
    _build(m, source, layers, blob_count, weights)
    return m


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


class _Layer:
    __slots__ = ("type", "name", "bottoms", "tops", "params", "line")

    def __init__(self, type, name, bottoms, tops, params, line):
        self.type, self.name, self.bottoms, self.tops = type, name, bottoms, tops
        self.params, self.line = params, line   # params: {id: (kind, value)}


def _counts(source, layer_count, blob_count):
    if layer_count <= 0 or blob_count <= 0:
        raise _error(source, f"{layer_count} layers and {blob_count} blobs (ncnn needs both "
                     "above 0)")
    if layer_count > MAX_NODES:
        raise _error(source, too_many(layer_count, "layers", MAX_NODES))
    if blob_count > 4 * MAX_NODES:
        raise _error(source, too_many(blob_count, "blobs", 4 * MAX_NODES))


# --- the text .param -----------------------------------------------------------------------
_TOKEN = re.compile(r'-?\d+="[^"\n]*"?|\S+')
_INT_PREFIX = re.compile(r"[+-]?\d+")


def _read_text(source):
    if source.size > MAX_TEXT:
        raise _error(source, f"{source.size:,} bytes of text, more than the {MAX_TEXT >> 20} MB "
                     "Wetron reads as a .param")
    text = source.read(0, source.size).decode("utf-8", "replace")
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if len(lines) < 2 or lines[0][1].split() != [str(MAGIC)]:
        raise _error(source, "the first line is not the magic 7767517")
    counts = lines[1][1].split()
    if len(counts) != 2 or not all(_INT_PREFIX.fullmatch(c) for c in counts):
        raise _error(source, "line 2 is not 'layer_count blob_count'")
    layer_count, blob_count = int(counts[0]), int(counts[1])
    _counts(source, layer_count, blob_count)
    if len(lines) - 2 < layer_count:
        raise _error(source, f"{layer_count} layers declared, {len(lines) - 2} lines follow")
    layers = []
    for number, line in lines[2:2 + layer_count]:
        layers.append(_text_layer(source, number, line))
    return layers, blob_count


def _text_layer(source, number, line):
    def fail(what):
        return _error(source, f"line {number}: {what}")
    tokens = _TOKEN.findall(line)
    if len(tokens) < 4:
        raise fail("not 'type name bottom_count top_count ...'")
    ltype, name = tokens[0][:255], tokens[1][:255]
    if not (_INT_PREFIX.fullmatch(tokens[2]) and _INT_PREFIX.fullmatch(tokens[3])):
        raise fail("the bottom and top counts are not numbers")
    nb, nt = int(tokens[2]), int(tokens[3])
    if not (0 <= nb <= MAX_IO and 0 <= nt <= MAX_IO) or 4 + nb + nt > len(tokens):
        raise fail(f"{nb} bottoms and {nt} tops, {len(tokens) - 4} names follow")
    bottoms = [t[:255] for t in tokens[4:4 + nb]]
    tops = [t[:255] for t in tokens[4 + nb:4 + nb + nt]]
    params = {}
    for token in tokens[4 + nb + nt:]:
        key, eq, value = token.partition("=")
        if not eq or not _INT_PREFIX.fullmatch(key):
            raise fail(f"'{token[:40]}' is not a parameter id=value")
        pid = int(key)
        array = pid <= -23300
        if array:
            pid = -pid - 23300
        if not 0 <= pid < MAX_PARAM_COUNT:
            raise fail(f"parameter id {key} (ncnn reads ids 0 to {MAX_PARAM_COUNT - 1})")
        params[pid] = _text_value(value, array, fail)
    return _Layer(ltype, name, bottoms, tops, params, number)


def _is_float(text):
    return "." in text or "e" in text.lower()


def _number(text, as_float, fail):
    """A value as ParamDict reads it: vstr_to_float, or sscanf("%d") (a leading int)."""
    if as_float:
        m = re.match(r"[+-]?\d*(?:\.\d*)?(?:[eE][+-]?\d*)?", text)
        try:
            return float(m.group(0).rstrip("eE+-") or "0") if m.group(0) not in ("", "+", "-") \
                else 0.0
        except ValueError:
            return 0.0
    m = _INT_PREFIX.match(text)
    if not m:
        raise fail(f"'{text[:20]}' is not a number")
    v = int(m.group(0))
    return v if -2 ** 31 <= v < 2 ** 31 else (v + 2 ** 31) % 2 ** 32 - 2 ** 31


def _text_value(value, array, fail):
    """(kind, value): kind "int", "float", "ints", "floats" or "string"."""
    if array:   # old style: count, then the elements
        parts = value.split(",")
        count = _number(parts[0], False, fail)
        if not 0 <= count <= MAX_ARRAY or len(parts) - 1 < count:
            raise fail(f"an array of {count} elements with {len(parts) - 1} given")
        items = [p[:15] for p in parts[1:1 + count]]
        floats = any(_is_float(p) for p in items)
        return ("floats" if floats else "ints",
                [_number(p, _is_float(p), fail) for p in items])
    if not value:
        raise fail("a parameter without a value")
    if value[0].isalpha() or value[0] == '"':
        text = value[1:] if value[0] == '"' else value
        if text.endswith('"'):
            text = text[:-1]
        if len(text) > MAX_STRING:
            raise fail(f"a string of {len(text)} characters (ncnn reads {MAX_STRING})")
        return "string", text
    parts = value.split(",")
    if len(parts) > MAX_ARRAY:
        raise fail(f"an array of more than {MAX_ARRAY:,} elements")
    floats = _is_float(parts[0][:15])
    if len(parts) > 1:
        return ("floats" if floats else "ints",
                [_number(p[:15], floats, fail) for p in parts if p != ""])
    return ("float" if floats else "int"), _number(value[:15], floats, fail)


# --- the binary .param.bin -----------------------------------------------------------------
class _Cursor:
    def __init__(self, source):
        self.source, self.pos = source, 0

    def take(self, n):
        if n < 0 or self.pos + n > self.source.size:
            raise _error(self.source, f"truncated: {n:,} bytes needed at byte {self.pos:,}, the "
                         f"file has {self.source.size:,}", self.pos)
        data = self.source.read(self.pos, n)
        self.pos += n
        return data

    def int32(self):
        return struct.unpack("<i", self.take(4))[0]


def _read_binary(source):
    c = _Cursor(source)
    c.int32()
    layer_count, blob_count = c.int32(), c.int32()
    _counts(source, layer_count, blob_count)
    if layer_count * 12 > source.size:
        raise _error(source, f"{layer_count:,} layers cannot fit in {source.size:,} bytes")
    layers = []
    for i in range(layer_count):
        at = c.pos
        index, nb, nt = c.int32(), c.int32(), c.int32()
        if not (0 <= nb <= MAX_IO and 0 <= nt <= MAX_IO):
            raise _error(source, f"layer {i}: {nb} bottoms and {nt} tops", at)
        if 0 <= index < len(ncnn_schema.LAYER_TYPES):
            ltype = ncnn_schema.LAYER_TYPES[index]
        else:   # a custom layer (LayerType::CustomBit) or an unknown index
            ltype = f"custom{index & 0xFF}" if index & 0x100 else f"type{index}"
        blobs = [c.int32() for _ in range(nb + nt)]
        if any(not 0 <= b < blob_count for b in blobs):
            raise _error(source, f"layer {i}: a blob index outside 0..{blob_count - 1}", at)
        params = _binary_params(c, ltype, i)
        layers.append(_Layer(ltype, f"layer{i}", [f"blob{b}" for b in blobs[:nb]],
                             [f"blob{b}" for b in blobs[nb:]], params, i))
    return layers, blob_count


def _binary_params(c, ltype, i):
    known = PARAMS.get(ltype, {})
    params = {}
    while True:
        at = c.pos
        pid = c.int32()
        if pid == -233:
            return params
        string, array = pid <= -23400, pid <= -23300
        pid = -pid - (23400 if string else 23300) if array else pid
        if not 0 <= pid < MAX_PARAM_COUNT:
            raise _error(c.source, f"layer {i}: parameter id {pid} (ncnn reads ids 0 to "
                         f"{MAX_PARAM_COUNT - 1})", at)
        kind = known.get(pid, (None, None))[1]
        if string:
            n = c.int32()
            if not 0 <= n <= MAX_STRING:
                raise _error(c.source, f"layer {i}: a string of {n} bytes", at)
            text = c.take((n + 3) // 4 * 4)[:n]
            params[pid] = ("string", text.split(b"\0", 1)[0].decode("utf-8", "replace"))
        elif array:
            n = c.int32()
            if not 0 <= n <= MAX_ARRAY:
                raise _error(c.source, f"layer {i}: an array of {n} elements", at)
            raw = c.take(4 * n)
            if (ltype, pid) in FLOAT_ARRAYS:
                params[pid] = ("floats", list(struct.unpack(f"<{n}f", raw)))
            else:
                params[pid] = ("ints", list(struct.unpack(f"<{n}i", raw)))
        else:
            raw = c.take(4)
            if kind == "float":
                params[pid] = ("float", struct.unpack("<f", raw)[0])
            else:
                params[pid] = ("int", struct.unpack("<i", raw)[0])


# Array parameters the layers read as floats (a binary array says neither; the layers'
# sources use these Mats as float*: activation_params, Eltwise's coeffs, PriorBox's sizes
# and ratios, the Yolo layers' biases and anchor scales); the other arrays hold ints.
FLOAT_ARRAY_NAMES = {"activation_params", "coeffs", "min_sizes", "max_sizes", "aspect_ratios",
                     "biases", "anchors_scale"}
FLOAT_ARRAYS = {(t, pid) for t, entries in ncnn_schema.PARAMS.items()
                for pid, name, kind, _ in entries if kind == "array" and name in FLOAT_ARRAY_NAMES}


# --- naming the parameters -----------------------------------------------------------------
def attributes(ltype, params):
    """The node's attributes: each id by the name the layer gives it, typed as written."""
    known = PARAMS.get(ltype, {})
    out = []
    for pid in sorted(params):
        kind, value = params[pid]
        name = known.get(pid, (GENERAL_PARAMS.get(pid, str(pid)),))[0]
        out.append(Attribute(name, kind, value))
    return out


def param(layer, name, default=None):
    """A parameter's value as the layer's load_param reads it (ncnn's default where the
    file has none; a default that is another parameter is that one's value)."""
    for pid, pname, pdefault in DEFAULTS.get(layer.type, ()):
        if pname == name:
            if pid in layer.params:
                return layer.params[pid][1]
            if isinstance(pdefault, str):
                return param(layer, pdefault, default) if any(
                    n == pdefault for _, n, _ in DEFAULTS[layer.type]) else default
            return pdefault if pdefault is not None else default
    return default


def _int(layer, name):
    v = param(layer, name, 0)
    return v if type(v) is int else 0


# --- the weights: what each layer's load_model reads ---------------------------------------
# Per layer type, a function of the layer giving [(slot, dims, load type)] in load order;
# dims as ncnn's ModelBin.load(w[, h[, c]]) makes the Mat, row-major ((c, h, w)), or the
# layer's own reshape where it reshapes the flat load (Convolution's (num_output,
# num_input, kernel_h, kernel_w)). From src/layer/*.cpp load_model.
def _conv(layer, kernel_names, channel_axis=True):
    if _int(layer, "dynamic_weight"):
        return []
    n, size = _int(layer, "num_output"), _int(layer, "weight_data_size")
    kernel = [_int(layer, k) for k in kernel_names]
    maxk = math.prod(kernel)
    dims = (size,)
    if n > 0 and maxk > 0 and size % (n * maxk) == 0 and channel_axis:
        dims = (n, size // (n * maxk), *reversed(kernel))
    out = [("weight_data", dims, 0)]
    if _int(layer, "bias_term"):
        out.append(("bias_data", (n,), 1))
    return out


def _convolution(kernel_names, depthwise=False, int8=True):
    def weights(layer):
        out = _conv(layer, kernel_names)
        if not out or not int8:
            return out
        n, term = _int(layer, "num_output"), _int(layer, "int8_scale_term")
        if depthwise:
            group = _int(layer, "group") or 1
            if term in (1, 101):
                out += [("weight_data_int8_scales", (group,), 1),
                        ("bottom_blob_int8_scales", (1,), 1)]
            elif term in (2, 102):
                out += [("weight_data_int8_scales", (1,), 1),
                        ("bottom_blob_int8_scales", (1,), 1)]
        elif term:
            out += [("weight_data_int8_scales", (n,), 1), ("bottom_blob_int8_scales", (1,), 1)]
        if term > 100:
            out.append(("top_blob_int8_scales", (1,), 1))
        return out
    return weights


def _plain(layer, spec):
    """[(slot, size parameter, load type)] -> the weights, sized by those parameters."""
    return [(slot, (_int(layer, size),), kind) for slot, size, kind in spec]


def _innerproduct(layer):
    n, size = _int(layer, "num_output"), _int(layer, "weight_data_size")
    dims = (n, size // n) if n > 0 and size % n == 0 else (size,)
    out = [("weight_data", dims, 0)]
    if _int(layer, "bias_term"):
        out.append(("bias_data", (n,), 1))
    if _int(layer, "int8_scale_term"):
        out += [("weight_data_int8_scales", (n,), 1), ("bottom_blob_int8_scales", (1,), 1)]
    return out


def _embed(layer):
    n, size = _int(layer, "num_output"), _int(layer, "weight_data_size")
    dims = (size // n, n) if n > 0 and size % n == 0 else (size,)
    out = [("weight_data", dims, 0)]
    if _int(layer, "bias_term"):
        out.append(("bias_data", (n,), 1))
    if _int(layer, "int8_scale_term"):
        out.append(("weight_data_int8_scale", (1,), 1))
    return out


def _affine(size_name, beta=True):
    def weights(layer):
        if not _int(layer, "affine"):
            return []
        n = _int(layer, size_name)
        return [("gamma_data", (n,), 1)] + ([("beta_data", (n,), 1)] if beta else [])
    return weights


def _scale(layer):
    n = _int(layer, "scale_data_size")
    if n == -233:
        return []
    return [("scale_data", (n,), 1)] + ([("bias_data", (n,), 1)] if _int(layer, "bias_term")
                                        else [])


def _memorydata(layer):
    w, h, d, c = (_int(layer, k) for k in ("w", "h", "d", "c"))
    kind = _int(layer, "load_type")
    if d:
        return [("data", (c, d, h, w), kind)]
    if c:
        return [("data", (c, h, w), kind)]
    if h:
        return [("data", (h, w), kind)]
    if w:
        return [("data", (w,), kind)]
    return []


def _recurrent(gates, hidden_name):
    def weights(layer):
        directions = 2 if _int(layer, "direction") == 2 else 1
        num_output, size = _int(layer, "num_output"), _int(layer, "weight_data_size")
        hidden = _int(layer, hidden_name)
        if hidden <= 0:
            return None
        per = size // (directions * hidden * gates)
        bias_rows = 4 if gates == 3 else gates      # GRU keeps 4 bias rows
        out = [("weight_xc_data", (directions, hidden * gates, per), 0),
               ("bias_c_data", (directions, bias_rows, hidden), 0),
               ("weight_hc_data", (directions, hidden * gates, num_output), 0)]
        if gates == 4 and num_output != hidden:
            out.append(("weight_hr_data", (directions, num_output, hidden), 0))
        if _int(layer, "int8_scale_term"):
            out += [("weight_xc_data_int8_scales", (directions, hidden * gates), 1),
                    ("weight_hc_data_int8_scales", (directions, hidden * gates), 1)]
        return out
    return weights


def _multiheadattention(layer):
    embed, size = _int(layer, "embed_dim"), _int(layer, "weight_data_size")
    if embed <= 0 or _int(layer, "quantize_term") >= 400:
        return None                 # block-quantized weights: not described here
    qdim = size // embed
    kdim, vdim = _int(layer, "kdim"), _int(layer, "vdim")
    out = [("q_weight_data", (embed, qdim), 0), ("q_bias_data", (embed,), 1),
           ("k_weight_data", (embed, kdim), 0), ("k_bias_data", (embed,), 1),
           ("v_weight_data", (embed, vdim), 0), ("v_bias_data", (embed,), 1),
           ("out_weight_data", (qdim, embed), 0), ("out_bias_data", (qdim,), 1)]
    if _int(layer, "quantize_term"):
        out += [("q_weight_data_int8_scales", (embed,), 1),
                ("k_weight_data_int8_scales", (embed,), 1),
                ("v_weight_data_int8_scales", (embed,), 1),
                ("out_weight_data_int8_scale", (1,), 1)]
    return out


def _gemm(layer):
    if _int(layer, "quantize_term") >= 400:
        return None                 # block-quantized B: not described here
    m, n, k = (_int(layer, x) for x in ("constantM", "constantN", "constantK"))
    out = []
    if _int(layer, "constantA") == 1:
        out.append(("A_data", (k, m) if _int(layer, "transA") else (m, k), 0))
    if _int(layer, "constantB") == 1:
        out.append(("B_data", (n, k) if _int(layer, "transB") else (k, n), 0))
    broadcast_c = _int(layer, "constant_broadcast_type_C")
    if _int(layer, "constantC") == 1 and broadcast_c != -1:
        dims = {0: (1,), 1: (m,), 2: (m, 1), 3: (m, n), 4: (1, n)}.get(broadcast_c)
        if dims is None:
            return None
        out.append(("C_data", dims, 0))
    if _int(layer, "quantize_term"):
        if _int(layer, "constantA") == 1:
            out.append(("A_data_int8_scales", (m,), 1))
        if _int(layer, "constantB") == 1:
            out.append(("B_data_int8_scale", (1,), 1))
    return out


def _requantize(layer):
    out = [("scale_in_data", (_int(layer, "scale_in_data_size"),), 1),
           ("scale_out_data", (_int(layer, "scale_out_data_size"),), 1)]
    if _int(layer, "bias_data_size"):
        out.append(("bias_data", (_int(layer, "bias_data_size"),), 1))
    return out


def _dequantize(layer):
    out = [("scale_data", (_int(layer, "scale_data_size"),), 1)]
    if _int(layer, "bias_data_size"):
        out.append(("bias_data", (_int(layer, "bias_data_size"),), 1))
    return out


def _padding(layer):
    n = _int(layer, "per_channel_pad_data_size")
    return [("per_channel_pad_data", (n,), 1)] if n else []


_K2 = ("kernel_w", "kernel_h")
_K3 = ("kernel_w", "kernel_h", "kernel_d")
WEIGHTS = {
    "Convolution": _convolution(_K2), "ConvolutionDepthWise": _convolution(_K2, True),
    "Convolution1D": _convolution(("kernel_w",), int8=False),
    "ConvolutionDepthWise1D": _convolution(("kernel_w",), int8=False),
    "Convolution3D": _convolution(_K3, int8=False),
    "ConvolutionDepthWise3D": _convolution(_K3, int8=False),
    "Deconvolution": lambda x: _conv(x, _K2, False),
    "DeconvolutionDepthWise": lambda x: _conv(x, _K2, False),
    "Deconvolution1D": lambda x: _conv(x, ("kernel_w",), False),
    "DeconvolutionDepthWise1D": lambda x: _conv(x, ("kernel_w",), False),
    "Deconvolution3D": lambda x: _conv(x, _K3, False),
    "DeconvolutionDepthWise3D": lambda x: _conv(x, _K3, False),
    "DeformableConv2D": lambda x: _conv(x, _K2, False),
    "InnerProduct": _innerproduct, "Embed": _embed, "Gemm": _gemm,
    "MultiHeadAttention": _multiheadattention,
    "BatchNorm": lambda x: _plain(x, [(s, "channels", 1) for s in
                                      ("slope_data", "mean_data", "var_data", "bias_data")]),
    "Bias": lambda x: _plain(x, [("bias_data", "bias_data_size", 1)]),
    "Scale": _scale, "PReLU": lambda x: _plain(x, [("slope_data", "num_slope", 1)]),
    "Normalize": lambda x: _plain(x, [("scale_data", "scale_data_size", 1)]),
    "Quantize": lambda x: _plain(x, [("scale_data", "scale_data_size", 1)]),
    "Dequantize": _dequantize, "Requantize": _requantize, "Padding": _padding,
    "InstanceNorm": _affine("channels"), "GroupNorm": _affine("channels"),
    "LayerNorm": _affine("affine_size"), "RMSNorm": _affine("affine_size", beta=False),
    "MemoryData": _memorydata,
    "RNN": _recurrent(1, "num_output"), "GRU": _recurrent(3, "num_output"),
    "LSTM": _recurrent(4, "hidden_size"),
}
# ncnn layers with no load_model of their own read nothing from the .bin.
NO_WEIGHTS = frozenset(ncnn_schema.LAYER_TYPES) - set(WEIGHTS)


# Layers whose bottom count varies (q / k / v / mask; A / B / C): their weights do not
# follow one bottom, so no slot names are given for them.
VARIABLE_BOTTOMS = frozenset({"MultiHeadAttention", "Gemm"})


def weight_slots(ltype):
    """The names of a layer type's weights after its one bottom (for the op metadata):
    with its bias / affine weights present, without int8 scales; [] for the layers of
    VARIABLE_BOTTOMS."""
    fn = WEIGHTS.get(ltype)
    if fn is None or ltype in VARIABLE_BOTTOMS:
        return []
    probe = _Layer(ltype, "", [], [], {}, 0)
    for pid, name, kind, _ in ncnn_schema.PARAMS.get(ltype, ()):
        if kind == "int" and name in ("bias_term", "affine", "constantA", "constantB",
                                      "constantC", "bias_data_size", "num_output",
                                      "embed_dim", "hidden_size", "channels",
                                      "affine_size", "scale_data_size", "w",
                                      "per_channel_pad_data_size"):
            probe.params[pid] = ("int", 1)
    return [slot for slot, _, _ in (fn(probe) or [])]


class _Weights:
    """The .bin read in layer order (ModelBin's rules); `tensors(layer)` -> [(slot,
    Tensor)] (those read before the stream could not be followed, `stopped` then saying
    why; None for the layers after that)."""

    def __init__(self, source, m):
        self.source, self.m, self.pos, self.stopped = source, m, 0, None
        self.raw = raw_decoder(source, FORMAT)

    def tensors(self, layer):
        if self.stopped:
            return None
        if layer.type not in WEIGHTS:
            if layer.type not in NO_WEIGHTS:
                self.stopped = (f"layer '{layer.name}' is of type {layer.type}, whose weights "
                                "ncnn's sources do not describe: the weights after it are not read")
                return None
            return []
        spec = WEIGHTS[layer.type](layer)
        if spec is None:
            self.stopped = (f"layer '{layer.name}' ({layer.type}): its weights' layout (block "
                            "quantized) is not described here; the weights from it on are not read")
            return None
        out = []      # (what was read before a failure is kept)
        for slot, dims, kind in spec:
            if any(type(d) is not int or d < 0 for d in dims) or math.prod(dims) > MAX_WEIGHT:
                self.stopped = f"layer '{layer.name}': {slot} of shape {dims}"
                return out
            try:
                t = self.load(f"{layer.name}/{slot}", dims, kind)
            except ModelError as e:
                self.stopped = f"layer '{layer.name}': {e.args[0] if e.args else e}"
                return out
            if len(self.m.tensors) >= MAX_TENSORS:
                raise ModelError(too_many(len(self.m.tensors) + 1, "weights", MAX_TENSORS),
                                 self.source.name, FORMAT)
            out.append((slot, self.m.add_tensor(t)))
        return out

    def take(self, n, what):
        if self.pos + n > self.source.size:
            raise ModelError(f"{what}: {n:,} bytes needed at byte {self.pos:,}, the .bin has "
                             f"{self.source.size:,}", self.source.name, FORMAT, self.pos)
        at = self.pos
        self.pos += n
        return at

    def load(self, name, dims, kind):
        w = math.prod(dims)
        start = self.pos
        if kind == 1:
            return self.tensor(name, "float32", dims, self.take(4 * w, name), 4 * w, start)
        at = self.take(4, name)
        tag = int.from_bytes(self.source.read(at, 4), "little")
        if tag == TAG_FLOAT16:
            size = (2 * w + 3) // 4 * 4
            return self.tensor(name, "float16", dims, self.take(size, name), 2 * w, start)
        if tag == TAG_INT8:
            size = (w + 3) // 4 * 4
            return self.tensor(name, "int8", dims, self.take(size, name), w, start)
        if tag == TAG_FLOAT32 or tag == 0:
            return self.tensor(name, "float32", dims, self.take(4 * w, name), 4 * w, start)
        table = self.take(1024, name)     # quantized: 256 float32s, then uint8 indices
        indices = self.take((w + 3) // 4 * 4, name)
        t = Tensor(name, "float32", tuple(dims))
        t.location, t.file, t.ref = "external", self.source.name, (start, self.pos - start)
        t.doc = "quantized: a table of 256 float32 values and one uint8 index per value"
        source = self.source

        def decode(t, n):
            values = struct.unpack("<256f", source.read(table, 1024))
            return [values[i] for i in source.read(indices, min(n, t.count))]
        t.decoder = decode
        return t

    def tensor(self, name, dtype, dims, offset, nbytes, start):
        t = Tensor(name, dtype, tuple(dims))
        t.location, t.file, t.ref = "external", self.source.name, (start, self.pos - start)
        t.data = (offset, nbytes)
        t.decoder = self.raw
        return t


def _weights_companion(source, companions, m):
    if companions is None:
        return None
    base = source.name.rsplit("/", 1)[-1]
    low = base.lower()
    stem = base[:-len(".param.bin")] if low.endswith(".param.bin") else \
        base[:-len(".param")] if low.endswith(".param") else base
    ws = companions(stem + ".bin")
    if ws is None:
        return None
    m.metadata.append(["weights", ws.name])
    return _Weights(ws, m)


# --- the graph -----------------------------------------------------------------------------
def _input_dims(layer):
    w, h, d, c = (_int(layer, k) for k in ("w", "h", "d", "c"))
    if c and d:
        return (c, d, h, w)
    if c:
        return (c, h, w)
    if h:
        return (h, w)
    if w:
        return (w,)
    return None


def _hinted(layer):
    """The top shapes a layer's shape hints (id 30) give, row-major, or None per top."""
    hints = layer.params.get(SHAPE_HINTS)
    tops = len(layer.tops)
    if hints is None or hints[0] != "ints" or not tops or len(hints[1]) % tops:
        return [None] * tops
    step, flat = len(hints[1]) // tops, hints[1]
    out = []
    for j in range(tops):
        p = flat[j * step:(j + 1) * step]
        dims = p[0] if p else 0
        if dims == 1 and step >= 2:
            out.append((p[1],))
        elif dims == 2 and step >= 3:
            out.append((p[2], p[1]))
        elif dims == 3 and step >= 4:
            out.append((p[4] if step == 5 else p[3], p[2], p[1]))
        elif dims == 4 and step >= 5:
            out.append((p[4], p[3], p[2], p[1]))
        else:
            out.append(None)
    return [o if o is not None and all(d > 0 for d in o) else None for o in out]


def _build(m, source, layers, blob_count, weights):
    g = m.add_graph(Graph())
    produced = {}          # blob name -> value name (the first blob of that name, as ncnn)
    consumed = set()
    blobs = 0
    for layer in layers:
        for b in layer.bottoms:
            if b not in produced:          # ncnn makes the blob: a graph input
                produced[b] = b
                blobs += 1
                g.inputs.append(b)
                g.types[b] = ("tensor", "undefined", None, "")
            consumed.add(produced[b])
        tops = []
        for t in layer.tops:
            value = t if t not in produced else f"{t}#{blobs}"
            produced.setdefault(t, value)
            blobs += 1
            tops.append(value)
        if blobs > blob_count:
            raise _error(source, f"line {layer.line}: more blobs than the {blob_count} the "
                         "header declares")
        hints = _hinted(layer)
        if layer.type == "Input":
            dims = _input_dims(layer)
            for v, hint in zip(tops, hints):
                g.inputs.append(v)
                g.types[v] = ("tensor", "undefined", hint or dims, "")
            continue
        found = weights.tensors(layer) if weights is not None else []
        node = Node(layer.type, DOMAIN, layer.name, [produced[b] for b in layer.bottoms], tops,
                    attributes(layer.type, layer.params))
        for slot, t in found or ():
            node.inputs.append(t.name)
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
        for v, hint in zip(tops, hints):
            if hint is not None:
                g.types[v] = ("tensor", "undefined", hint, "")
        g.nodes.append(node)
    produced_values = [v for n in g.nodes for v in n.outputs] + \
        [v for v in g.inputs if v not in consumed]
    g.outputs = [v for v in produced_values if v not in consumed and v not in g.inputs] or \
        [v for v in g.inputs if v not in consumed]
    if weights is not None:
        if weights.stopped:
            m.warnings.append(f"{weights.source.name}: {weights.stopped}")
        elif weights.pos != weights.source.size:
            m.warnings.append(f"{weights.source.name}: {weights.source.size - weights.pos:,} "
                              f"bytes after the last weight (read {weights.pos:,}): not the "
                              "weights of this .param?")
    elif any(t in WEIGHTS for t in (layer.type for layer in layers)):
        m.warnings.append("the .bin was not given: the weights are not shown")
