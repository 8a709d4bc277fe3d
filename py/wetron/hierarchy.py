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
    # Groups as parallel lists; a parent is always created before its children, so
    # walking indices backwards visits children before parents.
    paths, parents, depths = [], [], []
    by_prefix = {"": -1}  # a name up to and with its last "/" -> its group
    children = {}         # (parent group, name) -> group
    known = by_prefix.get
    node_raw = []         # per node, its group before dissolving (-1: top level)
    for node in graph.nodes:
        name = node.name
        prefix = name[:name.rfind("/") + 1]
        g = known(prefix)
        if g is None:   # a new prefix; most often the parent's prefix is known already
            cut = prefix.rfind("/", 0, len(prefix) - 1) + 1
            parent = known(prefix[:cut])
            part = prefix[cut:-1]
            if parent is None or not part or (parent >= 0 and depths[parent] >= MAX_PATH_PARTS):
                g = _prefix_group(prefix, by_prefix, children, paths, parents, depths)
            else:
                g = children.get((parent, part))
                if g is None:
                    g = _new_group(parent, part, children, paths, parents, depths)
                by_prefix[prefix] = g
        node_raw.append(g)
    # Total node count per group: direct nodes, then children added to their parents.
    total = [0] * (len(paths) + 1)   # [-1] takes the top level's count, unused
    for g in node_raw:
        total[g] += 1
    for i in range(len(paths) - 1, -1, -1):
        if parents[i] >= 0:
            total[parents[i]] += total[i]
    # Dissolve single-node groups: their node goes to the nearest kept ancestor.
    kept = []
    resolved = []         # per group: the kept group its nodes belong to, as a new index
    for i, path in enumerate(paths):  # parents come before children here
        parent = parents[i]
        if total[i] > 1:
            resolved.append(len(kept))
            kept.append({"name": path[path.rfind("/") + 1:], "path": path,
                         "parent": resolved[parent] if parent >= 0 else -1, "nodes": total[i]})
        else:
            resolved.append(resolved[parent] if parent >= 0 else -1)
    resolved.append(-1)   # node_raw's -1 (top level) stays -1
    node_group = [resolved[g] for g in node_raw]
    _adopt_hoisted(graph, kept, node_group)
    _mark_repeats(graph, kept, node_group)
    return kept, node_group


def _prefix_group(prefix, by_prefix, children, paths, parents, depths):
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
        depth = depths[g] if g >= 0 else 0
        if part and depth < MAX_PATH_PARTS:   # empty parts ("//") and parts past the cap add nothing
            child = children.get((g, part))
            if child is None:
                child = _new_group(g, part, children, paths, parents, depths)
            g = child
        by_prefix[q] = g
        p = q
    return g


def _new_group(parent, part, children, paths, parents, depths):
    g = children[(parent, part)] = len(paths)
    paths.append(paths[parent] + "/" + part if parent >= 0 else part)
    parents.append(parent)
    depths.append(depths[parent] + 1 if parent >= 0 else 1)
    return g


def _adopt_hoisted(graph, groups, node_group):
    # A top-level Constant/Identity goes to the innermost module holding every consumer
    # of its outputs (none of them a graph output). Nodes are visited last to first, so
    # a chain (Constant -> Identity -> MatMul) follows its consumer in.
    if not groups:
        return
    nodes = graph.nodes
    hoisted = [i for i, node in enumerate(nodes) if node.op in _IGNORED and node_group[i] < 0]
    if not hoisted:
        return
    parents = [g["parent"] for g in groups]
    depth = []
    for p in parents:   # parents precede children
        depth.append(depth[p] + 1 if p >= 0 else 0)
    consumers = {name: [] for i in hoisted for name in nodes[i].outputs}   # only these
    for i, node in enumerate(nodes):
        for name in node.inputs:
            found = consumers.get(name)
            if found is not None:
                found.append(i)
    outputs = set(graph.outputs)
    for i in reversed(hoisted):
        node = nodes[i]
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
    # Sibling modules named stem + number ("layer.0", "layer.1", …) form a family.
    families = {}
    for i, g in enumerate(groups):
        m = _NUMBERED.match(g["name"])
        if m:
            families.setdefault((g["parent"], m.group(1)), []).append((int(m.group(2)), i))
    families = {key: members for key, members in families.items() if len(members) > 1}
    if not families:
        return
    # Op signature of each family member: the op types of its nodes, in node order.
    # Constants are left out: exporters share equal constants, so the first block
    # holds them. Each group's chain of members (itself and its ancestors) is found
    # once, so a node is appended only where a signature is wanted.
    member = [False] * len(groups)
    for members in families.values():
        for _, i in members:
            member[i] = True
    chains = []   # per group: the members among it and its ancestors
    for i, g in enumerate(groups):   # parents come before children
        up = chains[g["parent"]] if g["parent"] >= 0 else ()
        chains.append((i,) + up if member[i] else up)
    ops = {i: [] for members in families.values() for _, i in members}
    for node, g in zip(graph.nodes, node_group):
        if g >= 0 and node.op not in _IGNORED:
            for i in chains[g]:
                ops[i].append(node.op)
    for (parent, stem), members in families.items():
        by_signature = {}
        for number, i in members:
            by_signature.setdefault(tuple(ops[i]), []).append((number, i))
        for same in by_signature.values():
            if len(same) < 2:
                continue
            for number, i in same:
                groups[i]["repeat"] = {"of": stem + "#", "index": number, "count": len(same)}
