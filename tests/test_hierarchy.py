"""The module hierarchy (py/wetron/hierarchy.py, docs/graph-schema.md `groups`) on real
torch exports: small torch modules built the way torchvision and Hugging Face write
ResNet-50, Swin, GPT-2 (with its attention-mask plumbing and a lone "transformer"
root), BERT and ViT, exported by torch.onnx.export (dynamo=False: names carry module
scopes) and cached like tests/models.py does.

Checked against independent computations: where unscoped nodes went (against the
modules of their consumers), which siblings are repeats (against the weight shapes),
how many boxes each level shows, and that shape-computation groups hold only values
that do not depend on any input's values (run with onnxruntime on two different
random inputs of the same shapes, the groups' outputs as extra graph outputs)."""
import copy
import glob
import importlib.util
import json
import os
import re
import warnings

import numpy as np
import onnx
import pytest

import models
import wetron
from conftest import PY, REPO
from wetron import hierarchy

pytestmark = pytest.mark.timeout(900)

SHAPE = "\u27e8shape\u27e9"


# --- the models -------------------------------------------------------------------

def _resnet50_like():
    """torchvision's ResNet-50 layout (bottleneck blocks 3-4-6-3, downsample on each
    stage's first block) at 1/16 of the width: layer1 and layer4 hold the same ops,
    with different channel widths."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin, width, stride):
            super().__init__()
            cout = width * 4
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            return self.relu(self.bn3(self.conv3(y)) + identity)

    class ResNet(nn.Module):
        def __init__(self, blocks=(3, 4, 6, 3), base=4, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = base
            for i, n in enumerate(blocks):
                seq = []
                for j in range(n):
                    seq.append(Bottleneck(cin, base << i, (1 if i == 0 else 2) if j == 0 else 1))
                    cin = (base << i) * 4
                setattr(self, f"layer{i + 1}", nn.Sequential(*seq))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet(), (torch.randn(1, 3, 64, 64),), ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}


def _gpt2_hf_like(layers=12, d=32, heads=4, vocab=300, context=64):
    """GPT-2 as Hugging Face's GPT2LMHeadModel writes it: one "transformer" module
    (GPT2Model: wte, wpe, blocks h.N, ln_f) and an lm_head beside it; the model's own
    code builds position ids from the input's shape and the extended attention mask
    from attention_mask, and each block's attention slices its causal-mask buffer to
    the sequence length."""
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.register_buffer("bias", torch.tril(torch.ones(context, context, dtype=torch.bool)).view(1, 1, context, context), persistent=False)

        def split(self, t):
            return t.view(t.size()[:-1] + (heads, d // heads)).permute(0, 2, 1, 3)

        def forward(self, x, mask):
            q, k, v = self.c_attn(x).split(d, dim=2)
            q, k, v = self.split(q), self.split(k), self.split(v)
            w = q @ k.transpose(-1, -2) / torch.full([], v.size(-1) ** 0.5, dtype=w_dtype(q))
            qlen, klen = q.size(-2), k.size(-2)
            causal = self.bias[:, :, klen - qlen:klen, :klen]
            w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
            w = torch.softmax(w + mask, dim=-1)
            a = (w @ v).permute(0, 2, 1, 3).contiguous()
            return self.c_proj(a.view(a.size()[:-2] + (d,)))

    def w_dtype(t):
        return t.dtype

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(d, 4 * d)
            self.act = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * d, d)

        def forward(self, x):
            return self.c_proj(self.act(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = MLP()

        def forward(self, x, mask):
            x = x + self.attn(self.ln_1(x), mask)
            return x + self.mlp(self.ln_2(x))

    class GPT2Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(context, d)
            self.h = nn.ModuleList(Block() for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)

        def forward(self, input_ids, attention_mask):
            shape = input_ids.size()
            input_ids = input_ids.view(-1, shape[-1])
            batch = input_ids.shape[0]
            position_ids = torch.arange(0, shape[-1], dtype=torch.long).unsqueeze(0)
            mask = attention_mask.view(batch, -1)[:, None, None, :].to(torch.float32)
            mask = (1.0 - mask) * torch.finfo(torch.float32).min
            x = self.wte(input_ids) + self.wpe(position_ids)
            out_shape = (-1,) + shape[1:] + (x.size(-1),)
            for block in self.h:
                x = block(x, mask)
            return self.ln_f(x).view(out_shape)

    class GPT2LMHeadModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = GPT2Model()
            self.lm_head = nn.Linear(d, vocab, bias=False)

        def forward(self, input_ids, attention_mask):
            return self.lm_head(self.transformer(input_ids, attention_mask))

    ids = torch.randint(0, vocab, (2, 8))
    names = ["input_ids", "attention_mask"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch", 1: "sequence"}
    return GPT2LMHeadModel(), (ids, torch.ones_like(ids)), names, ["logits"], axes


def _swin_like(depths=(2, 2, 18, 2), dim=8, heads=(1, 2, 4, 8), window=4, image=128, classes=10):
    """Swin-S laid out as torchvision builds it (features: patch embedding, stages of
    blocks with shifted-window attention written as a function of the input's shape,
    patch merging; then norm, permute, avgpool, flatten, head) at a small width."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def window_attention(x, qkv, proj, bias, ws, nh, shift):
        b, h, w, c = x.shape
        pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, ph, pw, _ = x.shape
        if ws >= ph:
            shift = 0
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
        nw = (ph // ws) * (pw // ws)
        x = x.view(b, ph // ws, ws, pw // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nw, ws * ws, c)
        t = F.linear(x, qkv.weight, qkv.bias).reshape(x.size(0), x.size(1), 3, nh, c // nh).permute(2, 0, 3, 1, 4)
        q, k, v = t[0], t[1], t[2]
        a = (q * (c // nh) ** -0.5).matmul(k.transpose(-2, -1)) + bias
        if shift:
            m = x.new_zeros((ph, pw))
            count = 0
            for hs in ((0, -ws), (-ws, -shift), (-shift, None)):
                for vs in ((0, -ws), (-ws, -shift), (-shift, None)):
                    m[hs[0]:hs[1], vs[0]:vs[1]] = count
                    count += 1
            m = m.view(ph // ws, ws, pw // ws, ws).permute(0, 2, 1, 3).reshape(nw, ws * ws)
            m = m.unsqueeze(1) - m.unsqueeze(2)
            m = m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)
            a = a.view(x.size(0) // nw, nw, nh, x.size(1), x.size(1)) + m.unsqueeze(1).unsqueeze(0)
            a = a.view(-1, nh, x.size(1), x.size(1))
        x = F.softmax(a, dim=-1).matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
        x = F.linear(x, proj.weight, proj.bias)
        x = x.view(b, ph // ws, pw // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if shift:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        return x[:, :h, :w, :].contiguous()

    class ShiftedWindowAttention(nn.Module):
        def __init__(self, c, nh, shift):
            super().__init__()
            self.nh, self.shift = nh, shift
            self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, nh) * 0.02)
            coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
            rel[:, :, 0] += window - 1
            rel[:, :, 1] += window - 1
            rel[:, :, 0] *= 2 * window - 1
            self.register_buffer("relative_position_index", rel.sum(-1).flatten())

        def forward(self, x):
            n = window * window
            bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1)
            bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
            return window_attention(x, self.qkv, self.proj, bias, window, self.nh, self.shift)

    class Block(nn.Module):
        def __init__(self, c, nh, shift):
            super().__init__()
            self.norm1 = nn.LayerNorm(c)
            self.attn = ShiftedWindowAttention(c, nh, shift)
            self.norm2 = nn.LayerNorm(c)
            self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Dropout(0.0), nn.Linear(4 * c, c), nn.Dropout(0.0))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class PatchMerging(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.reduction = nn.Linear(4 * c, 2 * c, bias=False)
            self.norm = nn.LayerNorm(4 * c)

        def forward(self, x):
            h, w, _ = x.shape[-3:]
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
            x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
            return self.reduction(self.norm(x))

    class Permute(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return torch.permute(x, self.dims)

    class Swin(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Sequential(nn.Conv2d(3, dim, 4, 4), Permute([0, 2, 3, 1]), nn.LayerNorm(dim))]
            for i, n in enumerate(depths):
                c = dim * 2 ** i
                layers.append(nn.Sequential(*(Block(c, heads[i], 0 if j % 2 == 0 else window // 2) for j in range(n))))
                if i < len(depths) - 1:
                    layers.append(PatchMerging(c))
            self.features = nn.Sequential(*layers)
            c = dim * 2 ** (len(depths) - 1)
            self.norm = nn.LayerNorm(c)
            self.permute = Permute([0, 3, 1, 2])
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten(1)
            self.head = nn.Linear(c, classes)

        def forward(self, x):
            return self.head(self.flatten(self.avgpool(self.permute(self.norm(self.features(x))))))

    return Swin(), (torch.randn(1, 3, image, image),), ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}


def _bench_builder(name):
    spec = importlib.util.spec_from_file_location("make_models", os.path.join(REPO, "bench", "make_models.py"))
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    return getattr(make, name)


BUILDERS = {
    "resnet50": _resnet50_like,
    "gpt2": _gpt2_hf_like,
    "gpt2_48": lambda: _gpt2_hf_like(layers=48, d=16, heads=2),   # GPT-2 XL's depth
    "swin_s": _swin_like,
    "bert": lambda: _bench_builder("_bert_base")(d=32, heads=2, layers=4, vocab=200, positions=64),
    "vit": lambda: _bench_builder("_vit_b16")(d=32, heads=2, layers=4, patch=8, image=32, classes=10),
}


def _build(folder):
    import torch
    index = {}
    for name, builder in BUILDERS.items():
        torch.manual_seed(0)
        module, args, inputs, outputs, axes = builder()
        module.eval()
        path = os.path.join(folder, name + ".onnx")
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")   # the TorchScript exporter is deprecated, on purpose
            torch.onnx.export(module, args, path, dynamo=False, input_names=inputs,
                              output_names=outputs, dynamic_axes=axes)
        index[name] = name + ".onnx"
    return index


@pytest.fixture(scope="module")
def exports():
    folder, index = models._cached_set(models._torch_key() + "-hierarchy-1", _build)
    paths = {name: os.path.join(folder, file) for name, file in index.items()}
    paths["transformer"] = models.torch_transformer()
    paths["cnn"] = models.torch_cnn()
    return paths


def _readability_exports():
    """The ONNX exports of tests/readability_models.py (torchvision, Hugging Face and
    ultralytics models, written by the real libraries) that are already in its cache:
    writing them takes a virtual environment of its own and minutes, which is that
    module's business, not this test's."""
    try:
        import readability_models
    except ImportError:
        return {}
    out = {}
    for group in ("torchvision", "hf", "yolo"):
        prefix = f"readability-{group}-{getattr(readability_models, 'GENERATION', '1')}-"
        for folder in sorted(glob.glob(os.path.join(models.CACHE, prefix + "*"))):
            try:
                with open(os.path.join(folder, models.MARKER)) as f:
                    index = json.load(f)
            except (OSError, ValueError):
                continue
            for name, info in index.get("models", {}).items():
                path = os.path.join(folder, info.get("file", ""))
                if path.endswith(".onnx") and os.path.exists(path):
                    out["real " + name] = path
    return out


@pytest.fixture(scope="module")
def documents(exports):
    paths = dict(exports)
    paths.update(_readability_exports())
    PATHS.update(paths)
    return {name: json.loads(wetron.open(path).dumps()) for name, path in paths.items()}


PATHS = {}   # name -> file of the documents fixture


# --- helpers ----------------------------------------------------------------------

def _tree(g):
    groups = g["groups"]
    parent = [grp["parent"] for grp in groups]

    def chain(k, real=False):   # k and its ancestors, innermost first (real: modules only)
        out = []
        while k >= 0:
            if not real or "kind" not in groups[k]:
                out.append(k)
            k = parent[k]
        return out

    def module(k):   # the innermost real module holding group k (-1: top level)
        while k >= 0 and "kind" in groups[k]:
            k = parent[k]
        return k

    return chain, module


def _lca(ks, chain):
    """The innermost real module holding all of the groups ks (-1: the top level)."""
    common = None
    for k in ks:
        c = chain(k, real=True)
        common = c if common is None else [x for x in common if x in set(c)]
    return common[0] if common else -1


def _level_sizes(g):
    """{level: boxes it shows (child groups and loose nodes)}; level -1 is the top."""
    sizes = {-1: 0}
    for k, grp in enumerate(g["groups"]):
        sizes.setdefault(k, 0)
        sizes[grp["parent"]] += 1
    for k in g["node_group"]:
        sizes[k] += 1
    return sizes


def _unscoped(name):
    return "/" not in name.lstrip("/")


# --- the groups as a whole -------------------------------------------------------------

def test_groups_are_a_consistent_tree(documents):
    for name, doc in documents.items():
        g = doc["graphs"][0]
        groups, node_group = g["groups"], g["node_group"]
        chain, _ = _tree(g)
        assert all(-1 <= grp["parent"] < k for k, grp in enumerate(groups)), name
        assert len({grp["path"] for grp in groups}) == len(groups), name
        totals = [0] * len(groups)
        for k in node_group:
            for a in chain(k):
                totals[a] += 1
        assert totals == [grp["nodes"] for grp in groups], name
        for grp in groups:
            kind = grp.get("kind")
            assert kind in (None, "shape", "range", "part"), (name, grp)
            if kind == "shape":
                base = groups[grp["parent"]]["path"] + "/" if grp["parent"] >= 0 else ""
                assert grp["path"] == base + SHAPE and grp["name"] == "shape computation", (name, grp)
            if kind is None:   # real modules keep the path their names give
                assert not grp["path"].endswith("\u27e9"), (name, grp)
                real = [groups[a]["name"] for a in reversed(chain(groups.index(grp))) if "kind" not in groups[a]]
                assert grp["path"] == "/".join(real), (name, grp["path"], real)


def test_documents_validate_with_kind_in_the_schema(documents):
    """docs/graph-schema.md documents `kind`; py/wetron/graph-schema.json needs it as an
    optional property of a group (this test adds it to a copy)."""
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(PY, "wetron", "graph-schema.json")) as f:
        schema = json.load(f)
    schema = copy.deepcopy(schema)
    schema["$defs"]["group"]["properties"].setdefault("kind", {"enum": ["shape", "range", "part"]})
    validator = jsonschema.Draft202012Validator(schema)
    for name, doc in documents.items():
        errors = [e.message[:200] for e in validator.iter_errors(doc)]
        assert not errors, (name, errors[:3])


# --- 1. unscoped nodes ----------------------------------------------------------------

def test_unscoped_nodes_join_the_modules_of_their_consumers(documents):
    """A node with no module in its name sits in an ancestor-or-equal of the innermost
    module holding all its consumers, and no higher than the innermost one holding its
    consumers and producers; at the top level only with a reason."""
    for name, doc in documents.items():
        g = doc["graphs"][0]
        nodes, node_group = g["nodes"], g["node_group"]
        chain, module = _tree(g)
        producer, consumers = {}, {}
        for i, node in enumerate(nodes):
            for v in node["out"]:
                producer[v] = i
        for i, node in enumerate(nodes):
            for v in node["in"]:
                if v in producer and producer[v] != i:
                    consumers.setdefault(producer[v], []).append(i)
        outputs = set(g["outputs"])
        adopted = total = 0
        for i, node in enumerate(nodes):
            if not _unscoped(node["name"]):
                continue
            total += 1
            mine = module(node_group[i])
            users = [module(node_group[c]) for c in consumers.get(i, [])]
            if set(node["out"]) & outputs or -1 in users:
                assert mine == -1, (name, node["name"])
                continue
            if not users:
                continue
            inner = _lca(users, chain)
            assert mine in chain(inner, real=True) or mine == -1, (name, node["name"], mine, inner)
            makers = [module(node_group[producer[v]]) for v in node["in"] if v in producer]
            outer = _lca(users + makers, chain)
            assert outer in chain(mine, real=True) or outer == -1, (name, node["name"])
            if mine == -1:   # kept at the top although its consumers are in a module:
                assert outer == -1, (name, node["name"])   # some producer is outside it
            adopted += mine >= 0
        if total > 20:
            assert adopted > total // 2, (name, adopted, total)


# --- 3. repeats -----------------------------------------------------------------------

def test_repeat_indexes_are_positions_among_alike_siblings(documents):
    for name, doc in documents.items():
        groups = doc["graphs"][0]["groups"]
        _, module = _tree(doc["graphs"][0])
        sets = {}
        for k, grp in enumerate(groups):
            r = grp.get("repeat")
            if r:
                assert 0 <= r["index"] < r["count"], (name, grp)
                sets.setdefault((module(grp["parent"]), r["of"]), []).append(k)
        for (parent, of), members in sets.items():
            reps = [groups[k]["repeat"] for k in members]
            assert sorted(r["index"] for r in reps) == list(range(len(members))), (name, of)
            assert {r["count"] for r in reps} == {len(members)}, (name, of)
            numbers = [int(re.match(r".*?(\d+)$", groups[k]["name"]).group(1)) for k in members]
            by_index = [n for _, n in sorted(zip([r["index"] for r in reps], numbers))]
            assert by_index == sorted(by_index), (name, of)


def _weight_shapes(path, groups, node_group, k):
    """Per node of group k (all depths, in order), the shapes of its weight inputs."""
    model = onnx.load(path, load_external_data=False)
    dims = {t.name: tuple(t.dims) for t in model.graph.initializer}
    out = []
    for i, node in enumerate(model.graph.node):
        j = node_group[i]
        while j >= 0 and j != k:
            j = groups[j]["parent"]
        if j == k:
            out.extend(dims[n] for n in node.input if n in dims)
    return out


def test_resnet_stages_of_different_widths_are_not_repeats(documents, exports):
    g = documents["resnet50"]["graphs"][0]
    groups = g["groups"]
    paths = {grp["path"]: grp for grp in groups}
    def ops(path):
        return [n["op"] for n, j in zip(g["nodes"], g["node_group"])
                if j >= 0 and groups[j]["path"].startswith(path + "/")]
    assert ops("layer1") == ops("layer4")   # the same ops...
    k1, k4 = (groups.index(paths[p]) for p in ("layer1", "layer4"))
    assert _weight_shapes(exports["resnet50"], groups, g["node_group"], k1) != \
        _weight_shapes(exports["resnet50"], groups, g["node_group"], k4)   # ... of other widths
    for i in range(1, 5):
        assert "repeat" not in paths[f"layer{i}"]
    # inside a stage, the blocks after the first (which has the downsample) repeat
    for stage, n in ((1, 3), (2, 4), (3, 6), (4, 3)):
        assert "repeat" not in paths[f"layer{stage}/layer{stage}.0"]
        assert [paths[f"layer{stage}/layer{stage}.{j}"]["repeat"] for j in range(1, n)] == \
            [{"of": f"layer{stage}.#", "index": j - 1, "count": n - 1} for j in range(1, n)]


@pytest.mark.parametrize("name,layers", [("gpt2", 12), ("gpt2_48", 48)])
def test_gpt2_blocks_are_repeats(documents, name, layers):
    groups = documents[name]["graphs"][0]["groups"]
    paths = {grp["path"]: grp for grp in groups}
    assert [paths[f"transformer/h.{k}"]["repeat"] for k in range(layers)] == \
        [{"of": "h.#", "index": k, "count": layers} for k in range(layers)]


def test_real_exports_repeats_and_lone_wrapper(documents):
    """The exports of the real libraries, where tests/readability_models.py wrote them."""
    if "real hf gpt2" in documents:
        g = documents["real hf gpt2"]["graphs"][0]
        paths = {grp["path"]: grp for grp in g["groups"]}
        assert [paths[f"transformer/h.{k}"]["repeat"] for k in range(12)] == \
            [{"of": "h.#", "index": k, "count": 12} for k in range(12)]
        assert [grp["path"] for grp in g["groups"] if grp["parent"] == -1 and "kind" not in grp] == ["transformer"]
    if "real hf llama" in documents:
        paths = {grp["path"]: grp for grp in documents["real hf llama"]["graphs"][0]["groups"]}
        assert [paths[f"model/layers.{k}"]["repeat"]["index"] for k in range(4)] == [0, 1, 2, 3]
    if "real torchvision resnet50" in documents:
        paths = {grp["path"]: grp for grp in documents["real torchvision resnet50"]["graphs"][0]["groups"]}
        assert not any("repeat" in paths[f"layer{i}"] for i in range(1, 5))
        assert paths["layer3/layer3.5"]["repeat"] == {"of": "layer3.#", "index": 4, "count": 5}


def test_swin_blocks_repeat_by_kind(documents):
    """Swin alternates plain and shifted windows: two kinds of repeats in a stage."""
    groups = documents["swin_s"]["graphs"][0]["groups"]
    paths = {grp["path"]: grp for grp in groups}
    stage = [paths[f"features/features.5/features.5.{j}"].get("repeat") for j in range(18)]
    assert all(stage)
    assert [r["index"] for r in stage[0::2]] == list(range(9)) == [r["index"] for r in stage[1::2]]
    assert len({r["of"] for r in stage[0::2]}) == 1 and len({r["of"] for r in stage[1::2]}) == 1
    assert stage[0]["of"] != stage[1]["of"]


# --- 4. levels of at most MAX_CHILDREN boxes --------------------------------------------

def test_levels_hold_at_most_40_boxes(documents):
    for name, doc in documents.items():
        g = doc["graphs"][0]
        sizes = _level_sizes(g)
        for k, size in sizes.items():
            if k >= 0 and g["groups"][k].get("kind") == "shape":
                continue   # shown on demand, as one flat computation
            assert size <= hierarchy.MAX_CHILDREN, (name, g["groups"][k]["path"] if k >= 0 else "top", size)


def test_deep_stack_gets_ranges_and_keeps_module_paths(documents):
    g = documents["gpt2_48"]["graphs"][0]
    groups = g["groups"]
    paths = {grp["path"]: k for k, grp in enumerate(groups)}
    outer = groups[paths["transformer/\u27e8h.0\u201347\u27e9"]]
    assert outer["kind"] == "range" and outer["name"] == "h.0\u201347"
    subs = [grp for grp in groups if grp["parent"] == paths["transformer/\u27e8h.0\u201347\u27e9"]]
    assert [s["name"] for s in subs] == ["h.0\u201323", "h.24\u201347"]
    for k in range(48):
        block = groups[paths[f"transformer/h.{k}"]]
        assert groups[block["parent"]]["name"] == ("h.0\u201323" if k < 24 else "h.24\u201347")


def test_lone_wrapper_is_alone(documents):
    """The Hugging Face layout: one real module at the top level (the page expands it)."""
    g = documents["gpt2"]["graphs"][0]
    top = [grp["path"] for grp in g["groups"] if grp["parent"] == -1 and "kind" not in grp]
    assert top == ["transformer"]


# --- 2. shape computation --------------------------------------------------------------

def _shape_nodes(g):
    groups = g["groups"]

    def in_shape(k):
        while k >= 0:
            if groups[k].get("kind") == "shape":
                return True
            k = groups[k]["parent"]
        return False
    return [i for i, k in enumerate(g["node_group"]) if in_shape(k)]


def _feeds(path):
    """Two inputs of the same shapes and different values, for the model at path."""
    import onnxruntime as ort
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = [{}, {}]
    for inp in s.get_inputs():
        shape = [d if isinstance(d, int) else {"batch": 2, "sequence": 8}.get(d, 2) for d in inp.shape]
        for k, feed in enumerate(feeds):
            if "int" in inp.type:   # ids below every vocabulary; other indices within the sequence
                high = {"attention_mask": 2, "token_type_ids": 2, "input_ids": 100}.get(inp.name, 8)
                feed[inp.name] = rng.integers(0, high, shape).astype(np.int64)
            else:
                feed[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


REAL = ["real torchvision resnet50", "real torchvision swin_s", "real hf gpt2", "real hf bert",
        "real hf llama", "real ultralytics yolov8n"]


@pytest.mark.parametrize("name", ["gpt2", "swin_s", "transformer", "bert", "vit", "resnet50"] + REAL)
def test_shape_groups_hold_only_metadata(documents, name, tmp_path):
    """Every value a shape group's nodes compute is the same for two inputs of the same
    shapes and different values; and the check has teeth: values outside them differ."""
    import onnxruntime as ort
    if name not in documents:
        pytest.skip(f"{name}: not written (tests/readability_models.py)")
    path = PATHS[name]
    g = documents[name]["graphs"][0]
    folded = _shape_nodes(g)
    if "resnet50" in name or "yolo" in name:
        assert not folded   # CNNs of static shapes compute none
        return
    assert len(folded) >= 2, name
    model = onnx.load(path)
    names = [v[0] for v in g["values"]]
    watched = [names[v] for i in folded for v in g["nodes"][i]["out"] if v >= 0]
    inputs = {i.name for i in model.graph.input}
    for i in folded:   # no data path: nothing but Shape/Size reads a graph input
        node = g["nodes"][i]
        if any(names[v] in inputs for v in node["in"] if v >= 0):
            assert node["op"] in ("Shape", "Size"), (name, node["name"])
    data = [names[v] for i, node in enumerate(g["nodes"]) if i not in set(folded)
            and node["op"] in ("Add", "MatMul", "Softmax") for v in node["out"]][:20]
    have = {o.name for o in model.graph.output}
    for v in watched + data:
        if v not in have:
            model.graph.output.append(onnx.ValueInfoProto(name=v))
            have.add(v)
    path = str(tmp_path / "watched.onnx")
    onnx.save(model, path)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = [o.name for o in s.get_outputs()]
    a, b = (dict(zip(outs, s.run(None, feed))) for feed in _feeds(path))
    for v in watched:
        assert a[v].shape == b[v].shape and np.array_equal(a[v], b[v], equal_nan=a[v].dtype.kind == "f"), (name, v)
    assert any(not np.array_equal(a[v], b[v]) for v in data), name


def test_shape_groups_where_expected(documents):
    def shape_paths(name):
        return {grp["path"] for grp in documents[name]["graphs"][0]["groups"] if grp.get("kind") == "shape"}
    gpt2 = shape_paths("gpt2")
    assert "transformer/" + SHAPE in gpt2   # position ids and shapes of the model's own code
    assert all(f"transformer/h.{k}/attn/{SHAPE}" in gpt2 for k in range(12))
    swin = shape_paths("swin_s")
    assert "features/features.1/features.1.1/attn/" + SHAPE in swin
    # the embedding tables are looked up on the data path, never folded
    g = documents["gpt2"]["graphs"][0]
    folded = {g["nodes"][i]["name"] for i in _shape_nodes(g)}
    assert "/transformer/wte/Gather" not in folded and "/transformer/wpe/Gather" not in folded
