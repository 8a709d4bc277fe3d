"""Darknet: every .cfg Debian's darknet package ships and .cfg files written here for the
other layers (tests/formats_darknet_models.py), checked against Darknet itself (its own
libdarknet parsing each .cfg, tests/darknet_oracle.c): every layer's output shape, the
network's batch, every parameter array's size, the BFLOPs of Darknet's layer table, and
the values of .weights files Darknet wrote, read back; partial, mismatched and hostile
files; a bounded fuzz."""
import json
import math
import os
import re
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

import formats_darknet_models
import test_fuzz
import wetron
from wetron import cost, shapes
from wetron.formats import darknet

pytestmark = [pytest.mark.timeout(900),
              pytest.mark.skipif(formats_darknet_models.available() is not None,
                                 reason=str(formats_darknet_models.available()))]

# darknet.h's LAYER_TYPE, as the oracle prints it
TYPES = ["convolutional", "deconvolutional", "connected", "maxpool", "softmax", "detection",
         "dropout", "crop", "route", "cost", "normalization", "avgpool", "local", "shortcut",
         "activation", "rnn", "gru", "lstm", "crnn", "batchnorm", "net", "xnor", "region",
         "yolo", "iseg", "reorg", "upsample", "logistic", "l2norm", "blank"]
RECURRENT = {"rnn", "gru", "lstm", "crnn"}


@pytest.fixture(scope="module")
def files():
    folder, index = formats_darknet_models.darknet_files()
    return folder, index["models"]


def _open(folder, entry, with_weights=True):
    path = os.path.join(folder, entry["cfg"])
    if with_weights:
        return wetron.open(path)      # the .weights found beside the .cfg
    return wetron.open(wetron.FileSource(path), companions=lambda name: None)


def _darknet_out(layer):
    """A layer's output as Darknet has it: [C, H, W], or [outputs] when it leaves them 0."""
    if layer["out_w"] and layer["out_h"] and layer["out_c"]:
        return [layer["out_c"], layer["out_h"], layer["out_w"]]
    return [layer["outputs"]]


def _tensor_name(layer, array):
    return "/".join(p for p in (str(layer["layer"]), array["sub"], array["name"]) if p)


def test_every_shipped_cfg_and_every_made_one_is_in_the_index(files):
    _, models = files
    shipped = {n[:-4] for n in os.listdir(os.path.join(formats_darknet_models.SHARE, "cfg"))
               if n.endswith(".cfg")}
    assert {k.split("/", 1)[1] for k in models if k.startswith("debian/")} == shipped
    assert len(shipped) >= 40
    assert {k.split("/", 1)[1] for k in models if k.startswith("made/")} == \
        set(formats_darknet_models.MADE)


def test_shapes_batch_and_parameters_match_darknet(files):
    """Every layer's output, the batch and every parameter array, for every .cfg."""
    folder, models = files
    seen_types = set()
    for key, e in models.items():
        m = _open(folder, e, with_weights=False)
        g = m.graphs[0]
        assert len(g.nodes) == len(e["layers"]) == e["net"]["n"], key
        assert m.sizes == {"batch": e["net"]["batch"]}, key
        types = shapes.infer(g).types
        tensors = {t.name: t for t in g.initializers}
        wanted = set()
        for layer, node in zip(e["layers"], g.nodes):
            assert node.op == TYPES[layer["type"]] and node.domain == "darknet", (key, node.name)
            seen_types.add(node.op)
            dims = types[node.outputs[0]][2]
            assert dims is not None and list(dims[1:]) == _darknet_out(layer), (key, node.name)
            assert dims[0] == "batch"
            if node.op not in RECURRENT:
                assert layer["batch"] == e["net"]["batch"], (key, node.name)
            for a in layer["arrays"]:
                name = _tensor_name(layer, a)
                wanted.add(name)
                assert tensors[name].count == a["count"], (key, name)
        assert set(tensors) == wanted, key
        assert m.parameters == sum(a["count"] for layer in e["layers"] for a in layer["arrays"])
    assert seen_types >= set(TYPES) - {"net", "xnor", "blank"}


_BFLOPS = re.compile(r"conv\s+\d+ .* ([0-9.]+) BFLOPs$", re.M)


def test_bflops_are_darknets(files):
    """Darknet's table prints each convolution's 2 * MACs / 1e9 (per image; a [crnn]
    prints its three): ours, at batch 1, to its three decimals."""
    folder, models = files
    checked = 0
    for key, e in models.items():
        m = _open(folder, e, with_weights=False)
        g = m.graphs[0]
        _, figures = cost.sized_cost(g, {"batch": 1})
        printed = [float(b) for b in _BFLOPS.findall(e["table"])]
        per_node = [(i, {"convolutional": 1, "crnn": 3}[n.op]) for i, n in enumerate(g.nodes)
                    if n.op in ("convolutional", "crnn")]
        assert len(printed) == sum(k for _, k in per_node), key
        for i, k in per_node:
            bflops, printed = printed[:k], printed[k:]
            assert figures.macs[i] is not None
            assert abs(2 * figures.macs[i] / 1e9 - sum(bflops)) <= 0.0005 * k + 1e-9, (key, i)
            checked += 1
    assert checked > 1500


def test_weights_written_by_darknet_are_read_back(files):
    folder, models = files
    written = [k for k, e in models.items() if e["weights"]]
    assert len(written) >= 8
    for key in written:
        e = models[key]
        m = _open(folder, e)
        assert m.format_version == "weights 0.2.0", key
        assert ["weights", os.path.basename(e["weights"])] in m.metadata
        size = os.path.getsize(os.path.join(folder, e["weights"]))
        tensors = {t.name: t for t in m.tensors}
        stored = 20
        for layer, node in zip(e["layers"], m.graphs[0].nodes):
            skipped = any(a.name == "dontsave" for a in node.attributes)
            for a in layer["arrays"]:
                t = tensors[_tensor_name(layer, a)]
                if skipped:
                    assert "dontload=1" in t.error and t.data is None
                    continue
                assert t.error is None and t.location == "external", (key, t.name)
                values = m.tensor_values(t.index, limit=None)["values"]
                assert len(values) == a["count"]
                assert values[0] == pytest.approx(a["first"], rel=1e-7, abs=1e-30)
                assert values[-1] == pytest.approx(a["last"], rel=1e-7, abs=1e-30)
                assert math.fsum(values) == pytest.approx(a["sum"], rel=1e-9, abs=1e-9)
                stored += 4 * a["count"]
        assert stored == size and not m.warnings, key
    m = _open(folder, models["debian/yolov3-tiny"])
    big = next(t for t in m.tensors if t.name == "12/weights")
    from wetron.tensor_stats import tensor_stats
    assert tensor_stats(m, big.index)["method"] == "windows"    # read in windows


def test_tensor_layout_and_names(files):
    folder, models = files
    m = _open(folder, models["made/layers"])
    g = m.graphs[0]
    dims = {t.name: t.dims for t in g.initializers}
    assert dims["0/weights"] == (8, 3, 3, 3) and dims["0/scales"] == (8,)
    assert dims["1/weights"] == (4, 4, 3, 3)                 # groups=2: C/groups
    assert dims["4/weights"] == (4, 4, 4, 4)                 # deconvolutional: C x filters
    assert dims["5/weights"] == (4 * 5, 3, 4, 3, 3)          # local: per location
    assert dims["5/biases"] == (3, 4, 5)
    assert dims["18/weights"] == (10, 1056)                  # connected: output x inputs
    assert g.nodes[0].inputs == ["input", "0/weights", "0/biases", "0/scales",
                                 "0/rolling_mean", "0/rolling_variance"]
    assert [a.value for a in g.nodes[0].attributes if a.name == "activation"] == ["leaky"]
    # the default activation is stated: Darknet's logistic for a convolutional layer
    heads = _open(folder, models["made/heads"])
    assert [a.value for a in heads.graphs[0].nodes[0].attributes if a.name == "activation"] \
        == ["linear"]
    assert [a.value for a in heads.graphs[0].nodes[3].attributes if a.name == "activation"] \
        == ["logistic"]
    flipped = {t.name: t.dims for t in _open(folder, models["made/crnn"]).tensors}
    assert flipped["1/weights"] == (4 * 2 * 2, 6)            # flipped=1: stored transposed
    assert flipped["0/input_layer/weights"] == (3, 2, 3, 3)
    rec = {t.name: t.dims for t in _open(folder, models["made/recurrent"]).tensors}
    assert rec["1/wi/weights"] == (6, 6) and rec["1/ui/weights"] == (6, 8)


def test_graph_structure(files):
    folder, models = files
    m = _open(folder, models["debian/yolov3-tiny"])
    g = m.graphs[0]
    assert g.inputs == ["input"] and g.types["input"][2] == ("batch", 3, 416, 416)
    assert g.outputs == ["16", "23"]                         # the two [yolo] heads
    route = g.nodes[20]
    assert route.op == "route" and route.inputs == ["19", "8"]
    assert [a.value for a in route.attributes if a.name == "layers"] == [[-1, 8]]
    shortcut = _open(folder, models["debian/resnet18"], with_weights=False).graphs[0].nodes
    s = next(n for n in shortcut if n.op == "shortcut")
    back = next(a.value for a in s.attributes if a.name == "from")
    assert back < 0 and s.inputs == [str(int(s.name) - 1), str(int(s.name) + back)]
    doc = m.to_dict()
    assert doc["operators"]["darknet:convolutional"]["category"] == "conv"
    assert doc["operators"]["darknet:yolo"]["domain"] == "darknet"


def test_cfg_alone_has_the_parameters_without_values(files):
    folder, models = files
    m = _open(folder, models["debian/yolov3-tiny"], with_weights=False)
    assert m.parameters == 8_858_734 and m.format_version == "cfg"
    t = m.tensors[0]
    assert "no .weights file given" in t.error
    with pytest.raises(wetron.ModelError, match="no .weights file given"):
        m.tensor_values(t.index)


def test_weights_alone_says_the_cfg_is_needed(files):
    folder, models = files
    path = os.path.join(folder, models["debian/tiny"]["weights"])
    with pytest.raises(wetron.ModelError) as info:
        wetron.open(path)
    message = str(info.value)
    assert "tiny.weights" in message and "open the .cfg together with it" in message


def _with_weights(folder, entry, data, tmp_path, name="net"):
    cfg = tmp_path / f"{name}.cfg"
    with open(os.path.join(folder, entry["cfg"]), "rb") as f:
        cfg.write_bytes(f.read())
    (tmp_path / f"{name}.weights").write_bytes(data)
    return wetron.open(str(cfg))


def _weights_bytes(folder, entry):
    with open(os.path.join(folder, entry["weights"]), "rb") as f:
        return f.read()


def test_a_partial_weights_file_gives_its_layers(files, tmp_path):
    """As `darknet partial` writes a network's first layers (darknet53.conv.74)."""
    folder, models = files
    e = models["debian/tiny"]
    data = _weights_bytes(folder, e)
    first = e["layers"][0]["arrays"]
    end = 20 + 4 * sum(a["count"] for a in first)
    m = _with_weights(folder, e, data[:end], tmp_path)
    assert any("partial" in w and "layer 0" in w for w in m.warnings)
    tensors = {t.name: t for t in m.tensors}
    full = _open(folder, e)
    whole = {t.name: t for t in full.tensors}
    for name in ("0/biases", "0/weights"):
        assert tensors[name].error is None
        assert m.tensor_values(tensors[name].index, None)["values"] == \
            full.tensor_values(whole[name].index, None)["values"]
    assert "partial file ends before" in tensors["2/weights"].error


def test_a_weights_file_of_another_cfg_is_not_read(files, tmp_path):
    folder, models = files
    e = models["debian/tiny"]
    data = _weights_bytes(folder, e)
    m = _with_weights(folder, e, data[:-6], tmp_path)      # ends inside a layer's values
    assert any("not the .weights of this .cfg" in w for w in m.warnings)
    assert all(t.error and "not read" in t.error for t in m.tensors)
    longer = _with_weights(folder, e, data + b"\0" * 12, tmp_path)
    assert any("12 bytes after the values" in w for w in longer.warnings)
    assert all(t.error is None for t in longer.tensors)
    other = _with_weights(folder, models["debian/writing"], data, tmp_path, "other")
    assert any("bytes after the values" in w or "not the .weights" in w for w in other.warnings)


def test_the_header_sets_the_width_of_seen(files, tmp_path):
    """major*10 + minor < 2: `seen` is an int32, the values start at byte 16."""
    folder, models = files
    e = models["debian/writing"]
    data = _weights_bytes(folder, e)
    old = struct.pack("<3iI", 0, 1, 0, 77) + data[20:]
    m = _with_weights(folder, e, old, tmp_path)
    assert not m.warnings and ["images seen", "77"] in m.metadata
    arrays = e["layers"][0]["arrays"]
    t = next(t for t in m.tensors if t.name == "0/biases")
    assert m.tensor_values(t.index, 1)["values"] == [pytest.approx(arrays[0]["first"])]


def test_companions_in_the_page_are_given_together(files):
    """The page gives the files picked together: the .weights by name, or the only one."""
    folder, models = files
    e = models["debian/writing"]
    cfg = wetron.FileSource(os.path.join(folder, e["cfg"]))
    weights_path = os.path.join(folder, e["weights"])

    def given(name):
        return wetron.FileSource(weights_path) if name == "picked.weights" else None
    given.names = lambda: ["picked.weights"]
    m = wetron.open(cfg, companions=given)
    assert ["weights", "writing.weights"] in m.metadata and all(t.error is None for t in m.tensors)
    from wetron.formats import model_rank
    assert model_rank("writing.cfg") < model_rank("writing.weights")


def test_match_scores(files):
    folder, models = files
    with open(os.path.join(folder, models["debian/yolov3"]["cfg"]), "rb") as f:
        head = f.read(4096)
    assert darknet.match(head, "yolov3.cfg") == 1.0
    assert darknet.match(head, "model.txt") == 0.8
    weights = _weights_bytes(folder, models["debian/tiny"])[:4096]
    assert darknet.match(weights, "tiny.weights") == 0.3
    assert darknet.match(weights, "tiny.bin") == 0
    assert darknet.match(b"[convolutional]\nfilters=3\n", "x.cfg") == 0
    assert darknet.match(b"[metadata]\nname=x\n", "setup.cfg") == 0


# --- hostile files -------------------------------------------------------------------------
NET = "[net]\nwidth=8\nheight=8\nchannels=3\n"
HOSTILE = {
    "no sections": "filters=3\n",
    "first not net": "[convolutional]\nfilters=3\n",
    "no input size": "[net]\nbatch=1\n[convolutional]\n",
    "subdivisions 0": "[net]\nwidth=8\nheight=8\nchannels=3\nsubdivisions=0\n",
    "route ahead": NET + "[convolutional]\n[route]\nlayers=2\n",
    "route of itself": NET + "[convolutional]\n[route]\nlayers=1\n",
    "route far back": NET + "[convolutional]\n[route]\nlayers=-5\n",
    "route without layers": NET + "[route]\n",
    "shortcut without from": NET + "[convolutional]\n[shortcut]\n",
    "option before a section": "width=3\n[net]\n",
    "a huge value": NET + "[convolutional]\nfilters=" + "9" * 70000 + "\n",
    "NUL bytes": NET + "[convolutional]\x00\n",
    "a tensor past 2**63 elements": NET + "[convolutional]\nfilters=2000000000\nsize=3000000\n",
}
MAY_OPEN = {
    "big filters": NET + "[convolutional]\nfilters=2000000000\nsize=3\npad=1\n",
    "negative size": NET + "[convolutional]\nsize=-3\n",
    "stride 0": NET + "[convolutional]\nstride=0\n[maxpool]\nstride=0\n",
    "kernel too big": NET + "[convolutional]\nsize=99\n",
    "flat then conv": "[net]\ninputs=10\n[convolutional]\n",
    "yolo mismatch": NET + "[convolutional]\nfilters=5\n[yolo]\nclasses=80\n",
    "unknown layer": NET + "[mystery]\n[convolutional]\n",
    "unmodelled option": NET + "[convolutional]\nshare_index=0\n[convolutional]\n",
    "route groups 0": NET + "[convolutional]\n[route]\nlayers=-1\ngroups=0\n",
    "upsample 0": NET + "[upsample]\nstride=0\n",
    "reorg 0": NET + "[reorg]\nstride=0\n",
    "junk values": NET + "[convolutional]\nfilters=3abc\nsize=x\nstride=1e3\nactivation=?\n",
    "many layers": NET + "[dropout]\n" * 5000,
    "a line without =": NET + "[convolutional]\nfilters\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_broken_cfg_is_rejected(case):
    with pytest.raises(wetron.ModelError) as info:
        wetron.open(wetron.BytesSource(HOSTILE[case].encode(), "hostile.cfg"))
    test_fuzz.check_error(info.value, "hostile.cfg")


@pytest.mark.parametrize("case", sorted(MAY_OPEN))
def test_hostile_cfg(case):
    m = test_fuzz.exercise(MAY_OPEN[case].encode(), "hostile.cfg")
    assert m is not None


def test_hostile_shapes_are_unknown_not_guessed():
    def out(text, layer):
        m = wetron.open(wetron.BytesSource(text.encode(), "x.cfg"))
        return shapes.infer(m.graphs[0]).types.get(str(layer))
    assert out(MAY_OPEN["kernel too big"], 0) is None
    assert out(MAY_OPEN["yolo mismatch"], 1) is None
    assert out(MAY_OPEN["unknown layer"], 1) is None
    assert out(MAY_OPEN["unmodelled option"], 0) is None
    # size=x reads as 0 (atoi), where Darknet wants a positive size: refused, not guessed
    assert out(MAY_OPEN["junk values"], 0) is None
    assert out(NET + "[convolutional]\nfilters=3abc\nsize=3.7\npad=1\n", 0)[2] == \
        ("batch", 3, 8, 8)                                   # atoi: 3 and 3


def _exercise_pair(cfg, weights):
    """Open a .cfg with a .weights beside it; read every tensor: success or ModelError."""
    def given(name):
        return wetron.BytesSource(weights, "fuzzed.weights") if name == "fuzzed.weights" else None
    try:
        m = wetron.open(wetron.BytesSource(cfg, "fuzzed.cfg"), companions=given)
    except wetron.ModelError as e:
        test_fuzz.check_error(e, "fuzzed.cfg")
        return None
    json.loads(wetron.dumps(m))
    for t in m.tensors:
        try:
            m.tensor_values(t.index, limit=64)
        except wetron.ModelError as e:
            assert "\n" not in str(e)
    return m


FUZZ = settings(max_examples=test_fuzz.EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(300)
def test_mutated_cfg_and_weights(files):
    folder, models = files
    e = models["made/layers"]
    with open(os.path.join(folder, e["cfg"]), "rb") as f:
        cfg = f.read()
    weights = _weights_bytes(folder, e)
    lines = cfg.split(b"\n")
    assert _exercise_pair(cfg, weights) is not None

    @FUZZ
    @given(st.data())
    def run(data):
        mutated = list(lines)
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(mutated) - 1))
            kind = data.draw(st.sampled_from(["drop", "number", "swap", "junk", "dup"]))
            if kind == "drop":
                del mutated[i]
            elif kind == "number":
                mutated[i] = re.sub(rb"-?\d+", str(data.draw(st.integers(-3, 70))).encode(),
                                    mutated[i], count=1)
            elif kind == "swap":
                j = data.draw(st.integers(0, len(mutated) - 1))
                mutated[i], mutated[j] = mutated[j], mutated[i]
            elif kind == "junk":
                mutated.insert(i, data.draw(st.sampled_from(
                    [b"[", b"[route]", b"layers=-99", b"from=5", b"=", b"[net]", b"stride=-1",
                     b"[yolo]", b"mask=1,,2", b"groups=3", b"pad=1"])))
            else:
                mutated.insert(i, mutated[i])
            if not mutated:
                mutated = [b""]
        cut = data.draw(st.integers(0, len(weights)))
        _exercise_pair(b"\n".join(mutated), weights[:cut] if data.draw(st.booleans())
                       else weights)
    run()


BOX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "box_check.mjs")


def test_box_lines_show_the_fused_activation_and_the_window(files):
    """The darknet rules' box lines of yolov3-tiny (DarknetRule.box_lines, in the
    document): the activation, filters and window as the .cfg writes them, what a
    route or yolo layer reads."""
    folder, models = files
    doc = _open(folder, models["debian/yolov3-tiny"]).to_dict(detail=False)
    lines = [n.get("box", []) for n in doc["graphs"][0]["nodes"]]
    assert lines[0] == ["+ leaky", "16 filters, 3×3/1, batch norm"]
    assert lines[1] == ["2×2/2"]
    assert lines[15] == ["255 filters, 1×1/1"]
    assert lines[16] == ["classes 80"]
    assert lines[20] == ["layers -1,8"]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_boxes_draw_the_box_lines_then_the_weights(files, tmp_path):
    """app/graph-view.js's op boxes (tests/box_check.mjs in node) of yolov3-tiny: the
    document's box lines, then the weights it reads, four at most."""
    folder, models = files
    path = tmp_path / "yolo.json"
    path.write_text(_open(folder, models["debian/yolov3-tiny"]).dumps())
    run = subprocess.run(["node", "--no-warnings", BOX_SCRIPT, str(path)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    boxes = json.loads(run.stdout)
    assert boxes[0] == {"op": "convolutional", "title": "convolutional",
                        "lines": ["+ leaky", "16 filters, 3×3/1, batch norm",
                                  "weights ⟨16×3×3×3⟩", "biases ⟨16⟩", "scales ⟨16⟩",
                                  "rolling_mean ⟨16⟩", "+1 more"]}
    assert boxes[1]["lines"] == ["2×2/2"]
    assert boxes[15]["lines"][:2] == ["255 filters, 1×1/1"] + ["weights ⟨255×512×1×1⟩"]
