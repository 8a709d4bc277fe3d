"""The format contract in the page: formats.json (build.py, from wetron.formats.manifest())
is what the page reads for the file chooser's accept list and the start page's format
list, and a file no format reads shows the registry's error (each candidate's finding)
while the model open before stays open."""
import pytest

import wetron
from wetron import formats

pytestmark = pytest.mark.timeout(300)

OPENED = "['ready', 'error'].includes(wetron.state().status)"


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = str(tmp_path_factory.mktemp("onnx") / "relu.onnx")
    onnx.save(helper.make_model(graph), path)
    return path


def test_the_page_lists_and_accepts_the_manifests_formats(app_page):
    listing = app_page.evaluate("fetch('formats.json').then((r) => r.json())")
    assert listing == formats.manifest()
    app_page.wait_for_function("document.getElementById('format-list').textContent !== ''")
    shown = app_page.evaluate("document.getElementById('format-list').textContent")
    accept = app_page.evaluate("document.getElementById('file-input').accept").split(",")
    for f in listing:
        assert f["name"] in shown
        for suffix in f["extensions"] + f["main_files"]:
            assert suffix in shown, (f["name"], suffix)
            if "." in suffix:   # (an extension-less name, fluid's __model__, has none to accept)
                assert "." + suffix.rsplit(".", 1)[-1] in accept, (f["name"], suffix)
    assert len(accept) == len(set(accept)) and all(a.startswith(".") for a in accept)


def test_a_file_no_format_reads_shows_each_candidates_error(app_page, onnx_file, tmp_path):
    app_page.set_input_files("#file-input", [onnx_file])
    app_page.wait_for_function(OPENED)
    assert app_page.evaluate("wetron.state().status") == "ready"
    bad = tmp_path / "notes.pb"
    bad.write_bytes(b"\x12\x05hello world")
    with pytest.raises(wetron.ModelError) as expected:
        wetron.open(str(bad))
    app_page.set_input_files("#file-input", [str(bad)])
    app_page.wait_for_function("wetron.state().status === 'error'")
    state = app_page.evaluate("wetron.state()")
    banner = app_page.evaluate("document.getElementById('banner-text').textContent")
    assert "ONNX: " in banner and "; TensorFlow: " in banner
    assert str(expected.value) in banner   # the same words as the CLI
    assert not app_page.evaluate("document.getElementById('banner').hidden")
    # the model open before is still open and drawn
    assert state["file"] == "relu.onnx" and state["format"] == "ONNX"
    assert state["drawn"]["nodes"] == 1


def test_the_page_chooses_the_model_among_several_files_as_python_does(app_page):
    """app/formats.js's rank is wetron.formats.model_rank: the same file is the model of
    each set of names (loose files, given together)."""
    sets = [["model.onnx", "tokenizer.json", "vocab.txt"], ["config.json", "pytorch_model.bin"],
            ["net.param.bin", "net.bin"], ["net.pnnx.bin", "net.pnnx.param"],
            ["model.xml", "model.bin"], ["inference.pdiparams", "inference.json"],
            ["resnet-0003.params", "resnet-symbol.json"], ["saved_model.pb", "model.json"],
            ["variables/variables.index", "saved_model.pb"], ["yolo.weights", "yolo.cfg"]]
    chosen = app_page.evaluate("""async (sets) => {
        const { loadFormats, modelAndCompanions } = await import('./app/formats.js');
        const formats = await loadFormats();
        return sets.map((names) => modelAndCompanions(formats, names.map((path) =>
            ({ path, file: new File(['x'], path.split('/').pop()) }))).name);
    }""", sets)
    assert chosen == [min(names, key=formats.model_rank).split("/")[-1] for names in sets]
