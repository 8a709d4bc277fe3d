"""Real exports of well-known architectures, for readability tests and benchmarks.

Every file is written by the real framework, from the architecture's own code, with
random weights (nothing is downloaded: no pretrained weights, no hub configs):

  name                              how it is made                                     file
  torchvision resnet50              torchvision.models.resnet50(weights=None)          .onnx
  torchvision swin_s                torchvision.models.swin_s(weights=None)            .onnx
  torchvision vit_b_16              torchvision.models.vit_b_16(weights=None)          .onnx
  torchvision mobilenet_v3_large    torchvision.models.mobilenet_v3_large(weights=None) .onnx
      -> torch.onnx.export(dynamo=False, opset 17), input 1x3x224x224, dynamic batch
  hf gpt2     transformers GPT2LMHeadModel(GPT2Config(n_layer=12, n_embd=256, n_head=4))
  hf bert     transformers BertForMaskedLM(BertConfig(12 layers, hidden 256, 4 heads,
              inner 1024)), bert-base's architecture
  hf llama    transformers LlamaForCausalLM(LlamaConfig(4 layers, hidden 256, 4 heads,
              2 key/value heads, inner 688, vocab 32000))
      -> torch.onnx.export(dynamo=False, opset 17) with input_ids + attention_mask,
         dynamic batch and sequence axes (full vocabularies; widths reduced)
  ultralytics yolov8n   YOLO("yolov8n.yaml") (built from the yaml, no weights file),
                        exported by ultralytics' own exporter: model.export(format="onnx")
                        with its defaults (static 1x3x640x640, onnxslim pass)
  keras resnet50        keras.applications.ResNet50(weights=None), model.save(".keras")
  tflite mobilenet_v2   keras.applications.MobileNetV2(weights=None) converted by
                        tf.lite.TFLiteConverter.from_keras_model

Torch models get "pseudo-trained" weights before export: every parameter moved by a
little noise and BatchNorm statistics set to non-trivial values. With a fresh
initialisation, many tensors have equal values (LayerNorm scales are all ones, biases
all zeros), and the exporter then shares them through Identity nodes, which an export of
a trained model does not have.

torchvision (the CUDA build from PyPI, which cannot import beside the CPU torch of
requirements-test.txt) needs torch 2.14.1, so the torch-side models are written in a
virtual environment of their own, tests/.cache/venvs/torchvision-0.29.1/ (VENV_PINS,
about 6 GB, created once by venv_python()). The Keras and TFLite models are written by
the tensorflow / keras of the test environment itself. Each framework runs in a child
process (`python readability_models.py child GROUP OUT`), with the network cut
(`unshare -n`, where it works) so nothing in a file can come from the network; the test
process never imports torch or tensorflow for these.

Files are cached in sets, as in models.py: tests/.cache/readability-GROUP-GENERATION-
<versions of the tools that wrote them>/, each built in a temporary folder renamed into
place when complete. Its complete.json is the index: per model the file, the framework's
own node count ("nodes": len(graph.node) for ONNX, the operators of subgraph 0 for
TFLite, the layers other than InputLayer for Keras), the producer, size and the seconds
the export took. `python tests/readability_models.py` builds everything and prints it.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")
VENVS = os.path.join(CACHE, "venvs")
VENV_NAME = "torchvision-0.29.1"
VENV_PINS = ["torch==2.14.1", "torchvision==0.29.1", "onnx==1.23.2", "transformers==5.18.0",
             "ultralytics==8.4.190", "onnxslim==0.1.98"]
GENERATION = "1"   # bump to rebuild the exports after changing the generators
MARKER = "complete.json"

# name -> (group, file name, a node-name prefix showing the architecture's module scopes)
MODELS = collections.OrderedDict([
    ("torchvision resnet50", ("torchvision", "resnet50.onnx", "/layer1/layer1.0/conv1/")),
    ("torchvision swin_s", ("torchvision", "swin_s.onnx",
                            "/features/features.1/features.1.0/attn/")),
    ("torchvision vit_b_16", ("torchvision", "vit_b_16.onnx",
                              "/encoder/layers/encoder_layer_0/self_attention/")),
    ("torchvision mobilenet_v3_large", ("torchvision", "mobilenet_v3_large.onnx",
                                        "/features/features.4/block/")),
    ("hf gpt2", ("hf", "gpt2.onnx", "/transformer/h.0/attn/")),
    ("hf bert", ("hf", "bert.onnx", "/bert/encoder/layer.0/attention/")),
    ("hf llama", ("hf", "llama.onnx", "/model/layers.0/self_attn/")),
    ("ultralytics yolov8n", ("yolo", "yolov8n.onnx", "/model.22/")),
    ("keras resnet50", ("keras", "resnet50.keras", "conv2_block1_")),
    ("tflite mobilenet_v2", ("keras", "mobilenet_v2.tflite", "mobilenetv2_1.00_224")),
])
NAMES = list(MODELS)
VENV_GROUPS = ("torchvision", "hf", "yolo")   # written in the venv; "keras" is not


class VenvUnavailable(RuntimeError):
    """The torchvision venv could not be created (no registry, install failed...)."""


_venv_error = None   # remembered for the process: a failed install is not retried per test


def _no_network():
    """The command prefix that runs a child without network ([] if unshare is refused)."""
    if not hasattr(_no_network, "prefix"):
        ok = shutil.which("unshare") and subprocess.run(
            ["unshare", "-n", "true"], capture_output=True).returncode == 0
        _no_network.prefix = ["unshare", "-n"] if ok else []
    return _no_network.prefix


def _venv_ok(folder):
    try:
        with open(os.path.join(folder, MARKER)) as f:
            done = json.load(f)
    except (OSError, ValueError):
        return None
    ok = done.get("pins") == VENV_PINS and os.path.exists(os.path.join(folder, "bin", "python"))
    return done if ok else None


def venv_info():
    """The venv's complete.json: pins, installed versions, seconds taken to create it.
    Creates the venv first if needed (raises VenvUnavailable if that fails)."""
    global _venv_error
    folder = os.path.join(VENVS, VENV_NAME)
    done = _venv_ok(folder)
    if done:
        return done
    if _venv_error:
        raise VenvUnavailable(_venv_error)
    import fcntl
    os.makedirs(VENVS, exist_ok=True)
    with open(os.path.join(VENVS, VENV_NAME + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # one process creates it, the others wait
        done = _venv_ok(folder)
        if done:
            return done
        tmp = tempfile.mkdtemp(prefix=VENV_NAME + ".tmp-", dir=VENVS)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        step = "python -m venv"
        try:
            t0 = time.time()
            subprocess.run([sys.executable, "-m", "venv", tmp], check=True, capture_output=True,
                           text=True, timeout=600, env=env)
            t1 = time.time()
            python = os.path.join(tmp, "bin", "python")
            step = "pip install " + " ".join(VENV_PINS)
            subprocess.run([python, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                            "--disable-pip-version-check", *VENV_PINS], check=True,
                           capture_output=True, text=True, timeout=3600, env=env)
            t2 = time.time()
            step = "listing the installed versions"
            versions = json.loads(subprocess.run(
                [python, "-c", "import importlib.metadata as m, json; print(json.dumps("
                 "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))"],
                check=True, capture_output=True, text=True, timeout=600, env=env).stdout)
            done = {"pins": VENV_PINS, "versions": versions,
                    "seconds": {"venv": round(t1 - t0, 1), "pip_install": round(t2 - t1, 1)}}
            with open(os.path.join(tmp, MARKER), "w") as f:
                json.dump(done, f, indent=1)
            if os.path.isdir(folder):              # an older or half-made one
                shutil.rmtree(folder, ignore_errors=True)
            os.rename(tmp, folder)                 # a venv runs from its new place too
            return done
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            out = getattr(e, "stderr", None) or getattr(e, "stdout", None) or ""
            if isinstance(out, bytes):
                out = out.decode("utf-8", "replace")
            _venv_error = f"{step} failed: {e}\n{out[-3000:]}"
            raise VenvUnavailable(_venv_error) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def venv_python():
    """The torchvision venv's python (created on first use, ~2-3 minutes)."""
    venv_info()
    return os.path.join(VENVS, VENV_NAME, "bin", "python")


def _key(group):
    """The cache folder name of a group: its generation and the tools that write it."""
    from importlib.metadata import version
    if group in VENV_GROUPS:
        v = venv_info()["versions"]
        tools = {"torchvision": ["torch", "torchvision", "onnx"],
                 "hf": ["torch", "transformers", "onnx"],
                 "yolo": ["torch", "ultralytics", "onnxslim", "onnx"]}[group]
        parts = [f"{t}-{v[t]}" for t in tools]
    else:
        parts = [f"tensorflow-{version('tensorflow')}", f"keras-{version('keras')}"]
    return "-".join([f"readability-{group}-{GENERATION}"] + parts).replace("+", "_")


def _build(group, folder):
    """Runs the child that writes the group into folder; returns its index."""
    python = venv_python() if group in VENV_GROUPS else sys.executable
    scratch = tempfile.mkdtemp(prefix="readability-scratch-")   # homes, caches, cwd
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HOME=scratch, XDG_CACHE_HOME=os.path.join(scratch, "cache"),
               XDG_CONFIG_HOME=os.path.join(scratch, "config"),
               MPLCONFIGDIR=os.path.join(scratch, "mpl"), KERAS_HOME=os.path.join(scratch, "keras"),
               HF_HOME=os.path.join(scratch, "hf"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               YOLO_CONFIG_DIR=os.path.join(scratch, "ultralytics"), YOLO_OFFLINE="1",
               YOLO_AUTOINSTALL="0", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
               KERAS_BACKEND="tensorflow", PYTHONNOUSERSITE="1", PYTHONIOENCODING="utf-8")
    cmd = _no_network() + [python, os.path.abspath(__file__), "child", group, folder]
    t = time.time()
    try:
        proc = subprocess.run(cmd, env=env, cwd=scratch, capture_output=True, text=True,
                              timeout=1800)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"writing the {group} readability models failed:\n"
                           + proc.stderr[-4000:])
    path = os.path.join(folder, "_index.json")
    with open(path) as f:
        index = json.load(f)
    os.remove(path)
    index["seconds"] = round(time.time() - t, 1)        # with the framework's import
    index["network"] = "cut (unshare -n)" if _no_network() else "not cut"
    return index


def group_index(group):
    """(folder, index) of a group of models, written on first use."""
    import models      # its _cached_set: temp folder renamed into place when complete
    return models._cached_set(_key(group), lambda folder: _build(group, folder))


def model_info(name):
    """What the index says of one model, with "path" added."""
    group, _, _ = MODELS[name]
    folder, index = group_index(group)
    info = dict(index["models"][name])
    info["path"] = os.path.join(folder, info["file"])
    info["group_seconds"] = index["seconds"]
    return info


def readability_index():
    """Ordered dict name -> model_info(name), for every model."""
    return collections.OrderedDict((name, model_info(name)) for name in NAMES)


def readability_models():
    """Ordered dict name -> path of every model (written on first use; raises
    VenvUnavailable if the torchvision venv cannot be created)."""
    return collections.OrderedDict((name, model_info(name)["path"]) for name in NAMES)


def _path(name):
    return model_info(name)["path"]


def torchvision_resnet50():
    return _path("torchvision resnet50")


def torchvision_swin_s():
    return _path("torchvision swin_s")


def torchvision_vit_b_16():
    return _path("torchvision vit_b_16")


def torchvision_mobilenet_v3_large():
    return _path("torchvision mobilenet_v3_large")


def hf_gpt2():
    return _path("hf gpt2")


def hf_bert():
    return _path("hf bert")


def hf_llama():
    return _path("hf llama")


def ultralytics_yolov8n():
    return _path("ultralytics yolov8n")


def keras_resnet50():
    return _path("keras resnet50")


def tflite_mobilenet_v2():
    return _path("tflite mobilenet_v2")


# --- generation (child processes) ------------------------------------------------------

def _pseudo_trained(torch, module, seed):
    """Every parameter moved by a little noise, BatchNorm statistics non-trivial: no two
    tensors equal, as in a trained model (see the module's docstring)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.uniform_(-0.1, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    return module


def _onnx_entry(path, seconds, how):
    import onnx
    m = onnx.load(path, load_external_data=False)
    return {"file": os.path.basename(path), "nodes": len(m.graph.node),
            "producer_name": m.producer_name, "producer_version": m.producer_version,
            "opset": next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None),
            "bytes": os.path.getsize(path), "seconds": round(seconds, 1), "how": how}


def _torch_export(torch, module, args, path, input_names, output_names, dynamic_axes,
                  kwargs=None):
    # Not under torch.no_grad(): there nn.MultiheadAttention (ViT) takes its fused fast
    # path, aten::_native_multi_head_attention, which has no ONNX export.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the TorchScript exporter is deprecated
        torch.onnx.export(module, args, path, kwargs=kwargs, dynamo=False, opset_version=17,
                          input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes)


def _child_torchvision(out):
    import torch
    import torchvision
    models = {}
    for seed, name in enumerate(("resnet50", "swin_s", "vit_b_16", "mobilenet_v3_large")):
        t = time.time()
        torch.manual_seed(seed)
        m = _pseudo_trained(torch, getattr(torchvision.models, name)(weights=None).eval(), seed)
        path = os.path.join(out, name + ".onnx")
        _torch_export(torch, m, (torch.randn(1, 3, 224, 224),), path, ["input"], ["logits"],
                      {"input": {0: "batch"}, "logits": {0: "batch"}})
        models["torchvision " + name] = _onnx_entry(
            path, time.time() - t, f"torchvision {torchvision.__version__} "
            f"models.{name}(weights=None), torch.onnx.export(dynamo=False, opset 17)")
    return models


def _child_hf(out):
    import torch
    import transformers as tr
    # BertForMaskedLM rather than BertModel: transformers 5 (5.18 to 5.25 at least) passes
    # use_cache twice to BertModel.forward when it is called with every argument
    # positional, as the TorchScript exporter does ("got multiple values for argument
    # 'use_cache'"); BertForMaskedLM calls its BertModel with keywords.
    builds = {
        "gpt2": lambda: tr.GPT2LMHeadModel(tr.GPT2Config(
            n_layer=12, n_embd=256, n_head=4, use_cache=False)),
        "bert": lambda: tr.BertForMaskedLM(tr.BertConfig(
            num_hidden_layers=12, hidden_size=256, num_attention_heads=4,
            intermediate_size=1024)),
        "llama": lambda: tr.LlamaForCausalLM(tr.LlamaConfig(
            num_hidden_layers=4, hidden_size=256, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=688, vocab_size=32000, use_cache=False)),
    }
    models = {}
    for seed, (name, build) in enumerate(builds.items()):
        t = time.time()
        torch.manual_seed(seed)
        m = _pseudo_trained(torch, build().eval(), seed)
        ids = torch.randint(0, 1000, (2, 16))
        mask = torch.ones(2, 16, dtype=torch.int64)
        axes = {"input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch", 1: "sequence"}}
        path = os.path.join(out, name + ".onnx")
        _torch_export(torch, m, (), path, ["input_ids", "attention_mask"], ["logits"], axes,
                      kwargs={"input_ids": ids, "attention_mask": mask})
        models["hf " + name] = _onnx_entry(
            path, time.time() - t, f"transformers {tr.__version__} {type(m).__name__} from "
            f"its config, torch.onnx.export(dynamo=False, opset 17)")
    return models


def _child_yolo(out):
    import torch
    import ultralytics
    from ultralytics import YOLO
    t = time.time()
    torch.manual_seed(0)
    yolo = YOLO("yolov8n.yaml")               # the architecture only: no weights file
    _pseudo_trained(torch, yolo.model, 0)
    written = yolo.export(format="onnx")      # ultralytics' defaults, as `yolo export` does
    path = os.path.join(out, "yolov8n.onnx")
    shutil.move(written, path)
    entry = _onnx_entry(path, time.time() - t, f"ultralytics {ultralytics.__version__} "
                        "YOLO('yolov8n.yaml').export(format='onnx')")
    import onnx
    entry["metadata"] = {p.key: p.value for p in onnx.load(path, load_external_data=False)
                         .metadata_props if p.key in ("author", "version", "task")}
    return {"ultralytics yolov8n": entry}


def _child_keras(out):
    import warnings
    import keras
    import tensorflow as tf
    models = {}
    t = time.time()
    keras.utils.set_random_seed(0)
    m = keras.applications.ResNet50(weights=None)
    path = os.path.join(out, "resnet50.keras")
    m.save(path)
    models["keras resnet50"] = {
        "file": "resnet50.keras", "layers": len(m.layers),
        "nodes": sum(not isinstance(layer, keras.layers.InputLayer) for layer in m.layers),
        "parameters": m.count_params(), "producer": f"keras {keras.__version__}",
        "bytes": os.path.getsize(path), "seconds": round(time.time() - t, 1),
        "how": f"keras {keras.__version__} applications.ResNet50(weights=None).save()"}
    t = time.time()
    m = keras.applications.MobileNetV2(weights=None)
    path = os.path.join(out, "mobilenet_v2.tflite")
    with open(path, "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops = Interpreter(model_path=path)._get_ops_details()
    models["tflite mobilenet_v2"] = {
        "file": "mobilenet_v2.tflite", "layers": len(m.layers), "nodes": len(ops),
        "producer": f"TensorFlow Lite converter {tf.__version__}",
        "bytes": os.path.getsize(path), "seconds": round(time.time() - t, 1),
        "how": f"tensorflow {tf.__version__} TFLiteConverter.from_keras_model("
               "keras.applications.MobileNetV2(weights=None))"}
    return models


def _child(group, out):
    t = time.time()
    models = {"torchvision": _child_torchvision, "hf": _child_hf, "yolo": _child_yolo,
              "keras": _child_keras}[group](out)
    with open(os.path.join(out, "_index.json"), "w") as f:
        json.dump({"models": models, "child_seconds": round(time.time() - t, 1)}, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.path.insert(0, HERE)
    t = time.time()
    info = venv_info()
    print(f"venv {VENV_NAME}: created in {info['seconds']} s (this call {time.time() - t:.1f} s)")
    for name in NAMES:
        t = time.time()
        i = model_info(name)
        print(f"{name:32} {i['nodes']:6} nodes {i['bytes'] / 1e6:8.1f} MB  "
              f"export {i['seconds']:5} s"
              f"  (group {i['group_seconds']} s, this call {time.time() - t:.1f} s)  {i['path']}")
