"""What a node's box shows under its op's name: a few short lines of what the file
states about the node (docs/graph-schema.md, a node's "box"). The page draws them as
they are, after which it adds one line per weight; everything is in its sidebar.

Each rule gives its op's lines (Rule.box_lines, beside its shape and cost rules), each
from its own framework's attribute names; this module holds what they share: reading
an attribute of the type the rule expects, the number and list formats, the sliding
window lines (kernel, stride, groups, dilation), and the default for any op, its
subgraphs by name else its first two small attributes.

Lines are bounded here (MAX_LINE characters; lists shown of at most MAX_LIST items),
so that no attribute of a hostile file makes the document big; the page cuts them
shorter to draw them.
"""
import math

MAX_LINE = 64        # characters of a line, a bound of the document (the page cuts at 32)
MAX_LIST = 16        # items of a list shown in a window line
SMALL_LIST = 6       # items of a list attribute the default shows
SMALL_LINES = 2      # attributes the default shows
GRAPH_LINES = 3      # subgraphs the default names


def line(text):
    """A line as the document carries it: at most MAX_LINE characters."""
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…"


def js_number(x):
    """x as JavaScript's Number#toString writes it (1, 0.5, 0.00001, 1e-7, 1e+21), so a
    number reads on the box as the page writes numbers everywhere else."""
    if type(x) is int:
        return str(x)
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac.rstrip("0")).lstrip("0") if whole == "0" else whole + frac
    digits = digits.rstrip("0") or "0"
    # value = 0.digits * 10**n
    if whole == "0":
        n = -(len(frac) - len(frac.lstrip("0")))
    else:
        n = len(whole)
    n += int(exp or 0)
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    return (sign + digits[0] + ("." + digits[1:] if k > 1 else "") +
            ("e+" if e >= 0 else "e-") + str(abs(e)))


def short_number(x):
    """An int as it is, a float to 4 significant digits (0.0001, 1.702)."""
    if type(x) is int:
        return str(x)
    if x != x or math.isinf(x) or x.is_integer():
        return js_number(x)
    return js_number(float(f"{x:.4g}"))


def joined(values, sep, limit=MAX_LIST):
    """Items joined by sep, the first `limit` of them (then "…")."""
    shown = [js_number(v) if type(v) in (int, float) else str(v) for v in values[:limit]]
    return sep.join(shown) + (sep + "…" if len(values) > limit else "")


def per_axis(values):
    """"2" when every axis has the same value, "1×2" otherwise; None when all are 1
    (or there are none)."""
    if not values or all(v == 1 for v in values):
        return None
    return js_number(values[0]) if all(v == values[0] for v in values) else joined(values, "×")


class Attrs:
    """A node's attributes as a rule reads them for its box: a value whose type is not
    the one the rule's attr_types gives (a broken or hostile file), or a reference to
    a function's attribute, reads as absent."""
    __slots__ = ("node", "by_name", "types")

    def __init__(self, node, types):
        self.node = node
        self.types = types
        self.by_name = {}
        for a in node.attributes:
            self.by_name.setdefault(a.name, a)

    def attr(self, name, default=None):
        a = self.by_name.get(name)
        if a is None or a.ref is not None or a.type != self.types.get(name, a.type):
            return default
        return a.value

    def ints(self, name):
        """An ints attribute (or a single int, as some formats write one axis) as a list
        of ints, else None."""
        v = self.attr(name)
        if type(v) is int:
            return [v]
        if isinstance(v, list) and all(type(x) is int for x in v):
            return v
        return None

    def int(self, name):
        v = self.attr(name)
        return v if type(v) is int else None


def window(kernel=None, strides=None, groups=None, dilations=None, first=()):
    """[kernel and stride, groups, dilation] of a sliding-window op: "kernel 3×3,
    stride 2", "groups 32", "dilation 2×2"; a stride or dilation of 1 on every axis and
    a single group are left out. Values as the file states them (lists of ints, None
    where it does not); `first`: parts put before the kernel on its line ("MAX")."""
    lines, parts = [], list(first)
    if kernel is not None:
        parts.append("kernel " + joined(kernel, "×"))
    stride = per_axis(strides)
    if stride:
        parts.append("stride " + stride)
    if parts:
        lines.append(line(", ".join(parts)))
    if groups is not None and groups != 1:
        lines.append(f"groups {groups}")
    if dilations and not all(x == 1 for x in dilations):
        lines.append(line("dilation " + joined(dilations, "×")))
    return lines


def window_lines(a, kernel=None, strides=None, group=None, dilations=None):
    """window() of the node's attributes of those names (ints, or an int for all axes;
    None: the framework has none)."""
    return window(a.ints(kernel) if kernel else None, a.ints(strides) if strides else None,
                  a.int(group) if group else None, a.ints(dilations) if dilations else None)


def graph_lines(node):
    """The subgraphs a node holds, by name ("body ▸ loop_body"): they open from the
    sidebar."""
    lines = []
    for a in node.attributes:
        if a.type != "graph" or a.ref is not None or len(lines) >= GRAPH_LINES:
            continue
        g = a.value
        name = getattr(g, "name", "") or f"graph {getattr(g, 'index', '?')}"
        lines.append(line(f"{a.name} ▸ {name}"))
    return lines


def small_lines(node, quiet=()):
    """The first SMALL_LINES attributes that read well on a box: numbers, short strings,
    lists of at most SMALL_LIST ints; those in `quiet` (a framework's plumbing) left out."""
    lines = []
    for a in node.attributes:
        if len(lines) >= SMALL_LINES:
            break
        if a.ref is not None or a.name in quiet:
            continue
        v, t = a.value, a.type
        if t in ("int", "float") and type(v) in (int, float):
            lines.append(line(f"{a.name} {short_number(v)}"))
        elif t == "string" and isinstance(v, (str, bytes)):
            text = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
            lines.append(line(f"{a.name} {text[:MAX_LINE]}"))
        elif t == "ints" and isinstance(v, list) and len(v) <= SMALL_LIST:
            lines.append(line(f"{a.name} {joined(v, ',')}"))
    return lines


def default_lines(node, quiet=()):
    """Any op's lines where its rule says nothing more: its subgraphs by name, else its
    first small attributes."""
    return graph_lines(node) or small_lines(node, quiet)
