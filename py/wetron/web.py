"""Entry points for the page's parse worker (Pyodide).

The worker hands Python a JS reader per file: an object with `size` and
`read(offset, length)` returning a Uint8Array (FileReaderSync on a Blob slice), so
the file is read in ranges and never copied whole into the WebAssembly heap.
Everything crosses back as one JSON string (faster than toJs for big graphs).
"""
import json

from . import open as open_model
from .errors import ModelError
from .source import Source

_current = None  # the last model opened, kept for tensor_values()


class JsSource(Source):
    """A Source over a JS reader object (see module doc)."""

    def __init__(self, reader, name):
        self.name = name
        self.size = int(reader.size)
        self._reader = reader

    def _read(self, offset, length):
        return self._reader.read(offset, length).to_bytes()


def open_file(reader, name, companions=None):
    """Parse one file; `companions` maps file name -> JS reader (external data, …).
    Returns the graph document as a JSON string, or {"error": message} as JSON."""
    global _current
    _current = None  # a failed open must not leave the previous model answering
    others = {}
    if companions is not None:
        for key in companions.keys():
            others[str(key)] = JsSource(companions.get(key), str(key))
    try:
        model = open_model(JsSource(reader, name), companions=others.get)
        text = model.dumps()
    except ModelError as e:
        return json.dumps({"error": str(e)})
    _current = model
    return text


def tensor_values(index, limit=1000):
    """Values of tensor `index` of the last model opened, as JSON."""
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        return json.dumps(_current.tensor_values(int(index), int(limit)), allow_nan=False)
    except ModelError as e:
        return json.dumps({"error": str(e)})
