"""Real ONNX Runtime .ort files for the tests, written by onnxruntime's own converter
(`python -m onnxruntime.tools.convert_onnx_models_to_ort DIR --output_dir OUT
--save_optimized_onnx_model`) from torch exports:

  cnn           tests/models.py's torch_cnn() (dynamic batch): ORT fuses Conv + Add + Relu
                into com.microsoft FusedConv (with its Z input)
  transformer   tests/models.py's torch_transformer() (dynamic batch and sequence):
                FusedMatMul (transB, alpha), BiasGelu, FusedGemm (Tanh)
  fusions       a torch module of our own exported with static shapes (2, 16, 32): the
                fusions that need known shapes apply, SkipLayerNormalization, FastGelu
                (the tanh formula written out), QuickGelu (x * sigmoid(1.702 x))

For each, the converter writes NAME.ort with NAME.optimized.onnx beside it (its
optimization style "Fixed": the same optimized graph saved as ONNX, the oracle of the
.ort's graph) and NAME.with_runtime_opt.ort / NAME.with_runtime_opt.optimized.onnx
(style "Runtime": the basic-level graph, the later optimizations recorded in the file).
The sources are kept in source/.

onnxruntime (requirements-test.txt) requires the flatbuffers package itself, so the
converter runs in the test environment, no venv of its own. Cached in
tests/.cache/ort-GENERATION-onnxruntime-<version>-<torch key>/ (complete.json: the index).
"""
import json
import os
import shutil
import subprocess
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATION = "1"
FUSED_OPS = ("FusedConv", "FusedGemm", "FusedMatMul", "BiasGelu", "FastGelu", "QuickGelu",
             "SkipLayerNormalization")
# the symbolic sizes of each model's inputs the tests bind (fusions' are static)
SIZES = {"cnn": {"batch": 2}, "transformer": {"batch": 2, "sequence": 16}, "fusions": {}}


def _fusions_module():
    import torch
    from torch import nn

    class Fusions(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(32, 32)
            self.norm = nn.LayerNorm(32)
            self.up = nn.Linear(32, 64)
            self.down = nn.Linear(64, 32)
            self.norm2 = nn.LayerNorm(32)

        def forward(self, x):
            h = self.norm(self.dense(x) + x)                   # SkipLayerNormalization
            g = self.up(h)
            g = 0.5 * g * (1.0 + torch.tanh(0.7978845608028654 * (g + 0.044715 * torch.pow(g, 3))))
            q = self.down(g)                                   # FastGelu above
            q = q * torch.sigmoid(1.702 * q)                   # QuickGelu
            return self.norm2(q + h)
    torch.manual_seed(0)
    return Fusions().eval()


def _build(folder):
    import models
    import onnxruntime
    import torch
    source = os.path.join(folder, "source")
    os.makedirs(source)
    shutil.copy(models.torch_cnn(), os.path.join(source, "cnn.onnx"))
    shutil.copy(models.torch_transformer(), os.path.join(source, "transformer.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated, on purpose
        torch.onnx.export(_fusions_module(), (torch.randn(2, 16, 32),),
                          os.path.join(source, "fusions.onnx"), dynamo=False,
                          input_names=["x"], output_names=["y"])
    proc = subprocess.run(
        [sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", source,
         "--output_dir", folder, "--save_optimized_onnx_model"],
        capture_output=True, text=True, timeout=900, cwd=folder)
    if proc.returncode != 0:
        raise RuntimeError("convert_onnx_models_to_ort failed:\n" + proc.stderr[-4000:])
    index = {"onnxruntime": onnxruntime.__version__, "models": {}}
    for name in SIZES:
        index["models"][name] = {
            "source": f"source/{name}.onnx",
            "ort": f"{name}.ort", "optimized": f"{name}.optimized.onnx",
            "runtime_ort": f"{name}.with_runtime_opt.ort",
            "runtime_optimized": f"{name}.with_runtime_opt.optimized.onnx"}
        for rel in index["models"][name].values():
            if not os.path.isfile(os.path.join(folder, rel)):
                raise RuntimeError(f"the converter wrote no {rel}:\n{proc.stdout[-4000:]}")
    return index


def ort_files():
    """name -> {"source", "ort", "optimized", "runtime_ort", "runtime_optimized": paths,
    "sizes": the symbols the tests bind}."""
    import models
    from importlib.metadata import version
    key = f"ort-{GENERATION}-onnxruntime-{version('onnxruntime')}-{models._torch_key()}"
    folder, index = models._cached_set(key, _build)
    out = {}
    for name, entry in index["models"].items():
        out[name] = {k: os.path.join(folder, rel) for k, rel in entry.items()}
        out[name]["sizes"] = SIZES[name]
    return out


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    print(json.dumps(ort_files(), indent=1))
