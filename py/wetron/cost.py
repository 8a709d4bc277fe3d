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

from .dtypes import BITS
from .ops import lookup
from .ops.base import MAX_FIGURE, CostContext, WrongType, prod
from .symbolic import evaluate, symbols
from .util import paused_gc

KEYS = ("flops", "macs", "params", "weight_bytes", "activation_bytes")
DOC_NODE_KEYS = ("flops", "macs", "params", "activation_bytes")

_TENSOR = ("tensor", "sparse_tensor")
_NO_SHAPE = (None, None, None)


class GraphCost:
    """Per-node cost arrays of one graph (lists aligned with graph.nodes)."""

    def __init__(self, n):
        for key in KEYS:
            setattr(self, key, [None] * n)
        self.symbols = {}   # symbol -> the value it was taken as

    def node(self, i):
        return {key: getattr(self, key)[i] for key in KEYS}


def graph_cost(graph, types, bindings=None, opsets=None):
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

    rules = {}       # (domain, op) -> its rule here, or None
    ctx = CostContext()
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
                    e = evaluated[d] = (dims, prod(dims))
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
        key = (node.domain, node.op)
        rule = rules.get(key, False)
        if rule is False:
            rule = lookup(node.domain, node.op, opsets.get(node.domain) if opsets else None)
            rules[key] = rule = rule if rule is not None and rule.cost is not None else None
        if rule is None:
            continue
        ctx.node, ctx.rule, ctx.outs = node, rule, outs
        ctx.ins = [shape(x)[0] if x else None for x in node.inputs]
        try:
            f, m = rule.cost(ctx)
        except (WrongType, ArithmeticError, ValueError, TypeError, IndexError):
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


def document(graph, types, groups, node_group, bindings=None, node_keys=DOC_NODE_KEYS,
             opsets=None):
    """The graph document's "cost" entry (docs/graph-schema.md)."""
    with paused_gc():
        cost = graph_cost(graph, types, bindings, opsets)
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
    opsets = model.opsets(g)
    shaped = shapes.infer(g, opsets=opsets)
    groups, node_group = hierarchy.derive(g)
    return g, shaped, graph_cost(g, shaped.types, bindings, opsets), groups, node_group


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
