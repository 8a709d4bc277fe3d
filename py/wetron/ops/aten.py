"""PyTorch's ATen operators (domain "aten"): cost rules as torch computes them.

Nodes come from formats/executorch.py (an ExecuTorch program's kernel calls: op
"convolution", overload "out") and formats/pytorch.py (a torch.export graph: op
"linear", overload "default"). Tensor arguments are the node's inputs in the schema's
order (an omitted optional tensor is ""); the other arguments are attributes named as
the schema names them (booleans as ints). Shapes are not inferred here: both formats
state every tensor's sizes.

ARGUMENTS gives, for the ExecuTorch kernels of these rules (and a few common others),
the names of their arguments in order, as torch's operator registry declares them
(native_functions.yaml; tests check them against torch.ops.aten.<op>.<overload>.
_schema): an ExecuTorch program stores arguments by position only.

Cost (cost.py's conventions; MACs as torch.utils.flop_counter counts FLOPs / 2):
- convolution(input, weight, bias, stride, padding, dilation, transposed,
  output_padding, groups): MACs out_elems * prod(weight[1:]) (weight [C_out, C_in/groups,
  k...]); transposed: in_elems * prod(weight[1:]) (weight [C_in, C_out/groups, k...]).
  FLOPs 2 * MACs, plus out_elems when a bias with elements is given.
- linear(input, weight, bias): MACs out_elems * weight[-1]; FLOPs as convolution.
- mm(self, mat2), bmm(self, mat2): MACs out_elems * self[-1]; FLOPs 2 * MACs.
- addmm(self, mat1, mat2, beta, alpha): MACs out_elems * mat1[-1]; FLOPs 2 * MACs plus
  out_elems (adding self).
"""
from . import register
from .base import Rule, prod

DOMAIN = "aten"

# "<op>.<overload>" ("default" where the file gives none) -> its arguments' names in
# order (out variants: out last).
ARGUMENTS = {
    "convolution.out": "input weight bias stride padding dilation transposed output_padding "
                       "groups out",
    "addmm.out": "self mat1 mat2 beta alpha out",
    "mm.out": "self mat2 out",
    "bmm.out": "self mat2 out",
    "linear.out": "input weight bias out",
    "_native_batch_norm_legit_no_training.out": "input weight bias running_mean running_var "
                                                "momentum eps out0 out1 out2",
    "native_layer_norm.out": "input normalized_shape weight bias eps out0 out1 out2",
    "max_pool2d_with_indices.out": "self kernel_size stride padding dilation ceil_mode out "
                                   "indices",
    "avg_pool2d.out": "self kernel_size stride padding ceil_mode count_include_pad "
                      "divisor_override out",
    "mean.out": "self dim keepdim dtype out",
    "_softmax.out": "self dim half_to_float out",
    "_log_softmax.out": "self dim half_to_float out",
    "permute_copy.out": "self dims out",
    "view_copy.out": "self size out",
    "expand_copy.out": "self size implicit out",
    "cat.out": "tensors dim out",
    "add.out": "self other alpha out",
    "sub.out": "self other alpha out",
    "mul.out": "self other out",
    "gelu.out": "self approximate out",
    "copy_.default": "self src non_blocking",
}
ARGUMENTS = {k: tuple(v.split()) for k, v in ARGUMENTS.items()}

ATTR_TYPES = {"transposed": "int"}


class AtenRule(Rule):
    domain = DOMAIN
    attr_types = ATTR_TYPES


def _bias(c, i):
    """Whether input i is a bias with elements (ExecuTorch passes an omitted one as an
    empty tensor)."""
    if not c.has(i):
        return False
    dims = c.ins[i] if i < len(c.ins) else None
    return dims is not None and prod(dims) != 0


@register
class Convolution(AtenRule):
    ops = ("convolution",)

    def cost(self, c):
        x = c.ins[0] if c.ins else None
        w = c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(c.outs[0]) if c.outs else None
        transposed = c.attr("transposed")
        per = prod(w[1:]) if w else None
        n = prod(x) if transposed else out_n
        if transposed is None or per is None or n is None or out_n is None:
            return None, None
        macs = n * per
        return 2 * macs + (out_n if _bias(c, 2) else 0), macs


@register
class Linear(AtenRule):
    ops = ("linear",)

    def cost(self, c):
        w = c.ins[1] if len(c.ins) > 1 else None
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not w or w[-1] is None:
            return None, None
        macs = out_n * w[-1]
        return 2 * macs + (out_n if _bias(c, 2) else 0), macs


class _MatMul(AtenRule):
    a = 0          # the input whose last dim is the reduced one
    adds = False   # addmm adds `self` to the product

    def cost(self, c):
        a = c.ins[self.a] if len(c.ins) > self.a else None
        out_n = prod(c.outs[0]) if c.outs else None
        if out_n is None or not a or a[-1] is None:
            return None, None
        macs = out_n * a[-1]
        return 2 * macs + (out_n if self.adds else 0), macs


register(type("Mm", (_MatMul,), {"ops": ("mm", "bmm")}))
register(type("Addmm", (_MatMul,), {"ops": ("addmm",), "a": 1, "adds": True}))
