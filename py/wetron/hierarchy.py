"""Module hierarchy of a graph, from the model's own names.

Exporters write the module path into node names: torch gives
"/encoder/layer.3/attention/self/MatMul", TensorFlow "model/dense/MatMul". The path
without its last part is the node's module. Modules holding a single node are
dissolved (the node says it all), and sibling modules that differ only by a trailing
number and hold the same ops ("layer.0" … "layer.11") are marked as repeats.
Constants and identities that the exporter hoisted out of the module using them (torch
names them "Constant_12", "Identity_353": no module) go back into that module.
No recursion: graphs can be very deep.
"""
import re

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
MAX_PATH_PARTS = 64
_IGNORED = {"Constant", "Identity"}


def derive(graph):
    """(groups, node_group) for a Graph: groups are dicts {name, path, parent, nodes,
    repeat?}; node_group[i] is the group index of node i, or -1 for the top level."""
    groups = []           # [path, parent, direct node count, depth]
    by_prefix = {"": -1}  # a name up to and with its last "/" -> its group
    children = {}         # (parent group, name) -> group
    node_raw = []         # per node, its group before dissolving (-1: top level)
    for node in graph.nodes:
        name = node.name
        prefix = name[:name.rfind("/") + 1]
        g = by_prefix.get(prefix)
        if g is None:
            g = _prefix_group(prefix, by_prefix, children, groups)
        node_raw.append(g)
        if g >= 0:
            groups[g][2] += 1
    # Total node count per group, children before parents (paths sorted longest first).
    total = [g[2] for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -groups[i][3])
    for i in order:
        parent = groups[i][1]
        if parent >= 0:
            total[parent] += total[i]
    # Dissolve single-node groups: their node goes to the nearest kept ancestor.
    keep = [total[i] > 1 for i in range(len(groups))]
    new_index, kept = {}, []
    resolved = []         # per group: the kept group its nodes belong to, as a new index
    for i, g in enumerate(groups):  # parents come before children here
        parent = g[1]
        if keep[i]:
            new_index[i] = len(kept)
            kept.append({"name": g[0][g[0].rfind("/") + 1:], "path": g[0],
                         "parent": resolved[parent] if parent >= 0 else -1, "nodes": total[i]})
            resolved.append(new_index[i])
        else:
            resolved.append(resolved[parent] if parent >= 0 else -1)
    node_group = [resolved[g] if g >= 0 else -1 for g in node_raw]
    _adopt_hoisted(graph, kept, node_group)
    _mark_repeats(graph, kept, node_group)
    return kept, node_group


def _prefix_group(prefix, by_prefix, children, groups):
    """The group of a name prefix ("/encoder/layer.3/" -> encoder › layer.3), creating it
    and its ancestors. Empty parts are skipped and paths are cut at MAX_PATH_PARTS.
    Found from the nearest known ancestor prefix: a module's many nodes and submodules
    share its prefix, so each path is split once."""
    pending = []
    p = prefix
    while p not in by_prefix:
        pending.append(p)
        p = p[:p.rfind("/", 0, len(p) - 1) + 1]
    g = by_prefix[p]
    for q in reversed(pending):
        part = q[len(p):-1]
        depth = groups[g][3] if g >= 0 else 0
        if part and depth < MAX_PATH_PARTS:   # empty parts ("//") and parts past the cap add nothing
            child = children.get((g, part))
            if child is None:
                child = children[(g, part)] = len(groups)
                groups.append([groups[g][0] + "/" + part if g >= 0 else part, g, 0, depth + 1])
            g = child
        by_prefix[q] = g
        p = q
    return g


def _adopt_hoisted(graph, groups, node_group):
    # A top-level Constant/Identity goes to the innermost module holding every consumer
    # of its outputs (none of them a graph output). Nodes are visited last to first, so
    # a chain (Constant -> Identity -> MatMul) follows its consumer in.
    if not groups:
        return
    parents = [g["parent"] for g in groups]
    depth = []
    for p in parents:   # parents precede children
        depth.append(depth[p] + 1 if p >= 0 else 0)
    consumers = {}
    for i, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name:
                consumers.setdefault(name, []).append(i)
    outputs = set(graph.outputs)
    for i in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[i]
        if node_group[i] >= 0 or node.op not in _IGNORED:
            continue
        common = None   # the innermost module holding every consumer seen so far
        for name in node.outputs:
            if name in outputs:
                common = -1
                break
            for c in consumers.get(name, ()):
                g = node_group[c]
                if common is None:
                    common = g
                    continue
                while g != common and g >= 0 and common >= 0:   # lowest common ancestor
                    if depth[g] >= depth[common]:
                        g = parents[g]
                    else:
                        common = parents[common]
                common = g if g == common else -1
                if common < 0:
                    break
            if common is not None and common < 0:
                break
        if common is not None and common >= 0:
            node_group[i] = common
            while common >= 0:
                groups[common]["nodes"] += 1
                common = parents[common]


def _mark_repeats(graph, groups, node_group):
    # Op signature of each group: the op types of its nodes, in node order. Constants
    # are left out: exporters share equal constants, so the first block holds them.
    ops = [[] for _ in groups]
    parents = [g["parent"] for g in groups]
    for node, g in zip(graph.nodes, node_group):
        if node.op in _IGNORED:
            continue
        while g >= 0:
            ops[g].append(node.op)
            g = parents[g]
    families = {}
    for i, g in enumerate(groups):
        m = _NUMBERED.match(g["name"])
        if m:
            families.setdefault((g["parent"], m.group(1)), []).append((int(m.group(2)), i))
    for (parent, stem), members in families.items():
        if len(members) < 2:
            continue
        by_signature = {}
        for number, i in members:
            by_signature.setdefault(tuple(ops[i]), []).append((number, i))
        for same in by_signature.values():
            if len(same) < 2:
                continue
            for number, i in same:
                groups[i]["repeat"] = {"of": stem + "#", "index": number, "count": len(same)}
