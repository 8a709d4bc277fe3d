"""Real Caffe files for the tests, written by Caffe's own schema and read by OpenCV.

caffe.proto (tools/schemas/caffe.proto, BVLC's) is compiled with grpcio-tools' protoc;
the nets are built as caffe_pb2.NetParameter messages, their blobs filled with random
values (numpy), and written as Caffe writes them: the deploy net with
google.protobuf.text_format (.prototxt), the trained net with SerializeToString
(.caffemodel). OpenCV's dnn module (cv2.dnn.readNetFromCaffe, Caffe's importer with
its upgrade_proto) is the oracle: the layers it builds (names, types, blob shapes) and
the shapes it computes (getLayersShapes, and a forward pass) are in the index.

  lenet/        deploy.prototxt (an Input layer) + weights.caffemodel: a LeNet
                (Convolution, Pooling MAX, InnerProduct, in-place ReLU, Softmax)
  resnet/       resnet_block.prototxt (net `input` + `input_shape`) + resnet_block.caffemodel:
                a ResNet block (7x7/2 conv, BatchNorm + Scale, in-place ReLU, 3x3/2 MAX
                pooling with Caffe's ceil rounding, two branches joined by Eltwise SUM, a
                grouped conv, Concat, global AVE pooling, Flatten, Reshape, InnerProduct,
                Dropout, LRN, Deconvolution, Softmax)
  v1/           v1.prototxt + v1.caffemodel: the deprecated `layers {}` form (enum types,
                `input_dim`), as old model zoos ship it
  double/       double.caffemodel alone: blobs in double_data (no oracle: OpenCV reads
                float data only)

They need grpcio-tools and opencv-python-headless, whose protobuf and numpy may differ
from the test environment's: a venv of their own (tests/framework_venvs.py, VENV_PINS).
Cached in tests/.cache/caffe-GENERATION-<versions>/ with complete.json the index.
"""
import json
import os
import sys

import framework_venvs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTO = os.path.join(ROOT, "tools", "schemas", "caffe.proto")
VENV_NAME = "caffe-opencv-4.14"
VENV_PINS = ["grpcio-tools==1.85.4", "opencv-python-headless==4.14.0.94", "numpy==2.4.6"]
GENERATION = "1"


def _key():
    v = framework_venvs.venv_info(VENV_NAME, VENV_PINS)["versions"]
    return "-".join([f"caffe-{GENERATION}", f"protobuf-{v['protobuf']}",
                     f"opencv-{v['opencv-python-headless']}"])


def caffe_index():
    """(folder, index): the files and what OpenCV says of them, written on first use."""
    python = framework_venvs.venv_python(VENV_NAME, VENV_PINS)

    return framework_venvs.child_set(python, os.path.abspath(__file__), _key())


def caffe_files():
    """name -> {"prototxt": path or None, "caffemodel": path or None, "oracle": {...}}."""
    folder, index = caffe_index()
    out = {}
    for name, entry in index["models"].items():
        e = dict(entry)
        for k in ("prototxt", "caffemodel"):
            e[k] = os.path.join(folder, e[k]) if e.get(k) else None
        out[name] = e
    return out


# --- the child (runs in the venv) ----------------------------------------------------------

def _compile(out):
    from grpc_tools import protoc
    import grpc_tools
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    src = os.path.dirname(PROTO)
    os.makedirs(out, exist_ok=True)
    code = protoc.main(["protoc", f"-I{src}", f"-I{include}", f"--python_out={out}", PROTO])
    if code != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    sys.path.insert(0, out)
    import caffe_pb2
    return caffe_pb2


class Net:
    """A NetParameter under construction, with random blobs as Caffe shapes them."""

    def __init__(self, pb, np, name, rng):
        self.pb, self.np, self.rng = pb, np, rng
        self.net = pb.NetParameter(name=name)
        self.channels = {}     # blob -> channels (to shape the next weights)

    def layer(self, name, type, bottom=(), top=(), **params):
        layer = self.net.layer.add(name=name, type=type)
        layer.bottom.extend(bottom)
        layer.top.extend(top)
        for key, fields in params.items():
            msg = getattr(layer, key)
            for f, v in fields.items():
                target = getattr(msg, f)
                if isinstance(v, list):
                    target.extend(v)
                elif hasattr(target, "CopyFrom") and isinstance(v, dict):
                    for k2, v2 in v.items():
                        setattr(target, k2, v2)
                else:
                    setattr(msg, f, v)
        return layer

    def blob(self, layer, shape, double=False):
        b = layer.blobs.add()
        b.shape.dim.extend(shape)
        values = self.rng.standard_normal(int(self.np.prod(shape))).astype(self.np.float32)
        if double:
            b.double_data.extend(values.astype(self.np.float64).tolist())
        else:
            b.data.extend(values.tolist())
        return b

    def conv(self, name, bottom, top, cin, num_output, k, stride=1, pad=0, group=1, bias=True):
        layer = self.layer(name, "Convolution", [bottom], [top], convolution_param={
            "num_output": num_output, "kernel_size": [k], "stride": [stride] if stride != 1 else [],
            "pad": [pad] if pad else [], "group": group, "bias_term": bias})
        self.blob(layer, [num_output, cin // group, k, k])
        if bias:
            self.blob(layer, [num_output])
        return layer

    def bn_scale(self, name, blob, c):
        bn = self.layer(f"bn_{name}", "BatchNorm", [blob], [blob],
                        batch_norm_param={"use_global_stats": True})
        for shape in ([c], [c], [1]):
            self.blob(bn, shape)
        bn.blobs[1].data[:] = (self.np.abs(self.np.array(bn.blobs[1].data)) + 0.5).tolist()
        bn.blobs[2].data[:] = [1.0]
        sc = self.layer(f"scale_{name}", "Scale", [blob], [blob], scale_param={"bias_term": True})
        self.blob(sc, [c])
        self.blob(sc, [c])


def _lenet(pb, np, rng):
    n = Net(pb, np, "LeNet", rng)
    n.layer("data", "Input", [], ["data"], input_param={})
    n.net.layer[0].input_param.shape.add().dim.extend([1, 1, 28, 28])
    n.conv("conv1", "data", "conv1", 1, 20, 5)
    n.layer("pool1", "Pooling", ["conv1"], ["pool1"],
            pooling_param={"pool": pb.PoolingParameter.MAX, "kernel_size": 2, "stride": 2})
    n.conv("conv2", "pool1", "conv2", 20, 50, 5)
    n.layer("pool2", "Pooling", ["conv2"], ["pool2"],
            pooling_param={"pool": pb.PoolingParameter.MAX, "kernel_size": 2, "stride": 2})
    ip1 = n.layer("ip1", "InnerProduct", ["pool2"], ["ip1"], inner_product_param={"num_output": 500})
    n.blob(ip1, [500, 800])
    n.blob(ip1, [500])
    n.layer("relu1", "ReLU", ["ip1"], ["ip1"])
    ip2 = n.layer("ip2", "InnerProduct", ["ip1"], ["ip2"], inner_product_param={"num_output": 10})
    n.blob(ip2, [10, 500])
    n.blob(ip2, [10])
    n.layer("prob", "Softmax", ["ip2"], ["prob"])
    return n.net, [1, 1, 28, 28]


def _resnet(pb, np, rng):
    n = Net(pb, np, "ResNetBlock", rng)
    n.net.input.append("data")
    n.net.input_shape.add().dim.extend([1, 3, 64, 64])
    n.conv("conv1", "data", "conv1", 3, 16, 7, stride=2, pad=3, bias=False)
    n.bn_scale("conv1", "conv1", 16)
    n.layer("conv1_relu", "ReLU", ["conv1"], ["conv1"])
    # 32x32 -> ceil((32 - 3) / 2) + 1 = 16 (floor would give 15)
    n.layer("pool1", "Pooling", ["conv1"], ["pool1"],
            pooling_param={"pool": pb.PoolingParameter.MAX, "kernel_size": 3, "stride": 2})
    n.conv("res2a_branch1", "pool1", "res2a_branch1", 16, 32, 1, bias=False)
    n.bn_scale("res2a_branch1", "res2a_branch1", 32)
    n.conv("res2a_branch2a", "pool1", "res2a_branch2a", 16, 16, 3, pad=1, bias=False)
    n.bn_scale("res2a_branch2a", "res2a_branch2a", 16)
    n.layer("res2a_branch2a_relu", "ReLU", ["res2a_branch2a"], ["res2a_branch2a"],
            relu_param={"negative_slope": 0.1})
    n.conv("res2a_branch2b", "res2a_branch2a", "res2a_branch2b", 16, 32, 3, pad=1, group=4,
           bias=False)
    n.bn_scale("res2a_branch2b", "res2a_branch2b", 32)
    n.layer("res2a", "Eltwise", ["res2a_branch1", "res2a_branch2b"], ["res2a"],
            eltwise_param={"operation": pb.EltwiseParameter.SUM})
    n.layer("res2a_relu", "ReLU", ["res2a"], ["res2a"])
    n.layer("norm", "LRN", ["res2a"], ["norm"], lrn_param={"local_size": 5, "alpha": 1e-4,
                                                            "beta": 0.75})
    n.conv("side", "pool1", "side", 16, 8, 3, stride=2, pad=1)
    up = n.layer("up", "Deconvolution", ["side"], ["up"], convolution_param={
        "num_output": 8, "kernel_size": [4], "stride": [2], "pad": [1]})
    n.blob(up, [8, 8, 4, 4])
    n.blob(up, [8])
    n.layer("cat", "Concat", ["norm", "up"], ["cat"], concat_param={"axis": 1})
    # 16x16 -> AVE 3x3/2 pad 1: ceil((16 + 2 - 3) / 2) + 1 = 9, the last window starts in
    # the padding ((9 - 1) * 2 = 16 >= 16 + 1 is false): 9
    n.layer("pool2", "Pooling", ["cat"], ["pool2"], pooling_param={
        "pool": pb.PoolingParameter.AVE, "kernel_size": 3, "stride": 2, "pad": 1})
    n.layer("pool3", "Pooling", ["pool2"], ["pool3"], pooling_param={
        "pool": pb.PoolingParameter.AVE, "global_pooling": True})
    n.layer("flat", "Flatten", ["pool3"], ["flat"])
    n.layer("drop", "Dropout", ["flat"], ["flat"], dropout_param={"dropout_ratio": 0.5})
    fc = n.layer("fc", "InnerProduct", ["flat"], ["fc"], inner_product_param={"num_output": 12})
    n.blob(fc, [12, 40])
    n.blob(fc, [12])
    n.layer("reshape", "Reshape", ["fc"], ["reshaped"], reshape_param={})
    n.net.layer[-1].reshape_param.shape.dim.extend([0, -1, 3])
    n.layer("flat2", "Flatten", ["reshaped"], ["flat2"])
    n.layer("prob", "Softmax", ["flat2"], ["prob"])
    return n.net, [1, 3, 64, 64]


def _v1(pb, np, rng):
    net = pb.NetParameter(name="V1Net")
    net.input.append("data")
    net.input_dim.extend([1, 3, 16, 16])
    V1 = pb.V1LayerParameter

    def add(name, type, bottom, top):
        layer = net.layers.add(name=name, type=type)
        layer.bottom.append(bottom)
        layer.top.append(top)
        return layer

    conv = add("conv1", V1.CONVOLUTION, "data", "conv1")
    conv.convolution_param.num_output = 6
    conv.convolution_param.kernel_size.append(3)
    for shape in ([6, 3, 3, 3], [6]):
        b = conv.blobs.add()
        # the legacy 4-D form: num, channels, height, width
        dims = [1] * (4 - len(shape)) + shape
        b.num, b.channels, b.height, b.width = dims
        b.data.extend(rng.standard_normal(int(np.prod(shape))).astype(np.float32).tolist())
    add("relu1", V1.RELU, "conv1", "conv1")
    pool = add("pool1", V1.POOLING, "conv1", "pool1")
    pool.pooling_param.pool = pb.PoolingParameter.MAX
    pool.pooling_param.kernel_size = 3
    pool.pooling_param.stride = 2
    ip = add("ip", V1.INNER_PRODUCT, "pool1", "ip")
    ip.inner_product_param.num_output = 4
    for dims in ([1, 1, 4, 6 * 7 * 7], [1, 1, 1, 4]):
        b = ip.blobs.add()
        b.num, b.channels, b.height, b.width = dims
        b.data.extend(rng.standard_normal(int(np.prod(dims))).astype(np.float32).tolist())
    add("prob", V1.SOFTMAX, "ip", "prob")
    return net, [1, 3, 16, 16]


def _double(pb, np, rng):
    n = Net(pb, np, "DoubleNet", rng)
    n.net.input.append("x")
    n.net.input_shape.add().dim.extend([2, 5])
    ip = n.layer("ip", "InnerProduct", ["x"], ["y"], inner_product_param={"num_output": 3})
    n.blob(ip, [3, 5], double=True)
    n.blob(ip, [3], double=True)
    values = {"ip/weight": list(ip.blobs[0].double_data), "ip/bias": list(ip.blobs[1].double_data)}
    return n.net, values


def _deploy(pb, net):
    """The deploy description: the net without its blobs."""
    d = pb.NetParameter()
    d.CopyFrom(net)
    for layer in list(d.layer) + list(d.layers):
        del layer.blobs[:]
    return d


def _oracle(cv2, np, prototxt, caffemodel, input_shape):
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    names = list(net.getLayerNames())
    layers = []
    for name in names:
        layer = net.getLayer(net.getLayerId(name))
        layers.append({"name": name, "type": layer.type,
                       "blobs": [list(b.shape) for b in layer.blobs],
                       "values": [[float(x) for x in b.reshape(-1)[:4]] for b in layer.blobs]})
    ids, ins, outs = net.getLayersShapes([input_shape])
    shapes = {}
    for i, o in zip(list(ids), outs):
        lname = "_input" if int(i) == 0 else names[int(i) - 1]
        shapes[lname] = [[int(d) for d in s.reshape(-1)] for s in o]
    net.setInput(np.zeros(input_shape, np.float32))
    out = net.forward()
    return {"layers": layers, "output_shapes": shapes, "forward_shape": list(out.shape),
            "output_names": list(net.getUnconnectedOutLayersNames())}


def _child(folder):
    import cv2
    import numpy as np
    from google.protobuf import text_format
    pb = _compile(os.path.join(folder, "_pb"))
    rng = np.random.default_rng(13)
    index = {"models": {}, "opencv": cv2.__version__,
             "protobuf": __import__("google.protobuf").protobuf.__version__}
    for name, make, proto_name, model_name in (
            ("lenet", _lenet, "deploy.prototxt", "weights.caffemodel"),
            ("resnet", _resnet, "resnet_block.prototxt", "resnet_block.caffemodel"),
            ("v1", _v1, "v1.prototxt", "v1.caffemodel")):
        net, input_shape = make(pb, np, rng)
        os.makedirs(os.path.join(folder, name))
        prototxt = os.path.join(name, proto_name)
        caffemodel = os.path.join(name, model_name)
        with open(os.path.join(folder, prototxt), "w") as f:
            f.write(text_format.MessageToString(_deploy(pb, net)))
        with open(os.path.join(folder, caffemodel), "wb") as f:
            f.write(net.SerializeToString())
        oracle = _oracle(cv2, np, os.path.join(folder, prototxt),
                         os.path.join(folder, caffemodel), input_shape)
        index["models"][name] = {"prototxt": prototxt, "caffemodel": caffemodel,
                                 "input_shape": input_shape, "oracle": oracle}
    os.makedirs(os.path.join(folder, "double"))
    net, values = _double(pb, np, rng)
    with open(os.path.join(folder, "double", "double.caffemodel"), "wb") as f:
        f.write(net.SerializeToString())
    index["models"]["double"] = {"prototxt": None, "caffemodel": "double/double.caffemodel",
                                 "oracle": None, "values": values}
    import shutil
    shutil.rmtree(os.path.join(folder, "_pb"))
    with open(os.path.join(folder, "_index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2])
        sys.exit(0)
    sys.path.insert(0, HERE)
    print(json.dumps(caffe_files(), indent=1)[:6000])
