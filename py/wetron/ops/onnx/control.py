"""Control flow: If, Loop; and the sequence and optional ops.

If's outputs are what both branches agree on (their declared outputs); Loop's carried
values keep their input types, its scan outputs get a leading dim of unknown length.
No cost rule for If and Loop: the cost of a subgraph is not counted in its parent's
node (the subgraph's own nodes are counted in their graph). Sequence and optional ops
only move tensors (cost 0) and are not shape-inferred (their values are not tensors)."""
from . import Movement, Op, register


@register
class If(Op):
    ops = ("If",)

    def shape(self, c):
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


@register
class Loop(Op):
    ops = ("Loop",)

    def shape(self, c):
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


@register
class SequenceOps(Movement):
    ops = tuple("""Optional OptionalGetElement OptionalHasElement SequenceConstruct SequenceAt
        SequenceEmpty SequenceInsert SequenceErase SequenceLength SplitToSequence
        ConcatFromSequence""".split())
