"""The op registry: everything Wetron knows about an operator, in one place.

Rules are keyed by (domain, op type, since-version), as ONNX's own operator sets are.
A rule (ops.base.Rule) holds an op family's shape rule and cost rule side by side;
`lookup(domain, op, version)` gives the rule in force for a node of that opset version
(the newest whose `since` is at most it; the newest of all when the version is not
known). Domains are the real ones each format names (docs/graph-schema.md, "domain"):
"ai.onnx" (a node's "" means it), "com.microsoft", "tflite", "tf", "keras", "aten", ...
A rule of one domain never applies to another's ops: where two frameworks mean exactly
the same thing, the other framework's module registers the family for its own op names
(say so in its docstring), with its own attribute names and layouts.

A rule also gives the short lines its op's box shows (Rule.box_lines, ops/box.py):
`box_lines(node, version)` asks the node's rule, else the rule its domain registered
for ops without one of their own (`register_domain`: its family base, which knows the
framework's attribute names), else the default of any op.

Families live in small modules beside this one (ops/onnx/*.py for ONNX's operators, one
module per other framework); they are imported on the first lookup, so a parser that
never asks about ops (weights-only files) does not pay for them.
"""
import importlib

from .base import Rule

ONNX = "ai.onnx"

# The modules that register rules, imported on the first lookup (in this order).
FAMILIES = (
    "wetron.ops.onnx.elementwise", "wetron.ops.onnx.normalization", "wetron.ops.onnx.reduce",
    "wetron.ops.onnx.conv", "wetron.ops.onnx.matmul", "wetron.ops.onnx.pool",
    "wetron.ops.onnx.movement", "wetron.ops.onnx.constant", "wetron.ops.onnx.generator",
    "wetron.ops.onnx.quantize", "wetron.ops.onnx.resize", "wetron.ops.onnx.rnn",
    "wetron.ops.onnx.attention", "wetron.ops.onnx.loss", "wetron.ops.onnx.detection",
    "wetron.ops.onnx.control",
    "wetron.ops.tf", "wetron.ops.keras",
    "wetron.ops.tflite",
    "wetron.ops.coreml",
    "wetron.ops.caffe",
    "wetron.ops.mxnet",
    "wetron.ops.openvino",
    "wetron.ops.microsoft",
    "wetron.ops.paddle",
    "wetron.ops.darknet",
    "wetron.ops.ncnn",
    "wetron.ops.pnnx",
    "wetron.ops.aten",
    "wetron.ops.xgboost", "wetron.ops.lightgbm", "wetron.ops.sklearn",
)

_rules = {}      # (domain, op) -> [(since, rule)], since ascending
_domain_rules = {}   # domain -> the rule its ops without one of their own are shown by
_loaded = False


def domain_of(domain):
    """A node's domain as the registry keys it: ONNX's default domain is "" or ai.onnx."""
    return ONNX if domain == "" else domain


def opset_versions(imports):
    """domain -> opset version, as the drivers (shapes.infer, cost.graph_cost) take it,
    of a model's or function's imports [(domain, version)] ("" and "ai.onnx" both mean
    ONNX's default domain; a node's domain is looked up as written)."""
    out = {}
    for domain, version in imports or ():
        if type(version) is int and isinstance(domain, str):
            if domain in ("", ONNX):
                out[""] = out[ONNX] = version
            else:
                out[domain] = version
    return out


def register(rule):
    """Add a Rule instance for each of its ops; returns it (usable as a decorator on a
    Rule subclass, which is then instantiated)."""
    if isinstance(rule, type):
        rule = rule()
    for op in rule.ops:
        entries = _rules.setdefault((rule.domain, op), [])
        if any(since == rule.since for since, _ in entries):
            raise ValueError(f"{rule.domain}:{op} since {rule.since} registered twice")
        entries.append((rule.since, rule))
        entries.sort(key=lambda e: e[0])
    return rule


def register_domain(rule):
    """Make a Rule (subclass) the one whose box_lines give the box of `rule.domain`'s ops
    that have no rule of their own; returns it (usable as a decorator)."""
    _domain_rules[rule.domain] = rule() if isinstance(rule, type) else rule
    return rule


def _load():
    global _loaded
    if not _loaded:
        _loaded = True
        for name in FAMILIES:
            importlib.import_module(name)


def lookup(domain, op, version=None):
    """The rule for op `op` of `domain` at opset `version` (None: the newest), or None."""
    if not _loaded:
        _load()
    entries = _rules.get((domain_of(domain), op))
    if not entries:
        return None
    if version is None:
        return entries[-1][1]
    found = None
    for since, rule in entries:
        if since > version:
            break
        found = rule
    return found


def all_rules():
    """(domain, op, since, rule) of every registered rule."""
    _load()
    for (domain, op), entries in sorted(_rules.items()):
        for since, rule in entries:
            yield domain, op, since, rule


_ANY = Rule()   # what any op's box shows (its subgraphs, else its first small attributes)


def box_lines(node, version=None):
    """The lines under the op's name on node's box (a list of short strings, maybe
    empty): its rule's at opset `version`, else its domain's, else any op's default."""
    rule = lookup(node.domain, node.op, version) or _domain_rules.get(domain_of(node.domain))
    return (rule or _ANY).box_lines(node)
