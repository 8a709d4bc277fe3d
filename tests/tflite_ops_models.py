"""TensorFlow Lite models for the op rules of the "tflite" domain (tests/test_ops_tflite.py),
written by the real converter.

TensorFlow is imported only in a child process (`python tflite_ops_models.py OUT`); files
are cached under tests/.cache/tflite-ops/ and rebuilt when GENERATION changes:
- mobilenet_v2.tflite: keras.applications.MobileNetV2(weights=None) on a batch-1 input
  through TFLiteConverter.from_keras_model, and mobilenet_v2.layers.json, what Keras says
  of its layers (class, config, input and output shapes), from which the test counts the
  architecture's MACs itself; mobilenet_v2_dynamic.tflite: the same with Keras's dynamic
  batch (shape_signature -1);
- ops.tflite: a tf.function (static shapes) of the ops with their own layouts: grouped and
  dilated CONV_2D, DEPTHWISE_CONV_2D with depth_multiplier 2, TRANSPOSE_CONV, CONV_3D,
  FULLY_CONNECTED (2-D and keep_num_dims), BATCH_MATMUL with adj_y, activations (fused
  and standalone), normalisations, pooling, element-wise and data movement ops.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "tflite-ops")
GENERATION = "2"   # bump to rebuild the cache after changing the generators
MODELS = ("mobilenet_v2", "mobilenet_v2_dynamic", "ops")


def ensure():
    """The cache folder, generated first if needed (needs tensorflow installed)."""
    marker = os.path.join(CACHE, "GENERATION")
    if os.path.exists(marker) and open(marker).read() == GENERATION:
        return CACHE
    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), CACHE], env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError("generating the TFLite op models failed:\n" + proc.stderr[-4000:])
    with open(marker, "w") as f:
        f.write(GENERATION)
    return CACHE


def files():
    folder = ensure()
    return {name: os.path.join(folder, name + ".tflite") for name in MODELS}


def keras_layers():
    """mobilenet_v2.layers.json: [{class, config, inputs, outputs}] per Keras layer."""
    with open(os.path.join(ensure(), "mobilenet_v2.layers.json")) as f:
        return json.load(f)


# --- generation (child process) -------------------------------------------------------
def _write(converter, path):
    data = converter.convert()
    with open(path, "wb") as f:
        f.write(data)


def _shapes(x):
    return [list(t.shape) for t in (x if isinstance(x, (list, tuple)) else [x])]


def _mobilenet(out, tf, keras):
    keras.utils.set_random_seed(0)
    m = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    _write(tf.lite.TFLiteConverter.from_keras_model(m),
           os.path.join(out, "mobilenet_v2_dynamic.tflite"))
    m = keras.applications.MobileNetV2(
        weights=None, input_tensor=keras.Input((224, 224, 3), batch_size=1))
    _write(tf.lite.TFLiteConverter.from_keras_model(m), os.path.join(out, "mobilenet_v2.tflite"))
    layers = []
    for layer in m.layers:
        cfg = layer.get_config()
        keep = {k: cfg[k] for k in ("filters", "kernel_size", "strides", "groups",
                                    "depth_multiplier", "units", "use_bias", "padding")
                if k in cfg}
        layers.append({"class": type(layer).__name__, "name": layer.name, "config": keep,
                       "inputs": _shapes(layer.input), "outputs": _shapes(layer.output)})
    with open(os.path.join(out, "mobilenet_v2.layers.json"), "w") as f:
        json.dump(layers, f)


def _ops(out, tf, np):
    rng = np.random.default_rng(0)

    def const(*shape):
        return tf.constant(rng.standard_normal(shape).astype(np.float32) * 0.1)

    w_conv = const(3, 3, 8, 16)        # HWIO
    w_group = const(3, 3, 4, 8)        # 4 groups on the 16-channel input
    w_dw = const(3, 3, 16, 2)          # depth multiplier 2
    w_tconv = const(3, 3, 6, 8)        # HW(out)(in) for conv2d_transpose
    w_3d = const(2, 3, 3, 8, 4)        # DHWIO
    w_fc = const(8 * 8 * 6, 24)
    b_fc = const(24)
    w_seq = const(16, 12)
    b_seq = const(12)
    k_att = const(1, 5, 12)
    alpha = const(12)

    @tf.function(input_signature=[tf.TensorSpec([1, 16, 16, 8], tf.float32, name="image"),
                                  tf.TensorSpec([1, 5, 16], tf.float32, name="seq"),
                                  tf.TensorSpec([1, 4, 6, 6, 8], tf.float32, name="volume")])
    def ops(image, seq, volume):
        x = tf.nn.relu6(tf.nn.conv2d(image, w_conv, 1, "SAME") + 0.5)          # CONV_2D + RELU6
        g = tf.nn.conv2d(x, w_group, 1, "VALID", dilations=2)                   # grouped, dilated
        d = tf.nn.relu(tf.nn.depthwise_conv2d(x, w_dw, [1, 2, 2, 1], "SAME"))  # DEPTHWISE x2
        t = tf.nn.conv2d_transpose(g, w_tconv, [1, 24, 24, 6], 2, "SAME")      # TRANSPOSE_CONV
        v = tf.nn.conv3d(volume, w_3d, [1, 1, 1, 1, 1], "SAME")                # CONV_3D
        p = tf.nn.max_pool2d(t, 3, 3, "VALID")
        a = tf.nn.avg_pool2d(p, 1, 1, "VALID")
        fc = tf.tanh(tf.matmul(tf.reshape(a, [1, -1]), w_fc) + b_fc)           # FC + TANH
        h = tf.nn.gelu(tf.tensordot(seq, w_seq, 1) + b_seq)                    # FC keep dims
        h = tf.where(h > 0, h, h * alpha)                                      # PRELU pattern
        s = tf.matmul(h, k_att, transpose_b=True)                              # BATCH_MATMUL
        s = tf.nn.softmax(s) + tf.nn.log_softmax(s)
        hs = h * tf.nn.relu6(h + 3.0) / 6.0                                    # HARD_SWISH
        n = tf.math.l2_normalize(hs, axis=-1)
        lrn = tf.nn.local_response_normalization(d, depth_radius=2)
        e = tf.math.squared_difference(n, 0.5) + tf.pow(tf.abs(n), 2.0)
        e = tf.maximum(tf.minimum(e, 1.0), -1.0) - tf.nn.leaky_relu(e, 0.1)
        e = tf.sigmoid(e) * tf.exp(-e)
        r = tf.image.resize(lrn, [16, 16], method="bilinear")
        r = tf.reduce_mean(r, axis=[1, 2]) + tf.reduce_max(r, axis=[1, 2])
        return {"fc": fc, "e": tf.transpose(e, [0, 2, 1]), "s": s, "r": r,
                "v": tf.reduce_sum(v, axis=[1, 2, 3]),
                "c": tf.concat([tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])[:, 1:17, 1:17, :],
                                tf.gather(x, [0, 2], axis=3)], axis=3)}

    c = tf.lite.TFLiteConverter.from_concrete_functions([ops.get_concrete_function()])
    _write(c, os.path.join(out, "ops.tflite"))


if __name__ == "__main__":
    import numpy
    import tensorflow
    import keras
    _mobilenet(sys.argv[1], tensorflow, keras)
    _ops(sys.argv[1], tensorflow, numpy)
