"""Element-wise ops: unary arithmetic and activations, binary arithmetic, comparisons
and logic, the variadic Sum/Mean/Max/Min, Where, Cast.

Cost: no MACs; FLOPs per output element, 1 for plain arithmetic, comparisons and
activations, more for the composite activations (`flops` of each class; the table of
docs/graph-schema.md). Cast, CastLike and Identity move data only.
"""
import math

from ...dtypes import dtype_name
from ...symbolic import broadcast, dim_sub
from .. import box
from ..base import FLOATS, NUMERIC_BITS, prod
from . import ATTR_TYPES, Movement, Op, register, text
from .fold import FOLD_BINARY, fold_elementwise, num


class Elementwise(Op):
    """One output of the inputs' broadcast shape: `flops` per output element."""
    flops = 1

    def cost(self, c):
        n = prod(c.outs[0]) if c.outs else None
        return (None, None) if n is None else (n * self.flops, 0)


# --- unary ------------------------------------------------------------------------

class Unary(Elementwise):
    """y = f(x): the input's type."""

    def shape(self, c):
        return [c.ins[0] if c.ins else None]


register(type("Unary1", (Unary,), {"ops": tuple("""Abs Acos Acosh Asin Asinh Atan Atanh
    BitwiseNot Cos Cosh Erf Exp Log Reciprocal Relu Sigmoid Sign Sin Sinh Sqrt Tan Tanh
    ThresholdedRelu RotaryEmbedding""".split()), "flops": 1}))
register(type("Unary2", (Unary,), {"ops": ("Clip", "Shrink", "LeakyRelu", "Softplus",
                                           "Softsign", "Swish"), "flops": 2}))
register(type("Unary3", (Unary,), {"ops": ("HardSigmoid", "Elu", "Selu", "Celu"), "flops": 3}))
register(type("Unary4", (Unary,), {"ops": ("HardSwish", "Mish"), "flops": 4}))
register(type("Unary8", (Unary,), {"ops": ("Gelu",), "flops": 8}))


@register
class Neg(Unary):
    ops = ("Neg",)

    def shape(self, c):
        fold_elementwise(c, lambda x: dim_sub(0, x) if type(x) is str
                         else (-x if num(x) else None), c.dims(0), 1)
        return [c.ins[0] if c.ins else None]


class Rounding(Unary):
    """Floor, Ceil, Round: ints and symbols are their own rounding."""
    fn = None

    def shape(self, c):
        fn = type(self).fn
        fold_elementwise(c, lambda x: fn(x) if type(x) is float and math.isfinite(x)
                         else (x if type(x) in (int, str) else None), c.dims(0), 1)
        return [c.ins[0] if c.ins else None]


register(type("Floor", (Rounding,), {"ops": ("Floor",), "fn": math.floor}))
register(type("Ceil", (Rounding,), {"ops": ("Ceil",), "fn": math.ceil}))
register(type("Round", (Rounding,), {"ops": ("Round",), "fn": round}))


@register
class IsNaN(Elementwise):
    ops = ("IsNaN", "IsInf")

    def shape(self, c):
        return [("bool", c.dims(0))]


@register
class Not(Elementwise):
    ops = ("Not",)

    def shape(self, c):
        fold_elementwise(c, lambda x: (not x) if num(x) else None, c.dims(0), 1)
        return [("bool", c.dims(0))]


@register
class Identity(Movement):
    ops = ("Identity",)

    def shape(self, c):
        v = c.value(0)
        if v is not None:
            c.fold(0, v[0], v[1])
        return [c.ins[0] if c.ins else None]


# --- binary -----------------------------------------------------------------------

class Binary(Elementwise):
    """Multidirectional (numpy) broadcasting, opset 7 on."""
    dtype = None   # the output's dtype; None: the first input's

    def shape(self, c):
        dims = broadcast([c.dims(0), c.dims(1)])
        fn = FOLD_BINARY.get(c.node.op)
        if fn is not None:
            fold_elementwise(c, fn, dims, 2)
        return [(self.dtype or c.dtype(0), dims)]


class LegacyBinary(Elementwise):
    """Before opset 7: B is broadcast onto A (attributes broadcast, axis), so the
    output has A's shape."""
    dtype = None

    def shape(self, c):
        return [(self.dtype or c.dtype(0), c.dims(0))]


_LEGACY = ("Add", "Sub", "Mul", "Div", "Pow")
_LEGACY_LOGIC = ("Equal", "Less", "Greater", "And", "Or", "Xor")
register(type("LegacyArithmetic", (LegacyBinary,), {"ops": _LEGACY}))
register(type("LegacyLogic", (LegacyBinary,), {"ops": _LEGACY_LOGIC, "dtype": "bool"}))
register(type("LegacyPRelu", (LegacyBinary,), {"ops": ("PRelu",), "flops": 2}))
register(type("Arithmetic", (Binary,), {"ops": _LEGACY, "since": 7}))
register(type("Logic", (Binary,), {"ops": _LEGACY_LOGIC, "since": 7, "dtype": "bool"}))
register(type("PRelu", (Binary,), {"ops": ("PRelu",), "since": 7, "flops": 2}))
# ops that broadcast from their first version
register(type("Bitwise", (Binary,), {"ops": ("Mod", "BitShift", "BitwiseAnd", "BitwiseOr",
                                             "BitwiseXor")}))
register(type("Ordering", (Binary,), {"ops": ("LessOrEqual", "GreaterOrEqual"),
                                      "dtype": "bool"}))


@register
class Where(Elementwise):
    ops = ("Where",)

    def shape(self, c):
        dims = broadcast([c.dims(0), c.dims(1), c.dims(2)])
        fold_elementwise(c, lambda k, x, y: None if not num(k) else (x if k else y), dims, 3)
        return [(c.dtype(1), dims)]


@register
class Variadic(Elementwise):
    """Sum, Mean, Max, Min of n inputs: n - 1 FLOPs per output element (Mean one more)."""
    ops = ("Sum", "Mean", "Max", "Min")

    def shape(self, c):
        dims = broadcast([c.dims(i) for i in range(len(c.node.inputs))])
        if c.node.op in ("Max", "Min") and len(c.node.inputs) == 2:
            fold_elementwise(c, FOLD_BINARY[c.node.op], dims, 2)
        return [(c.dtype(0), dims)]

    def cost(self, c):
        n = prod(c.outs[0]) if c.outs else None
        if n is None:
            return None, None
        return n * max(len(c.node.inputs) - 1, 1) + (n if c.node.op == "Mean" else 0), 0


# --- casts ------------------------------------------------------------------------

@register
class Cast(Movement):
    """Cast-6 on: `to` is a TensorProto.DataType code."""
    ops = ("Cast",)
    since = 6

    def target(self, c):
        return dtype_name(c.attr("to", 0))

    def box_lines(self, node):
        """"to float16": the type it casts to."""
        to = box.Attrs(node, self.attr_types).int("to")
        return [] if to is None else [f"to {dtype_name(to)}"]

    def shape(self, c):
        to = self.target(c)
        d = c.dims(0)
        if to in FLOATS:
            fn = (lambda x: float(x) if num(x) else (x if type(x) is str else None))
        elif to == "bool":
            fn = (lambda x: bool(x) if num(x) else (True if type(x) is str else None))
        elif to in NUMERIC_BITS:
            fn = (lambda x: int(x) if num(x) and math.isfinite(x)
                  else (x if type(x) is str else None))
        else:
            fn = None
        if fn is not None:
            fold_elementwise(c, fn, d, 1)
        return [(to, d)]


# Cast-1's `to` is the type's name as a string ("FLOAT", "INT64", ...).
_CAST1_NAMES = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16",
                "BOOL": "bool", "STRING": "string", "INT8": "int8", "INT16": "int16",
                "INT32": "int32", "INT64": "int64", "UINT8": "uint8", "UINT16": "uint16",
                "UINT32": "uint32", "UINT64": "uint64", "COMPLEX64": "complex64",
                "COMPLEX128": "complex128"}


@register
class Cast1(Cast):
    since = 1
    attr_types = dict(ATTR_TYPES, to="string")

    def target(self, c):
        to = c.attr("to", "")
        to = to.decode("ascii", "replace") if isinstance(to, bytes) else to
        return _CAST1_NAMES.get(to.upper())

    def box_lines(self, node):
        to = box.Attrs(node, self.attr_types).attr("to")
        if not isinstance(to, (str, bytes)):
            return []
        to = text(to)
        return [box.line(f"to {_CAST1_NAMES.get(to.upper(), to)}")]


@register
class CastLike(Movement):
    ops = ("CastLike",)

    def shape(self, c):
        return [(c.dtype(1), c.dims(0))]

