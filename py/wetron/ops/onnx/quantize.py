"""Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear. Element-wise
cost: 2 FLOPs per element (scale and shift), 3 for the dynamic form (its min/max too)."""
from ...dtypes import dtype_name
from . import register
from .elementwise import Elementwise


@register
class QuantizeLinear(Elementwise):
    """y of the zero point's dtype (uint8 without one), or output_dtype (opset 21)."""
    ops = ("QuantizeLinear",)
    flops = 2

    def shape(self, c):
        dtype = c.dtype(2) if c.has(2) else "uint8"
        od = c.attr("output_dtype", 0)
        if od:
            dtype = dtype_name(od)
        return [(dtype, c.dims(0))]


@register
class DequantizeLinear(Elementwise):
    """y of the scale's dtype, or output_dtype (opset 23)."""
    ops = ("DequantizeLinear",)
    flops = 2

    def shape(self, c):
        od = c.attr("output_dtype", 0)
        return [(dtype_name(od) if od else (c.dtype(1) or "float32"), c.dims(0))]


@register
class DynamicQuantizeLinear(Elementwise):
    ops = ("DynamicQuantizeLinear",)
    flops = 3

    def shape(self, c):
        return [("uint8", c.dims(0)), ("float32", ()), ("uint8", ())]
