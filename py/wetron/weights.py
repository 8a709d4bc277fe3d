"""Graphs of weights-only files (state dicts, safetensors, GGUF): one node per module.

A file of named tensors says nothing about dataflow, only about modules: the dotted
prefix of "encoder.layer.0.attention.query.weight" is a module whose kind we guess
from its tensors' names and shapes. Node names are module paths
("encoder/layer.0/attention/query/Linear"), so hierarchy.py builds the module tree and
marks repeated blocks. There are no edges: the page lays out edge-less nodes itself.
A guessed kind is named as torch.nn names its module classes (domain "torch.nn"), or,
where no one class fits, by one of Wetron's own kinds (domain "wetron", WETRON_KINDS).
"""
import struct

from . import dtypes
from .errors import ModelError
from .model import Graph, Node

_EMBEDDING_HINTS = ("emb", "wte", "wpe", "embd", "tok_", "token")
# Kinds guess_op and build_graph name that are no torch.nn class (a BatchNorm's rank is
# not in its weights); their metadata is Wetron's (ops/metadata/wetron.json).
WETRON_KINDS = frozenset({"BatchNorm", "Norm", "Scale", "Parameter"})
_NORM_HINTS = ("norm", "ln", "layernorm")


def module_path(prefix):
    """'encoder.layer.0.attention' -> ['encoder', 'layer.0', 'attention']: a numbered
    part stays with its parent, as exporters write "layer.0" in node names."""
    parts = []
    for p in prefix.split("."):
        if p.isdigit() and parts:
            parts[-1] += "." + p
        else:
            parts.append(p.replace("/", "\\"))   # a '/' inside a key is not a level
    return parts


def guessed_domain(op):
    """The domain of a kind guess_op names: "wetron" for Wetron's own, else "torch.nn"."""
    return "wetron" if op in WETRON_KINDS else "torch.nn"


def guess_module(module, leaves):
    """(kind, domain) of a module from its tensors."""
    op = guess_op(module, leaves)
    return op, guessed_domain(op)


def guess_op(module, leaves):
    """Kind of module from its tensors: leaves maps the last name part -> Tensor."""
    last = module.rsplit(".", 1)[-1].lower()
    keys = set(leaves)
    if "in_proj_weight" in keys:
        return "MultiheadAttention"
    if "weight_ih_l0" in keys and "weight_hh_l0" in keys:
        ih, hh = leaves["weight_ih_l0"].dims, leaves["weight_hh_l0"].dims
        if len(ih) == 2 and len(hh) == 2 and hh[1]:
            return {4: "LSTM", 3: "GRU", 1: "RNN"}.get(ih[0] // hh[1], "RNN")
        return "RNN"
    if "running_mean" in keys or "running_var" in keys:
        return "BatchNorm"
    w = leaves.get("weight")
    if w is None:
        return "Module"
    rank = len(w.dims)
    if rank == 2:
        if "bias" not in keys and any(h in last for h in _EMBEDDING_HINTS):
            return "Embedding"
        return "Linear"
    if rank in (3, 4, 5):
        return f"Conv{rank - 2}d"
    if rank == 1:
        if any(h in last for h in _NORM_HINTS):
            return "LayerNorm" if "bias" in keys else "RMSNorm"
        return "Norm" if "bias" in keys else "Scale"
    return "Module"


def build_graph(model, tensors, name="", guess=guess_module, root=None):
    """graphs[0] of a weights-only file: `tensors` (already added to the model, in
    file order) become initializers, grouped into one node per module; guess(prefix,
    leaves) -> (kind, domain). `root`: (kind, domain) of the top-level module, when the
    file names it (its own tensors then form one node rather than one node each)."""
    g = model.add_graph(Graph(name))
    modules = {}                 # prefix -> {leaf: Tensor}, in first-seen order
    for t in tensors:
        # "a.b.weight"; TensorFlow-style names ("dense/kernel:0") use '/' instead
        sep = "." if "." in t.name or "/" not in t.name else "/"
        prefix, _, leaf = t.name.rpartition(sep)
        prefix = prefix.replace("/", ".") if sep == "/" else prefix
        modules.setdefault(prefix, {})
        leaves = modules[prefix]
        if leaf in leaves:       # duplicate name: keep both, the second one renamed
            leaf = f"{leaf}#{len(leaves)}"
        leaves[leaf] = t
        g.initializers.append(t)
        g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
    for prefix, leaves in modules.items():
        if prefix == "" and root:
            g.nodes.append(Node(root[0], root[1], root[0], [t.name for t in leaves.values()]))
            continue
        if prefix == "":
            # Tensors at the top level (no module): one node each.
            for leaf, t in leaves.items():
                g.nodes.append(Node("Parameter", guessed_domain("Parameter"),
                                    t.name.replace("/", "\\"), [t.name]))
            continue
        op, domain = guess(prefix, leaves)
        path = "/".join(module_path(prefix))
        g.nodes.append(Node(op, domain, f"{path}/{op}", [t.name for t in leaves.values()]))
    return g


def raw_decoder(source, format):
    """A Tensor.decoder for tensors stored raw, little-endian, at Tensor.data in
    `source` (contiguous, row-major)."""
    def decode(t, n):
        nbytes = min(dtypes.storage_bytes(t.dtype, n), t.data[1])
        data = source.read(t.data[0], nbytes)
        try:
            return dtypes.decode_raw(t.dtype, data, n)
        except (struct.error, ValueError) as e:
            raise ModelError(f"tensor '{t.name}' ({t.dtype}): cannot decode its "
                             f"{len(data)} bytes: {e}", source.name, format, t.data[0]) from None
    return decode
