"""Every model format through the page's real file inputs: models written by the real
frameworks (tests/formats_*_models.py), opened in Chromium, drawn with as many node
boxes as CPython's wetron finds; a SavedModel as a folder, TF.js as model.json + shards
picked together, and a missing companion shown as a warning while the graph opens."""
import os

import pytest

import formats_caffe_models
import formats_keras_models
import formats_mxnet_models
import formats_tensorflow_models
import formats_trees_models
import formats_weights_models
import wetron

pytestmark = pytest.mark.timeout(300)

OPENED = "['ready', 'error'].includes(wetron.state().status)"


def tf_file(name):
    return formats_tensorflow_models.tensorflow_files()[name]


def tflite_file(name):
    return formats_tensorflow_models.tflite_files()[name]


def tree_file(name):
    return formats_trees_models.tree_files()[name]["path"]


def keras_file(name):
    return os.path.join(formats_keras_models.keras_dir(), name)


# (format shown, path of the model file): each written by its own framework
SINGLE_FILES = {
    "TensorFlow Lite": lambda: tflite_file("cnn"),
    "TensorFlow": lambda: tf_file("frozen_cnn"),
    "Keras": lambda: keras_file("seq_cnn.keras"),
    "Keras (HDF5)": lambda: keras_file("branches.h5"),
    "PyTorch": lambda: formats_weights_models.torch_files()["cnn_sd"],
    "TorchScript": lambda: formats_weights_models.torch_files()["cnn_script"],
    "PyTorch ExportedProgram": lambda: formats_weights_models.torch_files()["cnn_export"],
    "safetensors": lambda: formats_weights_models.safetensors_files()["bert"],
    "GGUF": lambda: formats_weights_models.gguf_files()["llama"],
    "XGBoost": lambda: tree_file("xgb_multi.ubj"),
    "LightGBM": lambda: tree_file("lgb_multi.txt"),
    "scikit-learn": lambda: tree_file("frame.joblib"),
}


def cpython_nodes(path):
    return len(wetron.open(path).graphs[0].nodes)


def pick(page, selector, paths):
    page.set_input_files(selector, paths)
    page.wait_for_function(OPENED)
    return page.evaluate("wetron.state()")


def banner(page):
    return page.evaluate("""() => { const b = document.getElementById('banner');
      return { shown: !b.hidden, warning: b.classList.contains('warning'), text: b.textContent }; }""")


@pytest.mark.parametrize("label", list(SINGLE_FILES))
def test_format_opens_and_draws_every_node(app_page, label):
    path = SINGLE_FILES[label]()
    state = pick(app_page, "#file-input", [path])
    assert state["status"] == "ready", state
    assert state["format"] == label.split(" (")[0]
    assert state["file"] == os.path.basename(path)
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(path) > 0
    assert not banner(app_page)["shown"]   # nothing was missing


def test_tree_model_opens_its_trees_from_the_sidebar(app_page):
    """An XGBoost booster's trees: its `trees` subgraph opens (as the sidebar's link
    does), every split and leaf drawn (under 300 nodes: flat)."""
    path = tree_file("xgb_multi.ubj")
    state = pick(app_page, "#file-input", [path])
    assert state["status"] == "ready", state
    m = wetron.open(path)
    sub = len(m.graphs[1].nodes)
    state = app_page.evaluate("(i) => wetron.openGraph(i)", 1)
    assert state["graph"] == 1 and state["drawn"]["nodes"] == state["nodes"] == sub > 0


def test_saved_model_folder_through_the_folder_picker(app_page):
    model = tf_file("saved_keras")
    folder = os.path.dirname(model)   # saved_model.pb, fingerprint.pb, variables/…
    state = pick(app_page, "#folder-input", [folder])
    assert state["status"] == "ready", state
    assert state["format"] == "TensorFlow"
    assert state["file"] == "saved_model.pb"   # not fingerprint.pb nor a variables file
    assert state["drawn"]["nodes"] == cpython_nodes(model) > 0
    assert not banner(app_page)["shown"], banner(app_page)   # variables/ was found


def test_saved_model_files_picked_one_by_one(app_page):
    model = tf_file("saved_keras")
    folder = os.path.dirname(model)
    variables = [os.path.join(folder, "variables", n)
                 for n in sorted(os.listdir(os.path.join(folder, "variables")))]
    state = pick(app_page, "#file-input", variables + [model])
    assert state["status"] == "ready", state
    assert state["file"] == "saved_model.pb"
    assert state["drawn"]["nodes"] == cpython_nodes(model)
    assert not banner(app_page)["shown"], banner(app_page)   # found by base name


def test_tfjs_model_json_with_its_shards(app_page):
    model = tf_file("tfjs")
    folder = os.path.dirname(model)
    shards = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".bin"))
    assert len(shards) == 2
    state = pick(app_page, "#file-input", shards + [model])
    assert state["status"] == "ready", state
    assert state["format"] == "TensorFlow.js"
    assert state["file"] == "model.json"   # not a .bin shard, though those are larger
    assert state["drawn"]["nodes"] == cpython_nodes(model) > 0
    assert not banner(app_page)["shown"], banner(app_page)


def test_missing_companion_is_a_warning_and_the_graph_opens(app_page):
    model = tf_file("tfjs")
    folder = os.path.dirname(model)
    state = pick(app_page, "#file-input", [model, os.path.join(folder, "group1-shard1of2.bin")])
    assert state["status"] == "ready", state
    assert state["drawn"]["nodes"] == cpython_nodes(model) > 0
    shown = banner(app_page)
    assert shown["shown"] and shown["warning"], shown
    assert "group1-shard2of2.bin" in shown["text"]
    assert "group1-shard1of2.bin" not in shown["text"]
    app_page.click("#banner-close")   # dismissed, the model stays open
    assert not banner(app_page)["shown"]
    assert app_page.evaluate("wetron.state()")["status"] == "ready"


def test_caffe_prototxt_with_its_caffemodel(app_page):
    """deploy.prototxt + weights.caffemodel picked together: the prototxt is the model
    (the caffemodel matches Caffe's companion pattern), its weights come from the other."""
    e = formats_caffe_models.caffe_files()["lenet"]
    state = pick(app_page, "#file-input", [e["caffemodel"], e["prototxt"]])
    assert state["status"] == "ready", state
    assert state["format"] == "Caffe" and state["file"] == "deploy.prototxt"
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(e["prototxt"]) > 0
    assert not banner(app_page)["shown"], banner(app_page)


def test_mxnet_symbol_with_its_params(app_page):
    e = formats_mxnet_models.mxnet_files()["resnet18_v1"]
    state = pick(app_page, "#file-input", [e["params"], e["symbol"]])
    assert state["status"] == "ready", state
    assert state["format"] == "MXNet" and state["file"] == "resnet18_v1-symbol.json"
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(e["symbol"]) > 0
    assert not banner(app_page)["shown"], banner(app_page)
