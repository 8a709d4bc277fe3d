"""The model formats Wetron reads: one module per format, and the registry that picks one.

A format module declares what it is and how to recognise it:

  FORMAT        display name, "ONNX", "TensorFlow Lite" (the Model's `format` starts as
                this; a module may refine it, e.g. "TorchScript" from the PyTorch module)
  EXTENSIONS    file-name suffixes of its main file, lower case, the usual one first:
                (".onnx",). May be empty (TF.js: only a name, see MAIN_FILES).
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
                found) when the bytes are not this format or are broken.

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
REGISTRY below.
"""
from . import gguf, keras, onnx, pytorch, safetensors, tensorflow, tflite

REGISTRY = [tflite, gguf, safetensors, keras, pytorch, tensorflow, onnx]
