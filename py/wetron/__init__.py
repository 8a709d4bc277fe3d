"""Wetron's model core: model files -> one graph model -> a JSON document for the page.

Standard library only, so the same code runs in CPython and in Pyodide.
"""
import os

from .errors import ModelError, Refused
from .model import Model
from .util import MAX_NODES, paused_gc, too_many
from .source import BytesSource, FileSource, Source, sibling_resolver
from . import detect
from . import formats

__all__ = ["open", "ModelError", "Model", "Source", "FileSource", "BytesSource", "dumps"]
__version__ = "0.1.0"


def open(source, companions=None):
    """Parse a model. `source`: a path or a Source. `companions(name) -> Source|None`
    finds companion files such as ONNX external data (default: beside a path). A
    folder (a SavedModel, a TF.js model, a Core ML .mlpackage) opens as the file
    formats.main_file chooses in it, as the page chooses among several files."""
    if isinstance(source, (str, os.PathLike)):
        if os.path.isdir(source):
            source = formats.main_file(source) or source
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
    """The first of the formats matching the file's head, best first, that reads it
    (wetron.formats: the contract); each one's failure is kept for the error."""
    if source.size == 0:
        raise ModelError("file is empty", source.name)
    head = source.read(0, min(4096, source.size))
    failures = []   # (format, ModelError)
    for _, fmt in formats.candidates(head, source.name):
        try:
            with paused_gc():
                model = fmt.parse(source, companions)
        except RecursionError:
            failures.append((fmt, ModelError("nested too deeply", source.name, fmt.FORMAT)))
            continue
        except MemoryError:
            failures.append((fmt, ModelError("too large to parse in memory", source.name,
                                             fmt.FORMAT)))
            continue
        except Refused:
            raise
        except ModelError as e:
            failures.append((fmt, e))
            continue
        nodes = sum(len(g.nodes) for g in model.graphs)
        if not nodes and not model.tensors and formats.declared(fmt, "NEVER_EMPTY", False):
            failures.append((fmt, ModelError("read as one, it has no nodes and no weights",
                                             source.name, fmt.FORMAT)))
            continue
        # Formats check their own counts before building; this bounds the rest
        # (the document, shapes, cost, layout) for any format.
        if nodes > MAX_NODES:
            raise ModelError(too_many(nodes, "nodes", MAX_NODES), source.name, model.format)
        model.capabilities = formats.capabilities(fmt)
        return model
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        raise ModelError("not a model Wetron could read: " + "; ".join(
            f"{fmt.FORMAT}: {_found(e)}" for fmt, e in failures), source.name)
    what = detect.not_a_model(head)
    raise ModelError(what or "unrecognised file: it does not start like any format Wetron "
                     "reads (" + ", ".join(f.FORMAT for f in formats.REGISTRY) + ")",
                     source.name)


def _found(error, limit=160):
    """What one candidate found, short enough that several fit in one message."""
    text = error.detail + (f" (at byte {error.offset})" if error.offset is not None else "")
    return text if len(text) <= limit else text[:limit] + "…"


def dumps(model):
    """The model's graph document as compact JSON text."""
    return model.dumps()
