"""What every rule is made of: the Rule base class, the context a shape rule reads a
node through (ShapeContext), the one a cost rule reads it through (CostContext), and
the bounds they keep.

A Rule subclass names its ops, its domain and the opset version it holds since, and
defines either or both of
  shape(c)  -> one (dtype, dims) or None per output; raise Unknown where the node's
               shape does not follow (dims None / rank None where unknown: never a guess)
  cost(c)   -> (flops, macs), None for a figure that does not follow (not counted)
A node that calls a function of the model (TensorFlow's PartitionedCall) has the drivers
descend into it: c.call(name) in a shape rule gives the function's outputs with the
node's inputs as its arguments, c.call() in a cost rule the function's cost at this call
site (wetron.shapes, wetron.cost; bounded there).
A rule without `shape` leaves the node's outputs as the file declares them; one without
`cost` leaves the node "not counted", listed as such in the cost summary.
  box_lines(node) -> the short lines its box shows under the op's name (ops/box.py):
               by default its subgraphs by name, else its first small attributes (those
               named in `box_quiet` left out); Window's for sliding-window ops.
Attributes are read with c.attr(name, default): an attribute whose type is not the one
the rule's `attr_types` gives makes the node unknown / not counted (a broken or hostile
file), never a crash.
"""
import math

from ..symbolic import MAX_DIM, dim_div, dim_prod
from . import box

MAX_FOLD = 1024        # elements of a tensor computed with as a value
MAX_READ = 1024        # elements of an initializer read from the file to fold it
MAX_RANK = 64          # ranks above this are not built (hostile attributes)
BIG = 2 ** 31 - 1      # Slice bounds at or beyond this mean "to the end"


class Rule:
    ops = ()                       # op types of `domain` this rule is for
    domain = "ai.onnx"
    since = 1                      # the opset version it holds from
    attr_types = {}                # attribute name -> model.Attribute.type the rule reads
                                   # (a domain's rules declare theirs: ops/onnx ATTR_TYPES)
    shape = None                   # (methods; None: no shape rule / no cost rule)
    cost = None
    box_quiet = frozenset()        # attributes the default box lines never show

    def box_lines(self, node):
        return box.default_lines(node, self.box_quiet)

    def __repr__(self):
        return f"<{type(self).__name__} {self.domain}:{','.join(self.ops)} since {self.since}>"


class Window:
    """A sliding-window op (convolution, pooling) for its box: kernel and stride, groups,
    dilation (ops/box.py window_lines), from the attributes these name in the rule's
    framework (None: it has none); the default lines where the node has none of them.
    Mixed into a Rule subclass before it."""
    kernel_attr = stride_attr = group_attr = dilation_attr = None

    def box_lines(self, node):
        a = box.Attrs(node, self.attr_types)
        return (box.window_lines(a, self.kernel_attr, self.stride_attr, self.group_attr,
                                 self.dilation_attr) or super().box_lines(node))


class WrongType(Exception):
    """An attribute of another type than its rule reads: the node is not counted."""


class CostContext:
    """One node as a cost rule sees it: ins/outs are lists of evaluated dims (lists of
    ints, None where a dim or the shape is unknown)."""
    __slots__ = ("node", "ins", "outs", "rule", "index", "calls")

    def __init__(self, calls=None):
        self.node = self.ins = self.outs = self.rule = self.index = None
        self.calls = calls   # the driver's called functions (wetron.cost), or None

    def call(self):
        """(flops, macs) of the function the node calls, at this call site: None where
        not counted (unknown function, a figure not known inside it)."""
        if self.calls is None:
            return None, None
        return self.calls.cost(self.index)

    def attr(self, name, default=None):
        for a in self.node.attributes:
            if a.name == name:
                if a.ref is not None:
                    return default
                if a.type != self.rule.attr_types.get(name, a.type):
                    raise WrongType(name)
                return a.value
        return default

    def has(self, i):
        return i < len(self.node.inputs) and self.node.inputs[i] != ""


MAX_FIGURE = 2 ** 63 - 1   # a count past this is not counted: no real tensor has 2**63 elements


def prod(dims):
    """Elements of evaluated dims, None if unknown (or past MAX_FIGURE). Dims may be
    symbolic.Poly (cost.graph_cost's symbolic pass): their product is one, bounded there."""
    if dims is None or None in dims:
        return None
    n = math.prod(dims)
    return n if type(n) is not int or n <= MAX_FIGURE else None



class Unknown(Exception):
    """The node depends on something not known here (e.g. a function attribute)."""


NUMERIC_BITS = {"float32", "float64", "float16", "bfloat16", "int8", "int16", "int32",
                 "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
FLOATS = {"float32", "float64", "float16", "bfloat16"}


class ShapeContext:
    __slots__ = ("node", "ins", "values", "lazy", "out_values", "rule", "index", "calls")

    def __init__(self, values, inits, calls=None):
        self.values = values
        self.lazy = dict(inits)   # value name -> Tensor, read when first asked for
        self.node = self.ins = self.out_values = self.index = None
        self.calls = calls        # the driver's functions (wetron.shapes), or None

    def call(self, name):
        """(dtype, dims) of each output of function `name` called with the node's inputs
        as its arguments; raises Unknown when not known (no such function, too deep)."""
        if self.calls is None or type(name) is not str:
            raise Unknown("call")
        return self.calls.infer(self.index, name, self.ins)

    def attr(self, name, default=None):
        for a in self.node.attributes:
            if a.name == name:
                if a.ref is not None or a.type != self.rule.attr_types.get(name, a.type):
                    raise Unknown(name)   # a function's attribute, or the wrong type
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
                v = read_small(t)
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


def read_small(t):
    if t.error or t.sparse is not None or t.decoder is None or t.dtype not in NUMERIC_BITS:
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


def axis(a, rank):
    if type(a) is not int or rank is None:
        raise Unknown("axis")
    if a < 0:
        a += rank
    if not 0 <= a < rank:
        raise ValueError(f"axis {a} out of range for rank {rank}")
    return a


def reshape_dims(x, target, zero_copies):
    """The dims of reshaping dims `x` (None: unknown) to the ints `target`: one -1 takes
    what the others leave (None when that is not known), a 0 copies x's dim there when
    `zero_copies` (ONNX without allowzero) and is a size otherwise (TensorFlow, ONNX's
    allowzero). ValueError for two -1s or another negative size: a malformed target."""
    out, infer_at = [], -1
    for i, t in enumerate(target):
        if type(t) is not int:
            out.append(t)
        elif t == 0 and zero_copies:
            out.append(x[i] if x is not None and i < len(x) else None)
        elif t == -1:
            if infer_at >= 0:
                raise ValueError("two -1 in a Reshape target")
            infer_at = i
            out.append(None)
        elif t < 0:
            raise ValueError("negative Reshape target")
        else:
            out.append(t)
    if infer_at >= 0 and x is not None:
        rest, total = dim_prod(out[:infer_at] + out[infer_at + 1:]), dim_prod(x)
        out[infer_at] = None if not rest or total is None else dim_div(total, rest)
    return out


def flag(c, name, default):
    """A boolean attribute stored as the strings "true"/"false" (TensorFlow's and Keras'
    documents); Unknown when it is anything else."""
    v = c.attr(name, "true" if default else "false")
    if v not in ("true", "false"):
        raise Unknown(name)
    return v == "true"
