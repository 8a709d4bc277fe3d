"""ncnn and pnnx test files, written by pnnx itself (pnnx.export: torch.jit.trace, then the
pnnx converter writes .pnnx.param/.pnnx.bin and .ncnn.param/.ncnn.bin) from torch models,
in a venv of their own (tests/framework_venvs.py: torch, pnnx and ncnn's Python binding),
cached under tests/.cache/ncnn-<pnnx version>-GENERATION/.

  cnn          tests/models.py's ResNet-like CNN (BatchNorm folded into the convolutions
               by pnnx, ReLU fused as activation_type), input 1x3x32x32, float16 weights
  cnn_fp32     the same written with fp16=0: float32 weights (tag 0)
  block        a block of our own: depthwise and pointwise convolutions, Hardswish,
               average pooling with ceil_mode, ConvTranspose2d, PReLU, a concat with a
               sigmoid branch, tokens through nn.MultiheadAttention, LayerNorm, GELU, GRU,
               Linear, a mean over the tokens; input 1x3x16x16
  more         another of our own: GroupNorm, InstanceNorm, SiLU, ReLU6, torch.chunk,
               bilinear F.interpolate, PixelShuffle, F.pad, avg_pool2d, flatten; a Conv1d,
               MaxPool1d and LSTM branch ending in softmax and unsqueeze; two inputs
  transformer  tests/models.py's BERT-like encoder (int64 ids and mask, 2x8); its ncnn
               file keeps a Tensor.to layer that ncnn cannot load (ncnn refuses it: the
               oracle says so), the .pnnx.param is complete
  transformer_b1  the same encoder traced at 1x8 with a float mask: ncnn loads it (Embed,
               MemoryData, Gemm, MatMul, Softmax, Permute, Crop, Squeeze, ...)

Oracles (<name>.oracle.json beside the files), from the same tools:
  ncnn     ncnn.Net's load_param / load_model return codes, its layers (type, name,
           typeindex, bottoms, tops) and blob names; and, for a copy of the .ncnn.param
           whose Input layers state the input's shape (ncnn's Input params 0=w 1=h 2=c;
           <name>.shaped.ncnn.param: pnnx writes Input layers without one), every blob's
           shape as ncnn's Extractor gives it at that input (dims, w, h, d, c)
  param.bin  <name>.param.bin: the .ncnn.param in ncnn's binary form, written here by
           ncnn2mem's layout (tools/ncnn2mem.cpp: type index, blob indices, ids and 4-byte
           values, -233), which the pip package does not ship; ncnn's load_param_bin reads
           it (its return code, its layers and the extracted shapes are the oracle)
  torch    the model's output shapes, and the values of named parameters pnnx keeps as
           they are (Linear, LayerNorm, Embedding weights), to compare with the .pnnx.bin
           (exact) and the ncnn .bin (float16 where pnnx wrote float16)
    python tests/formats_ncnn_models.py child OUT_DIR
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PNNX_VERSION = "20261020"
NCNN_VERSION = "1.0.20261020"
PINS = ["torch==2.13.0", f"pnnx=={PNNX_VERSION}", f"ncnn=={NCNN_VERSION}"]
VENV = f"pnnx-{PNNX_VERSION}"
GENERATION = "3"
NAMES = ("cnn", "cnn_fp32", "block", "more", "transformer", "transformer_b1")


def ncnn_models():
    """{name: {"folder", "oracle"}} (files <folder>/<name>.ncnn.param, .ncnn.bin,
    .pnnx.param, .pnnx.bin, .shaped.ncnn.param); skips when the venv cannot be made."""
    import pytest
    import framework_venvs
    folder = os.path.join(HERE, ".cache", f"ncnn-{PNNX_VERSION}-{GENERATION}")
    marker = os.path.join(folder, "complete.json")
    if not os.path.exists(marker):
        try:
            python = framework_venvs.venv_python(VENV, PINS)
        except framework_venvs.VenvUnavailable as e:
            pytest.skip(f"pnnx/ncnn cannot be installed here: {e}")
        tmp = folder + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        framework_venvs.run_child(python, os.path.abspath(__file__), ["child", tmp])
        with open(os.path.join(tmp, "complete.json"), "w") as f:
            json.dump({"names": NAMES, "pins": PINS}, f)
        if os.path.exists(folder):   # (written meanwhile by another run)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    out = {}
    for name in NAMES:
        with open(os.path.join(folder, f"{name}.oracle.json")) as f:
            out[name] = {"folder": folder, "oracle": json.load(f)}
    return out


def path(models, name, suffix):
    return os.path.join(models[name]["folder"], name + suffix)


# --- the child (runs in the venv) ----------------------------------------------------------

def _torch_modules():
    """tests/models.py's torch modules: it imports onnx at its top for its ONNX sets, which
    this venv has no use for, so it is loaded with an empty stand-in for that import."""
    import importlib.util
    import types
    sys.modules.setdefault("onnx", types.ModuleType("onnx"))
    spec = importlib.util.spec_from_file_location("models", os.path.join(HERE, "models.py"))
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    return models


def _block():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, 1, 1)
            self.dw = nn.Conv2d(8, 8, 3, 2, 1, groups=8)
            self.pw = nn.Conv2d(8, 16, 1)
            self.act = nn.Hardswish()
            self.pool = nn.AvgPool2d(3, 2, ceil_mode=True)
            self.up = nn.ConvTranspose2d(16, 8, 4, 2, 1)
            self.prelu = nn.PReLU(8)
            self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
            self.norm = nn.LayerNorm(16)
            self.ffn = nn.Linear(16, 32)
            self.gelu = nn.GELU()
            self.gru = nn.GRU(32, 12, batch_first=True)
            self.head = nn.Linear(12, 4)

        def forward(self, x):
            x = self.stem(x)
            y = self.pool(self.act(self.pw(self.dw(x))))
            y = self.prelu(self.up(y))
            z = torch.cat([y, torch.sigmoid(y)], 1)
            t = z.flatten(2).transpose(1, 2)
            a, _ = self.attn(t, t, t, need_weights=False)
            t = self.norm(t + a)
            t, _ = self.gru(self.gelu(self.ffn(t)))
            return self.head(t).mean(1)

    torch.manual_seed(1)
    return Block()


def _mat(ncnn, x):
    """A torch input without its batch as an ncnn Mat (ids as int32, as pnnx's ncnn
    inputs take them)."""
    import numpy as np
    a = x[0].numpy()
    return ncnn.Mat(np.ascontiguousarray(a.astype(np.int32 if a.dtype.kind in "iu"
                                                    else np.float32)))


def _more():
    import torch
    import torch.nn.functional as F
    from torch import nn

    class More(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.gn = nn.GroupNorm(2, 8)
            self.inorm = nn.InstanceNorm2d(8, affine=True)
            self.silu = nn.SiLU()
            self.relu6 = nn.ReLU6()
            self.shuffle = nn.PixelShuffle(2)
            self.conv1d = nn.Conv1d(4, 8, 3, padding=1)
            self.pool1d = nn.MaxPool1d(2)
            self.lstm = nn.LSTM(8, 6, batch_first=True)

        def forward(self, x, s):
            y = self.silu(self.inorm(self.gn(self.conv(x))))
            a, b = torch.chunk(y, 2, dim=1)
            y = torch.cat([self.relu6(a), b * 2], 1)
            y = F.interpolate(y, scale_factor=2, mode="bilinear")
            y = F.pad(self.shuffle(y), (1, 1, 2, 2))
            y = F.avg_pool2d(y, 4).flatten(1)
            t = self.pool1d(self.conv1d(s)).transpose(1, 2)
            t, _ = self.lstm(t)
            return y, t.softmax(-1).unsqueeze(1)

    torch.manual_seed(2)
    return More()


def _ncnn_oracle(folder, name, inputs):
    import ncnn
    input_shapes = [list(x.shape) for x in inputs]
    param = os.path.join(folder, f"{name}.ncnn.param")
    out = {}
    net = ncnn.Net()
    out["load_param"] = net.load_param(param)
    out["load_model"] = net.load_model(os.path.join(folder, f"{name}.ncnn.bin")) \
        if out["load_param"] == 0 else None
    if out["load_param"] != 0:
        return out
    out["layers"] = [{"type": x.type, "name": x.name, "typeindex": x.typeindex,
                      "bottoms": list(x.bottoms), "tops": list(x.tops)} for x in net.layers()]
    out["blobs"] = [b.name for b in net.blobs()]
    # the same .param with its Input layers shaped (Input: 0=w 1=h 11=d 2=c)
    with open(param) as f:
        lines = f.read().splitlines()
    shapes = iter(input_shapes)
    for i, line in enumerate(lines):
        if line.startswith("Input "):
            dims = next(shapes)[1:]                    # without the batch
            keys = {1: ("0",), 2: ("1", "0"), 3: ("2", "1", "0"), 4: ("2", "11", "1", "0")}
            lines[i] = line + "".join(f" {k}={d}" for k, d in zip(keys[len(dims)], dims))
    shaped = os.path.join(folder, f"{name}.shaped.ncnn.param")
    with open(shaped, "w") as f:
        f.write("\n".join(lines) + "\n")
    net = ncnn.Net()
    assert net.load_param(shaped) == 0 and net.load_model(
        os.path.join(folder, f"{name}.ncnn.bin")) == 0
    ex = net.create_extractor()
    for blob, x in zip(net.input_names(), inputs):
        ex.input(blob, _mat(ncnn, x))
    extracted = {}
    for b in net.blobs():
        ret, mat = ex.extract(b.name)
        extracted[b.name] = {"ret": ret, "dims": mat.dims, "w": mat.w, "h": mat.h, "d": mat.d,
                             "c": mat.c}
    out["shapes"] = extracted
    return out


def _param_bin(text_param, out):
    """The text .param in binary form, as tools/ncnn2mem.cpp writes it."""
    import struct
    import ncnn
    with open(text_param) as f:
        lines = [x.split() for x in f.read().splitlines() if x.strip()]
    layer_count, blob_count = int(lines[1][0]), int(lines[1][1])
    data = struct.pack("<iii", 7767517, layer_count, blob_count)
    blobs = {}
    for tokens in lines[2:2 + layer_count]:
        nb, nt = int(tokens[2]), int(tokens[3])
        names = tokens[4:4 + nb + nt]
        for n in names[nb:]:
            blobs.setdefault(n, len(blobs))
        data += struct.pack("<iii", ncnn.layer_to_index(tokens[0]), nb, nt)
        data += struct.pack(f"<{nb + nt}i", *(blobs.setdefault(n, len(blobs)) for n in names))
        for kv in tokens[4 + nb + nt:]:
            key, value = kv.split("=", 1)
            pid = int(key)
            items = value.split(",")
            if pid <= -23300:
                items = items[1:]
            elif len(items) > 1:
                pid = -23300 - pid
            data += struct.pack("<i", pid)
            if pid <= -23300:
                data += struct.pack("<i", len(items))
            for v in items:
                data += struct.pack("<f", float(v)) if ("." in v or "e" in v) else \
                    struct.pack("<i", int(v))
        data += struct.pack("<i", -233)
    with open(out, "wb") as f:
        f.write(data)


def _param_bin_oracle(folder, name, inputs):
    import ncnn
    _param_bin(os.path.join(folder, f"{name}.shaped.ncnn.param"),
               os.path.join(folder, f"{name}.param.bin"))
    net = ncnn.Net()
    out = {"load_param_bin": net.load_param_bin(os.path.join(folder, f"{name}.param.bin"))}
    out["load_model"] = net.load_model(os.path.join(folder, f"{name}.ncnn.bin"))
    out["layers"] = [{"typeindex": x.typeindex, "bottoms": list(x.bottoms),
                      "tops": list(x.tops)} for x in net.layers()]
    ex = net.create_extractor()
    for index, x in zip(net.input_indexes(), inputs):
        ex.input(index, _mat(ncnn, x))
    shapes = {}
    for i in range(len(net.blobs())):
        ret, mat = ex.extract(i)
        shapes[f"blob{i}"] = {"ret": ret, "dims": mat.dims, "w": mat.w, "h": mat.h,
                              "d": mat.d, "c": mat.c}
    out["shapes"] = shapes
    return out


def _child(folder):
    import pnnx
    import torch
    models = _torch_modules()
    torch.manual_seed(0)
    cnn = models._cnn_module().eval()
    specs = {
        "cnn": (cnn, (torch.randn(1, 3, 32, 32),), True),
        "cnn_fp32": (cnn, (torch.randn(1, 3, 32, 32),), False),
        "block": (_block().eval(), (torch.randn(1, 3, 16, 16),), True),
        "transformer": (models._transformer_module().eval(),
                        (torch.randint(0, 500, (2, 8)), torch.ones(2, 8, dtype=torch.int64)),
                        True),
        "more": (_more().eval(), (torch.randn(1, 3, 16, 16), torch.randn(1, 4, 10)), True),
        "transformer_b1": (models._transformer_module().eval(),
                           (torch.randint(0, 500, (1, 8)), torch.ones(1, 8)), True),
    }
    for name, (module, inputs, fp16) in specs.items():   # (torch inputs: ids, floats)
        pt = os.path.join(folder, f"{name}.pt")
        base = os.path.join(folder, name)
        pnnx.export(module, pt, inputs, fp16=fp16, check_trace=False,
                    pnnxparam=base + ".pnnx.param", pnnxbin=base + ".pnnx.bin",
                    pnnxpy=base + "_pnnx.py", pnnxonnx=base + ".pnnx.onnx",
                    ncnnparam=base + ".ncnn.param", ncnnbin=base + ".ncnn.bin",
                    ncnnpy=base + "_ncnn.py")
        for leftover in (pt, base + "_pnnx.py", base + ".pnnx.onnx", base + "_ncnn.py"):
            if os.path.exists(leftover):
                os.remove(leftover)
        with torch.no_grad():
            result = module(*inputs)
        results = result if isinstance(result, tuple) else (result,)
        params = {k: {"shape": list(v.shape), "values": v.reshape(-1)[:64].tolist(),
                      "float16": v.reshape(-1)[:64].to(torch.float16).float().tolist()}
                  for k, v in module.state_dict().items()
                  if k.rsplit(".", 1)[-1] in ("weight", "bias") and
                  any(p in k for p in ("fc", "head", "ffn", "LayerNorm", "norm", "embeddings",
                                       "dense", "query"))}
        oracle = {"pnnx": PNNX_VERSION, "ncnn": NCNN_VERSION, "fp16": fp16,
                  "input_shapes": [list(x.shape) for x in inputs],
                  "output_shapes": [list(r.shape) for r in results],
                  "torch_params": params,
                  "ncnn": _ncnn_oracle(folder, name, inputs)}
        if name == "block":
            oracle["param_bin"] = _param_bin_oracle(folder, name, inputs)
        with open(os.path.join(folder, f"{name}.oracle.json"), "w") as f:
            json.dump(oracle, f)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    _child(sys.argv[2])
