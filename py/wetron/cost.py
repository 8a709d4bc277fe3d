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
  comparisons and activations, more for composite ones; normalisations a figure per
  element (each op's rule: wetron.ops, ONNX's in ops/onnx/); reductions, ArgMax/TopK and CumSum one per input element;
  pooling one per window element per output; Resize taps per output element (nearest 0,
  linear 2^k, cubic 4^k over the k resized axes); data movement (Reshape, Transpose,
  Gather, Concat, Slice, Cast, Pad, ...) 0.
- Parameters: elements of the initializers a node reads; an initializer read by several
  nodes is counted at the first of them (in node order), so sums are exact.
- Symbolic dims are evaluated with `bindings` (name -> int, wetron.sizes: set by the
  user or stated by the model); a figure that needs an unbound symbol is None (null),
  never taken at a default. `analyse` substitutes the bindings into the graph's declared
  dims before shape inference (sizes.bind), so every shape is concrete. Nodes not
  counted are told apart: `wants_sizes`, those that sizes would make countable (found by
  counting once more at PROBE_SIZE, a figure never shown), and `not_counted`, per op
  type, the others (no rule for the op, shapes unknown whatever the sizes). A cost that
  needs a dim that is not known at all is None, never guessed; so is the cost of an op
  not described here.
- A node calling a function (TensorFlow's PartitionedCall) costs the function's FLOPs,
  MACs and activation bytes (its nodes' outputs: the call's own outputs are the
  function's) at that call site (its shapes there: shapes.Shapes.calls), once per call
  site; each not counted if some node inside has it unknown.
- Activation bytes are the bytes of a node's outputs; a control dependency (TensorFlow's
  value "^x") is no tensor.
- One run: a graph whose format names the values one run computes (Graph.run: a
  SavedModel's meta graph holds every signature and the saver, an inference runs one
  signature) counts the work (FLOPs, MACs, activations) of the nodes those values need;
  the others (`not_run`, by op type in the totals) keep their per-node figures but are
  in no sum. Parameters are the weights the graph holds, run or not.
"""
import csv
import io

from .dtypes import BITS
from .ops import lookup
from .ops.base import MAX_FIGURE, CostContext, WrongType, prod
from .symbolic import Poly, evaluate, poly_json, poly_sum, symbols
from .util import paused_gc
from . import sizes as _sizes

KEYS = ("flops", "macs", "params", "weight_bytes", "activation_bytes")
WORK = ("flops", "macs", "activation_bytes")   # summed over the nodes one run runs
DOC_NODE_KEYS = ("flops", "macs", "params", "activation_bytes")

_TENSOR = ("tensor", "sparse_tensor")
NOT_RUN = "not run by one inference"   # (the CSV's and the summary's words for not_run)
_NO_SHAPE = (None, None, None, 2)
# A shape's state for telling nodes not counted apart: 0 concrete, 1 every dim known
# but some only as an expression of unbound symbols (sizes make it concrete), 2 some
# dim or the rank unknown.
PROBE_SIZE = 32   # unbound symbols are set to this to find the nodes sizes would count


class GraphCost:
    """Per-node cost arrays of one graph (lists aligned with graph.nodes)."""

    def __init__(self, n):
        for key in KEYS:
            setattr(self, key, [None] * n)
        self.symbols = {}      # symbol the figures meet -> its value, or None (unbound)
        self.wants_sizes = []  # nodes not counted that sizes for `needs` would count
        self.needs = []        # the unbound symbols of the graph inputs
        self.not_counted = {}  # op type -> nodes not counted for other reasons
        self.sized_by_symbols = []  # nodes not counted whose shapes are all known, some
                                    # as expressions of unbound symbols
        self.no_rule = []      # nodes without a cost rule (or with malformed attributes)
        self.not_run = []      # nodes one run does not run (Graph.run)
        self.not_run_ops = {}  # op type -> those of them whose FLOPs are not 0
        self.exact = {}        # "flops"/"macs" -> {node: int or symbolic.Poly}: the
                               # wants_sizes nodes' figures as polynomials of `needs`

    def node(self, i):
        return {key: getattr(self, key)[i] for key in KEYS}


class _CalledCost:
    """The cost of the functions a graph's nodes call (shapes.Shapes.calls: per calling
    node, the function's graph as called there and its Shapes): the sums of the
    function's FLOPs, MACs and activation bytes at that call site, each None if some
    node in it has that figure unknown. Each distinct (function, argument types) is
    counted once (`memo`, shared by the calls below); the calls are as deep and as many
    as shape inference went."""
    __slots__ = ("calls", "bindings", "memo", "symbols")

    def __init__(self, calls, bindings, memo, symbols):
        self.calls, self.bindings, self.memo, self.symbols = calls, bindings, memo, symbols

    def figures(self, index):
        """(flops, macs, activation bytes) of the function node `index` calls."""
        callee = self.calls.get(index)
        if callee is None:
            return None, None, None
        graph, opsets, inner = callee
        figures = self.memo.get(id(inner))
        if figures is None:
            c = graph_cost(graph, inner.types, self.bindings, opsets, calls=inner.calls,
                           memo=self.memo)
            act = None if None in c.activation_bytes else sum(c.activation_bytes)
            figures = (None, None, act, c.symbols) if None in c.flops else \
                (sum(c.flops), sum(filter(None, c.macs)), act, c.symbols)
            self.memo[id(inner)] = figures
        self.symbols.update(figures[3])
        return figures[:3]

    def cost(self, index):
        return self.figures(index)[:2]


def graph_cost(graph, types, bindings=None, opsets=None, only=None, calls=None, memo=None,
               unbound=None):
    """GraphCost of a Graph whose value types are `types` (name -> model type tuple,
    e.g. shapes.infer(graph).types). only: a set of node indices, the others' FLOPs and
    MACs are left None (sized_cost's probe); calls: the functions its nodes call
    (shapes.infer(graph).calls: without them a call is not counted); unbound: a set of
    sizes not set, whose dims the rules then see as symbolic.Poly (sized_cost's
    symbolic pass: FLOPs and MACs exact polynomials of them, or None)."""
    nodes = graph.nodes
    result = GraphCost(len(nodes))
    weights = {t.name: t for t in graph.initializers}
    counted = set()
    evaluated = {}   # dims tuple -> (evaluated dims, element count); shapes repeat a lot
    used = result.symbols
    flops, macs, params, wbytes, act = (result.flops, result.macs, result.params,
                                        result.weight_bytes, result.activation_bytes)

    rules = {}       # (domain, op) -> its rule here, or None
    ctx = CostContext(_CalledCost(calls or {}, bindings, {} if memo is None else memo, used))
    by_type = {}     # id(type tuple) -> (dims, elements, bits, state): types are shared
    errors = (WrongType, ArithmeticError, ValueError, TypeError, IndexError) + \
        ((AttributeError,) if unbound else ())   # (a Poly lacks int's methods)

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
                    dims, state = [], 0
                    for x in d:
                        v = evaluate(x, bindings)
                        if v is None and unbound:
                            v = Poly.of_dim(x, bindings, unbound)
                        if type(x) is str:
                            for s in symbols(x):
                                used[s] = bindings.get(s) if bindings else None
                            if v is None and state == 0:
                                state = 1
                        if x is None:
                            state = 2
                        dims.append(v)
                    e = evaluated[d] = (dims, prod(dims), state)
                e = (e[0], e[1], BITS.get(t[1]), e[2])
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
        total, outs, state = 0, [], 0
        for o in node.outputs:
            if o and o[0] != "^":   # (a control dependency, TensorFlow's "^x", is no tensor)
                dims, n, bits, st = shape(o)
                outs.append(dims)
                state = max(state, st)
                if total is not None:
                    total = None if type(n) is not int or not bits else total + (n * bits + 7) // 8
        act[i] = total
        if only is not None and i not in only:
            continue
        if i in ctx.calls.calls:   # its outputs are the function's: the tensors it runs there
            act[i] = ctx.calls.figures(i)[2]
        key = (node.domain, node.op)
        rule = rules.get(key, False)
        if rule is False:
            rule = lookup(node.domain, node.op, opsets.get(node.domain) if opsets else None)
            rules[key] = rule = rule if rule is not None and rule.cost is not None else None
        if rule is None:
            result.no_rule.append(i)
            continue
        ctx.node, ctx.rule, ctx.outs, ctx.index = node, rule, outs, i
        ins = ctx.ins = []
        for x in node.inputs:
            e = shape(x) if x else _NO_SHAPE
            ins.append(e[0])
            if x and x[0] != "^":
                state = max(state, e[3])
        try:
            f, m = rule.cost(ctx)
        except errors:
            result.no_rule.append(i)
            continue   # malformed attributes (or, symbolic, a step not exact on a polynomial)
        if unbound:
            if type(f) is Poly or type(f) is int and f <= MAX_FIGURE:
                flops[i] = f
                macs[i] = m if type(m) is Poly or type(m) is int and m <= MAX_FIGURE else None
            continue
        if f is not None and f <= MAX_FIGURE and (m is None or m <= MAX_FIGURE):
            flops[i], macs[i] = f, m
        elif state == 1:
            result.sized_by_symbols.append(i)
    return result


def group_sums(cost, groups, node_group):
    """Per group (hierarchy.derive) sums over all nodes inside it, at every level;
    None counts as 0 and `unknown` counts nodes whose FLOPs are None (work and unknown
    over the nodes one run runs)."""
    n = len(groups)
    sums = {}
    skipped = set(cost.not_run)
    for key in KEYS:
        acc = [0] * n
        work = key in WORK
        for i, (g, v) in enumerate(zip(node_group, getattr(cost, key))):
            if v and g >= 0 and not (work and i in skipped):
                acc[g] += v
        sums[key] = acc
    unknown = sums["unknown"] = [0] * n
    for i, (g, v) in enumerate(zip(node_group, cost.flops)):
        if v is None and g >= 0 and i not in skipped:
            unknown[g] += 1
    parents = [grp["parent"] for grp in groups]
    for acc in sums.values():
        for g in range(n - 1, -1, -1):   # parents precede children
            p = parents[g]
            if p >= 0:
                acc[p] += acc[g]
    return sums


def totals(cost):
    skipped = set(cost.not_run)
    t = {}
    for key in KEYS:
        figures = getattr(cost, key)
        if key in WORK and skipped:
            figures = [v for i, v in enumerate(figures) if i not in skipped]
        t[key] = sum(filter(None, figures))
    t["unknown"] = sum(1 for i, v in enumerate(cost.flops) if v is None and i not in skipped)
    t["unsized"] = len(cost.wants_sizes)
    t["needs"] = list(cost.needs)
    for key in ("flops", "macs"):   # exact polynomials of the sizes needed, if every
        f = exact_sum(cost, key, [i for i in range(len(cost.flops)) if i not in skipped])
        if f is not None:            # node that needs them has one
            t[key + "_exact"] = poly_json(f)
    t["not_counted"] = dict(cost.not_counted)
    t["not_run"] = dict(cost.not_run_ops)
    return t


def exact_sum(cost, key, nodes):
    """The sum of figure `key` ("flops" or "macs") over `nodes` as an int or symbolic.Poly
    of the sizes not set (GraphCost.exact for those that need them), or None when no node
    there needs sizes, or one that does has no exact figure (nodes counted for no other
    reason are in no sum, as in the number)."""
    figures, exact, wanted = getattr(cost, key), cost.exact.get(key, {}), set(cost.wants_sizes)
    terms, needs = [], False
    for i in nodes:
        v = figures[i]
        if v is None and i in wanted:
            needs = True
            v = exact.get(i)
            if v is None:
                return None
        if type(v) is Poly or v:
            terms.append(v)
    return poly_sum(terms) if needs else None


def not_run(graph):
    """Indices of the nodes one run of the graph does not run: those its Graph.run values do
    not need, through data and control inputs (none when it names no such values)."""
    if not graph.run:
        return []
    outputs = graph.run[1]
    nodes = graph.nodes
    producer = {}
    for i, n in enumerate(nodes):
        for o in n.outputs:
            if o:
                producer.setdefault(o, i)
    todo = [producer[v] for v in outputs if v in producer]
    if not todo:
        return []
    needed = [False] * len(nodes)
    while todo:
        i = todo.pop()
        if not needed[i]:
            needed[i] = True
            todo.extend(p for p in map(producer.get, nodes[i].inputs)
                        if p is not None and not needed[p])
    return [i for i, k in enumerate(needed) if not k]


def model_functions(model):
    """{name: (Graph, opsets)} of the model's functions, as the drivers take them."""
    return {f.name: (f.graph, model.opsets(f.graph)) for f in model.functions}


def sized_cost(graph, bindings=None, opsets=None, functions=None):
    """(Shapes, GraphCost) of a graph at `bindings` (wetron.sizes): the sizes substituted
    into its declared dims, shapes inferred from them (and in the `functions` its nodes
    call), cost, and the nodes not counted told apart (GraphCost.wants_sizes, needs,
    not_counted) from those one run does not run (not_run)."""
    from . import shapes
    shaped = shapes.infer(_sizes.bind(graph, bindings), opsets=opsets, functions=functions)
    result = graph_cost(graph, shaped.types, bindings, opsets, calls=shaped.calls)
    result.not_run = not_run(graph)
    skipped = set(result.not_run)
    missing = [s for s in _sizes.input_symbols(graph) if not bindings or s not in bindings]
    wants = set()
    if missing:
        # Nodes whose shapes are all known, some as expressions of the unbound symbols,
        # count once the sizes are set. The others not counted that have a rule (a dim
        # unknown, e.g. floor((height-1)/2)+1 after a strided conv) are counted again
        # with the unbound symbols at PROBE_SIZE: those that then count are those sizes
        # would count. Only this classification uses the probe.
        wants = set(result.sized_by_symbols)
        rest = set(i for i, f in enumerate(result.flops) if f is None) - wants - set(result.no_rule)
        if rest:
            probe = dict(bindings or {}, **{s: PROBE_SIZE for s in missing})
            probed = shapes.infer(_sizes.bind(graph, probe), opsets=opsets, functions=functions)
            flops = graph_cost(graph, probed.types, probe, opsets, only=rest,
                               calls=probed.calls).flops
            wants.update(i for i in rest if flops[i] is not None)
        wants -= skipped
    for s in _sizes.input_symbols(graph):   # (bound ones are no longer in the shapes)
        result.symbols.setdefault(s, bindings.get(s) if bindings else None)
    result.wants_sizes = sorted(wants)
    result.needs = missing if wants else []
    if wants:
        # The same rules once more, with the unset sizes as polynomials: exact figures
        # where every step of a rule is exact on them.
        # Shapes inferred from the inputs' dims alone, as at any sizes (what a file
        # declares inside may be wrong: a torch export's logits (batch, sequence)).
        exact_shapes = shapes.infer(_sizes.bind(graph, bindings, symbolic=True), opsets=opsets,
                                    functions=functions)
        exact = graph_cost(graph, exact_shapes.types, bindings, opsets, only=wants,
                           unbound=set(missing))
        result.exact = {key: {i: getattr(exact, key)[i] for i in result.wants_sizes
                              if getattr(exact, key)[i] is not None} for key in ("flops", "macs")}
    other = {}
    for i, (node, f) in enumerate(zip(graph.nodes, result.flops)):
        if f is None and i not in wants and i not in skipped:
            other[node.op] = other.get(node.op, 0) + 1
    result.not_counted = _by_count(other)
    ops = {}
    for i in result.not_run:   # (those whose work is 0 change no sum: not listed)
        if result.flops[i] != 0:
            ops[graph.nodes[i].op] = ops.get(graph.nodes[i].op, 0) + 1
    result.not_run_ops = _by_count(ops)
    return shaped, result


def _by_count(ops):
    return dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))


def document(graph, cost, groups, node_group, node_keys=DOC_NODE_KEYS):
    """The graph document's "cost" entry (docs/graph-schema.md) of a GraphCost."""
    with paused_gc():
        d = {"symbols": dict(sorted(cost.symbols.items())),
             "nodes": {key: getattr(cost, key) for key in node_keys},
             "total": totals(cost)}
        if cost.not_run:
            d["run"] = graph.run[0]
            d["not_run"] = list(cost.not_run)
        if groups:
            d["groups"] = group_sums(cost, groups, node_group)
        if cost.exact:
            d["exact"] = {key: [[i, poly_json(v)] for i, v in sorted(figures.items())]
                          for key, figures in cost.exact.items()}
        return d


# --- reports -------------------------------------------------------------------

def analyse(model, bindings=None):
    """(graph, shapes, cost, groups, node_group) of the model's main graph at `bindings`
    (sizes the model states, then these)."""
    from . import hierarchy
    g = model.graphs[0]
    shaped, result = sized_cost(g, dict(_sizes.stated(model), **(bindings or {})),
                                model.opsets(g), model_functions(model))
    groups, node_group = hierarchy.derive(g)
    return g, shaped, result, groups, node_group


def summary(model, bindings=None, depth=2):
    """Totals, per op type and per module (groups up to `depth` levels) of the main graph."""
    g, shaped, cost, groups, node_group = analyse(model, bindings)
    by_op = {}
    skipped = set(cost.not_run)
    run_by_op = {}   # op -> the nodes of it one run runs
    for i, node in enumerate(g.nodes):
        row = by_op.setdefault(node.op, {"op": node.op, "nodes": 0, "unknown": 0, "unsized": 0,
                                         "not_run": 0, **{k: 0 for k in KEYS}})
        row["nodes"] += 1
        if i not in skipped:
            run_by_op.setdefault(node.op, []).append(i)
        run = i not in skipped
        for key in KEYS:
            v = getattr(cost, key)[i]
            if v is not None and (run or key not in WORK):
                row[key] += v
        if not run:
            row["not_run"] += 1
        elif cost.flops[i] is None:
            row["unknown"] += 1
    for i in cost.wants_sizes:
        by_op[g.nodes[i].op]["unsized"] += 1
    for op, nodes in run_by_op.items():
        for key in ("flops", "macs"):
            f = exact_sum(cost, key, nodes) if by_op[op]["unsized"] else None
            if f is not None:
                by_op[op][key + "_exact"] = poly_json(f)
    modules = []
    if groups:
        sums = group_sums(cost, groups, node_group)
        level = []
        for i, grp in enumerate(groups):
            level.append(0 if grp["parent"] < 0 else level[grp["parent"]] + 1)
            if level[i] < depth:
                modules.append({"module": grp["path"], "nodes": grp["nodes"],
                                **{key: sums[key][i] for key in KEYS + ("unknown",)}})
    stated = _sizes.stated(model)
    return {"file": model.file, "graph": g.name, "nodes": len(g.nodes),
            "symbols": dict(sorted(cost.symbols.items())),
            "sizes": {"set": dict(bindings or {}),
                      "stated": {k: v for k, v in stated.items() if k not in (bindings or {})}},
            "total": totals(cost),
            "run": g.run[0] if g.run else "",
            "model_parameters": model.parameters,
            "by_op": ranked(list(by_op.values()), totals(cost)),
            "by_module": modules}


def ranked(rows, total):
    """Op rows by FLOPs, largest first, when that order holds whatever the sizes: the
    figures are complete, or exact multiples of one same term (4.09G·batch); otherwise
    (partial sums, or polynomials that cross) by op type. Adds each row's "share" of the
    total FLOPs (a fraction) where it is exact, else None."""
    by_op = lambda r: r["op"]
    complete = total["unknown"] == 0
    if complete:
        rows.sort(key=lambda r: (-(r["flops"] or 0), r["op"]))
        for r in rows:
            r["share"] = r["flops"] / total["flops"] if total["flops"] else None
        return rows
    whole = total.get("flops_exact")
    lead = {}
    if whole is not None and not total["not_counted"] and len(whole) == 1:
        term = tuple(whole[0][1])
        for r in rows:
            f = r.get("flops_exact")
            if f is None:   # counted at every size: a constant, a multiple of no term
                f = [[r["flops"], []]] if r["flops"] else []
            if len(f) > 1 or f and tuple(f[0][1]) != term:
                break
            lead[r["op"]] = f[0][0] if f else 0
        else:
            rows.sort(key=lambda r: (-lead[r["op"]], r["op"]))
            for r in rows:
                r["share"] = lead[r["op"]] / whole[0][0]
            return rows
    rows.sort(key=by_op)
    for r in rows:
        r["share"] = None
    return rows


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def poly_text(terms, human=False):
    """Poly.to_json terms as text: "4,089,184,256·batch", or with human=True
    "4.089G·batch"; powers as superscripts (sequence²)."""
    if not terms:
        return "0"
    out = []
    for coef, names in terms:
        powers = {}
        for name in names:
            powers[name] = powers.get(name, 0) + 1
        factors = [name + (str(k).translate(_SUPERSCRIPT) if k > 1 else "") for name, k in powers.items()]
        mag = abs(coef)
        number = _human(mag) if human else f"{mag:,}"
        text = "·".join(([number] if mag != 1 or not factors else []) + factors)
        out.append(("- " if coef < 0 else "+ " if out else "") + text)
    return " ".join(out)


def figure_text(t, key):
    """A total's MACs or FLOPs as the reports write it: the number, the exact polynomial
    of the sizes not set, or what it needs (with the part counted so far)."""
    exact = t.get(key + "_exact")
    at_least = "≥ " if t["unknown"] > t["unsized"] else ""
    if exact is not None:
        return f"{at_least}{poly_text(exact)} ({at_least}{poly_text(exact, True)})"
    if t["needs"]:
        return f"needs sizes: {', '.join(t['needs'])} (counted so far: {t[key]:,})"
    return f"{at_least}{t[key]:,} ({at_least}{_human(t[key])})"


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
    w.writerow(["index", "name", "op", "module", "outputs"] + list(KEYS) + ["not_counted"])
    wants, skipped = set(cost.wants_sizes), set(cost.not_run)
    needs = "needs sizes: " + ", ".join(cost.needs)
    for i, node in enumerate(g.nodes):
        module = groups[node_group[i]]["path"] if node_group[i] >= 0 else ""
        shapes_text = " ".join(_shape_text(shaped.types.get(o)) for o in node.outputs if o)
        why = NOT_RUN if i in skipped else "" if cost.flops[i] is not None else \
            needs if i in wants else "not counted"
        w.writerow([i, node.name, node.op, module, shapes_text] +
                   ["" if v is None else v for v in (getattr(cost, k)[i] for k in KEYS)] + [why])
    return out.getvalue()


def not_counted_text(not_counted):
    """{op: nodes} -> "3 ops of 2 types (NonMaxSuppression x2, TopK)"."""
    n = sum(not_counted.values())
    kinds = ", ".join(op if k == 1 else f"{op} x{k}" for op, k in not_counted.items())
    return (f"{n} op{'s' if n != 1 else ''} of {len(not_counted)} "
            f"type{'s' if len(not_counted) != 1 else ''} ({kinds})")


def sizes_text(s):
    """What a summary's figures were counted at, and what they still need."""
    t, sizes = s["total"], s["sizes"]
    used = [f"{k} = {v}" for k, v in sizes["set"].items()] + \
        [f"{k} = {v} (stated by the model)" for k, v in sizes["stated"].items()]
    lines = []
    if used:
        lines.append("Sizes: " + ", ".join(used) + ".")
    if t["needs"] and "flops_exact" in t:
        lines.append(f"FLOPs and MACs are exact in {', '.join(t['needs'])}: set "
                     f"{'them' if len(t['needs']) > 1 else 'it'} for numbers "
                     f"(`--size {t['needs'][0]}=N`).")
    elif t["needs"]:
        lines.append(f"Set sizes: {', '.join(t['needs'])} to count {t['unsized']:,} "
                     f"more node{'s' if t['unsized'] != 1 else ''} "
                     f"(`--size {t['needs'][0]}=N`).")
    if t["not_counted"]:
        lines.append("Not counted: " + not_counted_text(t["not_counted"]) + ".")
    if t["not_run"]:
        lines.append(f"{NOT_RUN.capitalize()} ({s['run']}), in no sum: "
                     + not_counted_text(t["not_run"]) + ".")
    return lines


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
    about = sizes_text(s)
    if about:
        lines += about + [""]
    lines += [
        "| | |", "|---|---|",
        f"| nodes | {s['nodes']} |",
        f"| parameters | {t['params']:,} ({_human(t['params'])}) |",
        f"| weight bytes | {t['weight_bytes']:,} ({_human(t['weight_bytes'])}B) |",
        f"| MACs | {figure_text(t, 'macs')} |",
        f"| FLOPs | {figure_text(t, 'flops')} |",
        f"| activation bytes | " + (f"needs sizes: {', '.join(t['needs'])} (counted so far: "
                                    f"{t['activation_bytes']:,})" if t["needs"] else
                                    f"{t['activation_bytes']:,} ({_human(t['activation_bytes'])}B)") + " |",
        f"| nodes not counted for want of sizes | {t['unsized']} |",
        f"| nodes not counted (op or shapes unknown) | {t['unknown'] - t['unsized']} |", ""]
    header = "| {} | nodes | params | MACs | FLOPs | activations | unknown |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    lines += ["## By op type", "",
              "| op | nodes | params | MACs | FLOPs | activations | not counted | needs sizes |",
              rule + "---:|"]
    def cell(r, key):
        exact = r.get(key + "_exact")
        return poly_text(exact, True) if exact is not None else \
            "needs sizes" if r["unsized"] and r["unsized"] == r["unknown"] == r["nodes"] - r["not_run"] \
            else _human(r[key])
    for r in s["by_op"]:
        lines.append(f"| {r['op']} | {r['nodes']} | {_human(r['params'])} | {cell(r, 'macs')} "
                     f"| {cell(r, 'flops')} | {_human(r['activation_bytes'])}B "
                     f"| {r['unknown'] - r['unsized']} | {r['unsized']} |")
    if s["by_module"]:
        lines += ["", "## By module", "", header.format("module"), rule]
        for r in s["by_module"]:
            name = r["module"].replace("|", "\\|")
            lines.append(f"| {name} | {r['nodes']} | {_human(r['params'])} | {_human(r['macs'])} "
                         f"| {_human(r['flops'])} | {_human(r['activation_bytes'])}B | {r['unknown']} |")
    return "\n".join(lines) + "\n"


# --- command line: `python -m wetron cost MODEL [--csv|--md|--json] [--size NAME=N]` ---

def add_arguments(parser):
    parser.add_argument("model")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="one row per node")
    fmt.add_argument("--md", action="store_true", help="Markdown summary (the default)")
    fmt.add_argument("--json", action="store_true", help="the summary as JSON")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=N",
                        help="value of a symbolic size the model names (there is no default: "
                             "figures that need an unset one are not counted), e.g. --size batch=8")
    parser.add_argument("--depth", type=int, default=2, help="module levels in the summary")


def run(model, args, out):
    import json
    bindings = _sizes.parse(args.size, model)
    if args.csv:
        out.write(to_csv(model, bindings))
    elif args.json:
        json.dump(summary(model, bindings, args.depth), out)
        out.write("\n")
    else:
        out.write(to_markdown(model, bindings, args.depth))
