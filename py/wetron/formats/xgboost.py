"""XGBoost models as Booster.save_model writes them: JSON (.json) and UBJSON (.ubj, the
default of XGBoost 2 and later); both hold the same document.

The document (XGBoost's doc/model.schema): {"version": [major, minor, patch],
"learner": {"feature_names": [...], "feature_types": [...], "attributes": {...},
"learner_model_param": {"base_score", "num_class", "num_feature", "num_target"} (numbers
as strings), "objective": {"name": "multi:softprob", <its parameters>},
"gradient_booster": {"name": "gbtree" | "dart" | "gblinear", ...}}}. A gbtree's
"model" (a dart's "gbtree"."model") has "trees" [{"left_children", "right_children",
"split_indices", "split_conditions", "default_left", "split_type", "base_weights",
"loss_changes", "sum_hessian", "categories", "categories_nodes", "categories_segments",
"categories_sizes", "tree_param": {"num_nodes", "size_leaf_vector"}}] with one entry per
node in each array, and "tree_info" (the output group of each tree). A node is a leaf
where its left child is -1; a leaf's value is its split_condition (size_leaf_vector 1)
or its base_weights (a vector leaf of a multi-target tree). A numerical split sends
x < split_condition to the left child and a missing value where default_left says; a
categorical split (split_type 1) sends the categories listed for it to the right child.
A gblinear's "model" has "weights": (num_feature + 1) x groups, the bias row last.

UBJSON (ubjson.org, XGBoost's src/common/json.cc): one marker byte per value (Z null,
T/F, i U I l L integers of 1-8 bytes, d D floats, H a number as text, C char, S string,
[ ] array, { } object; numbers big-endian), strings and object keys as a length (an
integer value) then UTF-8; containers may declare their element type ($) and count (#),
then the elements follow without markers. Read here by a bounded reader: nesting depth,
counts against the bytes left and the number of values are checked before anything is
allocated.

The graph (wetron.trees): "features" [batch, num_feature] (float32: XGBoost compares in
float32) -> one node of domain "xgboost", op the booster's name (gbtree, dart, gblinear)
-> "prediction", typed by ops/xgboost.py from the objective. The booster node's
attributes: the objective, num_class, base_score, the feature names, the trees summed up
(wetron.trees.summary) and the drawn trees as its `trees` subgraph; a gblinear's weights
are its "weight" and "bias" tensors. XGBoost's old binary format (.model/.bin, "binf")
is not read: the error says to save the model as JSON or UBJSON.
"""
import array
import math
import struct
import sys

from .. import trees
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..util import load_json

FORMAT = "XGBoost"
# .json is left out: every JSON file beside a model (a config.json by its weights) would
# then rank as a model among several files; an XGBoost .json opens by its content.
EXTENSIONS = (".ubj",)
CAPABILITIES = frozenset({"tensor_values"})
NEVER_EMPTY = True
DOMAIN = "xgboost"

MAX_BYTES = 256 << 20        # a model file read into memory
MAX_DEPTH = 64               # UBJSON nesting (XGBoost's documents nest 6 deep)
MAX_VALUES = 20_000_000      # values of untyped UBJSON containers
MAX_FEATURE_NAMES = 1 << 20
MAX_TREES = 1_000_000
BOOSTERS = ("gbtree", "dart", "gblinear")


# --- recognising ---------------------------------------------------------------------------
def _is_json(head):
    text = head.lstrip()
    return text[:1] == b"{" and b'"learner"' in head[:256] and (
        b'"gradient_booster"' in head or b'"learner_model_param"' in head
        or b'"attributes"' in head or b'"feature_names"' in head)


def _is_ubj(head):
    # {, the key's length as an integer value (XGBoost: L, int64), "learner"
    return head[:1] == b"{" and b"learner" in head[:24] and head[1:2] in b"iUIlL"


def match(head, name):
    low = name.lower()
    if _is_json(head):
        return 1.0
    if _is_ubj(head):
        return 1.0 if low.endswith(".ubj") else 0.9
    if head[:4] == b"binf":
        return 0.5
    return 0


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


def parse(source, companions=None):
    head = source.read(0, min(source.size, 4096))
    if head[:4] == b"binf":
        raise _error(source, "XGBoost's old binary format is not read: save the model with "
                     "Booster.save_model('model.json') or ('model.ubj')")
    if source.size > MAX_BYTES:
        raise _error(source, f"{source.size:,} bytes, more than the {MAX_BYTES >> 20} MB "
                     "Wetron reads as an XGBoost model")
    data = source.read(0, source.size)
    if _is_json(head):
        doc = load_json(data, lambda message: _error(source, message), "the model JSON")
        kind = "JSON"
    elif _is_ubj(head):
        doc = UBJReader(data, lambda message, at=None: _error(source, message, at)).document()
        kind = "UBJSON"
    else:
        raise _error(source, "neither an XGBoost JSON nor UBJSON model (no \"learner\")")
    return _Builder(source, kind).model(doc)


# --- UBJSON ----------------------------------------------------------------------------------
_FIXED = {"i": (">b", 1), "U": (">B", 1), "I": (">h", 2), "l": (">i", 4), "L": (">q", 8),
          "d": (">f", 4), "D": (">d", 8)}
_ARRAY_CODES = {"i": "b", "U": "B", "I": "h", "l": "i", "L": "q", "d": "f", "D": "d"}


class UBJReader:
    """A bounded reader of one UBJSON document: objects -> dicts, arrays -> lists, typed
    numeric arrays -> array.array (native order)."""

    def __init__(self, data, error):
        self.data, self.pos, self.error = memoryview(data), 0, error
        self.values = 0

    def document(self):
        return self.value(self.marker(), 0)

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise self.error(f"UBJSON: {n:,} bytes wanted at byte {self.pos:,}, past the end "
                             f"of the file", self.pos)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def marker(self):
        while True:
            m = chr(self.take(1)[0])
            if m != "N":          # no-op
                return m

    def count(self, what):
        m = self.marker()
        if m not in "iUIlL":
            raise self.error(f"UBJSON: {what} is not an integer (marker {m!r})", self.pos - 1)
        n = self.value(m, 0)
        if n < 0:
            raise self.error(f"UBJSON: negative {what} {n}", self.pos)
        return n

    def string(self):
        n = self.count("a string's length")
        return bytes(self.take(n)).decode("utf-8", "replace")

    def value(self, m, depth):
        fixed = _FIXED.get(m)
        if fixed is not None:
            return struct.unpack(fixed[0], self.take(fixed[1]))[0]
        if m == "S":
            return self.string()
        if m == "{" or m == "[":
            if depth >= MAX_DEPTH:
                raise self.error(f"UBJSON nested deeper than {MAX_DEPTH}", self.pos)
            return self.container(m, depth + 1)
        if m == "T":
            return True
        if m == "F":
            return False
        if m == "Z":
            return None
        if m == "C":
            return chr(self.take(1)[0])
        if m == "H":
            text = self.string()
            try:
                if len(text) > 64:
                    raise ValueError
                return float(text) if any(c in text for c in ".eE") else int(text)
            except ValueError:
                raise self.error(f"UBJSON: high-precision number {text[:40]!r}", self.pos) from None
        raise self.error(f"UBJSON: unknown marker {m!r}", self.pos - 1)

    def container(self, kind, depth):
        typed = count = None
        m = self.marker()
        if m == "$":
            typed = self.marker()
            m = self.marker()
            if m != "#":
                raise self.error("UBJSON: a typed container without a count", self.pos - 1)
        if m == "#":
            count = self.count("a container's count")
            m = None
        left = len(self.data) - self.pos
        if count is not None:
            size = _FIXED[typed][1] if typed in _FIXED else 1
            if typed in ("Z", "T", "F"):
                size = 0
            if count * size > left or (size == 0 and count > MAX_VALUES):
                raise self.error(f"UBJSON: {count:,} elements cannot fit in the {left:,} bytes "
                                 "left", self.pos)
            if kind == "[" and typed in _ARRAY_CODES:
                a = array.array(_ARRAY_CODES[typed], bytes(self.take(count * size)))
                if sys.byteorder == "little" and size > 1:
                    a.byteswap()
                return a
            self._count(count)
        if kind == "[":
            out = []
            if count is not None:
                for _ in range(count):
                    out.append(self.value(typed or self.marker(), depth))
                return out
            while True:
                m = self.marker() if m is None else m
                if m == "]":
                    return out
                self._count(1)
                out.append(self.value(m, depth))
                m = None
        out = {}
        if count is not None:
            for _ in range(count):
                key = self.string()
                out[key] = self.value(typed or self.marker(), depth)
            return out
        while True:
            m = self.marker() if m is None else m
            if m == "}":
                return out
            self._count(1)
            if m not in "iUIlL":
                raise self.error(f"UBJSON: an object key's length is not an integer "
                                 f"(marker {m!r})", self.pos - 1)
            n = self.value(m, 0)
            if n < 0:
                raise self.error(f"UBJSON: negative key length {n}", self.pos)
            key = bytes(self.take(n)).decode("utf-8", "replace")
            out[key] = self.value(self.marker(), depth)
            m = None

    def _count(self, n):
        self.values += n
        if self.values > MAX_VALUES:
            raise self.error(f"UBJSON: more than {MAX_VALUES:,} values", self.pos)


# --- the model -------------------------------------------------------------------------------
def _param(d, key, default=None, kind=int):
    """A learner parameter: XGBoost writes them as strings ("3", "5E-1")."""
    v = d.get(key, default) if isinstance(d, dict) else default
    try:
        return kind(v) if v is not None else default
    except (TypeError, ValueError):
        return default


def _floats_text(text):
    """base_score: "5E-1", or "[5E-1,5E-1]" (one per target, XGBoost 3)."""
    if not isinstance(text, str):
        return None
    parts = text.strip().strip("[]").split(",")
    try:
        return [float(p) for p in parts if p.strip()][:trees.MAX_LIST]
    except ValueError:
        return None


def _seq(v):
    return v if isinstance(v, (list, array.array)) else None


class _Builder:
    def __init__(self, source, kind):
        self.source, self.kind = source, kind
        self.m = Model(source.name, source.size, FORMAT)

    def error(self, message):
        return _error(self.source, message)

    def model(self, doc):
        m = self.m
        if not isinstance(doc, dict) or not isinstance(doc.get("learner"), dict):
            raise self.error("no \"learner\" object")
        learner = doc["learner"]
        version = doc.get("version")
        m.format_version = self.kind
        if isinstance(version, (list, array.array)) and len(version) == 3 \
                and all(type(x) is int for x in version):
            m.producer = "XGBoost " + ".".join(str(x) for x in version)
        params = learner.get("learner_model_param") or {}
        num_feature = _param(params, "num_feature", 0)
        num_class = _param(params, "num_class", 0)
        num_target = _param(params, "num_target", 1)
        names = learner.get("feature_names")
        names = [str(n) for n in names[:MAX_FEATURE_NAMES]] \
            if isinstance(names, list) and all(isinstance(n, str) for n in names) else []
        if names and num_feature and len(names) != num_feature:
            m.warnings.append(f"{len(names)} feature names for {num_feature} features")
        objective = learner.get("objective") or {}
        objective_name = objective.get("name") if isinstance(objective, dict) else None
        booster = learner.get("gradient_booster")
        if not isinstance(booster, dict) or booster.get("name") not in BOOSTERS:
            raise self.error("no gradient_booster of a known kind (gbtree, dart, gblinear)")
        kind = booster["name"]

        g = m.add_graph(Graph())
        features = ("tensor", "float32", (None, num_feature or None), "")
        g.inputs = ["features"]
        g.types["features"] = features
        attrs = []
        if isinstance(objective_name, str):
            attrs.append(Attribute("objective", "string", objective_name))
        attrs += [Attribute("num_feature", "int", num_feature),
                  Attribute("num_class", "int", num_class),
                  Attribute("num_target", "int", num_target)]
        base = _floats_text(params.get("base_score"))
        if base:
            attrs.append(Attribute("base_score", "floats", base))
        node = Node(kind, DOMAIN, kind, ["features"], ["prediction"], attrs)
        g.nodes.append(node)
        g.outputs = ["prediction"]
        if kind == "gblinear":
            self.linear(g, node, booster.get("model"), num_feature)
        else:
            model = booster.get("model") if kind == "gbtree" else \
                (booster.get("gbtree") or {}).get("model")
            if not isinstance(model, dict):
                raise self.error(f"the {kind} booster has no model")
            self.trees(g, node, model, names, features, kind, num_class)
        if names:
            node.attributes.append(Attribute("feature_names", "strings", names))
            m.metadata.append(["features", ", ".join(names[:200])])
        for key, v in (learner.get("attributes") or {}).items():
            if isinstance(v, str) and len(m.metadata) < 200:
                m.metadata.append([f"attribute.{key}", v[:500]])
        for key, v in objective.items() if isinstance(objective, dict) else ():
            if isinstance(v, dict):
                for k, x in v.items():
                    if isinstance(x, str):
                        m.metadata.append([f"objective.{k}", x[:200]])
        return m

    def linear(self, g, node, model, num_feature):
        weights = _seq(model.get("weights")) if isinstance(model, dict) else None
        if weights is None or not num_feature or len(weights) % (num_feature + 1):
            raise self.error("gblinear: weights are not (num_feature + 1) x groups numbers")
        groups = len(weights) // (num_feature + 1)
        values = [_f32(x) for x in weights]
        w = Tensor("weight", "float32", (num_feature, groups))
        b = Tensor("bias", "float32", (groups,))
        for t, part in ((w, values[:-groups]), (b, values[-groups:])):
            t.location = "inline"
            t.decoder = lambda t, n, part=part: part[:n]
            self.m.add_tensor(t)
            g.initializers.append(t)
            g.types[t.name] = ("tensor", t.dtype, t.dims, "")
            node.inputs.append(t.name)

    def trees(self, g, node, model, names, features, kind, num_class):
        found = model.get("trees")
        if not isinstance(found, list):
            raise self.error(f"the {kind} model has no \"trees\" list")
        if len(found) > MAX_TREES:
            raise self.error(f"{len(found):,} trees, more than the {MAX_TREES:,} Wetron reads")
        info = _seq(model.get("tree_info")) or []
        budget = trees.Budget()
        read = []
        for k, d in enumerate(found):
            if not isinstance(d, dict):
                raise self.error(f"tree {k} is not an object")
            t = self.tree(k, d, names)
            if not budget.take(t.nodes):
                raise self.error(f"more than {trees.MAX_TOTAL_NODES:,} tree nodes in all")
            problem = trees.check(t)
            if problem:
                raise self.error(f"tree {k}: {problem}")
            read.append(t)
        node.attributes += trees.summary(read)
        param = model.get("gbtree_model_param") or {}
        parallel = _param(param, "num_parallel_tree", 1)
        if parallel > 1:
            node.attributes.append(Attribute("num_parallel_tree", "int", parallel))
        # trees of several outputs (classes, targets): one module per output
        group = "class" if num_class > 1 else "target"
        grouped = len(info) == len(read) and any(info) and all(type(x) is int for x in info)
        labels = [f"{group} {info[k]}/tree {k}" if grouped else f"tree {k}"
                  for k in range(len(read))]
        sub, drawn = trees.draw(self.m, read, DOMAIN, features, budget, labels)
        if sub is not None:
            trees.attach(g, 0, sub)
        if drawn < len(read):
            node.attributes.append(Attribute("trees_drawn", "int", drawn))

    def tree(self, k, d, names):
        left, right = _seq(d.get("left_children")), _seq(d.get("right_children"))
        if left is None or right is None:
            raise self.error(f"tree {k}: no left_children / right_children")
        n = len(left)
        if n > trees.MAX_TREE_NODES:
            raise self.error(f"tree {k}: {n:,} nodes")
        arrays = {}
        for key in ("split_indices", "split_conditions", "default_left", "split_type",
                    "base_weights", "loss_changes", "sum_hessian"):
            v = _seq(d.get(key))
            if v is None:
                if key in ("split_indices", "split_conditions"):
                    raise self.error(f"tree {k}: no {key}")
                continue
            if key != "base_weights" and len(v) != n:
                raise self.error(f"tree {k}: {len(v)} {key} for {n} nodes")
            arrays[key] = v
        if not all(type(x) is int for x in left) or not all(type(x) is int for x in right) \
                or not all(type(x) is int for x in arrays["split_indices"]):
            raise self.error(f"tree {k}: node indices that are not integers")
        size = _param(d.get("tree_param") or {}, "size_leaf_vector", 1) or 1
        weights = arrays.get("base_weights")
        if size > 1 and (weights is None or len(weights) < n * size):
            raise self.error(f"tree {k}: vector leaves of {size} without their base_weights")
        categories = _categories(d, n)
        if categories is None:
            raise self.error(f"tree {k}: categories that do not match their nodes")
        cond, index = arrays["split_conditions"], arrays["split_indices"]
        default_left, split_type = arrays.get("default_left"), arrays.get("split_type")
        gain, cover = arrays.get("loss_changes"), arrays.get("sum_hessian")

        def split(i):
            f = index[i]
            name = names[f] if 0 <= f < len(names) else f"f{f}"
            if split_type is not None and split_type[i] == 1:
                cats = categories.get(i, [])
                shown = ", ".join(str(c) for c in cats[:trees.MAX_LIST])
                more = ", …" if len(cats) > trees.MAX_LIST else ""
                test = f"{name} not in {{{shown}{more}}}"
            else:
                test = f"{name} < {trees.number(float(cond[i]), 32)}"
            attrs = [Attribute("if", "string", test)]
            if gain is not None:
                attrs.append(Attribute("gain", "float", _f32(gain[i])))
            if cover is not None:
                attrs.append(Attribute("cover", "float", _f32(cover[i])))
            if default_left is not None:
                attrs.append(Attribute("missing", "string", "yes" if default_left[i] else "no"))
            attrs.append(Attribute("feature", "string", name))
            return attrs

        def leaf(i):
            if size > 1:
                attrs = [trees.values_attribute(
                    "value", [_f32(w) for w in weights[i * size:(i + 1) * size]])]
            else:
                attrs = [Attribute("value", "float", _f32(cond[i]))]
            if cover is not None:
                attrs.append(Attribute("cover", "float", _f32(cover[i])))
            return attrs
        return trees.Tree(left, right, split, leaf)


def _f32(x):
    """A float32 of the file as its shortest text reads (UBJSON's 0.43062201142311096 is
    JSON's 0.430622)."""
    return float(trees.number(float(x), 32))


def _categories(d, n):
    """{node: [categories]} of a tree's categorical splits, None if they do not add up."""
    nodes, segments = _seq(d.get("categories_nodes")), _seq(d.get("categories_segments"))
    sizes, cats = _seq(d.get("categories_sizes")), _seq(d.get("categories"))
    if not nodes:
        return {}
    if segments is None or sizes is None or cats is None \
            or not len(nodes) == len(segments) == len(sizes):
        return None
    out = {}
    for node, start, size in zip(nodes, segments, sizes):
        if not (type(node) is int and 0 <= node < n and type(start) is int
                and type(size) is int and 0 <= start and 0 <= size
                and start + size <= len(cats)):
            return None
        out[node] = [int(c) if isinstance(c, (int, float)) and not math.isnan(c) else c
                     for c in cats[start:start + size]]
    return out
