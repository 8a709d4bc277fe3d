"""TensorFlow and TensorFlow Lite test models, written by the real frameworks.

TensorFlow is imported only in a child process (`python formats_tensorflow_models.py
OUT`): it is heavy, and keeps the test process free of it. Files are cached under
tests/.cache/tensorflow/ and rebuilt when GENERATION changes.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "tensorflow")
GENERATION = "7"   # bump to rebuild the cache after changing the generators

TFLITE = ["cnn", "cnn_int8", "cnn_fp16", "cnn_dynamic", "ops", "rnn", "lstm", "control_flow",
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


def tensorflow_files():
    folder = ensure()
    tf = os.path.join(folder, "tf")
    return {"frozen_cnn": os.path.join(tf, "frozen_cnn.pb"),
            "frozen_control": os.path.join(tf, "frozen_control.pb"),
            "saved_keras": os.path.join(tf, "saved_keras", "saved_model.pb"),
            "saved_module": os.path.join(folder, "calc_savedmodel", "saved_model.pb"),
            "tfjs": os.path.join(tf, "tfjs", "model.json"),
            "tfjs_layers": os.path.join(tf, "tfjs_layers", "model.json")}


def tflite_files():
    folder = ensure()
    return {name: os.path.join(folder, "tflite", name + ".tflite") for name in TFLITE}


def check_variable_handles(path, m):
    """Every VarHandleOp of the meta graph (the graph FULL_GRAPH) given a weight holds
    that weight's value, as TensorFlow runs the SavedModel: the handles each signature's
    call passes for its function's captures hold the variables tf.saved_model.load binds
    to them, and those the graph's own restore op fills (TF1's loader, in a session) the
    values it restores. Returns the number of handles checked each way. (An oracle run in
    the test process: the tests calling it import TensorFlow anyway.)"""
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from wetron.formats.tensorflow import FULL_GRAPH
    folder = os.path.dirname(path)
    g = next(g for g in m.graphs if g.name == FULL_GRAPH)
    weights = {t.name: t for t in g.initializers if t.file}
    nodes = {n.name: n for n in g.nodes}
    fed = {n.name: [i for i in n.inputs if i in weights] for n in g.nodes if n.op == "VarHandleOp"}
    fed = {k: v for k, v in fed.items() if v}
    checked = {}
    # tf.saved_model.load: a signature's captured inputs are its call's last inputs
    sm = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        sm.ParseFromString(f.read())
    loaded = tf.saved_model.load(folder)
    bound = 0
    for key, fn in loaded.signatures.items():
        output = next(iter(sm.meta_graphs[0].signature_def[key].outputs.values())).name
        call = nodes[output.split(":")[0]]
        data = [v for v in call.inputs if not v.startswith("^")]
        for handle, captured in zip(data[len(data) - len(fn.captured_inputs):],
                                    fn.captured_inputs):
            v = next(v for v in fn.variables if v.handle is captured)
            t, = [weights[i] for i in fed[handle]]
            assert list(t.dims) == v.shape.as_list(), handle
            assert np.array_equal(np.array(m.tensor_values(t.index, None)["values"]),
                                  v.numpy().reshape(-1)), handle
            checked[handle] = True
            bound += 1
    # TF1's loader: the graph's restore op run in a session
    reader = tf.train.load_checkpoint(os.path.join(folder, "variables", "variables"))
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as session:
        tf.compat.v1.saved_model.loader.load(session, ["serve"], folder)
        handles = [graph.get_tensor_by_name(name + ":0") for name in fed]
        ready = session.run([tf.raw_ops.VarIsInitializedOp(resource=h) for h in handles])
        names = [name for name, r in zip(fed, ready) if r]
        values = session.run([tf.raw_ops.ReadVariableOp(
            resource=graph.get_tensor_by_name(name + ":0"),
            dtype=graph.get_operation_by_name(name).get_attr("dtype")) for name in names])
    for name, value in zip(names, values):
        for key in fed[name]:
            assert np.array_equal(value, reader.get_tensor(key)), (name, key)
        checked[name] = True
    assert fed and set(checked) == set(fed)
    return bound, len(names)



def signature_oracle(path, key="serving_default"):
    """What TensorFlow's loader says a signature takes and gives (tf.saved_model.load:
    structured_input_signature's keyword arguments, structured_outputs, the variables it
    captures): {"inputs": {alias: (dtype, dims)}, "outputs": {alias: (dtype, dims)},
    "variables": [(dtype, dims)] sorted}, a free dim None. (Run in the test process, as
    check_variable_handles.)"""
    import tensorflow as tf
    loaded = tf.saved_model.load(os.path.dirname(path))   # (holds the variables)
    fn = loaded.signatures[key]
    spec = lambda s: (s.dtype.name, None if s.shape.rank is None  # noqa: E731
                      else tuple(s.shape.as_list()))
    return {"inputs": {a: spec(s) for a, s in fn.structured_input_signature[1].items()},
            "outputs": {a: spec(s) for a, s in fn.structured_outputs.items()},
            "variables": sorted(spec(v) for v in fn.variables)}


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
        r = tf.image.resize(y[..., None], [8, 10], method="nearest")
        return {"q": q, "c": c, "shape": sh, "s": s, "cs": cs + tf.reduce_sum(u[1]), "r": r}

    c = tf.lite.TFLiteConverter.from_concrete_functions([ops.get_concrete_function()])
    _convert(c, path("ops"))

    # Recurrent layers: fused LSTM, GRU (a WHILE loop with subgraphs), bidirectional.
    inp = keras.Input((7, 5), batch_size=1, name="seq")
    x = layers.LSTM(6, return_sequences=True, name="lstm")(inp)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(x)
    x = layers.GRU(3, name="gru")(x)
    rnn = keras.Model(inp, x, name="rnn")
    _convert(tf.lite.TFLiteConverter.from_keras_model(rnn), path("rnn"))

    # tf_keras (Keras 2) recurrent layers convert to fused UNIDIRECTIONAL_SEQUENCE_LSTM.
    import tf_keras
    k = tf_keras.layers
    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((7, 5), batch_size=1, name="seq")
    x = k.LSTM(6, return_sequences=True, name="lstm")(inp)
    x = k.Bidirectional(k.LSTM(4, return_sequences=True), name="bilstm")(x)
    x = k.SimpleRNN(3, name="rnn")(x)
    _convert(tf.lite.TFLiteConverter.from_keras_model(tf_keras.Model(inp, x)), path("lstm"))

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


def _tensorflow(out):
    """Frozen GraphDefs, SavedModels, and a TF.js graph model. The tensorflowjs
    converter cannot be installed beside this TensorFlow (it pins older numpy and
    protobuf), so model.json is written here the way it writes it: the frozen
    GraphDef as protobuf JSON with Const values moved to weight shards."""
    import numpy as np
    import tensorflow as tf
    import keras
    from keras import layers
    from google.protobuf import json_format
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    folder = os.path.join(out, "tf")
    os.makedirs(folder, exist_ok=True)
    keras.utils.set_random_seed(1)
    inp = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", name="fc")(x)
    x = layers.Dense(10, activation="softmax", name="head")(x)
    model = keras.Model(inp, x, name="mnist")
    # Non-trivial batch-norm statistics, so values are not all ones and zeros.
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.linspace(-1, 1, 4).astype(np.float32))
    bn.moving_variance.assign(np.linspace(0.5, 2, 4).astype(np.float32))

    fn = tf.function(lambda t: model(t)).get_concrete_function(
        tf.TensorSpec([None, 28, 28, 1], tf.float32, name="image"))
    frozen = convert_variables_to_constants_v2(fn).graph.as_graph_def()
    with open(os.path.join(folder, "frozen_cnn.pb"), "wb") as f:
        f.write(frozen.SerializeToString())

    @tf.function(input_signature=[tf.TensorSpec([3], tf.float32, name="v"),
                                  tf.TensorSpec([], tf.int32, name="n")])
    def control(v, n):
        table = tf.constant([[1.5, -2.0, 0.25]] * 4)
        _, r = tf.while_loop(lambda i, acc: i < n,
                             lambda i, acc: (i + 1, acc * table[i % 4] + 1.0), [0, v])
        words = tf.constant(["a", "bc", ""])
        return tf.cond(tf.reduce_sum(r) > 0.0, lambda: r, lambda: -r), words, \
            tf.zeros([2, 3], tf.int64) + tf.cast(n, tf.int64)

    frozen_control = convert_variables_to_constants_v2(
        control.get_concrete_function(), lower_control_flow=False).graph.as_graph_def()
    with open(os.path.join(folder, "frozen_control.pb"), "wb") as f:
        f.write(frozen_control.SerializeToString())

    tf.saved_model.save(model, os.path.join(folder, "saved_keras"))

    # TF.js graph model from the frozen CNN: weights in two shards, one weight
    # quantized to uint8 and one to float16, as the converter's --quantize options do.
    tfjs = os.path.join(folder, "tfjs")
    os.makedirs(tfjs, exist_ok=True)
    topology = json_format.MessageToDict(frozen)
    weights, blob = [], bytearray()
    for node in topology["node"]:
        if node["op"] != "Const":
            continue
        proto = next(n for n in frozen.node if n.name == node["name"])
        array = tf.make_ndarray(proto.attr["value"].tensor)
        entry = {"name": node["name"], "shape": list(array.shape),
                 "dtype": {np.float32: "float32", np.int32: "int32"}[array.dtype.type]}
        if node["name"].endswith("head_1/Cast/ReadVariableOp/resource"):
            low, high = float(array.min()), float(array.max())
            scale = (high - low) / 255
            data = np.round((array - low) / scale).astype(np.uint8)
            entry["quantization"] = {"dtype": "uint8", "scale": scale, "min": low,
                                     "original_dtype": "float32"}
        elif node["name"].endswith("fc_1/Cast/ReadVariableOp/resource"):
            data = array.astype(np.float16)
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        else:
            data = array
        blob += data.tobytes()
        weights.append(entry)
        tensor = node["attr"]["value"]["tensor"]
        tensor.pop("tensorContent", None)
        for key in list(tensor):
            if key.endswith("Val"):
                tensor.pop(key)
    half = len(blob) // 2
    for i, part in enumerate((blob[:half], blob[half:]), 1):
        with open(os.path.join(tfjs, f"group1-shard{i}of2.bin"), "wb") as f:
            f.write(part)
    doc = {"format": "graph-model", "generatedBy": tf.__version__,
           "convertedBy": "wetron tests (tensorflowjs layout)",
           "signature": {"inputs": {"image:0": {"name": "image:0"}},
                         "outputs": {"Identity:0": {"name": "Identity:0"}}},
           "modelTopology": topology,
           "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
                                "weights": weights}]}
    with open(os.path.join(tfjs, "model.json"), "w") as f:
        json.dump(doc, f)

    # TF.js layers model: a tf_keras model's JSON config and its weights, one shard.
    import tf_keras
    k = tf_keras.layers
    tf_keras.utils.set_random_seed(2)
    inp = tf_keras.Input((8,), name="x")
    a = k.Dense(4, activation="relu", name="d1")(inp)
    b = k.Dense(4, name="d2")(inp)
    c = k.Concatenate(name="cat")([a, b])
    small = tf_keras.Model(inp, k.Dense(2, name="out")(c), name="tiny")
    layers_dir = os.path.join(folder, "tfjs_layers")
    os.makedirs(layers_dir, exist_ok=True)
    blob = b"".join(w.numpy().tobytes() for w in small.weights)
    with open(os.path.join(layers_dir, "group1-shard1of1.bin"), "wb") as f:
        f.write(blob)
    topology = json.loads(small.to_json())
    topology.update({"keras_version": tf_keras.__version__, "backend": "tensor_flow.js"})
    doc = {"format": "layers-model", "generatedBy": "keras v" + tf_keras.__version__,
           "convertedBy": "wetron tests (tensorflowjs layout)",
           "modelTopology": topology,
           "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
               {"name": w.name.split(":")[0], "shape": list(w.shape), "dtype": "float32"}
               for w in small.weights]}]}
    with open(os.path.join(layers_dir, "model.json"), "w") as f:
        json.dump(doc, f)
    np.savez(os.path.join(layers_dir, "oracle.npz"),
             **{w.name.split(":")[0]: w.numpy() for w in small.weights})


if __name__ == "__main__":
    _tflite(sys.argv[1])
    _tensorflow(sys.argv[1])
