"""Benchmark models: big real ONNX files exported by torch, cached under bench/.cache/.

  gpt2.onnx      GPT-2-small-like decoder (12 layers, d_model 768, 12 heads, vocab
                 50257, context 1024, untied lm_head), weights inline: ~650 MB
  gpt2-medium.onnx  the same with GPT-2 medium's size (24 layers, d_model 1024, 16 heads):
                 ~1.4 GB, the "24-layer transformer export" of the page benchmarks
  resnet50.onnx  ResNet-50-sized CNN (bottleneck blocks 3-4-6-3), weights inline: ~100 MB

Both are torch.nn modules with random weights, exported with the TorchScript exporter
(dynamo=False). Each file is written to a temporary name and renamed when complete.

    python bench/make_models.py        # builds what is missing, prints the paths
"""
import os
import warnings

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")


def _key():
    from importlib.metadata import version
    return f"torch-{version('torch').replace('+', '_')}-onnx-{version('onnx')}"


def _gpt2(d=768, heads=12, layers=12):
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, d, heads, context):
            super().__init__()
            self.heads, self.head = heads, d // heads
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            # causal mask kept as a buffer, as Hugging Face's GPT-2 does
            self.register_buffer("bias", torch.tril(torch.ones(context, context, dtype=torch.bool))
                                 .view(1, 1, context, context), persistent=False)

        def forward(self, x):
            b, s, d = x.shape
            q, k, v = self.c_attn(x).split(d, dim=2)
            q, k, v = (t.view(b, s, self.heads, self.head).transpose(1, 2) for t in (q, k, v))
            scores = q @ k.transpose(-1, -2) / self.head ** 0.5
            scores = scores.masked_fill(~self.bias[:, :, :s, :s], float("-inf"))
            ctx = torch.softmax(scores, -1) @ v
            return self.c_proj(ctx.transpose(1, 2).reshape(b, s, d))

    class MLP(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.c_fc = nn.Linear(d, 4 * d)
            self.act = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * d, d)

        def forward(self, x):
            return self.c_proj(self.act(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self, d, heads, context):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = Attention(d, heads, context)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = MLP(d)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT2(nn.Module):
        def __init__(self, vocab=50257, context=1024, d=768, heads=12, layers=12):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(context, d)
            self.h = nn.ModuleList(Block(d, heads, context) for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)   # untied: its own 154 MB

        def forward(self, input_ids):
            pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
            x = self.wte(input_ids) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    torch.manual_seed(0)
    args = (torch.randint(0, 50257, (1, 8)),)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    return GPT2(d=d, heads=heads, layers=layers), args, ["input_ids"], ["logits"], axes


def _resnet50():
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin, width, stride):
            super().__init__()
            cout = width * self.expansion
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            return self.relu(y + identity)

    class ResNet50(nn.Module):
        def __init__(self, blocks=(3, 4, 6, 3), classes=1000):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin, layers = 64, []
            for i, n in enumerate(blocks):
                width = 64 << i
                stride = 1 if i == 0 else 2
                seq = []
                for j in range(n):
                    seq.append(Bottleneck(cin, width, stride if j == 0 else 1))
                    cin = width * Bottleneck.expansion
                layers.append(nn.Sequential(*seq))
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(0)
    args = (torch.randn(1, 3, 224, 224),)
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
    return ResNet50(), args, ["input"], ["logits"], axes


BUILDERS = {"gpt2": _gpt2, "gpt2-medium": lambda: _gpt2(d=1024, heads=16, layers=24),
            "resnet50": _resnet50}


def model_path(name):
    """Path of benchmark model `name` (see BUILDERS), exported on first use."""
    folder = os.path.join(CACHE, _key())
    path = os.path.join(folder, name + ".onnx")
    if os.path.exists(path):
        return path
    import torch
    os.makedirs(folder, exist_ok=True)
    module, args, inputs, outputs, axes = BUILDERS[name]()
    module.eval()
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated, on purpose
            torch.onnx.export(module, args, tmp, dynamo=False, input_names=inputs,
                              output_names=outputs, dynamic_axes=axes)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


if __name__ == "__main__":
    for name in BUILDERS:
        p = model_path(name)
        print(f"{name:10} {os.path.getsize(p) / 1e6:8.1f} MB  {p}")
