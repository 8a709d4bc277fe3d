"""Real test models, written by real frameworks and cached under tests/.cache/.

Other test files, browser tests and benchmarks import these functions; keep the
names stable. Every function returns paths into the cache, generating on first use.
The cache is keyed by the onnx/torch versions that wrote the files, and each set is
built in a temporary folder that is renamed into place when complete, so a run that
is interrupted (or two runs at once) never leaves a half-written set behind.
"""
import json
import os
import shutil
import tempfile
import warnings

import onnx

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
MARKER = "complete.json"   # written last: the set is whole


def _onnx_key():
    return f"onnx-{onnx.__version__}"


def _torch_key():
    from importlib.metadata import version   # importing torch itself takes a second
    return f"onnx-{onnx.__version__}-torch-{version('torch').replace('+', '_')}"


def _cached_set(key, build):
    """The folder CACHE/key, built once by build(folder) -> json-able index."""
    folder = os.path.join(CACHE, key)
    marker = os.path.join(folder, MARKER)
    if not os.path.exists(marker):
        os.makedirs(CACHE, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=key + ".tmp-", dir=CACHE)
        os.chmod(tmp, 0o755)
        try:
            index = build(tmp)
            with open(os.path.join(tmp, MARKER), "w") as f:
                json.dump(index, f)
            if os.path.isdir(folder):          # left over without a marker
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rename(tmp, folder)
            except OSError:                    # another process got there first
                if not os.path.exists(marker):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    with open(marker) as f:
        return folder, json.load(f)


# --- the onnx package's backend test models ----------------------------------

def _build_node_models(folder):
    import numpy as np
    from onnx.backend.test.case import node
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases()
    names = []
    for case in cases:
        with open(os.path.join(folder, case.name + ".onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        names.append(case.name)
    return names


def shipped_data_models():
    """(name, path) of the models shipped in the onnx wheel's test data: every
    */model.onnx, and light/*.onnx (real architectures, ResNet-50 and others)."""
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    out = []
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if "model.onnx" in files:
            out.append(("data/" + rel, os.path.join(dirpath, "model.onnx")))
        elif rel == "light":
            out += [(f"data/light/{f[:-5]}", os.path.join(dirpath, f))
                    for f in files if f.endswith(".onnx")]
    return sorted(out)


def backend_node_models():
    """(name, path) of every model of onnx.backend.test.case.node.collect_testcases()
    (~1,900) plus the onnx wheel's shipped test data models (~150)."""
    folder, names = _cached_set(_onnx_key() + "-node", _build_node_models)
    return [(n, os.path.join(folder, n + ".onnx")) for n in names] + shipped_data_models()


# --- models written with onnx.helper: every dtype and every structural feature --

def dtype_samples():
    """{TensorProto dtype code: numpy array} with the values worth testing for each
    element type: every code of the 8-bit and smaller floats, the special values
    (signed zeros, subnormals, inf, NaN) of the wider ones, extremes of the ints,
    odd element counts for packed sub-byte types."""
    import ml_dtypes
    import numpy as np
    from onnx import TensorProto as T
    rng = np.random.default_rng(7)
    f32 = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, -1.17549435e-38]
    out = {
        T.FLOAT: np.concatenate([np.array(f32, np.float32),
                                 rng.standard_normal(54).astype(np.float32)]).reshape(8, 8),
        T.DOUBLE: np.concatenate([np.array(f32 + [5e-324, 1.7976931348623157e308]),
                                  rng.standard_normal(20)]).reshape(4, 8),
    }
    f16 = [0, 0x8000, 1, 0x3FF, 0x400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF]
    bf16 = [0, 0x8000, 1, 0x7F, 0x80, 0x3F80, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF]
    for code, specials, dt in ((T.FLOAT16, f16, np.float16), (T.BFLOAT16, bf16, ml_dtypes.bfloat16)):
        bits = np.concatenate([specials, rng.integers(0, 1 << 16, 52)]).astype(np.uint16)
        out[code] = bits.view(dt).reshape(4, 16)
    all_bytes = np.arange(256, dtype=np.uint8)
    for code, dt in ((T.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
                     (T.FLOAT8E4M3FNUZ, ml_dtypes.float8_e4m3fnuz),
                     (T.FLOAT8E5M2, ml_dtypes.float8_e5m2),
                     (T.FLOAT8E5M2FNUZ, ml_dtypes.float8_e5m2fnuz),
                     (T.FLOAT8E8M0, ml_dtypes.float8_e8m0fnu)):
        out[code] = all_bytes.view(dt).reshape(16, 16)
    for code, dt, ncodes in ((T.UINT4, ml_dtypes.uint4, 16), (T.INT4, ml_dtypes.int4, 16),
                             (T.FLOAT4E2M1, ml_dtypes.float4_e2m1fn, 16),
                             (T.UINT2, ml_dtypes.uint2, 4), (T.INT2, ml_dtypes.int2, 4),
                             (T.FLOAT6E2M3, ml_dtypes.float6_e2m3fn, 64),
                             (T.FLOAT6E3M2, ml_dtypes.float6_e3m2fn, 64)):
        # every code twice over, plus one: an odd count leaves a partly used last byte
        codes = (np.arange(2 * ncodes + 1) % ncodes).astype(np.uint8)
        out[code] = codes.view(dt).reshape(1, -1)
    for code, dt in ((T.INT8, np.int8), (T.UINT8, np.uint8), (T.INT16, np.int16),
                     (T.UINT16, np.uint16), (T.INT32, np.int32), (T.UINT32, np.uint32),
                     (T.INT64, np.int64), (T.UINT64, np.uint64)):
        info = np.iinfo(dt)
        edge = [info.min, info.max, 0, 1, info.max - 1] + ([-1, info.min + 1] if info.min else [])
        rand = rng.integers(info.min, info.max, 9, dtype=dt, endpoint=True)
        out[code] = np.concatenate([np.array(edge, dt), rand]).reshape(2, -1)
    out[T.BOOL] = np.array([[True, False, True], [True, True, False]])
    out[T.STRING] = np.array([b"", b"abc", "h\u00e9llo \u2713".encode(), b"\xff\xfebad utf-8",
                              b"a\x00b", b"x" * 300], dtype=object)
    cplx = [1 + 2j, complex(-0.0, -0.0), complex(np.nan, 1), complex(np.inf, -np.inf), 3.5 - 1e-40j]
    out[T.COMPLEX64] = np.array(cplx, np.complex64)
    out[T.COMPLEX128] = np.array(cplx + [complex(5e-324, 1e308)], np.complex128)
    return out


def _typed_tensor(name, code, arr):
    """The tensor stored in the typed repeated fields (int32_data, float_data, ...)."""
    import numpy as np
    from onnx import TensorProto, helper
    if arr.dtype.itemsize == 1 and "FLOAT8" in TensorProto.DataType.Name(code):
        # make_tensor would convert (saturate, round) the values: store the codes as they are
        t = TensorProto(name=name, data_type=code, dims=arr.shape)
        t.int32_data[:] = arr.view(np.uint8).ravel().tolist()
        return t
    return helper.make_tensor(name, code, arr.shape, arr.ravel() if code != TensorProto.STRING
                              else arr.ravel().tolist(), raw=False)


def _raw_tensor(name, code, arr):
    from onnx import TensorProto, numpy_helper
    if code == TensorProto.STRING:     # strings have no raw form
        return _typed_tensor(name, code, arr)
    t = numpy_helper.from_array(arr, name)
    assert t.data_type == code and t.HasField("raw_data"), (name, t.data_type)
    return t


def _dtypes_model(make_tensor):
    """Every dtype as an initializer and as a Constant node's tensor attribute."""
    from onnx import TensorProto, helper
    inits, nodes, outputs = [], [], []
    for code, arr in sorted(dtype_samples().items()):
        name = TensorProto.DataType.Name(code).lower()
        inits.append(make_tensor(f"{name}_init", code, arr))
        nodes.append(helper.make_node("Constant", [], [f"{name}_const"], name=f"/{name}/Constant",
                                      value=make_tensor(f"{name}_value", code, arr[..., ::-1])))
        outputs.append(helper.make_tensor_value_info(f"{name}_const", code, arr.shape))
    # a scalar and an empty tensor
    import numpy as np
    inits.append(make_tensor("scalar", TensorProto.FLOAT, np.array(1.5, np.float32)))
    inits.append(make_tensor("empty", TensorProto.INT64, np.zeros((0, 3), np.int64)))
    graph = helper.make_graph(nodes, "dtypes", [], outputs, inits)
    return helper.make_model(graph, producer_name="wetron-tests",
                             opset_imports=[helper.make_opsetid("", 21)])


def _type(kind, *args, denotation=""):
    from onnx import TypeProto, helper
    if kind == "tensor":
        t = helper.make_tensor_type_proto(*args)
    elif kind == "sparse":
        t = helper.make_sparse_tensor_type_proto(*args)
    elif kind == "sequence":
        t = helper.make_sequence_type_proto(*args)
    elif kind == "optional":
        t = helper.make_optional_type_proto(*args)
    elif kind == "map":
        t = helper.make_map_type_proto(*args)
    elif kind == "opaque":
        t = TypeProto()
        t.opaque_type.domain, t.opaque_type.name = args
    else:
        t = TypeProto()
    if denotation:
        t.denotation = denotation
    return t


def _structure_model():
    """One model using every part of the ONNX format the graph document describes."""
    import numpy as np
    from onnx import AttributeProto, TensorProto as T, helper, numpy_helper

    def vi(name, typ):
        return helper.make_value_info(name, typ)
    f32 = T.FLOAT
    seq = _type("sequence", _type("tensor", f32, [2]))
    deep = _type("sequence", _type("sequence", _type("map", T.INT64, _type(
        "optional", _type("tensor", T.INT32, ["n", None])))))
    inputs = [
        vi("x", _type("tensor", f32, ["batch", 3, None])),
        vi("rank_unknown", _type("tensor", T.INT64, None)),
        vi("seq", seq),
        vi("map", _type("map", T.STRING, _type("tensor", f32, [1]))),
        vi("opt", _type("optional", seq)),
        vi("deep", deep),
        vi("sparse_in", _type("sparse", f32, [10, 10])),
        vi("handle", _type("opaque", "custom.domain", "Handle")),
        vi("image", _type("tensor", T.UINT8, [1, 3, 224, 224], denotation="IMAGE")),
        vi("undefined_dtype", _type("tensor", T.UNDEFINED, [1])),
        vi("unknown_type", _type("unknown")),
        vi("w_in", _type("tensor", f32, [2, 2])),   # an input that is also an initializer
    ]
    sp2 = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([1.5, -2.0, 3.25], np.float32), "sp2d"),
        numpy_helper.from_array(np.array([[0, 1], [2, 3], [3, 4]], np.int64), "sp2d_indices"),
        [4, 5])
    sp1 = helper.make_sparse_tensor(
        helper.make_tensor("sp1d", T.INT32, [2], [7, -9]),      # typed fields
        helper.make_tensor("sp1d_indices", T.INT64, [2], [1, 8]), [10])
    inits = [numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(2, 2), "w_in"),
             numpy_helper.from_array(np.array([0.5, 1.5], np.float32), "clip_max")]

    # subgraphs: If with branches, one branch holding a Loop whose body reads outer values
    loop_body = helper.make_graph(
        [helper.make_node("Add", ["carried", "a"], ["carried_out"], name="/loop/Add"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "loop_body",
        [helper.make_tensor_value_info("iter", T.INT64, []),
         helper.make_tensor_value_info("cond_in", T.BOOL, []),
         helper.make_tensor_value_info("carried", f32, None)],
        [helper.make_tensor_value_info("cond_out", T.BOOL, []),
         helper.make_tensor_value_info("carried_out", f32, None)])
    then_branch = helper.make_graph(
        [helper.make_node("Loop", ["trip", "", "a"], ["looped"], name="/then/Loop", body=loop_body)],
        "then_branch", [], [helper.make_tensor_value_info("looped", f32, None)],
        [numpy_helper.from_array(np.array(3, np.int64), "trip")])
    else_branch = helper.make_graph(
        [helper.make_node("Neg", ["a"], ["negated"])], "else_branch", [],
        [helper.make_tensor_value_info("negated", f32, None)])
    tiny = helper.make_graph([helper.make_node("Identity", ["a"], ["tiny_out"])], "tiny", [],
                             [helper.make_tensor_value_info("tiny_out", f32, None)])
    tiny2 = helper.make_graph([], "empty_graph", [], [])

    all_attrs = helper.make_node(
        "AllAttributes", ["a", "", "x"], ["all_out", "", "all_last"], name="/custom/AllAttributes",
        domain="custom.domain", doc_string="every attribute type",
        f=0.25, f_nan=float("nan"), f_inf=float("-inf"), i=-7, i_big=2 ** 62,
        s="h\u00e9llo", s_bad=b"\xff\xfe", floats=[1.5, float("nan"), float("-inf")],
        ints=[1, -2, 2 ** 40], strings=[b"a", "\u2713".encode(), b"\xc3"],
        t=numpy_helper.from_array(np.array([1, 2], np.float16), "attr_t"),
        tensors=[numpy_helper.from_array(np.array([-1, 1], np.int8), "attr_ts0"),
                 helper.make_tensor("attr_ts1", T.STRING, [2], [b"p", b"q"])],
        g=tiny, graphs=[tiny, tiny2], sparse_tensor=sp1,
        sparse_tensors=[sp2, sp1],
        tp=seq, tps=[_type("tensor", T.INT8, [3]), _type("map", T.INT64, seq)])
    all_attrs.attribute.append(helper.make_attribute("documented", 3, doc_string="an attribute doc"))
    all_attrs.attribute.append(helper.make_attribute("no_ints", [], attr_type=AttributeProto.INTS))
    add = helper.make_node("Add", ["x", "w_in"], ["a"], name="/block/Add", doc_string="x + w")
    add.metadata_props.add(key="origin", value="m\u00fcnchen")
    nodes = [
        add,
        helper.make_node("Clip", ["a", "", "clip_max"], ["clipped"], name="/block/Clip"),
        helper.make_node("Dropout", ["clipped", "", ""], ["dropped", ""], name="/block/Dropout"),
        all_attrs,
        helper.make_node("If", ["cond"], ["branched"], name="/If",
                         then_branch=then_branch, else_branch=else_branch),
        helper.make_node("MyFn", ["dropped"], ["fn_out"], domain="custom.fn", alpha=2.0),
        helper.make_node("MyFn", ["fn_out"], ["fn_out2"], domain="custom.fn", overload="v2",
                         alpha=3.0),
    ]
    graph = helper.make_graph(
        nodes, "structure", inputs + [vi("cond", _type("tensor", T.BOOL, []))],
        [helper.make_tensor_value_info("fn_out2", f32, ["batch", 3, None]),
         helper.make_tensor_value_info("branched", f32, None), vi("all_last", deep)],
        inits, doc_string="the main graph",
        value_info=[helper.make_tensor_value_info("a", f32, ["batch", 3, 2]),
                    helper.make_value_info("clipped", _type("unknown")),
                    helper.ValueInfoProto(name="dropped")],   # a value_info without a type
        sparse_initializer=[sp2, sp1])
    graph.metadata_props.add(key="graph_key", value="graph value")

    # functions: attributes with defaults, references to them, a subgraph, overloads
    alpha = helper.make_node("Constant", [], ["alpha_c"])
    alpha.attribute.append(helper.make_attribute_ref("value_float", AttributeProto.FLOAT,
                                                     ref_attr_name="alpha"))
    body = [
        alpha,
        helper.make_node("Mul", ["X", "alpha_c"], ["scaled"]),
        helper.make_node("If", ["flag"], ["Y"], then_branch=helper.make_graph(
            [helper.make_node("Identity", ["scaled"], ["t_out"])], "fn_then", [],
            [helper.make_tensor_value_info("t_out", f32, None)]),
            else_branch=helper.make_graph(
            [helper.make_node("Neg", ["scaled"], ["e_out"])], "fn_else", [],
            [helper.make_tensor_value_info("e_out", f32, None)])),
    ]
    flag = helper.make_node("Constant", [], ["flag"], value=helper.make_tensor("flag_v", T.BOOL, [], [1]))
    fn = helper.make_function("custom.fn", "MyFn", ["X"], ["Y"], [flag] + body,
                              [helper.make_opsetid("", 21)], attributes=["alpha"],
                              attribute_protos=[helper.make_attribute("beta", 2.0)],
                              doc_string="scales", value_info=[
                                  helper.make_tensor_value_info("scaled", f32, None)])
    fn_v2 = helper.make_function("custom.fn", "MyFn", ["X"], ["Y"],
                                 [helper.make_node("Identity", ["X"], ["Y"])],
                                 [helper.make_opsetid("", 21)], attributes=["alpha"],
                                 overload="v2")
    fn_v2.metadata_props.add(key="fn_key", value="fn value")

    model = helper.make_model(
        graph, producer_name="wetron-tests", producer_version="1.0", domain="org.wetron.test",
        model_version=7, doc_string="A model for tests.\nSecond line: \u00e9\u2713",
        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("custom.domain", 1),
                       helper.make_opsetid("custom.fn", 1)],
        functions=[fn, fn_v2])
    model.ir_version = onnx.IR_VERSION
    helper.set_model_props(model, {"author": "\u00fc", "license": "none"})
    init_graph = helper.make_graph(
        [helper.make_node("Constant", [], ["w_new"], value=numpy_helper.from_array(
            np.ones((2, 2), np.float32), "w_new_v"))], "init", [],
        [helper.make_tensor_value_info("w_new", f32, [2, 2])],
        [numpy_helper.from_array(np.zeros(5, np.float32), "train_state")])
    algo_graph = helper.make_graph(
        [helper.make_node("Sub", ["w_in", "w_in"], ["w_next"])], "algorithm", [],
        [helper.make_tensor_value_info("w_next", f32, [2, 2])])
    model.training_info.append(helper.make_training_info(
        algo_graph, [("w_in", "w_next")], init_graph, [("w_in", "w_new")]))
    return model


def _untyped_attributes_model():
    """IR 3 files may omit AttributeProto.type: readers infer it from the value set."""
    import numpy as np
    from onnx import helper, numpy_helper
    node = helper.make_node("Custom", ["x"], ["y"], domain="legacy", f=0.5, i=3, s="text",
                            floats=[1.0, 2.0], ints=[4, 5], strings=[b"u", b"v"],
                            t=numpy_helper.from_array(np.array([1.0], np.float32), "t"))
    for a in node.attribute:
        a.ClearField("type")
    graph = helper.make_graph([node], "legacy", [helper.make_tensor_value_info("x", 1, [1])],
                              [helper.make_tensor_value_info("y", 1, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    model.ir_version = 3
    return model


def _build_feature_models(folder):
    index = {}

    def save(name, model, **kw):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        onnx.save_model(model, path, **kw)
        index[name.split("/")[0].removesuffix(".onnx")] = name
    save("dtypes_raw.onnx", _dtypes_model(_raw_tensor))
    save("dtypes_typed.onnx", _dtypes_model(_typed_tensor))
    save("dtypes_external/model.onnx", _dtypes_model(_raw_tensor), save_as_external_data=True,
         all_tensors_to_one_file=True, location="weights.bin", size_threshold=0,
         convert_attribute=True)
    save("dtypes_external_per_tensor/model.onnx", _dtypes_model(_raw_tensor),
         save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0,
         convert_attribute=True)
    save("structure.onnx", _structure_model())
    save("untyped_attributes.onnx", _untyped_attributes_model())
    return index


def feature_models():
    """(name, path) of models written with onnx.helper that use every element type
    (raw, typed fields, external data) and every structural feature of the format
    (types of all kinds, sparse tensors, all attribute types, functions, training)."""
    folder, index = _cached_set(_onnx_key() + "-features-3", _build_feature_models)
    return [(name, os.path.join(folder, rel)) for name, rel in index.items()]


# --- models exported by torch --------------------------------------------------

def _export(module, args, path, input_names, output_names, dynamic_axes):
    import torch
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated, on purpose
        torch.onnx.export(module, args, path, dynamo=False, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes)


def _cnn_module():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + identity)

    class ResNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 5, 2, 2, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = nn.Sequential(Block(16, 16, 1), Block(16, 16, 1))
            self.layer2 = nn.Sequential(Block(16, 32, 2), Block(32, 32, 1))
            self.norm = nn.BatchNorm2d(32)  # after an Add: stays a BatchNormalization node
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.norm(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(0)
    m = ResNetish()
    with torch.no_grad():   # non-trivial running statistics, so folded weights differ
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
    return m


def _transformer_module():
    import torch
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self, hidden, heads):
            super().__init__()
            self.heads, self.head = heads, hidden // heads
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)

        def forward(self, x, mask):
            b, s, _ = x.shape

            def split(t):
                return t.view(b, s, self.heads, self.head).transpose(1, 2)
            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = q @ k.transpose(-1, -2) / self.head ** 0.5 + mask
            ctx = torch.softmax(scores, -1) @ v
            return ctx.transpose(1, 2).reshape(b, s, self.heads * self.head)

    class SelfOutput(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.dense = nn.Linear(hidden, hidden)
            self.LayerNorm = nn.LayerNorm(hidden)

        def forward(self, h, x):
            return self.LayerNorm(self.dense(h) + x)

    class Attention(nn.Module):
        def __init__(self, hidden, heads):
            super().__init__()
            self.self = SelfAttention(hidden, heads)
            self.output = SelfOutput(hidden)

        def forward(self, x, mask):
            return self.output(self.self(x, mask), x)

    class Intermediate(nn.Module):
        def __init__(self, hidden, inner):
            super().__init__()
            self.dense = nn.Linear(hidden, inner)
            self.intermediate_act_fn = nn.GELU()

        def forward(self, x):
            return self.intermediate_act_fn(self.dense(x))

    class Output(nn.Module):
        def __init__(self, hidden, inner):
            super().__init__()
            self.dense = nn.Linear(inner, hidden)
            self.LayerNorm = nn.LayerNorm(hidden)

        def forward(self, h, x):
            return self.LayerNorm(self.dense(h) + x)

    class Layer(nn.Module):
        def __init__(self, hidden, heads, inner):
            super().__init__()
            self.attention = Attention(hidden, heads)
            self.intermediate = Intermediate(hidden, inner)
            self.output = Output(hidden, inner)

        def forward(self, x, mask):
            a = self.attention(x, mask)
            return self.output(self.intermediate(a), a)

    class Encoder(nn.Module):
        def __init__(self, hidden, heads, inner, layers):
            super().__init__()
            self.layer = nn.ModuleList(Layer(hidden, heads, inner) for _ in range(layers))

        def forward(self, x, mask):
            for layer in self.layer:
                x = layer(x, mask)
            return x

    class Embeddings(nn.Module):
        def __init__(self, vocab, hidden, positions):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab, hidden)
            self.position_embeddings = nn.Embedding(positions, hidden)
            self.LayerNorm = nn.LayerNorm(hidden)

        def forward(self, ids):
            pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
            return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))

    class Pooler(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.dense = nn.Linear(hidden, hidden)
            self.activation = nn.Tanh()

        def forward(self, x):
            return self.activation(self.dense(x[:, 0]))

    class Bertish(nn.Module):
        def __init__(self, vocab=500, hidden=32, heads=4, inner=64, layers=3, positions=64):
            super().__init__()
            self.embeddings = Embeddings(vocab, hidden, positions)
            self.encoder = Encoder(hidden, heads, inner, layers)
            self.pooler = Pooler(hidden)

        def forward(self, input_ids, attention_mask):
            mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
            h = self.encoder(self.embeddings(input_ids), mask)
            return h, self.pooler(h)

    torch.manual_seed(0)
    return Bertish()


def _build_torch_models(folder):
    import torch
    _export(_cnn_module(), (torch.randn(1, 3, 32, 32),), os.path.join(folder, "cnn.onnx"),
            ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}})
    ids = torch.randint(0, 500, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.int64)
    path = os.path.join(folder, "transformer.onnx")
    _export(_transformer_module(), (ids, mask), path,
            ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"],
            {"input_ids": {0: "batch", 1: "sequence"},
             "attention_mask": {0: "batch", 1: "sequence"},
             "last_hidden_state": {0: "batch", 1: "sequence"},
             "pooler_output": {0: "batch"}})
    ext = os.path.join(folder, "transformer-external")
    os.makedirs(ext)
    onnx.save_model(onnx.load(path), os.path.join(ext, "model.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    return {"cnn": "cnn.onnx", "transformer": "transformer.onnx",
            "transformer_external": "transformer-external/model.onnx"}


def _torch_model(which):
    folder, index = _cached_set(_torch_key(), _build_torch_models)
    return os.path.join(folder, index[which])


def torch_cnn():
    """A small ResNet-like CNN (conv/bn/relu/pool/residual/linear), dynamic batch."""
    return _torch_model("cnn")


def torch_transformer():
    """A small BERT-like encoder (modules encoder.layer.N.attention...), dynamic
    batch and sequence axes."""
    return _torch_model("transformer")


def torch_transformer_external():
    """The transformer saved with its tensors in a companion file 'model.onnx.data'
    beside it; returns the path of model.onnx (its folder holds both files)."""
    return _torch_model("transformer_external")


def real_models():
    """(name, path) of a handful of varied real models, for tests that need a few."""
    by_name = dict(backend_node_models())
    picks = ["data/light/light_resnet50", "data/light/light_inception_v2",
             "data/simple/test_sequence_model1", "data/pytorch-converted/test_Conv2d",
             "test_if_seq", "test_loop11", "test_scan9_sum",
             "test_sequence_map_identity_1_sequence", "test_affine_grid_2d_expanded"]
    out = [(n, by_name[n]) for n in picks if n in by_name]
    return out + [("torch_cnn", torch_cnn()), ("torch_transformer", torch_transformer()),
                  ("torch_transformer_external", torch_transformer_external())]


if __name__ == "__main__":
    import time
    t = time.time()
    print(len(backend_node_models()), "backend models", f"{time.time() - t:.1f}s")
    t = time.time()
    print(feature_models(), f"{time.time() - t:.1f}s")
    t = time.time()
    print(torch_cnn(), torch_transformer(), torch_transformer_external(),
          f"{time.time() - t:.1f}s")
