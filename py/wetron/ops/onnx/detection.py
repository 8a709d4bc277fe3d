"""NonMaxSuppression: [selected boxes, 3] int64, the count known only at run time.
No cost rule: its work depends on the boxes' values."""
from . import Op, register


@register
class NonMaxSuppression(Op):
    ops = ("NonMaxSuppression",)

    def shape(self, c):
        return [("int64", (None, 3))]
