"""Real MXNet files for the tests, written by MXNet 1.9.1 itself.

  small-symbol.json + small-0000.params
        a Gluon HybridBlock of our own (Conv2D + BatchNorm + relu, MaxPool2D with
        ceil_mode (pooling_convention "full"), two branches (one a grouped conv) joined
        by concat, a residual elemwise add, Conv2DTranspose, Dropout, global AvgPool,
        Flatten, Dense, LeakyReLU, Dense(flatten=False), softmax), HybridBlock.export
  resnet18_v1-symbol.json + resnet18_v1-0003.params
        gluon.model_zoo.vision.resnet18_v1(pretrained=False) (no download: random
        weights), exported as epoch 3
  small_shaped-symbol.json, resnet18_v1_shaped-symbol.json
        the same symbols composed with a `data` variable that declares its shape
        (mx.sym.var("data", shape=...)), saved by Symbol.save: MXNet writes __shape__
  sparse.params
        mx.nd.save of a dense, a row_sparse and a csr array

Oracles from MXNet: list_arguments / list_auxiliary_states / list_outputs, infer_shape
at the input shape (for every internal output too: get_internals), the parameters'
names, shapes and dtypes (mx.nd.load) and the first values of a few of them.

MXNet 1.9.1 needs numpy < 1.24 (it uses np.bool), so it has a venv of its own
(tests/framework_venvs.py, VENV_PINS). Cached in tests/.cache/mxnet-GENERATION-<version>/
with complete.json the index.
"""
import json
import os
import sys

import framework_venvs

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_NAME = "mxnet-1.9.1"
VENV_PINS = ["mxnet==1.9.1", "numpy==1.23.5"]
GENERATION = "1"


def mxnet_index():
    """(folder, index), written on first use (VenvUnavailable if MXNet cannot be had)."""
    python = framework_venvs.venv_python(VENV_NAME, VENV_PINS)
    v = framework_venvs.venv_info(VENV_NAME, VENV_PINS)["versions"]

    return framework_venvs.child_set(python, os.path.abspath(__file__),
                                     f"mxnet-{GENERATION}-mxnet-{v['mxnet']}")


def mxnet_files():
    """name -> {"symbol": path, "params": path or None, "input_shape", "oracle"}."""
    folder, index = mxnet_index()
    out = {}
    for name, entry in index["models"].items():
        e = dict(entry)
        for k in ("symbol", "params"):
            e[k] = os.path.join(folder, e[k]) if e.get(k) else None
        out[name] = e
    return out


# --- the child (runs in the venv) ----------------------------------------------------------

def _small(mx):
    from mxnet.gluon import nn

    class Small(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.conv = nn.Conv2D(8, 3, padding=1, in_channels=3)
                self.bn = nn.BatchNorm(in_channels=8)
                self.pool = nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)
                self.a = nn.Conv2D(8, 1, in_channels=8)
                self.b = nn.Conv2D(8, 3, padding=1, groups=2, in_channels=8, use_bias=False)
                self.up = nn.Conv2DTranspose(4, 4, strides=2, padding=1, in_channels=16)
                self.down = nn.Conv2D(16, 3, strides=2, padding=1, in_channels=4)
                self.drop = nn.Dropout(0.3)
                self.gap = nn.GlobalAvgPool2D()
                self.flat = nn.Flatten()
                self.fc = nn.Dense(10, in_units=16)
                self.act = nn.LeakyReLU(0.1)
                self.head = nn.Dense(5, flatten=False, in_units=10)

        def hybrid_forward(self, F, x):
            x = F.Activation(self.bn(self.conv(x)), act_type="relu")
            x = self.pool(x)
            y = F.concat(self.a(x), self.b(x), dim=1)
            y = self.down(self.up(y)) + y
            y = self.flat(self.gap(self.drop(y)))
            return F.softmax(self.head(self.act(self.fc(y))))
    return Small()


def _oracle(mx, sym, input_shape, params_path):
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(data=tuple(input_shape))
    internals = sym.get_internals()
    _, internal_shapes, _ = internals.infer_shape(data=tuple(input_shape))
    oracle = {
        "arguments": sym.list_arguments(), "auxiliary": sym.list_auxiliary_states(),
        "outputs": sym.list_outputs(), "output_shapes": [list(s) for s in out_shapes],
        "argument_shapes": dict(zip(sym.list_arguments(), [list(s) for s in arg_shapes])),
        "auxiliary_shapes": dict(zip(sym.list_auxiliary_states(),
                                     [list(s) for s in aux_shapes])),
        "internal_shapes": dict(zip(internals.list_outputs(),
                                    [list(s) for s in internal_shapes])),
    }
    if params_path:
        params = mx.nd.load(params_path)
        oracle["params"] = {k: {"shape": list(v.shape), "dtype": str(v.dtype),
                                "head": [float(x) for x in v.reshape(-1)[:4].asnumpy()]}
                            for k, v in params.items()}
    return oracle


def _child(folder):
    import mxnet as mx
    from mxnet.gluon.model_zoo import vision
    mx.random.seed(13)
    index = {"mxnet": mx.__version__, "models": {}}

    small = _small(mx)
    small.initialize(mx.init.Xavier())
    small.hybridize()
    small(mx.nd.random.uniform(shape=(1, 3, 32, 32)))
    small.export(os.path.join(folder, "small"))
    sym = mx.sym.load(os.path.join(folder, "small-symbol.json"))
    index["models"]["small"] = {
        "symbol": "small-symbol.json", "params": "small-0000.params",
        "input_shape": [1, 3, 32, 32],
        "oracle": _oracle(mx, sym, [1, 3, 32, 32], os.path.join(folder, "small-0000.params"))}
    shaped = sym(data=mx.sym.var("data", shape=(1, 3, 32, 32)))
    shaped.save(os.path.join(folder, "small_shaped-symbol.json"))
    index["models"]["small_shaped"] = {
        "symbol": "small_shaped-symbol.json", "params": None,
        "input_shape": [1, 3, 32, 32], "oracle": _oracle(mx, shaped, [1, 3, 32, 32], None)}

    net = vision.resnet18_v1(pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.random.uniform(shape=(1, 3, 224, 224)))
    net.export(os.path.join(folder, "resnet18_v1"), epoch=3)
    sym = mx.sym.load(os.path.join(folder, "resnet18_v1-symbol.json"))
    params = os.path.join(folder, "resnet18_v1-0003.params")
    index["models"]["resnet18_v1"] = {
        "symbol": "resnet18_v1-symbol.json", "params": "resnet18_v1-0003.params",
        "input_shape": [1, 3, 224, 224], "oracle": _oracle(mx, sym, [1, 3, 224, 224], params)}

    shaped = sym(data=mx.sym.var("data", shape=(1, 3, 224, 224)))
    shaped.save(os.path.join(folder, "resnet18_v1_shaped-symbol.json"))
    index["models"]["resnet18_v1_shaped"] = {
        "symbol": "resnet18_v1_shaped-symbol.json", "params": None,
        "input_shape": [1, 3, 224, 224], "oracle": _oracle(mx, shaped, [1, 3, 224, 224], None)}
    # sparse storage: a row_sparse and a csr array beside a dense one
    dense = mx.nd.arange(6).reshape((2, 3))
    rsp = mx.nd.sparse.row_sparse_array(([[1.0, 2.0, 3.0]], [1]), shape=(4, 3))
    csr = mx.nd.sparse.csr_matrix(([5.0, 6.0], [0, 2], [0, 1, 2]), shape=(2, 3))
    mx.nd.save(os.path.join(folder, "sparse.params"), {"dense": dense, "rsp": rsp, "csr": csr})
    index["models"]["sparse"] = {
        "symbol": None, "params": "sparse.params", "input_shape": None,
        "oracle": {"params": {k: {"shape": list(v.shape), "dtype": str(v.dtype),
                                  "stype": v.stype}
                              for k, v in mx.nd.load(os.path.join(folder, "sparse.params")).items()}}}
    with open(os.path.join(folder, "_index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2])
        sys.exit(0)
    sys.path.insert(0, HERE)
    print(json.dumps({k: {"symbol": v["symbol"], "params": v["params"]}
                      for k, v in mxnet_files().items()}, indent=1))
