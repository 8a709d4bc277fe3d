"""The model formats Wetron reads: one module per format, and the registry that picks one.

A format module declares what it is and how to recognise it:

  FORMAT        display name, "ONNX", "TensorFlow Lite" (the Model's `format` starts as
                this; a module may refine it, e.g. "TorchScript" from the PyTorch module)
  EXTENSIONS    file-name suffixes of its main file, lower case, the usual one first:
                (".onnx",). May be empty (TF.js: only a name, see MAIN_FILES).
  WEAK_EXTENSIONS  those of EXTENSIONS that files of no model carry too (".json", ".txt"):
                among several files, a file that only has one of these ranks after every
                file with a format's other extension or main file name (a tokenizer.json
                is not the model beside a model.onnx). Optional, default ().
  MAIN_FILES    exact base names that are this format's main file when several files
                are given at once (("saved_model.pb",)); optional, default ().
  COMPANIONS    the other files that belong with a main file: a tuple of
                (pattern, what) pairs; `pattern` is a '/'-separated glob relative to the
                main file's folder ("variables/variables.data-*", "*.bin"), `what` says
                what it is, for people ("weight shards named in model.json"). Parsers
                find companions through the `companions(path) -> Source | None` callable
                they are given (beside the file in the CLI, the files given with it in
                the page); the patterns tell the page which of several files is the
                model (a file matching a companion pattern is chosen last) and the docs
                what to give. Optional, default ().
  CAPABILITIES  a set of strings, optional, default frozenset():
                "tensor_values"   the weights' values can be read (Tensor.decoder) and
                                  shown, with statistics and .npy export;
                "tensor_windows"  decoders read a tensor's raw bytes from Tensor.data, so
                                  tensor_stats reads large tensors in windows (checked
                                  per tensor too).
  NEVER_EMPTY   optional, default False. True when a model of this format always has
                nodes or weights: a reading with neither is a misreading of some other
                file, and the registry tries the next candidate (a Core ML protobuf is
                not an empty SavedModel).
  match(head, name) -> float
                how sure the module is that the file is its format, from `head` (the
                first min(size, 4096) bytes, the only read the registry makes) and the
                base `name`. Must be cheap and never raise:
                  1.0        a magic number or identifier (b"GGUF", b"TFL3" at byte 4,
                             the HDF5 signature, a zip whose first member is the
                             format's);
                  0.5-0.9    structural evidence (a protobuf whose first fields parse
                             as the format's message: higher the deeper the check goes;
                             add ~0.1 when the extension agrees too);
                  0.1-0.3    weak evidence: one plausible first byte, or the extension
                             alone;
                  0          not mine.
  parse(source, companions=None) -> wetron.model.Model
                reads the model; raises ModelError (file and FORMAT named, what was
                found) when the bytes are not this format or are broken, and
                errors.Refused when they are this format's but hostile (a pickle
                that would run code): then no other format is tried.

The registry (`REGISTRY`, in registration order; open() in wetron/__init__.py) asks
every module's match(), then parses candidates (score > 0) from the highest score down,
ties in registration order. A candidate that raises ModelError, or that gives an empty
model while its module says NEVER_EMPTY, is skipped and the next one tried. When all
fail, the error names the file and what each candidate found:
  "x.bin: not a model Wetron could read: ONNX: <its error>; TensorFlow: <its error>".

`manifest()` lists every format's declarations as JSON-ready dicts; build.py writes it to
dist/formats.json, which the page reads (which of several files is the model, the file
input's accept list, the start page's format list), and tests check that README.md and
docs/ list exactly these formats.

A new format is: its module here (the names above), its tests, and one line in
FORMAT_MODULES below (and its line in README.md's list, which a test checks).
"""
import fnmatch
import importlib
import os

# The formats, one line each (the module's name here), in the order the page and the
# docs list them; the order also breaks ties between equal match() scores.
FORMAT_MODULES = (
    "onnx",
    "tflite",
    "tensorflow",
    "tfjs",
    "keras",
    "pytorch",
    "safetensors",
    "gguf",
    "coreml",
    "npy",
    "caffe",
    "mxnet",
    "openvino",
    "ort",
    "paddle",
    "darknet",
    "ncnn",
    "pnnx",
    "executorch",
    "xgboost",
    "lightgbm",
    "sklearn",
)
REGISTRY = [importlib.import_module(f".{name}", __name__) for name in FORMAT_MODULES]

CAPABILITIES = {
    "tensor_values": "the weights' values can be shown, with statistics and .npy export",
    "tensor_windows": "large tensors are read in windows",
}


def declared(fmt, name, default=()):
    """A module's declaration, with the contract's default when it has none."""
    return getattr(fmt, name, default)


def candidates(head, name):
    """The formats whose match() is above 0, best first: [(score, module)]."""
    scored = []
    for order, fmt in enumerate(REGISTRY):
        score = float(fmt.match(head, name))
        if score > 0:
            scored.append((-score, order, fmt))
    return [(-s, fmt) for s, _, fmt in sorted(scored, key=lambda x: x[:2])]


MAX_FOLDER_FILES = 10000   # a folder given as the model is walked up to this many files


def model_rank(path):
    """The rank of a file as the model among several (lower first), by its name alone,
    the same rule for every format (and app/formats.js's for the page): a format's main
    file name (saved_model.pb, then model.json, ...), else a format's extension, later
    when the path also matches a companion pattern at least as specific as that extension
    (a .bin may be PyTorch weights, TF.js shards or ONNX external data; ncnn's x.param.bin
    is a model beside its x.bin, though '*.bin' matches both), else anything. `path`:
    '/'-separated."""
    name = path.rsplit("/", 1)[-1].lower()
    mains = [n.lower() for fmt in REGISTRY for n in declared(fmt, "MAIN_FILES")]
    if name in mains:
        return mains.index(name)
    matched = [len(ext) for fmt in REGISTRY for ext in declared(fmt, "EXTENSIONS")
               if name.endswith(ext) and ext not in declared(fmt, "WEAK_EXTENSIONS")]
    if matched:
        companion = any(len(pattern.rsplit("*", 1)[-1]) >= max(matched)
                        and _tail_matches(path.lower(), pattern.lower())
                        for fmt in REGISTRY for pattern, _ in declared(fmt, "COMPANIONS"))
        return len(mains) + (1 if companion else 0)
    weak = any(name.endswith(ext) for fmt in REGISTRY for ext in declared(fmt, "WEAK_EXTENSIONS"))
    return len(mains) + (2 if weak else 3)


def _tail_matches(path, pattern):
    """Whether the last components of `path` match the glob `pattern` ('*': within one
    component)."""
    parts, want = path.split("/"), pattern.split("/")
    return len(parts) >= len(want) and all(
        fnmatch.fnmatchcase(p, w) for p, w in zip(parts[-len(want):], want))


def main_file(folder):
    """The model file of a folder given as the model (a SavedModel, a TF.js model, a
    Core ML .mlpackage), chosen as the page chooses among several files: best rank,
    nearest the top, largest. None for an empty folder."""
    found = []   # (rank, depth, -size, path)
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, folder).replace(os.sep, "/")
            try:
                size = os.path.getsize(full)
            except OSError:
                continue
            found.append((model_rank(rel), rel.count("/"), -size, full))
            if len(found) >= MAX_FOLDER_FILES:
                return min(found)[3]
    return min(found)[3] if found else None


def capabilities(fmt):
    return frozenset(declared(fmt, "CAPABILITIES", frozenset()))


def manifest():
    """Every format's declarations, JSON-ready, in registration order."""
    out = []
    for fmt in REGISTRY:
        out.append({
            "name": fmt.FORMAT,
            "module": fmt.__name__.rsplit(".", 1)[-1],
            "extensions": list(declared(fmt, "EXTENSIONS")),
            "weak_extensions": list(declared(fmt, "WEAK_EXTENSIONS")),
            "main_files": list(declared(fmt, "MAIN_FILES")),
            "companions": [{"pattern": p, "what": w} for p, w in declared(fmt, "COMPANIONS")],
            "capabilities": sorted(capabilities(fmt)),
            "never_empty": bool(declared(fmt, "NEVER_EMPTY", False)),
        })
    return out
