"""What the frameworks themselves say of the ops in real models, for tests/test_op_metadata.py,
read in the frameworks' venvs (tests/framework_venvs.py; the same venvs and pins as the
models' builders):

- mxnet_inputs(symbols): per op node of each saved symbol (-symbol.json), the names MXNet
  gives its inputs for the node's own parameters (mx.sym.<op>(**attrs).list_inputs():
  Convolution with no_bias=True lists data and weight only);
- caffe_proto(): caffe.proto compiled by protoc (grpcio-tools): LayerParameter's *_param
  fields with their message types, every such message's fields with their defaults, and
  V1LayerParameter's LayerType names.

    python tests/op_metadata_oracles.py child KIND OUT [ARGS...]
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _run(venv, pins, kind, *args):
    import pytest
    import framework_venvs
    try:
        python = framework_venvs.venv_python(venv, pins)
    except framework_venvs.VenvUnavailable as e:
        pytest.skip(f"{venv} cannot be installed here: {e}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "oracle.json")
        framework_venvs.run_child(python, os.path.abspath(__file__), ["child", kind, out, *args])
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def mxnet_inputs(symbols):
    """{symbol path: [(op, node name, [input names])]} for the op nodes of each symbol."""
    import formats_mxnet_models as m
    return _run(m.VENV_NAME, m.VENV_PINS, "mxnet", *symbols)


def caffe_proto():
    import formats_caffe_models as m
    return _run(m.VENV_NAME, m.VENV_PINS, "caffe")


# --- the children (run in the venvs) --------------------------------------------------------

def _child_mxnet(out, symbols):
    import mxnet as mx
    result = {}
    for path in symbols:
        nodes = json.loads(mx.sym.load(path).tojson())["nodes"]
        entries = []
        for node in nodes:
            if node["op"] == "null":
                continue
            atomic = getattr(mx.sym, node["op"])(name="oracle", **node.get("attrs", {}))
            names = [n[len("oracle_"):] for n in atomic.list_inputs()]
            entries.append([node["op"], node["name"], names])
        result[path] = entries
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)


def _default(field):
    if not field.has_default_value:
        return None
    if field.enum_type is not None:
        return field.enum_type.values_by_number[field.default_value].name
    return field.default_value


def _child_caffe(out):
    sys.path.insert(0, HERE)
    import formats_caffe_models
    with tempfile.TemporaryDirectory() as tmp:
        pb = formats_caffe_models._compile(tmp)
    layer = pb.LayerParameter.DESCRIPTOR
    params = {}
    messages = {}
    for field in layer.fields:
        if field.name.endswith("_param") and field.message_type is not None:
            params[field.name] = field.message_type.name
            messages[field.message_type.name] = [[f.name, _default(f)]
                                                 for f in field.message_type.fields]
    v1 = [v.name for v in pb.V1LayerParameter.DESCRIPTOR.enum_types_by_name["LayerType"].values]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"params": params, "messages": messages, "v1_types": v1}, f, default=str)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    kind, out, rest = sys.argv[2], sys.argv[3], sys.argv[4:]
    if kind == "mxnet":
        _child_mxnet(out, rest)
    elif kind == "caffe":
        _child_caffe(out)
