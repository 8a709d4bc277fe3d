"""Decision trees as graphs, shared by the tree-ensemble formats (XGBoost, LightGBM,
scikit-learn): each format reads its own file into `Tree`s, this module checks them,
sums them up and draws the small ones.

A model is a small graph: the input "features" (one tensor, [batch, n_features]; the
feature names are an attribute) -> one node per ensemble (booster, forest, single
tree) -> the prediction. The ensemble node carries what describes it as attributes:
how many trees, their greatest depth, their leaves and nodes, and `comparisons_at_most`,
the sum of the trees' depths: a prediction walks one root-to-leaf path per tree, so it
makes at most that many comparisons (the figure is a bound, not a count of FLOPs:
tree models have none in the neural-network sense, so their cost is "not counted").

The trees themselves, as far as they fit a budget (MAX_DRAWN_NODES nodes and
MAX_DRAWN_TREES trees per ensemble, MAX_MODEL_DRAWN in a whole model), are one
subgraph, the ensemble node's `trees` attribute: every tree is a module "tree <k>" of
"Split" nodes (the test as its first attribute, `if`: "petal length < 2.45"; outputs
"<k>/<i>:yes" and ":no", the yes branch being the format's left child) and "Leaf"
nodes (their value); the root of each tree reads "features". Trees past the budget are
summed up only, and the ensemble node says how many were drawn (`trees_drawn`).
"""
import struct

from .model import Attribute, Graph, Node

MAX_DRAWN_NODES = 20_000     # tree nodes drawn for one ensemble
MAX_DRAWN_TREES = 500
MAX_MODEL_DRAWN = 50_000     # tree nodes drawn in a whole model (pickles hold many models)
MAX_TREE_NODES = 1 << 24     # nodes of one tree a file may declare
MAX_TOTAL_NODES = 10_000_000 # nodes of all trees of a model read at all
MAX_LIST = 64                # values of a leaf vector or a category set shown


class Tree:
    """One tree by node id: `left[i]`/`right[i]` are node ids, -1 (any negative) where
    node i is a leaf. `split(i)` -> the Split node's attributes (its test first), and
    `leaf(i)` -> the Leaf node's attributes, made only for drawn trees."""
    __slots__ = ("left", "right", "split", "leaf", "depth", "leaves")

    def __init__(self, left, right, split, leaf):
        self.left, self.right, self.split, self.leaf = left, right, split, leaf
        self.depth = self.leaves = 0

    @property
    def nodes(self):
        return len(self.left)


def check(tree):
    """Fills tree.depth (edges on the longest root-to-leaf path) and tree.leaves, or
    returns what is wrong: every node reached once from node 0, children in range."""
    left, right = tree.left, tree.right
    n = len(left)
    if n == 0:
        return "a tree without nodes"
    if len(right) != n:
        return f"{len(left)} left children but {len(right)} right children"
    seen = bytearray(n)
    seen[0] = 1
    todo, depth, leaves = [(0, 0)], 0, 0
    while todo:
        i, d = todo.pop()
        depth = max(depth, d)
        a, b = left[i], right[i]
        if a < 0:
            leaves += 1
            continue
        for c in (a, b):
            if not 0 <= c < n:
                return f"node {i} has child {c}, outside the tree's {n} nodes"
            if seen[c]:
                return f"node {c} is reached twice"
            seen[c] = 1
            todo.append((c, d + 1))
    unreached = n - sum(seen)
    if unreached:
        return f"{unreached} nodes are not reached from the root"
    tree.depth, tree.leaves = depth, leaves
    return None


class Budget:
    """Tree nodes a model may still draw (MAX_MODEL_DRAWN) and read (MAX_TOTAL_NODES)."""

    def __init__(self):
        self.drawn = MAX_MODEL_DRAWN
        self.read = MAX_TOTAL_NODES

    def take(self, nodes):
        """False when reading `nodes` more would pass MAX_TOTAL_NODES."""
        if nodes > self.read:
            return False
        self.read -= nodes
        return True


def summary(trees):
    """The ensemble node's attributes that sum its trees up."""
    return [Attribute("num_trees", "int", len(trees)),
            Attribute("depth", "int", max((t.depth for t in trees), default=0)),
            Attribute("leaves", "int", sum(t.leaves for t in trees)),
            Attribute("nodes", "int", sum(t.nodes for t in trees)),
            Attribute("comparisons_at_most", "int", sum(t.depth for t in trees))]


def draw(model, trees, domain, features, budget, labels=None):
    """The subgraph of the first trees that fit the budget, added to `model`, and how
    many it holds (None, 0 when not even the first fits). `labels[k]`: tree k's module
    name (default "tree <k>"); `features`: the type of the input value."""
    room = min(MAX_DRAWN_NODES, budget.drawn)
    count = 0
    for t in trees[:MAX_DRAWN_TREES]:
        if t.nodes > room:
            break
        room -= t.nodes
        count += 1
    if count == 0:
        return None, 0
    total = sum(t.nodes for t in trees[:count])
    budget.drawn -= total
    name = ("1 tree" if len(trees) == 1 else f"{len(trees)} trees") if count == len(trees) \
        else f"trees 0–{count - 1} of {len(trees)}"
    g = Graph(name)
    g.inputs = ["features"]
    g.types["features"] = features
    for k, t in enumerate(trees[:count]):
        module = labels[k] if labels else f"tree {k}"
        _draw_tree(g, t, domain, module)
    model.add_graph(g)
    return g, count


def _draw_tree(g, t, domain, module):
    left, right = t.left, t.right
    parent_value = {0: "features"}
    todo = [0]   # depth first, parents before children
    while todo:
        i = todo.pop()
        source = parent_value.pop(i)
        if left[i] < 0:
            g.nodes.append(Node("Leaf", domain, f"{module}/leaf {i}", [source], [], t.leaf(i)))
            continue
        yes, no = f"{module}/{i}:yes", f"{module}/{i}:no"
        g.nodes.append(Node("Split", domain, f"{module}/split {i}", [source], [yes, no],
                            t.split(i)))
        parent_value[left[i]], parent_value[right[i]] = yes, no
        todo.extend((right[i], left[i]))


def attach(graph, node_index, trees_graph):
    """Makes `trees_graph` the `trees` attribute of graph.nodes[node_index]."""
    trees_graph.parent = (graph, node_index, "trees")
    graph.nodes[node_index].attributes.insert(0, Attribute("trees", "graph", trees_graph))


def number(x, bits=64):
    """The shortest text of float `x` that reads back as the same float of `bits` bits
    (thresholds are float32 in XGBoost: 2.45, not 2.4500000476837158)."""
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if bits == 32:
        target = struct.pack("<f", x)
        for digits in range(1, 10):
            text = f"{x:.{digits}g}"
            if struct.pack("<f", float(text)) == target:
                return text
    return repr(float(x))


def threshold(x):
    """A split threshold as text: as a float32 when it is one (scikit-learn stores
    float32 midpoints as float64: 4.85, not 4.8500001430511475), else exact."""
    x = float(x)
    try:
        exact32 = struct.unpack("<f", struct.pack("<f", x))[0] == x
    except OverflowError:
        exact32 = False
    return number(x, 32 if exact32 else 64)


def values_attribute(name, values):
    """A leaf's vector, its first MAX_LIST values."""
    return Attribute(name, "floats", [float(v) for v in values[:MAX_LIST]])
