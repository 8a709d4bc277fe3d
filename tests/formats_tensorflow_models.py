"""TensorFlow and TensorFlow Lite test models, written by the real frameworks.

TensorFlow is imported only in a child process (`python formats_tensorflow_models.py
OUT`): it is heavy, and keeps the test process free of it. Files are cached under
tests/.cache/tensorflow/ and rebuilt when GENERATION changes.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "tensorflow")
GENERATION = "3"   # bump to rebuild the cache after changing the generators

TFLITE = ["cnn", "cnn_int8", "cnn_fp16", "cnn_dynamic", "ops", "rnn", "control_flow",
          "strings", "signatures", "flex", "buffer_offset"]


def ensure():
    """The cache folder, generated first if needed (needs tensorflow installed)."""
    marker = os.path.join(CACHE, "GENERATION")
    if os.path.exists(marker) and open(marker).read() == GENERATION:
        return CACHE
    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), CACHE], env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError("generating TensorFlow test models failed:\n" + proc.stderr[-4000:])
    with open(marker, "w") as f:
        f.write(GENERATION)
    return CACHE


def tflite_files():
    folder = ensure()
    return {name: os.path.join(folder, "tflite", name + ".tflite") for name in TFLITE}


# --- generation (child process) -------------------------------------------------------
def _convert(converter, path):
    data = converter.convert()
    with open(path, "wb") as f:
        f.write(data)


def _cnn(keras, layers):
    inp = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    a = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    b = layers.Conv2D(8, 1, strides=1, dilation_rate=1, name="pw")(x)
    x = layers.Add(name="residual")([a, b])
    x = layers.LeakyReLU(negative_slope=0.2, name="leaky")(x)
    p = layers.MaxPooling2D(2, name="maxpool")(x)
    q = layers.AveragePooling2D(2, name="avgpool")(x)
    x = layers.Concatenate(name="concat")([p, q])
    x = layers.ZeroPadding2D(1, name="pad")(x)
    x = layers.Conv2D(16, 3, strides=2, activation="relu6", name="down")(x)
    up = layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(x)
    up2 = layers.UpSampling2D(2, interpolation="nearest", name="up_nearest")(x)
    x = layers.Multiply(name="gate")([up, up2])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(32, activation="tanh", name="fc1")(x)
    x = layers.Reshape((4, 8), name="reshape")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, activation="softmax", name="head")(x)
    return keras.Model(inp, x, name="cnn")


def _tflite(out):
    import numpy as np
    import tensorflow as tf
    import keras
    from keras import layers

    folder = os.path.join(out, "tflite")
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name + ".tflite")  # noqa: E731
    keras.utils.set_random_seed(0)
    cnn = _cnn(keras, layers)
    _convert(tf.lite.TFLiteConverter.from_keras_model(cnn), path("cnn"))

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(8):
            yield [rng.random((1, 32, 32, 3), dtype=np.float32)]

    c = tf.lite.TFLiteConverter.from_keras_model(cnn)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = representative
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8
    c.inference_output_type = tf.int8
    _convert(c, path("cnn_int8"))

    c = tf.lite.TFLiteConverter.from_keras_model(cnn)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.target_spec.supported_types = [tf.float16]
    _convert(c, path("cnn_fp16"))

    c = tf.lite.TFLiteConverter.from_keras_model(cnn)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    _convert(c, path("cnn_dynamic"))

    c = tf.lite.TFLiteConverter.from_keras_model(cnn)
    c._experimental_use_buffer_offset = True
    _convert(c, path("buffer_offset"))

    # Many builtin ops with their options, from a tf.function.
    w = tf.constant(np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 6], tf.float32, name="x"),
                                  tf.TensorSpec([3], tf.int32, name="idx")])
    def ops(x, idx):
        y = tf.matmul(x, tf.tile(w[None], [tf.shape(x)[0], 1, 1]), adjoint_b=False)
        y = tf.nn.leaky_relu(y, alpha=0.3)
        s = tf.strided_slice(y, [0, 1, 0], [0, 3, 5], [1, 1, 2], begin_mask=1, end_mask=1)
        t = tf.transpose(y, [0, 2, 1])
        p = tf.pad(t, [[0, 0], [1, 1], [2, 0]])
        g = tf.gather(p, idx, axis=1)
        m = tf.reduce_mean(g, axis=[2], keepdims=True)
        q = tf.squeeze(m, axis=[2])
        a, b = tf.split(y, 2, axis=1)
        st = tf.stack([a, b], axis=3)
        u = tf.unstack(st, axis=3)
        c = tf.cast(tf.argmax(u[0], axis=2), tf.float32)
        sh = tf.cast(tf.shape(x), tf.float32)
        mx = tf.reduce_max(y, axis=1)
        cs = tf.math.cumsum(mx, axis=1, exclusive=True, reverse=True)
        return {"q": q, "c": c, "shape": sh, "s": s, "cs": cs + tf.reduce_sum(u[1])}

    c = tf.lite.TFLiteConverter.from_concrete_functions([ops.get_concrete_function()])
    _convert(c, path("ops"))

    # Recurrent layers: fused LSTM, GRU (a WHILE loop with subgraphs), bidirectional.
    inp = keras.Input((7, 5), batch_size=1, name="seq")
    x = layers.LSTM(6, return_sequences=True, name="lstm")(inp)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(x)
    x = layers.GRU(3, name="gru")(x)
    rnn = keras.Model(inp, x, name="rnn")
    _convert(tf.lite.TFLiteConverter.from_keras_model(rnn), path("rnn"))

    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="v"),
                                  tf.TensorSpec([], tf.int32, name="n")])
    def control_flow(v, n):
        i0 = tf.constant(0)
        _, r = tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * 1.5 + 1.0),
                             [i0, v])
        return tf.cond(tf.reduce_sum(r) > 10.0, lambda: r * 2.0, lambda: r - 1.0)

    c = tf.lite.TFLiteConverter.from_concrete_functions([control_flow.get_concrete_function()])
    _convert(c, path("control_flow"))

    words = tf.constant(["alpha", "beta", "", "gamma delta", "ünïcode"])

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int32, name="ids")])
    def strings(ids):
        return tf.gather(words, ids)

    c = tf.lite.TFLiteConverter.from_concrete_functions([strings.get_concrete_function()])
    _convert(c, path("strings"))

    # Two signatures: two subgraphs, each with its SignatureDef.
    class Calc(tf.Module):
        def __init__(self):
            super().__init__()
            self.scale = tf.Variable(np.arange(4, dtype=np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="a")])
        def scale_it(self, a):
            return {"scaled": a * self.scale}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="a"),
                                      tf.TensorSpec([None, 4], tf.float32, name="b")])
        def add_them(self, a, b):
            return {"sum": a + b, "diff": a - b}

    calc = Calc()
    saved = os.path.join(out, "calc_savedmodel")
    tf.saved_model.save(calc, saved, signatures={"scale_it": calc.scale_it,
                                                 "add_them": calc.add_them})
    _convert(tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[
        "scale_it", "add_them"]), path("signatures"))

    # A TensorFlow op without a builtin: a custom "Flex" op.
    @tf.function(input_signature=[tf.TensorSpec([3, 3], tf.float32, name="m")])
    def flex(m):
        return tf.linalg.det(m) + tf.reduce_sum(tf.math.lgamma(m))

    c = tf.lite.TFLiteConverter.from_concrete_functions([flex.get_concrete_function()])
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    _convert(c, path("flex"))


if __name__ == "__main__":
    _tflite(sys.argv[1])
