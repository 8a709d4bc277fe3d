"""Recurrent layers: RNN, GRU, LSTM (Y, Y_h and, for LSTM, Y_c).

Cost: MACs seq * batch * directions * gates * hidden * (input + hidden) (the gate
GEMMs of W and R); FLOPs 2 * MACs + seq * batch * directions * hidden * (2 * gates +
`cell`) (biases, activations and gate products)."""
from ...symbolic import dim_div
from . import Op, register, text


@register
class RNN(Op):
    ops = ("RNN",)
    gates, cell = 1, 1

    def shape(self, c):
        x, w = c.dims(0), c.dims(1)
        if x is None:
            return [None, None, None]
        layout = c.attr("layout", 0)
        seq, batch = (x[1], x[0]) if layout else (x[0], x[1])
        hidden = c.attr("hidden_size")
        nd = 2 if text(c.attr("direction", "forward")) == "bidirectional" else 1
        if hidden is None and w is not None:
            hidden = dim_div(w[1], self.gates)
        if layout:
            y, h = (batch, seq, nd, hidden), (batch, nd, hidden)
        else:
            y, h = (seq, nd, batch, hidden), (nd, batch, hidden)
        t = c.dtype(0)
        return [(t, y), (t, h), (t, h)]

    def cost(self, c):
        ins = c.ins
        x, w = ins[0], ins[1] if len(ins) > 1 else None
        if x is None or w is None or None in x or None in w or len(x) != 3 or len(w) != 3:
            return None, None
        seq, batch = (x[1], x[0]) if c.attr("layout", 0) else (x[0], x[1])
        directions, gates_hidden, inputs = w
        hidden = c.attr("hidden_size") or gates_hidden
        gates = gates_hidden // hidden if hidden else 1
        steps = seq * batch * directions
        macs = steps * gates * hidden * (inputs + hidden)
        return 2 * macs + steps * hidden * (2 * gates + self.cell), macs


register(type("GRU", (RNN,), {"ops": ("GRU",), "gates": 3, "cell": 8}))
register(type("LSTM", (RNN,), {"ops": ("LSTM",), "gates": 4, "cell": 9}))
