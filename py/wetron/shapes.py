"""Shape inference over the graph model, on the standard library alone.

Op semantics are those of ONNX's standard domain (other formats can map their ops
onto it). A tensor's shape is a tuple of dims, each an int (static), a string
(symbolic: "batch", or a readable expression of symbols such as "seq+1" or
"2*batch") or None (unknown). Unknown is never guessed: where a dim cannot be
derived exactly it is None; a shape of unknown rank is None.

One assumption is made about symbols: they are at least 1. It lets Equal(batch, -1)
fold to false and Slice(x, 1, end) on a symbolic axis give "seq-1".

Small integer tensors are folded as values (Shape -> Gather -> Unsqueeze -> Concat ->
Reshape chains, Constant nodes, small initializers) so that Reshape/Expand/Slice
targets resolve; their elements may be symbolic too. Everything is bounded: nodes
are visited once in topological order without recursion, folded tensors are capped
at MAX_FOLD elements, expressions at MAX_TERMS terms.

`infer(graph)` returns a Shapes: `types` (value name -> model type tuple, the file's
own declarations untouched plus inferred ones) and `inferred` (names whose type was
derived here: by op semantics, or from the tensor record for initializers).
"""
import math
import re

from .dtypes import dtype_name
from .util import paused_gc

MAX_FOLD = 1024        # elements of a tensor computed with as a value
MAX_READ = 1024        # elements of an initializer read from the file to fold it
MAX_TERMS = 8          # terms of a symbolic expression, else unknown
MAX_DEGREE = 4         # symbols multiplied in one term
MAX_EXPR = 48          # characters of a rendered expression
MAX_RANK = 64          # ranks above this are not built (hostile attributes)
MAX_DIM = 2 ** 63 - 1  # dims and folded ints beyond int64 are unknown (they only come
                       # from hostile files, and would grow without bound)
BIG = 2 ** 31 - 1      # Slice bounds at or beyond this mean "to the end"

# The type each attribute the rules read must have (ONNX AttributeProto types, as
# model.Attribute.type). An attribute of another type (an INT equation, a TENSOR
# kernel_shape: a broken or hostile file) makes the node's shape unknown and its cost
# not counted: never a crash, never a guess. cost.py reads it too. A name missing here
# is read unchecked (tests/test_hardening.py checks every name the rules read is here).
ATTR_TYPES = {
    "allowzero": "int", "auto_pad": "string", "axes": "ints", "axis": "int",
    "batch_dims": "int", "blocksize": "int", "body": "graph", "ceil_mode": "int",
    "dilations": "ints", "direction": "string", "dtype": "int", "else_branch": "graph",
    "end": "int", "ends": "ints", "equation": "string", "group": "int",
    "hidden_size": "int", "k": "int", "keep_aspect_ratio_policy": "string",
    "keepdims": "int", "kernel_shape": "ints", "kv_num_heads": "int", "layout": "int",
    "mode": "string", "noop_with_empty_axes": "int", "num_outputs": "int",
    "output_dtype": "int", "output_height": "int", "output_padding": "ints",
    "output_shape": "ints", "output_width": "int", "pads": "ints", "perm": "ints",
    "pooled_shape": "ints", "q_num_heads": "int", "reduction": "string",
    "sample_size": "int", "scales": "floats", "shape": "ints", "split": "ints",
    "start": "int", "starts": "ints", "stash_type": "int", "strides": "ints",
    "then_branch": "graph", "to": "int", "transA": "int", "transB": "int",
    "value": "tensor",
    # Constant's forms
    "value_int": "int", "value_ints": "ints", "value_float": "float",
    "value_floats": "floats", "value_string": "string", "value_strings": "strings",
    "sparse_value": "sparse_tensor",
}


class Shapes:
    __slots__ = ("types", "inferred", "values", "errors")

    def __init__(self):
        self.types = {}      # value name -> type tuple (see model.py)
        self.inferred = []   # names whose type was inferred, in node order
        self.values = {}     # value name -> (dims, flat values) of folded tensors (if kept)
        self.errors = 0      # nodes whose handler failed on malformed input


# --- symbolic dims ----------------------------------------------------------
# A polynomial is a dict {monomial: coefficient}; a monomial is a sorted tuple of
# symbol names (repeated for powers); () is the constant term.

_IDENT = re.compile(r"[A-Za-z_][\w.]*\Z")
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][\w.]*)|\(([^()]*)\)|([-+*]))")
_parsed = {}


def _parse(text):
    """Polynomial of a dim string written as `2*batch+seq-1`; anything else is one
    opaque symbol."""
    if len(text) <= 200:
        poly, pos, sign, term, expect = {}, 0, 1, None, "factor"
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                break
            pos = m.end()
            num, name, group, op = m.groups()
            if expect == "factor":
                if op == "-" and term is None:
                    sign = -sign
                    continue
                if op is not None:
                    break
                if term is None:
                    term = [sign, []]
                if num is not None:
                    term[0] *= int(num)
                else:
                    term[1].append(name if name is not None else group)
                expect = "op"
            else:
                if op is None:
                    break
                if op == "*":
                    expect = "factor"
                    continue
                key = tuple(sorted(term[1]))
                poly[key] = poly.get(key, 0) + term[0]
                term, sign, expect = None, (1 if op == "+" else -1), "factor"
        else:
            if expect == "op":
                key = tuple(sorted(term[1]))
                poly[key] = poly.get(key, 0) + term[0]
                return {k: v for k, v in poly.items() if v}
    return {(text,): 1}


def _poly(d):
    if type(d) is int:
        return {(): d} if d else {}
    p = _parsed.get(d)
    if p is None:
        p = _parse(d)
        if len(_parsed) < 20000:
            _parsed[d] = p
    return p


def _name(s):
    return s if _IDENT.match(s) else f"({s})"


def _render(p):
    """int, an expression string, or None when too big to stay readable."""
    if not p:
        return 0
    if len(p) == 1 and () in p:
        return p[()]
    if len(p) > MAX_TERMS:
        return None
    out = []
    for mono, coef in sorted(p.items(), key=lambda kv: (kv[0] == (), -len(kv[0]), kv[0])):
        if len(mono) > MAX_DEGREE:
            return None
        names = [_name(s) for s in mono] if len(p) > 1 or coef != 1 or len(mono) > 1 else list(mono)
        mag = abs(coef)
        parts = ([str(mag)] if mag != 1 or not names else []) + names
        text = "*".join(parts)
        out.append(("-" if coef < 0 else ("+" if out else "")) + text)
    text = "".join(out)
    if len(text) > MAX_EXPR:
        return None
    return text


def _padd(p, q, sign=1):
    r = dict(p)
    for k, v in q.items():
        r[k] = r.get(k, 0) + sign * v
    return {k: v for k, v in r.items() if v}


def _sym_add(p, q):
    return _render(_padd(p, q))


def _sym_sub(p, q):
    return _render(_padd(p, q, -1))


def _sym_mul(p, q):
    if len(p) * len(q) > 4 * MAX_TERMS:
        return None
    r = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            k = tuple(sorted(m1 + m2))
            r[k] = r.get(k, 0) + c1 * c2
    return _render({k: v for k, v in r.items() if v})


def _sym_div(p, q):
    if p == q and p:
        return 1
    if len(q) != 1:
        return None
    (qm, qc), = q.items()
    r = {}
    for m, c in p.items():
        rest = list(m)
        for s in qm:
            if s not in rest:
                return None
            rest.remove(s)
        if c % qc:
            return None
        r[tuple(rest)] = c // qc
    return _render(r)


_memo = {}   # (op, a, b) -> result: exports repeat the same symbolic arithmetic per layer


def _symbolic(fn, a, b):
    key = (fn, a, b)
    r = _memo.get(key, _memo)
    if r is _memo:
        r = fn(_poly(a), _poly(b))
        if len(_memo) < 50000:
            _memo[key] = r
    return r


def dim_add(a, b):
    if type(a) is int and type(b) is int:
        return a + b
    return None if a is None or b is None else _symbolic(_sym_add, a, b)


def dim_sub(a, b):
    if type(a) is int and type(b) is int:
        return a - b
    return None if a is None or b is None else _symbolic(_sym_sub, a, b)


def dim_mul(a, b):
    if type(a) is int and type(b) is int:
        return a * b
    return None if a is None or b is None else _symbolic(_sym_mul, a, b)


def dim_div(a, b):
    """a / b when it divides exactly (as polynomials), else None."""
    if type(a) is int and type(b) is int:
        return a // b if b and a % b == 0 else None
    return None if a is None or b is None else _symbolic(_sym_div, a, b)


def _floor_div(a, b):
    if type(a) is int and type(b) is int:
        return a // b if b > 0 else None
    return dim_div(a, b)


def _ceil_div(a, b):
    if type(a) is int and type(b) is int:
        return -(-a // b) if b > 0 else None
    return dim_div(a, b)


def dim_prod(dims):
    r = 1
    for d in dims:
        r = dim_mul(r, d)
        if r is None:
            return None
    return r


def _nonneg(d):
    """True when d >= 0 for every value of its symbols >= 1."""
    if d is None:
        return False
    if type(d) is int:
        return d >= 0
    p = _poly(d)
    return all(c > 0 for m, c in p.items() if m) and sum(p.values()) >= 0


def evaluate(d, bindings=None, default=1):
    """The int a dim takes when its symbols are bound (unbound ones = default)."""
    if d is None or type(d) is int:
        return d
    total = 0
    for mono, coef in _poly(d).items():
        for s in mono:
            v = bindings.get(s, default) if bindings else default
            if v is None:
                return None
            coef *= v
        total += coef
    return total


def symbols(d):
    """Names of the symbols in a dim."""
    if type(d) is not str:
        return ()
    return tuple(sorted({s for mono in _poly(d) for s in mono}))


def _bdim(a, b):
    """Broadcast of two dims (numpy rules)."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if type(a) is int:
        return a if type(b) is not int else None
    if type(b) is int:
        return b
    if type(a) is str and type(b) is str and _poly(a) == _poly(b):
        return a
    return None


def broadcast(shapes):
    if len(shapes) == 2:   # the common case, with fast paths for equal shapes and suffixes
        a, b = shapes
        if a is None or b is None:
            return None
        if a == b:
            return a
        if len(b) < len(a) and a[len(a) - len(b):] == b:
            return a
    elif any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        d = 1
        for s in shapes:
            j = i - rank + len(s)
            if j >= 0:
                d = _bdim(d, s[j])
        out.append(d)
    return tuple(out)


def _same(a, b):
    """Merge two dims that must be equal: the more specific wins."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    return b if type(b) is int and type(a) is not int else a


# --- per-node context -------------------------------------------------------

class _Unknown(Exception):
    """The node depends on something not known here (e.g. a function attribute)."""


_NUMERIC_BITS = {"float32", "float64", "float16", "bfloat16", "int8", "int16", "int32",
                 "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
_FLOATS = {"float32", "float64", "float16", "bfloat16"}


class _Ctx:
    __slots__ = ("node", "ins", "values", "lazy", "out_values")

    def __init__(self, values, inits):
        self.values = values
        self.lazy = dict(inits)   # value name -> Tensor, read when first asked for
        self.node = self.ins = self.out_values = None

    def attr(self, name, default=None):
        for a in self.node.attributes:
            if a.name == name:
                if a.ref is not None or a.type != ATTR_TYPES.get(name, a.type):
                    raise _Unknown(name)   # a function's attribute, or the wrong type
                return a.value
        return default

    def has(self, i):
        return i < len(self.node.inputs) and self.node.inputs[i] != ""

    def dims(self, i):
        ins = self.ins
        t = ins[i] if i < len(ins) else None
        return None if t is None else t[1]

    def dtype(self, i):
        ins = self.ins
        t = ins[i] if i < len(ins) else None
        return None if t is None else t[0]

    def value(self, i):
        """(dims, flat) of input i when known as a small tensor, else None."""
        inputs = self.node.inputs
        if i >= len(inputs) or not inputs[i]:
            return None
        name = inputs[i]
        v = self.values.get(name)
        if v is None:
            t = self.lazy.pop(name, None)
            if t is not None:
                v = _read(t)
                if v is not None:
                    self.values[name] = v
        return v

    def ints(self, i):
        """Input i as a list of dims (ints/symbols/None), or None."""
        v = self.value(i)
        if v is None or len(v[0]) > 1:
            return None
        return [x if type(x) in (int, str) else None for x in v[1]]

    def fold(self, i, dims, flat):
        if dims is not None and len(flat) <= MAX_FOLD and all(type(d) is int for d in dims):
            for x in flat:   # (ints past int64 are not kept: x*x chains would grow them)
                if type(x) is int and not -MAX_DIM - 1 <= x <= MAX_DIM:
                    return
            if self.out_values is None:
                self.out_values = {}
            self.out_values[i] = (tuple(dims), flat)


def _read(t):
    if t.error or t.sparse is not None or t.decoder is None or t.dtype not in _NUMERIC_BITS:
        return None
    if len(t.dims) > MAX_RANK:
        return None
    count = t.count
    if count > MAX_READ:
        return None
    try:
        flat = list(t.decoder(t, count))
    except Exception:   # a broken tensor must not stop inference
        return None
    if len(flat) != count:
        return None
    return (tuple(t.dims), flat)


def _axis(a, rank):
    if type(a) is not int or rank is None:
        raise _Unknown("axis")
    if a < 0:
        a += rank
    if not 0 <= a < rank:
        raise ValueError(f"axis {a} out of range for rank {rank}")
    return a


# --- element functions used when folding values ----------------------------

def _num(x):
    return type(x) in (int, float, bool)


def _e_add(x, y):
    if type(x) is str or type(y) is str:
        return dim_add(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x + y if _num(x) and _num(y) else None


def _e_sub(x, y):
    if type(x) is str or type(y) is str:
        return dim_sub(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x - y if _num(x) and _num(y) else None


def _e_mul(x, y):
    if type(x) is str or type(y) is str:
        return dim_mul(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    return x * y if _num(x) and _num(y) else None


def _e_div(x, y):
    if type(x) is int and type(y) is int:
        if y == 0:
            return None
        q = abs(x) // abs(y)
        if q * abs(y) != abs(x) and (x < 0) != (y < 0):
            return None   # truncation vs floor differ between runtimes
        return q if (x < 0) == (y < 0) else -q
    if type(x) is str or type(y) is str:
        return dim_div(x, y) if type(x) in (int, str) and type(y) in (int, str) else None
    if _num(x) and _num(y) and y != 0:
        return x / y
    return None


def _e_eq(x, y):
    if x is None or y is None:
        return None
    if type(x) is str or type(y) is str:
        if type(x) is str and type(y) is str:
            return True if _poly(x) == _poly(y) else None
        other = y if type(x) is str else x
        return False if _num(other) and other < 1 else None
    return x == y


def _e_cmp(fn):
    def f(x, y):
        return fn(x, y) if _num(x) and _num(y) else None
    return f


def _e_max(x, y):
    if _num(x) and _num(y):
        return max(x, y)
    if type(x) is str and _num(y) and y <= 1:
        return x
    if type(y) is str and _num(x) and x <= 1:
        return y
    return x if x == y else None


def _e_min(x, y):
    if _num(x) and _num(y):
        return min(x, y)
    if type(x) is str and _num(y) and y <= 1:
        return y
    if type(y) is str and _num(x) and x <= 1:
        return x
    return x if x == y else None


_FOLD_BINARY = {
    "Add": _e_add, "Sub": _e_sub, "Mul": _e_mul, "Div": _e_div, "Equal": _e_eq,
    "Less": _e_cmp(lambda x, y: x < y), "Greater": _e_cmp(lambda x, y: x > y),
    "LessOrEqual": _e_cmp(lambda x, y: x <= y), "GreaterOrEqual": _e_cmp(lambda x, y: x >= y),
    "Max": _e_max, "Min": _e_min,
    "And": _e_cmp(lambda x, y: bool(x) and bool(y)), "Or": _e_cmp(lambda x, y: bool(x) or bool(y)),
    "Mod": _e_cmp(lambda x, y: x % y if y else None),
}


def _strides(dims):
    strides, s = [], 1
    for d in reversed(dims):
        strides.append(s)
        s *= d
    strides.reverse()
    return strides


def _pick(value, picks):
    """Elements of a folded tensor at the cartesian product of per-axis indices."""
    idx = [0]
    for p, st in zip(picks, _strides(value[0])):
        idx = [i + j * st for i in idx for j in p]
    return [value[1][i] for i in idx]


def _bcast_index(out_dims, in_dims):
    """Flat index into an input for each element of a broadcast output."""
    in_dims = (1,) * (len(out_dims) - len(in_dims)) + tuple(in_dims)
    strides = _strides(in_dims)
    idx = [0]
    for d, ind, st in zip(out_dims, in_dims, strides):
        idx = [i + (j if ind != 1 else 0) * st for i in idx for j in range(d)]
    return idx


def _fold_elementwise(c, fn, out_dims, count):
    if out_dims is None:
        return
    for d in out_dims:
        if type(d) is not int:
            return
    if math.prod(out_dims) > MAX_FOLD:
        return
    vals = []
    for i in range(count):   # activations first: avoid reading weights needlessly
        name = c.node.inputs[i]
        if name not in c.values and name not in c.lazy:
            return
    for i in range(count):
        v = c.value(i)
        if v is None:
            return
        vals.append(v)
    cols = [[v[1][k] for k in _bcast_index(out_dims, v[0])] for v in vals]
    if count == 1:
        flat = [fn(x) for x in cols[0]]
    elif count == 2:
        flat = [fn(x, y) for x, y in zip(*cols)]
    else:
        flat = [fn(*xs) for xs in zip(*cols)]
    c.fold(0, out_dims, flat)


# --- handlers: ctx -> [(dtype, dims) | None per output] ---------------------

def _h_unary(c):
    t = c.ins[0] if c.ins else None
    return [t]


def _h_identity(c):
    v = c.value(0)
    if v is not None:
        c.fold(0, v[0], v[1])
    return [c.ins[0] if c.ins else None]


def _h_bool_unary(c):
    return [("bool", c.dims(0))]


def _h_neg(c):
    d = c.dims(0)
    _fold_elementwise(c, lambda x: dim_sub(0, x) if type(x) is str else (-x if _num(x) else None),
                      d, 1)
    return [c.ins[0] if c.ins else None]


def _h_round_like(fn):
    def h(c):
        _fold_elementwise(c, lambda x: fn(x) if type(x) is float and math.isfinite(x)
                          else (x if type(x) in (int, str) else None), c.dims(0), 1)
        return [c.ins[0] if c.ins else None]
    return h


def _h_binary(c):
    n = len(c.node.inputs)
    dims = broadcast([c.dims(i) for i in range(n)])
    fn = _FOLD_BINARY.get(c.node.op)
    if fn is not None and n == 2:
        _fold_elementwise(c, fn, dims, 2)
    return [(c.dtype(0), dims)]


def _h_compare(c):
    dims = broadcast([c.dims(0), c.dims(1)])
    fn = _FOLD_BINARY.get(c.node.op)
    if fn is not None:
        _fold_elementwise(c, fn, dims, 2)
    return [("bool", dims)]


def _h_not(c):
    _fold_elementwise(c, lambda x: (not x) if _num(x) else None, c.dims(0), 1)
    return [("bool", c.dims(0))]


def _h_where(c):
    dims = broadcast([c.dims(0), c.dims(1), c.dims(2)])
    _fold_elementwise(c, lambda k, x, y: None if not _num(k) else (x if k else y), dims, 3)
    return [(c.dtype(1), dims)]


def _h_variadic(c):
    dims = broadcast([c.dims(i) for i in range(len(c.node.inputs))])
    if c.node.op in ("Max", "Min") and len(c.node.inputs) == 2:
        _fold_elementwise(c, _FOLD_BINARY[c.node.op], dims, 2)
    return [(c.dtype(0), dims)]


def _h_cast(c):
    to = dtype_name(c.attr("to", 0))
    d = c.dims(0)
    if to in _FLOATS:
        fn = (lambda x: float(x) if _num(x) else (x if type(x) is str else None))
    elif to == "bool":
        fn = (lambda x: bool(x) if _num(x) else (True if type(x) is str else None))
    elif to in _NUMERIC_BITS:
        fn = (lambda x: int(x) if _num(x) and math.isfinite(x) else (x if type(x) is str else None))
    else:
        fn = None
    if fn is not None:
        _fold_elementwise(c, fn, d, 1)
    return [(to, d)]


def _h_castlike(c):
    return [(c.dtype(1), c.dims(0))]


def _h_dropout(c):
    d = c.dims(0)
    return [c.ins[0] if c.ins else None, ("bool", d)]


def _h_batchnorm(c):
    stats = c.ins[3] if len(c.ins) > 3 else None
    return [c.ins[0] if c.ins else None, stats, stats]


def _h_layernorm(c):
    d = c.dims(0)
    stat = None
    if d is not None:
        axis = _axis(c.attr("axis", -1), len(d))
        stype = dtype_name(c.attr("stash_type", 1))
        stat = (stype, d[:axis] + (1,) * (len(d) - axis))
    return [c.ins[0] if c.ins else None, stat, stat]


def _h_constant(c):
    n = c.node
    for a in n.attributes:
        if a.ref is not None or a.type != ATTR_TYPES.get(a.name, a.type):
            raise _Unknown(a.name)
        if a.name == "value":
            t = a.value
            if n.outputs and n.outputs[0]:
                c.lazy[n.outputs[0]] = t
            return [(t.dtype, tuple(t.dims))]
        if a.name == "value_int":
            c.fold(0, (), [a.value])
            return [("int64", ())]
        if a.name == "value_ints":
            if len(a.value) <= MAX_FOLD:
                c.fold(0, (len(a.value),), list(a.value))
            return [("int64", (len(a.value),))]
        if a.name == "value_float":
            c.fold(0, (), [a.value])
            return [("float32", ())]
        if a.name == "value_floats":
            if len(a.value) <= MAX_FOLD:
                c.fold(0, (len(a.value),), list(a.value))
            return [("float32", (len(a.value),))]
        if a.name == "value_string":
            return [("string", ())]
        if a.name == "value_strings":
            return [("string", (len(a.value),))]
        if a.name == "sparse_value":
            return [(a.value.dtype, tuple(a.value.dims))]
    return [None]


def _h_shape(c):
    d = c.dims(0)
    if d is None:
        return [("int64", (None,))]
    r = len(d)
    start, end = c.attr("start", 0), c.attr("end", r)
    start = max(0, min(r, start + r if start < 0 else start))
    end = max(0, min(r, end + r if end < 0 else end))
    part = list(d[start:end]) if end > start else []
    c.fold(0, (len(part),), part)
    return [("int64", (len(part),))]


def _h_size(c):
    d = c.dims(0)
    if d is not None:
        c.fold(0, (), [dim_prod(d)])
    return [("int64", ())]


def _h_matmul(c, dtype=None):
    a, b = c.dims(0), c.dims(1)
    return [(dtype or c.dtype(0), _matmul_dims(a, b))]


def _matmul_dims(a, b):
    if a is None or b is None or not a or not b:
        return None
    A = (1,) + a if len(a) == 1 else a
    B = b + (1,) if len(b) == 1 else b
    batch = broadcast([A[:-2], B[:-2]])
    out = batch + (A[-2], B[-1])
    if len(b) == 1:
        out = out[:-1]
    if len(a) == 1:
        out = out[:-2] + out[-1:] if len(b) != 1 else out[:-1]
    return out


def _h_matmul_int(c):
    return _h_matmul(c, "int32")


def _h_qlinear_matmul(c):
    a, b = c.dims(0), c.dims(3)
    return [(c.dtype(7), _matmul_dims(a, b))]


def _h_gemm(c):
    a, b = c.dims(0), c.dims(1)
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return [(c.dtype(0), None if a is None or b is None else (None, None))]
    m = a[1] if c.attr("transA", 0) else a[0]
    n = b[0] if c.attr("transB", 0) else b[1]
    return [(c.dtype(0), (m, n))]


def _spatial_attrs(c, rank):
    """kernel, strides, dilations, pads (begin..., end...) for `rank` spatial axes."""
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    pads = c.attr("pads") or [0] * (2 * rank)
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise ValueError("spatial attributes do not match the rank")
    return strides, dilations, pads


def _auto_pad(c):
    ap = c.attr("auto_pad", "NOTSET")
    return ap.decode() if isinstance(ap, bytes) else ap


def _window_out(size, k, s, dil, pb, pe, auto_pad, ceil_mode=False):
    """Output length of a sliding window (Conv, pooling)."""
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return _ceil_div(size, s)
    if auto_pad == "VALID":
        pb = pe = 0
    eff = dil * (k - 1) + 1
    span = dim_sub(dim_add(size, pb + pe), eff)
    if not ceil_mode:
        return dim_add(_floor_div(span, s), 1)
    if type(span) is int:
        n = -(-span // s) + 1
        if (n - 1) * s >= size + pb:   # the last window must start inside the input
            n -= 1
        return n
    n = dim_add(dim_div(span, s), 1)   # exact: the last window ends at the input's end
    return dim_sub(n, 1) if n is not None and pe >= eff else n


def _conv_like(c, x, kernel, channels):
    if x is None:
        return None
    rank = len(x) - 2
    if rank < 0:
        return None
    if kernel is None or len(kernel) != rank:
        return (x[0], channels) + (None,) * rank
    strides, dilations, pads = _spatial_attrs(c, rank)
    ap = _auto_pad(c)
    out = [x[0], channels]
    for i in range(rank):
        if kernel[i] is None or type(kernel[i]) is not int:
            out.append(None)
        else:
            out.append(_window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                                   pads[i + rank], ap))
    return tuple(out)


def _kernel(c, w):
    k = c.attr("kernel_shape")
    if k:
        return list(k)
    return None if w is None else list(w[2:])


def _h_conv(c, x_at=0, w_at=1, dtype=None):
    x, w = c.dims(x_at), c.dims(w_at)
    channels = w[0] if w else None
    return [(dtype or c.dtype(x_at), _conv_like(c, x, _kernel(c, w), channels))]


def _h_conv_int(c):
    return _h_conv(c, dtype="int32")


def _h_qlinear_conv(c):
    return _h_conv(c, 0, 3, c.dtype(7))


def _h_conv_transpose(c):
    x, w = c.dims(0), c.dims(1)
    if x is None:
        return [(c.dtype(0), None)]
    rank = len(x) - 2
    group = c.attr("group", 1)
    channels = dim_mul(w[1], group) if w and len(w) > 1 else None
    kernel = _kernel(c, w)
    output_shape = c.attr("output_shape")
    if output_shape and 0 < rank <= len(output_shape):
        return [(c.dtype(0), (x[0], channels) + tuple(output_shape[-rank:]))]
    if kernel is None or len(kernel) != rank:
        return [(c.dtype(0), (x[0], channels) + (None,) * rank)]
    strides, dilations, pads = _spatial_attrs(c, rank)
    outpad = c.attr("output_padding") or [0] * rank
    ap = _auto_pad(c)
    out = [x[0], channels]
    for i in range(rank):
        if ap in ("SAME_UPPER", "SAME_LOWER"):
            out.append(dim_mul(x[2 + i], strides[i]))
            continue
        pb, pe = (0, 0) if ap == "VALID" else (pads[i], pads[i + rank])
        full = dim_add(dim_mul(strides[i], dim_sub(x[2 + i], 1)),
                       outpad[i] + (kernel[i] - 1) * dilations[i] + 1)
        out.append(dim_sub(full, pb + pe))
    return [(c.dtype(0), tuple(out))]


def _h_pool(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None), ("int64", None)]
    rank = len(x) - 2
    kernel = c.attr("kernel_shape")
    if not kernel or len(kernel) != rank:
        raise ValueError("pooling without a kernel_shape of the input's rank")
    strides, dilations, pads = _spatial_attrs(c, rank)
    ceil_mode = c.attr("ceil_mode", 0)
    ap = _auto_pad(c)
    out = [x[0], x[1]]
    for i in range(rank):
        out.append(_window_out(x[2 + i], kernel[i], strides[i], dilations[i], pads[i],
                               pads[i + rank], ap, ceil_mode))
    return [(c.dtype(0), tuple(out)), ("int64", tuple(out))]


def _h_global_pool(c):
    x = c.dims(0)
    return [(c.dtype(0), None if x is None else x[:2] + (1,) * (len(x) - 2))]


def _h_roi(c):
    x, rois = c.dims(0), c.dims(1)
    if c.node.op == "MaxRoiPool":
        ph, pw = c.attr("pooled_shape")
    else:
        ph, pw = c.attr("output_height", 1), c.attr("output_width", 1)
    n = rois[0] if rois else None
    return [(c.dtype(0), (n, x[1] if x else None, ph, pw))]


def _h_reshape(c):
    x = c.dims(0)
    target = c.ints(1)
    if target is None:
        s = c.dims(1)
        return [(c.dtype(0), None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                 else (None,) * s[0])]
    allowzero = c.attr("allowzero", 0)
    out, infer_at = [], -1
    for i, t in enumerate(target):
        if t == 0 and not allowzero and type(t) is int:
            out.append(x[i] if x is not None and i < len(x) else None)
        elif t == -1 and type(t) is int:
            if infer_at >= 0:
                raise ValueError("two -1 in a Reshape target")
            infer_at = i
            out.append(None)
        elif type(t) is int and t < 0:
            raise ValueError("negative Reshape target")
        else:
            out.append(t)
    if infer_at >= 0 and x is not None:
        rest = dim_prod(out[:infer_at] + out[infer_at + 1:])
        total = dim_prod(x)
        if rest == 0 or rest is None or total is None:
            out[infer_at] = None
        else:
            out[infer_at] = dim_div(total, rest)
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), tuple(out))]


def _h_flatten(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), (None, None))]
    a = c.attr("axis", 1)
    a = a + len(x) if a < 0 else a
    if not 0 <= a <= len(x):
        raise ValueError("Flatten axis out of range")
    out = (dim_prod(x[:a]), dim_prod(x[a:]))
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_transpose(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    perm = c.attr("perm") or list(range(len(x) - 1, -1, -1))
    if len(perm) != len(x) or sorted(perm) != list(range(len(x))):
        raise ValueError("Transpose perm is not a permutation of the axes")
    out = tuple(x[p] for p in perm)
    v = c.value(0)
    if v is not None:
        strides = _strides(v[0])
        idx = [0]
        for p in perm:   # output order, reading the input with its strides
            idx = [i + j * strides[p] for i in idx for j in range(v[0][p])]
        c.fold(0, out, [v[1][i] for i in idx])
    return [(c.dtype(0), out)]


def _axes_of(c, input_at, name="axes"):
    """Axes given as an attribute (older opsets) or an input; 'absent' or None."""
    a = c.attr(name)
    if a is not None:
        return a
    if c.has(input_at):
        v = c.ints(input_at)
        if v is None or any(type(x) is not int for x in v):
            return None
        return v
    return "absent"


def _h_squeeze(c):
    x = c.dims(0)
    axes = _axes_of(c, 1)
    if x is None or axes is None:
        return [(c.dtype(0), None)]
    if axes == "absent":
        if any(type(d) is not int for d in x):
            return [(c.dtype(0), None)]
        out = tuple(d for d in x if d != 1)
    else:
        drop = {_axis(a, len(x)) for a in axes}
        out = tuple(d for i, d in enumerate(x) if i not in drop)
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_unsqueeze(c):
    x = c.dims(0)
    axes = _axes_of(c, 1)
    if x is None or axes is None or axes == "absent":
        return [(c.dtype(0), None)]
    r = len(x) + len(axes)
    if r > MAX_RANK:
        raise ValueError("rank too large")
    if len(axes) == 1:
        a = _axis(axes[0], r)
        out = x[:a] + (1,) + x[a:]
    else:
        put = {_axis(a, r) for a in axes}
        if len(put) != len(axes):
            raise ValueError("repeated axes")
        it = iter(x)
        out = tuple(1 if i in put else next(it) for i in range(r))
    v = c.value(0)
    if v is not None:
        c.fold(0, out, v[1])
    return [(c.dtype(0), out)]


def _h_concat(c):
    shapes = [None if t is None else t[1] for t in c.ins]
    known = [s for s in shapes if s is not None]
    if not known:
        return [(c.dtype(0), None)]
    r = len(known[0])
    axis = _axis(c.attr("axis"), r)
    out = list(known[0])
    for s in known[1:]:
        if len(s) != r:
            raise ValueError("Concat of different ranks")
        if r > 1:
            for i in range(r):
                if i != axis:
                    out[i] = _same(out[i], s[i])
    total = 0
    for s in shapes:
        total = dim_add(total, None if s is None else s[axis])
    out[axis] = total
    if r == 1 and type(total) is int and total <= MAX_FOLD:
        flat = []
        for i in range(len(shapes)):
            v = c.value(i)
            if v is None:
                break
            flat += v[1]
        else:
            c.fold(0, out, flat)
    return [(c.dtype(0), tuple(out))]


def _h_split(c):
    x = c.dims(0)
    n = len(c.node.outputs)
    if x is None:
        return [(c.dtype(0), None)] * n
    axis = _axis(c.attr("axis", 0), len(x))
    sizes = c.attr("split")
    if sizes is None and c.has(1):
        sizes = c.ints(1)
        if sizes is None:
            return [(c.dtype(0), x[:axis] + (None,) + x[axis + 1:])] * n
    if sizes is None:
        parts = c.attr("num_outputs")
        d = x[axis]
        if parts is not None and parts != n:
            raise ValueError("Split num_outputs differs from its outputs")
        if parts is not None and type(d) is int:
            chunk = -(-d // parts)
            sizes = [chunk] * (parts - 1) + [d - chunk * (parts - 1)]
        else:
            sizes = [dim_div(d, n)] * n
    return [(c.dtype(0), x[:axis] + (s,) + x[axis + 1:]) for s in sizes[:n]]


def _slice_len(d, start, end, step):
    """Length of x[start:end:step] along an axis of length d (ONNX Slice clamping)."""
    if None in (start, end, step) or step == 0:
        return None
    if type(d) is int and type(start) is int and type(end) is int:
        return len(range(*slice(start, end, step).indices(d)))
    if type(step) is not int:
        return None
    if step == 1:
        if type(start) is int and start < 0:
            start = dim_add(d, start)
        if type(end) is int:
            if end >= BIG:
                end = d
            elif end < 0:
                end = dim_add(d, end)
        n = dim_sub(end, start)   # when 0 <= start <= end <= d is provable
        if _nonneg(start) and _nonneg(n) and _nonneg(dim_sub(d, end)):
            return n
        return None
    if step == -1 and type(start) is int and type(end) is int \
            and (start == -1 or start >= BIG) and end <= -BIG:
        return d
    return None


def _h_slice(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    if c.attr("starts") is not None:
        starts, ends = list(c.attr("starts")), list(c.attr("ends"))
        axes = c.attr("axes") or list(range(len(starts)))
        steps = [1] * len(starts)
    else:
        starts, ends = c.ints(1), c.ints(2)
        axes = c.ints(3) if c.has(3) else None
        steps = c.ints(4) if c.has(4) else None
        if starts is None or ends is None or (c.has(3) and axes is None):
            if c.has(3) and axes is None:
                return [(c.dtype(0), (None,) * r)]
            out = list(x)
            for a in (axes or range(r)):
                out[_axis(a, r)] = None
            return [(c.dtype(0), tuple(out))]
        axes = axes or list(range(len(starts)))
        steps = steps or [1] * len(starts)
    out = list(x)
    spec = {}
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, r)
        spec[a] = (s, e, st)
        out[a] = _slice_len(x[a], s, e, st)
    v = c.value(0)
    if v is not None and all(type(t) is int for sp in spec.values() for t in sp):
        picks = [range(d) for d in v[0]]
        for a, (s, e, st) in spec.items():
            picks[a] = range(*slice(s, e, st).indices(v[0][a]))
        c.fold(0, out, _pick(v, picks))
    return [(c.dtype(0), tuple(out))]


def _h_gather(c):
    x, idx = c.dims(0), c.dims(1)
    if x is None or idx is None:
        return [(c.dtype(0), None)]
    axis = _axis(c.attr("axis", 0), len(x))
    out = x[:axis] + idx + x[axis + 1:]
    v, iv = c.value(1), None
    if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        iv = c.value(0)
    if iv is not None:
        dims, flat = iv
        n = dims[axis]
        inner = math.prod(dims[axis + 1:])
        outer = math.prod(dims[:axis])
        res = []
        for o in range(outer):
            for k in v[1]:
                if type(k) is not int or not -n <= k < n:
                    return [(c.dtype(0), out)]
                k = k + n if k < 0 else k
                base = (o * n + k) * inner
                res += flat[base:base + inner]
        c.fold(0, out, res)
    return [(c.dtype(0), out)]


def _h_gather_elements(c):
    return [(c.dtype(0), c.dims(1))]


def _h_gather_nd(c):
    x, idx = c.dims(0), c.dims(1)
    b = c.attr("batch_dims", 0)
    if x is None or idx is None or not idx or type(idx[-1]) is not int:
        return [(c.dtype(0), None)]
    return [(c.dtype(0), idx[:-1] + x[b + idx[-1]:])]


def _h_expand(c):
    x = c.dims(0)
    target = c.ints(1)
    if target is None:
        s = c.dims(1)
        if x is None or not s or type(s[0]) is not int or s[0] > MAX_RANK:
            return [(c.dtype(0), None)]
        target = [None] * s[0]
    if x is None:
        return [(c.dtype(0), None)]
    out = broadcast([x, tuple(target)])
    v = c.value(0)
    if v is not None and all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        c.fold(0, out, [v[1][k] for k in _bcast_index(out, v[0])])
    return [(c.dtype(0), out)]


def _h_tile(c):
    x = c.dims(0)
    reps = c.ints(1)
    if x is None:
        return [(c.dtype(0), None)]
    if reps is None or len(reps) != len(x):
        return [(c.dtype(0), (None,) * len(x))]
    return [(c.dtype(0), tuple(dim_mul(d, r) for d, r in zip(x, reps)))]


def _h_constant_of_shape(c):
    shape = c.ints(0)
    dtype, fill = "float32", 0.0
    t = c.attr("value")
    if t is not None:
        dtype = t.dtype
        v = _read(t)
        fill = v[1][0] if v and v[1] else None
    if shape is None:
        s = c.dims(0)
        return [(dtype, None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                 else (None,) * s[0])]
    out = tuple(shape)
    if all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
        c.fold(0, out, [fill] * math.prod(out))
    return [(dtype, out)]


def _scalar(c, i):
    v = c.value(i)
    if v is None or len(v[1]) != 1:
        return None
    return v[1][0]


def _h_range(c):
    start, limit, delta = _scalar(c, 0), _scalar(c, 1), _scalar(c, 2)
    n = None
    if _num(start) and _num(limit) and _num(delta) and delta != 0:
        n = max(math.ceil((limit - start) / delta), 0)
        if type(start) is int and type(limit) is int and type(delta) is int:
            n = max(-(-(limit - start) // delta), 0)
            if n <= MAX_FOLD:
                c.fold(0, (n,), list(range(start, limit, delta)))
    elif delta == 1 and type(start) in (int, str) and type(limit) in (int, str):
        n = dim_sub(limit, start)
        if not _nonneg(n):
            n = None
    return [(c.dtype(0), (n,))]


def _h_reduce(c):
    x = c.dims(0)
    keep = c.attr("keepdims", 1)
    axes = _axes_of(c, 1)
    if x is None or axes is None:
        return [(c.dtype(0), None if not keep or x is None else (None,) * len(x))]
    if axes == "absent" or not axes:
        if c.attr("noop_with_empty_axes", 0):
            return [c.ins[0]]
        axes = range(len(x))
    drop = {_axis(a, len(x)) for a in axes}
    out = tuple((1 if keep else None) if i in drop else d for i, d in enumerate(x))
    if not keep:
        out = tuple(d for i, d in enumerate(x) if i not in drop)
    if c.node.op in ("ReduceProd", "ReduceSum") and len(x) == 1:
        v = c.value(0)
        if v is not None:
            fn = dim_mul if c.node.op == "ReduceProd" else dim_add
            acc = 1 if c.node.op == "ReduceProd" else 0
            for e in v[1]:
                acc = fn(acc, e) if type(e) in (int, str) and type(acc) in (int, str) else None
            c.fold(0, out, [acc])
    return [(c.dtype(0), out)]


def _h_argreduce(c):
    x = c.dims(0)
    if x is None:
        return [("int64", None)]
    a = _axis(c.attr("axis", 0), len(x))
    if c.attr("keepdims", 1):
        return [("int64", x[:a] + (1,) + x[a + 1:])]
    return [("int64", x[:a] + x[a + 1:])]


def _h_topk(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None), ("int64", None)]
    a = _axis(c.attr("axis", -1), len(x))
    k = c.attr("k") if c.attr("k") is not None else _scalar(c, 1)
    k = k if type(k) in (int, str) else None
    out = x[:a] + (k,) + x[a + 1:]
    return [(c.dtype(0), out), ("int64", out)]


def _h_pad(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    pads = c.attr("pads")
    if pads is None:
        pads = c.ints(1)
    axes = c.ints(3) if c.has(3) else list(range(r))
    if pads is None or axes is None or len(pads) != 2 * len(axes):
        return [(c.dtype(0), (None,) * r)]
    out = list(x)
    n = len(axes)
    for j, a in enumerate(axes):
        a = _axis(a, r)
        out[a] = dim_add(dim_add(x[a], pads[j]), pads[j + n])
    return [(c.dtype(0), tuple(out))]


def _h_resize(c):
    x = c.dims(0)
    if x is None:
        return [(c.dtype(0), None)]
    r = len(x)
    if c.node.op == "Upsample":
        scales = c.attr("scales")
        if scales is None:
            v = c.value(1)
            scales = v[1] if v else None
        sizes = None
    elif len(c.node.inputs) == 2:   # opset 10: X, scales
        v = c.value(1)
        scales, sizes = (v[1] if v else None), None
    else:
        vs = c.value(2) if c.has(2) else None
        scales = vs[1] if vs and vs[1] else None
        sizes = c.ints(3) if c.has(3) else None
        if c.has(3) and sizes is None and not scales:
            return [(c.dtype(0), (None,) * r)]
    axes = c.attr("axes")
    axes = [_axis(a, r) for a in axes] if axes else list(range(r))
    out = list(x)
    if sizes is not None:
        if len(sizes) != len(axes):
            raise ValueError("Resize sizes do not match the axes")
        policy = c.attr("keep_aspect_ratio_policy", "stretch")
        policy = policy.decode() if isinstance(policy, bytes) else policy
        if policy != "stretch":
            ins = [x[a] for a in axes]
            if any(type(d) is not int or d == 0 for d in ins + sizes):
                return [(c.dtype(0), tuple(None if i in axes else d for i, d in enumerate(x)))]
            ratios = [s / d for s, d in zip(sizes, ins)]
            scale = min(ratios) if policy == "not_larger" else max(ratios)
            sizes = [int(math.floor(d * scale + 0.5)) for d in ins]
        for a, s in zip(axes, sizes):
            out[a] = s
    elif scales is not None:
        if len(scales) != len(axes):
            raise ValueError("Resize scales do not match the axes")
        for a, s in zip(axes, scales):
            d = x[a]
            if type(d) is int and _num(s):
                out[a] = int(math.floor(d * s))
            elif type(d) is str and _num(s) and float(s).is_integer():
                out[a] = dim_mul(d, int(s))
            else:
                out[a] = None
    else:
        out = [None] * r
    return [(c.dtype(0), tuple(out))]


def _h_depth_to_space(c):
    x = c.dims(0)
    b = c.attr("blocksize")
    if x is None or len(x) != 4:
        return [(c.dtype(0), None)]
    n, ch, h, w = x
    if c.node.op == "DepthToSpace":
        return [(c.dtype(0), (n, dim_div(ch, b * b), dim_mul(h, b), dim_mul(w, b)))]
    return [(c.dtype(0), (n, dim_mul(ch, b * b), dim_div(h, b), dim_div(w, b)))]


def _h_onehot(c):
    idx = c.dims(0)
    depth = _scalar(c, 1)
    depth = int(depth) if _num(depth) else None
    if idx is None:
        return [(c.dtype(2), None)]
    r = len(idx) + 1
    a = _axis(c.attr("axis", -1), r)
    return [(c.dtype(2), idx[:a] + (depth,) + idx[a:])]


def _h_nonzero(c):
    x = c.dims(0)
    return [("int64", (None if x is None else len(x), None))]


def _h_compress(c):
    x = c.dims(0)
    a = c.attr("axis")
    if x is None:
        return [(c.dtype(0), None)]
    if a is None:
        return [(c.dtype(0), (None,))]
    a = _axis(a, len(x))
    return [(c.dtype(0), x[:a] + (None,) + x[a + 1:])]


def _h_nms(c):
    return [("int64", (None, 3))]


def _h_quantize(c):
    dtype = c.dtype(2) if c.has(2) else "uint8"
    od = c.attr("output_dtype", 0)
    if od:
        dtype = dtype_name(od)
    return [(dtype, c.dims(0))]


def _h_dequantize(c):
    od = c.attr("output_dtype", 0)
    dtype = dtype_name(od) if od else (c.dtype(1) or "float32")
    return [(dtype, c.dims(0))]


def _h_dynamic_quantize(c):
    return [("uint8", c.dims(0)), ("float32", ()), ("uint8", ())]


def _h_random(c):
    shape = c.attr("shape")
    if shape is not None and len(shape) > MAX_RANK:
        raise ValueError("rank too large")
    return [(dtype_name(c.attr("dtype", 1)), None if shape is None else tuple(shape))]


def _h_random_like(c):
    d = c.attr("dtype")
    return [(dtype_name(d) if d is not None else c.dtype(0), c.dims(0))]


def _h_multinomial(c):
    x = c.dims(0)
    return [(dtype_name(c.attr("dtype", 6)), None if x is None else (x[0], c.attr("sample_size", 1)))]


def _h_det(c):
    x = c.dims(0)
    return [(c.dtype(0), None if x is None or len(x) < 2 else x[:-2])]


def _h_grid_sample(c):
    x, g = c.dims(0), c.dims(1)
    if x is None or g is None:
        return [(c.dtype(0), None)]
    return [(c.dtype(0), (x[0], x[1]) + g[1:-1])]


def _h_rnn(c):
    x, w = c.dims(0), c.dims(1)
    if x is None:
        return [None, None, None]
    layout = c.attr("layout", 0)
    seq, batch = (x[1], x[0]) if layout else (x[0], x[1])
    hidden = c.attr("hidden_size")
    direction = c.attr("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    nd = 2 if direction == "bidirectional" else 1
    if hidden is None and w is not None:
        gates = {"LSTM": 4, "GRU": 3}.get(c.node.op, 1)
        hidden = dim_div(w[1], gates)
    if layout:
        y, h = (batch, seq, nd, hidden), (batch, nd, hidden)
    else:
        y, h = (seq, nd, batch, hidden), (nd, batch, hidden)
    t = c.dtype(0)
    return [(t, y), (t, h), (t, h)]


def _h_attention(c):
    """ONNX Attention (opset 23): Q/K/V as [B, heads, seq, head] or [B, seq, hidden]."""
    q, k, v = c.dims(0), c.dims(1), c.dims(2)
    t = c.dtype(0)
    if q is None or k is None or v is None or len(k) != len(q) or len(v) != len(q):
        return [(t, None)] * 4
    if len(q) == 3:
        heads, kv_heads = c.attr("q_num_heads"), c.attr("kv_num_heads")
        if not heads or not kv_heads:
            return [(t, None)] * 4
        b, q_seq, kv_seq = q[0], q[1], k[1]
        k_head, v_head = dim_div(k[2], kv_heads), dim_div(v[2], kv_heads)
        y = (b, q_seq, dim_mul(heads, v_head))
    elif len(q) == 4:
        b, heads, q_seq = q[0], q[1], q[2]
        kv_heads, kv_seq, k_head, v_head = k[1], k[2], k[3], v[3]
        y = (b, heads, q_seq, v_head)
    else:
        return [(t, None)] * 4
    total = kv_seq
    if c.has(4):
        past = c.dims(4)
        total = dim_add(past[2], kv_seq) if past and len(past) == 4 else None
    return [(t, y), (t, (b, kv_heads, total, k_head)), (t, (b, kv_heads, total, v_head)),
            (t, (b, heads, q_seq, total))]


def _h_loss(c):
    reduction = c.attr("reduction", "mean")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    out = c.dims(1) if reduction == "none" else ()
    return [(c.dtype(0), out), c.ins[0] if c.ins else None]


def _h_center_crop_pad(c):
    x, shape = c.dims(0), c.ints(1)
    if x is None:
        return [(c.dtype(0), None)]
    axes = c.attr("axes") or list(range(len(x)))
    out = list(x)
    for j, a in enumerate(axes):
        out[_axis(a, len(x))] = shape[j] if shape is not None and j < len(shape) else None
    return [(c.dtype(0), tuple(out))]


def _h_affine_grid(c):
    size = c.ints(1)
    if size is None or len(size) not in (4, 5):
        return [(c.dtype(0), None)]
    return [(c.dtype(0), (size[0],) + tuple(size[2:]) + (len(size) - 2,))]


def _h_einsum(c):
    eq = c.attr("equation", "").replace(" ", "")
    if len(eq) > 256:
        return [(c.dtype(0), None)]
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(c.node.inputs):
        raise ValueError("Einsum equation does not match the inputs")
    letters, ell = {}, []
    for i, term in enumerate(terms):
        x = c.dims(i)
        if x is None:
            return [(c.dtype(0), None)]
        labels = term.replace("...", ".")
        n_ell = len(x) - (len(labels) - 1) if "." in labels else 0
        if "." not in labels and len(labels) != len(x) or n_ell < 0:
            raise ValueError("Einsum term does not match the input's rank")
        pos = 0
        for ch in labels:
            if ch == ".":
                part = x[pos:pos + n_ell]
                ell = list(broadcast([tuple(ell), part]))
                pos += n_ell
            else:
                letters[ch] = _bdim(letters[ch], x[pos]) if ch in letters else x[pos]
                pos += 1
    if arrow:
        out_labels = rhs.replace("...", ".")
    else:
        counts = {}
        for ch in lhs.replace("...", "").replace(",", ""):
            counts[ch] = counts.get(ch, 0) + 1
        out_labels = ("." if "..." in lhs else "") + "".join(sorted(ch for ch, k in counts.items() if k == 1))
    out = []
    for ch in out_labels:
        if ch == ".":
            out += ell
        elif ch in letters:
            out.append(letters[ch])
        else:
            raise ValueError("Einsum output label not in the inputs")
    return [(c.dtype(0), tuple(out))]


def _h_if(c):
    branches = [c.attr("then_branch"), c.attr("else_branch")]
    outs = []
    for k in range(len(c.node.outputs)):
        types = []
        for g in branches:
            if g is None or k >= len(g.outputs):
                types.append(None)
                continue
            t = g.types.get(g.outputs[k])
            types.append((t[1], t[2]) if t and t[0] == "tensor" else None)
        a, b = types
        if a is None or b is None:
            outs.append(None)
        elif a[1] is None or b[1] is None or len(a[1]) != len(b[1]):
            outs.append((a[0] if a[0] == b[0] else None, None))
        else:
            outs.append((a[0] if a[0] == b[0] else None,
                         tuple(x if x == y else None for x, y in zip(a[1], b[1]))))
    return outs


def _h_loop(c):
    body = c.attr("body")
    carried = len(c.node.inputs) - 2
    outs = [c.ins[2 + k] if 2 + k < len(c.ins) else None for k in range(max(carried, 0))]
    if body is not None:
        for k in range(carried, len(c.node.outputs)):
            j = 1 + k
            t = body.types.get(body.outputs[j]) if j < len(body.outputs) else None
            if t and t[0] == "tensor":
                outs.append((t[1], None if t[2] is None else (None,) + tuple(t[2])))
            else:
                outs.append(None)
    return outs


_UNARY = """Abs Acos Acosh Asin Asinh Atan Atanh BitwiseNot Celu Clip Cos Cosh Elu Erf Exp
Gelu HardSigmoid HardSwish Hardmax LeakyRelu Log LogSoftmax LpNormalization LRN
MeanVarianceNormalization Mish Reciprocal Relu Selu Shrink Sigmoid Sign Sin Sinh Softmax
Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Trilu CumSum ReverseSequence
InstanceNormalization GroupNormalization RMSNormalization Swish Scatter ScatterElements
ScatterND TensorScatter RotaryEmbedding CumProd""".split()
_BINARY = "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor PRelu".split()
_COMPARE = "Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor".split()
_REDUCE = """ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare ReduceL1
ReduceL2 ReduceLogSum ReduceLogSumExp""".split()

HANDLERS = {op: _h_unary for op in _UNARY}
HANDLERS.update({op: _h_binary for op in _BINARY})
HANDLERS.update({op: _h_compare for op in _COMPARE})
HANDLERS.update({op: _h_reduce for op in _REDUCE})
HANDLERS.update({
    "Identity": _h_identity, "Neg": _h_neg, "Not": _h_not, "IsNaN": _h_bool_unary,
    "IsInf": _h_bool_unary, "Floor": _h_round_like(math.floor),
    "Ceil": _h_round_like(math.ceil), "Round": _h_round_like(round),
    "Where": _h_where, "Max": _h_variadic, "Min": _h_variadic, "Sum": _h_variadic,
    "Mean": _h_variadic, "Cast": _h_cast, "CastLike": _h_castlike, "Dropout": _h_dropout,
    "BatchNormalization": _h_batchnorm, "LayerNormalization": _h_layernorm,
    "Constant": _h_constant, "Shape": _h_shape, "Size": _h_size,
    "MatMul": _h_matmul, "MatMulInteger": _h_matmul_int, "QLinearMatMul": _h_qlinear_matmul,
    "Gemm": _h_gemm, "Conv": _h_conv, "ConvInteger": _h_conv_int, "DeformConv": _h_conv,
    "QLinearConv": _h_qlinear_conv, "ConvTranspose": _h_conv_transpose,
    "MaxPool": _h_pool, "AveragePool": _h_pool, "LpPool": _h_pool,
    "GlobalAveragePool": _h_global_pool, "GlobalMaxPool": _h_global_pool,
    "GlobalLpPool": _h_global_pool, "MaxRoiPool": _h_roi, "RoiAlign": _h_roi,
    "Reshape": _h_reshape, "Flatten": _h_flatten, "Transpose": _h_transpose,
    "Squeeze": _h_squeeze, "Unsqueeze": _h_unsqueeze, "Concat": _h_concat,
    "Split": _h_split, "Slice": _h_slice, "Gather": _h_gather,
    "GatherElements": _h_gather_elements, "GatherND": _h_gather_nd, "Expand": _h_expand,
    "Tile": _h_tile, "ConstantOfShape": _h_constant_of_shape, "Range": _h_range,
    "ArgMax": _h_argreduce, "ArgMin": _h_argreduce, "TopK": _h_topk, "Pad": _h_pad,
    "Resize": _h_resize, "Upsample": _h_resize, "DepthToSpace": _h_depth_to_space,
    "SpaceToDepth": _h_depth_to_space, "OneHot": _h_onehot, "NonZero": _h_nonzero,
    "Compress": _h_compress, "NonMaxSuppression": _h_nms, "QuantizeLinear": _h_quantize,
    "DequantizeLinear": _h_dequantize, "DynamicQuantizeLinear": _h_dynamic_quantize,
    "RandomNormal": _h_random, "RandomUniform": _h_random,
    "RandomNormalLike": _h_random_like, "RandomUniformLike": _h_random_like,
    "Bernoulli": _h_random_like, "EyeLike": _h_random_like,
    "SoftmaxCrossEntropyLoss": _h_loss, "NegativeLogLikelihoodLoss": _h_loss,
    "CenterCropPad": _h_center_crop_pad, "AffineGrid": _h_affine_grid,
    "Multinomial": _h_multinomial, "Det": _h_det, "GridSample": _h_grid_sample,
    "LSTM": _h_rnn, "GRU": _h_rnn, "RNN": _h_rnn, "Attention": _h_attention,
    "Einsum": _h_einsum, "If": _h_if, "Loop": _h_loop,
})
_STANDARD = ("", "ai.onnx")
_CATCH = (ArithmeticError, ValueError, TypeError, IndexError, KeyError, AttributeError)


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


def infer(graph, keep_values=False):
    """Shapes of a Graph's values: the file's declarations, and what follows from them.
    keep_values: also keep the folded small tensors in `.values`."""
    with paused_gc():
        result = _infer(graph, range(len(graph.nodes)))
        if result is None:   # nodes out of topological order
            result = _infer(graph, list(topological_order(graph)))
        if not keep_values:
            result.values = {}   # (fewer objects left for the GC to track)
        return result


def _infer(graph, order):
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
    ctx = _Ctx(values, inits)
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
        if node.domain not in _STANDARD:
            continue
        op = node.op
        if op == "Constant" and len(node.attributes) == 1 and len(node.outputs) == 1:
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
        handler = HANDLERS.get(op)
        if handler is None:
            continue
        ctx.node = node
        ctx.ins = ins
        ctx.out_values = None
        try:
            outs = handler(ctx)
        except _Unknown:
            continue
        except _CATCH:
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
                    known[name] = _merge((dt[1], dt[2]), (dtype, _bounded(dims)))
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
