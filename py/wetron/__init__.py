"""Wetron's model core: model files -> one graph model -> a JSON document for the page.

Standard library only, so the same code runs in CPython and in Pyodide.
"""
import os

from .errors import ModelError
from .model import Model
from .util import MAX_NODES, paused_gc, too_many
from .source import BytesSource, FileSource, Source, sibling_resolver
from . import detect
from .formats import REGISTRY

__all__ = ["open", "ModelError", "Model", "Source", "FileSource", "BytesSource", "dumps"]
__version__ = "0.1.0"


def open(source, companions=None):
    """Parse a model. `source`: a path or a Source. `companions(name) -> Source|None`
    finds companion files such as ONNX external data (default: beside a path)."""
    if isinstance(source, (str, os.PathLike)):
        if companions is None:
            companions = sibling_resolver(source)
        source = FileSource(source)
        try:
            return _parse(source, companions)
        except ModelError:
            source.close()  # kept open on success: tensor values are read on request
            raise
    return _parse(source, companions)


def _parse(source, companions):
    if source.size == 0:
        raise ModelError("file is empty", source.name)
    head = source.read(0, min(4096, source.size))
    for fmt in REGISTRY:
        if fmt.looks_like(head, source.name):
            try:
                with paused_gc():
                    model = fmt.parse(source, companions)
            except RecursionError:
                raise ModelError("nested too deeply", source.name, fmt.FORMAT) from None
            except MemoryError:
                raise ModelError("too large to parse in memory", source.name, fmt.FORMAT) from None
            # Formats check their own counts before building; this bounds the rest
            # (the document, shapes, cost, layout) for any format.
            nodes = sum(len(g.nodes) for g in model.graphs)
            if nodes > MAX_NODES:
                raise ModelError(too_many(nodes, "nodes", MAX_NODES), source.name, model.format)
            return model
    what = detect.not_a_model(head)
    raise ModelError(what or "unrecognised file: it does not start like any format Wetron "
                     "reads (" + ", ".join(f.FORMAT for f in REGISTRY) + ")", source.name)


def dumps(model):
    """The model's graph document as compact JSON text."""
    return model.dumps()
