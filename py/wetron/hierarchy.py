"""Module hierarchy of a graph, from the model's own names (docs/graph-schema.md, groups).

Exporters write the module path into node names: torch gives
"/encoder/layer.3/attention/self/MatMul", TensorFlow "model/dense/MatMul". The path
without its last part is the node's module. Then, in this order:

1. Modules holding a single node are dissolved (the node says it all).
2. Unscoped nodes (no module in the name: torch's "/Shape_12", "Constant_5",
   "Identity_353") join the innermost module holding all their consumers; a node on the
   data path also stays beside its scoped producers (so the glue between two blocks is
   not pulled into the second one). A node feeding a graph output, or consumed at the
   top level, stays there. Nodes are visited in reverse topological order, so a chain
   (Shape -> Gather -> Unsqueeze -> Concat) follows its consumer in.
3. Numbered siblings ("layer.0" … "layer.11") holding the same ops with the same weight
   shapes are marked as repeats, numbered by their position among the alike ones.
4. Shape computation (values computed from tensor shapes and constants only, never from
   an input's values; a weight looked up or broadcast by shape counts as data) that a
   module's own code emits is folded into one child group "shape computation" of that
   module (kind "shape").
5. A level with more than MAX_CHILDREN boxes gets intermediate levels: numbered siblings
   are gathered into ranges ("h.0–47", kind "range"), runs of loose nodes and then
   everything left into parts (kind "part").

No recursion (graphs can be very deep) and near-linear: this runs on every open, in
Pyodide too, on graphs of 100k nodes.
"""
import re

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
MAX_PATH_PARTS = 64
MAX_CHILDREN = 40      # boxes one level shows before it is given intermediate levels
MIN_SHAPE = 2          # shape-computation nodes a module needs for a group of them
SHAPE_NAME = "shape computation"
SHAPE_PART = "\u27e8shape\u27e9"    # "⟨shape⟩": the last part of a shape group's path
_IGNORED = {"Constant", "Identity"}
# Ops whose output is tensor metadata, whatever the input's values (TFLite: upper case).
_METADATA_OPS = {"Shape", "Size", "Rank", "SHAPE", "SIZE", "RANK"}
# Ops whose output is not a function of their inputs.
_RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
               "Multinomial", "Bernoulli", "RandomStandardNormal", "RANDOM_STANDARD_NORMAL",
               "RANDOM_UNIFORM", "MULTINOMIAL"}
# What a value depends on: constants only, tensor metadata (and constants), input values.
CONST, META, DATA = 0, 1, 2


def derive(graph):
    """(groups, node_group) for a Graph: groups are dicts {name, path, parent, nodes,
    repeat?, kind?}; node_group[i] is the group index of node i, or -1 for the top
    level. Parents precede children."""
    groups, node_group, node_raw = _module_groups(graph)
    if not groups:
        return groups, node_group
    flow = _Flow(graph)
    cls = flow.classes(graph)
    _adopt_unscoped(graph, flow, cls, groups, node_group, node_raw)
    _mark_repeats(graph, flow, cls, groups, node_group)
    _fold_shapes(flow, cls, groups, node_group)
    first = _add_levels(graph, flow, cls, groups, node_group)
    if first is not None:
        groups, node_group = _preorder(first, groups, node_group)
    _count_nodes(groups, node_group)
    return groups, node_group


# --- 1. groups from names ----------------------------------------------------------

def _module_groups(graph):
    """(kept groups, node_group, node_raw): the module groups from the node names with
    single-node groups dissolved; node_raw[i] is node i's group before dissolving (-1:
    no module in its name)."""
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
    return kept, [resolved[g] for g in node_raw], node_raw


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


# --- the data flow -------------------------------------------------------------------

class _Flow:
    """The data flow of a graph: per node its producers (preds: node indices, or
    len(nodes) for a weight, len(nodes) + 1 for a graph input or an outer scope's value)
    and, on request, its consumers; a topological order (order; position[i]: node i's
    place in it)."""

    def __init__(self, graph):
        nodes = graph.nodes
        n = self.n = len(nodes)
        weight, data = n, n + 1
        initial = {t.name for t in graph.initializers}
        producer = {}
        get = producer.get
        preds = []
        missed = []
        # One pass, producers registered after their node's inputs: right for a file in
        # topological order (ONNX requires it); checked below.
        for i, node in enumerate(nodes):
            ps = []
            for name in node.inputs:
                if name:
                    p = get(name)
                    if p is None:
                        if name in initial:
                            p = weight
                        else:
                            missed.append(name)   # a graph input, or produced further on
                            p = data
                    ps.append(p)
            preds.append(ps)
            for name in node.outputs:
                if name:
                    producer[name] = i
        ordered = not any(name in producer for name in missed)
        if not ordered:   # some input is produced further on: link everything again
            preds = []
            for i, node in enumerate(nodes):
                ps = []
                for name in node.inputs:
                    if name:
                        p = get(name)
                        if p is None:
                            p = weight if name in initial else data
                        elif p == i:   # a node reading its own output
                            continue
                        ps.append(p)
                preds.append(ps)
        self.preds = preds
        if ordered:
            self.order = self.position = range(n)
        else:
            self.order = _kahn(self.consumers(None))
            position = [0] * n
            for k, i in enumerate(self.order):
                position[i] = k
            self.position = position

    def consumers(self, wanted):
        """Per node, the nodes reading its outputs (once per input): a list for every
        node (wanted None) or a dict for the nodes i with wanted[i] true."""
        n = self.n
        if wanted is None:
            out = [[] for _ in range(n)]
            for i, ps in enumerate(self.preds):
                for p in ps:
                    if p < n:
                        out[p].append(i)
            return out
        out = {}
        for i, ps in enumerate(self.preds):
            for p in ps:
                if p < n and wanted[p]:
                    found = out.get(p)
                    if found is None:
                        out[p] = [i]
                    else:
                        found.append(i)
        return out

    def classes(self, graph):
        """Per node: CONST (its outputs follow from constants alone), META (from tensor
        shapes and constants: shape computation) or DATA (from some input's values)."""
        nodes = graph.nodes
        n = self.n
        preds = self.preds
        weights = set()   # floating-point tensors of 2+ elements: learned, for the reader
        for t in graph.initializers:
            if t.dtype.startswith(("float", "bfloat")) and len(t.dims) and _count(t.dims) > 1:
                weights.add(t.name)
        cls = [DATA] * n + [CONST, DATA]   # the two sources after the nodes
        at = cls.__getitem__
        for i in self.order:
            node = nodes[i]
            op = node.op
            ps = preds[i]
            if op in _METADATA_OPS and ps:
                c = META
            elif op in _RANDOM_OPS or (node.attributes and _has_subgraph(node)):
                c = DATA   # a subgraph may read any outer value
            else:
                c = max(map(at, ps)) if ps else CONST
                if c == META and weights and any(name in weights for name in node.inputs):
                    # a weight looked up or broadcast by shape (a class token expanded
                    # to the batch, a position embedding): data to a reader
                    c = DATA
                elif c == CONST and op == "Identity" and node.inputs and node.inputs[0] in weights:
                    weights.update(node.outputs)
            cls[i] = c
        del cls[n:]
        return cls


def _count(dims):
    n = 1
    for d in dims:
        n *= d if isinstance(d, int) else 1
    return n


def _kahn(consumers):
    """A topological order of the nodes (file order where it is free); nodes on a cycle
    (a malformed file) come last, in file order."""
    n = len(consumers)
    waiting = [0] * n
    for ends in consumers:
        for c in ends:
            waiting[c] += 1
    order = [i for i in range(n) if not waiting[i]]
    k = 0
    while k < len(order):
        for c in consumers[order[k]]:
            waiting[c] -= 1
            if not waiting[c]:
                order.append(c)
        k += 1
    if len(order) < n:
        placed = bytearray(n)
        for i in order:
            placed[i] = 1
        order.extend(i for i in range(n) if not placed[i])
    return order


def _has_subgraph(node):
    for a in node.attributes:
        if a.type == "graph" or a.type == "graphs":
            return True
    return False


def _ancestry(groups):
    parents = [g["parent"] for g in groups]
    depth = []
    for p in parents:   # parents precede children
        depth.append(depth[p] + 1 if p >= 0 else 0)
    return parents, depth


def _common(a, b, parents, depth):
    """The innermost group holding groups a and b (-1: the top level)."""
    while a != b and a >= 0 and b >= 0:
        if depth[a] >= depth[b]:
            a = parents[a]
        else:
            b = parents[b]
    return a if a == b else -1


# --- 2. unscoped nodes ---------------------------------------------------------------

def _adopt_unscoped(graph, flow, cls, groups, node_group, node_raw):
    """A node with no module in its name joins the innermost module holding all its
    consumers; a data-path node, the one holding its consumers and the scoped data-path
    nodes it is computed from (through unscoped ones: side below), since the glue
    between two blocks is their parent's code. With no consumer: the module holding its
    producers. A node feeding a graph output, or consumed at the top level, stays there.
    Last to first in topological order, so a chain follows its consumer in."""
    if -1 not in node_raw:
        return
    nodes = graph.nodes
    parents, depth = _ancestry(groups)
    outputs = set(graph.outputs)
    preds, n = flow.preds, flow.n
    todo = [i for i, g in enumerate(node_raw) if g < 0]   # the unscoped nodes, in order
    if not isinstance(flow.order, range):
        position = flow.position
        todo.sort(key=position.__getitem__)
    unscoped = bytearray(len(node_raw))
    for i in todo:
        unscoped[i] = 1
    consumers = flow.consumers(unscoped)
    # side[i], for an unscoped node on the data path: the innermost module holding the
    # scoped data-path nodes it is computed from (through unscoped ones); None: none
    # (it reads only graph inputs, weights, shapes and constants).
    side = {}
    for i in todo:
        if cls[i] != DATA:
            continue
        common = None
        for p in preds[i]:
            if p >= n or cls[p] != DATA:
                continue
            g = node_group[p] if node_raw[p] >= 0 else side.get(p)
            if g is None:
                continue
            common = g if common is None else _common(g, common, parents, depth)
        if common is not None:
            side[i] = common
    for i in reversed(todo):
        node = nodes[i]
        if outputs and any(name in outputs for name in node.outputs):
            continue
        ends = [node_group[c] for c in consumers.get(i, ())]
        if ends and i in side:
            ends.append(side[i])
        elif not ends:
            ends = [node_group[p] for p in preds[i] if p < n]
        if not ends:
            continue
        common = ends[0]
        for g in ends:
            if common < 0:
                break
            if g != common:
                common = _common(g, common, parents, depth)
        if common >= 0:
            node_group[i] = common


# --- 3. repeats ----------------------------------------------------------------------

def _mark_repeats(graph, flow, cls, groups, node_group):
    """Sibling modules named stem + number ("layer.0", "layer.1", …) form a family;
    members whose structure matches (the same ops in node order, with the same weight
    shapes) are repeats of each other, numbered 0, 1, … by the number in their names."""
    families = {}
    for i, g in enumerate(groups):
        m = _NUMBERED.match(g["name"])
        if m:
            families.setdefault((g["parent"], m.group(1)), []).append((int(m.group(2)), i))
    families = {key: members for key, members in families.items() if len(members) > 1}
    if not families:
        return
    # Weight shapes: initializers, and identities of them (torch shares equal weights).
    shape = {t.name: tuple(t.dims) for t in graph.initializers}
    nodes = graph.nodes
    for node in nodes:
        if node.op == "Identity" and node.inputs and node.inputs[0] in shape and node.outputs:
            shape[node.outputs[0]] = shape[node.inputs[0]]
    # Per group, its own nodes' (op, weight shapes...) in file order; a member's
    # signature is its subtree's, depth first. Left out: constants, identities and shape
    # computation (exporters share equal ones between blocks, so the first holds them).
    inside = [False] * len(groups)   # groups at or under a family member
    for members in families.values():
        for _, i in members:
            inside[i] = True
    for i, g in enumerate(groups):   # parents come before children
        if not inside[i] and g["parent"] >= 0 and inside[g["parent"]]:
            inside[i] = True
    own = {}
    get = shape.get
    for node, g, c in zip(nodes, node_group, cls):
        if g < 0 or c == META or not inside[g] or node.op in _IGNORED:
            continue
        item = (node.op, *map(get, node.inputs))
        found = own.get(g)
        if found is None:
            own[g] = [item]
        else:
            found.append(item)
    kids = {}
    for i, g in enumerate(groups):
        if inside[i] and g["parent"] >= 0:
            kids.setdefault(g["parent"], []).append(i)
    sig = {}
    for members in families.values():
        for _, i in members:
            parts, stack = [], [i]
            while stack:
                k = stack.pop()
                parts.append(len(own.get(k, ())))   # the tree's shape too
                parts.extend(own.get(k, ()))
                stack.extend(reversed(kids.get(k, ())))
            sig[i] = tuple(parts)
    for (parent, stem), members in families.items():
        by_signature = {}
        for number, i in sorted(members):
            by_signature.setdefault(sig[i], []).append((number, i))
        alike = [same for same in by_signature.values() if len(same) > 1]
        for same in alike:
            of = stem + "#"
            if len(alike) > 1:   # several kinds of repeats in one family: say which
                numbers = [str(number) for number, _ in same]
                of = stem + (",".join(numbers) if len(numbers) <= 3
                             else f"{numbers[0]},{numbers[1]},\u2026{numbers[-1]}")
            for index, (_, i) in enumerate(same):
                groups[i]["repeat"] = {"of": of, "index": index, "count": len(same)}


# --- 4. shape computation ------------------------------------------------------------

def _fold_shapes(flow, cls, groups, node_group):
    """A module's shape computation (its META nodes, and the constants only they use)
    goes into one child group of it, when it has MIN_SHAPE such nodes or more and other
    content beside them."""
    if META not in cls:
        return
    metas = [i for i, c in enumerate(cls) if c == META]
    count = {}
    for i in metas:
        g = node_group[i]
        count[g] = count.get(g, 0) + 1
    folding = {g for g, k in count.items() if k >= MIN_SHAPE}
    if not folding:
        return
    n = len(cls)
    folded = bytearray(n)
    for i in metas:
        if node_group[i] in folding:
            folded[i] = 1
    wanted = bytearray(n)   # constants that may be used by folded nodes only
    for i, c in enumerate(cls):
        if c == CONST and node_group[i] in folding:
            wanted[i] = 1
    consumers = flow.consumers(wanted)
    order = flow.order
    for k in range(len(order) - 1, -1, -1):   # last to first: chains of constants
        i = order[k]
        if wanted[i]:
            g = node_group[i]
            ends = consumers.get(i)
            if ends and all(folded[c] and node_group[c] == g for c in ends):
                folded[i] = 1
    # A module that is all shape computation is left as it is (the group would be all
    # of it): no submodule, every node folded.
    direct, moved = {}, {}
    for i, g in enumerate(node_group):
        if g in folding:
            direct[g] = direct.get(g, 0) + 1
            if folded[i]:
                moved[g] = moved.get(g, 0) + 1
    has_children = {grp["parent"] for grp in groups}
    shape_group = {}
    used = {grp["path"] for grp in groups}
    for g in sorted(folding):
        if g not in has_children and moved.get(g, 0) == direct[g]:
            continue
        path = groups[g]["path"] + "/" + SHAPE_PART if g >= 0 else SHAPE_PART
        shape_group[g] = len(groups)
        groups.append({"name": SHAPE_NAME, "path": _unique(path, used), "parent": g,
                       "nodes": 0, "kind": "shape"})
    for i, f in enumerate(folded):
        if f:
            s = shape_group.get(node_group[i])
            if s is not None:
                node_group[i] = s


def _unique(path, used):
    if path in used:
        k = 2
        while f"{path}#{k}" in used:
            k += 1
        path = f"{path}#{k}"
    used.add(path)
    return path


# --- 5. intermediate levels ----------------------------------------------------------

def _add_levels(graph, flow, cls, groups, node_group):
    """Levels (the top one and each group's) with more than MAX_CHILDREN boxes (child
    groups and loose nodes) get intermediate groups, in this order until they fit:
    families of numbered siblings become ranges ("h.0–47", largest family first; a
    range of more than MAX_CHILDREN is cut into sub-ranges), runs of consecutive loose
    nodes (in topological order, longest first) become parts, and whatever is left is
    cut into parts of consecutive boxes. A shape group stays where it is. Returns
    None when no group was added, else each group's first position (_first_positions)."""
    position = flow.position
    kids = {-1: []}
    for k, grp in enumerate(groups):
        kids.setdefault(grp["parent"], []).append(k)
    boxes = [0] * (len(groups) + 1)   # [-1]: the top level
    for g in node_group:
        boxes[g] += 1
    for g, below in kids.items():
        boxes[g] += len(below)
    busy = [g for g in [-1] + list(range(len(groups)))
            if boxes[g] > MAX_CHILDREN and (g < 0 or groups[g].get("kind") != "shape")]
    if not busy:
        return None
    loose = {g: [] for g in busy}   # the loose nodes of the levels to cut (and new ones)
    for i, g in enumerate(node_group):
        found = loose.get(g)
        if found is not None:
            found.append(i)
    first = _first_positions(flow, cls, groups, node_group)
    used = {grp["path"] for grp in groups}
    ranges = {}   # range group -> (stem, lowest number, highest number)

    def make(parent, name, kind, members, nodes):
        """A new group under `parent` holding the groups `members` and nodes `nodes`."""
        k = len(groups)
        base = groups[parent]["path"] + "/" if parent >= 0 else ""
        groups.append({"name": name, "path": _unique(base + "\u27e8" + name + "\u27e9", used),
                       "parent": parent, "nodes": 0, "kind": kind})
        start = len(node_group)
        for m in members:
            groups[m]["parent"] = k
            start = min(start, first[m])
        for i in nodes:
            node_group[i] = k
            start = min(start, position[i])
        first.append(start)
        kids[k] = list(members)
        loose[k] = list(nodes)
        if len(members) + len(nodes) > MAX_CHILDREN:
            queue.append(k)
        return k

    def label(item):
        kind, x = item
        if kind == "group":
            return groups[x]["name"]
        node = graph.nodes[x]
        return node.name[node.name.rfind("/") + 1:] or node.op

    def title(items):
        """A part's name: its first and last box, constants and identities aside."""
        named = [item for item in items
                 if item[0] == "group" or graph.nodes[item[1]].op not in _IGNORED] or items
        return f"{label(named[0])} \u2026 {label(named[-1])}"

    def key(item):
        kind, x = item
        return first[x] if kind == "group" else position[x]

    def span(k):
        """The numbers a member of a range covers: its own, or its sub-range's."""
        if k in ranges:
            return ranges[k][1:]
        number = _number(groups[k]["name"])
        return number, number

    queue = busy
    at = 0
    while at < len(queue):
        level = queue[at]
        at += 1
        children = kids.get(level, [])
        nodes = loose.get(level, [])
        if len(children) + len(nodes) <= MAX_CHILDREN:
            continue
        fixed = [k for k in children if groups[k].get("kind") == "shape"]
        movable = [k for k in children if groups[k].get("kind") != "shape"]
        budget = MAX_CHILDREN - len(fixed)
        count = len(movable) + len(nodes)
        if level in ranges:   # a range too long: sub-ranges, by number
            stem = ranges[level][0]
            movable.sort(key=span)
            size = _chunk_size(count, budget)
            cut = []
            for s in range(0, count, size):
                part = movable[s:s + size]
                lo, hi = span(part[0])[0], span(part[-1])[1]
                r = make(level, f"{stem}{lo}\u2013{hi}", "range", part, ())
                ranges[r] = (stem, lo, hi)
                cut.append(r)
            kids[level] = fixed + cut
            if len(cut) > budget:
                queue.append(level)
            continue
        # a. families of numbered siblings become ranges, the largest first
        families = {}
        for k in movable:
            if groups[k].get("kind"):
                continue
            m = _NUMBERED.match(groups[k]["name"])
            if m:
                families.setdefault(m.group(1), []).append((int(m.group(2)), k))
        largest = sorted(families.items(), key=lambda kv: (-len(kv[1]), first[kv[1][0][1]]))
        for stem, members in largest:
            if count <= budget or len(members) < 2:
                break
            members.sort()
            r = make(level, f"{stem}{members[0][0]}\u2013{members[-1][0]}", "range",
                     [k for _, k in members], ())
            ranges[r] = (stem, members[0][0], members[-1][0])
            inside = {k for _, k in members}
            movable = [k for k in movable if k not in inside] + [r]
            count -= len(members) - 1
        items = sorted([("group", k) for k in movable] + [("node", i) for i in nodes], key=key)
        # b. runs of loose nodes become parts, the longest first
        if count > budget:
            runs, run = [], []
            for item in items:
                if item[0] == "node":
                    run.append(item)
                else:
                    if len(run) > 1:
                        runs.append(run)
                    run = []
            if len(run) > 1:
                runs.append(run)
            runs.sort(key=lambda r: -len(r))
            gathered = {}
            for run in runs:
                if count <= budget:
                    break
                # a run longer than a level holds becomes several parts side by side
                size = _chunk_size(len(run), budget)
                pieces = [run[s:s + size] for s in range(0, len(run), size)]
                if len(pieces) == 1 and len(run) == len(items):   # one box holding all
                    continue
                gathered[run[0]] = pieces
                count -= len(run) - len(pieces)
            if gathered:
                skip = {item for pieces in gathered.values() for piece in pieces for item in piece}
                merged = []
                for item in items:
                    pieces = gathered.get(item)
                    if pieces is not None:
                        for piece in pieces:
                            p = make(level, title(piece), "part",
                                     (), [x for _, x in piece])
                            merged.append(("group", p))
                    elif item not in skip:
                        merged.append(item)
                items = merged
        # c. still too many: parts of consecutive boxes
        if len(items) > budget:
            size = _chunk_size(len(items), budget)
            cut = []
            for s in range(0, len(items), size):
                part = items[s:s + size]
                if len(part) == 1:
                    cut.append(part[0])
                    continue
                p = make(level, title(part), "part",
                         [x for kind, x in part if kind == "group"],
                         [x for kind, x in part if kind == "node"])
                cut.append(("group", p))
            items = cut
            if len(items) > budget:
                queue.append(level)
        kids[level] = fixed + [x for kind, x in items if kind == "group"]
        loose[level] = [x for kind, x in items if kind == "node"]
    return first


def _number(name):
    m = _NUMBERED.match(name)
    return int(m.group(2)) if m else 0


def _chunk_size(count, budget):
    """Pieces of count items: as even as possible in at most `budget` pieces, or pieces
    of `budget` items when that is not enough (the level is cut again)."""
    pieces = -(-count // budget)
    if pieces > budget:
        return budget
    return -(-count // pieces)


def _first_positions(flow, cls, groups, node_group):
    """Per group, the topological position of its first node on the data path, at all
    depths (of its first node when it has none): the reading order of sibling boxes.
    Constants and shape computation are left out: the exporter hoists them to the start
    of the graph, whatever module they are adopted by."""
    n = len(node_group)
    position = flow.position
    first = [n] * len(groups)
    any_first = [n] * len(groups)
    for i, g in enumerate(node_group):
        if g >= 0:
            p = position[i]
            if p < any_first[g]:
                any_first[g] = p
            if cls[i] == DATA and p < first[g]:
                first[g] = p
    kids = {}
    for k, grp in enumerate(groups):
        kids.setdefault(grp["parent"], []).append(k)
    stack, walk = [-1], []   # depth first from the top: parents before children
    while stack:
        g = stack.pop()
        walk.append(g)
        stack.extend(kids.get(g, ()))
    for g in reversed(walk):
        if g >= 0:
            p = groups[g]["parent"]
            if p >= 0:
                if first[g] < first[p]:
                    first[p] = first[g]
                if any_first[g] < any_first[p]:
                    any_first[p] = any_first[g]
    return [f if f < n else a for f, a in zip(first, any_first)]


def _preorder(first, groups, node_group):
    """Groups renumbered so that parents precede children: depth first, each level's
    children in reading order (first: _first_positions)."""
    kids = {}
    for k, grp in enumerate(groups):
        kids.setdefault(grp["parent"], []).append(k)
    new = [0] * len(groups)
    out = []
    stack = [-1]
    while stack:
        g = stack.pop()
        if g >= 0:
            new[g] = len(out)
            out.append(groups[g])
        below = kids.get(g)
        if below:
            below.sort(key=lambda k: (first[k], k), reverse=True)
            stack.extend(below)
    for grp in out:
        if grp["parent"] >= 0:
            grp["parent"] = new[grp["parent"]]
    return out, [new[g] if g >= 0 else -1 for g in node_group]


def _count_nodes(groups, node_group):
    total = [0] * (len(groups) + 1)
    for g in node_group:
        total[g] += 1
    for k in range(len(groups) - 1, -1, -1):
        p = groups[k]["parent"]
        if p >= 0:
            total[p] += total[k]
    for k, grp in enumerate(groups):
        grp["nodes"] = total[k]
