"""The format contract (py/wetron/formats/__init__.py): every format module declares
it; the registry parses the likeliest format first and falls back to the next; a file no
format reads gets an error naming what each candidate found (CLI: exit 2); the manifest
is what README.md lists."""
import json
import os
import random
import re
import subprocess
import sys
import types

import pytest

import formats_tensorflow_models
import wetron
from conftest import REPO, subprocess_env
from wetron import formats
from wetron.errors import ModelError


def tf_file(name):
    return formats_tensorflow_models.tensorflow_files()[name]


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    """A one-node model written by the onnx package."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = str(tmp_path_factory.mktemp("onnx") / "relu.onnx")
    onnx.save(helper.make_model(graph, producer_name="wetron-tests"), path)
    return path


def head_of(path):
    with open(path, "rb") as f:
        return f.read(4096)


# --- the declarations ------------------------------------------------------------------

def test_every_module_declares_the_contract():
    names = [fmt.FORMAT for fmt in formats.REGISTRY]
    assert len(set(names)) == len(names)
    for fmt in formats.REGISTRY:
        assert isinstance(fmt.FORMAT, str) and fmt.FORMAT
        assert callable(fmt.match) and callable(fmt.parse)
        assert not hasattr(fmt, "looks_like"), fmt.FORMAT   # replaced by match()
        for ext in formats.declared(fmt, "EXTENSIONS"):
            # a suffix of the name: ".onnx", or "-symbol.json" (MXNet)
            assert ext and "/" not in ext and ext == ext.lower(), (fmt.FORMAT, ext)
        for name in formats.declared(fmt, "MAIN_FILES"):
            assert "/" not in name and name == name.lower(), (fmt.FORMAT, name)
        for pattern, what in formats.declared(fmt, "COMPANIONS"):
            assert pattern and not pattern.startswith("/") and ".." not in pattern.split("/")
            assert isinstance(what, str) and what
        assert formats.capabilities(fmt) <= set(formats.CAPABILITIES), fmt.FORMAT


def test_match_is_a_confidence_and_never_raises(onnx_file):
    rng = random.Random(13)
    heads = [b"", b"\x00", b"\x00" * 4096, b"{}", b'{"modelTopology": {}}', b"\x08",
             b"\x08\x01\x12", b"\x80\x02", b"PK\x03\x04", b"\x89HDF\r\n\x1a\n",
             head_of(onnx_file), head_of(tf_file("frozen_cnn")), head_of(tf_file("saved_keras"))]
    heads += [bytes(rng.randrange(256) for _ in range(rng.choice((1, 7, 64, 4096))))
              for _ in range(200)]
    heads += [h[:n] for h in heads[10:13] for n in range(0, 64)]   # cut anywhere
    for fmt in formats.REGISTRY:
        for head in heads:
            for name in ("model", "model.onnx", "saved_model.pb", "x.bin"):
                score = fmt.match(head, name)
                assert isinstance(score, (int, float)) and not isinstance(score, bool), fmt.FORMAT
                assert 0.0 <= score <= 1.0, (fmt.FORMAT, head[:16])


def test_model_rank_chooses_the_model_among_several_files():
    """The rule the page shares (app/formats.js): main file names, then a format's
    extension, later when a companion pattern as specific names the file too, then weak
    extensions, then anything."""
    def chosen(*paths):
        return min(paths, key=formats.model_rank)
    assert chosen("model.onnx", "tokenizer.json", "vocab.txt") == "model.onnx"
    assert chosen("tokenizer.json", "model.onnx.data", "model.onnx") == "model.onnx"
    assert chosen("net.param.bin", "net.bin") == "net.param.bin"       # ncnn, both '*.bin'
    assert chosen("net.pnnx.bin", "net.pnnx.param") == "net.pnnx.param"
    assert chosen("model.xml", "model.bin") == "model.xml"
    assert chosen("inference.pdiparams", "inference.json") == "inference.json"
    assert chosen("resnet-0003.params", "resnet-symbol.json") == "resnet-symbol.json"
    assert chosen("notes", "model.txt") == "model.txt"
    assert chosen("config.json", "pytorch_model.bin") == "pytorch_model.bin"
    assert formats.model_rank("saved_model.pb") < formats.model_rank("model.json")
    weak = {f["name"]: f["weak_extensions"] for f in formats.manifest()}
    assert weak["PaddlePaddle"] == [".json"] and weak["LightGBM"] == [".txt"]


def test_manifest_is_every_format_in_registration_order():
    listing = formats.manifest()
    assert [f["name"] for f in listing] == [fmt.FORMAT for fmt in formats.REGISTRY]
    assert json.loads(json.dumps(listing)) == listing
    tf = next(f for f in listing if f["name"] == "TensorFlow")
    assert tf["main_files"] == ["saved_model.pb"] and tf["never_empty"]
    assert {"pattern": "variables/variables.index",
            "what": "a SavedModel's variables: their index"} in tf["companions"]
    assert "tensor_windows" in next(f for f in listing if f["name"] == "ONNX")["capabilities"]


def test_readme_lists_exactly_the_formats():
    """README's "It opens:" list: one bullet per format (two may share one), naming it in
    bold with each of its extensions and main file names."""
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    block = text.split("It opens:", 1)[1].split("\n\n", 2)[1]
    bullets = re.split(r"\n(?=- )", block)
    listed = {}
    for bullet in bullets:
        # a bold name, then what follows up to the next bold name in the same bullet
        parts = re.split(r"\*\*([^*]+)\*\*", bullet)
        for name, rest in zip(parts[1::2], parts[2::2]):
            listed[name] = rest
    assert sorted(listed) == sorted(f["name"] for f in formats.manifest())
    for f in formats.manifest():
        for suffix in f["extensions"] + f["main_files"]:
            assert f"`{suffix}`" in listed[f["name"]], (f["name"], suffix)


# --- the registry ----------------------------------------------------------------------

@pytest.mark.parametrize("which, fmt", [("onnx", "ONNX"), ("frozen_cnn", "TensorFlow"),
                                        ("saved_keras", "TensorFlow"), ("tfjs", "TensorFlow.js")])
def test_each_opens_as_what_it_is(onnx_file, which, fmt):
    path = onnx_file if which == "onnx" else tf_file(which)
    best = formats.candidates(head_of(path), os.path.basename(path))[0][1]
    assert best.FORMAT == fmt
    m = wetron.open(path)
    assert m.format == fmt and m.graphs[0].nodes
    assert m.capabilities == formats.capabilities(best)


def test_onnx_and_saved_model_start_alike_and_open_as_themselves(onnx_file):
    """Both start with field 1 as a varint then field 2 (ONNX: producer_name, SavedModel:
    a MetaGraphDef): the sniffers tell them apart, whatever the file is called."""
    saved = tf_file("saved_keras")
    a, b = head_of(onnx_file), head_of(saved)
    assert a[0] == b[0] == 0x08 and a[2] == b[2] == 0x12
    for path, fmt in ((onnx_file, "ONNX"), (saved, "TensorFlow")):
        data = open(path, "rb").read()
        for name in ("model", "model.bin", "model.onnx", "saved_model.pb"):
            m = wetron.open(wetron.BytesSource(data, name), lambda _: None)
            assert m.format == fmt, (path, name)


def _module(name, score, parse, never_empty=False):
    """A format module as the contract describes it (registered for one test)."""
    fmt = types.ModuleType(f"wetron.formats.{name.lower()}")
    fmt.FORMAT, fmt.NEVER_EMPTY = name, never_empty
    fmt.match = lambda head, name="": score
    fmt.parse = parse
    return fmt


def _refuses(source, companions=None):
    raise ModelError("no Greedy header here", source.name, "Greedy", 0)


def _empty(source, companions=None):
    return wetron.Model(source.name, source.size, "Empty")


def test_falls_back_to_the_next_candidate_when_parsing_fails(monkeypatch, onnx_file):
    greedy = _module("Greedy", 1.0, _refuses)
    monkeypatch.setattr(formats, "REGISTRY", [greedy] + formats.REGISTRY)
    assert formats.candidates(head_of(onnx_file), "relu.onnx")[0][1] is greedy
    m = wetron.open(onnx_file)
    assert m.format == "ONNX" and [n.op for n in m.graphs[0].nodes] == ["Relu"]


def test_an_empty_reading_is_skipped_where_the_format_says_it_cannot_be(monkeypatch,
                                                                           onnx_file):
    monkeypatch.setattr(formats, "REGISTRY",
                        [_module("Empty", 1.0, _empty, never_empty=True)] + formats.REGISTRY)
    assert wetron.open(onnx_file).format == "ONNX"
    # Without NEVER_EMPTY an empty model is a model.
    monkeypatch.setattr(formats, "REGISTRY",
                        [_module("Empty", 1.0, _empty)] + formats.REGISTRY[1:])
    assert wetron.open(onnx_file).format == "Empty"


def test_the_error_names_the_file_and_what_each_candidate_found(monkeypatch, onnx_file):
    # Two real sniffers take this: ONNX (a string field 2) and TensorFlow (the .pb name).
    with pytest.raises(ModelError) as e:
        wetron.open(wetron.BytesSource(b"\x12\x05hello world", "notes.pb"))
    text = str(e.value)
    assert text.startswith("notes.pb: not a model Wetron could read: ONNX: ")
    assert "; TensorFlow: not a TensorFlow GraphDef (recognised by the .pb name only)" in text
    # A cut ONNX file: the error of every candidate, best first, with where it stopped.
    data = open(onnx_file, "rb").read()
    monkeypatch.setattr(formats, "REGISTRY", formats.REGISTRY + [_module("Greedy", 0.01, _refuses)])
    with pytest.raises(ModelError) as e:
        wetron.open(wetron.BytesSource(data[:len(data) // 2], "relu.onnx"))
    text = str(e.value)
    assert re.match(r"relu\.onnx: not a model Wetron could read: ONNX: .+; "
                    r"Greedy: no Greedy header here \(at byte 0\)$", text), text
    # One candidate: its own error, as it says it.
    monkeypatch.setattr(formats, "REGISTRY", formats.REGISTRY[:-1])
    with pytest.raises(ModelError, match=r"^relu\.onnx: ONNX: "):
        wetron.open(wetron.BytesSource(data[:len(data) // 2], "relu.onnx"))


def test_the_cli_prints_the_error_and_exits_2(tmp_path):
    path = tmp_path / "notes.pb"
    path.write_bytes(b"\x12\x05hello world")
    r = subprocess.run([sys.executable, "-m", "wetron", "info", str(path)], env=subprocess_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and not r.stdout
    assert r.stderr.startswith("wetron: notes.pb: not a model Wetron could read: ONNX: ")
    assert "; TensorFlow: " in r.stderr


@pytest.fixture(scope="module")
def coreml_files():
    """Core ML files written by coremltools (tests/formats_coreml_models.py): a
    NeuralNetwork .mlmodel and an ML program's model.mlmodel."""
    import formats_coreml_models
    folder = formats_coreml_models.coreml_dir()
    return [os.path.join(folder, "nn_cnn.mlmodel"),
            os.path.join(folder, "ml_cnn.mlpackage", "Data", "com.apple.CoreML", "model.mlmodel")]


def test_core_ml_onnx_and_saved_model_share_first_bytes_and_open_as_themselves(
        monkeypatch, onnx_file, coreml_files):
    """All three start with field 1 as a small varint, then field 2 (Core ML: the
    ModelDescription, a message whose first field is a message, as a SavedModel's
    MetaGraphDef is): each opens as what it is whatever its name; a Core ML file never
    opens as an empty TensorFlow SavedModel, with or without the Core ML format."""
    saved = tf_file("saved_keras")
    heads = [head_of(p) for p in [onnx_file, saved] + coreml_files]
    assert all(h[0] == 0x08 and h[2] == 0x12 for h in heads)
    def inside_field_2(h):   # the first byte of field 2's message
        p = 3
        while h[p] & 0x80:
            p += 1
        return h[p + 1]
    assert all(inside_field_2(h) == 0x0A for h in heads[1:])   # Core ML, SavedModel
    coreml = [f for f in formats.REGISTRY if f.FORMAT == "Core ML"]
    names = ("model", "saved_model.pb", "model.onnx", "model.mlmodel")
    for path in coreml_files:
        data = open(path, "rb").read()
        for name in names:
            if coreml:
                m = wetron.open(wetron.BytesSource(data, name), lambda _: None)
                assert m.format == "Core ML" and m.graphs[0].nodes, name
        # Without the Core ML format: TensorFlow sniffs a SavedModel, reads nothing,
        # and the error says so.
        monkeypatch.setattr(formats, "REGISTRY", [f for f in formats.REGISTRY if f not in coreml])
        with pytest.raises(ModelError, match=r"TensorFlow: .*no nodes and no weights"):
            wetron.open(wetron.BytesSource(data, "saved_model.pb"), lambda _: None)
        monkeypatch.undo()
    for path, fmt in ((onnx_file, "ONNX"), (saved, "TensorFlow")):
        data = open(path, "rb").read()
        for name in names:
            assert wetron.open(wetron.BytesSource(data, name), lambda _: None).format == fmt
