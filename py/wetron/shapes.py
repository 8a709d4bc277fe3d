"""Shape inference over the graph model, on the standard library alone.

The rules are the op registry's (wetron.ops): a node is inferred by the rule of its
own domain, op type and opset version, never by another framework's. A tensor's shape
is a tuple of dims, each an int (static), a string (symbolic: "batch", or a readable
expression of symbols such as "seq+1" or "2*batch", wetron.symbolic) or None
(unknown). Unknown is never guessed: where a dim cannot be
derived exactly it is None; a shape of unknown rank is None.

One assumption is made about symbols: they are at least 1. It lets Equal(batch, -1)
fold to false and Slice(x, 1, end) on a symbolic axis give "seq-1".

Small integer tensors are folded as values (Shape -> Gather -> Unsqueeze -> Concat ->
Reshape chains, Constant nodes, small initializers) so that Reshape/Expand/Slice
targets resolve; their elements may be symbolic too. Everything is bounded: nodes
are visited once in topological order without recursion, folded tensors are capped
at MAX_FOLD elements, expressions at MAX_TERMS terms.

`infer(graph)` returns a Shapes: `types` (value name -> model type tuple, the file's
own declarations, their unknown dims completed where inference knows them, plus
inferred ones) and `inferred` (names whose type was
derived here: by op semantics, or from the tensor record for initializers).

Nodes that call a function of the model (a rule's c.call: TensorFlow's PartitionedCall)
have it inferred at the call site, its arguments typed by the call's inputs, and take
its outputs' types; `calls` keeps, per such node, the function's graph as called and
its Shapes (wetron.cost counts the function's cost there). Calls are memoised per
(function, argument types) and bounded: MAX_CALL_DEPTH functions deep, a function is
not inferred inside itself (recursion: unknown), and MAX_CALLED_NODES nodes visited in
called functions per infer().
"""
import copy

from .ops import lookup
from .ops.base import MAX_RANK, ShapeContext, Unknown
from .symbolic import MAX_DIM
from .util import paused_gc


CATCH = (ArithmeticError, ValueError, TypeError, IndexError, KeyError, AttributeError)
MAX_CALL_DEPTH = 8              # functions calling functions
MAX_CALLED_NODES = 1_000_000    # nodes inferred in called functions, per infer()
_TENSOR = ("tensor", "sparse_tensor")


class Shapes:
    __slots__ = ("types", "inferred", "values", "errors", "calls")

    def __init__(self):
        self.types = {}      # value name -> type tuple (see model.py)
        self.inferred = []   # names whose type was inferred, in node order
        self.values = {}     # value name -> (dims, flat values) of folded tensors (if kept)
        self.errors = 0      # nodes whose handler failed on malformed input
        self.calls = {}      # node index -> (function graph as called, its opsets, Shapes)


class Functions:
    """The functions nodes may call ({name: (Graph, opsets)}), inferred per call site:
    one per infer(), shared by the calls below it."""

    def __init__(self, functions):
        self.functions = functions or {}
        self.stack = []      # names of the functions being inferred (recursion)
        self.memo = {}       # (name, argument types) -> (graph, opsets, Shapes)
        self.visited = 0     # nodes of the called functions inferred so far

    def call(self, name, ins):
        entry = self.functions.get(name)
        if entry is None or name in self.stack or len(self.stack) >= MAX_CALL_DEPTH:
            raise Unknown("call")
        graph, opsets = entry
        args = tuple(ins[:len(graph.inputs)])
        key = (name, args)
        callee = self.memo.get(key)
        if callee is not None:
            return callee
        self.visited += len(graph.nodes)
        if self.visited > MAX_CALLED_NODES:
            raise Unknown("call")
        bound = copy.copy(graph)   # the arguments typed by the call's inputs
        bound.types = dict(graph.types)
        for arg, t in zip(graph.inputs, args):
            declared = bound.types.get(arg)
            if t is not None and declared is not None and declared[0] in _TENSOR:
                bound.types[arg] = (declared[0], t[0] or declared[1], t[1], declared[3])
        self.stack.append(name)
        try:
            inner = _run(bound, opsets, self)
        finally:
            self.stack.pop()
        inner.values = {}
        callee = self.memo[key] = (bound, opsets, inner)
        return callee


class _CallSites:
    """A ShapeContext's calls in one graph: the callee's outputs, and the callee kept
    per calling node."""
    __slots__ = ("functions", "result")

    def __init__(self, functions, result):
        self.functions, self.result = functions, result

    def infer(self, index, name, ins):
        callee = self.functions.call(name, ins)
        self.result.calls[index] = callee
        graph, _, inner = callee
        outs = []
        for o in graph.outputs:
            t = inner.types.get(o)
            outs.append((t[1], t[2]) if t is not None and t[0] in _TENSOR else None)
        return outs



# --- the graph --------------------------------------------------------------

def topological_order(graph):
    """Node indices so that producers come before consumers; file order when it
    already is (the common case), else Kahn's algorithm with cycles left in file order."""
    nodes = graph.nodes
    producer = {}
    for i, n in enumerate(nodes):
        for o in n.outputs:
            if o:
                producer.setdefault(o, i)
    ordered = True
    for i, n in enumerate(nodes):
        for x in n.inputs:
            p = producer.get(x)
            if p is not None and p > i:
                ordered = False
                break
        if not ordered:
            break
    if ordered:
        return range(len(nodes))
    indegree = [0] * len(nodes)
    consumers = [[] for _ in nodes]
    for i, n in enumerate(nodes):
        for x in set(n.inputs):
            p = producer.get(x)
            if p is not None and p != i:
                indegree[i] += 1
                consumers[p].append(i)
    ready = [i for i in range(len(nodes)) if indegree[i] == 0]
    ready.reverse()
    order, done = [], [False] * len(nodes)
    while ready:
        i = ready.pop()
        order.append(i)
        done[i] = True
        for j in consumers[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    order += [i for i in range(len(nodes)) if not done[i]]
    return order


def _bounded(dims):
    """dims with ints past int64 made unknown: products of hostile dims would
    otherwise grow node after node (and reach str() in the document)."""
    if dims is not None:
        for d in dims:
            if type(d) is int and not -MAX_DIM - 1 <= d <= MAX_DIM:
                return tuple(None if type(x) is int and not -MAX_DIM - 1 <= x <= MAX_DIM
                             else x for x in dims)
    return dims


def _merge(declared, inferred):
    """A declared (dtype, dims) completed by an inferred one where it says nothing."""
    dtype, dims = declared
    if inferred is None:
        return declared
    if dims is None:
        return (dtype, inferred[1])
    if inferred[1] is not None and len(inferred[1]) == len(dims) and None in dims:
        dims = tuple(d if d is not None else e for d, e in zip(dims, inferred[1]))
    return (dtype, dims)


def infer(graph, keep_values=False, opsets=None, functions=None):
    """Shapes of a Graph's values: the file's declarations, and what follows from them.
    keep_values: also keep the folded small tensors in `.values`; opsets: domain ->
    opset version of the model (None: each op's newest rule); functions: {name: (Graph,
    opsets)} that nodes may call (None: none)."""
    with paused_gc():
        result = _run(graph, opsets, Functions(functions))
        if not keep_values:
            result.values = {}   # (fewer objects left for the GC to track)
        return result


def _run(graph, opsets, functions):
    result = _infer(graph, range(len(graph.nodes)), opsets, functions)
    if result is None:   # nodes out of topological order
        result = _infer(graph, list(topological_order(graph)), opsets, functions)
    return result


def _infer(graph, order, opsets, functions):
    result = Shapes()
    declared = graph.types
    types = result.types
    types.update(declared)
    known = {}
    for name, t in declared.items():
        if t[0] in ("tensor", "sparse_tensor"):
            known[name] = (t[1], t[2])
    known.pop("", None)   # "" is an omitted optional input, never a value
    inits = {}
    for t in graph.initializers:
        inits[t.name] = t
        if t.name and t.name not in known:
            known[t.name] = (t.dtype, tuple(t.dims))
            kind = "tensor" if t.sparse is None else "sparse_tensor"
            types[t.name] = (kind, t.dtype, tuple(t.dims), "")
            result.inferred.append(t.name)
    values = result.values
    inferred = result.inferred
    interned = {}
    ctx = ShapeContext(values, inits, _CallSites(functions, result))
    rules = {}   # (domain, op) -> its rule here, or None
    nodes = graph.nodes
    check = type(order) is range   # file order: give up if an input comes from later
    producer = None                  # (built on the first untyped input only)
    for i in order:
        node = nodes[i]
        ins = [known.get(x) for x in node.inputs]
        if check and None in ins:
            if producer is None:
                producer = {}
                for j, n in enumerate(nodes):
                    for o in n.outputs:
                        producer.setdefault(o, j)
            for x in node.inputs:
                if producer.get(x, -1) > i:
                    return None
        key = (node.domain, node.op)
        rule = rules.get(key, False)
        if rule is False:
            rule = lookup(node.domain, node.op, opsets.get(node.domain) if opsets else None)
            rules[key] = rule = rule if rule is not None and rule.shape is not None else None
        if rule is None:
            continue
        op = node.op
        if op == "Constant" and rule.domain == "ai.onnx" and len(node.attributes) == 1 \
                and len(node.outputs) == 1:
            a = node.attributes[0]   # the common form, typed from its tensor record
            name = node.outputs[0]
            if a.name == "value" and a.type == "tensor" and a.ref is None and name \
                    and name not in inits and name not in declared \
                    and len(a.value.dims) <= MAX_RANK:
                tensor = a.value
                ctx.lazy[name] = tensor
                t = (tensor.dtype, tuple(tensor.dims))
                shared = interned.get(t)
                if shared is None:
                    shared = interned[t] = (t, ("tensor", t[0], t[1], ""))
                known[name] = shared[0]
                types[name] = shared[1]
                inferred.append(name)
                continue
        ctx.node = node
        ctx.index = i
        ctx.rule = rule
        ctx.ins = ins
        ctx.out_values = None
        try:
            outs = rule.shape(ctx)
        except Unknown:
            continue
        except CATCH:
            result.errors += 1
            continue
        for k, (name, t) in enumerate(zip(node.outputs, outs)):
            if not name or t is None:
                continue
            dtype, dims = t
            if dims is not None:
                if len(dims) > MAX_RANK:
                    continue
                dims = tuple(dims)
            if name in inits:
                continue   # (a malformed graph writing a weight: the tensor record wins)
            if name in declared:
                dt = declared[name]
                if dt[0] in ("tensor", "sparse_tensor"):
                    merged = known[name] = _merge((dt[1], dt[2]), (dtype, _bounded(dims)))
                    if merged[1] != dt[2]:   # unknown dims of the declaration filled in
                        types[name] = (dt[0], dt[1], merged[1], dt[3])
            elif dtype is not None or dims is not None:
                key = (dtype, dims)   # (dims made a tuple above: a list is not hashable)
                shared = interned.get(key)   # one tuple per distinct type: less for the GC
                if shared is None:
                    t = (dtype, _bounded(dims))
                    shared = interned[key] = (t, ("tensor", dtype or "undefined", t[1], ""))
                known[name] = shared[0]
                types[name] = shared[1]
                inferred.append(name)
            if ctx.out_values is not None and k in ctx.out_values:
                values[name] = ctx.out_values[k]
    return result

