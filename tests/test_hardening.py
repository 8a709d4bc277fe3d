"""Hostile files found by mutating real ones (issue 14): each gets a clear ModelError
naming the file and format, or a bounded cost; never a crash, a traceback or minutes
and gigabytes. Before the limits: a 3M-node ONNX chain took 74 s and 4.5 GB, GGUF and
safetensors headers of 1-2M tensors 50-90 s and 2.7-5 GB, a TF.js model.json with a
repeated chunk > 10 s and 3 GB."""
import json
import os
import struct
import time

import onnx
import pytest
from onnx import helper

import formats_tensorflow_models as tf_models
import formats_weights_models as weights_models
import models
import wetron
from test_cli import wetron as run_cli


def _node_model(name):
    return dict(models.backend_node_models())[name]


def test_einsum_with_an_equation_of_the_wrong_type_is_not_counted(tmp_path):
    model = onnx.load(_node_model("test_einsum_batch_matmul"))
    node = model.graph.node[0]
    del node.attribute[:]
    node.attribute.append(helper.make_attribute("equation", 3))   # an INT, not a STRING
    path = tmp_path / "einsum_int_equation.onnx"
    onnx.save(model, path)
    doc = json.loads(wetron.open(str(path)).dumps())
    cost = doc["graphs"][0]["cost"]["nodes"]
    assert cost["flops"][0] is None and cost["macs"][0] is None   # not counted, not 0


def _expect_error(path, *words):
    t0 = time.perf_counter()
    with pytest.raises(wetron.ModelError) as e:
        wetron.open(str(path)).dumps()
    message = str(e.value)
    assert os.path.basename(str(path)) in message and "\n" not in message
    for w in words:
        assert w in message, message
    return message, time.perf_counter() - t0


def test_a_safetensors_dimension_of_4000_digits(tmp_path):
    data = open(weights_models.safetensors_files()["cnn"], "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    text = json.dumps(header).replace(json.dumps(header[name]["shape"]), "[1" + "0" * 4000 + "]", 1)
    raw = text.encode()
    path = tmp_path / "huge_dim.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    _expect_error(path, "safetensors", "4,001 digits")


def test_a_safetensors_header_of_a_million_and_a_half_tensors(tmp_path):
    entries = ",".join(f'"t{i}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
                       for i in range(1_500_000))
    raw = ("{" + entries + "}").encode()
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
    _, seconds = _expect_error(path, "1,500,000 tensors", "1,000,000")
    print(f"1.5M-tensor safetensors header rejected in {seconds:.2f} s")


@pytest.mark.parametrize("count, words", [(2_000_000, ("2,000,000 tensors", "1,000,000")),
                                          (900_000, ("do not fit",))])
def test_a_gguf_header_claiming_too_many_tensors(tmp_path, count, words):
    data = bytearray(open(weights_models.gguf_files()["llama"], "rb").read())
    data[8:16] = struct.pack("<Q", count)   # after the magic and the version
    path = tmp_path / f"claims_{count}.gguf"
    path.write_bytes(bytes(data))
    _expect_error(path, "GGUF", *words)


def _chain_bytes(nodes):
    """A ModelProto of `nodes` Relu nodes, written as protobuf bytes directly (onnx
    would take minutes to build it): one NodeProto serialized by onnx, repeated."""
    node = helper.make_node("Relu", ["x"], ["x"]).SerializeToString()
    field = b"\x0a" + _varint(len(node)) + node               # GraphProto.node (1)
    graph = field * nodes
    opset = helper.make_opsetid("", 17).SerializeToString()
    return (b"\x08\x08"                                         # ir_version (1) = 8
            + b"\x42" + _varint(len(opset)) + opset             # opset_import (8)
            + b"\x3a" + _varint(len(graph)) + graph)            # graph (7)


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_a_three_million_node_onnx_chain(tmp_path):
    path = tmp_path / "chain.onnx"
    path.write_bytes(_chain_bytes(3_000_000))
    _, seconds = _expect_error(path, "ONNX", "more than 1,000,000 nodes")
    print(f"3M-node ONNX chain rejected in {seconds:.2f} s")
    run = run_cli("graph", path)
    assert run.returncode != 0 and "more than 1,000,000 nodes" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_tfjs_model_json_with_a_repeated_chunk(tmp_path):
    source = tf_models.tensorflow_files()["tfjs"]
    doc = json.load(open(source))
    group = doc["weightsManifest"][0]
    group["weights"] = group["weights"] * 20_000       # the same entries, over and over
    group["paths"] = group["paths"] * 2_000
    folder = os.path.dirname(source)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    for shard in os.listdir(folder):
        if shard != "model.json":
            os.symlink(os.path.join(folder, shard), tmp_path / shard)
    t0 = time.perf_counter()
    try:
        wetron.open(str(path)).dumps()
    except wetron.ModelError as e:
        assert "model.json" in str(e)
    print(f"TF.js model.json with {len(group['weights']):,} weight entries: "
          f"{time.perf_counter() - t0:.2f} s")
