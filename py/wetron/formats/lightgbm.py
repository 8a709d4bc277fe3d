"""LightGBM text models as Booster.save_model writes them (model.txt).

Layout (LightGBM's src/boosting/gbdt_model_text.cpp): a header of "key=value" lines
after the first line "tree": version (v4), num_class, num_tree_per_iteration,
label_index, max_feature_idx, objective ("multiclass num_class:3": the name, then its
parameters), feature_names and feature_infos (space-separated), tree_sizes; then one
block per tree, "Tree=<k>" followed by num_leaves, num_cat, split_feature, split_gain,
threshold, decision_type, left_child, right_child, leaf_value, leaf_weight, leaf_count,
internal_value, internal_weight, internal_count (space-separated, one entry per split
or per leaf), cat_boundaries / cat_threshold (categorical splits), is_linear,
shrinkage; then "end of trees", "feature_importances:", "parameters:" with one
"[key: value]" line each up to "end of parameters", and "pandas_categorical:".

A tree of L leaves has L - 1 splits; a child >= 0 is a split, a negative child ~c is
leaf c (-1 is leaf 0). decision_type's bits (include/LightGBM/tree.h): 1 categorical,
2 default left, bits 2-3 the missing type (0 none, 1 zero, 2 NaN). A numerical split
sends x <= threshold to the left child; a categorical one sends the categories in its
bitset (cat_threshold words cat_boundaries[t] .. cat_boundaries[t + 1], t its
threshold) to the left.

The graph (wetron.trees): "features" [batch, max_feature_idx + 1] (float64) -> one node
of domain "lightgbm", op the boosting type the parameters name (gbdt, rf, dart, goss)
-> "prediction", typed by ops/lightgbm.py from the objective; the booster node has the
objective, num_class, the feature names, the trees summed up and the drawn trees as its
`trees` subgraph (split nodes numbered by LightGBM's split index, leaves after them).
"""
from .. import trees
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node

FORMAT = "LightGBM"
EXTENSIONS = (".txt",)
WEAK_EXTENSIONS = (".txt",)      # labels, vocabularies and read-mes are .txt too
NEVER_EMPTY = True
DOMAIN = "lightgbm"

MAX_BYTES = 512 << 20
MAX_TREES = 1_000_000
MAX_PARAMETERS = 400         # "[key: value]" lines kept as metadata
MAX_FEATURES = 1 << 22
MISSING = {0: "None", 1: "Zero", 2: "NaN"}


def match(head, name):
    if head.startswith(b"tree\nversion=") or head.startswith(b"tree\r\nversion="):
        return 1.0
    return 0


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


def parse(source, companions=None):
    if source.size > MAX_BYTES:
        raise _error(source, f"{source.size:,} bytes, more than the {MAX_BYTES >> 20} MB "
                     "Wetron reads as a LightGBM model")
    text = source.read(0, source.size).decode("utf-8", "replace")
    return _Reader(source, text).model()


class _Reader:
    def __init__(self, source, text):
        self.source = source
        self.lines = text.splitlines()
        self.pos = 0

    def error(self, message):
        return _error(self.source, f"line {self.pos}: {message}")

    def block(self):
        """key -> value of "key=value" lines up to a blank line or the next section."""
        out = {}
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip():
                if out:
                    break
                self.pos += 1
                continue
            if line.startswith("Tree=") and out:
                break
            if "=" not in line:
                if line in ("end of trees", "feature_importances:", "parameters:"):
                    break
                out[line.strip()] = ""
            else:
                key, _, value = line.partition("=")
                out[key] = value
            self.pos += 1
        return out

    def model(self):
        if not self.lines or self.lines[0].strip() != "tree":
            raise _error(self.source, 'not a LightGBM text model (no first line "tree")')
        self.pos = 1
        header = self.block()
        m = Model(self.source.name, self.source.size, FORMAT)
        m.format_version = header.get("version", "")
        num_class = _int(header.get("num_class"), 1)
        per_iteration = _int(header.get("num_tree_per_iteration"), 1)
        max_feature = _int(header.get("max_feature_idx"), -1)
        if not (0 < num_class <= 1 << 20 and 0 < per_iteration <= 1 << 20
                and -1 <= max_feature < MAX_FEATURES):
            raise self.error("num_class, num_tree_per_iteration or max_feature_idx out of range")
        names = header.get("feature_names", "").split()
        if len(names) != max_feature + 1:
            m.warnings.append(f"{len(names)} feature names for {max_feature + 1} features")
        objective = header.get("objective", "").split()
        read = []
        budget = trees.Budget()
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.startswith("Tree="):
                if len(read) >= MAX_TREES:
                    raise self.error(f"more than {MAX_TREES:,} trees")
                self.pos += 1
                t = self.tree(len(read), self.block(), names)
                if not budget.take(t.nodes):
                    raise self.error(f"more than {trees.MAX_TOTAL_NODES:,} tree nodes in all")
                problem = trees.check(t)
                if problem:
                    raise self.error(f"tree {len(read)}: {problem}")
                read.append(t)
            elif line.strip() in ("end of trees", "parameters:"):
                break
            else:
                self.pos += 1
        parameters = self.parameters()
        boosting = parameters.get("boosting", "gbdt")
        for key, value in list(parameters.items())[:MAX_PARAMETERS]:
            m.metadata.append([f"parameter.{key}", value[:500]])
        if names:
            m.metadata.append(["features", ", ".join(names[:200])])

        g = m.add_graph(Graph())
        features = ("tensor", "float64", (None, max_feature + 1), "")
        g.inputs = ["features"]
        g.types["features"] = features
        attrs = []
        if objective:
            attrs.append(Attribute("objective", "string", objective[0]))
            if len(objective) > 1:
                attrs.append(Attribute("objective_parameters", "string",
                                       " ".join(objective[1:])[:500]))
        attrs += [Attribute("num_feature", "int", max_feature + 1),
                  Attribute("num_class", "int", num_class),
                  Attribute("num_tree_per_iteration", "int", per_iteration)]
        if "average_output" in header:
            attrs.append(Attribute("average_output", "string", "true"))
        attrs += trees.summary(read)
        node = Node(boosting, DOMAIN, boosting, ["features"], ["prediction"], attrs)
        g.nodes.append(node)
        g.outputs = ["prediction"]
        labels = [f"class {k % per_iteration}/tree {k}" if per_iteration > 1 else f"tree {k}"
                  for k in range(len(read))]
        sub, drawn = trees.draw(m, read, DOMAIN, features, budget, labels)
        if sub is not None:
            trees.attach(g, 0, sub)
        if drawn < len(read):
            node.attributes.append(Attribute("trees_drawn", "int", drawn))
        if names:
            node.attributes.append(Attribute("feature_names", "strings", names))
        return m

    def parameters(self):
        out = {}
        while self.pos < len(self.lines) and self.lines[self.pos].strip() != "parameters:":
            self.pos += 1
        self.pos += 1
        while self.pos < len(self.lines):
            line = self.lines[self.pos].strip()
            self.pos += 1
            if line == "end of parameters":
                break
            if line.startswith("[") and line.endswith("]") and ": " in line:
                key, _, value = line[1:-1].partition(": ")
                out[key] = value
        return out

    def tree(self, k, d, names):
        leaves = _int(d.get("num_leaves"), 0)
        if not 1 <= leaves <= trees.MAX_TREE_NODES // 2:
            raise self.error(f"tree {k}: num_leaves {d.get('num_leaves')!r}")
        splits = leaves - 1

        def numbers(key, n, kind=float, required=True):
            text = d.get(key)
            if n == 0:
                return []
            if text is None:
                if required:
                    raise self.error(f"tree {k}: no {key}")
                return None
            parts = text.split()
            if len(parts) != n:
                raise self.error(f"tree {k}: {len(parts)} {key} values, {n} expected")
            try:
                return [kind(p) for p in parts]
            except ValueError:
                raise self.error(f"tree {k}: {key} is not a list of numbers") from None

        feature = numbers("split_feature", splits, int)
        threshold = numbers("threshold", splits)
        decision = numbers("decision_type", splits, int)
        left_child, right_child = numbers("left_child", splits, int), numbers("right_child", splits, int)
        value = numbers("leaf_value", leaves)
        gain = numbers("split_gain", splits, required=False)
        internal_count = numbers("internal_count", splits, int, required=False)
        leaf_count = numbers("leaf_count", leaves, int, required=False)
        boundaries, bits = [], []
        if _int(d.get("num_cat"), 0) > 0:
            n_cat = _int(d.get("num_cat"), 0)
            if n_cat > splits:
                raise self.error(f"tree {k}: num_cat {n_cat} for {splits} splits")
            boundaries = numbers("cat_boundaries", n_cat + 1, int)
            if boundaries[0] != 0 or any(b > c for b, c in zip(boundaries, boundaries[1:])):
                raise self.error(f"tree {k}: cat_boundaries do not ascend from 0")
            bits = numbers("cat_threshold", boundaries[-1], int)

        def node_id(c):
            return c if c >= 0 else splits + ~c

        left = [node_id(c) for c in left_child] + [-1] * leaves
        right = [node_id(c) for c in right_child] + [-1] * leaves

        def split(i):
            f = feature[i]
            name = names[f] if 0 <= f < len(names) else f"Column_{f}"
            dt = decision[i]
            if dt & 1:
                t = int(threshold[i])
                if not 0 <= t < len(boundaries) - 1:
                    test = f"{name} in (a category set the file does not hold)"
                else:
                    cats = [32 * w + b for w in range(boundaries[t + 1] - boundaries[t])
                            for b in range(32) if bits[boundaries[t] + w] >> b & 1]
                    shown = ", ".join(str(c) for c in cats[:trees.MAX_LIST])
                    test = f"{name} in {{{shown}{', …' if len(cats) > trees.MAX_LIST else ''}}}"
            else:
                test = f"{name} <= {trees.number(threshold[i])}"
            attrs = [Attribute("if", "string", test)]
            if gain:
                attrs.append(Attribute("gain", "float", gain[i]))
            if internal_count:
                attrs.append(Attribute("count", "int", internal_count[i]))
            attrs += [Attribute("missing", "string", "yes" if dt & 2 else "no"),
                      Attribute("missing_type", "string", MISSING.get(dt >> 2 & 3, str(dt >> 2 & 3))),
                      Attribute("feature", "string", name)]
            return attrs

        def leaf(i):
            j = i - splits
            attrs = [Attribute("value", "float", value[j])]
            if leaf_count:
                attrs.append(Attribute("count", "int", leaf_count[j]))
            return attrs
        return trees.Tree(left, right, split, leaf)


def _int(text, default):
    try:
        return int(text) if text is not None and len(text) <= 20 else default
    except ValueError:
        return default
