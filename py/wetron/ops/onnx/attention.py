"""ONNX's Attention (opset 23): Q/K/V as [B, heads, seq, head] or [B, seq, hidden]
(with q_num_heads / kv_num_heads), an optional past key/value; outputs Y, present key,
present value, the scores (qk_matmul_output).

Cost: MACs B * heads * q_seq * kv_seq * (head_k + head_v) (scores and context);
FLOPs 2 * MACs + the softmax (5 per score). Attention written out as MatMul ->
Softmax -> MatMul (torch exports) is counted op by op."""
from ...symbolic import dim_add, dim_div, dim_mul
from . import Op, register

SOFTMAX_FLOPS = 5   # as normalization.py's Softmax


@register
class Attention(Op):
    ops = ("Attention",)

    def shape(self, c):
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

    def cost(self, c):
        ins = c.ins
        q, k, v = (ins + [None] * 3)[:3]
        if q is None or k is None or v is None or None in q + k + v or len(q) != len(k):
            return None, None
        past = ins[4] if len(ins) > 4 and c.has(4) else None
        if len(q) == 4:
            b, heads, q_seq, hk = q
            kv_seq, hv = k[2], v[3]
        elif len(q) == 3:
            heads, kv_heads = c.attr("q_num_heads"), c.attr("kv_num_heads")
            if not heads or not kv_heads:
                return None, None
            b, q_seq, kv_seq = q[0], q[1], k[1]
            hk, hv = k[2] // kv_heads, v[2] // kv_heads
        else:
            return None, None
        if past is not None:
            if None in past or len(past) != 4:
                return None, None
            kv_seq += past[2]
        scores = b * heads * q_seq * kv_seq
        macs = scores * (hk + hv)
        return 2 * macs + SOFTMAX_FLOPS * scores, macs
