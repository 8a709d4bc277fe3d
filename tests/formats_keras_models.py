"""Test files for the Keras/HDF5 format, written by the real libraries and cached under
tests/.cache/keras/.

Keras models are written in a subprocess (`python tests/formats_keras_models.py keras DIR`)
so KERAS_BACKEND=torch is set before keras is imported. Next to every model file the
subprocess writes `<file>.oracle.json`: what keras itself reports after loading that
file back (layers, classes, weights with values, node connections).
Plain HDF5 files come from h5py (chunked+gzip/lzf/shuffle, compact, float16, strings,
groups with many links and attributes, old and new file format versions).
"""
import json
import os
import subprocess
import sys

import pytest

CACHE = os.path.join(os.path.dirname(__file__), ".cache", "keras")
GENERATOR_VERSION = "5"      # bump to regenerate the cache
KERAS_MODELS = ("seq_cnn", "branches", "nested", "rnn")
SUFFIXES = (".keras", ".h5", ".weights.h5")
KERAS2_MODELS = ("k2_seq", "k2_func")
KERAS2_SUFFIXES = (".h5", ".keras", ".weights.h5", "_weights.h5")


def keras_dir():
    """The folder of Keras model files (generated on first use)."""
    pytest.importorskip("keras")
    pytest.importorskip("h5py")
    folder = os.path.join(CACHE, "models")
    stamp = os.path.join(folder, "VERSION")
    if not (os.path.exists(stamp) and open(stamp).read() == GENERATOR_VERSION):
        os.makedirs(folder, exist_ok=True)
        env = dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="",
                   TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run([sys.executable, __file__, "keras", folder], check=True, env=env,
                       timeout=600)
        with open(stamp, "w") as f:
            f.write(GENERATOR_VERSION)
    return folder


def keras_files():
    return [f"{name}{suffix}" for name in KERAS_MODELS for suffix in SUFFIXES]


def h5py_dir():
    """The folder of plain HDF5 files written by h5py (generated on first use)."""
    h5py = pytest.importorskip("h5py")
    folder = os.path.join(CACHE, "h5py")
    stamp = os.path.join(folder, "VERSION")
    if not (os.path.exists(stamp) and open(stamp).read() == GENERATOR_VERSION):
        os.makedirs(folder, exist_ok=True)
        for libver in ("earliest", "latest"):
            _write_h5py_file(h5py, os.path.join(folder, f"misc_{libver}.h5"), libver)
        _write_userblock_file(h5py, os.path.join(folder, "userblock.h5"))
        with open(stamp, "w") as f:
            f.write(GENERATOR_VERSION)
    return folder


H5PY_FILES = ("misc_earliest.h5", "misc_latest.h5", "userblock.h5")


def _write_h5py_file(h5py, path, libver):
    import numpy as np
    rng = np.random.default_rng(0)
    with h5py.File(path, "w", libver=libver) as f:
        f.attrs["vstr"] = "hello wörld"
        f.attrs["fstr"] = np.bytes_(b"fixed")
        f.attrs["int"] = 42
        f.attrs["flt"] = 1.5
        f.attrs["arr"] = np.arange(6, dtype=np.int16).reshape(2, 3)
        f.attrs["strs"] = ["a", "bb", "ccc"]
        f.attrs["fstrs"] = np.array([b"x", b"yy"], dtype="S3")
        f.attrs["empty"] = np.zeros((0,), dtype=np.float64)
        f.attrs["flag"] = True
        f.attrs["cplx"] = np.complex64(1 + 2j)
        f.create_dataset("contiguous", data=rng.standard_normal((5, 7)).astype(np.float32))
        f.create_dataset("float16", data=rng.standard_normal((33,)).astype(np.float16))
        f.create_dataset("float64_big_endian", data=rng.standard_normal((4, 3)).astype(">f8"))
        f.create_dataset("int64", data=np.arange(-50, 50, dtype=np.int64))
        f.create_dataset("uint8", data=np.arange(200, dtype=np.uint8))
        f.create_dataset("bools", data=np.array([True, False, True]))
        f.create_dataset("scalar", data=3.25)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((10,))
        compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(10, dtype=np.int32))
        f.create_dataset("gzip_shuffle", data=rng.standard_normal((37, 19)).astype(np.float32),
                         chunks=(8, 5), compression="gzip", shuffle=True)
        f.create_dataset("lzf", data=rng.standard_normal((20, 11)), chunks=(6, 4),
                         compression="lzf")
        f.create_dataset("fletcher32", data=np.arange(100, dtype=np.int32).reshape(10, 10),
                         chunks=(3, 3), fletcher32=True)
        f.create_dataset("chunked_3d", data=rng.standard_normal((5, 6, 7)).astype(np.float32),
                         chunks=(2, 4, 3))
        f.create_dataset("single_chunk", data=rng.standard_normal((4, 4)).astype(np.float32),
                         chunks=(4, 4), compression="gzip")
        f.create_dataset("many_chunks", data=np.arange(3000, dtype=np.float32), chunks=(2,))
        f.create_dataset("vlen_strings", data=["one", "two", "three"], dtype=h5py.string_dtype())
        f.create_dataset("fixed_strings", data=np.array([b"ab", b"cde"], dtype="S4"))
        f.create_dataset("complex", data=np.array([1 + 2j, 3 - 4j], dtype=np.complex128))
        f.create_dataset("resizable_2d", data=np.arange(200, dtype=np.float32).reshape(10, 20),
                         maxshape=(None, None), chunks=(3, 7))
        f.create_dataset("resizable_2d_gzip", data=np.arange(200).reshape(10, 20),
                         maxshape=(None, None), chunks=(3, 7), compression="gzip")
        if libver == "earliest":      # (latest indexes these by an extensible array)
            f.create_dataset("resizable_1d", data=np.arange(50, dtype=np.int16),
                             maxshape=(None,), chunks=(4,))
        f.create_dataset("empty", shape=(0, 3), dtype=np.float32)
        f.create_dataset("unwritten", shape=(4,), dtype=np.float32)
        many = f.create_group("many_links")
        for i in range(40):
            many.create_dataset(f"d{i:02d}", data=np.full((2,), i, dtype=np.int32))
        tracked = f.create_group("creation_order", track_order=True)
        for i in range(30):
            tracked.create_group(f"z{29 - i}")
        attrs = f.create_group("many_attributes", track_order=True)
        for i in range(30):
            attrs.attrs[f"a{i}"] = np.arange(i + 1)
        attrs.attrs["big"] = np.arange(20000, dtype=np.float64)
        many["soft"] = h5py.SoftLink("/contiguous")
        f["again"] = many          # a second hard link to the same group
        many["loop"] = f["creation_order"]
        f["creation_order"]["back"] = many    # a cycle: many_links -> creation_order -> many_links


def _write_userblock_file(h5py, path):
    import numpy as np
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("weights", data=np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))
        f.attrs["note"] = "after a user block"


# --- the Keras side (runs in a subprocess) ------------------------------------------------
def _models(keras):
    from keras import layers
    import numpy as np

    seq = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu", padding="same", name="conv1"),
        layers.BatchNormalization(name="bn1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(16, 3, strides=2, name="conv2"),
        layers.Flatten(name="flatten"),
        layers.Dropout(0.25, name="dropout"),
        layers.Dense(10, activation="softmax", name="logits"),
    ], name="seq_cnn")

    a = keras.Input((16,), name="a")
    b = keras.Input((8,), name="b")
    x1 = layers.Dense(8, activation="relu", name="branch1")(a)
    x2 = layers.Dense(8, name="branch2")(b)
    shared = layers.Dense(8, name="shared")
    s1, s2 = shared(x1), shared(x2)
    added = layers.Add(name="add")([s1, s2, x2])
    cat = layers.Concatenate(name="concat")([added, x1])
    half = layers.Dense(4, dtype="float16", name="half")(cat)
    out2 = layers.Multiply(name="mul")([x1, s2])
    branches = keras.Model([a, b], [half, out2], name="branches")

    encoder = keras.Sequential([keras.Input((12,)), layers.Dense(6, name="enc_dense"),
                                layers.BatchNormalization(name="enc_bn")], name="encoder")
    hin = keras.Input((6,), name="head_in")
    h1 = layers.Dense(6, activation="tanh", name="head_dense")(hin)
    head = keras.Model(hin, layers.Add(name="head_add")([h1, hin]), name="head")
    p = keras.Input((12,), name="p")
    q = keras.Input((12,), name="q")
    ep, eq = encoder(p), encoder(q)
    merged = layers.Average(name="avg")([ep, eq])
    nested = keras.Model([p, q], layers.Dense(3, name="out")(head(merged)), name="nested")

    seq_in = keras.Input((10, 8), name="seq_in")
    r = layers.LSTM(6, return_sequences=True, name="lstm")(seq_in)
    r = layers.Bidirectional(layers.GRU(2), name="bi")(r)
    tok = keras.Input((5,), dtype="int32", name="tok")
    e = layers.Embedding(50, 4, name="emb")(tok)
    e = layers.LayerNormalization(name="ln")(e)
    e = layers.MultiHeadAttention(2, 4, name="mha")(e, e)
    e = layers.GlobalAveragePooling1D(name="gap")(e)
    both = layers.Concatenate(name="both")([r, e])
    rnn = keras.Model([seq_in, tok], layers.Dense(3, name="head")(both), name="rnn")
    rnn.compile(optimizer="adam", loss="mse")
    rnn.fit([np.zeros((4, 10, 8)), np.zeros((4, 5), dtype="int32")], np.zeros((4, 3)),
            epochs=1, verbose=0)
    return {"seq_cnn": seq, "branches": branches, "nested": nested, "rnn": rnn}


def _flat_layers(keras, model, prefix=""):
    """(path, layer) for every layer, nested models expanded into 'outer/inner'."""
    out = []
    for layer in model.layers:
        path = prefix + layer.name
        if isinstance(layer, keras.Model):
            out.extend(_flat_layers(keras, layer, path + "/"))
        else:
            out.append((path, layer))
    return out


def _edges(keras, model):
    """(producer, consumer) layer names of a model's own call graph, from keras' nodes."""
    fn = getattr(model, "_functional", None) or model
    pairs = set()
    for op in fn._operations:
        for k, node in enumerate(op._inbound_nodes):
            if f"{id(op)}_ib-{k}" in fn._nodes:      # keras' key of a node of this model
                for parent in node.parent_nodes:
                    pairs.add((parent.operation.name, op.name))
    return sorted(pairs)


def _oracle(keras, model):
    import numpy as np
    layers = []
    for path, layer in _flat_layers(keras, model):
        layers.append({"path": path, "class": type(layer).__name__, "weights": [
            {"path": w.path, "shape": list(w.shape), "dtype": str(w.dtype),
             "values": np.asarray(w.numpy()).reshape(-1).tolist()} for w in layer.weights]})
    edges = {"": _edges(keras, model)}
    classes = {}
    for layer in model.layers:
        classes[layer.name] = type(layer).__name__
        if isinstance(layer, keras.Model):
            edges[layer.name] = _edges(keras, layer)
            for inner in layer.layers:
                classes[f"{layer.name}/{inner.name}"] = type(inner).__name__
    return {"layers": layers, "edges": edges, "classes": classes,
            "inputs": [t._keras_history.operation.name for t in model.inputs],
            "outputs": [t._keras_history.operation.name for t in model.outputs]}


def _generate_keras(folder):
    import warnings
    warnings.filterwarnings("ignore")
    import keras
    keras.utils.set_random_seed(1)
    for name, model in _models(keras).items():
        for suffix in SUFFIXES:
            path = os.path.join(folder, name + suffix)
            if suffix == ".weights.h5":
                model.save_weights(path)
                loaded = keras.models.clone_model(model)
                loaded.load_weights(path)     # keras reads the file back: the oracle
            else:
                model.save(path)
                loaded = keras.saving.load_model(path, compile=False)
            with open(path + ".oracle.json", "w") as f:
                json.dump(_oracle(keras, loaded), f)


def _generate_keras2(folder):
    """Keras 2 files (tf_keras): its own inbound_nodes lists and HDF5 layout."""
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import tf_keras as keras
    from tf_keras import layers
    keras.utils.set_random_seed(1)
    seq = keras.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1), name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.Flatten(name="flatten"),
        layers.Dense(5, name="dense")], name="k2_seq")
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = layers.Dense(4, name="shared")
    sa, sb = shared(a), shared(b)
    inner = keras.Sequential([layers.Dense(3, input_shape=(4,), name="inner_dense")],
                             name="inner")
    out = layers.Concatenate(name="cat")([layers.Add(name="add")([sa, sb]), inner(sa)])
    func = keras.Model([a, b], out, name="k2_func")
    func.compile(optimizer="sgd", loss="mse")
    func.fit([np.ones((2, 6)), np.ones((2, 6))], np.ones((2, 7)), epochs=1, verbose=0)
    for name, model in (("k2_seq", seq), ("k2_func", func)):
        for suffix in KERAS2_SUFFIXES:
            path = os.path.join(folder, name + suffix)
            if suffix.endswith("weights.h5"):     # .weights.h5: new layout; _weights.h5: HDF5
                model.save_weights(path)
                loaded = keras.models.clone_model(model)
                loaded.load_weights(path)
            else:
                model.save(path)
                loaded = keras.models.load_model(path, compile=False)
            layers_out, classes, edges = [], {}, {"": _edges2(loaded)}
            for layer in loaded.layers:
                classes[layer.name] = type(layer).__name__
                subs = layer.layers if isinstance(layer, keras.Model) else [layer]
                if isinstance(layer, keras.Model):
                    edges[layer.name] = _edges2(layer)
                for sub in subs:
                    sub_path = f"{layer.name}/{sub.name}" if sub is not layer else layer.name
                    classes[sub_path] = type(sub).__name__
                    layers_out.append({"path": sub_path, "class": type(sub).__name__,
                                       "weights": [{"path": w.name, "shape": list(w.shape),
                                                    "dtype": w.dtype.name,
                                                    "values": w.numpy().reshape(-1).tolist()}
                                                   for w in sub.weights]})
            oracle = {"layers": layers_out, "classes": classes, "edges": edges,
                      "inputs": [t._keras_history.layer.name for t in loaded.inputs],
                      "outputs": [t._keras_history.layer.name for t in loaded.outputs]}
            with open(path + ".oracle.json", "w") as f:
                json.dump(oracle, f)


def _edges2(model):
    pairs = set()
    for layer in model.layers:
        for k, node in enumerate(layer._inbound_nodes):
            if f"{layer.name}_ib-{k}" in model._network_nodes:
                for parent in node.inbound_layers if isinstance(node.inbound_layers, list) \
                        else [node.inbound_layers]:
                    pairs.add((parent.name, layer.name))
    return sorted(pairs)


if __name__ == "__main__":
    if sys.argv[1] == "keras":
        _generate_keras(sys.argv[2])
    elif sys.argv[1] == "keras2":
        _generate_keras2(sys.argv[2])
