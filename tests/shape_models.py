"""Torch exports for the shape-inference and cost tests, cached under tests/.cache/shapes/.

Each model is built from torch.nn modules and exported with the TorchScript exporter
(dynamo=False) with dynamic axes, so the files carry the Shape -> Gather -> Concat ->
Reshape chains real exports have. A set is built in a temporary folder and renamed into
place when whole (keyed by the onnx/torch versions), so interrupted runs leave nothing
half-written. `python tests/shape_models.py` builds them and prints their paths.
"""
import json
import os
import shutil
import tempfile
import warnings

import onnx

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache", "shapes")

# Concrete sizes the tests run the models with (and what symbols take in them).
RUN_DIMS = {"batch": 3, "sequence": 7, "height": 40, "width": 48}


def _key():
    from importlib.metadata import version
    return f"onnx-{onnx.__version__}-torch-{version('torch').replace('+', '_')}-v2"


def _cached(name, build):
    folder = os.path.join(CACHE, _key(), name)
    marker = os.path.join(folder, "complete.json")
    if not os.path.exists(marker):
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=name + ".tmp-", dir=os.path.dirname(folder))
        try:
            index = build(tmp)
            with open(os.path.join(tmp, "complete.json"), "w") as f:
                json.dump(index, f)
            shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rename(tmp, folder)
            except OSError:
                if not os.path.exists(marker):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    with open(marker) as f:
        return folder, json.load(f)


def _export(module, args, path, input_names, output_names, dynamic_axes):
    import torch
    module.eval()
    with warnings.catch_warnings():   # (no no_grad: it sends nn.MultiheadAttention down a fused path)
        warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated, on purpose
        torch.onnx.export(module, args, path, dynamo=False, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes)


# --- a CNN ---------------------------------------------------------------------

def _cnn():
    import torch
    from torch import nn
    import torch.nn.functional as F

    class Stem(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(16)
            self.act = nn.Hardswish()
            self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        def forward(self, x):
            return self.pool(self.act(self.bn(self.conv(x))))

    class Branches(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.depthwise = nn.Conv2d(c, c, 3, padding=2, dilation=2, groups=c)
            self.pointwise = nn.Conv2d(c, 2 * c, 1)
            self.wide = nn.Conv2d(c, c, (1, 5), padding=(0, 2))
            self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

        def forward(self, x):
            a, b = torch.chunk(self.pointwise(F.relu6(self.depthwise(x))), 2, dim=1)
            y = torch.cat([a * torch.sigmoid(b), self.wide(x), self.avg(x)], dim=1)
            return F.silu(y)

    class Decoder(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.up = nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1)
            self.shuffle = nn.PixelShuffle(2)
            self.refine = nn.Conv2d(c // 8, 8, 3, padding=1)

        def forward(self, x):
            y = self.up(x)
            y = self.shuffle(y)
            y = F.pad(y, (1, 2, 0, 1), mode="reflect")
            return self.refine(y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = Stem()
            self.block = Branches(16)
            self.squeeze = nn.Conv2d(48, 32, 1)
            self.down = nn.Conv2d(32, 32, 3, stride=2, padding=1, bias=False)
            self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.decoder = Decoder(32)
            self.head = nn.Linear(32 + 8, 10)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            x = self.stem(x)
            x = F.relu(self.squeeze(self.block(x)))
            skip = x
            x = self.upsample(self.down(x)) + skip
            seg = self.decoder(x)
            pooled = torch.cat([x.mean(dim=(2, 3)), seg.amax(dim=(2, 3))], dim=1)
            logits = self.head(self.drop(pooled.view(pooled.shape[0], -1)))
            return torch.softmax(logits, dim=-1), seg

    torch.manual_seed(0)
    return Net()


def _build_cnn(folder):
    import torch
    net = _cnn()
    x = torch.randn(2, 3, 32, 32)
    _export(net, (x,), os.path.join(folder, "cnn.onnx"), ["image"], ["probs", "seg"],
            {"image": {0: "batch"}, "probs": {0: "batch"}, "seg": {0: "batch"}})
    _export(net, (x,), os.path.join(folder, "cnn_hw.onnx"), ["image"], ["probs", "seg"],
            {"image": {0: "batch", 2: "height", 3: "width"}, "probs": {0: "batch"},
             "seg": {0: "batch", 2: "seg_h", 3: "seg_w"}})
    return {"cnn": "cnn.onnx", "cnn_hw": "cnn_hw.onnx"}


# --- a transformer ---------------------------------------------------------------

def _transformer(layers=2, hidden=32, heads=4, vocab=101, positions=64):
    import torch
    from torch import nn
    import torch.nn.functional as F

    class CausalSelfAttention(nn.Module):
        """GPT-style: fused qkv, split, view/transpose, a sliced causal mask buffer."""
        def __init__(self):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(hidden, 3 * hidden)
            self.proj = nn.Linear(hidden, hidden)
            self.register_buffer("mask", torch.tril(torch.ones(positions, positions))
                                 .view(1, 1, positions, positions))

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = self.qkv(x).split(c, dim=2)
            q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
            k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
            v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
            att = torch.einsum("bhqd,bhkd->bhqk", q, k) * (1.0 / (c // self.heads) ** 0.5)
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
            y = torch.softmax(att, dim=-1) @ v
            return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class SdpaAttention(nn.Module):
        """scaled_dot_product_attention with an explicit key-padding mask."""
        def __init__(self):
            super().__init__()
            self.heads = heads
            self.q = nn.Linear(hidden, hidden)
            self.kv = nn.Linear(hidden, 2 * hidden)
            self.out = nn.Linear(hidden, hidden)

        def forward(self, x, keep, causal):
            b, t, c = x.shape
            q = self.q(x).reshape(b, t, self.heads, -1).permute(0, 2, 1, 3)
            k, v = self.kv(x).reshape(b, t, 2, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
            if causal:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
            return self.out(y.permute(0, 2, 1, 3).flatten(2))

    class Block(nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.ln_1 = nn.LayerNorm(hidden)
            self.kind = kind
            # (nn.MultiheadAttention is left out: its TorchScript export bakes the
            # traced sizes into Reshape targets, so it cannot run at other sizes.)
            self.attn = CausalSelfAttention() if kind == "causal" else SdpaAttention()
            self.ln_2 = nn.LayerNorm(hidden)
            self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * hidden, hidden))

        def forward(self, x, keep):
            h = self.ln_1(x)
            if self.kind == "causal":
                a = self.attn(h)
            else:
                a = self.attn(h, keep, self.kind == "sdpa_causal")
            x = x + a
            return x + self.mlp(self.ln_2(x))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, hidden)
            self.wpe = nn.Embedding(positions, hidden)
            kinds = ["causal", "sdpa", "sdpa_causal"]
            self.h = nn.ModuleList(Block(kinds[i % 3]) for i in range(layers))
            self.ln_f = nn.LayerNorm(hidden)
            self.lm_head = nn.Linear(hidden, vocab, bias=False)

        def forward(self, ids, attention_mask):
            b, t = ids.shape
            keep = attention_mask > 0
            pos = (torch.cumsum(attention_mask, dim=1) - 1).clamp(min=0)
            x = self.wte(ids) + self.wpe(pos)
            for block in self.h:
                x = block(x, keep)
            logits = self.lm_head(self.ln_f(x))
            last = logits[:, -1, :]
            top_values, top_ids = torch.topk(last, 5, dim=-1)
            pooled = x.unsqueeze(1).expand(b, 2, t, hidden).repeat(1, 1, 1, 2).sum(dim=(1, 3))
            return logits, top_values, top_ids, last.argmax(-1), pooled

    torch.manual_seed(0)
    return Model()


def _transformer_inputs(batch=2, sequence=9):
    import torch
    ids = torch.randint(0, 101, (batch, sequence))
    mask = torch.ones(batch, sequence, dtype=torch.int64)
    return ids, mask


_TRANSFORMER_AXES = {"ids": {0: "batch", 1: "sequence"},
                     "attention_mask": {0: "batch", 1: "sequence"},
                     "logits": {0: "batch", 1: "sequence"}, "top_values": {0: "batch"},
                     "top_ids": {0: "batch"}, "next_id": {0: "batch"},
                     "pooled": {0: "batch", 1: "sequence"}}
_TRANSFORMER_OUTPUTS = ["logits", "top_values", "top_ids", "next_id", "pooled"]


def _build_transformer(folder):
    _export(_transformer(layers=3), _transformer_inputs(), os.path.join(folder, "transformer.onnx"),
            ["ids", "attention_mask"], _TRANSFORMER_OUTPUTS, _TRANSFORMER_AXES)
    return {"transformer": "transformer.onnx"}


# --- recurrent -------------------------------------------------------------------

def _rnn():
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(12, 16, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(32, 8, num_layers=2)
            self.out = nn.Linear(8, 4)

        def forward(self, x):
            y, _ = self.lstm(x)
            z, h = self.gru(y.transpose(0, 1))
            return self.out(z), h

    torch.manual_seed(0)
    return Net()


def _build_rnn(folder):
    import torch
    _export(_rnn(), (torch.randn(2, 5, 12),), os.path.join(folder, "rnn.onnx"), ["x"],
            ["y", "h"], {"x": {0: "batch", 1: "sequence"}, "y": {0: "sequence", 1: "batch"},
                         "h": {1: "batch"}})
    return {"rnn": "rnn.onnx"}


# --- symbolic sizes: a YOLO-like detector and static twins (wetron.sizes) --------

# The static exports are written at these sizes; the tests set the symbolic ones to them.
STATIC_CNN = {"batch": 3, "height": 40, "width": 48}
STATIC_DETECTOR = {"batch": 2, "height": 64, "width": 96}


def _detector():
    """A small YOLO-like detector: strided Conv-BN-SiLU stages, a C2f-like split and
    concat, SPPF (three chained max pools), an upsampling neck with a skip concat, and
    two heads."""
    import torch
    from torch import nn

    def conv(cin, cout, k=3, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())

    class C2f(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.cv1, self.m, self.cv2 = conv(c, c, 1), conv(c // 2, c // 2), conv(c + c // 2, c, 1)

        def forward(self, x):
            a, b = self.cv1(x).chunk(2, 1)
            return self.cv2(torch.cat([a, b, self.m(b)], 1))

    class SPPF(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.cv1, self.cv2 = conv(c, c // 2, 1), conv(2 * c, c, 1)
            self.pool = nn.MaxPool2d(5, 1, 2)

        def forward(self, x):
            x = self.cv1(x)
            y1 = self.pool(x)
            y2 = self.pool(y1)
            return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.down1 = conv(3, 8, 3, 2), conv(8, 16, 3, 2)
            self.c2f, self.down2, self.sppf = C2f(16), conv(16, 32, 3, 2), SPPF(32)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.neck = conv(48, 16)
            self.head_small, self.head_large = nn.Conv2d(16, 6, 1), nn.Conv2d(32, 6, 1)

        def forward(self, x):
            p3 = self.c2f(self.down1(self.stem(x)))
            p4 = self.sppf(self.down2(p3))
            n3 = self.neck(torch.cat([self.up(p4), p3], 1))
            return self.head_small(n3), self.head_large(p4)

    torch.manual_seed(0)
    return Detector()


def _build_sizes(folder):
    import torch
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    s = STATIC_CNN
    _export(_cnn(), (torch.randn(s["batch"], 3, s["height"], s["width"]),),
            os.path.join(folder, "cnn_static.onnx"), ["image"], ["probs", "seg"], None)
    s = STATIC_DETECTOR
    x = torch.randn(s["batch"], 3, s["height"], s["width"])
    _export(_detector(), (x,), os.path.join(folder, "detector_static.onnx"), ["images"],
            ["small", "large"], None)
    dynamic = os.path.join(folder, "detector.onnx")
    _export(_detector(), (x,), dynamic, ["images"], ["small", "large"],
            {"images": {0: "batch", 2: "height", 3: "width"}, "small": {0: "batch"},
             "large": {0: "batch"}})
    # ONNX Runtime's symbolic shape inference (sympy) writes every inner shape as an
    # expression of the input's symbols, as tools such as onnxslim (Ultralytics' export)
    # do: "floor(floor(height/2 - 1/2)/2 + 1/2)".
    proto = SymbolicShapeInference.infer_shapes(onnx.load(dynamic), auto_merge=True)
    onnx.save(proto, os.path.join(folder, "detector_sym.onnx"))
    return {"cnn_static": "cnn_static.onnx", "detector_static": "detector_static.onnx",
            "detector": "detector.onnx", "detector_sym": "detector_sym.onnx"}


# --- public --------------------------------------------------------------------

def _path(set_name, build, which):
    folder, index = _cached(set_name, build)
    return os.path.join(folder, index[which])


def cnn():
    """A CNN (strided/dilated/grouped conv, pooling with ceil_mode, ConvTranspose,
    Resize, PixelShuffle, Pad, Split, Concat, reductions), dynamic batch."""
    return _path("cnn", _build_cnn, "cnn")


def cnn_dynamic_hw():
    """The same CNN with dynamic batch, height and width."""
    return _path("cnn", _build_cnn, "cnn_hw")


def cnn_static():
    """The CNN exported at the static sizes STATIC_CNN (batch, height, width)."""
    return _path("sizes", _build_sizes, "cnn_static")


def detector(which="detector"):
    """The YOLO-like detector: "detector" (dynamic batch, height, width), "detector_sym"
    (the same with ONNX Runtime's symbolic shape inference: inner shapes written as
    floor(...) expressions), "detector_static" (exported at STATIC_DETECTOR)."""
    return _path("sizes", _build_sizes, which)


def transformer():
    """A GPT-like decoder: causal einsum attention with a sliced mask buffer,
    scaled_dot_product_attention with a padding mask and causal, LayerNorm, GELU, TopK/ArgMax, Expand/Tile; dynamic batch
    and sequence."""
    return _path("transformer", _build_transformer, "transformer")


def rnn():
    """A bidirectional LSTM into a two-layer GRU, dynamic batch and sequence."""
    return _path("rnn", _build_rnn, "rnn")


def large_transformer(layers):
    """The transformer with many layers (for benchmarks; tens of thousands of nodes)."""
    def build(folder):
        _export(_transformer(layers=layers), _transformer_inputs(),
                os.path.join(folder, "model.onnx"), ["ids", "attention_mask"],
                _TRANSFORMER_OUTPUTS, _TRANSFORMER_AXES)
        return {"model": "model.onnx"}
    return _path(f"large-transformer-{layers}", build, "model")


def sample_inputs(path):
    """Inputs (name -> numpy array) to run a model of this module at RUN_DIMS."""
    import numpy as np
    rng = np.random.default_rng(0)
    b, s = RUN_DIMS["batch"], RUN_DIMS["sequence"]
    name = os.path.basename(path)
    if name.startswith("cnn"):
        hw = (RUN_DIMS["height"], RUN_DIMS["width"]) if "hw" in name else (32, 32)
        return {"image": rng.standard_normal((b, 3) + hw).astype(np.float32)}
    if name == "rnn.onnx":
        return {"x": rng.standard_normal((b, s, 12)).astype(np.float32)}
    mask = np.ones((b, s), np.int64)
    mask[0, -2:] = 0   # some padding, so the masks matter
    return {"ids": rng.integers(0, 101, (b, s)).astype(np.int64), "attention_mask": mask}


ALL = {"cnn": cnn, "cnn_hw": cnn_dynamic_hw, "transformer": transformer, "rnn": rnn}


if __name__ == "__main__":
    for name, fn in ALL.items():
        print(name, fn())
