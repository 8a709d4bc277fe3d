"""Module hierarchy of a graph, from the model's own names.

Exporters write the module path into node names: torch gives
"/encoder/layer.3/attention/self/MatMul", TensorFlow "model/dense/MatMul". The path
without its last part is the node's module. Modules holding a single node are
dissolved (the node says it all), and sibling modules that differ only by a trailing
number and hold the same ops ("layer.0" … "layer.11") are marked as repeats.
No recursion: graphs can be very deep.
"""
import re

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
MAX_PATH_PARTS = 64
_IGNORED = {"Constant", "Identity"}


def module_path(name):
    """('encoder', 'layer.3', 'attention') for '/encoder/layer.3/attention/MatMul'."""
    if "/" not in name:
        return ()
    parts = [p for p in name.split("/")[:-1] if p]
    return tuple(parts[:MAX_PATH_PARTS])


def derive(graph):
    """(groups, node_group) for a Graph: groups are dicts {name, path, parent, nodes,
    repeat?}; node_group[i] is the group index of node i, or -1 for the top level."""
    index = {}            # path tuple -> group index
    groups = []           # [path, parent, direct node count]
    node_path = []
    for node in graph.nodes:
        path = module_path(node.name)
        node_path.append(path)
        for k in range(1, len(path) + 1):
            p = path[:k]
            if p not in index:
                index[p] = len(groups)
                groups.append([p, index.get(p[:-1], -1), 0])
        if path:
            groups[index[path]][2] += 1
    # Total node count per group, children before parents (paths sorted longest first).
    total = [g[2] for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -len(groups[i][0]))
    for i in order:
        parent = groups[i][1]
        if parent >= 0:
            total[parent] += total[i]
    # Dissolve single-node groups: their node goes to the nearest kept ancestor.
    keep = [total[i] > 1 for i in range(len(groups))]
    new_index, kept = {}, []
    for i, g in enumerate(groups):  # parents come before children here
        if keep[i]:
            parent = g[1]
            while parent >= 0 and not keep[parent]:
                parent = groups[parent][1]
            new_index[i] = len(kept)
            kept.append({"name": g[0][-1], "path": "/".join(g[0]),
                         "parent": new_index.get(parent, -1), "nodes": total[i]})
    node_group = []
    for path in node_path:
        g = index.get(path, -1)
        while g >= 0 and not keep[g]:
            g = groups[g][1]
        node_group.append(new_index.get(g, -1))
    _mark_repeats(graph, kept, node_group)
    return kept, node_group


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
