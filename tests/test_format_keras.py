"""Keras (.keras, legacy .h5, weights-only .h5) and the HDF5 reader under it.

Oracles: keras itself (it loads every file back and reports layers, classes, weight
values and node connections, see formats_keras_models.py) and h5py (every dataset's
name, dtype, shape and values, every attribute, every group's links).
"""
import io
import json
import math
import os
import subprocess
import sys
import zipfile

import pytest

import wetron
from wetron import hdf5
from wetron.formats import keras as keras_format
from wetron.source import BytesSource, FileSource

import formats_keras_models as models

np = pytest.importorskip("numpy")
h5py = pytest.importorskip("h5py")

KERAS_FILES = models.keras_files()
HDF5_KERAS_FILES = [f for f in KERAS_FILES if f.endswith(".h5")]


@pytest.fixture(scope="module")
def kdir():
    return models.keras_dir()


@pytest.fixture(scope="module")
def hdir():
    return models.h5py_dir()


@pytest.fixture(scope="module")
def k2dir():
    """Keras 2 files, written by tf_keras (skipped where it is not installed)."""
    pytest.importorskip("tf_keras")
    folder = os.path.join(models.CACHE, "keras2")
    stamp = os.path.join(folder, "VERSION")
    if not (os.path.exists(stamp) and open(stamp).read() == models.GENERATOR_VERSION):
        os.makedirs(folder, exist_ok=True)
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
                   CUDA_VISIBLE_DEVICES="")
        subprocess.run([sys.executable, models.__file__, "keras2", folder], check=True,
                       env=env, timeout=600)
        with open(stamp, "w") as f:
            f.write(models.GENERATOR_VERSION)
    return folder


# --- the HDF5 reader against h5py --------------------------------------------------------
_DTYPES = {"f2": "float16", "f4": "float32", "f8": "float64", "i1": "int8", "i2": "int16",
           "i4": "int32", "i8": "int64", "u1": "uint8", "u2": "uint16", "u4": "uint32",
           "u8": "uint64", "b1": "bool", "c8": "complex64", "c16": "complex128"}


def _dtype_name(dt):
    if dt.kind in "SUO":
        return "string"
    return _DTYPES[f"{dt.kind}{dt.itemsize}"]


def _plain(value):
    """An h5py value as the flat Python values wetron.hdf5 gives."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        if value.dtype.kind == "c":
            return [[float(x.real), float(x.imag)] for x in flat]
        return [_plain(x) for x in flat.tolist()] if value.dtype.kind in "SUO" else flat.tolist()
    if isinstance(value, np.generic):
        if np.iscomplexobj(value):
            return [float(value.real), float(value.imag)]
        return value.item()
    return value


def _same(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and
                                              not isinstance(a, bool) and a == b)


def _compare_with_h5py(source, h5, counts):
    f = hdf5.File(source)
    paths = []
    h5.visit(paths.append)
    # Every object h5py visits is reachable, as the same kind, with the same content.
    for name in [""] + paths:
        theirs = h5[name] if name else h5["/"]
        mine = f.root.get(name) if name else f.root
        assert mine is not None, name
        for key, value in theirs.attrs.items():
            assert _same(mine.attrs[key], _plain(value)), (name, key)
        assert set(mine.attrs) == set(theirs.attrs.keys()), name
        if isinstance(theirs, h5py.Group):
            assert isinstance(mine, hdf5.Group), name
            assert mine.keys() == list(theirs.keys()), name
            counts["groups"] += 1
            continue
        assert isinstance(mine, hdf5.Dataset), name
        assert mine.shape == theirs.shape, name
        assert mine.dtype.name == _dtype_name(theirs.dtype), name
        values = mine.read()
        expected = _plain(theirs[()]) if theirs.shape == () else _plain(theirs[...])
        assert _same(values[0] if theirs.shape == () else values, expected), name
        assert _same(mine.read(7), values[:7]), name
        span = mine.data_span()
        if span is not None and theirs.dtype.kind in "fiub" and theirs.dtype.byteorder != ">":
            raw = source.read(*span)
            assert raw == np.ascontiguousarray(theirs[...]).tobytes(), name
        counts["datasets"] += 1
    # And walk() meets every object exactly once, cycles included.
    walked = list(f.walk())
    assert len({o.address for _, o in walked}) == len(walked)
    return f


@pytest.mark.parametrize("name", models.H5PY_FILES)
def test_hdf5_reader_matches_h5py(hdir, name):
    path = os.path.join(hdir, name)
    counts = {"groups": 0, "datasets": 0}
    with h5py.File(path, "r") as h5:
        f = _compare_with_h5py(FileSource(path), h5, counts)
        assert counts["datasets"] >= 1
        if name.startswith("misc"):
            # Dense links/attributes (latest) and symbol tables (earliest) both read.
            assert len(f.root.get("many_links").keys()) == len(h5["many_links"].keys()) == 42
            assert f.root.get("creation_order").keys() == list(h5["creation_order"].keys())
            assert len(f.root.get("many_attributes").attrs) == 31
            chunked = f.root.get("gzip_shuffle")
            assert [x[1] for x in chunked.filters] == ["shuffle", "deflate"]
            assert chunked.chunks == (8, 5)


def test_hdf5_chunk_indexes(hdir):
    early = hdf5.File(FileSource(os.path.join(hdir, "misc_earliest.h5")))
    late = hdf5.File(FileSource(os.path.join(hdir, "misc_latest.h5")))
    assert early.root.get("resizable_2d").layout["index"] == "btree1"
    assert {late.root.get(n).layout["index"] for n in ("resizable_2d", "resizable_2d_gzip")} \
        == {"btree2"}
    assert late.root.get("many_chunks").layout["index"] == "farray"
    assert late.root.get("single_chunk").layout["index"] == "single"


def test_hdf5_superblock_versions(hdir):
    assert hdf5.File(FileSource(os.path.join(hdir, "misc_earliest.h5"))).superblock_version == 0
    assert hdf5.File(FileSource(os.path.join(hdir, "misc_latest.h5"))).superblock_version == 3


@pytest.mark.parametrize("name", HDF5_KERAS_FILES)
def test_hdf5_reader_on_keras_files(kdir, name):
    path = os.path.join(kdir, name)
    counts = {"groups": 0, "datasets": 0}
    with h5py.File(path, "r") as h5:
        _compare_with_h5py(FileSource(path), h5, counts)
    assert counts["datasets"] > 0


@pytest.mark.parametrize("name", [f for f in KERAS_FILES if f.endswith(".keras")])
def test_hdf5_reader_on_keras_archive_weights(kdir, name):
    with zipfile.ZipFile(os.path.join(kdir, name)) as z:
        data = z.read("model.weights.h5")
    counts = {"groups": 0, "datasets": 0}
    with h5py.File(io.BytesIO(data), "r") as h5:
        _compare_with_h5py(BytesSource(data, "model.weights.h5"), h5, counts)


# --- Keras models against keras -----------------------------------------------------------
def _oracle(folder, name):
    with open(os.path.join(folder, name + ".oracle.json")) as f:
        return json.load(f)


def _producer(g, value_names):
    """value name -> producing node name (graph inputs produce themselves)."""
    out = {v: v for v in g.inputs}
    for node in g.nodes:
        for v in node.outputs:
            out[v] = node.name
    return out


def _top(name):
    return name.split("/")[0].split(":")[0]


def _edges(g, weights, prefix=""):
    """Connections between layers of one model level, from the graph's values."""
    producer = _producer(g, None)
    pairs = set()
    for node in g.nodes:
        if not node.name.startswith(prefix):
            continue
        consumer = _top(node.name[len(prefix):])
        for v in node.inputs:
            if v in weights or v not in producer:
                continue
            src = producer[v]
            if not src.startswith(prefix):
                continue       # from outside this model level
            src = _top(src[len(prefix):])
            if src != consumer:
                pairs.add((src, consumer))
    return pairs


def _check_weights(m, node, expected, check_names=True):
    """Each weight keras reports is a tensor of the node with the same shape, dtype and
    values (read lazily by wetron)."""
    tensors = [m.tensors[i] for i in range(len(m.tensors))]
    by_name = {t.name: t for t in tensors}
    mine = [by_name[v] for v in node.inputs if v in by_name]
    assert len(mine) == len(expected), (node.name, [t.name for t in mine])
    unmatched = list(mine)
    for w in expected:
        want = np.asarray(w["values"], dtype=np.float64)
        found = None
        for t in unmatched:
            if list(t.dims) != w["shape"] or t.dtype != w["dtype"]:
                continue
            got = m.tensor_values(t.index, None)
            assert got["count"] == want.size and not got["truncated"]
            if np.array_equal(np.asarray(got["values"], dtype=np.float64), want):
                found = t
                break
        assert found is not None, (node.name, w["path"])
        unmatched.remove(found)
        if check_names and w["path"].rsplit("/", 1)[-1].split(":")[0] in ("kernel", "bias", "gamma", "beta",
                                                           "moving_mean", "moving_variance",
                                                           "embeddings"):
            # Where Keras' layer class names its variables, wetron names them alike.
            assert found.name.rsplit("/", 1)[-1].split(":")[0] == \
                w["path"].rsplit("/", 1)[-1].split(":")[0], (found.name, w["path"])


def _check_model(m, oracle):
    g = m.graphs[0]
    weights = {t.name for t in g.initializers}
    nodes = {}
    for node in g.nodes:
        nodes.setdefault(node.name, node)
    total = 0
    for layer in oracle["layers"]:
        if layer["class"] == "InputLayer":
            continue
        node = nodes.get(layer["path"])
        assert node is not None, (layer["path"], sorted(nodes))
        assert node.op == layer["class"], layer["path"]
        _check_weights(m, node, layer["weights"])
        total += sum(math.prod(w["shape"]) for w in layer["weights"])
    assert m.parameters == total
    # Connections: the top level, then inside each nested model.
    for level, pairs in oracle["edges"].items():
        prefix = level + "/" if level else ""
        expected = {tuple(p) for p in pairs}
        if level:     # inside a nested model: between its own layers (its inputs are outside)
            own = {name[len(prefix):] for name, cls in oracle["classes"].items()
                   if name.startswith(prefix) and cls != "InputLayer"}
            expected = {(a, b) for a, b in expected if a in own and b in own}
        assert _edges(g, weights, prefix) == expected, level
    assert [_top(v) for v in g.inputs] == oracle["inputs"]
    assert [_top(v) for v in g.outputs] == oracle["outputs"]


@pytest.mark.parametrize("name", [f for f in KERAS_FILES if not f.endswith(".weights.h5")])
def test_keras_model_matches_keras(kdir, name):
    m = wetron.open(os.path.join(kdir, name))
    assert m.format == "Keras"
    assert m.producer.startswith("keras 3.")
    assert dict(m.metadata)["keras_version"] == m.producer.split()[1]
    if name.endswith(".h5"):
        assert dict(m.metadata)["backend"] == "torch"
    _check_model(m, _oracle(kdir, name))
    json.loads(m.dumps())


def _check_weights_only(m, oracle):
    """A weights-only file: a node per layer (module path = the layer path), its tensors
    the layer's weights."""
    g = m.graphs[0]
    assert all(not n.outputs for n in g.nodes)
    by_module = {}
    for node in g.nodes:
        by_module.setdefault(node.name.rsplit("/", 1)[0] if "/" in node.name else "", []) \
            .append(node)
    total = 0
    for layer in oracle["layers"]:
        if not layer["weights"]:
            continue
        path = layer["path"]
        owners = [n for key, ns in by_module.items() for n in ns
                  if key == path or key.startswith(path + "/")]
        assert owners, (path, sorted(by_module))
        merged = wetron.model.Node("", inputs=[v for n in owners for v in n.inputs])
        merged.name = path
        _check_weights(m, merged, layer["weights"])
        total += sum(math.prod(w["shape"]) for w in layer["weights"])
    assert m.parameters == total


@pytest.mark.parametrize("name", [f for f in KERAS_FILES if f.endswith(".weights.h5")])
def test_keras_weights_file_matches_keras(kdir, name):
    m = wetron.open(os.path.join(kdir, name))
    assert m.format == "Keras" and m.format_version == "HDF5 weights (Keras 3)"
    oracle = _oracle(kdir, name)
    _check_weights_only(m, oracle)
    classes = {layer["path"]: layer["class"] for layer in oracle["layers"] if layer["weights"]}
    for node in m.graphs[0].nodes:
        module = node.name.rsplit("/", 1)[0]
        if module in classes:      # the op is the class the saved key names
            assert node.op == classes[module], node.name


def test_nested_models_are_groups(kdir):
    m = wetron.open(os.path.join(kdir, "nested.keras"))
    doc = m.to_dict()
    g = doc["graphs"][0]
    groups = {grp["path"]: grp for grp in g["groups"]}
    assert {"encoder", "encoder:1", "head"} <= set(groups)
    names = [n["name"] for n in g["nodes"]]
    assert "encoder/enc_dense" in names and "encoder:1/enc_dense" in names
    # The two calls of the nested encoder share its weights.
    first = next(n for n in m.graphs[0].nodes if n.name == "encoder/enc_dense")
    second = next(n for n in m.graphs[0].nodes if n.name == "encoder:1/enc_dense")
    assert first.inputs[1:] == second.inputs[1:] and len(first.inputs) == 3


def test_layer_config_becomes_attributes(kdir):
    m = wetron.open(os.path.join(kdir, "seq_cnn.keras"))
    conv = next(n for n in m.graphs[0].nodes if n.name == "conv1")
    attrs = {a.name: (a.type, a.value) for a in conv.attributes}
    assert attrs["filters"] == ("int", 8)
    assert attrs["kernel_size"] == ("ints", [3, 3])
    assert attrs["strides"] == ("ints", [1, 1])
    assert attrs["padding"] == ("string", "same")
    assert attrs["activation"] == ("string", "relu")
    assert attrs["kernel_initializer"][1].startswith("GlorotUniform")
    g = m.graphs[0]
    assert g.types[g.inputs[0]] == ("tensor", "float32", ("batch", 28, 28, 1), "")


def test_keras_metadata_and_cli(kdir):
    m = wetron.open(os.path.join(kdir, "rnn.keras"))
    meta = dict(m.metadata)
    assert meta["optimizer"] == "Adam" and meta["loss"] == "mse"
    assert "date_saved" in meta
    out = subprocess.run([sys.executable, "-m", "wetron", "info", "--json",
                          os.path.join(kdir, "rnn.keras")], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=os.path.join(
                             os.path.dirname(__file__), "..", "py")), check=True)
    info = json.loads(out.stdout)
    assert info["format"] == "Keras" and info["graph"]["ops"]["LSTM"] == 1
    assert info["parameters"] == m.parameters


def test_weights_are_not_read_while_parsing(kdir):
    """Parsing reads structure only: no byte of any weight's data is read."""
    path = os.path.join(kdir, "seq_cnn.h5")
    spans = []
    with h5py.File(path) as h5:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None:
                spans.append((obj.id.get_offset(), obj.id.get_storage_size()))
        h5.visititems(visit)
    assert sum(n for _, n in spans) > 10_000

    class Recording(FileSource):
        reads = []

        def _read(self, offset, length):
            self.reads.append((offset, length))
            return super()._read(offset, length)

    src = Recording(path)
    m = wetron.open(src)
    for offset, length in src.reads:
        for start, size in spans:
            assert offset + length <= start or offset >= start + size, (offset, length)
    # Tensor values are read on request, from the span the document advertises.
    t = max(m.tensors, key=lambda t: t.count)
    assert tuple(t.data) in {(s, n) for s, n in spans}


def test_keras_archive_tensor_offsets_point_into_the_archive(kdir):
    path = os.path.join(kdir, "branches.keras")
    m = wetron.open(path)
    with open(path, "rb") as f:
        blob = f.read()
    half = next(t for t in m.tensors if t.name == "half/kernel")
    assert half.dtype == "float16"
    start, length = half.data
    values = np.frombuffer(blob[start:start + length], dtype="<f2")
    assert values.tolist() == m.tensor_values(half.index, None)["values"]


def test_compressed_archive_member_still_opens(kdir, tmp_path):
    src = os.path.join(kdir, "seq_cnn.keras")
    dst = tmp_path / "deflated.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    m = wetron.open(str(dst))
    assert any("compressed" in w for w in m.warnings)
    ref = wetron.open(src)
    assert m.parameters == ref.parameters
    assert m.tensor_values(0, 5)["values"] == ref.tensor_values(0, 5)["values"]


# --- Keras 2 files (tf_keras) -----------------------------------------------------------------
@pytest.mark.parametrize("name", [n + s for n in models.KERAS2_MODELS
                                  for s in models.KERAS2_SUFFIXES])
def test_keras2_files_match_tf_keras(k2dir, name):
    m = wetron.open(os.path.join(k2dir, name))
    oracle = _oracle(k2dir, name)
    if name.endswith(".weights.h5"):
        # tf_keras records no layer names in this layout: match weights by value alone.
        flat = [w for layer in oracle["layers"] for w in layer["weights"]]
        everything = wetron.model.Node("", inputs=[t.name for t in m.graphs[0].initializers])
        _check_weights(m, everything, flat, check_names=False)
    elif name.endswith("weights.h5"):
        _check_weights_only(m, oracle)
    else:
        assert m.producer.startswith("keras 2.")
        _check_model(m, oracle)


# --- errors and robustness ----------------------------------------------------------------
def test_damaged_files_raise_model_error(kdir, tmp_path):
    data = open(os.path.join(kdir, "seq_cnn.h5"), "rb").read()
    with pytest.raises(wetron.ModelError, match="Keras"):
        wetron.open(BytesSource(data[:2000], "cut.h5"))
    archive = tmp_path / "no_config.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(wetron.ModelError, match="config.json"):
        wetron.open(str(archive))


def test_fuzzed_files_fail_cleanly(kdir, hdir):
    """Mutated real files: every failure is a ModelError, never another exception."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings, strategies as st
    blobs = [open(p, "rb").read() for p in (os.path.join(kdir, "nested.h5"),
                                             os.path.join(kdir, "branches.keras"),
                                             os.path.join(hdir, "misc_latest.h5"),
                                             os.path.join(kdir, "seq_cnn.weights.h5"))]

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(blobs) - 1), st.lists(st.tuples(st.floats(0, 1),
                                                              st.integers(0, 255)),
                                                    min_size=1, max_size=8),
           st.floats(0, 1))
    def run(which, edits, cut):
        data = bytearray(blobs[which])
        for where, value in edits:
            data[int(where * (len(data) - 1))] = value
        if cut < 0.2:
            data = data[:int(len(data) * cut * 5)]
        try:
            m = wetron.open(BytesSource(bytes(data), "fuzz"))
            m.dumps()
            for t in m.tensors[:20]:
                try:
                    m.tensor_values(t.index, 64)
                except wetron.ModelError:
                    pass
        except wetron.ModelError:
            pass

    run()


# --- the same in Pyodide ------------------------------------------------------------------
def test_same_results_in_pyodide(kdir, hdir, tmp_path):
    """Real Pyodide (Node, standard library only): the same documents and values."""
    import shutil
    from test_format_weights_pyodide import PYODIDE, REPO, SCRIPT, _cpython
    if not shutil.which("node") or not os.path.isdir(PYODIDE):
        pytest.skip("node or the pyodide npm package is missing")
    paths = [os.path.join(kdir, n) for n in ("seq_cnn.keras", "nested.h5", "rnn.weights.h5",
                                             "branches.keras")]
    paths += [os.path.join(hdir, n) for n in models.H5PY_FILES]
    script = tmp_path / "run.mjs"
    script.write_text(SCRIPT % {"pyodide": PYODIDE, "package": os.path.join(REPO, "py", "wetron")})
    run = subprocess.run(["node", str(script), json.dumps(paths)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.pop("python").startswith("3.1")
    for p in paths:
        name = os.path.basename(p)
        expected = _cpython(p)
        expected["doc"]["model"]["file"] = result[name]["doc"]["model"]["file"]
        assert result[name] == expected, name
