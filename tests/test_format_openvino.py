"""OpenVINO IR: files written by OpenVINO (tests/formats_openvino_models.py) from real
torch exports, checked against what OpenVINO itself reports of them."""
import collections
import json
import os

import pytest

import formats_openvino_models as ov_models
import formats_weights_models as models
import wetron
from wetron import cost
from wetron.formats import openvino as ov_format

SKIPPED = {"Parameter", "Constant", "Result"}   # inputs, initializers, outputs in Wetron


@pytest.fixture(scope="module")
def irs():
    return ov_models.ir_models()


def _oracle(path):
    with open(path[:-4] + ".oracle.json") as f:
        return json.load(f)


@pytest.mark.parametrize("name", ["cnn", "transformer"])
def test_ops_and_shapes_match_openvino(irs, name):
    xml = irs[0][name]
    oracle = _oracle(xml)
    m = wetron.open(xml)
    assert m.format == "OpenVINO IR" and m.producer == "OpenVINO"
    g = m.graphs[0]
    want = [op for op in oracle["ops"] if op["type"] not in SKIPPED]
    # the IR's XML keeps some legacy spellings of the runtime's type names (ReLU: Relu)
    assert collections.Counter(n.op.lower() for n in g.nodes) == \
        collections.Counter(op["type"].lower() for op in want)
    by_name = {n.name: n for n in g.nodes}
    for op in want:
        node = by_name[op["name"]]
        assert node.domain == "openvino"
        for value, out in zip(node.outputs, op["outputs"]):
            assert list(g.types[value][2]) == out["shape"], (op["name"], value)
    constants = [op for op in oracle["ops"] if op["type"] == "Constant"]
    assert len(g.initializers) == len(constants)
    assert sum(t.count for t in g.initializers) == sum(op["elements"] for op in constants)
    assert len(g.inputs) == sum(op["type"] == "Parameter" for op in oracle["ops"])
    assert len(g.outputs) == sum(op["type"] == "Result" for op in oracle["ops"])


@pytest.mark.parametrize("name", ["cnn", "transformer"])
def test_macs_equal_the_onnx_source_at_the_same_sizes(irs, name):
    """The same network, ONNX as torch wrote it and IR as OpenVINO converted it, costs
    the same MACs (the ONNX at the sizes the IR was written at)."""
    xml, source = irs[0][name], irs[1][name]
    ir_model = wetron.open(xml)
    g = ir_model.graphs[0]
    _, ir_cost = cost.sized_cost(g)
    onnx_g = wetron.open(source).graphs[0]
    _, onnx_cost = cost.sized_cost(onnx_g, ov_models.SIZES)
    ir_macs, onnx_macs = cost.totals(ir_cost)["macs"], cost.totals(onnx_cost)["macs"]
    assert onnx_macs > 0 and ir_macs == pytest.approx(onnx_macs, rel=0.01), (ir_macs, onnx_macs)
    heavy = [i for i, n in enumerate(g.nodes) if n.op in ("Convolution", "GroupConvolution", "MatMul")]
    assert heavy and all(ir_cost.macs[i] for i in heavy)


def test_weights_are_read_from_the_bin(irs):
    import numpy as np
    xml = irs[0]["cnn"]
    m = wetron.open(xml)
    t = max(m.tensors, key=lambda t: t.count)
    values = m.tensor_values(t.index, t.count)["values"]
    offset, size = t.data
    with open(xml[:-4] + ".bin", "rb") as f:
        f.seek(offset)
        want = np.frombuffer(f.read(size), dtype=np.float32)
    assert np.allclose(values, want)


def test_without_the_bin_the_graph_still_opens(irs, tmp_path):
    xml = tmp_path / "alone.xml"
    xml.write_bytes(open(irs[0]["cnn"], "rb").read())
    m = wetron.open(str(xml))
    assert m.graphs[0].nodes and any("alone.bin" in w for w in m.warnings)
    assert all(t.decoder is None for t in m.tensors)


@pytest.mark.parametrize("text, says", [
    (b'<?xml version="1.0"?><!DOCTYPE net [<!ENTITY a "aaaa">]><net name="x" version="11">'
     b'<layers/></net>', "DOCTYPE"),
    (b'<?xml version="1.0"?><net name="x" version="11"><layers><layer id="0"', "well-formed"),
    (b'<?xml version="1.0"?><net name="x" version="11"></net>', "no <layers>"),
])
def test_bad_files_are_clear_errors(tmp_path, text, says):
    path = tmp_path / "bad.xml"
    path.write_bytes(text)
    with pytest.raises(wetron.ModelError) as e:
        wetron.open(str(path))
    assert "bad.xml" in str(e.value) and says in str(e.value)


def test_bodies_nested_too_deep(tmp_path):
    body = b'<layers><layer id="0" name="p" type="Parameter" version="opset1"><output><port id="0" precision="FP32"><dim>1</dim></port></output></layer></layers>'
    for i in range(ov_format.MAX_DEPTH + 2):
        body = (b'<layers><layer id="0" name="l%d" type="Loop" version="opset5"><body>' % i
                + body + b"</body></layer></layers>")
    path = tmp_path / "deep.xml"
    path.write_bytes(b'<?xml version="1.0"?><net name="x" version="11">' + body[len(b"<layers>"):-len(b"</layers>")].join([b"<layers>", b"</layers>"]) + b"</net>")
    with pytest.raises(wetron.ModelError, match="nested deeper"):
        wetron.open(str(path))


def test_fuzz_mutated_ir_fails_cleanly(irs):
    from hypothesis import given, settings

    data = open(irs[0]["cnn"], "rb").read()

    @settings(max_examples=60, deadline=None)
    @given(change=models.mutations())
    def run(change):
        models.open_everything(models.mutate(data, change), os.path.basename(irs[0]["cnn"]))
    run()
