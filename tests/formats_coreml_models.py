"""Test files for the Core ML format, written by coremltools 9.0 and cached under
tests/.cache/coreml/.

coremltools runs in a venv of its own, tests/.cache/venvs/coremltools-9.0/ (created on
first use, with the test environment's packages visible so that its torch converts the
torch models; pip adds coremltools and the few packages it needs that the test
environment lacks). The files are written in a subprocess of that venv
(`python tests/formats_coreml_models.py child DIR`); next to each one it writes
`<file>.oracle.json`: what coremltools itself reads back from the file
(coremltools.models.MLModel(path).get_spec()): the model type, inputs and outputs,
metadata, per NeuralNetwork layer its name, type, inputs, outputs and weight element
counts, per MIL operation its type, outputs with their shapes and bound inputs, the
const values' element counts and blob offsets. For the torch models converted twice
(neuralnetwork and mlprogram, float32), the MIL program's output shapes are coremltools'
own type inference for the same layers, listed per NeuralNetwork layer in order.

  nn_cnn.mlmodel      torch CNN (conv, grouped strided conv, ReLU, max pool, flatten,
                      linear, softmax) -> convert_to="neuralnetwork"; metadata set
  nn_builder.mlmodel  NeuralNetworkBuilder: rank-5 input, same/valid convolution,
                      batchnorm, leaky ReLU, deconvolution with outputShape, global
                      pooling, flatten, innerProduct, batchedMatMul with weights
  nn_quant8.mlmodel / nn_fp16.mlmodel   a conv + innerProduct model, its weights
                      quantized by quantization_utils.quantize_weights (8-bit linear,
                      float16)
  nn_classifier.mlmodel  an image input (RGB 16x16) and class labels (classifier_config)
  pipeline.mlmodel    a Pipeline of two NeuralNetwork models
  ml_cnn.mlpackage    the torch CNN -> convert_to="mlprogram" (float16 weights in
                      weights/weight.bin)
  ml_mlp.mlpackage    torch matmul / layer_norm / GELU / linear, float32 precision
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "coreml")
VENV = os.path.join(HERE, ".cache", "venvs", "coremltools-9.0")
PINS = ["coremltools==9.0"]
GENERATOR_VERSION = "1"      # bump to regenerate the cache
FILES = ("nn_cnn.mlmodel", "nn_builder.mlmodel", "nn_quant8.mlmodel", "nn_fp16.mlmodel",
         "nn_classifier.mlmodel", "pipeline.mlmodel", "ml_cnn.mlpackage", "ml_mlp.mlpackage")
TWINS = {"nn_cnn.mlmodel": "ml_cnn32.mlpackage"}   # NN file -> its float32 ML program twin


def venv_python():
    """The coremltools venv's python (created once: ~20 s)."""
    python = os.path.join(VENV, "bin", "python")
    marker = os.path.join(VENV, "complete")
    if os.path.exists(marker):
        return python
    import fcntl
    os.makedirs(os.path.dirname(VENV), exist_ok=True)
    with open(VENV + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(marker):
            return python
        shutil.rmtree(VENV, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        try:
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", VENV],
                           check=True, capture_output=True, timeout=600, env=env)
            subprocess.run([python, "-m", "pip", "install", "--no-input", "--progress-bar",
                            "off", "--disable-pip-version-check", *PINS], check=True,
                           capture_output=True, text=True, timeout=1800, env=env)
        except (subprocess.CalledProcessError, OSError) as e:
            pytest.skip(f"coremltools venv not available: {getattr(e, 'stderr', e)}"[-2000:])
        with open(marker, "w") as f:
            f.write(" ".join(PINS))
    return python


def coreml_dir():
    """The folder of Core ML files (generated on first use)."""
    pytest.importorskip("torch")
    stamp = os.path.join(CACHE, "VERSION")
    if os.path.exists(stamp) and open(stamp).read() == GENERATOR_VERSION:
        return CACHE
    python = venv_python()
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="coreml.tmp-", dir=os.path.dirname(CACHE))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3", PYTHONNOUSERSITE="1")
    proc = subprocess.run([python, os.path.abspath(__file__), "child", tmp], env=env,
                          capture_output=True, text=True, timeout=1200, cwd=tmp)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("writing the Core ML test files failed:\n" + proc.stderr[-4000:])
    with open(os.path.join(tmp, "VERSION"), "w") as f:
        f.write(GENERATOR_VERSION)
    shutil.rmtree(CACHE, ignore_errors=True)
    os.rename(tmp, CACHE)
    return CACHE


def oracle(folder, name):
    with open(os.path.join(folder, name + ".oracle.json")) as f:
        return json.load(f)


# --- the coremltools side (runs in the venv) -------------------------------------------
def _torch_models():
    import torch

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = torch.nn.Conv2d(8, 8, 3, groups=2, stride=2)
            self.fc = torch.nn.Linear(8 * 7 * 7, 10)

        def forward(self, x):
            x = torch.relu(self.c1(x))
            x = torch.nn.functional.max_pool2d(self.c2(x), 2)
            return torch.softmax(self.fc(x.flatten(1)), 1)

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(16, 24))
            self.norm = torch.nn.LayerNorm(24)
            self.out = torch.nn.Linear(24, 6)

        def forward(self, x):
            h = torch.nn.functional.gelu(self.norm(torch.matmul(x, self.w)))
            return self.out(h)

    torch.manual_seed(0)
    return (CNN().eval(), torch.rand(1, 3, 32, 32)), (MLP().eval(), torch.rand(2, 5, 16))


def _convert(ct, model, x, **kw):
    import torch
    traced = torch.jit.trace(model, x)
    return ct.convert(traced, inputs=[ct.TensorType(name="x", shape=x.shape)], **kw)


def _builder_models(ct):
    import numpy as np
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder
    rng = np.random.default_rng(0)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)   # noqa: E731

    b = NeuralNetworkBuilder([("x", datatypes.Array(3, 8, 8))], [("y", None)])
    b.add_convolution("conv", kernel_channels=3, output_channels=4, height=3, width=3,
                      stride_height=1, stride_width=1, border_mode="same", groups=1,
                      W=f32(3, 3, 3, 4), b=f32(4), has_bias=True, input_name="x",
                      output_name="c")
    b.add_batchnorm("bn", 4, f32(4), f32(4), mean=f32(4), variance=np.abs(f32(4)),
                    input_name="c", output_name="bn")
    b.add_activation("act", "LEAKYRELU", "bn", "a", params=[0.1])
    b.add_convolution("down", kernel_channels=4, output_channels=6, height=3, width=3,
                      stride_height=2, stride_width=2, border_mode="valid", groups=1,
                      W=f32(3, 3, 4, 6), b=None, has_bias=False, input_name="a",
                      output_name="dn")
    b.add_convolution("deconv", kernel_channels=6, output_channels=2, height=2, width=2,
                      stride_height=2, stride_width=2, border_mode="valid", groups=1,
                      W=f32(2, 2, 6, 2), b=None, has_bias=False, is_deconv=True,
                      output_shape=[6, 6], input_name="dn", output_name="d")
    b.add_pooling("gp", 1, 1, 1, 1, "AVERAGE", padding_type="VALID", input_name="d",
                  output_name="p", is_global=True)
    b.add_flatten("fl", 0, "p", "f")
    b.add_inner_product("fc", W=f32(5, 2), b=f32(5), input_channels=2, output_channels=5,
                        has_bias=True, input_name="f", output_name="y")
    builder_spec = b.spec
    meta = builder_spec.description.metadata
    meta.license, meta.author, meta.shortDescription = "MIT", "wetron tests", "a builder net"

    q = NeuralNetworkBuilder([("x", datatypes.Array(1, 3, 8, 8))], [("y", None)],
                             disable_rank5_shape_mapping=True)
    q.add_convolution("conv", kernel_channels=3, output_channels=8, height=3, width=3,
                      stride_height=1, stride_width=1, border_mode="valid", groups=1,
                      W=f32(3, 3, 3, 8), b=f32(8), has_bias=True, input_name="x",
                      output_name="c")
    q.add_activation("relu", "RELU", "c", "r")
    q.add_flatten_to_2d("flat", "r", "f", axis=1)
    q.add_inner_product("fc", W=f32(4, 288), b=f32(4), input_channels=288,
                        output_channels=4, has_bias=True, input_name="f", output_name="ip")
    q.add_batched_mat_mul("bmm", ["ip"], "y", W=f32(4, 3), bias=f32(3),
                          weight_matrix_rows=4, weight_matrix_columns=3)
    return builder_spec, q.spec


def _classifier(ct):
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(torch.nn.functional.adaptive_avg_pool2d(self.c(x), 1).flatten(1))

    torch.manual_seed(1)
    x = torch.rand(1, 3, 16, 16)
    traced = torch.jit.trace(Tiny().eval(), x)
    return ct.convert(traced, inputs=[ct.ImageType(name="image", shape=x.shape,
                                                   color_layout=ct.colorlayout.RGB)],
                      classifier_config=ct.ClassifierConfig(["cat", "dog", "bird"]),
                      convert_to="neuralnetwork")


def _pipeline(ct, first_spec):
    import numpy as np
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder
    from coremltools.models.pipeline import Pipeline
    rng = np.random.default_rng(2)
    a = NeuralNetworkBuilder([("x", datatypes.Array(6))], [("h", datatypes.Array(4))],
                             disable_rank5_shape_mapping=True)
    a.add_inner_product("fc1", W=rng.standard_normal((4, 6)).astype(np.float32), b=None,
                        input_channels=6, output_channels=4, has_bias=False,
                        input_name="x", output_name="h")
    b = NeuralNetworkBuilder([("h", datatypes.Array(4))], [("y", datatypes.Array(2))],
                             disable_rank5_shape_mapping=True)
    b.add_inner_product("fc2", W=rng.standard_normal((2, 4)).astype(np.float32),
                        b=np.zeros(2, np.float32), input_channels=4, output_channels=2,
                        has_bias=True, input_name="h", output_name="y")
    p = Pipeline([("x", datatypes.Array(6))], [("y", datatypes.Array(2))])
    p.add_model(a.spec)
    p.add_model(b.spec)
    return p.spec


# oracles ------------------------------------------------------------------------------
def _feature(f):
    t = f.type
    kind = t.WhichOneof("Type")
    d = {"name": f.name, "kind": kind}
    if kind == "multiArrayType":
        from coremltools.proto import FeatureTypes_pb2
        d["shape"] = list(t.multiArrayType.shape)
        d["dtype"] = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(t.multiArrayType.dataType)
    elif kind == "imageType":
        d["width"], d["height"] = t.imageType.width, t.imageType.height
    return d


def _weight_counts(msg, prefix=""):
    """{field path: elements} of every WeightParams in a layer's parameter message."""
    out = {}
    for field, value in msg.ListFields():
        if field.message_type is None or field.is_repeated:
            continue
        if field.message_type.name == "WeightParams":
            q = value.quantization
            bits = q.numberOfBits
            n = (len(value.floatValue) + len(value.float16Value) // 2
                 + len(value.int8RawValue)
                 + (len(value.rawValue) * 8 // bits if bits else len(value.rawValue) // 2))
            out[prefix + field.name] = n
        elif field.message_type.name != "NeuralNetwork":
            out.update(_weight_counts(value, prefix + field.name + "."))
    return out


def _nn_oracle(nn):
    layers = []
    for layer in nn.layers:
        kind = layer.WhichOneof("layer")
        layers.append({"name": layer.name, "type": kind, "inputs": list(layer.input),
                       "outputs": list(layer.output),
                       "weights": _weight_counts(getattr(layer, kind))})
    return layers


def _mil_oracle(program):
    import numpy as np
    out = {}
    for fname, fn in program.functions.items():
        block = fn.block_specializations[fn.opset]
        ops, consts = [], []
        for op in block.operations:
            outs = []
            for o in op.outputs:
                tt = o.type.tensorType
                dims = [d.constant.size if d.WhichOneof("dimension") == "constant" else None
                        for d in tt.dimensions]
                outs.append({"name": o.name, "shape": dims})
            if op.type == "const":
                val = op.attributes["val"]
                c = {"name": op.outputs[0].name,
                     "count": int(np.prod(outs[0]["shape"])) if outs[0]["shape"] else 1}
                if val.WhichOneof("value") == "blobFileValue":
                    c["blob"] = [val.blobFileValue.fileName, val.blobFileValue.offset]
                consts.append(c)
                continue
            inputs = {k: [a.name for a in v.arguments if a.WhichOneof("binding") == "name"]
                      for k, v in op.inputs.items()}
            ops.append({"type": op.type, "name": op.attributes["name"].immediateValue.tensor
                        .strings.values[0] if "name" in op.attributes else "",
                        "outputs": outs, "inputs": inputs})
        out[fname] = {"opset": fn.opset, "inputs": [i.name for i in fn.inputs],
                      "outputs": list(block.outputs), "ops": ops, "consts": consts}
    return out


def _oracle(ct, path):
    spec = ct.models.MLModel(path, skip_model_load=True).get_spec() \
        if path.endswith(".mlpackage") else ct.utils.load_spec(path)
    kind = spec.WhichOneof("Type")
    meta = spec.description.metadata
    d = {"specificationVersion": spec.specificationVersion, "type": kind,
         "inputs": [_feature(f) for f in spec.description.input],
         "outputs": [_feature(f) for f in spec.description.output],
         "metadata": {"author": meta.author, "license": meta.license,
                      "shortDescription": meta.shortDescription,
                      "versionString": meta.versionString,
                      "userDefined": dict(meta.userDefined)}}
    if kind in ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor"):
        d["layers"] = _nn_oracle(getattr(spec, kind))
    elif kind == "pipeline":
        d["stages"] = [{"type": m.WhichOneof("Type"), "layers": _nn_oracle(m.neuralNetwork)}
                       for m in spec.pipeline.models]
    elif kind == "mlProgram":
        d["functions"] = _mil_oracle(spec.mlProgram)
    return d


def child(out):
    import coremltools as ct
    from coremltools.models.neural_network import quantization_utils
    (cnn, cx), (mlp, mx) = _torch_models()
    saved = {}
    nn = _convert(ct, cnn, cx, convert_to="neuralnetwork")
    nn.author, nn.license, nn.short_description, nn.version = (
        "wetron tests", "BSD-3-Clause", "a small CNN", "1.2")
    nn.user_defined_metadata["purpose"] = "testing"
    saved["nn_cnn.mlmodel"] = nn
    saved["ml_cnn.mlpackage"] = _convert(ct, cnn, cx, convert_to="mlprogram")
    saved["ml_cnn32.mlpackage"] = _convert(ct, cnn, cx, convert_to="mlprogram",
                                           compute_precision=ct.precision.FLOAT32)
    saved["ml_mlp.mlpackage"] = _convert(ct, mlp, mx, convert_to="mlprogram",
                                         compute_precision=ct.precision.FLOAT32)
    builder_spec, quant_spec = _builder_models(ct)
    saved["nn_builder.mlmodel"] = ct.models.MLModel(builder_spec, skip_model_load=True)
    quant = ct.models.MLModel(quant_spec, skip_model_load=True)
    saved["nn_quant8.mlmodel"] = quantization_utils.quantize_weights(quant, 8)
    saved["nn_fp16.mlmodel"] = quantization_utils.quantize_weights(quant, 16)
    saved["nn_classifier.mlmodel"] = _classifier(ct)
    saved["pipeline.mlmodel"] = ct.models.MLModel(_pipeline(ct, builder_spec),
                                                  skip_model_load=True)
    for name, model in saved.items():
        path = os.path.join(out, name)
        if hasattr(model, "save"):
            model.save(path)
        else:
            ct.utils.save_spec(model, path)
    for name in saved:
        path = os.path.join(out, name)
        d = _oracle(ct, path)
        if name in TWINS:     # coremltools' MIL shapes for the NN layers, in order
            twin = _oracle(ct, os.path.join(out, TWINS[name]))["functions"]["main"]["ops"]
            twin = [op for op in twin if op["type"] != "cast"]
            assert [op["type"] for op in twin] == ["conv", "relu", "conv", "max_pool",
                                                   "reshape", "linear", "softmax"], twin
            d["mil_shapes"] = [op["outputs"][0]["shape"] for op in twin]
        with open(path + ".oracle.json", "w") as f:
            json.dump(d, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2])
    else:
        print(coreml_dir())
