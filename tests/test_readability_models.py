"""The real exports of readability_models.py open, with the framework's own node count.

The torch-side models need the torchvision venv (tests/.cache/venvs/, created on first
use); if it cannot be created those tests are skipped, with pip's error as the reason.
A failing export is a failure, not a skip.
"""
import os

import pytest

import readability_models as rm
import wetron

pytestmark = pytest.mark.timeout(3600)   # the first run creates the venv and the files


def _info(name):
    try:
        return rm.model_info(name)
    except rm.VenvUnavailable as e:
        pytest.skip(f"the {rm.VENV_NAME} venv cannot be created: {e}")


@pytest.mark.parametrize("name", rm.NAMES)
def test_opens_with_the_frameworks_node_count(name):
    info = _info(name)
    group, file_name, scope = rm.MODELS[name]
    assert os.path.basename(info["path"]) == file_name
    assert os.path.getsize(info["path"]) == info["bytes"]
    m = wetron.open(info["path"])
    g = m.graphs[0]
    assert len(g.nodes) == info["nodes"], (name, len(g.nodes), info["nodes"])
    names = [n.name for n in g.nodes]
    # the architecture's module scopes are in the node names
    assert any(n.startswith(scope) for n in names), (name, scope, names[:20])
    if file_name.endswith(".onnx"):
        import onnx
        proto = onnx.load(info["path"], load_external_data=False)
        assert m.format == "ONNX"
        assert proto.producer_name == info["producer_name"] == "pytorch"
        assert m.producer == f"pytorch {info['producer_version']}"
        assert info["producer_version"] == rm.venv_info()["versions"]["torch"]
        assert len(proto.graph.node) == info["nodes"]
        assert names == [n.name for n in proto.graph.node]
        if group == "yolo":
            meta = dict(m.metadata)
            assert meta["author"] == "Ultralytics"
            assert meta["version"] == rm.venv_info()["versions"]["ultralytics"]
    elif file_name.endswith(".keras"):
        from importlib.metadata import version
        assert m.format == "Keras"
        assert m.producer == info["producer"] == f"keras {version('keras')}"
        assert info["nodes"] == info["layers"] - 1       # every layer but the InputLayer
        assert m.parameters == info["parameters"]
    else:
        from importlib.metadata import version
        assert m.format == "TensorFlow Lite"
        assert m.producer == info["producer"] == \
            f"TensorFlow Lite converter {version('tensorflow')}"


def test_readability_models_lists_every_model():
    try:
        paths = rm.readability_models()
    except rm.VenvUnavailable as e:
        pytest.skip(f"the {rm.VENV_NAME} venv cannot be created: {e}")
    assert list(paths) == rm.NAMES
    assert all(os.path.isfile(p) for p in paths.values())
    assert rm.torchvision_resnet50() == paths["torchvision resnet50"]
    assert rm.keras_resnet50() == paths["keras resnet50"]
