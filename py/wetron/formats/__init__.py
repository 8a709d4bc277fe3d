"""One module per model format. Each exposes:
  FORMAT                      its display name ("ONNX", "TensorFlow Lite", …)
  looks_like(head, name)      True if the first bytes (up to 4 KiB) / file name say it is theirs
  parse(source, companions)   -> wetron.model.Model, or raises ModelError
`REGISTRY` is tried in order; put formats with strong magic numbers first and ONNX
(which has none: protobuf) last.
"""
from . import gguf, keras, onnx, pytorch, safetensors, tensorflow, tflite

REGISTRY = [tflite, gguf, safetensors, keras, pytorch, tensorflow, onnx]
