"""Models exported by torch (and their external-data form) read exactly as onnx reads
them, through a path, a FileSource and a BytesSource; a missing companion file is a
clear error on the tensors that need it, not a failure to open the model."""
import json
import os
import shutil

import onnx
import pytest

import models
import wetron
from test_onnx_oracle import OracleCheck, check_model

TORCH = {"torch_cnn": models.torch_cnn, "torch_transformer": models.torch_transformer,
         "torch_transformer_external": models.torch_transformer_external}


@pytest.mark.parametrize("name", list(TORCH))
def test_torch_export_matches_onnx(name):
    check = check_model(TORCH[name]())
    proto = check.proto
    assert check.doc["model"]["producer"].startswith("pytorch ")
    assert check.doc["model"]["parameters"] > 10_000
    assert len(proto.graph.initializer) > 10     # the comparison covered real weights


def test_external_data_is_read_from_the_companion_file():
    path = models.torch_transformer_external()
    model = wetron.open(path)
    doc = model.to_dict()
    external = [i for i, t in enumerate(doc["tensors"]) if t["location"] == "external"]
    inline = [i for i, t in enumerate(doc["tensors"]) if t["location"] == "inline"]
    assert external and inline          # size_threshold leaves small tensors inline
    assert {doc["tensors"][i]["file"] for i in external} == {"model.onnx.data"}
    assert not model.warnings
    # the bytes wetron points at are the bytes onnx loads for that tensor
    full = onnx.load(path)              # loads external data too
    by_name = {t.name: t for t in full.graph.initializer}
    with open(os.path.join(os.path.dirname(path), "model.onnx.data"), "rb") as f:
        companion = f.read()
    for i in external:
        t = doc["tensors"][i]
        offset, length = t["data"]
        assert companion[offset:offset + length] == by_name[t["name"]].raw_data, t["name"]


def test_missing_companion_file_is_a_clear_error(tmp_path):
    shutil.copy(models.torch_transformer_external(), tmp_path / "model.onnx")
    path = str(tmp_path / "model.onnx")
    model = wetron.open(path)           # the graph is still readable
    doc = model.to_dict()
    external = [i for i, t in enumerate(doc["tensors"]) if t["location"] == "external"]
    assert external
    for i in external:
        assert "model.onnx.data" in doc["tensors"][i]["error"]
        with pytest.raises(wetron.ModelError, match=r"model\.onnx\.data") as info:
            model.tensor_values(i, limit=10)
        assert "\n" not in str(info.value)
    assert any("model.onnx.data" in w for w in model.warnings)
    # everything else still matches onnx, and inline tensors still decode
    check = OracleCheck(path).run()
    assert not check.errors, check.report()
    inline = [i for i, t in enumerate(doc["tensors"]) if t["location"] == "inline"]
    assert inline and all(model.tensor_values(i, limit=5)["values"] for i in inline
                          if doc["tensors"][i]["shape"] != [0])


def test_external_data_of_every_dtype_with_missing_files(tmp_path):
    """Per-tensor companion files, some deleted: exactly those tensors carry an error
    naming their own file."""
    src = os.path.dirname(dict(models.feature_models())["dtypes_external_per_tensor"])
    dst = tmp_path / "m"
    shutil.copytree(src, dst)
    gone = {"float16_init", "int4_value", "bfloat16_init"}
    for name in gone:
        os.remove(dst / name)
    model = wetron.open(str(dst / "model.onnx"))
    doc = model.to_dict()
    for i, t in enumerate(doc["tensors"]):
        if t.get("file") in gone:
            assert t["file"] in t["error"]
            with pytest.raises(wetron.ModelError, match=t["file"]):
                model.tensor_values(i)
        else:
            assert "error" not in t, t
    check = OracleCheck(str(dst / "model.onnx")).run()
    assert not check.errors, check.report()


@pytest.mark.parametrize("name", ["torch_cnn", "torch_transformer"])
def test_sources_give_the_same_document(name):
    """A path, a FileSource and a BytesSource (how the browser hands bytes over) give
    the same document and values."""
    path = TORCH[name]()
    by_path = wetron.open(path)
    with open(path, "rb") as f:
        data = f.read()
    by_bytes = wetron.open(wetron.BytesSource(data, os.path.basename(path)))
    by_file = wetron.open(wetron.FileSource(path))
    expected = by_path.to_dict()
    assert by_bytes.to_dict() == expected
    assert by_file.to_dict() == expected
    for i in range(len(expected["tensors"])):
        assert by_bytes.tensor_values(i, None) == by_path.tensor_values(i, None)


def test_transformer_module_hierarchy():
    """torch writes module paths into node names; the document groups by them and
    marks the numbered encoder layers as repeats of one block."""
    doc = wetron.open(models.torch_transformer()).to_dict()
    g = doc["graphs"][0]
    paths = {grp["path"]: grp for grp in g["groups"]}
    layers = [paths[f"encoder/layer.{k}"] for k in range(3)]
    assert [lay["repeat"] for lay in layers] == [
        {"of": "layer.#", "index": k, "count": 3} for k in range(3)]
    assert "encoder/layer.1/attention/self" in paths
    for k, node in enumerate(g["nodes"]):
        group = g["node_group"][k]
        if node["name"].startswith("/encoder/layer.2/attention/self/"):
            assert g["groups"][group]["path"].startswith("encoder/layer.2/attention/self")
    json.dumps(doc, allow_nan=False)


def test_hoisted_constants_join_the_module_using_them():
    """torch hoists constants and weight identities out of modules ("Constant_12",
    "Identity_353"); the document puts each back into the innermost module holding all
    its consumers, so the top level shows the model's modules, not hundreds of them."""
    doc = wetron.open(models.torch_transformer()).to_dict()
    g = doc["graphs"][0]
    groups, node_group = g["groups"], g["node_group"]
    consumers = {}   # value index -> consuming nodes
    for k, node in enumerate(g["nodes"]):
        for v in node["in"]:
            consumers.setdefault(v, []).append(k)

    def chain(grp):   # a group and its ancestors, innermost first
        out = []
        while grp >= 0:
            out.append(grp)
            grp = groups[grp]["parent"]
        return out

    adopted = 0
    for k, node in enumerate(g["nodes"]):
        if node["op"] not in ("Constant", "Identity") or "/" in node["name"]:
            continue
        users = [c for v in node["out"] for c in consumers.get(v, [])]
        if not users or set(node["out"]) & set(g["outputs"]):
            assert node_group[k] == -1
            continue
        common = set(chain(node_group[users[0]])).intersection(*(chain(node_group[c]) for c in users[1:]))
        innermost = max(common, key=lambda grp: len(chain(grp)), default=-1)
        assert node_group[k] == innermost, node["name"]
        adopted += innermost >= 0
    assert adopted > 0
    # the figures stay whole: each group counts every node inside it
    totals = [0] * len(groups)
    for k in range(len(g["nodes"])):
        for grp in chain(node_group[k]):
            totals[grp] += 1
    assert totals == [grp["nodes"] for grp in groups]
