"""Every model format through the page's real file inputs: models written by the real
frameworks (tests/formats_*_models.py), opened in Chromium, drawn with as many node
boxes as CPython's wetron finds; a SavedModel as a folder, TF.js as model.json + shards
picked together, and a missing companion shown as a warning while the graph opens.
Core ML (.mlmodel, and an .mlpackage's files picked together), OpenVINO (.xml + .bin),
NumPy (.npy, .npz) and ONNX Runtime (.ort) also show their content as CPython reads it:
the nodes of each op type the page's search finds, and a node's weight as the sidebar
shows it (dtype and shape)."""
import collections
import os

import numpy as np
import pytest

import formats_caffe_models
import formats_coreml_models
import formats_darknet_models
import formats_executorch_models
import formats_keras_models
import formats_mxnet_models
import formats_paddle_models
import formats_openvino_models
import formats_ort_models
import formats_ncnn_models
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
    "ExecuTorch": lambda: formats_executorch_models.executorch_files()["cnn"]["path"],
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


def test_saved_model_opens_on_its_default_signature(app_page):
    """A Keras MobileNetV2's SavedModel folder: the page draws the default signature's
    forward pass (the signature's input and output, the network's convolutions; no
    variable handle, no saver), and the sidebar's Graphs section opens the meta graph
    whole."""
    import formats_crossformat_models as xf
    from wetron.formats.tensorflow import FULL_GRAPH
    model = xf.files()["saved"]
    m = wetron.open(model)
    state = pick(app_page, "#folder-input", [os.path.dirname(model)])
    assert state["status"] == "ready" and state["graph"] == 0, state
    assert state["nodes"] == len(m.graphs[0].nodes) and state["drawn"]["inputs"] == 1
    assert state["drawn"]["outputs"] == 1
    ops = "(op) => wetron.find(op).filter((r) => r.kind === 'node' && r.op === op).length"
    convs = app_page.evaluate(ops, "Conv2D")
    assert convs == sum(1 for n in m.graphs[0].nodes if n.op == "Conv2D") == 35
    assert app_page.evaluate(ops, "DepthwiseConv2dNative") == 17
    assert app_page.evaluate(ops, "VarHandleOp") == 0
    full = next(i for i, g in enumerate(m.graphs) if g.name == FULL_GRAPH)
    link = app_page.locator(".sb-section", has_text="Graphs").get_by_text(FULL_GRAPH)
    link.click()
    app_page.wait_for_function(f"wetron.state().graph === {full}")
    assert app_page.evaluate("wetron.state().nodes") == len(m.graphs[full].nodes)


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


@pytest.mark.skipif(formats_darknet_models.available() is not None,
                    reason=str(formats_darknet_models.available()))
def test_darknet_cfg_with_its_weights(app_page):
    """yolov3-tiny.cfg + the .weights Darknet wrote, picked together: the .cfg is the
    model, its values come from the .weights; the .weights alone says the .cfg is needed."""
    folder, index = formats_darknet_models.darknet_files()
    e = index["models"]["debian/yolov3-tiny"]
    cfg, weights = os.path.join(folder, e["cfg"]), os.path.join(folder, e["weights"])
    state = pick(app_page, "#file-input", [weights, cfg])
    assert state["status"] == "ready", state
    assert state["format"] == "Darknet" and state["file"] == "yolov3-tiny.cfg"
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(cfg) == 24
    assert not banner(app_page)["shown"], banner(app_page)
    app_page.set_input_files("#file-input", [weights])
    app_page.wait_for_function("wetron.state().status === 'error'")
    text = app_page.evaluate("document.getElementById('banner-text').textContent")
    assert "yolov3-tiny.weights" in text and "open the .cfg together with it" in text


def test_mxnet_symbol_with_its_params(app_page):
    e = formats_mxnet_models.mxnet_files()["resnet18_v1"]
    state = pick(app_page, "#file-input", [e["params"], e["symbol"]])
    assert state["status"] == "ready", state
    assert state["format"] == "MXNet" and state["file"] == "resnet18_v1-symbol.json"
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(e["symbol"]) > 0
    assert not banner(app_page)["shown"], banner(app_page)


@pytest.mark.parametrize("mode", ["legacy", "pir"])
def test_paddle_program_with_its_pdiparams(app_page, mode):
    """A .pdmodel (or PIR .json) and its .pdiparams picked together: the program is the
    model (the .pdiparams matches Paddle's companion pattern), its parameters come from
    the other file (a missing one would be a warning, in the banner)."""
    e = formats_paddle_models.paddle_files()["mobilenet_v2"][mode]
    state = pick(app_page, "#file-input", [e["params"], e["model"]])
    assert state["status"] == "ready", state
    assert state["format"] == "PaddlePaddle"
    assert state["file"] == os.path.basename(e["model"])
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(e["model"]) > 0
    assert not banner(app_page)["shown"], banner(app_page)


def sidebar_of(page, name):
    """The sidebar's text once node `name` is selected (its modules expanded first)."""
    assert page.evaluate("(n) => wetron.select(n)", name)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=name)
    return page.inner_text("#sidebar")


def check_content(page, state, path, op):
    """The page holds what CPython reads from `path`: as many nodes, drawn; the nodes of
    each op type (the page's search, op:<type>); and the first `op` node with a weight
    shows that weight as "dtype [dims]" in the sidebar."""
    model = wetron.open(path)
    g = model.graphs[0]
    assert state["drawn"]["nodes"] == state["nodes"] == len(g.nodes) > 0
    want = collections.Counter(n.op for n in g.nodes)
    found = {o: sum(1 for r in page.evaluate("(q) => wetron.find(q)", f"op:{o}") if r["kind"] == "node")
             for o in want}
    assert found == want
    weights = {t.name: t for t in g.initializers}
    node = next(n for n in g.nodes if n.op == op and any(x in weights for x in n.inputs))
    weight = weights[next(x for x in node.inputs if x in weights)]
    text = sidebar_of(page, node.name)
    assert node.op in text or node.op.lower() in text.lower()
    assert f"{weight.dtype} [{', '.join(map(str, weight.dims))}]" in text, (node.name, weight.name)
    return model


def test_coreml_mlmodel(app_page):
    path = os.path.join(formats_coreml_models.coreml_dir(), "nn_cnn.mlmodel")
    state = pick(app_page, "#file-input", [path])
    assert state["status"] == "ready", state
    assert state["format"] == "Core ML" and state["file"] == "nn_cnn.mlmodel"
    check_content(app_page, state, path, "convolution")
    assert not banner(app_page)["shown"], banner(app_page)


def test_coreml_mlpackage_files_picked_together(app_page):
    """Manifest.json, model.mlmodel and weights/weight.bin of an .mlpackage chosen as
    files: model.mlmodel is the model, its weights found by base name."""
    package = os.path.join(formats_coreml_models.coreml_dir(), "ml_cnn.mlpackage")
    data = os.path.join(package, "Data", "com.apple.CoreML")
    files = [os.path.join(package, "Manifest.json"), os.path.join(data, "weights", "weight.bin"),
             os.path.join(data, "model.mlmodel")]
    state = pick(app_page, "#file-input", files)
    assert state["status"] == "ready", state
    assert state["format"] == "Core ML" and state["file"] == "model.mlmodel"
    model = check_content(app_page, state, package, "conv")
    assert model.graphs[0].nodes[0].domain == "coreml.mil"
    assert not banner(app_page)["shown"], banner(app_page)   # weight.bin was found


def test_openvino_xml_with_its_bin(app_page):
    xml = formats_openvino_models.ir_models()[0]["cnn"]
    state = pick(app_page, "#file-input", [xml[:-4] + ".bin", xml])
    assert state["status"] == "ready", state
    assert state["format"] == "OpenVINO IR" and state["file"] == "cnn.xml"
    check_content(app_page, state, xml, "Convolution")
    assert not banner(app_page)["shown"], banner(app_page)   # the .bin was found


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_numpy_arrays(app_page, tmp_path, kind):
    rng = np.random.default_rng(1)
    if kind == "npy":
        path = tmp_path / "embedding.npy"
        np.save(path, rng.standard_normal((7, 5)).astype(np.float32))
        op = "Parameter"
    else:
        path = tmp_path / "state.npz"
        np.savez(path, **{"features.0.weight": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
                          "features.0.bias": np.zeros(8, np.float32),
                          "classifier.weight": rng.standard_normal((10, 8)).astype(np.float16),
                          "classifier.bias": np.zeros(10, np.float16)})
        op = "Conv2d"
    state = pick(app_page, "#file-input", [str(path)])
    assert state["status"] == "ready", state
    assert state["format"] == "NumPy" and state["file"] == path.name
    check_content(app_page, state, str(path), op)


def test_onnx_runtime_ort(app_page):
    path = formats_ort_models.ort_files()["cnn"]["ort"]
    state = pick(app_page, "#file-input", [path])
    assert state["status"] == "ready", state
    assert state["format"] == "ONNX Runtime" and state["file"] == "cnn.ort"
    check_content(app_page, state, path, "FusedConv")
    # default-domain nodes are ONNX's: their boxes take ONNX's categories
    app_page.evaluate("wetron.setMode('flat')")
    categories = {b["name"].rsplit("/", 1)[-1]: b["category"] for b in app_page.evaluate("wetron.boxes()")
                  if b["kind"] == "op"}
    assert categories["MaxPool"] == "pooling" and categories["Gemm"] == "matmul"
@pytest.mark.parametrize("kind, fmt", [("ncnn", "ncnn"), ("pnnx", "pnnx")])
def test_param_with_its_bin(app_page, kind, fmt):
    """block.<kind>.param + block.<kind>.bin picked together (the .bin first): the .param
    is the model, its weights come from the .bin (no warning says it is missing)."""
    files = formats_ncnn_models.ncnn_models()
    param = formats_ncnn_models.path(files, "block", f".{kind}.param")
    weights = formats_ncnn_models.path(files, "block", f".{kind}.bin")
    state = pick(app_page, "#file-input", [weights, param])
    assert state["status"] == "ready", state
    assert state["format"] == fmt and state["file"] == f"block.{kind}.param"
    assert state["drawn"]["nodes"] == state["nodes"] == cpython_nodes(param) > 0
    assert not banner(app_page)["shown"], banner(app_page)
