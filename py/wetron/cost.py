"""What a model costs to run: parameters, weight bytes, activations, FLOPs and MACs,
per node, per module (hierarchy groups) and per op type. Standard library only.

Counting conventions (docs/graph-schema.md, "cost"):
- MACs (multiply-accumulates) are counted for the ops that are made of them:
  Conv: out_elems * (Cin/group) * prod(kernel); ConvTranspose: in_elems * (Cout/group) *
  prod(kernel); MatMul: out_elems * K; Gemm: M * N * K; Einsum (2+ operands): the
  product of every index's extent; Attention: B * heads * q_seq * kv_seq * (head_k +
  head_v); LSTM/GRU/RNN: seq * batch * directions * gates * hidden * (input + hidden).
- FLOPs = 2 * MACs for those, plus one per output element for a bias add (plus
  softmax and gate element-wise work for Attention and recurrent ops).
- Other ops have MACs 0 and FLOPs per element: 1 for element-wise arithmetic,
  comparisons and activations, ELEMENTWISE_FLOPS for composite ones; normalisations
  NORM_FLOPS per element; reductions, ArgMax/TopK and CumSum one per input element;
  pooling one per window element per output; Resize taps per output element (nearest 0,
  linear 2^k, cubic 4^k over the k resized axes); data movement (Reshape, Transpose,
  Gather, Concat, Slice, Cast, Pad, ...) 0.
- Parameters: elements of the initializers a node reads; an initializer read by several
  nodes is counted at the first of them (in node order), so sums are exact.
- Symbolic dims are evaluated with `bindings` (name -> int); unbound symbols count as 1
  (batch = 1, sequence = 1) and are listed in `symbols`. A cost that needs a dim that
  is not known at all is None (null), never guessed; so is the cost of an op not
  described here.
"""
import csv
import io
import math

from .dtypes import BITS
from .shapes import ATTR_TYPES, evaluate, symbols
from .util import paused_gc

KEYS = ("flops", "macs", "params", "weight_bytes", "activation_bytes")
DOC_NODE_KEYS = ("flops", "macs", "params", "activation_bytes")

ELEMENTWISE_FLOPS = {"Gelu": 8, "HardSigmoid": 3, "HardSwish": 4, "Mish": 4, "Softplus": 2,
                     "Softsign": 2, "Elu": 3, "Selu": 3, "Celu": 3, "Swish": 2, "Clip": 2,
                     "Shrink": 2, "LeakyRelu": 2, "ThresholdedRelu": 1, "PRelu": 2,
                     "QuantizeLinear": 2, "DequantizeLinear": 2, "DynamicQuantizeLinear": 3}
NORM_FLOPS = {"BatchNormalization": 2, "LayerNormalization": 7, "InstanceNormalization": 7,
              "GroupNormalization": 7, "RMSNormalization": 5, "MeanVarianceNormalization": 6,
              "LpNormalization": 3, "LRN": 5, "Softmax": 5, "LogSoftmax": 5, "Hardmax": 2}

_ELEMENTWISE = set("""Abs Acos Acosh Add And Asin Asinh Atan Atanh BitShift BitwiseAnd BitwiseNot
BitwiseOr BitwiseXor Ceil Cos Cosh Div Equal Erf Exp Floor Greater GreaterOrEqual IsInf IsNaN
Less LessOrEqual Log Mod Mul Neg Not Or Pow Reciprocal Relu Round Sigmoid Sign Sin Sinh Sqrt
Sub Tan Tanh Where Xor RotaryEmbedding""".split()) | set(ELEMENTWISE_FLOPS)
_VARIADIC = {"Sum", "Mean", "Max", "Min"}
_MOVEMENT = set("""Reshape Transpose Gather GatherElements GatherND Scatter ScatterElements
ScatterND Concat Split Slice Squeeze Unsqueeze Flatten Identity Cast CastLike Shape Size
Constant ConstantOfShape Expand Tile Pad DepthToSpace SpaceToDepth Range Dropout OneHot
NonZero Compress Trilu EyeLike CenterCropPad ReverseSequence Optional OptionalGetElement
OptionalHasElement SequenceConstruct SequenceAt SequenceEmpty SequenceInsert SequenceErase
SequenceLength SplitToSequence ConcatFromSequence""".split())
_REDUCE = {"ReduceMax": 1, "ReduceMean": 1, "ReduceMin": 1, "ReduceProd": 1, "ReduceSum": 1,
           "ReduceSumSquare": 2, "ReduceL1": 2, "ReduceL2": 2, "ReduceLogSum": 1,
           "ReduceLogSumExp": 2, "ArgMax": 1, "ArgMin": 1, "TopK": 1, "CumSum": 1,
           "CumProd": 1}
_POOL = {"MaxPool", "AveragePool", "LpPool"}
_GLOBAL_POOL = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
_STANDARD = ("", "ai.onnx")
_TENSOR = ("tensor", "sparse_tensor")
_NO_SHAPE = (None, None, None)
# A count or figure past this is not counted (None): no real tensor has 2**63
# elements, and products of hostile dims would otherwise grow without bound (and reach
# str() in the document).
MAX_FIGURE = 2 ** 63 - 1


def _prod(dims):
    if dims is None or None in dims:
        return None
    n = math.prod(dims)
    return n if n <= MAX_FIGURE else None


class _WrongType(Exception):
    """An attribute of another type than its rule reads: the node is not counted."""


def _attr(node, name, default=None):
    for a in node.attributes:
        if a.name == name:
            if a.ref is not None:
                return default
            if a.type != ATTR_TYPES.get(name, a.type):   # (a name not listed: unchecked)
                raise _WrongType(name)
            return a.value
    return default


def _op_cost(node, ins, outs):
    """(flops, macs) of one node; ins/outs: lists of evaluated dims (ints) or None."""
    op = node.op
    n_in = len(node.inputs)
    out = outs[0] if outs else None
    out_n = _prod(out)

    def has(i):
        return i < n_in and node.inputs[i] != ""

    if op in _MOVEMENT:
        return 0, 0
    if op in ("Conv", "ConvInteger", "QLinearConv", "DeformConv"):
        w = ins[3] if op == "QLinearConv" else ins[1]
        if out_n is None or w is None or None in w:
            return None, None
        macs = out_n * math.prod(w[1:])
        bias = op in ("Conv", "DeformConv") and has(2) or op == "QLinearConv" and has(8)
        return 2 * macs + (out_n if bias else 0), macs
    if op == "ConvTranspose":
        x, w = ins[0], ins[1]
        x_n = _prod(x)
        if x_n is None or w is None or None in w or out_n is None:
            return None, None
        macs = x_n * math.prod(w[1:])
        return 2 * macs + (out_n if has(2) else 0), macs
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul"):
        a = ins[0]
        if out_n is None or not a or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs, macs
    if op == "Gemm":
        a = ins[0]
        if out_n is None or not a or len(a) != 2 or None in a:
            return None, None
        macs = out_n * (a[0] if _attr(node, "transA", 0) else a[1])
        return 2 * macs + (out_n if has(2) else 0), macs
    if op == "Einsum":
        return _einsum_cost(node, ins, out_n)
    if op == "Attention":
        return _attention_cost(node, ins)
    if op in ("LSTM", "GRU", "RNN"):
        return _rnn_cost(node, ins)
    if op in _ELEMENTWISE:
        return (None, None) if out_n is None else (out_n * ELEMENTWISE_FLOPS.get(op, 1), 0)
    if op in _VARIADIC:
        if out_n is None:
            return None, None
        return out_n * max(n_in - 1, 1) + (out_n if op == "Mean" else 0), 0
    if op in NORM_FLOPS:
        return (None, None) if out_n is None else (out_n * NORM_FLOPS[op], 0)
    if op in _REDUCE:
        x_n = _prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n * _REDUCE[op], 0)
    if op in _POOL:
        kernel = _attr(node, "kernel_shape")
        if out_n is None or not kernel or len(kernel) != len(out) - 2:
            return None, None
        return out_n * math.prod(kernel), 0
    if op in _GLOBAL_POOL:
        x_n = _prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n, 0)
    if op in ("Resize", "Upsample"):
        x = ins[0] if ins else None
        if out_n is None or x is None or len(x) != len(out):
            return None, None
        mode = _attr(node, "mode", "nearest")
        k = sum(1 for a, b in zip(x, out) if a != b)
        taps = 0 if mode == "nearest" else (2 ** k if mode in ("linear", "bilinear") else 4 ** k)
        return out_n * taps, 0
    return None, None


def _einsum_cost(node, ins, out_n):
    eq = _attr(node, "equation", "").replace(" ", "")
    terms = eq.partition("->")[0].split(",")
    if len(terms) == 1:
        x_n = _prod(ins[0]) if ins else None
        return (None, None) if x_n is None else (x_n, 0)
    extent, ell = {}, 1
    for term, x in zip(terms, ins):
        if x is None or None in x:
            return None, None
        labels = term.replace("...", ".")
        n_ell = len(x) - (len(labels) - 1) if "." in labels else 0
        pos = 0
        for ch in labels:
            if ch == ".":
                ell = max(ell, math.prod(x[pos:pos + n_ell]))
                pos += n_ell
            else:
                extent[ch] = max(extent.get(ch, 1), x[pos]) if pos < len(x) else extent.get(ch, 1)
                pos += 1
    macs = ell * math.prod(extent.values()) * max(len(terms) - 1, 1)
    return 2 * macs, macs


def _attention_cost(node, ins):
    q, k, v = (ins + [None] * 3)[:3]
    if q is None or k is None or v is None or None in q + k + v or len(q) != len(k):
        return None, None
    past = ins[4] if len(ins) > 4 and len(node.inputs) > 4 and node.inputs[4] else None
    if len(q) == 4:
        b, heads, q_seq, hk = q
        kv_seq, hv = k[2], v[3]
    elif len(q) == 3:
        heads, kv_heads = _attr(node, "q_num_heads"), _attr(node, "kv_num_heads")
        if not heads or not kv_heads:
            return None, None
        b, q_seq, kv_seq = q[0], q[1], k[1]
        hk, hv = k[2] // kv_heads, v[2] // kv_heads
    else:
        return None, None
    if past is not None:
        if None in past or len(past) != 4:
            return None, None
        kv_seq += past[2]
    scores = b * heads * q_seq * kv_seq
    macs = scores * (hk + hv)
    return 2 * macs + NORM_FLOPS["Softmax"] * scores, macs


def _rnn_cost(node, ins):
    x, w = ins[0], ins[1] if len(ins) > 1 else None
    if x is None or w is None or None in x or None in w or len(x) != 3 or len(w) != 3:
        return None, None
    seq, batch = (x[1], x[0]) if _attr(node, "layout", 0) else (x[0], x[1])
    directions, gates_hidden, inputs = w
    hidden = _attr(node, "hidden_size") or gates_hidden
    gates = gates_hidden // hidden if hidden else 1
    steps = seq * batch * directions
    macs = steps * gates * hidden * (inputs + hidden)
    cell = {"LSTM": 9, "GRU": 8}.get(node.op, 1)   # activations and gate products
    return 2 * macs + steps * hidden * (2 * gates + cell), macs


class GraphCost:
    """Per-node cost arrays of one graph (lists aligned with graph.nodes)."""

    def __init__(self, n):
        for key in KEYS:
            setattr(self, key, [None] * n)
        self.symbols = {}   # symbol -> the value it was taken as

    def node(self, i):
        return {key: getattr(self, key)[i] for key in KEYS}


def graph_cost(graph, types, bindings=None):
    """GraphCost of a Graph whose value types are `types` (name -> model type tuple,
    e.g. shapes.infer(graph).types)."""
    nodes = graph.nodes
    result = GraphCost(len(nodes))
    weights = {t.name: t for t in graph.initializers}
    counted = set()
    evaluated = {}   # dims tuple -> (evaluated dims, element count); shapes repeat a lot
    used = result.symbols
    flops, macs, params, wbytes, act = (result.flops, result.macs, result.params,
                                        result.weight_bytes, result.activation_bytes)

    by_type = {}     # id(type tuple) -> (dims, elements, bits): types are shared objects

    def shape(name):
        t = types.get(name)
        if t is None:
            return _NO_SHAPE
        e = by_type.get(id(t))
        if e is None:
            d = t[2] if t[0] in _TENSOR else None
            if d is None:
                e = _NO_SHAPE
            else:
                e = evaluated.get(d)
                if e is None:
                    dims = []
                    for x in d:
                        if type(x) is str:
                            for s in symbols(x):
                                used[s] = bindings.get(s, 1) if bindings else 1
                        dims.append(evaluate(x, bindings, 1))
                    e = evaluated[d] = (dims, _prod(dims))
                e = (e[0], e[1], BITS.get(t[1]))
            by_type[id(t)] = e
        return e

    for i, node in enumerate(nodes):
        p = b = 0
        for x in node.inputs:
            t = weights.get(x)
            if t is not None and x not in counted:
                counted.add(x)
                p += t.count
                b += t.size
        params[i], wbytes[i] = p, b
        total, outs = 0, []
        for o in node.outputs:
            if o:
                dims, n, bits = shape(o)
                outs.append(dims)
                if total is not None:
                    total = None if n is None or not bits else total + (n * bits + 7) // 8
        act[i] = total
        if node.domain in _STANDARD:
            if node.op in _MOVEMENT:
                flops[i] = macs[i] = 0
            else:
                try:
                    f, m = _op_cost(node, [shape(x)[0] if x else None
                                           for x in node.inputs], outs)
                except (_WrongType, ArithmeticError, ValueError, TypeError, IndexError):
                    continue   # malformed attributes: unknown, as for an unknown op
                if f is not None and f <= MAX_FIGURE and (m is None or m <= MAX_FIGURE):
                    flops[i], macs[i] = f, m
    return result


def group_sums(cost, groups, node_group):
    """Per group (hierarchy.derive) sums over all nodes inside it, at every level;
    None counts as 0 and `unknown` counts nodes whose FLOPs are None."""
    n = len(groups)
    sums = {}
    for key in KEYS:
        acc = [0] * n
        for g, v in zip(node_group, getattr(cost, key)):
            if v and g >= 0:
                acc[g] += v
        sums[key] = acc
    unknown = sums["unknown"] = [0] * n
    for g, v in zip(node_group, cost.flops):
        if v is None and g >= 0:
            unknown[g] += 1
    parents = [grp["parent"] for grp in groups]
    for acc in sums.values():
        for g in range(n - 1, -1, -1):   # parents precede children
            p = parents[g]
            if p >= 0:
                acc[p] += acc[g]
    return sums


def totals(cost):
    t = {key: sum(filter(None, getattr(cost, key))) for key in KEYS}
    t["unknown"] = cost.flops.count(None)
    return t


def document(graph, types, groups, node_group, bindings=None, node_keys=DOC_NODE_KEYS):
    """The graph document's "cost" entry (docs/graph-schema.md)."""
    with paused_gc():
        cost = graph_cost(graph, types, bindings)
        d = {"symbols": dict(sorted(cost.symbols.items())),
             "nodes": {key: getattr(cost, key) for key in node_keys},
             "total": totals(cost)}
        if groups:
            d["groups"] = group_sums(cost, groups, node_group)
        return d


# --- reports -------------------------------------------------------------------

def analyse(model, bindings=None):
    """(graph, shapes, cost, groups, node_group) of the model's main graph."""
    from . import hierarchy, shapes
    g = model.graphs[0]
    shaped = shapes.infer(g)
    groups, node_group = hierarchy.derive(g)
    return g, shaped, graph_cost(g, shaped.types, bindings), groups, node_group


def summary(model, bindings=None, depth=2):
    """Totals, per op type and per module (groups up to `depth` levels) of the main graph."""
    g, shaped, cost, groups, node_group = analyse(model, bindings)
    by_op = {}
    for i, node in enumerate(g.nodes):
        row = by_op.setdefault(node.op, {"op": node.op, "nodes": 0, "unknown": 0,
                                         **{k: 0 for k in KEYS}})
        row["nodes"] += 1
        for key in KEYS:
            v = getattr(cost, key)[i]
            if v is not None:
                row[key] += v
        if cost.flops[i] is None:
            row["unknown"] += 1
    modules = []
    if groups:
        sums = group_sums(cost, groups, node_group)
        level = []
        for i, grp in enumerate(groups):
            level.append(0 if grp["parent"] < 0 else level[grp["parent"]] + 1)
            if level[i] < depth:
                modules.append({"module": grp["path"], "nodes": grp["nodes"],
                                **{key: sums[key][i] for key in KEYS + ("unknown",)}})
    return {"file": model.file, "graph": g.name, "nodes": len(g.nodes),
            "symbols": dict(sorted(cost.symbols.items())), "total": totals(cost),
            "model_parameters": model.parameters,
            "by_op": sorted(by_op.values(), key=lambda r: (-(r["flops"] or 0), r["op"])),
            "by_module": modules}


def _shape_text(t):
    if t is None or t[0] not in ("tensor", "sparse_tensor"):
        return ""
    if t[2] is None:
        return f"{t[1]}[?]"
    return t[1] + "[" + ",".join("?" if d is None else str(d) for d in t[2]) + "]"


def to_csv(model, bindings=None):
    """One row per node of the main graph."""
    g, shaped, cost, groups, node_group = analyse(model, bindings)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["index", "name", "op", "module", "outputs"] + list(KEYS))
    for i, node in enumerate(g.nodes):
        module = groups[node_group[i]]["path"] if node_group[i] >= 0 else ""
        shapes_text = " ".join(_shape_text(shaped.types.get(o)) for o in node.outputs if o)
        w.writerow([i, node.name, node.op, module, shapes_text] +
                   ["" if v is None else v for v in (getattr(cost, k)[i] for k in KEYS)])
    return out.getvalue()


def _human(n):
    if n is None:
        return "?"
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.4g}{unit}"
        n /= 1000
    return f"{n:.4g}P"


def to_markdown(model, bindings=None, depth=2):
    s = summary(model, bindings, depth)
    t = s["total"]
    lines = [f"# Cost of {s['file']}", ""]
    if s["symbols"]:
        lines.append("Symbolic dims taken as: " +
                     ", ".join(f"{k} = {v}" for k, v in s["symbols"].items()) + ".")
        lines.append("")
    lines += [
        "| | |", "|---|---|",
        f"| nodes | {s['nodes']} |",
        f"| parameters | {t['params']:,} ({_human(t['params'])}) |",
        f"| weight bytes | {t['weight_bytes']:,} ({_human(t['weight_bytes'])}B) |",
        f"| MACs | {t['macs']:,} ({_human(t['macs'])}) |",
        f"| FLOPs | {t['flops']:,} ({_human(t['flops'])}) |",
        f"| activation bytes | {t['activation_bytes']:,} ({_human(t['activation_bytes'])}B) |",
        f"| nodes of unknown cost | {t['unknown']} |", ""]
    header = "| {} | nodes | params | MACs | FLOPs | activations | unknown |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    lines += ["## By op type", "", header.format("op"), rule]
    for r in s["by_op"]:
        lines.append(f"| {r['op']} | {r['nodes']} | {_human(r['params'])} | {_human(r['macs'])} "
                     f"| {_human(r['flops'])} | {_human(r['activation_bytes'])}B | {r['unknown']} |")
    if s["by_module"]:
        lines += ["", "## By module", "", header.format("module"), rule]
        for r in s["by_module"]:
            name = r["module"].replace("|", "\\|")
            lines.append(f"| {name} | {r['nodes']} | {_human(r['params'])} | {_human(r['macs'])} "
                         f"| {_human(r['flops'])} | {_human(r['activation_bytes'])}B | {r['unknown']} |")
    return "\n".join(lines) + "\n"


# --- command line: `python -m wetron cost MODEL [--csv|--md|--json] [--dim NAME=N]` ---

def add_arguments(parser):
    parser.add_argument("model")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="one row per node")
    fmt.add_argument("--md", action="store_true", help="Markdown summary (the default)")
    fmt.add_argument("--json", action="store_true", help="the summary as JSON")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=N",
                        help="value of a symbolic dim (default 1), e.g. --dim batch=8")
    parser.add_argument("--depth", type=int, default=2, help="module levels in the summary")


def run(model, args, out):
    import json
    bindings = {}
    for item in args.dim:
        name, _, value = item.partition("=")
        try:
            bindings[name.strip()] = int(value)
        except ValueError:
            raise SystemExit(f"wetron: --dim wants NAME=INTEGER, not '{item}'")
    if args.csv:
        out.write(to_csv(model, bindings))
    elif args.json:
        json.dump(summary(model, bindings, args.depth), out)
        out.write("\n")
    else:
        out.write(to_markdown(model, bindings, args.depth))
