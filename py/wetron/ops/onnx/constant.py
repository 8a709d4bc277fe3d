"""Constant and ConstantOfShape: typed from their attribute; small ones folded.
Cost 0. (shapes.infer types the common Constant form, one `value` tensor, itself.)"""
import json
import math

from .. import box
from ..base import MAX_FOLD, MAX_RANK, Unknown, read_small
from . import Movement, register, text


@register
class Constant(Movement):
    """value (1), sparse_value (11), value_int/ints/float/floats/string/strings (12)."""
    ops = ("Constant",)

    def box_lines(self, node):
        """Its value: a tensor's dtype and dims ("float32 ⟨1×3⟩"), else the number,
        string or list of its attribute ("value_ints [0,1]")."""
        a = node.attributes[0] if node.attributes else None
        if a is None or a.ref is not None or a.type != self.attr_types.get(a.name, a.type):
            return []
        v = a.value
        if a.type in ("tensor", "sparse_tensor"):
            dims = "×".join(str(d) for d in v.dims[:box.MAX_LIST]) if v.dims else "scalar"
            sparse = "sparse " if a.type == "sparse_tensor" else ""
            return [box.line(f"{sparse}{v.dtype} ⟨{dims}⟩")]
        if isinstance(v, list):
            shown = v[:box.MAX_LINE]
            items = (json.dumps(shown, ensure_ascii=False, separators=(",", ":"))[1:-1]
                     if a.type == "strings" else box.joined(shown, ",", box.MAX_LINE))
            return [box.line(f"{a.name} [{items}{'' if len(v) == len(shown) else ',…'}]")]
        if type(v) in (int, float):
            return [box.line(f"{a.name} {box.js_number(v)}")]
        if isinstance(v, (str, bytes)):
            return [box.line(f"{a.name} {json.dumps(text(v)[:box.MAX_LINE], ensure_ascii=False)}")]
        return []

    def shape(self, c):
        n = c.node
        for a in n.attributes:
            if a.ref is not None or a.type != self.attr_types.get(a.name, a.type):
                raise Unknown(a.name)
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


@register
class ConstantOfShape(Movement):
    ops = ("ConstantOfShape",)

    def shape(self, c):
        shape = c.ints(0)
        dtype, fill = "float32", 0.0
        t = c.attr("value")
        if t is not None:
            dtype = t.dtype
            v = read_small(t)
            fill = v[1][0] if v and v[1] else None
        if shape is None:
            s = c.dims(0)
            return [(dtype, None if not s or type(s[0]) is not int or s[0] > MAX_RANK
                     else (None,) * s[0])]
        out = tuple(shape)
        if all(type(d) is int for d in out) and math.prod(out) <= MAX_FOLD:
            c.fold(0, out, [fill] * math.prod(out))
        return [(dtype, out)]
