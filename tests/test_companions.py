"""Companion files are looked up by names that come from the untrusted model file (ONNX
external data locations, TF.js weightsManifest paths, ...): a name that escapes the
model's folder, absolute or with '..', is refused with a ModelError naming the model,
both by the lookup beside a file on disk (the CLI's, wetron.source.sibling_resolver)
and by the page's among the files given with the model (wetron.web.companion_lookup,
which would otherwise find '../secret.bin' by its base name); real models whose
companion names point outside open with the weights refused, never read."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import formats_tensorflow_models
import wetron
from wetron import web
from wetron.source import BytesSource, sibling_resolver

pytestmark = pytest.mark.timeout(120)

ESCAPING = ["../secret.bin", "../../etc/passwd", "sub/../../secret.bin", "..\\secret.bin",
            "sub\\..\\..\\secret.bin", "..", "/etc/passwd", "\\\\host\\share\\secret.bin",
            "C:/secret.bin", "C:secret.bin", "c:\\secret.bin"]
SECRET = b"\x01" * 64


@pytest.fixture
def folder(tmp_path):
    """tmp/secret.bin outside the model's folder tmp/models/, which holds weights.bin
    and sub/weights.bin."""
    (tmp_path / "secret.bin").write_bytes(SECRET)
    inner = tmp_path / "models"
    (inner / "sub").mkdir(parents=True)
    (inner / "weights.bin").write_bytes(b"\x02" * 8)
    (inner / "sub" / "weights.bin").write_bytes(b"\x03" * 8)
    return inner


@pytest.mark.parametrize("name", ESCAPING)
def test_the_lookup_beside_a_file_refuses_names_outside_its_folder(folder, name):
    resolve = sibling_resolver(str(folder / "model.onnx"))
    with pytest.raises(wetron.ModelError, match="outside its folder .*: refused") as info:
        resolve(name)
    assert info.value.file == str(folder / "model.onnx") and name in str(info.value)


def test_the_lookup_beside_a_file_finds_plain_names(folder):
    resolve = sibling_resolver(str(folder / "model.onnx"))
    assert resolve("weights.bin").read(0, 8) == b"\x02" * 8
    assert resolve("sub/weights.bin").read(0, 8) == b"\x03" * 8
    assert resolve("missing.bin") is None and resolve("sub") is None
    assert sorted(resolve.names()) == ["weights.bin"]
    (folder / "model:v1-0000.params").write_bytes(b"\x04")   # a colon, not a drive
    assert resolve("model:v1-0000.params").read(0, 1) == b"\x04"
    assert resolve("sub/./weights.bin") is not None


@pytest.mark.parametrize("name", ESCAPING)
def test_the_page_lookup_refuses_names_outside_the_folder(name):
    """The files given with the model include one whose base name the escaping name
    ends in: found by base name it would be read; it is refused."""
    others = {"secret.bin": BytesSource(SECRET, "secret.bin"),
              "passwd": BytesSource(SECRET, "passwd"),
              "weights.bin": BytesSource(b"\x02" * 8, "weights.bin")}
    lookup = web.companion_lookup(others, "model.onnx")
    with pytest.raises(wetron.ModelError, match="outside its folder .*: refused") as info:
        lookup(name)
    assert info.value.file == "model.onnx"


def test_the_page_lookup_finds_plain_names_and_base_names():
    weights = BytesSource(b"\x02" * 8, "weights.bin")
    lookup = web.companion_lookup({"weights.bin": weights}, "model.onnx")
    assert lookup("weights.bin") is weights
    assert lookup("variables/weights.bin") is weights    # picked one by one, not as a folder
    assert lookup("other.bin") is None
    assert lookup.names() == ["weights.bin"]


def external_data_model(location):
    """An ONNX model (onnx.helper) whose one weight is external data at `location`."""
    w = numpy_helper.from_array(np.zeros(16, np.float32), "w")
    w.data_location = onnx.TensorProto.EXTERNAL
    w.ClearField("raw_data")
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        w.external_data.add(key=k, value=v)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [16])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("location", ["../secret.bin", "SECRET_ABSOLUTE"])
def test_onnx_external_data_outside_the_folder_through_the_cli(folder, wetron_env, location):
    location = str(folder.parent / "secret.bin") if location == "SECRET_ABSOLUTE" else location
    path = folder / "model.onnx"
    onnx.save_model(external_data_model(location), str(path))
    out = subprocess.run([sys.executable, "-m", "wetron", "info", str(path), "--json"],
                         capture_output=True, text=True, env=wetron_env, check=True).stdout
    assert json.loads(out)["format"] == "ONNX"
    model = wetron.open(str(path))
    t = model.to_dict()["tensors"][0]
    assert t["location"] == "external" and "refusing to read it" in t["error"]
    assert location in t["error"]
    with pytest.raises(wetron.ModelError):
        model.tensor_values(0)


@pytest.fixture(scope="module")
def tfjs_model():
    return formats_tensorflow_models.tensorflow_files()["tfjs"]


def escaping_tfjs(tfjs_model, folder, how):
    """The real TF.js model.json in `folder` with its shards one level up, its manifest
    naming them '../<shard>' or by absolute path."""
    with open(tfjs_model) as f:
        doc = json.load(f)
    group = doc["weightsManifest"][0]
    for shard in group["paths"]:
        shutil.copy(os.path.join(os.path.dirname(tfjs_model), shard), folder.parent / shard)
    group["paths"] = [f"../{p}" if how == "parent" else str(folder.parent / p)
                      for p in group["paths"]]
    path = folder / "model.json"
    path.write_text(json.dumps(doc))
    return path, group["paths"]


@pytest.mark.parametrize("how", ["parent", "absolute"])
def test_tfjs_shards_outside_the_folder_are_refused(tfjs_model, folder, wetron_env, how):
    path, paths = escaping_tfjs(tfjs_model, folder, how)
    whole = wetron.open(tfjs_model)
    model = wetron.open(str(path))
    assert len(model.graphs[0].nodes) == len(whole.graphs[0].nodes) > 0
    assert model.warnings == [f"weights file '{paths[0]}' lies outside the folder of "
                              "model.json (an absolute path or one with '..'): refused"]
    assert [t.name for t in model.tensors] == [t.name for t in whole.tensors]
    assert not any(t.error for t in whole.tensors)       # every weight is in the shards
    for t in model.tensors:
        assert t.error == model.warnings[0], t.name
        with pytest.raises(wetron.ModelError, match="refused"):
            model.tensor_values(t.index)
    out = subprocess.run([sys.executable, "-m", "wetron", "info", str(path)],
                         capture_output=True, text=True, env=wetron_env, check=True).stdout
    assert "refused" in out
