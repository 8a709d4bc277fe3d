"""A real Hugging Face BERT export of MiniLM's size, for the cost of a whole encoder:

  transformers BertModel(BertConfig(hidden_size=384, num_hidden_layers=6,
  num_attention_heads=12, intermediate_size=1536)), random weights (nothing is
  downloaded), torch.onnx.export(dynamo=False, opset 17) with input_ids and
  attention_mask of dynamic axes batch and sequence; outputs last_hidden_state and
  pooler_output.

transformers is not in the test environment, so the export runs in a small venv of
its own, tests/.cache/venvs/transformers-<version>/, made with --system-site-packages
so that it uses the test environment's torch (requirements-test.txt) and adds only
transformers and its pure-Python dependencies (~30 MB, about a minute to create).
The child process runs with the network cut where `unshare -n` works. The file is
cached in tests/.cache/bert-GENERATION-<tool versions>/ (models._cached_set).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VENVS = os.path.join(HERE, ".cache", "venvs")
TRANSFORMERS = "transformers==5.18.0"
VENV_NAME = "transformers-5.18.0"
GENERATION = "1"
CONFIG = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
          "intermediate_size": 1536}

_CHILD = r"""
import sys, warnings
import torch
import transformers as tr
torch.manual_seed(0)
bert = tr.BertModel(tr.BertConfig(**CONFIG)).eval()

class Keywords(torch.nn.Module):
    # BertModel.forward called positionally (as the exporter does) gets use_cache twice
    # in transformers 5; calling it with keywords avoids that.
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        out = self.m(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state, out.pooler_output

ids = torch.randint(0, 1000, (2, 16))
mask = torch.ones(2, 16, dtype=torch.int64)
axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
        "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated
    torch.onnx.export(Keywords(bert), (ids, mask), sys.argv[1], dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state", "pooler_output"], dynamic_axes=axes)
print(tr.__version__)
"""


def venv_python():
    """The venv's python, created on first use (one process creates it, others wait)."""
    import fcntl
    folder = os.path.join(VENVS, VENV_NAME)
    python = os.path.join(folder, "bin", "python")
    marker = os.path.join(folder, "complete.json")
    os.makedirs(VENVS, exist_ok=True)
    with open(os.path.join(VENVS, VENV_NAME + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(marker):
            return python
        if os.path.isdir(folder):
            shutil.rmtree(folder, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", folder],
                       check=True, capture_output=True, timeout=600, env=env)
        subprocess.run([python, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                        "--disable-pip-version-check", TRANSFORMERS], check=True,
                       capture_output=True, timeout=1800, env=env)
        with open(marker, "w") as f:
            json.dump({"pins": [TRANSFORMERS]}, f)
    return python


def _build(folder):
    from readability_models import _no_network
    python = venv_python()
    scratch = tempfile.mkdtemp(prefix="bert-scratch-")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HOME=scratch, HF_HOME=os.path.join(scratch, "hf"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="", PYTHONNOUSERSITE="1")
    path = os.path.join(folder, "minilm.onnx")
    try:
        proc = subprocess.run(_no_network() + [python, "-c", f"CONFIG = {CONFIG!r}\n" + _CHILD,
                                               path], env=env, cwd=scratch,
                              capture_output=True, text=True, timeout=1800)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError("exporting the MiniLM-sized BERT failed:\n" + proc.stderr[-4000:])
    return {"file": "minilm.onnx", "config": CONFIG, "transformers": proc.stdout.strip()}


def minilm_bert():
    """Path of the export (written on first use)."""
    from importlib.metadata import version
    import models
    key = f"bert-{GENERATION}-{VENV_NAME}-torch-{version('torch')}".replace("+", "_")
    folder, index = models._cached_set(key, _build)
    return os.path.join(folder, index["file"])
