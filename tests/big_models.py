"""Multi-gigabyte ONNX models for the large-file tests and bench/bigfile_bench.py.

Both hold the same transformer-like graph (embedding, 24 decoder layers of attention and
MLP, LM head: 339 nodes, 146 big weights) whose float32 weights total ~5.4 GB, more
than 4 GiB, so tensor offsets cross 2^32:

  big_inline()    one .onnx with every weight inline (raw_data). onnx.save cannot
                  write a protobuf over 2 GB, but the wire format has no such limit,
                  so the file is written by hand: the graph (nodes, inputs, outputs,
                  small weights) is serialized by the onnx package, and each big
                  initializer is framed (tag, length, TensorProto header, raw_data
                  tag and length) around a payload that is left as a hole.
  big_external()  a small .onnx (onnx.save) whose big weights point into a ~5.1 GB
                  companion file, at offsets up to ~5 GB.

The files are SPARSE: only the protobuf structure and the first VALUES_WRITTEN values of
every big weight are written (distinct non-zero numbers, see expected_values), the rest
of each payload is a hole that reads as zeros, so each file takes a few MB of disk.
They are cached under tests/.cache/big-<GENERATION>/ (see models._cached_set).
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import models

GENERATION = 3
HIDDEN, INNER, VOCAB, LAYERS = 2048, 8192, 32000, 24
VALUES_WRITTEN = 16          # real values at the start of every big weight
DATA_FILE = "big_external.onnx.data"
ALIGN = 4096                 # external data offsets, as onnx's own writer aligns them
NEEDED_SPARSE = 64 << 20     # free disk asked for: the written parts take ~1 MB
NEEDED_DENSE = 11 * 10 ** 9  # without sparse files: both models in full, plus room


def _graph():
    """The graph with its big weights as (name, dims) still to be placed, and its
    small weights (LayerNorm scales and biases) inline as real values."""
    big, small, nodes = [], [], []

    def weight(name, *dims):
        big.append((name, dims))
        return name

    def norm(prefix, x):
        scale, bias = f"{prefix}.weight", f"{prefix}.bias"
        small.append(numpy_helper.from_array(np.ones(HIDDEN, np.float32), scale))
        small.append(numpy_helper.from_array(np.zeros(HIDDEN, np.float32), bias))
        out = f"/{prefix}/LayerNormalization_output_0"
        nodes.append(helper.make_node("LayerNormalization", [x, scale, bias], [out],
                                      name=f"/{prefix}/LayerNormalization", axis=-1))
        return out

    def op(kind, path, inputs, **attrs):
        out = f"/{path}/{kind}_output_0"
        nodes.append(helper.make_node(kind, inputs, [out], name=f"/{path}/{kind}", **attrs))
        return out

    x = op("Gather", "embed", [weight("embed.weight", VOCAB, HIDDEN), "input_ids"])
    for i in range(LAYERS):
        p = f"layers.{i}"
        h = norm(f"{p}.ln1", x)
        q = op("MatMul", f"{p}/attn/q", [h, weight(f"{p}.attn.q.weight", HIDDEN, HIDDEN)])
        k = op("MatMul", f"{p}/attn/k", [h, weight(f"{p}.attn.k.weight", HIDDEN, HIDDEN)])
        v = op("MatMul", f"{p}/attn/v", [h, weight(f"{p}.attn.v.weight", HIDDEN, HIDDEN)])
        kt = op("Transpose", f"{p}/attn", [k], perm=[0, 2, 1])
        s = op("Softmax", f"{p}/attn", [op("MatMul", f"{p}/attn/scores", [q, kt])], axis=-1)
        a = op("MatMul", f"{p}/attn/o", [op("MatMul", f"{p}/attn/ctx", [s, v]),
                                         weight(f"{p}.attn.o.weight", HIDDEN, HIDDEN)])
        x = op("Add", f"{p}/attn", [x, a])
        h = norm(f"{p}.ln2", x)
        h = op("Relu", f"{p}/mlp", [op("MatMul", f"{p}/mlp/up", [h, weight(f"{p}.mlp.up.weight", HIDDEN, INNER)])])
        x = op("Add", f"{p}/mlp", [x, op("MatMul", f"{p}/mlp/down", [h, weight(f"{p}.mlp.down.weight", INNER, HIDDEN)])])
    x = norm("ln_f", x)
    nodes.append(helper.make_node("MatMul", [x, weight("lm_head.weight", HIDDEN, VOCAB)],
                                  ["logits"], name="/lm_head/MatMul"))
    graph = helper.make_graph(
        nodes, "big_transformer",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "sequence", VOCAB])],
        initializer=small)
    return graph, big


def _model(graph):
    return helper.make_model(graph, producer_name="wetron-tests", producer_version="big",
                             opset_imports=[helper.make_opsetid("", 17)])


def expected_values(index):
    """The values written at the start of big weight number `index` (file order):
    distinct per weight, exact in float32, and short (the sidebar shows 6 digits)."""
    return [4 * index + 0.125 * (k + 1) for k in range(VALUES_WRITTEN)]


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload_length):
    """Tag and length of a length-delimited field (the payload follows)."""
    return _varint(number << 3 | 2) + _varint(payload_length)


def _write_inline(path):
    graph, big = _graph()
    head = _model(graph)
    graph_bytes = graph.SerializeToString()
    head.ClearField("graph")
    frames = []   # (bytes before the payload, payload bytes) per big weight
    for name, dims in big:
        header = TensorProto(name=name, dims=dims, data_type=TensorProto.FLOAT).SerializeToString()
        nbytes = 4 * int(np.prod(dims))
        record = header + _field(9, nbytes)                 # raw_data = field 9
        frames.append((_field(5, len(record) + nbytes) + record, nbytes))   # initializer = field 5
    graph_length = len(graph_bytes) + sum(len(f) + n for f, n in frames)
    index = {"weights": []}
    with open(path, "wb") as f:
        f.write(head.SerializeToString() + _field(7, graph_length) + graph_bytes)
        for i, ((frame, nbytes), (name, dims)) in enumerate(zip(frames, big)):
            f.write(frame)
            offset = f.tell()
            f.write(np.array(expected_values(i), np.float32).tobytes())
            f.seek(offset + nbytes)
            index["weights"].append({"name": name, "dims": list(dims), "offset": offset})
        f.truncate()
        index["size"] = f.tell()
    return index


def _write_external(path):
    graph, big = _graph()
    index = {"weights": []}
    offset = 0
    with open(os.path.join(os.path.dirname(path), DATA_FILE), "wb") as data:
        for i, (name, dims) in enumerate(big):
            nbytes = 4 * int(np.prod(dims))
            t = TensorProto(name=name, dims=dims, data_type=TensorProto.FLOAT,
                            data_location=TensorProto.EXTERNAL)
            for key, value in (("location", DATA_FILE), ("offset", str(offset)), ("length", str(nbytes))):
                t.external_data.add(key=key, value=value)
            graph.initializer.append(t)
            data.seek(offset)
            data.write(np.array(expected_values(i), np.float32).tobytes())
            index["weights"].append({"name": name, "dims": list(dims), "offset": offset})
            offset = -(-(offset + nbytes) // ALIGN) * ALIGN
        data.truncate(offset)
        index["data_size"] = offset
    onnx.save(_model(graph), path)
    return index


def _build(folder):
    return {"inline": _write_inline(os.path.join(folder, "big_inline.onnx")),
            "external": _write_external(os.path.join(folder, "big_external.onnx"))}


def _cached():
    return models._cached_set(f"big-{GENERATION}", _build)


def big_inline():
    """(path, index): the ~5.4 GB model with inline weights; index["weights"] lists the
    big weights in file order with their "offset" (payload start in the file)."""
    folder, index = _cached()
    return os.path.join(folder, "big_inline.onnx"), index["inline"]


def big_external():
    """(path, data path, index): the model with external data; index["weights"] has
    each big weight's "offset" in the data file."""
    folder, index = _cached()
    return (os.path.join(folder, "big_external.onnx"), os.path.join(folder, DATA_FILE),
            index["external"])


def unavailable():
    """Why the big models cannot be made here (None if they can): sparse files need
    only a few MB, but a file system without holes would need ~10 GB."""
    os.makedirs(models.CACHE, exist_ok=True)
    if os.path.exists(os.path.join(models.CACHE, f"big-{GENERATION}", models.MARKER)):
        return None
    free = shutil.disk_usage(models.CACHE).free
    if free < NEEDED_SPARSE:
        return f"{free >> 20} MB free under {models.CACHE}; the sparse big models need {NEEDED_SPARSE >> 20} MB"
    probe = os.path.join(models.CACHE, f"sparse-probe-{os.getpid()}")
    try:
        with open(probe, "wb") as f:
            f.seek(64 << 20)
            f.write(b"\0")
        sparse = disk_used(probe) < (1 << 20)
    finally:
        os.remove(probe)
    if not sparse and free < NEEDED_DENSE:
        return (f"the file system under {models.CACHE} has no sparse files, and the big models "
                f"would need {NEEDED_DENSE / 1e9:.0f} GB ({free / 1e9:.1f} GB free)")
    return None


def disk_used(path):
    """Bytes the file really takes on disk (sparse files: far less than its size)."""
    return os.stat(path).st_blocks * 512
