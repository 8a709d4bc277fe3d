"""Hostile input: mutated real model bytes (hypothesis) and hand-made attacks.

Whatever the bytes, wetron.open + to_dict + dumps + tensor_values either succeed or
raise wetron.ModelError with a one-line message naming the file; never another
exception, never a hang (pytest-timeout bounds each test).
Set WETRON_FUZZ_EXAMPLES to run more examples per seed model (default 60).
"""
import hashlib
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import models
import wetron

EXAMPLES = int(os.environ.get("WETRON_FUZZ_EXAMPLES", "60"))
NAME = "fuzzed.onnx"


def seed_models():
    node = dict(models.backend_node_models())
    features = dict(models.feature_models())
    return {
        "structure": features["structure"],          # every structural feature
        "dtypes_typed": features["dtypes_typed"],    # every dtype in typed fields
        "dtypes_raw": features["dtypes_raw"],
        "test_loop11": node["test_loop11"],          # subgraphs
        "light_squeezenet": node["data/light/light_squeezenet"],
        "torch_transformer": models.torch_transformer(),
    }


SEEDS = {}


def seed_bytes(name):
    if name not in SEEDS:
        with open(seed_models()[name], "rb") as f:
            SEEDS[name] = f.read()
    return SEEDS[name]


def check_error(e, name=NAME):
    message = str(e)
    assert "\n" not in message, message
    assert name in message, message


def exercise(data, name=NAME):
    """Open, build the document, read every tensor: success or ModelError only.
    Returns the model, or None when it was rejected."""
    try:
        model = wetron.open(wetron.BytesSource(data, name))
    except wetron.ModelError as e:
        check_error(e, name)
        return None
    doc = model.to_dict()
    assert json.loads(wetron.dumps(model))["schema"] == "wetron-graph"
    for i, t in enumerate(doc["tensors"]):
        count = 1
        for d in t["shape"]:
            count *= d
        try:
            model.tensor_values(i, limit=None if count <= 4096 else 64)
        except wetron.ModelError as e:
            check_error(e, name)
    return model


# --- mutations -----------------------------------------------------------------

def encode_varint(n):
    out = bytearray()
    n &= (1 << 70) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(data, p, end):
    v = shift = 0
    while p < end and shift < 70:
        b = data[p]
        p += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, p
        shift += 7
    return None, end


def length_fields(data, start=0, end=None, depth=0, out=None):
    """(offset, size) of the length varints of length-delimited fields, descending
    into payloads that parse as messages. Best effort: stops where parsing fails."""
    out = [] if out is None else out
    end = len(data) if end is None else end
    p = start
    while p < end and len(out) < 5000:
        tag, p = read_varint(data, p, end)
        if tag is None:
            return out
        wire = tag & 7
        if wire == 0:
            _, p = read_varint(data, p, end)
        elif wire == 1:
            p += 8
        elif wire == 5:
            p += 4
        elif wire == 2:
            at = p
            n, p = read_varint(data, p, end)
            if n is None or p + n > end:
                return out
            out.append((at, p - at))
            if depth < 12:
                length_fields(data, p, p + n, depth + 1, out)
            p += n
        else:
            return out
    return out


INTERESTING = [0, 1, 2, 7, 127, 128, 255, 1 << 14, 1 << 21, (1 << 31) - 1, 1 << 31, 1 << 32,
               (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


@st.composite
def mutated(draw, name):
    data = bytearray(seed_bytes(name))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "varint",
                                     "varint", "varint"]))
        pos = draw(st.integers(0, max(0, size - 1)))
        if kind == "flip" and size:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete" and size:
            del data[pos:pos + draw(st.integers(1, 32))]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "varint":
            fields = length_fields(bytes(data))
            if fields:
                at, n = fields[draw(st.integers(0, len(fields) - 1))]
                value = draw(st.one_of(st.sampled_from(INTERESTING),
                                       st.integers(0, (1 << 64) - 1)))
                old, _ = read_varint(data, at, at + n)
                if draw(st.booleans()) and old is not None:
                    value = max(0, old + draw(st.integers(-8, 8)))   # off by a little
                data[at:at + n] = encode_varint(value)
    return bytes(data)


def parse_tree(data, depth=0):
    """A protobuf message as [[field, wire, value], ...]; a length-delimited value is
    a subtree when its payload parses as a message, else bytes. None if `data` is not
    a message."""
    fields, p, end = [], 0, len(data)
    while p < end:
        tag, p = read_varint(data, p, end)
        if tag is None or tag >> 3 == 0:
            return None
        wire = tag & 7
        if wire == 0:
            value, p = read_varint(data, p, end)
            if value is None:
                return None
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            if p + n > end:
                return None
            value, p = data[p:p + n], p + n
        elif wire == 2:
            n, p = read_varint(data, p, end)
            if n is None or p + n > end:
                return None
            payload, p = data[p:p + n], p + n
            sub = parse_tree(payload, depth + 1) if depth < 16 and payload else None
            value = sub if sub else payload
        else:
            return None
        fields.append([tag >> 3, wire, value])
    return fields


def serialize(tree):
    out = bytearray()
    for number, wire, value in tree:
        out += encode_varint(number << 3 | wire)
        if wire == 0:
            out += encode_varint(value)
        elif wire in (1, 5):
            out += value
        else:
            payload = serialize(value) if isinstance(value, list) else value
            out += encode_varint(len(payload)) + payload
    return bytes(out)


TREES = {}


def seed_tree(name):
    if name not in TREES:
        TREES[name] = parse_tree(seed_bytes(name))
    return TREES[name]


def walk(tree, path=()):
    """Paths (tuples of indices) of every field in the tree."""
    for i, f in enumerate(tree):
        yield path + (i,)
        if isinstance(f[2], list):
            yield from walk(f[2], path + (i,))


def replaced(tree, path, make):
    """A copy of `tree` in which the field list holding `path[-1]` becomes
    make(list, index); only the lists along the path are copied."""
    tree = list(tree)
    if len(path) == 1:
        return make(tree, path[0])
    i = path[0]
    f = list(tree[i])
    f[2] = replaced(f[2], path[1:], make)
    tree[i] = f
    return tree


@st.composite
def restructured(draw, name):
    """Structure-aware mutations: lengths stay consistent, so the parser gets deep
    into the model before it meets the change."""
    tree = seed_tree(name)
    paths = list(walk(tree))
    for _ in range(draw(st.integers(1, 3))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        kind = draw(st.sampled_from(["value", "delete", "duplicate", "renumber", "bytes",
                                     "graft", "rewire"]))
        donor = None
        if kind == "graft":   # a message from elsewhere in the model, put here
            subtrees = [p for p in paths if len(p) >= 2]
            if subtrees:
                node = tree
                for i in subtrees[draw(st.integers(0, len(subtrees) - 1))][:-1]:
                    node = node[i][2]
                donor = node[draw(st.integers(0, len(node) - 1))]
        value = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, (1 << 64) - 1)))
        blob = draw(st.binary(max_size=24))
        number = draw(st.integers(1, 30))

        def make(fields, i, kind=kind, donor=donor, value=value, blob=blob, number=number):
            f = list(fields[i])
            if kind == "value" and f[1] == 0:
                f[2] = value
            elif kind == "delete":
                return fields[:i] + fields[i + 1:]
            elif kind == "duplicate":
                return fields[:i + 1] + [f] + fields[i + 1:]
            elif kind == "renumber":
                f[0] = number
            elif kind == "bytes" and f[1] == 2:
                f[2] = blob
            elif kind == "graft" and donor is not None:
                return fields[:i] + [list(donor)] + fields[i:]
            elif kind == "rewire" and f[1] == 0:
                f[1], f[2] = 2, blob      # a scalar becomes a length-delimited field
            fields[i] = f
            return fields
        tree = replaced(tree, path, make)
        paths = list(walk(tree))
        if not paths:
            break
    return serialize(tree)


class Sample:
    """Bytes with a short repr (hypothesis prints failing examples; the bytes are
    saved to a file instead)."""
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __repr__(self):
        name = hashlib.sha1(self.data).hexdigest()[:12]
        return f"<{len(self.data)} bytes: tests/.cache/fuzz-failures/{name}.onnx>"


FAILURES = os.path.join(models.CACHE, "fuzz-failures")


def exercise_or_save(data):
    """exercise(), keeping a failing input on disk for the report and for debugging."""
    try:
        exercise(data)
    except Exception:
        os.makedirs(FAILURES, exist_ok=True)
        path = os.path.join(FAILURES, hashlib.sha1(data).hexdigest()[:12] + ".onnx")
        with open(path, "wb") as f:
            f.write(data)
        raise


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(seed_models()))
def test_mutated_models(name):
    """Byte-level mutations: flips, inserts, deletes, truncation, spliced varints."""
    assert exercise(seed_bytes(name)) is not None   # the unmutated seed opens

    @FUZZ
    @given(mutated(name).map(Sample))
    def run(sample):
        exercise_or_save(sample.data)
    run()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(seed_models()))
def test_restructured_models(name):
    """Protobuf-aware mutations that keep every length consistent."""
    assert serialize(seed_tree(name)) == seed_bytes(name)   # the tree is faithful

    @FUZZ
    @given(restructured(name).map(Sample))
    def run(sample):
        exercise_or_save(sample.data)
    run()


# --- hand-made hostile files -----------------------------------------------------

def field(number, value, wire=None):
    """One protobuf field: bytes -> length-delimited, int -> varint."""
    if isinstance(value, (bytes, bytearray)):
        return encode_varint(number << 3 | 2) + encode_varint(len(value)) + bytes(value)
    return encode_varint(number << 3 | (wire or 0)) + encode_varint(value)


def onnx_model(graph, ir=8, extra=b""):
    opset = field(1, b"") + field(2, 18)
    return field(1, ir) + field(2, b"hostile") + field(8, opset) + field(7, graph) + extra


def value_info(name, type_bytes=b""):
    return field(1, name.encode()) + (field(2, type_bytes) if type_bytes else b"")


def nest(inner, depth, wrap):
    """`inner` wrapped `depth` times; wrap(length) -> (prefix, suffix) of one level
    around a payload of that length. Linear time: lengths are computed inside out,
    bytes written outside in (plain concatenation would copy quadratically)."""
    prefixes, suffixes, length = [], [], len(inner)
    for _ in range(depth):
        prefix, suffix = wrap(length)
        prefixes.append(prefix)
        suffixes.append(suffix)
        length += len(prefix) + len(suffix)
    return b"".join(reversed(prefixes)) + inner + b"".join(suffixes)


def tag(number, wire=2):
    return encode_varint(number << 3 | wire)


def nested_graphs(depth):
    """If-nodes whose then_branch is a graph holding the next If, `depth` deep."""
    attr_fields = field(1, b"then_branch") + field(20, 5)
    node_fields = field(1, b"c") + field(2, b"y") + field(4, b"If")

    def wrap(graph_len):        # graph { node { attribute { g: <graph> } } name: "g" }
        attr_head = attr_fields + tag(6) + encode_varint(graph_len)
        attr_len = len(attr_head) + graph_len
        node_head = node_fields + tag(5) + encode_varint(attr_len)
        node_len = len(node_head) + attr_len
        return tag(1) + encode_varint(node_len) + node_head + attr_head, field(2, b"g")
    return onnx_model(nest(field(2, b"innermost"), depth, wrap))


def nested_types(depth):
    def wrap(type_len):         # TypeProto { sequence_type { elem_type: <type> } }
        inner = tag(1) + encode_varint(type_len)
        return tag(4) + encode_varint(len(inner) + type_len) + inner, b""
    t = nest(field(1, field(1, 1)), depth, wrap)     # innermost: tensor_type float32
    return onnx_model(field(11, value_info("x", t)) + field(2, b"g"))


def tensor(name, dtype, dims, *fields):
    body = b"".join(field(1, d) for d in dims) + field(2, dtype) + field(8, name.encode())
    return body + b"".join(fields)


def external(name, location, offset=None, length=None):
    entries = field(13, field(1, b"location") + field(2, location.encode()))
    if offset is not None:
        entries += field(13, field(1, b"offset") + field(2, str(offset).encode()))
    if length is not None:
        entries += field(13, field(1, b"length") + field(2, str(length).encode()))
    return tensor(name, 1, [4], entries, field(14, 1))


def graph_with(*tensors):
    return onnx_model(b"".join(field(5, t) for t in tensors) + field(2, b"g"))


def unsqueeze(axes):
    """Unsqueeze (opset 11: axes as an attribute) of a float[3] input."""
    node = helper.make_node("Unsqueeze", ["x"], ["y"], axes=axes)
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    return model.SerializeToString()


def sparse_with_dims(dims):
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([1.0], np.float32), "s"),
        numpy_helper.from_array(np.array([0], np.int64), "s_indices"), dims)
    graph = helper.make_graph([], "g", [], [], sparse_initializer=[sparse])
    return helper.make_model(graph).SerializeToString()


MUST_FAIL = {
    "empty file": b"",
    "one byte": b"\x08",
    "text": b"hello, this is not a model\n" * 20,
    "png": b"\x89PNG\r\n\x1a\n" + bytes(200),
    "zip": b"PK\x03\x04" + bytes(200),
    "json": b'{"a": [1, 2, 3]}',
    "html": b"<!DOCTYPE html><html><body>404</body></html>",
    "nul bytes": bytes(1000),
    "huge length at top level": field(1, 8) + encode_varint(7 << 3 | 2) + encode_varint(1 << 62),
    "length past the end": field(1, 8) + encode_varint(7 << 3 | 2) + encode_varint(50) + b"x",
    "11-byte varint": field(1, 8) + b"\x10" + b"\xff" * 10 + b"\x01",
    "group wire type": field(1, 8) + encode_varint(7 << 3 | 3) + b"\x00" * 8,
    "invalid wire type 7": field(1, 8) + encode_varint(7 << 3 | 7) + b"\x00" * 8,
    "no graph": field(1, 8) + field(2, b"producer"),
}

MAY_OPEN = {
    "subgraphs nested 20 deep": nested_graphs(20),
    "subgraphs nested 100 deep": nested_graphs(100),
    "subgraphs nested 100000 deep (recursion bomb)": nested_graphs(100_000),
    "types nested 100000 deep": nested_types(100_000),
    "huge dims, little data": graph_with(tensor("w", 1, [1 << 40, 1 << 40], field(9, b"\0" * 16))),
    "huge dims, no data": graph_with(tensor("w", 1, [(1 << 63) - 1, 1 << 62])),
    "negative dim": graph_with(tensor("w", 1, [(1 << 64) - 5], field(9, b"\0" * 16))),
    "too few typed values": graph_with(tensor("w", 1, [1000], field(4, b"\0" * 8))),
    "raw data shorter than shape": graph_with(tensor("w", 7, [3], field(9, b"\1" * 9))),
    "string tensor as raw": graph_with(tensor("s", 8, [2], field(9, b"ab"))),
    "unknown dtype": graph_with(tensor("u", 99, [2], field(9, b"ab"))),
    "undefined dtype": graph_with(tensor("u", 0, [2], field(9, b"ab"))),
    "thousands of dims": graph_with(tensor("d", 1, [1] * 5000)),
    "external: parent directory": graph_with(external("e", "../secret.bin")),
    "external: absolute path": graph_with(external("e", "/etc/passwd")),
    "external: windows drive": graph_with(external("e", "C:\\Windows\\win.ini")),
    "external: empty location": graph_with(external("e", "")),
    "external: missing file": graph_with(external("e", "weights.bin")),
    "external: bad offset": graph_with(external("e", "weights.bin", offset="x")),
    "external: negative offset": graph_with(external("e", "weights.bin", -5, 16)),
    # values in a repeated field that does not belong to the tensor's dtype
    "int32 tensor, float_data": graph_with(tensor("w", 6, [2], field(4, b"\0" * 8))),
    "int8 tensor, double_data": graph_with(tensor("w", 3, [1], field(10, b"\0" * 8))),
    "float16 tensor, float_data": graph_with(tensor("w", 10, [2], field(4, b"\0" * 8))),
    "bool tensor, string_data": graph_with(tensor("w", 9, [1], field(6, b"ab"))),
    "int64 tensor, string_data": graph_with(tensor("w", 7, [1], field(6, b"ab"))),
    "int4 tensor, float_data": graph_with(tensor("w", 22, [2], field(4, b"\0" * 8))),
    "float6 tensor, float_data": graph_with(tensor("w", 27, [2], field(4, b"\0" * 8))),
    "float32 tensor, int32_data": graph_with(tensor("w", 1, [2], field(5, b"\1\2"))),
    "string tensor, int64_data": graph_with(tensor("w", 8, [2], field(7, b"\1\2"))),
    "double_data of 7 bytes": graph_with(tensor("w", 11, [1], field(10, b"\0" * 7))),
    "double_data as a 70-bit varint": graph_with(
        tensor("w", 11, [1], tag(10, 0) + b"\xff" * 9 + b"\x7f")),
    "float_data as a varint": graph_with(tensor("w", 1, [1], field(4, 5))),
    "unnamed initializer": graph_with(tensor("", 1, [2], field(9, b"\0" * 8))),
    "unnamed graph input": onnx_model(field(11, value_info("", field(1, field(1, 1)))) +
                                      field(2, b"g")),
    "duplicate initializer names": graph_with(tensor("w", 1, [2], field(9, b"\0" * 8)),
                                              tensor("w", 7, [1], field(9, b"\0" * 8))),
    "a value produced twice, read in between": onnx_model(
        b"".join(field(1, field(1, i) + field(2, o) + field(4, b"Relu"))
                 for i, o in ((b"a", b"x"), (b"x", b"y"), (b"b", b"x"))) + field(2, b"g")),
    "a cycle of nodes": onnx_model(
        b"".join(field(1, field(1, i) + field(2, o) + field(4, b"Relu"))
                 for i, o in ((b"y", b"x"), (b"x", b"y"))) + field(2, b"g")),
    "Unsqueeze with repeated axes": unsqueeze([0, 0]),
    "Unsqueeze with axes out of range": unsqueeze([5, -10]),
    "sparse tensor with negative dims": sparse_with_dims([-1, 2 ** 62, 4]),
    "sparse tensor with huge dims": sparse_with_dims([2 ** 62, 2 ** 62]),
    # names from the file end up in messages: a newline must not split them
    "newline in a tensor name": graph_with(tensor("a\nb", 7, [3], field(9, b"\1" * 9))),
    "newline in an external location": graph_with(external("e", "x\ny.bin")),
    "attribute with 10 MB of packed ints": onnx_model(
        field(1, field(4, b"Op") + field(5, field(1, b"a") + field(20, 7) +
                                         field(8, b"\x01" * 10_000_000))) + field(2, b"g")),
    "many nodes": onnx_model(b"".join(field(1, field(4, b"Relu") + field(1, b"x") +
                                                field(2, b"x")) for _ in range(100_000))),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", list(MUST_FAIL))
def test_not_a_model_is_rejected(case):
    with pytest.raises(wetron.ModelError) as info:
        wetron.open(wetron.BytesSource(MUST_FAIL[case], NAME))
    check_error(info.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(MAY_OPEN))
def test_hostile_model(case):
    exercise(MAY_OPEN[case])


def test_nesting_within_limits_opens():
    model = exercise(nested_graphs(20))
    assert model is not None and len(model.to_dict()["graphs"]) == 21


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", ["external: parent directory", "external: absolute path"])
def test_external_data_outside_the_folder_is_not_read(tmp_path, case):
    """A location escaping the model's folder is refused even when the file exists."""
    (tmp_path / "secret.bin").write_bytes(b"\x01" * 64)
    inner = tmp_path / "models"
    inner.mkdir()
    data = MAY_OPEN[case]
    path = inner / "model.onnx"
    path.write_bytes(data)
    model = wetron.open(str(path))
    t = model.to_dict()["tensors"][0]
    assert t["location"] == "external" and "error" in t
    with pytest.raises(wetron.ModelError) as info:
        model.tensor_values(0)
    check_error(info.value, "model.onnx")


@pytest.mark.timeout(30)
def test_truncated_real_model_on_disk(tmp_path):
    """Truncated and missing files by path: ModelError naming the file."""
    data = seed_bytes("light_squeezenet")
    for cut in (1, 2, 10, 100, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.onnx"
        path.write_bytes(data[:cut])
        try:
            exercise(path.read_bytes(), "cut.onnx")
            model = wetron.open(str(path))
            model.to_dict()
        except wetron.ModelError as e:
            check_error(e, "cut.onnx")
    with pytest.raises(wetron.ModelError) as info:
        wetron.open(str(tmp_path / "missing.onnx"))
    check_error(info.value, "missing.onnx")
    with pytest.raises(wetron.ModelError) as info:   # a folder opens as its model file
        wetron.open(str(tmp_path))
    check_error(info.value, "cut.onnx")
