"""Core ML (.mlmodel, and the .mlpackage folder around one) -> the graph model.

A .mlmodel is one protobuf Model message (Core ML's Model.proto, FeatureTypes.proto,
NeuralNetwork.proto, MIL.proto; field numbers as in coremltools 9.0's generated
protobuf code, specification version 9). What it holds, and what Wetron makes of it:

  description    inputs and outputs with their feature types (multi-arrays with shape
                 and dtype, images, scalars, dictionaries, sequences) -> the main
                 graph's inputs and outputs; metadata (author, license, version,
                 shortDescription, userDefined) -> the model's metadata and doc
  neuralNetwork, neuralNetworkClassifier, neuralNetworkRegressor
                 layers -> nodes of domain "coreml": the layer type (the field name of
                 NeuralNetworkLayer's oneof, "convolution", "innerProduct") is the op,
                 its parameters are attributes (read through the NeuralNetwork.proto
                 table of coreml_schema.py: nested messages flattened to dotted names,
                 a oneof's choice as an attribute named after the oneof, repeated
                 messages of scalars as one list per field), its WeightParams are
                 weights named "<layer>/<field>" (floatValue, float16Value, rawValue
                 with its quantization, int8RawValue), whose bytes stay in the file.
                 branch / loop bodies are subgraphs.
  pipeline, pipelineClassifier, pipelineRegressor
                 the models one after another in the same graph (stages connect by
                 feature name), each stage's nodes under "<stage name>/" so that
                 hierarchy.py groups them into one module per stage
  mlProgram      a MIL program: each function is a graph (the default one first), its
                 block's operations are nodes of domain "coreml.mil" named by their
                 "name" attribute; inputs bound to names are edges, in the order of the
                 op's input slots (coremltools' op definitions, through
                 wetron.ops.metadata), inputs bound to values become weights;
                 `const` operations are weights named by their output, their values
                 inline (immediateValue) or in the package's weight file
                 (blobFileValue: MIL blob storage, version 2, read here with its
                 sentinel, dtype and bounds checked); nested blocks are subgraphs.
  other model types (tree ensembles, GLMs, feature vectorizers, ...)
                 one node, the model type as op, between the description's inputs and
                 outputs.

A .mlpackage is a folder: Manifest.json, Data/com.apple.CoreML/model.mlmodel and
Data/com.apple.CoreML/weights/weight.bin. The model file is the main file; the weight
file is its companion "weights/weight.bin" (`main_file(folder)` finds the model file in
a package folder for the CLI).
"""
import os
import struct

from .. import dtypes
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..protobuf import Reader, varint_at, signed32, signed64
from ..util import MAX_NODES, load_json, too_many
from ..weights import raw_decoder
from . import coreml_schema

FORMAT = "Core ML"
EXTENSIONS = (".mlmodel",)
MAIN_FILES = ("model.mlmodel",)
COMPANIONS = (("weights/weight.bin", "an ML program's weights (MIL blob storage), beside "
                                     "model.mlmodel in the .mlpackage"),)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
NN_DOMAIN = "coreml"        # NeuralNetwork layers and the other model types
MIL_DOMAIN = "coreml.mil"   # ML program (MIL) operations

MAX_DEPTH = 32              # nesting of pipelines, branch/loop bodies, MIL blocks
MAX_ATTR_DEPTH = 8          # nesting of parameter messages flattened into attributes
MAX_ATTRS = 256             # attributes of one node
MAX_ITEMS = 1 << 20         # values of one repeated attribute
MAX_DIMS = 64               # rank of a declared shape
MAX_TEXT = 4096             # characters of one metadata value
MAX_METADATA = 1024         # metadata entries
MAX_FUNCTIONS = 1024        # MIL functions of a program
MAX_MANIFEST = 1 << 20      # bytes of a package's Manifest.json
BLOB_FILE = "weights/weight.bin"
BLOB_SENTINEL = 0xDEADBEEF

# Model.Type oneof (Model.proto): field number -> name.
MODEL_TYPES = {
    200: "pipelineClassifier", 201: "pipelineRegressor", 202: "pipeline",
    300: "glmRegressor", 301: "supportVectorRegressor", 302: "treeEnsembleRegressor",
    303: "neuralNetworkRegressor", 304: "bayesianProbitRegressor", 400: "glmClassifier",
    401: "supportVectorClassifier", 402: "treeEnsembleClassifier",
    403: "neuralNetworkClassifier", 404: "kNearestNeighborsClassifier",
    500: "neuralNetwork", 501: "itemSimilarityRecommender", 502: "mlProgram",
    555: "customModel", 556: "linkedModel", 560: "classConfidenceThresholding",
    600: "oneHotEncoder", 601: "imputer", 602: "featureVectorizer", 603: "dictVectorizer",
    604: "scaler", 606: "categoricalMapping", 607: "normalizer",
    609: "arrayFeatureExtractor", 610: "nonMaximumSuppression", 900: "identity",
    2000: "textClassifier", 2001: "wordTagger", 2002: "visionFeaturePrint",
    2003: "soundAnalysisPreprocessing", 2004: "gazetteer", 2005: "wordEmbedding",
    2006: "audioFeaturePrint", 3000: "serializedModel",
}
NN_TYPES = {303, 403, 500}
PIPELINE_TYPES = {200, 201, 202}
# ArrayFeatureType.ArrayDataType
ARRAY_DTYPES = {65568: "float32", 65600: "float64", 131104: "int32", 131080: "int8",
                65552: "float16"}
COLOR_SPACES = {10: "GRAYSCALE", 20: "RGB", 30: "BGR", 40: "GRAYSCALE_FLOAT16"}
# MILSpec.DataType (MIL.proto)
MIL_DTYPES = {1: "bool", 2: "string", 10: "float16", 11: "float32", 12: "float64",
              13: "bfloat16", 21: "int8", 22: "int16", 23: "int32", 24: "int64", 25: "int4",
              31: "uint8", 32: "uint16", 33: "uint32", 34: "uint64", 35: "uint4",
              36: "uint2", 37: "uint1", 38: "uint6", 39: "uint3", 40: "float8e4m3fn",
              41: "float8e5m2"}
# MILBlob BlobDataType (MILBlob/Blob/BlobDataType.hpp)
BLOB_DTYPES = {1: "float16", 2: "float32", 3: "uint8", 4: "int8", 5: "bfloat16",
               6: "int16", 7: "uint16", 8: "int4", 9: "uint1", 10: "uint2", 11: "uint4",
               12: "uint3", 13: "uint6", 14: "int32", 15: "uint32", 16: "float8e4m3fn",
               17: "float8e5m2"}
_BITS = {"uint1": 1, "uint3": 3, "uint6": 6}   # sub-byte types dtypes.BITS lacks


def _bits(dtype):
    return dtypes.BITS.get(dtype) or _BITS.get(dtype, 0)


def _nbytes(dtype, count):
    return (count * _bits(dtype) + 7) // 8


# --- recognising a file --------------------------------------------------------------
_DESCRIPTION_TAGS = {0x0a, 0x52, 0x5a, 0x62, 0x6a}   # input, output, predicted*, state
_FEATURE_TYPE_TAGS = {0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x42, 0xc0}


def match(head, name=""):
    """A Model starts with specificationVersion (field 1, a small varint) and the
    ModelDescription (field 2), whose first field is a feature (input / output): its
    name as text, maybe a description, then its FeatureType; coremltools writes them in
    this order. An ONNX ModelProto starts alike (ir_version, producer_name) but its
    field 2 is text; a SavedModel's MetaGraphDef starts with a MetaInfoDef, whose fields
    are not a feature's."""
    ext = 0.1 if name.lower().endswith(EXTENSIONS) else 0.0
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 64:
        return 0.2 if ext and head[:1] == b"\x08" else 0.0
    if head[2] != 0x12:    # no description: isUpdatable or the model type follows
        return 0.2 + ext if head[2] in (0x50, 0xc2, 0xca, 0xd2, 0xe2, 0x9a) else 0.0
    n, p = varint_at(head, 3)
    if n is None or p >= len(head):
        return 0.3 + ext
    end = min(len(head), p + n)
    tag = head[p]
    if tag == 0xa2 and p + 1 < end and head[p + 1] in (0x01, 0x06):   # functions, metadata
        return 0.7 + ext
    if tag not in _DESCRIPTION_TAGS:
        return 0.0
    k, q = varint_at(head, p + 1)
    if k is None or k > n:
        return 0.0
    score = _feature_score(head, q, min(end, q + k))
    return score + ext if score else 0.0


def _feature_score(head, p, end):
    """How well head[p:end] reads as the start of a FeatureDescription: 0.0 (not one),
    0.6 (the head ends inside it, so far so good), 0.8 (name, type both seen)."""
    seen_name = False
    while p < end:
        tag = head[p]
        if tag not in (0x0a, 0x12, 0x1a):
            return 0.0
        n, q = varint_at(head, p + 1)
        if n is None:
            return 0.6 if seen_name else 0.0
        if tag in (0x0a, 0x12):      # name, shortDescription: text
            text = head[q:q + n]
            if any(c < 0x20 and c not in (0x09, 0x0a, 0x0d) for c in text):
                return 0.0
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                if q + n <= len(head):
                    return 0.0
            seen_name = seen_name or tag == 0x0a
            p = q + n
            continue
        # the FeatureType
        if q >= len(head):
            return 0.6
        return 0.8 if head[q] in _FEATURE_TYPE_TAGS and (seen_name or n == 0) else 0.0
    return 0.6 if seen_name else 0.0



def main_file(folder):
    """The model file of a .mlpackage folder (its Manifest.json's root model item, else
    Data/com.apple.CoreML/model.mlmodel), or None when the folder is not a package."""
    manifest = os.path.join(folder, "Manifest.json")
    default = os.path.join(folder, "Data", "com.apple.CoreML", "model.mlmodel")
    if not os.path.isfile(manifest):
        return default if os.path.isfile(default) else None
    try:
        if os.path.getsize(manifest) > MAX_MANIFEST:
            return None
        with open(manifest, "rb") as f:
            info = load_json(f.read(), lambda m: ValueError(m))
        item = info["itemInfoEntries"][info["rootModelIdentifier"]]
        path = item["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return default if os.path.isfile(default) else None
    path = _plain_path(path) if isinstance(path, str) else None
    if path is None:
        return None
    full = os.path.join(folder, "Data", *path.split("/"))
    return full if os.path.isfile(full) else None


def _plain_path(name):
    """A relative '/'-path inside a folder, or None (absolute, '..', empty parts)."""
    name = name.replace("\\", "/")
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return name


# --- the NeuralNetwork.proto table ---------------------------------------------------
class _Field:
    __slots__ = ("name", "type", "repeated", "oneof", "scalar")

    def __init__(self, name, spec):
        base, _, self.oneof = spec.partition("|")
        self.repeated = base.endswith("*")
        self.type = base.rstrip("*")
        self.name = name
        self.scalar = self.type in _SCALAR_KINDS or self.type.startswith("=")


_SCALAR_KINDS = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "float",
                 "double", "bool", "string", "bytes", "fixed32", "fixed64"}
_schema = None


def schema():
    """(messages, enums): message name -> {field number: _Field}; enum -> {number: name}."""
    global _schema
    if _schema is None:
        messages, enums = {}, {}
        for line in coreml_schema.NN_SCHEMA.split("\n"):
            if not line:
                continue
            name, *fields = line.split(" ")
            if name.startswith("="):
                enums[name] = {int(n): v for n, v in (f.split(":", 1) for f in fields)}
                continue
            table = messages[name] = {}
            for f in fields:
                number, fname, spec = f.split(":", 2)
                table[int(number)] = _Field(fname, spec)
        _schema = messages, enums
    return _schema


# --- parsing -------------------------------------------------------------------------
def parse(source, companions=None):
    r = Reader(source, FORMAT)
    if source.size == 0:
        raise r.error("file is empty")
    head = source.read(0, min(source.size, 4096))
    if not match(head, source.name):
        raise r.error("not a Core ML model: the file does not start like a protobuf Model "
                      "(specificationVersion, then the model description)")
    return _Parser(r, companions).model()


class _Parser:
    def __init__(self, r, companions):
        self.r = r
        self.companions = companions
        self.m = Model(r.source.name, r.size, FORMAT)
        self.nodes_seen = 0
        self.blobs = {}        # blob file name -> (Reader, header count) or None (missing)
        self.names = set()     # weight names so far (unique)
        self.warned = set()

    def error(self, message, offset=None):
        return self.r.error(message, offset)

    # --- Model ---------------------------------------------------------------
    def model(self):
        m = self.m
        main = m.add_graph(Graph())
        spec, kind = self.model_message(main, 0, self.r.size, 0, "", top=True)
        version = f"specification version {spec}" if spec is not None else ""
        m.format_version = ", ".join(x for x in (version, kind) if x)
        self.m = None   # tensors keep this parser (decoders); no cycle through the model
        return m

    def model_message(self, g, start, length, depth, prefix, top=False):
        """One Model message into graph g (a pipeline stage when not top): its
        description's features typed, its type's nodes added under `prefix`."""
        if depth > MAX_DEPTH:
            raise self.error(f"pipelines nested deeper than {MAX_DEPTH}", start)
        r = self.r
        spec = None
        description = body = None
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 0:
                spec = signed32(a)
            elif f == 2 and w == 2:
                description = (a, b)
            elif f in MODEL_TYPES and w == 2:
                body = (f, a, b)
        if spec is None and description is None and body is None:
            raise self.error("no specificationVersion, no description and no model: not a "
                             "Core ML model", start)
        inputs, outputs = [], []
        if description is not None:
            inputs, outputs = self.description(g, *description, top=top)
        if top:
            g.inputs, g.outputs = list(inputs), list(outputs)
        if body is None:
            return spec, ""
        f, a, b = body
        kind = MODEL_TYPES[f]
        if f in NN_TYPES:
            self.neural_network(g, a, b, depth, prefix)
            return spec, "neural network"
        if f in PIPELINE_TYPES:
            self.pipeline(g, f, a, b, depth, prefix)
            return spec, "pipeline"
        if f == 502:
            self.program(g, a, b, depth, prefix, top)
            return spec, "ML program"
        # a model type without a graph of its own: one node
        self.count_nodes(1, start)
        g.nodes.append(Node(kind, NN_DOMAIN, prefix + kind, inputs, outputs))
        return spec, kind

    def count_nodes(self, n, offset):
        self.nodes_seen += n
        if self.nodes_seen > MAX_NODES:
            raise self.error(f"more than {MAX_NODES:,} layers and operations, the most "
                             "Wetron opens", offset)

    # --- ModelDescription ----------------------------------------------------
    def description(self, g, start, length, top):
        r = self.r
        inputs, outputs = [], []
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f in (1, 13):       # input, state
                inputs.append(self.feature(g, a, b))
            elif f == 10:
                outputs.append(self.feature(g, a, b))
            elif f == 100 and top:
                self.metadata(a, b)
            elif top and f in (11, 12, 21):
                key = {11: "predictedFeatureName", 12: "predictedProbabilitiesName",
                       21: "defaultFunctionName"}[f]
                self.meta(key, r.string(a, min(b, MAX_TEXT)))
        return inputs, outputs

    def meta(self, key, value):
        m = self.m
        if len(m.metadata) < MAX_METADATA:
            m.metadata.append([key[:MAX_TEXT], value[:MAX_TEXT]])

    def metadata(self, start, length):
        r, m = self.r, self.m
        names = {1: "shortDescription", 2: "versionString", 3: "author", 4: "license"}
        tool = source = ""
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f in names:
                text = r.string(a, min(b, MAX_TEXT))
                if f == 1:
                    m.doc = text
                self.meta(names[f], text)
            elif f == 100:
                key = value = ""
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        key = r.string(x, min(y, MAX_TEXT))
                    elif g == 2 and gw == 2:
                        value = r.string(x, min(y, MAX_TEXT))
                self.meta(key, value)
                if key == "com.github.apple.coremltools.version":
                    tool = value
                elif key == "com.github.apple.coremltools.source":
                    source = value
        if tool:
            m.producer = f"coremltools {tool}" + (f" (from {source})" if source else "")

    def feature(self, g, start, length):
        r = self.r
        name, typ = "", None
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2:
                name = r.string(a, b)
            elif f == 3 and w == 2:
                typ = self.feature_type(a, b)
        if typ is not None and name not in g.types:
            g.types[name] = typ
        return name

    def feature_type(self, start, length):
        r = self.r
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                return ("tensor", "int64", (), "")
            if f == 2:
                return ("tensor", "float64", (), "")
            if f == 3:
                return ("tensor", "string", (), "")
            if f == 4:
                return self.image_type(a, b)
            if f == 5:
                return self.array_type(a, b)
            if f == 6:     # dictionaries map int64 or string keys to doubles
                key = "string"
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1:
                        key = "int64"
                return ("map", key, ("tensor", "float64", (), ""), "")
            if f == 7:
                elem = "string"
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1:
                        elem = "int64"
                return ("sequence", ("tensor", elem, (), ""), "")
            if f == 8:     # state: wraps a multi-array
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        return self.array_type(x, y)
        return None

    def array_type(self, start, length):
        r = self.r
        dims, dtype, flexible = [], "undefined", None
        for f, w, a, b in r.fields(start, start + length):
            if f == 1:
                if w == 2:
                    dims.extend(signed64(v) for v in r.packed_varints(a, b, MAX_DIMS + 1))
                elif w == 0:
                    dims.append(signed64(a))
                if len(dims) > MAX_DIMS:
                    raise self.error(f"a shape of more than {MAX_DIMS} dimensions", a)
            elif f == 2 and w == 0:
                dtype = ARRAY_DTYPES.get(a, f"ArrayDataType {a}")
            elif f == 31 and w == 2:     # shapeRange: a dim whose bounds differ is unknown
                flexible = []
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2 and len(flexible) <= MAX_DIMS:
                        lo = hi = 0
                        for h, hw, p, q in r.fields(x, x + y):
                            if h == 1 and hw == 0:
                                lo = p
                            elif h == 2 and hw == 0:
                                hi = signed64(p)
                        flexible.append(lo != hi)
            elif f == 21 and w == 2:     # enumeratedShapes: dims that differ are unknown
                shapes = []
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2 and len(shapes) < 1024:
                        s = []
                        for h, hw, p, q in r.fields(x, x + y):
                            if h == 1 and hw == 2:
                                s.extend(signed64(v) for v in r.packed_varints(p, q, MAX_DIMS + 1))
                        shapes.append(s[:MAX_DIMS])
                if shapes:
                    flexible = [len({s[i] if i < len(s) else None for s in shapes}) > 1
                                for i in range(max(len(s) for s in shapes))]
        if not dims:
            return ("tensor", dtype, None, "")   # shape not declared (outputs, often)
        if flexible is not None and len(flexible) == len(dims):
            dims = [None if flex else d for d, flex in zip(dims, flexible)]
        return ("tensor", dtype, tuple(dims), "")

    def image_type(self, start, length):
        width = height = 0
        space = "INVALID_COLOR_SPACE"
        for f, w, a, b in self.r.fields(start, start + length):
            if f == 1 and w == 0:
                width = signed64(a)
            elif f == 2 and w == 0:
                height = signed64(a)
            elif f == 3 and w == 0:
                space = COLOR_SPACES.get(a, f"ColorSpace {a}")
        # a pixel buffer, not a tensor: its layout is Core ML's own
        return ("opaque", "coreml", f"image {space} {width}x{height}", "")

    # --- pipelines -----------------------------------------------------------
    def pipeline(self, g, kind, start, length, depth, prefix):
        r = self.r
        if kind in (200, 201):      # PipelineClassifier / Regressor: field 1 is the Pipeline
            inner = None
            for f, w, a, b in r.fields(start, start + length):
                if f == 1 and w == 2:
                    inner = (a, b)
            if inner is None:
                return
            start, length = inner
        models, names = [], []
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2:
                models.append((a, b))
                if len(models) > MAX_NODES:
                    raise self.error(too_many(len(models), "pipeline stages", MAX_NODES), a)
            elif f == 2 and w == 2 and len(names) < len(models) + 1 + MAX_NODES:
                names.append(r.string(a, min(b, MAX_TEXT)))
        for i, (a, b) in enumerate(models):
            stage = names[i] if i < len(names) and names[i] else f"model{i}"
            stage = stage.replace("/", "\\")
            self.model_message(g, a, b, depth + 1, f"{prefix}{stage}/")

    # --- NeuralNetwork -------------------------------------------------------
    def neural_network(self, g, start, length, depth, prefix):
        if depth > MAX_DEPTH:
            raise self.error(f"networks nested deeper than {MAX_DEPTH}", start)
        r = self.r
        layers = []
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2:
                layers.append((a, b))
                if self.nodes_seen + len(layers) > MAX_NODES:
                    raise self.error(f"more than {MAX_NODES:,} layers (in a network of "
                                     f"{length:,} bytes), the most Wetron opens", start)
            elif f == 5 and w == 0:
                self.graph_meta(g, prefix + "arrayInputShapeMapping",
                                "EXACT_ARRAY_MAPPING" if a == 1 else "RANK5_ARRAY_MAPPING")
            elif f == 6 and w == 0:
                self.graph_meta(g, prefix + "imageInputShapeMapping",
                                "RANK4_IMAGE_MAPPING" if a == 1 else "RANK5_IMAGE_MAPPING")
            elif f == 100 and w == 2:    # a classifier's labels: how many
                n = sum(1 for _ in r.fields(a, a + b))
                self.graph_meta(g, prefix + "classLabels", str(n))
        self.nodes_seen += len(layers)
        for a, b in layers:
            g.nodes.append(self.layer(g, a, b, depth, prefix))

    def graph_meta(self, g, key, value):
        if len(g.metadata) < MAX_METADATA:
            g.metadata.append([key, value])

    def layer(self, g, start, length, depth, prefix):
        r = self.r
        name, inputs, outputs, params = "", [], [], None
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                name = r.string(a, b)
            elif f == 2:
                inputs.append(r.string(a, b))
            elif f == 3:
                outputs.append(r.string(a, b))
            elif f >= 100:
                params = (f, a, b)
        op = "unknown"
        node = Node(op, NN_DOMAIN, prefix + name, inputs, outputs)
        if params is None:
            return node
        f, a, b = params
        messages, _ = schema()
        field = messages["NeuralNetworkLayer"].get(f)
        if field is None:
            node.op = f"layer{f}"
            return node
        node.op = field.name
        p = _Params(self, node, g, depth, prefix)
        p.message(field.type, a, b, "", 0)
        weights = p.weights
        for fname, wa, wb in weights:
            t = self.weight(g, node, fname, wa, wb, p.values)
            if t is not None:
                node.inputs.append(t.name)
        return node

    # WeightParams -> a weight of the layer: its dims where the layer's definition in
    # NeuralNetwork.proto fixes them (the layouts below), else flat.
    def weight(self, g, node, field, start, length, attrs):
        r = self.r
        data = dtype = None
        bits, quant = 0, {}
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2 and b:
                data, dtype = (a, b), "float32"
            elif f == 2 and w == 2 and b:
                data, dtype = (a, b), "float16"
            elif f == 30 and w == 2 and b:
                data, dtype = (a, b), "raw"
            elif f == 31 and w == 2 and b:
                data, dtype = (a, b), "int8"
            elif f == 40 and w == 2:
                bits, quant = self.quantization(a, b)
        if data is None:
            return None
        if dtype == "raw":
            # rawValue holds the quantized codes (numberOfBits each) when quantization is
            # set; without it, float16 (specification 2's form of half precision)
            dtype = {8: "uint8", 4: "uint4", 2: "uint2", 1: "uint1", 3: "uint3",
                     6: "uint6"}.get(bits, f"uint{bits}") if bits else "float16"
        nbits = _bits(dtype)
        count = data[1] * 8 // nbits if nbits else data[1]
        dims = _weight_dims(node.op, field, attrs)
        if dims is None or _prod(dims) is None or (
                _prod(dims) != count and _nbytes(dtype, _prod(dims)) != data[1]):
            dims = [count]
        name = self.unique(f"{node.name}/{field}")
        t = Tensor(name, dtype, tuple(dims))
        t.location = "inline"
        t.ref = (start, length)
        t.data = data
        if nbits:
            t.decoder = self.decoder
        else:
            t.error = f"weight '{name}': {bits}-bit codes are not decoded"
        self.m.add_tensor(t)
        g.initializers.append(t)
        g.types[name] = ("tensor", dtype, tuple(dims), "")
        if bits or quant:
            q = {"bits": bits} if bits else {}
            q.update(quant)
            g.quantization[name] = q
        return t

    def quantization(self, start, length):
        r = self.r
        bits, q = 0, {}
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 0:
                bits = a
            elif f in (101, 102) and w == 2:
                keys = {1: "scale", 2: "bias"} if f == 101 else {1: "lookup_table"}
                for g, gw, x, y in r.fields(a, a + b):
                    if g in keys and gw == 2:
                        q[keys[g]] = self.floats(x, y, MAX_ITEMS)
        if bits > 64:
            raise self.error(f"quantization of {bits} bits per weight", start)
        return bits, q

    def floats(self, offset, length, limit):
        n = min(length // 4, limit)
        return list(struct.unpack(f"<{n}f", self.r.bytes(offset, n * 4)))

    def unique(self, name):
        base, k = name, 1
        while name in self.names:
            k += 1
            name = f"{base}#{k}"
        self.names.add(name)
        return name

    def decoder(self, t, n):
        return raw_decoder(self.r.source, FORMAT)(t, n)

    # --- MIL program ---------------------------------------------------------
    def program(self, g, start, length, depth, prefix, top):
        r = self.r
        functions = []
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 0 and top:
                self.graph_meta(g, "program version", str(signed64(a)))
            elif f == 2 and w == 2:
                key, value = self.map_entry(a, b)
                if value is not None:
                    functions.append((key, value))
                if len(functions) > MAX_FUNCTIONS:
                    raise self.error(too_many(len(functions), "functions", MAX_FUNCTIONS), a)
            elif f == 3 and w == 2 and top:
                g.doc = r.string(a, min(b, MAX_TEXT))
        if not functions:
            return
        default = "main"
        for k, v in self.m.metadata:
            if k == "defaultFunctionName":
                default = v
        functions.sort(key=lambda kv: kv[0] != default)   # the default function first
        for i, (fname, (a, b)) in enumerate(functions):
            fg = g if i == 0 else self.m.add_graph(Graph(fname))
            if i == 0 and top:
                g.name = fname
            self.function(fg, a, b, depth, prefix, typed_inputs=i == 0)

    def map_entry(self, start, length):
        key, value = "", None
        for f, w, a, b in self.r.fields(start, start + length):
            if f == 1 and w == 2:
                key = self.r.string(a, min(b, MAX_TEXT))
            elif f == 2 and w == 2:
                value = (a, b)
        return key, value

    def function(self, g, start, length, depth, prefix, typed_inputs):
        r = self.r
        inputs, opset, blocks = [], "", {}
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2:
                inputs.append(self.named_value_type(g, a, b))
            elif f == 2 and w == 2:
                opset = r.string(a, min(b, MAX_TEXT))
            elif f == 3 and w == 2:
                key, value = self.map_entry(a, b)
                if value is not None and len(blocks) < MAX_FUNCTIONS:
                    blocks[key] = value
        if not g.inputs:
            g.inputs = inputs
        if opset:
            self.graph_meta(g, "opset", opset)
        block = blocks.get(opset) or next(iter(blocks.values()), None)
        if block is not None:
            outputs = self.block(g, *block, depth, prefix)
            if not g.outputs:
                g.outputs = outputs

    def named_value_type(self, g, start, length):
        r = self.r
        name, typ = "", None
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 2:
                name = r.string(a, b)
            elif f == 2 and w == 2:
                typ = self.value_type(a, b, 0)
        if typ is not None:
            g.types[name] = typ
        return name

    def value_type(self, start, length, depth):
        if depth > MAX_DEPTH:
            raise self.error(f"types nested deeper than {MAX_DEPTH}", start)
        r = self.r
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                dtype, dims = self.tensor_type(a, b)
                return ("tensor", dtype, dims, "")
            if f == 2:       # list
                elem = None
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        elem = self.value_type(x, y, depth + 1)
                return ("sequence", elem or ("unknown", ""), "")
            if f in (3, 4, 5):
                return ("opaque", "coreml.mil", {3: "tuple", 4: "dictionary", 5: "state"}[f], "")
        return None

    def value_tensor_type(self, span):
        """(dtype, dims) of a ValueType that is a tensor type, else (None, None)."""
        if span is not None:
            for f, w, a, b in self.r.fields(*_span(span)):
                if f == 1 and w == 2:
                    return self.tensor_type(a, b)
        return None, None

    def tensor_type(self, start, length):
        r = self.r
        dtype, rank, dims = "undefined", None, []
        for f, w, a, b in r.fields(start, start + length):
            if f == 1 and w == 0:
                dtype = MIL_DTYPES.get(a, f"DataType {a}")
            elif f == 2 and w == 0:
                rank = signed64(a)
            elif f == 3 and w == 2:
                if len(dims) >= MAX_DIMS:
                    raise self.error(f"a shape of more than {MAX_DIMS} dimensions", a)
                d = None
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        for h, hw, p, q in r.fields(x, x + y):
                            if h == 1 and hw == 0:
                                d = p
                        d = 0 if d is None else d
                dims.append(d)
        if rank is not None and rank < 0:    # a rank not known
            return dtype, None
        if not dims and rank:
            return dtype, (None,) * min(rank, MAX_DIMS)
        return dtype, tuple(dims)

    def block(self, g, start, length, depth, prefix):
        if depth > MAX_DEPTH:
            raise self.error(f"blocks nested deeper than {MAX_DEPTH}", start)
        r = self.r
        outputs, ops = [], []
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                g.inputs.append(self.named_value_type(g, a, b))
            elif f == 2:
                outputs.append(r.string(a, b))
            elif f == 3:
                ops.append((a, b))
                if self.nodes_seen + len(ops) > MAX_NODES:
                    raise self.error(f"more than {MAX_NODES:,} operations (in a block of "
                                     f"{length:,} bytes), the most Wetron opens", start)
        self.nodes_seen += len(ops)
        for a, b in ops:
            node = self.operation(g, a, b, depth, prefix)
            if node is not None:
                g.nodes.append(node)
        return outputs

    def operation(self, g, start, length, depth, prefix):
        r = self.r
        op, bound, outputs, blocks, attrs = "", [], [], [], []
        for f, w, a, b in r.fields(start, start + length):
            if w != 2:
                continue
            if f == 1:
                op = r.string(a, min(b, MAX_TEXT))
            elif f == 2:
                key, value = self.map_entry(a, b)
                if value is not None:
                    bound.append((key, value))
            elif f == 3:
                outputs.append(self.named_value_type(g, a, b))
            elif f == 4:
                blocks.append((a, b))
            elif f == 5:
                key, value = self.map_entry(a, b)
                if value is not None:
                    attrs.append((key, value))
        name = ""
        values = {}
        for key, (a, b) in attrs:
            values[key] = (a, b)
            if key == "name":
                name = self.value_text(a, b) or ""
        if op == "const" and "val" in values and len(outputs) == 1:
            t = self.value_tensor(g, outputs[0], *values["val"])
            if t is not None:
                return None       # the const's value is a weight named by its output
        node = Node(op, MIL_DOMAIN, prefix + (name or (outputs[0] if outputs else op)),
                    [], outputs)
        node.inputs = self.op_inputs(g, node, bound)
        for key, (a, b) in attrs:
            if key != "name" and len(node.attributes) < MAX_ATTRS:
                attr = self.value_attribute(key, a, b)
                if attr is not None:
                    node.attributes.append(attr)
        for i, (a, b) in enumerate(blocks):
            sub = self.m.add_graph(Graph(f"{node.name}/block{i}"))
            sub.parent = (g, len(g.nodes), f"block{i}")
            sub.outputs = self.block(sub, a, b, depth + 1, "")
            node.attributes.append(Attribute(f"block{i}", "graph", sub))
        return node

    def op_inputs(self, g, node, bound):
        """The op's bound inputs as node inputs, in the order of its slots (coremltools'
        op definition); inputs of several arguments (concat's values) in order; a slot
        not bound is "" where a later one is bound. Inputs the definition does not
        know follow, in file order."""
        from ..ops import metadata
        known = metadata.describe(MIL_DOMAIN, node.op)
        slots = [s.rstrip(".") for s in known["inputs"]] if known else []
        by_slot = {}
        for key, (a, b) in bound:
            names = []
            for f, w, x, y in self.r.fields(a, a + b):
                if f == 1 and w == 2 and len(names) < MAX_ITEMS:
                    for h, hw, p, q in self.r.fields(x, x + y):
                        if h == 1 and hw == 2:
                            names.append(self.r.string(p, q))
                        elif h == 2 and hw == 2:
                            t = self.value_tensor(g, f"{node.name}/{key}", p, q)
                            if t is not None:
                                names.append(t.name)
            by_slot[key] = names
        out = []
        for s in slots:
            if s in by_slot:
                out.extend(by_slot.pop(s))
            else:
                out.append("")
        while out and out[-1] == "":
            out.pop()
        for names in by_slot.values():
            out.extend(names)
        if slots and by_slot and len(node.attributes) < MAX_ATTRS:
            node.attributes.append(Attribute("inputs not in the op's definition", "strings",
                                             list(by_slot)))
        return out

    # MIL Values -------------------------------------------------------------
    def value_parts(self, start, length):
        """(type span, immediate tensor span, blob (file, offset)) of a Value."""
        r = self.r
        typ = tensor = blob = None
        for f, w, a, b in r.fields(start, start + length):
            if f == 2 and w == 2:
                typ = (a, b)
            elif f == 3 and w == 2:
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        tensor = (x, y)
            elif f == 5 and w == 2:
                fname, off = "", 0
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        fname = r.string(x, min(y, MAX_TEXT))
                    elif g == 2 and gw == 0:
                        off = x
                blob = (fname, off)
        return typ, tensor, blob

    def value_text(self, start, length):
        _, tensor, _ = self.value_parts(start, length)
        if tensor is None:
            return None
        for f, w, a, b in self.r.fields(*_span(tensor)):
            if f == 4 and w == 2:
                for g, gw, x, y in self.r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        return self.r.string(x, min(y, MAX_TEXT))
        return None

    def value_attribute(self, key, start, length):
        """An op attribute (other than its name): a small immediate value."""
        typ, tensor, _ = self.value_parts(start, length)
        if tensor is None:
            return None
        kind, values = self.tensor_values_small(tensor, 64)
        if kind is None:
            return None
        dims = self.value_tensor_type(typ)[1]
        if dims == () and len(values) == 1:
            return Attribute(key, kind, values[0])
        return Attribute(key, kind + "s", values)

    def tensor_values_small(self, span, limit):
        r = self.r
        for f, w, a, b in r.fields(*_span(span)):
            if w != 2:
                continue
            for g, gw, x, y in r.fields(a, a + b):
                if g != 1:
                    continue
                if f == 1 and gw == 2:
                    return "float", self.floats(x, y, limit)
                if f in (2, 3, 5) and gw == 2:
                    vals = [signed64(v) for v in r.packed_varints(x, y, limit)]
                    return "int", vals
                if f in (2, 3, 5) and gw == 0:
                    return "int", [signed64(x)]
                if f == 4 and gw == 2:
                    return "string", [r.string(x, min(y, MAX_TEXT))]
                if f == 6 and gw == 2:
                    n = min(y // 8, limit)
                    return "float", list(struct.unpack(f"<{n}d", r.bytes(x, n * 8)))
            if f == 4:
                return "string", [""]
        return None, []

    def value_tensor(self, g, name, start, length):
        """A MIL Value held by the file (immediate) or the weight file (blob) as a
        weight named `name`; None if it is not a tensor value."""
        typ, tensor, blob = self.value_parts(start, length)
        dtype, dims = self.value_tensor_type(typ)
        if dims is None or None in dims or (tensor is None and blob is None):
            return None
        name = self.unique(name)
        t = Tensor(name, dtype, tuple(dims))
        if blob is not None:
            self.blob_tensor(t, *blob)
        else:
            self.immediate_tensor(t, tensor)
        self.m.add_tensor(t)
        g.initializers.append(t)
        g.types[name] = ("tensor", dtype, tuple(dims), "")
        return t

    def immediate_tensor(self, t, span):
        """TensorValue: floats and doubles are packed raw, `bytes` holds raw data (the
        form of float16 and 8-bit values), ints / bools / long ints are varints."""
        r = self.r
        t.location = "inline"
        t.ref = span
        for f, w, a, b in r.fields(*_span(span)):
            if w != 2:
                continue
            if f in (2, 3, 5):
                t.ref, t.decoder = (a, b), self.varint_decoder
            elif f == 4:
                t.ref, t.decoder = (a, b), self.string_decoder
            elif f in (1, 6, 7):
                data = (a, 0)
                for g, gw, x, y in r.fields(a, a + b):
                    if g == 1 and gw == 2:
                        data = (x, y)
                t.data, t.decoder = data, self.decoder
                if data[1] < _nbytes(t.dtype, t.count):
                    t.error = (f"tensor '{t.name}': {data[1]} bytes hold fewer than its "
                               f"{t.count} {t.dtype} values")

    def varint_decoder(self, t, n):
        r = self.r
        vals = []
        for f, w, a, b in r.fields(*_span(t.ref)):   # packed runs, or one value a field
            if len(vals) >= n:
                break
            if f == 1 and w == 2:
                vals.extend(r.packed_varints(a, b, n - len(vals)))
            elif f == 1 and w == 0:
                vals.append(a)
        if t.dtype == "bool":
            return [v != 0 for v in vals]
        if t.dtype in ("int32", "int16", "int8"):
            return [signed32(v) for v in vals]
        return [signed64(v) for v in vals]

    def string_decoder(self, t, n):
        r = self.r
        out = []
        for f, w, a, b in r.fields(*_span(t.ref)):
            if len(out) >= n:
                break
            if f == 1 and w == 2:
                out.append(r.string(a, b))
        return out

    # MIL blob storage (the .mlpackage's weight file) ----------------------------------
    def blob_tensor(self, t, fname, offset):
        t.location = "external"
        path = fname[len("@model_path/"):] if fname.startswith("@model_path/") else fname
        path = _plain_path(path)
        t.file = path or fname
        if path is None:
            t.error = f"tensor '{t.name}': weight file '{fname}' is not a path inside the package"
            return
        blob = self.blob_file(path)
        if blob is None:
            t.error = f"weight file '{path}' not given with {self.m.file}"
            return
        reader = blob
        if offset % 64 or offset + 64 > reader.size:
            t.error = (f"tensor '{t.name}': blob metadata at byte {offset} lies outside "
                       f"'{path}' ({reader.size} bytes) or off its 64-byte alignment")
            return
        head = reader.bytes(offset, 24)
        sentinel, code, size, data = struct.unpack("<IIQQ", head)
        dtype = BLOB_DTYPES.get(code)
        if sentinel != BLOB_SENTINEL:
            t.error = (f"tensor '{t.name}': no blob at byte {offset} of '{path}' "
                       f"(sentinel {sentinel:#x}, not 0xdeadbeef)")
        elif data + size > reader.size or data < offset + 64:
            t.error = (f"tensor '{t.name}': blob data [{data}, {data + size}) lies outside "
                       f"'{path}' ({reader.size} bytes)")
        elif dtype is None:
            t.error = f"tensor '{t.name}': blob data type {code} is not one MIL blobs have"
        elif _bits(dtype) != _bits(t.dtype) or size < _nbytes(t.dtype, t.count):
            t.error = (f"tensor '{t.name}': its blob holds {size} bytes of {dtype}, its "
                       f"type is {t.count} x {t.dtype}")
        if t.error:
            return
        t.data = (data, size)
        t.decoder = self.blob_decoder

    def blob_file(self, path):
        if path in self.blobs:
            return self.blobs[path]
        source = self.companions(path) if self.companions is not None else None
        reader = None
        if source is not None:
            reader = Reader(source, FORMAT)
            if source.size < 64:
                raise ModelError(f"weight file '{path}' of {source.size} bytes is shorter "
                                 "than a blob storage header", source.name, FORMAT)
            count, version = struct.unpack("<II", reader.bytes(0, 8))
            if version != 2:
                raise ModelError(f"weight file '{path}': blob storage version {version}, "
                                 "Wetron reads version 2", source.name, FORMAT, 4)
        elif path not in self.warned:
            self.warned.add(path)
            self.m.warnings.append(f"weight file '{path}' not given: the weights' values "
                                   "cannot be shown")
        self.blobs[path] = reader
        return reader

    def blob_decoder(self, t, n):
        return raw_decoder(self.blobs[t.file].source, FORMAT)(t, n)


def _span(span):
    return span[0], span[0] + span[1]


def _prod(dims):
    n = 1
    for d in dims:
        if type(d) is not int or d < 0:
            return None
        n *= d
    return n


# --- layer parameters as attributes --------------------------------------------------
class _Params:
    """One layer's parameter message -> node attributes (nested messages flattened),
    weights (WeightParams fields) and subgraphs (NeuralNetwork fields: branch, loop)."""

    def __init__(self, parser, node, g, depth, prefix):
        self.p, self.node, self.g, self.depth, self.prefix = parser, node, g, depth, prefix
        self.weights = []     # (field name, offset, length)
        self.values = {}      # attribute name -> value (the weight layouts read them)

    def add(self, name, kind, value):
        if len(self.node.attributes) >= MAX_ATTRS:
            return
        self.node.attributes.append(Attribute(name, kind, value))
        self.values[name] = value

    def message(self, mtype, start, length, prefix, depth):
        if depth > MAX_ATTR_DEPTH:
            raise self.p.error(f"layer parameters nested deeper than {MAX_ATTR_DEPTH}", start)
        messages, enums = schema()
        table = messages.get(mtype)
        if table is None:
            return
        r = self.p.r
        repeated = {}    # field number -> [values] (scalars) or [(a, b)] (messages)
        for f, w, a, b in r.fields(start, start + length):
            field = table.get(f)
            if field is None:
                continue
            if field.type == "WeightParams":
                self.weights.append((prefix + field.name, a, b))
                continue
            if field.type in ("NeuralNetwork", "map"):
                if field.type == "NeuralNetwork" and w == 2:
                    self.subgraph(prefix + field.name, a, b)
                continue
            if field.oneof:
                self.add(prefix + field.oneof, "string", field.name)
            if field.scalar:
                vals = self.scalars(field, w, a, b)
                if vals is None:
                    continue
                if field.repeated:
                    got = repeated.setdefault(f, [])
                    if len(got) + len(vals) > MAX_ITEMS:
                        raise self.p.error(f"more than {MAX_ITEMS:,} values in layer "
                                           f"parameter {field.name}", a)
                    got.extend(vals)
                else:
                    self.scalar_attr(prefix + field.name, field, vals[0])
            elif w == 2:
                if field.repeated:
                    repeated.setdefault(f, []).append((a, b))
                    if len(repeated[f]) > MAX_ITEMS:
                        raise self.p.error(f"more than {MAX_ITEMS:,} entries in layer "
                                           f"parameter {field.name}", a)
                else:
                    self.message(field.type, a, b, prefix + field.name + ".", depth + 1)
        for f, vals in repeated.items():
            field = table[f]
            if field.scalar:
                self.list_attr(prefix + field.name, field, vals)
            else:
                self.columns(field, vals, prefix + field.name, depth)

    def scalars(self, field, w, a, b):
        """The values of one occurrence of a scalar field (a packed run gives several)."""
        r = self.p.r
        t = field.type
        if t in ("string", "bytes"):
            if w != 2:
                return None
            return [r.string(a, min(b, MAX_TEXT)) if t == "string" else b]
        if t == "float":
            if w == 5:
                return [struct.unpack("<f", a.to_bytes(4, "little"))[0]]
            if w == 2:
                return self.p.floats(a, b, MAX_ITEMS)
            return None
        if t == "double":
            if w == 1:
                return [struct.unpack("<d", a.to_bytes(8, "little"))[0]]
            if w == 2:
                n = min(b // 8, MAX_ITEMS)
                return list(struct.unpack(f"<{n}d", r.bytes(a, n * 8)))
            return None
        if w == 0:
            return [a]
        if w == 2:
            return r.packed_varints(a, b, MAX_ITEMS)
        return None

    def convert(self, field, v):
        t = field.type
        if t.startswith("="):
            return "string", schema()[1].get(t, {}).get(signed32(v), str(v))
        if t in ("int64", "int32", "sint64", "sint32"):
            return "int", signed64(v)
        if t == "bool":
            return "int", int(v != 0)
        if t in ("float", "double"):
            return "float", v
        if t == "bytes":
            return "int", v    # a byte count: the bytes themselves are not shown
        if t == "string":
            return "string", v
        return "int", v

    def scalar_attr(self, name, field, v):
        kind, value = self.convert(field, v)
        self.add(name + ("_bytes" if field.type == "bytes" else ""), kind, value)

    def list_attr(self, name, field, vals):
        kind = None
        out = []
        for v in vals:
            kind, value = self.convert(field, v)
            out.append(value)
        if kind is not None:
            self.add(name, kind + "s", out)

    def columns(self, field, spans, name, depth):
        """A repeated message: one list per scalar field when its fields are all
        scalars (borderAmounts -> startEdgeSize [..], endEdgeSize [..]); else each
        element flattened under name[i]."""
        messages, _ = schema()
        table = messages.get(field.type, {})
        if table and all(f.scalar and not f.repeated and not f.oneof for f in table.values()):
            cols = {f: [] for f in table}
            r = self.p.r
            for a, b in spans:
                row = {}
                for f, w, x, y in r.fields(a, a + b):
                    if f in table:
                        vals = self.scalars(table[f], w, x, y)
                        if vals:
                            row[f] = vals[0]
                for f in table:
                    cols[f].append(row.get(f, 0))
            for f, vals in cols.items():
                self.list_attr(f"{name}.{table[f].name}", table[f], vals)
            return
        for i, (a, b) in enumerate(spans[:64]):
            self.message(field.type, a, b, f"{name}[{i}].", depth + 1)
        if len(spans) > 64:
            self.add(f"{name}_count", "int", len(spans))

    def subgraph(self, name, start, length):
        p = self.p
        sub = p.m.add_graph(Graph(f"{self.node.name}/{name}"))
        sub.parent = (self.g, len(self.g.nodes), name)
        p.neural_network(sub, start, length, self.depth + 1, "")
        self.node.attributes.append(Attribute(name, "graph", sub))


def _dims(values, *names):
    out = []
    for n in names:
        v = values.get(n)
        if type(v) is not int or v <= 0:
            return None
        out.append(v)
    return out


def _weight_dims(op, field, v):
    """A layer's weight dims where NeuralNetwork.proto fixes its layout, else None."""
    if op == "convolution":
        k = v.get("kernelSize") or [3, 3]   # the proto's default kernel is 3x3
        if field == "bias":
            return _dims(v, "outputChannels")
        if field == "weights":
            if v.get("isDeconvolution"):
                g = v.get("nGroups") or 1
                c = _dims(v, "kernelChannels", "outputChannels")
                return c and [c[0], c[1] // g, *k]
            c = _dims(v, "outputChannels", "kernelChannels")
            return c and [*c, *k]
    if op in ("innerProduct", "embedding"):
        if field == "bias":
            return _dims(v, "outputChannels")
        return _dims(v, "outputChannels", "inputChannels" if op == "innerProduct" else "inputDim")
    if op == "batchedMatmul":
        if field == "bias":
            return _dims(v, "weightMatrixSecondDimension")
        return _dims(v, "weightMatrixSecondDimension", "weightMatrixFirstDimension")
    if op == "embeddingND":
        if field == "bias":
            return _dims(v, "embeddingSize")
        return _dims(v, "embeddingSize", "vocabSize")
    if op == "batchnorm":
        return _dims(v, "channels")
    if op == "scale":
        shape = v.get("shapeScale" if field == "scale" else "shapeBias")
        return list(shape) if shape else None
    if op in ("bias", "loadConstant", "loadConstantND"):
        shape = v.get("shape")
        return list(shape) if shape else None
    return None
