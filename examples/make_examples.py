"""Write the site's example models with torch (run by hand; the .onnx files are committed
so that building the site needs no torch):

    python examples/make_examples.py

Small real models (< 3 MB each) with named modules, so the page has something to show
at once: a ResNet-like CNN, a GPT-like decoder, and an LSTM tagger. Weights come from a
fixed seed; examples.json lists them with the titles the page shows.
"""
import json
import os
import warnings

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


# --- a ResNet-like CNN --------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNetMini(nn.Module):
    def __init__(self, classes=10, widths=(16, 32, 48, 96)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            layers.append(nn.Sequential(Block(cin, w, 1 if i == 0 else 2), Block(w, w, 1)))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


# --- a GPT-like decoder -------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class DecoderBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPTMini(nn.Module):
    def __init__(self, vocab=1024, dim=64, heads=4, layers=4, context=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(context, dim)
        self.h = nn.ModuleList(DecoderBlock(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight     # tied, as in GPT-2

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.wte(ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


# --- an LSTM tagger -----------------------------------------------------------------

class LSTMTagger(nn.Module):
    def __init__(self, vocab=2000, dim=64, hidden=96, tags=17):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, tags)

    def forward(self, ids):
        y, _ = self.lstm(self.embedding(ids))
        return torch.log_softmax(self.classifier(y), dim=-1)


EXAMPLES = [
    ("resnet-mini.onnx", "ResNet mini",
     "A small ResNet-like image classifier: convolutions, batch norm, residual blocks",
     ResNetMini, lambda: (torch.randn(1, 3, 32, 32),), ["image"], ["logits"],
     {"image": {0: "batch"}, "logits": {0: "batch"}}),
    ("gpt-mini.onnx", "GPT mini",
     "A 4-layer GPT-like decoder: embeddings, causal self-attention, MLP, tied LM head",
     GPTMini, lambda: (torch.randint(0, 1024, (1, 32)),), ["input_ids"], ["logits"],
     None),   # static shapes: the exporter folds the shape arithmetic away
    ("lstm-tagger.onnx", "LSTM tagger",
     "A sequence tagger: embedding, 2-layer bidirectional LSTM, linear classifier",
     LSTMTagger, lambda: (torch.randint(0, 2000, (1, 12)),), ["tokens"], ["tag_scores"],
     {"tokens": {0: "batch", 1: "sequence"}, "tag_scores": {0: "batch", 1: "sequence"}}),
]


def main():
    listing = []
    for fname, name, description, make, inputs, in_names, out_names, axes in EXAMPLES:
        torch.manual_seed(0)
        module = make().eval()
        path = os.path.join(HERE, fname)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated
            torch.onnx.export(module, inputs(), path, dynamo=False, opset_version=17,
                              input_names=in_names, output_names=out_names,
                              dynamic_axes=axes)
        size = os.path.getsize(path)
        assert size < 3 << 20, f"{fname} is {size} bytes; examples must stay under 3 MB"
        print(f"{fname}: {size} bytes")
        listing.append({"file": fname, "name": name, "description": description})
    with open(os.path.join(HERE, "examples.json"), "w") as f:
        json.dump(listing, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
