"""Symbolic sizes: which symbols a model's dims use, the values the model itself states
for them, the values a user sets, and a graph with them substituted.

A symbol is bound only by the user (`wetron cost --size batch=1`, the page's Sizes
panel) or by the model where it says so (`stated`); there is no default otherwise:
figures that depend on an unbound symbol are not counted (wetron.cost).

Binding is exact: `bind(graph, sizes)` substitutes the values into the declared dims
before shape inference, so every inferred shape follows from concrete input sizes.
"""
import copy
import json

from .errors import ModelError
from .symbolic import evaluate, symbols

MAX_SIZE = 2 ** 31 - 1   # a size a user may set (products past int64 are not counted anyway)
_TENSOR = ("tensor", "sparse_tensor")


def entries(graph):
    """The values fed to the graph when it runs: its inputs (weights excluded), and the
    outputs of nodes that read nothing, where the file declares their dims with symbols
    (TensorFlow's Placeholder, a node fed at run time)."""
    weights = {t.name for t in graph.initializers}
    out = [name for name in graph.inputs if name not in weights]
    for node in graph.nodes:
        if not node.inputs:
            for name in node.outputs:
                t = graph.types.get(name)
                if t is not None and t[0] in _TENSOR and t[2] is not None \
                        and any(type(d) is str for d in t[2]):
                    out.append(name)
    return out


def input_symbols(graph):
    """Symbols of the declared dims of the values fed to the graph (`entries`), in order
    of appearance."""
    seen = {}
    for name in entries(graph):
        t = graph.types.get(name)
        if t is None or t[0] not in _TENSOR or t[2] is None:
            continue
        for d in t[2]:
            for s in symbols(d):
                seen.setdefault(s, None)
    return list(seen)


def model_symbols(model):
    """The sizes a user may set: the symbols of the main graph inputs' dims (every other
    shape follows from them), and those the model states."""
    seen = dict.fromkeys(input_symbols(model.graphs[0]) if model.graphs else ())
    seen.update(dict.fromkeys(stated(model)))
    return list(seen)


def stated(model):
    """{symbol: value} the model file itself states: model.sizes (set by its format),
    and sizes its exporter's metadata gives."""
    out = stated_by_metadata(model)
    out.update(model.sizes)
    return out


def stated_by_metadata(model):
    """Sizes stated by metadata the exporter writes: Ultralytics' ONNX exports hold
    "batch" and "imgsz" ("[640, 640]", the size it was exported at) with the image input
    as (batch, 3, height, width)."""
    meta = dict(m[:2] for m in model.metadata if len(m) >= 2)
    if "imgsz" not in meta or "batch" not in meta or not model.graphs:
        return {}
    try:
        imgsz, batch = json.loads(meta["imgsz"]), json.loads(meta["batch"])
    except ValueError:
        return {}
    if type(batch) is not int or not isinstance(imgsz, list) or len(imgsz) != 2 \
            or not all(type(v) is int and 0 < v <= MAX_SIZE for v in imgsz) or not 0 < batch <= MAX_SIZE:
        return {}
    g = model.graphs[0]
    weights = {t.name for t in g.initializers}
    first = next((n for n in g.inputs if n not in weights), None)
    t = g.types.get(first)
    if t is None or t[0] not in _TENSOR or t[2] is None or len(t[2]) != 4:
        return {}
    out = {}
    for d, v in zip(t[2], (batch, None, imgsz[0], imgsz[1])):
        if v is not None and type(d) is str and symbols(d) == (d,):
            out[d] = v
    return out


def parse(items, model):
    """{symbol: int} of "NAME=N" strings; a name the model does not use or a value that
    is not a positive integer raises ModelError (the CLI exits 2)."""
    known = model_symbols(model)
    sizes = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ModelError(f"--size wants NAME=N, not '{item}'", model.file)
        sizes[name] = value.strip()
    return check(sizes, known, model.file)


def check(sizes, known, file=None):
    """sizes ({name: int or digit string}) checked against the symbols `known`."""
    out = {}
    for name, value in sizes.items():
        if name not in known:
            listed = ", ".join(known[:20]) if known else "none"
            raise ModelError(f"unknown size '{name}': the model's symbols are {listed}", file)
        try:
            v = value if type(value) is int else int(str(value), 10)
        except ValueError:
            v = None
        if v is None or not 1 <= v <= MAX_SIZE:
            raise ModelError(f"size {name}={value}: wants an integer from 1 to {MAX_SIZE}", file)
        out[name] = v
    return out


def bind(graph, sizes, symbolic=False):
    """The graph with `sizes` substituted into its inputs' declared dims (a shallow copy;
    the graph itself is unchanged), so that shape inference derives every other shape
    from them. Once sizes are set (or the inputs have no symbols), a symbolic dim that
    an inner value or an output declares is dropped to unknown when its symbols are
    bound or are names of its own (an exporter's name for a derived size, "seg_h",
    "unk__3"): inference gives it from the input sizes, and the declaration may be
    wrong (a torch export declares a conv output's height "batch"). One that needs an
    unbound input symbol stays as declared; with no sizes set, so does every one.
    symbolic: drop those too, as setting the sizes would (cost's exact figures: the
    shapes inferred from the inputs' symbols are then the ones any sizes give)."""
    sizes = sizes or {}
    unbound = {s for s in input_symbols(graph) if s not in sizes}
    if unbound and not sizes and not symbolic:
        return graph
    inputs = set(entries(graph))
    changed = False
    types = {}
    for name, t in graph.types.items():
        if t[0] in _TENSOR and t[2] is not None and any(type(d) is str for d in t[2]):
            dims = []
            for d in t[2]:
                if type(d) is str:
                    names = symbols(d)
                    if name in inputs:
                        if all(s in sizes for s in names):
                            v = evaluate(d, sizes)
                            d = v if v is not None and v >= 0 else None
                    elif symbolic or not any(s in unbound for s in names):
                        d = None
                dims.append(d)
            t = (t[0], t[1], tuple(dims)) + tuple(t[3:])
            changed = True
        types[name] = t
    if not changed:
        return graph
    bound = copy.copy(graph)
    bound.types = types
    return bound
