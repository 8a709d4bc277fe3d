"""Op metadata: per domain and op type, its display name, its category (the colour of its
box) and, per since-version, its input and output slot names.

The JSON files beside this module (<domain>.json) are written by tools/gen_op_metadata.py
from the frameworks' own op definitions (onnx.defs, onnxruntime's contrib schemas, the
LiteRT schema, keras.layers, TensorFlow's op registry, torch's operator schemas and
torch.nn's classes, ...); do not edit them by hand. Each is
{"domain", "source", "versioned", "ops": {op: {"name"?, "category"?, "versions": [[since,
inputs, outputs], ...]}}}, "name" left out where it is the op type and "category" where
it is "other". A slot name ending in "..." is variadic (any number of tensors, TF's
lists too). The documentation (descriptions, typed inputs and outputs, attributes with
defaults) is in opdocs/<domain>.json, which only the page reads, on demand.

A file is read on the first question about its domain; ai.onnx's at import, so the
page's memory snapshot (build.py) holds it parsed.
"""
import json
import os

# The page's palette (app/graph-view.js CATEGORIES) in its order; tests keep them in step.
CATEGORIES = ("other", "conv", "matmul", "activation", "normalization", "pooling", "shape",
              "elementwise", "data", "control", "constant", "io")

_HERE = os.path.dirname(os.path.abspath(__file__))
DOMAINS = frozenset(f[:-5] for f in os.listdir(_HERE) if f.endswith(".json"))
_tables = {}
_described = {}


# The domain of a node whose file names none (""), by the format it comes from: ONNX's
# default domain (in ONNX files and ONNX Runtime's .ort), and the formats whose parsers
# write "" for their framework's own ops (TFLite builtins, TensorFlow ops, Keras layers;
# docs/graph-schema.md).
FORMAT_DOMAINS = {"ONNX": "ai.onnx", "ONNX Runtime": "ai.onnx", "TensorFlow Lite": "tflite",
                  "TensorFlow": "tf", "Keras": "keras"}


def node_domain(model_format, domain):
    """The framework domain of a node of `domain` in a file of `model_format`."""
    return domain or FORMAT_DOMAINS.get(model_format, "")


def table(domain):
    """The domain's file as loaded ({} for a domain without metadata)."""
    t = _tables.get(domain)
    if t is None:
        t = {}
        if domain in DOMAINS:   # a known file name, never a path from a model
            with open(os.path.join(_HERE, f"{domain}.json"), encoding="utf-8") as f:
                t = json.load(f)
        _tables[domain] = t
    return t


def describe(domain, op, version=None):
    """Compact facts on `op` of `domain` at opset `version` (None: its newest schema):
    {"name": display name, "category": one of CATEGORIES, "inputs": [slot names],
    "outputs": [slot names], "since": the since-version of the schema in force (versioned
    domains only: ONNX's)}, or None when the metadata does not know the op, or (versioned
    domains) the op did not exist yet at `version`. "" is ONNX's default domain."""
    key = (domain or "ai.onnx", op, version)
    if key in _described:
        return _described[key]
    t = table(key[0])
    entry = t.get("ops", {}).get(op)
    found = None
    if entry is not None:
        versions = entry["versions"]
        if version is not None and t.get("versioned"):
            versions = [v for v in versions if v[0] <= version]
        if versions:
            since, inputs, outputs = versions[-1]
            found = {"name": entry.get("name", op), "category": entry.get("category", "other"),
                     "inputs": inputs, "outputs": outputs}
            if t.get("versioned"):
                found["since"] = since
    if len(_described) < 100_000:   # bounded: keys come from model files
        _described[key] = found
    return found


table("ai.onnx")
