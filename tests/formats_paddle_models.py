"""Real PaddlePaddle inference models for the tests, written by PaddlePaddle 3.3.1 itself
(paddle.jit.save of dygraph Layers with an InputSpec whose batch is free, random
weights: nothing is downloaded):

  small         a CNN of our own: Conv2D + BatchNorm2D + ReLU, a depthwise Conv2D, a
                Conv2DTranspose, MaxPool2D with ceil_mode, AvgPool2D, concat, a residual
                add, Hardswish, AdaptiveAvgPool2D, flatten, Linear, Dropout, softmax
  transformer   a small encoder of our own: Embedding, LayerNorm, Linear q/k/v, reshape
                and transpose into heads, q @ k^T scaled, softmax,
                @ v, SiLU feed-forward, residual adds, a mean over the sequence; input
                token ids [batch, seq] (the @ operator and SiLU: paddle.matmul, gelu,
                tanh and sigmoid build only PIR programs in Paddle 3.3.1)
  resnet18, mobilenet_v2   paddle.vision.models (pretrained=False)
  control       a while loop and an `if` on a tensor: PIR, a Layer's Python `while` and
                `if` turned static by paddle.jit.to_static (pd_op.while, pd_op.if);
                legacy, the same written with paddle.static's While and
                ConditionalBlock (while, conditional_block with their sub-blocks), as
                dy2static's `if` builds only PIR programs in 3.3.1

each saved twice: as the legacy ProgramDesc <name>.pdmodel (FLAGS_enable_pir_api=0) and
as the PIR program <name>.json (Paddle 3's default), with <name>.pdiparams beside each.

Oracles from Paddle: paddle.static.load_inference_model of each file (legacy: every
block's ops with their input/output slots and attribute names, every variable's shape,
dtype and persistable flag, the feed and fetch targets; PIR: every op's name, the
names Paddle gives its operands (Operation.get_input_names) and its number of results),
the parameters Paddle loads into the scope (names, shapes, first values), the shape of
every intermediate variable when the legacy program runs at batch 2 (transformer: and
seq 16), and paddle.flops of each Layer at batch 1 with only Conv2D and Linear counted
(it counts a Conv2D out_elems * (C/groups * kernel + 1 if biased), a Linear out_elems *
in_features: the MACs of these layers, plus a biased conv's bias adds; its
Conv2DTranspose rule, out_elems * C_in * kernel, is not the work of a strided one).

PaddlePaddle has a venv of its own (tests/framework_venvs.py). Cached in
tests/.cache/paddle-GENERATION-<version>/ with complete.json the index.
"""
import json
import os
import sys

import framework_venvs

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_NAME = "paddle-3.3.1"
VENV_PINS = ["paddlepaddle==3.3.1", "numpy==2.2.6"]   # paddle.flops int()s 1-element arrays: numpy < 2.3
GENERATION = "1"
MODELS = ("small", "transformer", "resnet18", "mobilenet_v2", "control")
INPUTS = {"small": [1, 3, 32, 32], "transformer": [1, 16], "resnet18": [1, 3, 224, 224],
          "mobilenet_v2": [1, 3, 224, 224], "control": [1, 4]}


def paddle_python():
    return framework_venvs.venv_python(VENV_NAME, VENV_PINS)


def paddle_index():
    """(folder, index), written on first use (VenvUnavailable if Paddle cannot be had)."""
    import models
    python = paddle_python()
    v = framework_venvs.venv_info(VENV_NAME, VENV_PINS)["versions"]

    def build(folder):
        for mode in ("legacy", "pir"):
            framework_venvs.run_child(python, os.path.abspath(__file__), [mode, folder])
        index = {"models": {}}
        for mode in ("legacy", "pir"):
            with open(os.path.join(folder, f"_{mode}.json")) as f:
                part = json.load(f)
            os.remove(os.path.join(folder, f"_{mode}.json"))
            index["paddle"] = part["paddle"]
            for name, entry in part["models"].items():
                index["models"].setdefault(name, {})[mode] = entry
        return index
    return models._cached_set(f"paddle-{GENERATION}-paddle-{v['paddlepaddle']}", build)


def paddle_files():
    """name -> {"legacy": {"model", "params", "oracle"}, "pir": {...}}, paths absolute."""
    folder, index = paddle_index()
    out = {}
    for name, modes in index["models"].items():
        out[name] = {}
        for mode, e in modes.items():
            e = dict(e)
            e["model"] = os.path.join(folder, e["model"])
            e["params"] = os.path.join(folder, e["params"])
            out[name][mode] = e
    return out


# --- the child (runs in the venv) ----------------------------------------------------------

def _layers(paddle):
    from paddle import nn
    import paddle.nn.functional as F

    class Small(nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2D(8)
            self.dw = nn.Conv2D(8, 8, 3, padding=1, groups=8, bias_attr=False)
            self.pw = nn.Conv2D(8, 8, 1)
            self.pool = nn.MaxPool2D(3, 2, ceil_mode=True)
            self.avg = nn.AvgPool2D(2, 2, padding=1, exclusive=False)
            self.up = nn.Conv2DTranspose(16, 4, 4, stride=2, padding=1)
            self.down = nn.Conv2D(4, 16, 3, stride=2, padding=1)
            self.act = nn.Hardswish()
            self.gap = nn.AdaptiveAvgPool2D(1)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = self.pool(x)
            y = paddle.concat([self.pw(self.dw(x)), x], axis=1)
            y = self.down(self.up(y)) + y
            y = self.avg(self.act(y))
            y = paddle.flatten(self.gap(self.drop(y)), 1)
            return F.softmax(self.fc(y))

    class Block(nn.Layer):
        def __init__(self, d, heads):
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.ff1, self.ff2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def split(self, x):
            b, s = x.shape[0], x.shape[1]
            return x.reshape([b, s, self.heads, -1]).transpose([0, 2, 1, 3])

        def forward(self, x):
            h = self.ln1(x)
            q, k, v = self.split(self.q(h)), self.split(self.k(h)), self.split(self.v(h))
            a = F.softmax((q @ k.transpose([0, 1, 3, 2])) * (q.shape[-1] ** -0.5))
            a = (a @ v).transpose([0, 2, 1, 3])
            x = x + self.o(a.reshape([x.shape[0], x.shape[1], -1]))
            return x + self.ff2(F.silu(self.ff1(self.ln2(x))))

    class Encoder(nn.Layer):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 32)
            self.blocks = nn.LayerList([Block(32, 4) for _ in range(2)])
            self.head = nn.Linear(32, 3)

        def forward(self, ids):
            x = self.embed(ids)
            for b in self.blocks:
                x = b(x)
            return self.head(x.mean(axis=1))

    class Control(nn.Layer):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            if y.mean() > 0:
                y = F.relu(y)
            else:
                y = y * 2.0
            i = paddle.zeros([1], "int64")
            while i < 3:
                y = self.fc(y)
                i = i + 1
            return y
    return {"small": Small, "transformer": Encoder, "control": Control}


def _spec(paddle, name):
    if name == "transformer":
        return [paddle.static.InputSpec([None, None], "int64", "ids")]
    if name == "control":
        return [paddle.static.InputSpec([None, 4], "float32", "x")]
    return [paddle.static.InputSpec([None] + INPUTS[name][1:], "float32", "x")]


def _feed(np, name, batch):
    rng = np.random.default_rng(3)
    if name == "transformer":
        return {"ids": rng.integers(0, 100, size=(batch, 16)).astype("int64")}
    shape = [batch] + INPUTS[name][1:]
    return {"x": rng.standard_normal(shape).astype("float32")}


def _legacy_control(paddle, prefix):
    """The control model as a legacy program, with paddle.static's own control flow."""
    from paddle.static.nn.control_flow import ConditionalBlock, While
    paddle.enable_static()
    main, start = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, start):
        x = paddle.static.data("x", [-1, 4], "float32")
        y = paddle.static.nn.fc(x, 4)
        i = paddle.tensor.fill_constant([1], "int64", 0)
        n = paddle.tensor.fill_constant([1], "int64", 3)
        cond = paddle.less_than(i, n)
        loop = While(cond)
        with loop.block():
            paddle.assign(paddle.static.nn.fc(y, 4), y)
            paddle.increment(i)
            paddle.less_than(i, n, out=cond)
        zero = paddle.tensor.fill_constant([1], "float32", 0.0)
        branch = ConditionalBlock([paddle.less_than(zero, paddle.mean(y))],
                                  is_scalar_condition=True)
        with branch.block():
            paddle.assign(paddle.nn.functional.relu(y), y)
        out = paddle.scale(y, 2.0)
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(start)
    paddle.static.save_inference_model(prefix, [x], [out], exe, program=main)
    paddle.disable_static()


def _flops(paddle, net, name):
    """paddle.flops with only Conv*D / Conv*DTranspose / Linear counted."""
    from paddle import nn
    from paddle.hapi import dynamic_flops as df
    counted = {nn.Conv2D, nn.Linear}   # (its Conv2DTranspose rule counts out_elems * C_in * k)
    zero = {t: df.count_zero_ops for t in df.register_hooks if t not in counted}
    for t in (nn.Hardswish, nn.Embedding, nn.LayerNorm, nn.MaxPool2D, nn.ReLU6, nn.Sigmoid,
              nn.Conv2DTranspose):
        zero[t] = df.count_zero_ops
    if name == "transformer":
        return None    # int64 ids: paddle.flops feeds paddle.randn
    return int(paddle.flops(net, INPUTS[name], custom_ops=zero))


def _legacy_oracle(paddle, np, prefix, name):
    exe = paddle.static.Executor(paddle.CPUPlace())
    scope = paddle.static.Scope()
    with paddle.static.scope_guard(scope):
        prog, feeds, fetches = paddle.static.load_inference_model(prefix, exe)
        blocks = []
        for b in prog.blocks:
            ops = [{"type": op.type,
                    "inputs": {k: op.input(k) for k in op.input_names},
                    "outputs": {k: op.output(k) for k in op.output_names},
                    "attrs": sorted(op.attr_names)} for op in b.ops]
            variables = {}
            for v in b.vars.values():
                entry = {"persistable": bool(v.persistable), "type": str(v.type)}
                if v.type == paddle.base.core.VarDesc.VarType.DENSE_TENSOR:
                    entry["shape"] = list(v.shape)
                    entry["dtype"] = str(v.dtype).replace("paddle.", "")
                variables[v.name] = entry
            blocks.append({"idx": b.idx, "parent": b.parent_idx, "ops": ops,
                           "vars": variables})
        params = {}
        for v in prog.list_vars():
            if v.persistable and v.type == paddle.base.core.VarDesc.VarType.DENSE_TENSOR:
                t = scope.find_var(v.name)
                if t is None:
                    continue
                a = np.array(t.get_tensor())
                params[v.name] = {"shape": list(a.shape), "dtype": str(a.dtype),
                                  "head": [float(x) for x in a.reshape(-1)[:4]]}
        runtime = {}
        if name != "control":
            wanted = [v for v in prog.global_block().vars.values()
                      if not v.persistable and v.type == paddle.base.core.VarDesc.VarType.DENSE_TENSOR
                      and v.name not in feeds]
            got = exe.run(prog, feed=_feed(np, name, 2), fetch_list=wanted,
                          return_numpy=False)
            for v, value in zip(wanted, got):
                runtime[v.name] = list(np.array(value).shape)
    return {"feeds": list(feeds), "fetches": [v.name for v in fetches], "blocks": blocks,
            "params": params, "runtime_shapes": runtime}


def _pir_oracle(paddle, np, prefix):
    exe = paddle.static.Executor(paddle.CPUPlace())
    scope = paddle.static.Scope()
    with paddle.static.scope_guard(scope):
        prog, feeds, fetches = paddle.static.load_inference_model(prefix, exe)

        def ops_of(block, out):
            for op in block.ops:
                try:
                    input_names = list(op.get_input_names())
                except ValueError:     # builtin and cf ops have no op definition
                    input_names = None
                out.append({"name": op.name(), "input_names": input_names,
                            "operands": op.num_operands(), "results": op.num_results(),
                            "regions": op.num_regions()})
                for blk in op.blocks():
                    ops_of(blk, out)
            return out
        ops = ops_of(prog.global_block(), [])
        params = {}
        names = [op.str_attr("parameter_name") for op in prog.global_block().ops
                 if op.name() == "builtin.parameter"]
        for n in names:
            t = scope.find_var(n)
            if t is None:
                continue
            a = np.array(t.get_tensor())
            params[n] = {"shape": list(a.shape), "dtype": str(a.dtype),
                         "head": [float(x) for x in a.reshape(-1)[:4]]}
    return {"feeds": list(feeds), "ops": ops, "params": params}


def _child(mode, folder):
    if mode == "legacy":
        os.environ["FLAGS_enable_pir_api"] = "0"
    import numpy as np
    import paddle
    paddle.seed(13)
    np.random.seed(13)
    layers = _layers(paddle)
    out = {"paddle": paddle.__version__, "models": {}}
    for name in MODELS:
        if name in layers:
            net = layers[name]()
        else:
            net = getattr(paddle.vision.models, name)(pretrained=False)
        net.eval()
        flops = _flops(paddle, net, name) if name != "control" else None
        prefix = os.path.join(folder, name)
        if name == "control" and mode == "legacy":
            _legacy_control(paddle, prefix)
        else:
            paddle.jit.save(net, prefix, input_spec=_spec(paddle, name))
        model = name + (".pdmodel" if mode == "legacy" else ".json")
        assert os.path.exists(os.path.join(folder, model)), os.listdir(folder)
        if os.path.exists(prefix + ".pdiparams.info"):
            os.remove(prefix + ".pdiparams.info")
        if mode == "legacy":
            paddle.enable_static()
            oracle = _legacy_oracle(paddle, np, prefix, name)
        else:
            paddle.enable_static()
            oracle = _pir_oracle(paddle, np, prefix)
        paddle.disable_static()
        oracle["paddle_flops"] = flops
        out["models"][name] = {"model": model, "params": name + ".pdiparams",
                               "input": INPUTS[name], "oracle": oracle}
        # the next mode writes the same prefix: keep this mode's files apart
        if mode == "legacy":
            for ext in (".pdmodel", ".pdiparams"):
                os.rename(prefix + ext, os.path.join(folder, f"{name}_legacy{ext}"))
            out["models"][name]["model"] = f"{name}_legacy.pdmodel"
            out["models"][name]["params"] = f"{name}_legacy.pdiparams"
    with open(os.path.join(folder, f"_{mode}.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] in ("legacy", "pir"):
    _child(sys.argv[1], sys.argv[2])
