"""Real test models for the weights-only formats, written by the real libraries and
cached under tests/.cache/ (git-ignored): safetensors (safetensors.torch.save_file),
GGUF (gguf.GGUFWriter, quantized with gguf.quants), PyTorch (torch.save, torch.jit.save,
torch.export.save)."""
import os
import pathlib

CACHE = pathlib.Path(__file__).parent / ".cache"


def _cached(folder, name, write):
    path = CACHE / folder / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        write(tmp)
        os.replace(tmp, path)
    return path


# --- torch modules ---------------------------------------------------------------
def bert_like():
    """A small BERT-like encoder built from torch.nn."""
    import torch
    from torch import nn

    class Embeddings(nn.Module):
        def __init__(self, vocab, hidden, positions):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab, hidden)
            self.position_embeddings = nn.Embedding(positions, hidden)
            self.LayerNorm = nn.LayerNorm(hidden)

        def forward(self, ids):
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))

    class Bert(nn.Module):
        def __init__(self, vocab=50, hidden=16, layers=2):
            super().__init__()
            self.embeddings = Embeddings(vocab, hidden, 32)
            layer = nn.TransformerEncoderLayer(hidden, 2, 32, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.pooler = nn.Linear(hidden, hidden)
            self.classifier = nn.Linear(hidden, 3)

        def forward(self, ids):
            h = self.encoder(self.embeddings(ids))
            return self.classifier(torch.tanh(self.pooler(h[:, 0])))

    torch.manual_seed(0)
    return Bert().eval(), (torch.randint(0, 50, (1, 7)),)


def cnn():
    import torch
    from torch import nn

    torch.manual_seed(1)
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, groups=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 4)).eval()
    with torch.no_grad():   # non-trivial batch-norm statistics
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
    return m, (torch.randn(1, 3, 10, 10),)


def dtype_tensors():
    """One tensor of every dtype safetensors and torch.save share."""
    import torch
    torch.manual_seed(2)
    base = torch.randn(3, 5) * 4
    out = {
        "f64": base.double(), "f32": base.float(), "f16": base.half(),
        "bf16": base.bfloat16(), "i64": base.long(), "i32": base.int(),
        "i16": base.short(), "i8": base.to(torch.int8), "u8": base.abs().to(torch.uint8),
        "bool": base > 0, "f8e4m3": base.to(torch.float8_e4m3fn),
        "f8e5m2": base.to(torch.float8_e5m2), "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    return out


# --- safetensors -----------------------------------------------------------------
def safetensors_files():
    from safetensors.torch import save_file

    def module_file(factory, metadata):
        def write(path):
            m, _ = factory()
            save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(path),
                      metadata=metadata)
        return write

    return {
        "bert": _cached("safetensors", "bert.safetensors",
                        module_file(bert_like, {"format": "pt", "model": "bert-like"})),
        "cnn": _cached("safetensors", "cnn.safetensors", module_file(cnn, None)),
        "dtypes": _cached("safetensors", "dtypes.safetensors",
                          lambda p: save_file(dtype_tensors(), str(p),
                                              metadata={"format": "pt", "note": "all dtypes"})),
    }


# --- GGUF ------------------------------------------------------------------------
# Quantized types gguf.quants can write, and k-quant types it can only read: those are
# written as random blocks with sane fp16 scales, and compared after dequantization.
GGUF_QUANTIZE = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "TQ1_0", "TQ2_0", "MXFP4"]
GGUF_RANDOM_BLOCKS = {   # type: byte offsets of fp16 scales inside one block
    "Q2_K": (80, 82), "Q3_K": (108,), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,),
    "IQ4_NL": (0,), "IQ2_XXS": (0,),
}


def _gguf_llama(path, version_dtype="F32"):
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as Q

    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama-test")
    w.add_context_length(64)
    w.add_embedding_length(64)
    w.add_block_count(2)
    w.add_head_count(4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_token_list([f"tok{i}" for i in range(40)])
    w.add_token_scores([float(i) for i in range(40)])
    w.add_array("test.nested", [[1, 2], [3, 4, 5]])
    w.add_bool("test.flag", True)
    w.add_float64("test.f64", 2.5)
    w.add_int8("test.i8", -3)
    w.add_uint64("test.u64", 1 << 40)

    def quantized(name, shape, qtype):
        data = rng.standard_normal(shape).astype(np.float32)
        w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    w.add_tensor("token_embd.weight", rng.standard_normal((40, 64)).astype(np.float16))
    for i, (qa, qb) in enumerate([(Q.Q8_0, Q.Q4_0), (Q.Q4_1, Q.Q5_0)]):
        w.add_tensor(f"blk.{i}.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
        quantized(f"blk.{i}.attn_q.weight", (64, 64), qa)
        quantized(f"blk.{i}.attn_k.weight", (64, 64), qa)
        quantized(f"blk.{i}.attn_v.weight", (64, 64), qa)
        quantized(f"blk.{i}.attn_output.weight", (64, 64), qa)
        w.add_tensor(f"blk.{i}.ffn_norm.weight", rng.standard_normal(64).astype(np.float32))
        quantized(f"blk.{i}.ffn_gate.weight", (96, 64), qb)
        quantized(f"blk.{i}.ffn_up.weight", (96, 64), qb)
        quantized(f"blk.{i}.ffn_down.weight", (64, 96), qb)
    w.add_tensor("output_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.add_tensor("output.weight", rng.standard_normal((40, 64)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _gguf_dtypes(path):
    """Every dtype: plain ones, the ones gguf.quants writes, and random k-quant blocks."""
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as Q

    rng = np.random.default_rng(1)
    w = gguf.GGUFWriter(str(path), "test")
    w.add_custom_alignment(64)
    base = (rng.standard_normal((3, 8)) * 10)
    for name, dt in [("f32", np.float32), ("f16", np.float16), ("f64", np.float64),
                     ("i8", np.int8), ("i16", np.int16), ("i32", np.int32), ("i64", np.int64)]:
        w.add_tensor(name, base.astype(dt))
    w.add_tensor("bf16", gguf.quants.quantize(base.astype(np.float32), Q.BF16), raw_dtype=Q.BF16)
    for qname in GGUF_QUANTIZE:
        q = Q[qname]
        block = gguf.GGML_QUANT_SIZES[q][0]
        data = rng.standard_normal((2, block * 2)).astype(np.float32)
        w.add_tensor(qname.lower(), gguf.quants.quantize(data, q), raw_dtype=q)
    for qname, scales in GGUF_RANDOM_BLOCKS.items():
        q = Q[qname]
        block, size = gguf.GGML_QUANT_SIZES[q]
        raw = rng.integers(0, 256, (2, 2 * size), dtype=np.uint8)
        for row in range(2):
            for b in range(2):
                for at in scales:
                    o = b * size + at
                    raw[row, o:o + 2] = np.frombuffer(
                        np.float16(rng.uniform(0.01, 0.5)).tobytes(), np.uint8)
        w.add_tensor(qname.lower(), raw, raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_files():
    return {
        "llama": _cached("gguf", "tiny-llama.gguf", _gguf_llama),
        "dtypes": _cached("gguf", "dtypes.gguf", _gguf_dtypes),
    }


# --- fuzzing ---------------------------------------------------------------------
def open_everything(data, name="fuzz.bin"):
    """Parse bytes and touch everything the page would: the document and the first
    values of every tensor. Only wetron.ModelError may come out."""
    import wetron
    try:
        m = wetron.open(wetron.BytesSource(data, name))
        m.dumps()
        for t in m.tensors:
            try:
                m.tensor_values(t.index, 64)
            except wetron.ModelError:
                pass
    except wetron.ModelError:
        pass


def mutations():
    """A hypothesis strategy of edits to a file: (position fraction, new bytes) pairs
    and an optional truncation."""
    from hypothesis import strategies as st
    edit = st.tuples(st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=8))
    return st.tuples(st.lists(edit, min_size=1, max_size=6),
                     st.one_of(st.none(), st.floats(0, 1, allow_nan=False)))


def mutate(data, change, focus=None):
    """Apply mutations(); `focus` limits edits to the first `focus` bytes (headers)."""
    edits, cut = change
    out = bytearray(data)
    span = min(len(out), focus or len(out))
    for where, new in edits:
        at = int(where * max(span - 1, 0))
        out[at:at + len(new)] = new
    if cut is not None:
        out = out[:int(cut * len(out))]
    return bytes(out)


# --- PyTorch ---------------------------------------------------------------------
def strided_tensors(legacy=False):
    """Views that share storages, with offsets and non-contiguous strides, and every
    dtype (the legacy format predates float8: torch.load cannot read those back)."""
    import torch
    torch.manual_seed(3)
    base = torch.randn(6, 5)
    all_dtypes = {k: v for k, v in dtype_tensors().items()
                  if not (legacy and k.startswith("f8"))}
    return {"base": base, "t": base.t(), "row": base[2], "col": base[:, 3],
            "slice": base[1:4, 1:3], "step": torch.arange(20)[3::4],
            "expand": torch.randn(3, 1).expand(3, 4), "dtypes": all_dtypes}


class Payload:
    """Runs a shell command when unpickled by `pickle` (os.system via __reduce__)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def torch_files():
    import torch

    def save(obj_factory, **kw):
        def write(path):
            torch.save(obj_factory(), str(path), **kw)
        return write

    def state(factory):
        return lambda: factory()[0].state_dict()

    def checkpoint():
        m, _ = cnn()
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        m(torch.randn(2, 3, 10, 10)).sum().backward()
        opt.step()
        return {"model": m.state_dict(), "optimizer": opt.state_dict(), "epoch": 7,
                "arch": "cnn", "best_acc": 0.875}

    def script(path):
        m, _ = cnn()
        torch.jit.save(torch.jit.script(m), str(path))

    def trace(path):
        m, args = bert_like()
        with torch.no_grad():
            torch.jit.save(torch.jit.trace(m, args, check_trace=False), str(path))

    def export(factory):
        def write(path):
            m, args = factory()
            torch.export.save(torch.export.export(m, args), str(path))
        return write

    return {
        "bert_sd": _cached("pytorch", "bert_sd.pt", save(state(bert_like))),
        "cnn_sd": _cached("pytorch", "cnn_sd.pth", save(state(cnn))),
        "cnn_legacy": _cached("pytorch", "cnn_legacy.pt",
                              save(state(cnn), _use_new_zipfile_serialization=False)),
        "strided": _cached("pytorch", "strided.pt", save(strided_tensors)),
        "strided_legacy": _cached("pytorch", "strided_legacy.pt",
                                  save(lambda: strided_tensors(legacy=True),
                                       _use_new_zipfile_serialization=False)),
        "checkpoint": _cached("pytorch", "checkpoint.pt", save(checkpoint)),
        "cnn_module": _cached("pytorch", "cnn_module.pt", save(lambda: cnn()[0])),
        "cnn_script": _cached("pytorch", "cnn_script.pt", script),
        "bert_trace": _cached("pytorch", "bert_trace.pt", trace),
        "cnn_export": _cached("pytorch", "cnn.pt2", export(cnn)),
        "bert_export": _cached("pytorch", "bert.pt2", export(bert_like)),
    }
