"""Benchmark models: big real ONNX files exported by torch, cached under bench/.cache/.

  gpt2.onnx      GPT-2-small-like decoder (12 layers, d_model 768, 12 heads, vocab
                 50257, context 1024, untied lm_head), weights inline: ~650 MB
  gpt2-medium.onnx  the same with GPT-2 medium's size (24 layers, d_model 1024, 16 heads):
                 ~1.4 GB, the "24-layer transformer export" of the page benchmarks
  resnet50.onnx  ResNet-50-sized CNN (bottleneck blocks 3-4-6-3), weights inline: ~100 MB
  vit_b16.onnx   ViT-B/16 as torchvision builds it (nn.MultiheadAttention blocks): ~350 MB
  bert_base.onnx BERT-base-like encoder written the Hugging Face way (attention mask,
                 token types, pooler): ~440 MB
  one_node.onnx  a single Relu

All are torch.nn modules with random weights, exported with the TorchScript exporter
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


def _vit_b16(d=768, heads=12, layers=12, patch=16, image=224, classes=1000):
    """ViT-B/16 as torchvision builds it: patch convolution, class token, learned
    positions, encoder blocks of nn.MultiheadAttention + MLP, head on the class token."""
    import torch
    from torch import nn

    class EncoderBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d, eps=1e-6)
            self.self_attention = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ln_2 = nn.LayerNorm(d, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            y = self.ln_1(x).transpose(0, 1)   # (sequence, batch, d): the module's slow path,
            a = self.self_attention             # which exports (its fused fast path does not)
            y, _ = nn.functional.multi_head_attention_forward(
                y, y, y, d, heads, a.in_proj_weight, a.in_proj_bias, None, None, False, 0.0,
                a.out_proj.weight, a.out_proj.bias, training=False, need_weights=False)
            y = y.transpose(0, 1)
            x = x + y
            return x + self.mlp(self.ln_2(x))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_proj = nn.Conv2d(3, d, patch, patch)
            self.class_token = nn.Parameter(torch.zeros(1, 1, d))
            self.pos_embedding = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, d) * 0.02)
            self.layers = nn.Sequential(*(EncoderBlock() for _ in range(layers)))
            self.ln = nn.LayerNorm(d, eps=1e-6)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            x = self.conv_proj(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
            return self.head(self.ln(self.layers(x))[:, 0])

    torch.manual_seed(0)
    args = (torch.randn(1, 3, image, image),)
    return ViT(), args, ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}


def _bert_base(d=768, heads=12, layers=12, vocab=30522, positions=512):
    """A BERT-base-like encoder written as Hugging Face writes it: word + position +
    token-type embeddings, an extended attention mask from the input mask, per layer
    query/key/value projections, GELU intermediate, residual LayerNorms, a pooler."""
    import torch
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

        def forward(self, x, mask):
            b, s, _ = x.shape
            split = lambda t: t.view(b, s, heads, d // heads).transpose(1, 2)   # noqa: E731
            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = q @ k.transpose(-1, -2) / (d // heads) ** 0.5 + mask
            return (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, s, d)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = SelfAttention()
            self.attention_output = nn.Linear(d, d)
            self.attention_norm = nn.LayerNorm(d, eps=1e-12)
            self.intermediate = nn.Linear(d, 4 * d)
            self.output = nn.Linear(4 * d, d)
            self.output_norm = nn.LayerNorm(d, eps=1e-12)

        def forward(self, x, mask):
            x = self.attention_norm(x + self.attention_output(self.attention(x, mask)))
            return self.output_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab, d)
            self.position_embeddings = nn.Embedding(positions, d)
            self.token_type_embeddings = nn.Embedding(2, d)
            self.embeddings_norm = nn.LayerNorm(d, eps=1e-12)
            self.layer = nn.ModuleList(Layer() for _ in range(layers))
            self.pooler = nn.Linear(d, d)

        def forward(self, input_ids, attention_mask, token_type_ids):
            pos = torch.arange(input_ids.shape[1]).unsqueeze(0)
            x = self.embeddings_norm(self.word_embeddings(input_ids) + self.position_embeddings(pos)
                                     + self.token_type_embeddings(token_type_ids))
            mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            for layer in self.layer:
                x = layer(x, mask)
            return x, torch.tanh(self.pooler(x[:, 0]))

    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (1, 16))
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    return Bert(), args, names, ["last_hidden_state", "pooler_output"], axes


def _one_node():
    """The smallest model: one Relu."""
    import torch
    args = (torch.randn(1, 3, 224, 224),)
    return torch.nn.ReLU(), args, ["input"], ["output"], {"input": {0: "batch"}, "output": {0: "batch"}}


BUILDERS = {"gpt2": _gpt2, "gpt2-medium": lambda: _gpt2(d=1024, heads=16, layers=24),
            "resnet50": _resnet50, "vit_b16": _vit_b16, "bert_base": _bert_base, "one_node": _one_node}


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
