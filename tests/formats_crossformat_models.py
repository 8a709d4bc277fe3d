"""One architecture exported by the real frameworks to every format Wetron reads, and
small TensorFlow graphs of single ops, for the op rules of the "tf" and "keras" domains
(tests/test_ops_tf_keras.py).

Written in a child process (`python formats_crossformat_models.py OUT`, TensorFlow
backend) and cached under tests/.cache/crossformat/, rebuilt when GENERATOR_VERSION
changes:
- mobilenet.keras, mobilenet.pb (frozen, batch 1), mobilenet_free_batch.pb (frozen, its
  input's batch None: -1 in the GraphDef), mobilenet_saved/ (SavedModel),
  mobilenet.tflite, mobilenet.onnx: keras.applications.MobileNetV2(weights=None,
  alpha=0.35) exported by keras, convert_variables_to_constants_v2, tf.saved_model,
  tf.lite.TFLiteConverter and tf2onnx (in its own venv: it pins protobuf 3.20, which
  TensorFlow 2.21 does not take; installed there without its pins, over this
  environment's packages);
- ops.pb: a frozen tf.function of the common raw ops;
- *.oracle.json: what the frameworks report: Keras layer.output.shape per layer,
  TensorFlow's own shape inference per tensor of the GraphDefs; for the SavedModel the
  output shapes of each signature run by TensorFlow (tf.saved_model.load) at batch 1
  and 2.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "crossformat")
GENERATOR_VERSION = "3"   # bump to rebuild the cache after changing the generators
TF2ONNX = "tf2onnx==1.17.0"
VENV = os.path.join(HERE, ".cache", "venvs", "tf2onnx-1.17.0")
MOBILENET = ("keras", "pb", "saved", "tflite", "onnx")


def ensure():
    """The cache folder, generated first if needed (needs tensorflow installed)."""
    marker = os.path.join(CACHE, "VERSION")
    if os.path.exists(marker) and open(marker).read() == GENERATOR_VERSION:
        return CACHE
    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), CACHE], env=env,
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError("generating the cross-format models failed:\n" + proc.stderr[-4000:])
    python = _venv_python()
    proc = subprocess.run([python, os.path.abspath(__file__), "--onnx", CACHE], env=env,
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError("tf2onnx failed:\n" + proc.stderr[-4000:])
    with open(marker, "w") as f:
        f.write(GENERATOR_VERSION)
    return CACHE


def _venv_python():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(os.path.join(VENV, "complete")):
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", VENV],
                       check=True, capture_output=True, timeout=300)
        subprocess.run([python, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                        "--disable-pip-version-check", "--no-deps", TF2ONNX], check=True,
                       capture_output=True, timeout=600)
        open(os.path.join(VENV, "complete"), "w").close()
    return python


def files():
    folder = ensure()
    return {"keras": os.path.join(folder, "mobilenet.keras"),
            "pb": os.path.join(folder, "mobilenet.pb"),
            "free_batch": os.path.join(folder, "mobilenet_free_batch.pb"),
            "saved": os.path.join(folder, "mobilenet_saved", "saved_model.pb"),
            "tflite": os.path.join(folder, "mobilenet.tflite"),
            "onnx": os.path.join(folder, "mobilenet.onnx"),
            "ops": os.path.join(folder, "ops.pb"),
            "layers": os.path.join(folder, "layers.keras")}


def oracle(path):
    with open(path + ".oracle.json") as f:
        return json.load(f)


# --- generation (child process) -------------------------------------------------------
def _shape(s):
    return None if s.rank is None else list(s.as_list())


def _graph_oracle(tf, graph_def, path):
    """TensorFlow's shape inference of every tensor of a GraphDef: {value name: dims}."""
    g = tf.Graph()
    with g.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    out = {}
    for op in g.get_operations():
        for k, t in enumerate(op.outputs):
            out[op.name if k == 0 else f"{op.name}:{k}"] = {"op": op.type, "dims": _shape(t.shape)}
    with open(path + ".oracle.json", "w") as f:
        json.dump(out, f)


def _freeze(tf, fn, path):
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)
    graph_def = convert_variables_to_constants_v2(fn).graph.as_graph_def()
    with open(path, "wb") as f:
        f.write(graph_def.SerializeToString())
    _graph_oracle(tf, graph_def, path)
    return graph_def


def _keras_oracle(keras, model, path):
    out = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.InputLayer):
            outs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
            out[layer.name] = {"class": type(layer).__name__,
                               "dims": [list(t.shape) for t in outs],
                               "inputs": [list(t.shape) for t in (
                                   layer.input if isinstance(layer.input, (list, tuple))
                                   else [layer.input])]}
    with open(path + ".oracle.json", "w") as f:
        json.dump(out, f)


def _saved_oracle(tf, np, folder):
    loaded = tf.saved_model.load(folder)
    out = {}
    for key, fn in loaded.signatures.items():
        (name, spec), = fn.structured_input_signature[1].items()
        out[key] = {str(batch): {alias: list(t.shape) for alias, t in fn(**{name: tf.zeros(
            [batch] + spec.shape.as_list()[1:], spec.dtype)}).items()} for batch in (1, 2)}
    with open(os.path.join(folder, "saved_model.pb.oracle.json"), "w") as f:
        json.dump({"signatures": out}, f)


def _layers_model(keras):
    """Layers the mobilenet does not have, with their fused activations."""
    from keras import layers
    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv")(inp)
    x = layers.SeparableConv2D(12, 3, padding="valid", activation="sigmoid", name="sep")(x)
    x = layers.Conv2DTranspose(6, 3, strides=2, padding="same", name="deconv")(x)
    x = layers.Conv2D(6, 3, dilation_rate=2, groups=2, use_bias=False, name="grouped")(x)
    x = layers.AveragePooling2D(3, strides=1, padding="same", name="avg")(x)
    x = layers.MaxPooling2D(2, name="max")(x)
    x = layers.LayerNormalization(name="ln")(x)
    x = layers.Activation("gelu", name="gelu")(x)
    x = layers.Reshape((-1, 6), name="tokens")(x)
    y = layers.Dense(10, activation="tanh", name="proj")(x)          # Dense on rank 3
    y = layers.MultiHeadAttention(2, 4, name="mha")(y, y)
    y = layers.Conv1D(5, 2, name="conv1d")(y)
    y = layers.GlobalMaxPooling1D(name="gmp")(y)
    z = layers.Flatten(name="flat")(x)
    z = layers.Dense(5, name="fc")(z)
    z = layers.Softmax(name="softmax")(z)
    out = layers.Concatenate(name="cat")([y, z])
    tok = keras.Input((7,), dtype="int32", name="tok")
    e = layers.Embedding(20, 4, name="emb")(tok)
    e = layers.Conv1D(4, 3, padding="causal", name="causal")(e)
    e = layers.GlobalAveragePooling1D(name="gap")(e)
    return keras.Model([inp, tok], [out, e], name="layers")


def _ops(tf, np):
    rng = np.random.default_rng(0)
    w = lambda *s: tf.constant(rng.standard_normal(s).astype(np.float32))  # noqa: E731

    @tf.function(input_signature=[tf.TensorSpec([1, 12, 12, 3], tf.float32, name="x"),
                                  tf.TensorSpec([1, 10, 1], tf.float32, name="v")])
    def ops(x, v):
        y = tf.nn.conv2d(x, w(3, 3, 3, 8), strides=2, padding="SAME", name="conv_same")
        y = tf.nn.bias_add(y, w(8), name="bias")
        y = tf.nn.relu6(y, name="relu6")
        z = tf.nn.conv2d(x, w(3, 3, 3, 4), strides=1, padding="VALID", dilations=2,
                         name="conv_dilated")
        z = tf.nn.conv2d(z, w(3, 3, 4, 4), strides=1, padding=[[0, 0], [1, 2], [0, 1], [0, 0]],
                         name="conv_explicit")
        d = tf.nn.depthwise_conv2d(y, w(3, 3, 8, 2), strides=[1, 1, 1, 1], padding="SAME",
                                   name="depthwise")
        bn = tf.compat.v1.nn.fused_batch_norm(d, w(16), w(16), mean=w(16),
                                              variance=tf.abs(w(16)), is_training=False,
                                              name="fbn")[0]
        up = tf.nn.conv2d_transpose(bn, w(3, 3, 5, 16), output_shape=[1, 12, 12, 5],
                                    strides=2, padding="SAME", name="deconv")
        mp = tf.nn.max_pool2d(up, 2, 2, "VALID", name="maxpool")
        ap = tf.nn.avg_pool2d(up, 3, 2, "SAME", name="avgpool")
        cat = tf.concat([mp, ap], axis=-1, name="concat")
        mean = tf.reduce_mean(cat, axis=[1, 2], keepdims=False, name="mean")
        s = tf.reduce_sum(cat, axis=-1, keepdims=True, name="sum")
        mx = tf.reduce_max(s, axis=[1], name="max")
        flat = tf.reshape(cat, [1, -1], name="flatten")
        fc = tf.matmul(flat, w(5, 360), transpose_b=True, name="matmul")
        fc = tf.nn.softmax(tf.add(fc, w(5), name="add"), name="softmax")
        t = tf.transpose(v, [0, 2, 1], name="transpose")            # [1, 1, 10]
        t3 = tf.transpose(tf.reshape(v, [2, 5, 1]), [1, 2, 0], name="transpose3")
        b = tf.linalg.matmul(tf.reshape(mean, [1, 2, 5]), w(1, 2, 3), adjoint_a=True,
                             name="batch_matmul")
        p = tf.pad(z, [[0, 0], [1, 1], [2, 0], [0, 0]], name="pad")
        sq = tf.squeeze(tf.expand_dims(mx, 0, name="expand"), [0, 1], name="squeeze")
        sl = tf.strided_slice(p, [0, 1, 0, 0], [1, -1, 8, 4], [1, 2, 3, 1], name="slice")
        sig = tf.sigmoid(tf.multiply(fc, 2.0, name="mul"), name="sigmoid")
        return {"fc": sig, "t": t, "t3": t3, "b": b, "sq": sq, "sl": sl, "mean": mean}

    return ops.get_concrete_function()


def generate(out):
    import numpy as np
    import tensorflow as tf
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), alpha=0.35)
    path = os.path.join(out, "mobilenet")
    model.save(path + ".keras")
    _keras_oracle(keras, model, path + ".keras")
    fn = tf.function(lambda t: model(t, training=False)).get_concrete_function(
        tf.TensorSpec([1, 224, 224, 3], tf.float32, name="image"))
    _freeze(tf, fn, path + ".pb")
    fn = tf.function(lambda t: model(t, training=False)).get_concrete_function(
        tf.TensorSpec([None, 224, 224, 3], tf.float32, name="image"))
    _freeze(tf, fn, path + "_free_batch.pb")
    model.export(path + "_saved", verbose=False)
    _saved_oracle(tf, np, path + "_saved")
    with open(path + ".tflite", "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    layers = _layers_model(keras)
    layers.save(os.path.join(out, "layers.keras"))
    _keras_oracle(keras, layers, os.path.join(out, "layers.keras"))

    _freeze(tf, _ops(tf, np), os.path.join(out, "ops.pb"))


def generate_onnx(out):
    """tf2onnx of the frozen mobilenet (runs in the tf2onnx venv)."""
    import tensorflow as tf
    import tf2onnx
    graph_def = tf.compat.v1.GraphDef()
    with open(os.path.join(out, "mobilenet.pb"), "rb") as f:
        graph_def.ParseFromString(f.read())
    outputs = [n.name + ":0" for n in graph_def.node if n.name.startswith("Identity")]
    tf2onnx.convert.from_graph_def(graph_def, input_names=["image:0"], output_names=outputs,
                                   opset=17, output_path=os.path.join(out, "mobilenet.onnx"))


if __name__ == "__main__":
    if sys.argv[1] == "--onnx":
        generate_onnx(sys.argv[2])
    else:
        generate(sys.argv[1])
