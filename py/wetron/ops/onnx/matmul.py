"""Matrix products: MatMul, MatMulInteger, QLinearMatMul, Gemm, Einsum; Det.

Cost: MatMul out_elems * K MACs; Gemm M * N * K (+ M * N FLOPs with C); Einsum with
n >= 2 operands the product of every index's extent * (n - 1) MACs (one operand: a
sum or a transpose, in_elems FLOPs); FLOPs 2 * MACs."""
import math

from ...symbolic import _bdim, broadcast
from .. import box
from ..base import prod
from . import Op, register


def matmul_dims(a, b):
    """numpy.matmul's output shape."""
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


class MatMul(Op):
    ops = ("MatMul",)
    a_at, b_at = 0, 1
    dtype = None

    def out_dtype(self, c):
        return self.dtype or c.dtype(0)

    def shape(self, c):
        return [(self.out_dtype(c), matmul_dims(c.dims(self.a_at), c.dims(self.b_at)))]

    def cost(self, c):
        a = c.ins[0]
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not a or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs, macs


register(MatMul)
register(type("MatMulInteger", (MatMul,), {"ops": ("MatMulInteger",), "dtype": "int32"}))


@register
class QLinearMatMul(MatMul):
    """a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point."""
    ops = ("QLinearMatMul",)
    b_at = 3

    def out_dtype(self, c):
        return c.dtype(7)


@register
class Gemm(Op):
    ops = ("Gemm",)

    def box_lines(self, node):
        """"transA, transB": the operands it transposes."""
        a = box.Attrs(node, self.attr_types)
        flags = [name for name in ("transA", "transB") if a.int(name)]
        return [", ".join(flags)] if flags else []

    def shape(self, c):
        a, b = c.dims(0), c.dims(1)
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return [(c.dtype(0), None if a is None or b is None else (None, None))]
        m = a[1] if c.attr("transA", 0) else a[0]
        n = b[0] if c.attr("transB", 0) else b[1]
        return [(c.dtype(0), (m, n))]

    def cost(self, c):
        a = c.ins[0]
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not a or len(a) != 2 or None in a:
            return None, None
        macs = out_n * (a[0] if c.attr("transA", 0) else a[1])
        return 2 * macs + (out_n if c.has(2) else 0), macs


@register
class Einsum(Op):
    ops = ("Einsum",)

    def shape(self, c):
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
            out_labels = ("." if "..." in lhs else "") + \
                "".join(sorted(ch for ch, k in counts.items() if k == 1))
        out = []
        for ch in out_labels:
            if ch == ".":
                out += ell
            elif ch in letters:
                out.append(letters[ch])
            else:
                raise ValueError("Einsum output label not in the inputs")
        return [(c.dtype(0), tuple(out))]

    def cost(self, c):
        ins = c.ins
        eq = c.attr("equation", "").replace(" ", "")
        terms = eq.partition("->")[0].split(",")
        if len(terms) == 1:
            x_n = prod(ins[0]) if ins else None
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
                    extent[ch] = max(extent.get(ch, 1), x[pos]) if pos < len(x) \
                        else extent.get(ch, 1)
                    pos += 1
        macs = ell * math.prod(extent.values()) * max(len(terms) - 1, 1)
        return 2 * macs, macs


@register
class Det(Op):
    """No cost rule: the work of a determinant depends on the runtime's method."""
    ops = ("Det",)

    def shape(self, c):
        x = c.dims(0)
        return [(c.dtype(0), None if x is None or len(x) < 2 else x[:-2])]
